//! Hostile archives built header by header: each refusal of the contract comes back as its own
//! variant naming the entry, and a refused unpack leaves neither the destination nor a
//! temporary directory behind — also when the bad entry comes after good ones.

mod archive_support;

use archive_support::{minimal_package_tar, refused, zstd3, RawTar};
use x07_spec::archive::{list, pack, unpack, UnpackError, UnpackLimits};

fn limits() -> UnpackLimits {
    UnpackLimits::default()
}

/// A package whose first entry is a good file, then what `f` adds, then the module and the
/// manifest: every refusal below happens after something was already extracted.
fn good_then(f: impl FnOnce(RawTar) -> RawTar) -> Vec<u8> {
    minimal_package_tar(f(RawTar::new().file("ffi/ok.c", b"int ok;\n")))
}

#[test]
fn paths_that_leave_the_package_or_are_not_plain_are_refused() {
    type Check = fn(&UnpackError) -> bool;
    let cases: Vec<(&[u8], Check)> = vec![
        (
            b"/etc/passwd",
            |e| matches!(e, UnpackError::AbsolutePath { entry } if entry == "/etc/passwd"),
        ),
        (
            b"../evil.c",
            |e| matches!(e, UnpackError::ParentComponent { entry } if entry == "../evil.c"),
        ),
        (
            b"ffi/../../evil.c",
            |e| matches!(e, UnpackError::ParentComponent { entry } if entry == "ffi/../../evil.c"),
        ),
        (
            b"./x07-package.json",
            |e| matches!(e, UnpackError::CurrentComponent { entry } if entry == "./x07-package.json"),
        ),
        (b"ffi/./a.c", |e| {
            matches!(e, UnpackError::CurrentComponent { .. })
        }),
        (
            b"ffi//a.c",
            |e| matches!(e, UnpackError::EmptyComponent { entry } if entry == "ffi//a.c"),
        ),
        (b"ffi/a.c/", |e| {
            matches!(e, UnpackError::EmptyComponent { .. })
        }),
        (b"ffi\\..\\..\\evil.c", |e| {
            matches!(e, UnpackError::BadPathCharacters { .. })
        }),
        (
            b"ffi/a\nb.c",
            |e| matches!(e, UnpackError::BadPathCharacters { entry } if entry == "ffi/a\\nb.c"),
        ),
        (b"ffi/\xff.c", |e| {
            matches!(e, UnpackError::BadPathCharacters { .. })
        }),
        (b"C:/evil.c", |e| {
            matches!(e, UnpackError::AbsolutePath { .. })
        }),
    ];
    for (name, check) in cases {
        let bytes = good_then(|t| t.raw_file(name, b"x"));
        let err = refused(&bytes, &limits());
        assert!(
            check(&err),
            "{}: got {err:?}",
            String::from_utf8_lossy(name)
        );
        assert!(check(&list(&bytes).unwrap_err()), "list refuses it too");
        // Compressed, the same refusal.
        let err = refused(&zstd3(&bytes), &limits());
        assert!(
            check(&err),
            "{}: got {err:?}",
            String::from_utf8_lossy(name)
        );
    }
}

