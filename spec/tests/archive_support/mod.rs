//! Shared by the archive tests: a sample package directory, hand-built tar archives (raw
//! headers, so hostile entries can be written), hand-built zstd frames, and the check that a
//! refused unpack left nothing behind.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use x07_spec::archive::{unpack, UnpackError, UnpackLimits};

/// The manifest of the sample package.
pub fn sample_manifest() -> Value {
    json!({
        "schema_version": "x07.package@0.1.0",
        "name": "ext-demo",
        "version": "0.1.0",
        "module_root": "modules",
        "modules": ["ext.demo", "ext.demo.util"],
        "description": "A demo package",
        "docs": "# ext-demo",
        "license": "MIT",
        "meta": {"x07c_compat": ">=0.1.0", "import_mode": "ffi", "ffi_libs": ["m"]}
    })
}

/// A deep ffi path longer than the 255 bytes ustar's name and prefix hold together.
pub fn long_ffi_path() -> String {
    let mut p = String::from("ffi");
    for i in 0..12 {
        p.push_str(&format!("/directory-level-{i:02}-padding"));
    }
    p.push_str("/a-header-with-a-long-name-that-does-not-fit-in-one-hundred-bytes-of-the-ustar-name-field-alone.h");
    assert!(p.len() > 300, "{}", p.len());
    p
}

/// Files of the sample package that go into the archive, sorted, with their contents.
pub fn sample_archived_files() -> Vec<(String, Vec<u8>)> {
    let mut files = vec![
        (
            "x07-package.json".to_string(),
            serde_json::to_vec_pretty(&sample_manifest()).unwrap(),
        ),
        (
            "modules/ext/demo.x07.json".to_string(),
            b"{\"kind\":\"module\",\"module_id\":\"ext.demo\"}\n".to_vec(),
        ),
        (
            "modules/ext/demo/util.x07.json".to_string(),
            b"{\"kind\":\"module\",\"module_id\":\"ext.demo.util\"}\n".to_vec(),
        ),
        (
            "ffi/demo.c".to_string(),
            b"int demo(void) { return 7; }\n".to_vec(),
        ),
        (
            "ffi/include/demo.h".to_string(),
            b"int demo(void);\n".to_vec(),
        ),
        ("ffi/.keep".to_string(), Vec::new()),
        (long_ffi_path(), b"/* deep */\n".to_vec()),
        ("README.md".to_string(), b"# readme\n".to_vec()),
        ("LICENSE".to_string(), b"MIT License\n".to_vec()),
        (
            "tests/a.x07.json".to_string(),
            b"{\"kind\":\"module\",\"module_id\":\"ext.demo_test\"}\n".to_vec(),
        ),
        ("tests/fixtures/input.bin".to_string(), vec![0, 1, 2, 255]),
    ];
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    files
}

/// Files of the sample package that must stay out of the archive.
pub fn sample_unarchived_files() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("notes.txt", b"not part of the package\n"),
        ("docs/README.md", b"only the top-level README is carried\n"),
        ("src/main.x07.json", b"{}\n"),
        ("modules/ext/unlisted.x07.json", b"{}\n"),
        ("target/old.x07pkg", b"old"),
        (".git/HEAD", b"ref: refs/heads/main\n"),
        ("x07.json", b"{}\n"),
    ]
}

/// Writes the sample package into `dir`; `reverse` creates the files in the opposite order
/// (so that directory listing order differs).
pub fn write_sample_package(dir: &Path, reverse: bool) {
    let mut all: Vec<(String, Vec<u8>)> = sample_archived_files();
    all.extend(
        sample_unarchived_files()
            .into_iter()
            .map(|(p, b)| (p.to_string(), b.to_vec())),
    );
    if reverse {
        all.reverse();
    }
    for (rel, bytes) in all {
        let path = dir.join(&rel);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, bytes).unwrap();
    }
}

/// A fresh directory holding the sample package at `<tmp>/pkg`.
pub fn sample_package() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    fs_err::create_dir(&dir).unwrap();
    write_sample_package(&dir, false);
    (tmp, dir)
}

/// A tar archive written header by header, bypassing every check a tar library makes.
#[derive(Default)]
pub struct RawTar {
    bytes: Vec<u8>,
}

impl RawTar {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// An entry of type `kind` whose header declares `size` bytes, followed by `data`
    /// (which may be shorter than `size` to stand for data never reached).
    pub fn entry_sized(
        mut self,
        name: &[u8],
        kind: u8,
        size: u64,
        link: &[u8],
        data: &[u8],
    ) -> Self {
        let mut header = tar::Header::new_ustar();
        assert!(
            name.len() <= 100,
            "use pax() or gnu_long_name() for long names"
        );
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        header.set_entry_type(tar::EntryType::new(kind));
        header.set_size(size);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        self.bytes.extend_from_slice(header.as_bytes());
        self.bytes.extend_from_slice(data);
        self.pad();
        self
    }

    /// A regular file.
    pub fn file(self, name: &str, data: &[u8]) -> Self {
        self.raw_file(name.as_bytes(), data)
    }

