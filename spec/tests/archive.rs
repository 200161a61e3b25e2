//! Packing: exactly the manifest, the listed modules, `ffi/**`, `tests/**` and the top-level doc
//! files, sorted, with fixed metadata, compressed as one zstd frame; the same directory always
//! gives the same bytes; what is packed unpacks to the same files; and what cannot be packed is
//! refused by name.

mod archive_support;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use archive_support::{
    long_ffi_path, read_tree, sample_archived_files, sample_package, write_sample_package,
};
use x07_spec::archive::{list, pack, unpack, PackError, UnpackError, UnpackLimits, ZSTD_MAGIC};
use x07_spec::Sha256Digest;

fn decompress(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::decode_all(bytes).unwrap()
}

#[test]
fn pack_holds_exactly_the_package_files_sorted_with_fixed_metadata() {
    let (_tmp, dir) = sample_package();
    let packed = pack(&dir).unwrap();
    let expected = sample_archived_files();

    let names: Vec<&str> = packed.entries.iter().map(|e| e.path.as_str()).collect();
    let expected_names: Vec<&str> = expected.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, expected_names);
    for (entry, (_, bytes)) in packed.entries.iter().zip(&expected) {
        assert_eq!(entry.size, bytes.len() as u64);
        assert_eq!(entry.sha256, Sha256Digest::of(bytes));
    }
    assert_eq!(packed.sha256, Sha256Digest::of(&packed.bytes));
    assert_eq!(packed.manifest.name.as_str(), "ext-demo");

    // Read back with the tar crate, headers included.
    let tar_bytes = decompress(&packed.bytes);
    let mut archive = tar::Archive::new(&tar_bytes[..]);
    let mut seen = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let h = entry.header().clone();
        let path = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
        assert_eq!(h.entry_type(), tar::EntryType::Regular, "{path}");
        assert_eq!(h.mode().unwrap(), 0o644, "{path}");
        assert_eq!(
            (h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap()),
            (0, 0, 0),
            "{path}"
        );
        assert_eq!(h.username_bytes(), Some(&b""[..]), "{path}");
        assert_eq!(h.groupname_bytes(), Some(&b""[..]), "{path}");
        assert!(h.as_ustar().is_some(), "{path}: a ustar header");
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        seen.push((path, data));
    }
    assert_eq!(
        seen, expected,
        "the tar holds exactly these files, in this order"
    );
}

#[test]
fn pack_carries_doc_files_and_tests_but_nothing_else_from_the_directory() {
    let (_tmp, dir) = sample_package();
    // Directories named like doc files are not files, and what is in them stays out.
    fs_err::create_dir_all(dir.join("CHANGELOG.md")).unwrap();
    fs_err::write(dir.join("CHANGELOG.md/0.1.0.md"), b"first\n").unwrap();
    let packed = pack(&dir).unwrap();
    let names: Vec<&str> = packed.entries.iter().map(|e| e.path.as_str()).collect();
    let long = long_ffi_path();
    assert_eq!(
        names,
        [
            "LICENSE",
            "README.md",
            "ffi/.keep",
            "ffi/demo.c",
            long.as_str(),
            "ffi/include/demo.h",
            "modules/ext/demo.x07.json",
            "modules/ext/demo/util.x07.json",
            "tests/a.x07.json",
            "tests/fixtures/input.bin",
            "x07-package.json",
        ]
    );
    assert_eq!(pack(&dir).unwrap().bytes, packed.bytes, "deterministic");

    // Every other doc name is carried too once it is there.
    fs_err::remove_dir_all(dir.join("CHANGELOG.md")).unwrap();
    for name in x07_spec::package::DOC_FILES {
        fs_err::write(dir.join(name), name.as_bytes()).unwrap();
    }
    let names: Vec<String> = pack(&dir)
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.path.to_string())
        .collect();
    for name in x07_spec::package::DOC_FILES {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    assert!(!names
        .iter()
        .any(|n| n == "notes.txt" || n.starts_with("docs/") || n.starts_with("src/")));
}