#[test]
fn entries_other_than_regular_files_are_refused() {
    type Check = fn(&UnpackError) -> bool;
    let cases: Vec<(u8, &str, Check)> = vec![
        (
            b'2',
            "/etc/passwd",
            |e| matches!(e, UnpackError::Symlink { entry, target } if entry == "ffi/x" && target == "/etc/passwd"),
        ),
        (
            b'1',
            "x07-package.json",
            |e| matches!(e, UnpackError::Hardlink { entry, target } if entry == "ffi/x" && target == "x07-package.json"),
        ),
        (
            b'3',
            "",
            |e| matches!(e, UnpackError::Device { entry } if entry == "ffi/x"),
        ),
        (
            b'4',
            "",
            |e| matches!(e, UnpackError::Device { entry } if entry == "ffi/x"),
        ),
        (
            b'6',
            "",
            |e| matches!(e, UnpackError::Fifo { entry } if entry == "ffi/x"),
        ),
        (
            b'5',
            "",
            |e| matches!(e, UnpackError::Directory { entry } if entry == "ffi/x"),
        ),
        (
            b'7',
            "",
            |e| matches!(e, UnpackError::UnsupportedEntryType { entry, kind: '7' } if entry == "ffi/x"),
        ),
        (b'S', "", |e| {
            matches!(e, UnpackError::UnsupportedEntryType { kind: 'S', .. })
        }),
        (b'g', "", |e| {
            matches!(e, UnpackError::UnsupportedEntryType { kind: 'g', .. })
        }),
        (b'K', "", |e| {
            matches!(e, UnpackError::UnsupportedEntryType { kind: 'K', .. })
        }),
    ];
    for (kind, link, check) in cases {
        let bytes = good_then(|t| t.special("ffi/x", kind, link));
        let err = refused(&bytes, &limits());
        assert!(check(&err), "type {}: got {err:?}", char::from(kind));
        assert!(err.to_string().contains("ffi/x"), "{err}");
    }
    // A symlink pointing out of the package, then a file written "through" it: refused at the link.
    let bytes = good_then(|t| {
        t.special("ffi/out", b'2', "/tmp")
            .file("ffi/out/evil.c", b"x")
    });
    assert!(matches!(
        refused(&bytes, &limits()),
        UnpackError::Symlink { .. }
    ));
    // A directory entry with the usual trailing slash is reported as a directory.
    let bytes = good_then(|t| t.special("ffi/dir/", b'5', ""));
    assert!(
        matches!(refused(&bytes, &limits()), UnpackError::Directory { entry } if entry == "ffi/dir/")
    );
}

#[test]
fn duplicates_conflicts_and_case_collisions_are_refused() {
    let bytes = good_then(|t| t.file("ffi/ok.c", b"second"));
    assert!(
        matches!(refused(&bytes, &limits()), UnpackError::Duplicate { entry } if entry == "ffi/ok.c")
    );
    let bytes = minimal_package_tar(RawTar::new().file("x07-package.json", b"{}"));
    assert!(
        matches!(refused(&bytes, &limits()), UnpackError::Duplicate { entry } if entry == "x07-package.json")
    );
    let bytes = good_then(|t| t.file("ffi/OK.c", b"x"));
    assert!(
        matches!(refused(&bytes, &limits()), UnpackError::CaseCollision { entry, other } if entry == "ffi/OK.c" && other == "ffi/ok.c")
    );
    let bytes = good_then(|t| t.file("FFI/z.c", b"x"));
    assert!(
        matches!(refused(&bytes, &limits()), UnpackError::CaseCollision { entry, other } if entry == "FFI/z.c" && other == "ffi")
    );
    let bytes = good_then(|t| t.file("ffi/ok.c/inner.c", b"x"));
    assert!(
        matches!(refused(&bytes, &limits()), UnpackError::PathConflict { entry, other } if entry == "ffi/ok.c/inner.c" && other == "ffi/ok.c")
    );
    let bytes = good_then(|t| t.file("ffi/d/inner.c", b"x").file("ffi/d", b"x"));
    assert!(
        matches!(refused(&bytes, &limits()), UnpackError::PathConflict { entry, other } if entry == "ffi/d" && other == "ffi/d/inner.c")
    );
}

