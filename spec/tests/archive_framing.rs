//! The framing of an archive: a tar ends with its end-of-archive blocks and zero padding only; a
//! zstd archive is exactly one complete frame; nothing is inflated past a cap after the end.

mod archive_support;

use std::time::Instant;

use archive_support::{minimal_package_tar, refused, zstd3, zstd_frame, RawTar, Segment};
use x07_spec::archive::{list, list_from, unpack_from, UnpackError, UnpackLimits};

const GIB: u64 = 1 << 30;

#[track_caller]
fn malformed_with(bytes: &[u8], words: &str) {
    let err = refused(bytes, &UnpackLimits::default());
    assert!(
        matches!(&err, UnpackError::Malformed { detail } if detail.contains(words)),
        "want `{words}`: {err}"
    );
}

/// The package tar without its two end blocks.
fn without_end_blocks() -> Vec<u8> {
    let mut tar = minimal_package_tar(RawTar::new());
    tar.truncate(tar.len() - 1024);
    tar
}

#[test]
fn well_framed_archives_read_plain_and_compressed_and_from_a_reader() {
    let tar = minimal_package_tar(RawTar::new());
    assert_eq!(list(&tar).unwrap().len(), 2);
    assert_eq!(list(&zstd3(&tar)).unwrap().len(), 2);
    // GNU tar pads to a 10 KiB record: zero padding after the end blocks is fine.
    let mut padded = tar.clone();
    padded.resize(10240, 0);
    assert_eq!(list(&zstd3(&padded)).unwrap().len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let unpacked = unpack_from(
        std::io::Cursor::new(zstd3(&tar)),
        &dir.path().join("p"),
        &UnpackLimits::default(),
    );
    assert_eq!(unpacked.unwrap().manifest.name.as_str(), "ext-min");
    // A reader that hands out one byte at a time still finds the zstd magic.
    struct Trickle(std::io::Cursor<Vec<u8>>);
    impl std::io::Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }
    assert_eq!(
        list_from(Trickle(std::io::Cursor::new(zstd3(&tar))))
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_tar_without_end_blocks_or_with_one_is_refused() {
    malformed_with(&without_end_blocks(), "no end-of-archive blocks");
    malformed_with(&zstd3(&without_end_blocks()), "no end-of-archive blocks");
    let mut one_block = without_end_blocks();
    one_block.extend_from_slice(&[0; 512]);
    malformed_with(&zstd3(&one_block), "after one end-of-archive block");
    malformed_with(b"", "no end-of-archive blocks");
}

#[test]
fn data_after_the_end_blocks_is_refused() {
    // Trailing garbage, and a whole second archive hidden after the end (a reader that skips
    // zero blocks would see its entries).
    let mut garbage = minimal_package_tar(RawTar::new());
    garbage.extend_from_slice(b"trailing garbage");
    malformed_with(&garbage, "data follows the end-of-archive blocks");
    malformed_with(&zstd3(&garbage), "data follows the end-of-archive blocks");
    let mut hidden = minimal_package_tar(RawTar::new());
    hidden.extend(RawTar::new().file("ffi/hidden.c", b"int evil;").finish());
    malformed_with(&zstd3(&hidden), "data follows the end-of-archive blocks");
}

#[test]
fn a_truncated_frame_or_bytes_after_the_frame_are_refused() {
    let tar = minimal_package_tar(RawTar::new());
    // The tar whole in one raw block, the zero padding in a last RLE block that is cut off:
    // every tar byte arrives, but the frame never ends.
    let mut frame = zstd_frame(&[Segment::Raw(tar.clone()), Segment::Zeros(512)]);
    assert_eq!(
        list(&frame).unwrap().len(),
        2,
        "the hand-built frame is valid"
    );
    frame.truncate(frame.len() - 4);
    let err = refused(&frame, &UnpackLimits::default());
    assert!(
        matches!(&err, UnpackError::Malformed { detail } if detail.contains("incomplete frame")),
        "{err}"
    );
    // Cut in the middle.
    let z = zstd3(&tar);
    malformed_with(&z[..z.len() - 3], "");
    // Garbage, or a second frame, after a complete frame.
    let mut after = zstd3(&tar);
    after.extend_from_slice(b"junk");
    malformed_with(&after, "bytes follow the zstd frame");
    let mut two = zstd3(&tar);
    two.extend(zstd3(&tar));
    malformed_with(&two, "bytes follow the zstd frame");
}

#[test]
fn a_bomb_after_the_end_blocks_is_refused_without_inflating_it() {
    // A few KiB that inflate to 4 GiB of zeros after a valid package tar.
    let bomb = zstd_frame(&[
        Segment::Raw(minimal_package_tar(RawTar::new())),
        Segment::Zeros(4 * GIB),
    ]);
    assert!(bomb.len() < 256 * 1024, "{} bytes", bomb.len());
    let started = Instant::now();
    malformed_with(&bomb, "padding follow the end of the tar");
    assert!(
        started.elapsed().as_secs() < 5,
        "the padding was inflated: {:?}",
        started.elapsed()
    );
    // The same with garbage instead of zeros after a long run of zeros.
    let bomb = zstd_frame(&[
        Segment::Raw(minimal_package_tar(RawTar::new())),
        Segment::Zeros(32 * 1024),
        Segment::Raw(b"x".to_vec()),
        Segment::Zeros(GIB),
    ]);
    malformed_with(&bomb, "data follows the end-of-archive blocks");
}