    /// A regular file with a raw (possibly invalid) name.
    pub fn raw_file(self, name: &[u8], data: &[u8]) -> Self {
        self.entry_sized(name, b'0', data.len() as u64, b"", data)
    }

    /// An entry of another type, with no data.
    pub fn special(self, name: &str, kind: u8, link: &str) -> Self {
        self.entry_sized(name.as_bytes(), kind, 0, link.as_bytes(), b"")
    }

    /// A pax extended header with these records, applying to the next entry.
    pub fn pax(self, records: &[(&str, &[u8])]) -> Self {
        let mut data = Vec::new();
        for (key, value) in records {
            let body_len = key.len() + value.len() + 3;
            let mut len = body_len + 1;
            while len != body_len + len.to_string().len() {
                len = body_len + len.to_string().len();
            }
            data.extend_from_slice(format!("{len} {key}=").as_bytes());
            data.extend_from_slice(value);
            data.push(b'\n');
        }
        self.entry_sized(b"PaxHeaders/x", b'x', data.len() as u64, b"", &data)
    }

    /// A GNU long-name header applying to the next entry.
    pub fn gnu_long_name(self, name: &[u8]) -> Self {
        let mut data = name.to_vec();
        data.push(0);
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        header.set_entry_type(tar::EntryType::GNULongName);
        header.set_size(data.len() as u64);
        header.set_cksum();
        let mut s = self;
        s.bytes.extend_from_slice(header.as_bytes());
        s.bytes.extend_from_slice(&data);
        s.pad();
        s
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(512) {
            self.bytes.push(0);
        }
    }

    /// The archive with its two end-of-archive blocks.
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(&[0u8; 1024]);
        self.bytes
    }

    /// The archive as written so far (no end blocks: truncated).
    pub fn truncated(self) -> Vec<u8> {
        self.bytes
    }
}

/// A minimal valid package as a plain tar: manifest and one module, plus `extra` entries first.
pub fn minimal_package_tar(extra: RawTar) -> Vec<u8> {
    let manifest = br#"{"schema_version":"x07.package@0.1.0","name":"ext-min","version":"1.0.0","module_root":"modules","modules":["ext.min"]}"#;
    extra
        .file("modules/ext/min.x07.json", b"{}\n")
        .file("x07-package.json", manifest)
        .finish()
}

/// zstd-compresses `bytes` at level 3.
pub fn zstd3(bytes: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(bytes, 3).unwrap()
}

/// A piece of a hand-built zstd frame.
pub enum Segment {
    /// Bytes stored as raw blocks.
    Raw(Vec<u8>),
    /// This many zero bytes as RLE blocks of 128 KiB (4 bytes each: a GiB costs 32 KiB).
    Zeros(u64),
}

/// One zstd frame built block by block, with no content size and no checksum.
pub fn zstd_frame(segments: &[Segment]) -> Vec<u8> {
    const BLOCK: u64 = 128 * 1024;
    let mut blocks: Vec<(u32, u32, &[u8])> = Vec::new(); // (type, size, content)
    for segment in segments {
        match segment {
            Segment::Raw(bytes) => {
                for chunk in bytes.chunks(BLOCK as usize) {
                    blocks.push((0, chunk.len() as u32, chunk));
                }
            }
            Segment::Zeros(n) => {
                let mut left = *n;
                while left > 0 {
                    let size = left.min(BLOCK);
                    blocks.push((1, size as u32, &[0u8]));
                    left -= size;
                }
            }
        }
    }
    // Magic; frame header descriptor 0 (no content size, no checksum, window descriptor
    // follows); window 128 KiB (exponent 7).
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3];
    let count = blocks.len();
    for (i, (kind, size, content)) in blocks.into_iter().enumerate() {
        let last = u32::from(i + 1 == count);
        let header = last | (kind << 1) | (size << 3);
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.extend_from_slice(content);
    }
    out
}

/// The 512-byte ustar header of a regular file that declares `size` bytes.
pub fn file_header(name: &str, size: u64) -> Vec<u8> {
    RawTar::new()
        .entry_sized(name.as_bytes(), b'0', size, b"", b"")
        .truncated()
}

/// Unpacks `bytes` into `<tmp>/deps/pkg` and returns the error, after checking that neither
/// the destination nor any temporary directory exists afterwards.
#[track_caller]
pub fn refused(bytes: &[u8], limits: &UnpackLimits) -> UnpackError {
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().join("deps");
    let dest = parent.join("pkg");
    let err = match unpack(bytes, &dest, limits) {
        Ok(p) => panic!("the archive was unpacked: {:?}", p.entries),
        Err(e) => e,
    };
    assert!(
        !dest.exists(),
        "{err}: the destination must not exist after a refusal"
    );
    let left: Vec<_> = fs_err::read_dir(&parent)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "{err}: left behind in {}: {left:?}",
        parent.display()
    );
    err
}

/// Every file under `dir`, relative, sorted, with contents.
pub fn read_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in fs_err::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string();
                out.push((rel, fs_err::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out
}