#[test]
fn limits_on_path_length_entry_count_and_sizes() {
    // Paths: 1024 bytes pass, 1025 are refused, whether given by pax or a GNU long name (each
    // segment within the 255 bytes a file name may have).
    let segment = "a".repeat(255);
    let ok_path = format!("ffi/{segment}/{segment}/{segment}/{}", "a".repeat(252));
    let long_path = format!("ffi/{segment}/{segment}/{segment}/{}", "a".repeat(253));
    assert_eq!((ok_path.len(), long_path.len()), (1024, 1025));
    let bytes = good_then(|t| {
        t.pax(&[("path", ok_path.as_bytes())])
            .file("ffi/stand-in", b"x")
    });
    let dir = tempfile::tempdir().unwrap();
    let unpacked = unpack(&bytes, &dir.path().join("p"), &limits()).unwrap();
    assert!(unpacked.entries.iter().any(|e| e.path.as_str() == ok_path));
    assert!(list(&bytes)
        .unwrap()
        .iter()
        .any(|e| e.path.as_str() == ok_path));
    // One segment longer than a file name may be is refused by the archive rules, not by the
    // file system.
    let one_segment = format!("ffi/{}", "a".repeat(1020));
    let bytes = good_then(|t| {
        t.pax(&[("path", one_segment.as_bytes())])
            .file("ffi/stand-in", b"x")
    });
    let err = refused(&bytes, &limits());
    assert!(
        matches!(
            err,
            UnpackError::SegmentTooLong {
                len: 1020,
                limit: 255,
                ..
            }
        ),
        "{err}"
    );
    let bytes = good_then(|t| {
        t.pax(&[("path", long_path.as_bytes())])
            .file("ffi/stand-in", b"x")
    });
    assert!(matches!(
        refused(&bytes, &limits()),
        UnpackError::PathTooLong {
            len: 1025,
            limit: 1024,
            ..
        }
    ));
    let bytes = good_then(|t| {
        t.gnu_long_name(long_path.as_bytes())
            .file("ffi/stand-in", b"x")
    });
    assert!(matches!(
        refused(&bytes, &limits()),
        UnpackError::PathTooLong {
            len: 1025,
            limit: 1024,
            ..
        }
    ));
    // A GNU long name far past any path: refused from its header, before its data is read.
    let huge = RawTar::new()
        .entry_sized(b"././@LongLink", b'L', 1 << 40, b"", b"")
        .truncated();
    assert!(
        matches!(refused(&huge, &limits()), UnpackError::PathTooLong { len, .. } if len == 1 << 40)
    );

    let small = UnpackLimits {
        max_entries: 3,
        max_path_bytes: 64,
        max_total_bytes: 400,
        max_file_bytes: 200,
    };
    // Three entries fit (two files of the package and one ffi file); a fourth does not.
    let bytes = minimal_package_tar(RawTar::new().file("ffi/a.c", b""));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        unpack(&bytes, &dir.path().join("p"), &small)
            .unwrap()
            .entries
            .len(),
        3
    );
    let bytes = minimal_package_tar(RawTar::new().file("ffi/a.c", b"").file("ffi/b.c", b""));
    assert!(
        matches!(refused(&bytes, &small), UnpackError::TooManyEntries { entry, limit: 3 } if entry == "x07-package.json")
    );
    // One file over the per-file cap, refused from the header: its data is never there.
    let bytes = RawTar::new()
        .entry_sized(b"ffi/big.bin", b'0', 201, b"", b"")
        .truncated();
    assert!(
        matches!(refused(&bytes, &small), UnpackError::FileTooLarge { entry, size: 201, limit: 200 } if entry == "ffi/big.bin")
    );
    // Files under the per-file cap that add up past the total.
    let bytes = minimal_package_tar(
        RawTar::new()
            .file("ffi/a", &[1; 200])
            .file("ffi/b", &[2; 200]),
    );
    let err = refused(&bytes, &small);
    assert!(
        matches!(&err, UnpackError::TotalTooLarge { entry, total: 403, limit: 400 } if entry == "modules/ext/min.x07.json"),
        "{err}"
    );
    // Path length against a small limit.
    let bytes = good_then(|t| t.file(&format!("ffi/{}", "b".repeat(61)), b""));
    assert!(matches!(
        refused(&bytes, &small),
        UnpackError::PathTooLong {
            len: 65,
            limit: 64,
            ..
        }
    ));
}