#[test]
fn a_module_root_inside_tests_is_packed_once() {
    let (_tmp, dir) = sample_package();
    let manifest = fs_err::read_to_string(dir.join("x07-package.json")).unwrap();
    fs_err::write(
        dir.join("x07-package.json"),
        manifest.replace("\"modules\",", "\"tests/modules\","),
    )
    .unwrap();
    fs_err::rename(dir.join("modules"), dir.join("tests/modules")).unwrap();
    let packed = pack(&dir).unwrap();
    let names: Vec<&str> = packed.entries.iter().map(|e| e.path.as_str()).collect();
    let modules: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.starts_with("tests/modules/"))
        .collect();
    assert_eq!(
        modules,
        [
            "tests/modules/ext/demo.x07.json",
            "tests/modules/ext/demo/util.x07.json",
            "tests/modules/ext/unlisted.x07.json"
        ]
    );
    let tmp = tempfile::tempdir().unwrap();
    let unpacked = unpack(
        &packed.bytes,
        &tmp.path().join("pkg"),
        &UnpackLimits::default(),
    )
    .unwrap();
    assert_eq!(unpacked.entries, packed.entries);
}

#[test]
fn the_compressed_form_is_one_level_19_zstd_frame_without_checksum() {
    let (_tmp, dir) = sample_package();
    let packed = pack(&dir).unwrap();
    let bytes = &packed.bytes;
    assert_eq!(bytes[..4], ZSTD_MAGIC);
    let descriptor = bytes[4];
    assert_eq!(descriptor & 0b100, 0, "no content checksum");
    assert_ne!(descriptor >> 6, 0, "the frame records the content size");
    let frame_len = zstd::zstd_safe::find_frame_compressed_size(bytes).unwrap();
    assert_eq!(
        frame_len,
        bytes.len(),
        "exactly one frame, nothing after it"
    );
    // Re-compressing the tar at level 19 without checksum gives the same bytes.
    let tar_bytes = decompress(bytes);
    let mut c = zstd::bulk::Compressor::new(19).unwrap();
    c.set_parameter(zstd::stream::raw::CParameter::ChecksumFlag(false))
        .unwrap();
    assert_eq!(&c.compress(&tar_bytes).unwrap(), bytes);
    // The plain tar ends with the two zero blocks and is block-aligned.
    assert_eq!(tar_bytes.len() % 512, 0);
    assert!(tar_bytes[tar_bytes.len() - 1024..].iter().all(|b| *b == 0));
}

