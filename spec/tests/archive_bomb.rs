//! Decompression bombs: refused from the header that declares too much, before the data is
//! inflated, with memory staying far below the bomb's size. One test, so that the process's
//! peak memory belongs to it alone.

mod archive_support;

use std::io::{Read, Write};
use std::time::Instant;

use archive_support::{file_header, refused, zstd_frame, Segment};
use x07_spec::archive::{UnpackError, UnpackLimits};

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

/// Peak resident memory of this process (VmHWM), in bytes, where /proc tells it.
fn peak_rss() -> Option<u64> {
    let status = fs_err::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn zstd_bombs_are_refused_from_their_headers_without_being_inflated() {
    let limits = UnpackLimits::default();

    // The hand-built frames decode as intended (checked on a small one).
    let small = zstd_frame(&[
        Segment::Raw(b"abc".to_vec()),
        Segment::Zeros(300_000),
        Segment::Raw(b"z".to_vec()),
    ]);
    let decoded = zstd::stream::decode_all(&small[..]).unwrap();
    assert_eq!(decoded.len(), 300_004);
    assert!(decoded.starts_with(b"abc") && decoded.ends_with(b"\0z"));

    // 1 GiB of zeros compressed by zstd itself: one file whose header declares all of it.
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    encoder
        .write_all(&file_header("ffi/bomb.bin", GIB))
        .unwrap();
    std::io::copy(&mut std::io::repeat(0).take(GIB + 1024), &mut encoder).unwrap();
    let bomb = encoder.finish().unwrap();
    assert!((bomb.len() as u64) < 2 * MIB, "{} bytes", bomb.len());
    let started = Instant::now();
    let err = refused(&bomb, &limits);
    assert!(
        matches!(&err, UnpackError::FileTooLarge { entry, size, limit } if entry == "ffi/bomb.bin" && *size == GIB && *limit == 16 * MIB),
        "{err}"
    );
    let refused_in = started.elapsed();

    // The same built by hand: 32 KiB that would inflate to 1 GiB.
    let bomb = zstd_frame(&[
        Segment::Raw(file_header("ffi/bomb.bin", GIB)),
        Segment::Zeros(GIB + 1024),
    ]);
    assert!(bomb.len() < 64 * 1024);
    assert!(
        matches!(refused(&bomb, &limits), UnpackError::FileTooLarge { size, .. } if size == GIB)
    );

    // Files that each stay under 16 MiB but add up past 64 MiB: four are inflated and written
    // (60 MiB), the fifth is refused from its header.
    let mut segments = Vec::new();
    for name in [
        "ffi/a.bin",
        "ffi/b.bin",
        "ffi/c.bin",
        "ffi/d.bin",
        "ffi/e.bin",
    ] {
        segments.push(Segment::Raw(file_header(name, 15 * MIB)));
        segments.push(Segment::Zeros(15 * MIB));
    }
    segments.push(Segment::Zeros(1024));
    let bomb = zstd_frame(&segments);
    let err = refused(&bomb, &limits);
    assert!(
        matches!(&err, UnpackError::TotalTooLarge { entry, total, limit } if entry == "ffi/e.bin" && *total == 75 * MIB && *limit == 64 * MIB),
        "{err}"
    );

    // 64 GiB of zeros alone: the reader stops at the first zero block (end of archive), and
    // refuses the padding after it once it passes 64 KiB, without inflating the rest.
    let bomb = zstd_frame(&[Segment::Zeros(64 * GIB)]);
    let started_empty = Instant::now();
    let err = refused(&bomb, &limits);
    assert!(
        matches!(&err, UnpackError::Malformed { detail } if detail.contains("padding")),
        "{err}"
    );
    assert!(
        started_empty.elapsed().as_secs() < 30,
        "the rest of the frame was not inflated"
    );

    if let Some(peak) = peak_rss() {
        assert!(
            peak < 256 * MIB,
            "peak memory {peak} bytes: a bomb was inflated into memory"
        );
    }
    eprintln!("1 GiB zstd bomb refused in {refused_in:?}");
}