#[test]
fn extension_headers_are_bounded_and_may_not_change_size_or_links() {
    let bytes = good_then(|t| t.pax(&[("size", b"3")]).file("ffi/a.c", b"abcdef"));
    assert!(
        matches!(refused(&bytes, &limits()), UnpackError::UnsupportedPaxKey { key } if key == "size")
    );
    let bytes = good_then(|t| t.pax(&[("linkpath", b"/etc/passwd")]).file("ffi/a.c", b"x"));
    assert!(
        matches!(refused(&bytes, &limits()), UnpackError::UnsupportedPaxKey { key } if key == "linkpath")
    );
    // Timestamps and owners are ignored.
    let bytes = good_then(|t| {
        t.pax(&[
            ("mtime", b"1700000000.5"),
            ("uid", b"1000"),
            ("path", b"ffi/real.c"),
        ])
        .file("ffi/stand-in", b"x")
    });
    let names: Vec<String> = list(&bytes)
        .unwrap()
        .into_iter()
        .map(|e| e.path.to_string())
        .collect();
    assert!(
        names.contains(&"ffi/real.c".to_string()) && !names.contains(&"ffi/stand-in".to_string()),
        "{names:?}"
    );
    // A pax path is checked like any other.
    let bytes = good_then(|t| {
        t.pax(&[("path", b"../../escape.c")])
            .file("ffi/stand-in", b"x")
    });
    assert!(
        matches!(refused(&bytes, &limits()), UnpackError::ParentComponent { entry } if entry == "../../escape.c")
    );
    // An oversized pax header is refused before it is read.
    let bytes = RawTar::new()
        .entry_sized(b"PaxHeaders/x", b'x', 1 << 30, b"", b"")
        .truncated();
    assert!(
        matches!(refused(&bytes, &limits()), UnpackError::ExtensionTooLarge { size, .. } if size == 1 << 30)
    );
    // Two pax headers for one entry, or one for no entry, are malformed.
    let bytes = good_then(|t| {
        t.pax(&[("mtime", b"1")])
            .pax(&[("mtime", b"2")])
            .file("ffi/a.c", b"x")
    });
    assert!(matches!(
        refused(&bytes, &limits()),
        UnpackError::Malformed { .. }
    ));
    let bytes = RawTar::new()
        .file("ffi/a.c", b"x")
        .pax(&[("path", b"ffi/b.c")])
        .finish();
    assert!(matches!(
        refused(&bytes, &limits()),
        UnpackError::Malformed { .. }
    ));
}

#[test]
fn garbage_truncation_and_bad_checksums_are_malformed() {
    assert!(matches!(
        refused(b"this is not an archive at all, just some text", &limits()),
        UnpackError::Malformed { .. }
    ));
    let mut bytes = minimal_package_tar(RawTar::new());
    bytes[0] ^= 1; // breaks the header checksum
    assert!(matches!(
        refused(&bytes, &limits()),
        UnpackError::Malformed { .. }
    ));
    // The header declares 2000 bytes; the stream ends after one block of data.
    let bytes = RawTar::new()
        .entry_sized(b"ffi/a.c", b'0', 2000, b"", b"short")
        .truncated();
    let err = refused(&bytes, &limits());
    assert!(
        matches!(&err, UnpackError::Malformed { detail } if detail.contains("truncated")),
        "{err}"
    );
    let mut z = zstd3(&minimal_package_tar(RawTar::new()));
    let n = z.len();
    z.truncate(n / 2);
    assert!(matches!(
        refused(&z, &limits()),
        UnpackError::Malformed { .. }
    ));
    // An empty archive is read, and refused for having no manifest.
    assert!(matches!(
        refused(&RawTar::new().finish(), &limits()),
        UnpackError::MissingManifest
    ));
}