#[test]
fn packing_ignores_mtimes_modes_owners_and_directory_order() {
    let (tmp, dir) = sample_package();
    let first = pack(&dir).unwrap();
    assert_eq!(pack(&dir).unwrap().bytes, first.bytes, "packing twice");

    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    for (rel, _) in sample_archived_files() {
        let path = dir.join(&rel);
        let file = fs_err::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_modified(old).unwrap();
        drop(file);
        let mode = if rel.ends_with(".c") { 0o755 } else { 0o600 };
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        // Owners only change when the tests run as root; the archive must not notice either way.
        let _ = std::os::unix::fs::chown(&path, Some(4242), Some(4343));
    }
    fs_err::set_permissions(dir.join("ffi"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let touched = pack(&dir).unwrap();
    assert_eq!(touched.bytes, first.bytes, "after touch/chmod/chown");
    assert_eq!(touched.sha256, first.sha256);

    // The same files written in the opposite order elsewhere (other directory order, other inodes).
    let copy = tmp.path().join("elsewhere/deeper/copy");
    fs_err::create_dir_all(&copy).unwrap();
    write_sample_package(&copy, true);
    let copied = pack(&copy).unwrap();
    assert_eq!(copied.bytes, first.bytes, "a copy in another directory");

    // A change to an archived file changes the archive; a change to an unlisted file does not.
    fs_err::write(copy.join("notes.txt"), b"changed").unwrap();
    fs_err::write(copy.join("docs/README.md"), b"changed").unwrap();
    fs_err::write(copy.join("modules/ext/unlisted.x07.json"), b"changed").unwrap();
    assert_eq!(pack(&copy).unwrap().bytes, first.bytes);
    fs_err::write(copy.join("README.md"), b"# changed\n").unwrap();
    let readme_changed = pack(&copy).unwrap().sha256;
    assert_ne!(readme_changed, first.sha256);
    fs_err::write(copy.join("tests/a.x07.json"), b"{}\n").unwrap();
    assert_ne!(pack(&copy).unwrap().sha256, readme_changed);
    fs_err::write(copy.join("ffi/demo.c"), b"int demo(void) { return 8; }\n").unwrap();
    assert_ne!(pack(&copy).unwrap().sha256, first.sha256);
}

#[test]
fn unpack_round_trips_and_list_agrees() {
    let (tmp, dir) = sample_package();
    let packed = pack(&dir).unwrap();
    let dest = tmp.path().join(".x07/deps/ext-demo/0.1.0");
    let unpacked = unpack(&packed.bytes, &dest, &UnpackLimits::default()).unwrap();
    assert_eq!(unpacked.dir, dest);
    assert_eq!(unpacked.entries, packed.entries);
    assert_eq!(unpacked.manifest, packed.manifest);
    assert_eq!(
        read_tree(&dest),
        sample_archived_files(),
        "exactly the archived files, byte for byte"
    );
    let mode = fs_err::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o755);
    let siblings: Vec<_> = fs_err::read_dir(dest.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        siblings,
        ["0.1.0"],
        "no temporary directory is left beside it"
    );

    assert_eq!(list(&packed.bytes).unwrap(), packed.entries);
    // The plain (uncompressed) tar is read the same way.
    let plain = decompress(&packed.bytes);
    assert_eq!(list(&plain).unwrap(), packed.entries);
    let dest2 = tmp.path().join("plain");
    assert_eq!(
        unpack(&plain, &dest2, &UnpackLimits::default())
            .unwrap()
            .entries,
        packed.entries
    );

    // Packing the unpacked package gives the same archive.
    assert_eq!(pack(&dest).unwrap().bytes, packed.bytes);
}

#[test]
fn gnu_tar_reads_the_archive_long_paths_included() {
    let (tmp, dir) = sample_package();
    let packed = pack(&dir).unwrap();
    let tar_path = tmp.path().join("demo.tar");
    fs_err::write(&tar_path, decompress(&packed.bytes)).unwrap();
    let out = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&tar_path)
        .output();
    let Ok(out) = out else {
        eprintln!("no tar program here; skipped the cross-check");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = sample_archived_files()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(listed, expected);
    assert!(listed.contains(&long_ffi_path()));
}

#[test]
fn pack_refuses_what_an_archive_cannot_hold_naming_the_path() {
    let (_tmp, dir) = sample_package();

    let link = dir.join("ffi/link.h");
    std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
    let err = pack(&dir).unwrap_err();
    assert!(
        matches!(&err, PackError::NotRegular { path, found: "a symbolic link" } if path == &link),
        "{err}"
    );
    fs_err::remove_file(&link).unwrap();

    let fifo = dir.join("ffi/pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let err = pack(&dir).unwrap_err();
        assert!(
            matches!(&err, PackError::NotRegular { path, .. } if path == &fifo),
            "{err}"
        );
        fs_err::remove_file(&fifo).unwrap();
    }

    use std::os::unix::ffi::OsStrExt;
    let bad = dir
        .join("ffi")
        .join(std::ffi::OsStr::from_bytes(b"bad\xffname.c"));
    fs_err::write(&bad, b"").unwrap();
    let err = pack(&dir).unwrap_err();
    assert!(
        matches!(
            &err,
            PackError::WouldBeRefused(UnpackError::BadPathCharacters { .. })
        ),
        "{err}"
    );
    fs_err::remove_file(&bad).unwrap();

    fs_err::write(dir.join("ffi/Demo.c"), b"").unwrap();
    let err = pack(&dir).unwrap_err();
    assert!(
        matches!(
            &err,
            PackError::WouldBeRefused(UnpackError::CaseCollision { .. })
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("ffi/Demo.c") && err.to_string().contains("ffi/demo.c"),
        "{err}"
    );
    fs_err::remove_file(dir.join("ffi/Demo.c")).unwrap();

    let big = dir.join("ffi/big.bin");
    fs_err::write(&big, vec![0u8; (16 << 20) + 1]).unwrap();
    let err = pack(&dir).unwrap_err();
    assert!(
        matches!(&err, PackError::WouldBeRefused(UnpackError::FileTooLarge { entry, size, .. }) if entry == "ffi/big.bin" && *size == (16 << 20) + 1),
        "{err}"
    );
    fs_err::remove_file(&big).unwrap();

    // A symlinked ffi directory is not followed out of the package.
    fs_err::rename(dir.join("ffi"), dir.join("../ffi-real")).unwrap();
    std::os::unix::fs::symlink("../ffi-real", dir.join("ffi")).unwrap();
    let err = pack(&dir).unwrap_err();
    assert!(matches!(&err, PackError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("ffi is a symbolic link"), "{err}");
    let manifest = fs_err::read(dir.join("x07-package.json")).unwrap();
    let handwritten = String::from_utf8(manifest.clone())
        .unwrap()
        .replace("\"ffi\"", "\"handwritten\"");
    fs_err::write(dir.join("x07-package.json"), handwritten).unwrap();
    let err = pack(&dir).unwrap_err();
    assert!(
        matches!(&err, PackError::NotRegular { path, found: "a symbolic link" } if path == &dir.join("ffi")),
        "{err}"
    );
    fs_err::write(dir.join("x07-package.json"), manifest).unwrap();
    fs_err::remove_file(dir.join("ffi")).unwrap();
    fs_err::rename(dir.join("../ffi-real"), dir.join("ffi")).unwrap();

    // Doc files and tests/ follow the same rules as ffi/.
    fs_err::rename(dir.join("README.md"), dir.join("readme-real.md")).unwrap();
    std::os::unix::fs::symlink("readme-real.md", dir.join("README.md")).unwrap();
    let err = pack(&dir).unwrap_err();
    assert!(
        matches!(&err, PackError::NotRegular { path, found: "a symbolic link" } if path == &dir.join("README.md")),
        "{err}"
    );
    assert!(
        err.to_string().contains("README.md: is a symbolic link"),
        "{err}"
    );
    fs_err::remove_file(dir.join("README.md")).unwrap();
    fs_err::rename(dir.join("readme-real.md"), dir.join("README.md")).unwrap();

    let link = dir.join("tests/fixtures/passwd");
    std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
    let err = pack(&dir).unwrap_err();
    assert!(
        matches!(&err, PackError::NotRegular { path, found: "a symbolic link" } if path == &link),
        "{err}"
    );
    fs_err::remove_file(&link).unwrap();

    fs_err::write(dir.join("tests/A.x07.json"), b"{}").unwrap();
    let err = pack(&dir).unwrap_err();
    assert!(
        matches!(
            &err,
            PackError::WouldBeRefused(UnpackError::CaseCollision { .. })
        ),
        "{err}"
    );
    fs_err::remove_file(dir.join("tests/A.x07.json")).unwrap();

    fs_err::rename(dir.join("tests"), dir.join("../tests-real")).unwrap();
    fs_err::write(dir.join("tests"), b"not a directory\n").unwrap();
    let err = pack(&dir).unwrap_err();
    assert!(
        matches!(&err, PackError::NotRegular { path, .. } if path == &dir.join("tests")),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("a regular file where a directory belongs"),
        "{err}"
    );
    fs_err::remove_file(dir.join("tests")).unwrap();
    fs_err::rename(dir.join("../tests-real"), dir.join("tests")).unwrap();

    pack(&dir).expect("the package packs again once the offending files are gone");
}

#[test]
fn pack_refuses_an_invalid_manifest_or_a_missing_module() {
    let (_tmp, dir) = sample_package();
    fs_err::remove_file(dir.join("modules/ext/demo/util.x07.json")).unwrap();
    let err = pack(&dir).unwrap_err();
    match &err {
        PackError::Invalid { manifest, source } => {
            assert_eq!(manifest, &dir.join("x07-package.json"));
            assert!(source.has_module_file_problem());
        }
        other => panic!("unexpected {other}"),
    }
    assert!(
        err.to_string().contains(
            "modules[1]: module `ext.demo.util` has no file modules/ext/demo/util.x07.json"
        ),
        "{err}"
    );

    fs_err::write(
        dir.join("x07-package.json"),
        br#"{"schema_version":"x07.package@0.1.0","name":"X"}"#,
    )
    .unwrap();
    let err = pack(&dir).unwrap_err();
    assert!(
        matches!(&err, PackError::Manifest(e) if e.is_schema_error()),
        "{err}"
    );
    assert!(err.to_string().contains("x07-package.json: name:"), "{err}");

    fs_err::remove_file(dir.join("x07-package.json")).unwrap();
    assert!(matches!(pack(&dir).unwrap_err(), PackError::Manifest(_)));
}