#[test]
fn the_archive_holds_the_manifest_its_modules_ffi_tests_and_doc_files_only() {
    let manifest = br#"{"schema_version":"x07.package@0.1.0","name":"ext-min","version":"1.0.0","module_root":"modules","modules":["ext.min","ext.two"]}"#;
    let bytes = RawTar::new()
        .file("modules/ext/min.x07.json", b"{}")
        .file("x07-package.json", manifest)
        .finish();
    let err = refused(&bytes, &limits());
    assert!(
        matches!(&err, UnpackError::MissingModule { module, path } if module.as_str() == "ext.two" && path == "modules/ext/two.x07.json"),
        "{err}"
    );

    let carried = RawTar::new()
        .file("LICENSE", b"MIT\n")
        .file("README.md", b"# hi")
        .file("ffi/a.c", b"int a;\n")
        .file("tests/a.x07.json", b"{}")
        .file("tests/fixtures/in.bin", b"\x00\x01");
    let bytes = minimal_package_tar(carried);
    let tmp = tempfile::tempdir().unwrap();
    let unpacked = unpack(&bytes, &tmp.path().join("pkg"), &limits()).unwrap();
    let names: Vec<&str> = unpacked.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        names,
        [
            "LICENSE",
            "README.md",
            "ffi/a.c",
            "tests/a.x07.json",
            "tests/fixtures/in.bin",
            "modules/ext/min.x07.json",
            "x07-package.json"
        ]
    );
    assert_eq!(
        fs_err::read(tmp.path().join("pkg/tests/fixtures/in.bin")).unwrap(),
        b"\x00\x01"
    );

    for other in [
        "notes.txt",
        "modules/ext/unlisted.x07.json",
        "docs/README.md",
        "readme.md",
        "tests",
        "src/lib.rs",
    ] {
        let bytes = minimal_package_tar(RawTar::new().file("LICENSE", b"MIT\n").file(other, b"{}"));
        let err = refused(&bytes, &limits());
        assert!(
            matches!(&err, UnpackError::UnexpectedEntry { entry } if entry == other),
            "{other}: {err}"
        );
        assert!(err.to_string().contains("is not a package file"), "{err}");
    }

    let bytes = RawTar::new()
        .file("modules/ext/min.x07.json", b"{}")
        .file(
            "x07-package.json",
            br#"{"schema_version":"x07.package@0.1.0"}"#,
        )
        .finish();
    let err = refused(&bytes, &limits());
    assert!(
        matches!(&err, UnpackError::Manifest(e) if e.is_schema_error()),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("x07-package.json: name: required field is missing"),
        "{err}"
    );

    let bytes = RawTar::new()
        .file("modules/ext/min.x07.json", b"{}")
        .finish();
    assert!(matches!(
        refused(&bytes, &limits()),
        UnpackError::MissingManifest
    ));
}

#[test]
fn an_existing_destination_is_never_touched() {
    let (tmp, dir) = archive_support::sample_package();
    let packed = pack(&dir).unwrap();
    let dest = tmp.path().join("dest");
    fs_err::create_dir(&dest).unwrap();
    fs_err::write(dest.join("mine.txt"), b"keep").unwrap();
    let err = unpack(&packed.bytes, &dest, &limits()).unwrap_err();
    assert!(
        matches!(&err, UnpackError::DestinationExists { dest: d } if d == &dest),
        "{err}"
    );
    assert_eq!(fs_err::read(dest.join("mine.txt")).unwrap(), b"keep");
    assert_eq!(fs_err::read_dir(&dest).unwrap().count(), 1);
    // An empty directory is not replaced either.
    let empty = tmp.path().join("empty");
    fs_err::create_dir(&empty).unwrap();
    assert!(matches!(
        unpack(&packed.bytes, &empty, &limits()),
        Err(UnpackError::DestinationExists { .. })
    ));
    assert_eq!(fs_err::read_dir(&empty).unwrap().count(), 0);
    let names: Vec<_> = fs_err::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".x07-unpack-")),
        "{names:?}"
    );
}
