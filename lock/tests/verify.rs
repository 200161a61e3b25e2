//! Checking a lock against package directories on disk: every digest, unlisted and non-regular
//! files, missing pieces, and what locks converted from 0.4 can and cannot check.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use x07_lock::{
    hash_package_dir, DepSource, Lock, LockFormat, LockProblem, LockProblemKind, LockedPackage,
    PackageHashError,
};
use x07_spec::{RelPath, Sha256Digest};

fn write(path: &Path, text: &str) {
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, text).unwrap();
}

/// A package directory with its modules, ffi sources, doc files and a test module.
fn make_package(dir: &Path, n: &str, v: &str, modules: &[&str]) {
    let list: Vec<String> = modules.iter().map(|m| format!("\"{m}\"")).collect();
    write(
        &dir.join("x07-package.json"),
        &format!(
            r#"{{"schema_version":"x07.package@0.1.0","name":"{n}","version":"{v}","module_root":"modules","modules":[{}]}}"#,
            list.join(",")
        ),
    );
    for m in modules {
        write(
            &dir.join("modules")
                .join(format!("{}.x07.json", m.replace('.', "/"))),
            &format!("{{\"module\":\"{m}\"}}"),
        );
    }
    write(&dir.join("ffi/shim.c"), "int shim(void) { return 1; }\n");
    write(&dir.join("ffi/include/shim.h"), "int shim(void);\n");
    write(&dir.join("README.md"), "# readme\n");
    write(&dir.join("LICENSE"), "MIT License\n");
    write(&dir.join("tests/smoke.x07.json"), "{\"kind\":\"module\"}\n");
}

/// Locks a package directory the way `x07 pkg lock` does: from its digests.
fn lock_entry(root: &Path, rel: &str, source: DepSource) -> LockedPackage {
    let digests = hash_package_dir(&root.join(rel)).unwrap();
    LockedPackage::from_digests(digests, RelPath::new(rel).unwrap().into(), source)
}

struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
    lock: Lock,
}

fn project() -> Project {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    make_package(
        &root.join(".x07/deps/ext-net/0.1.0"),
        "ext-net",
        "0.1.0",
        &["std.net.http", "std.net.err"],
    );
    make_package(&root.join("libs/util"), "ext-util", "1.0.0", &["ext.util"]);
    write(
        &root.join("libs/util/notes.txt"),
        "not part of the package\n",
    );
    let mut lock = Lock::empty();
    lock.dependencies = vec![
        lock_entry(&root, ".x07/deps/ext-net/0.1.0", DepSource::Registry),
        lock_entry(&root, "libs/util", DepSource::Path),
    ];
    Project {
        _dir: dir,
        root,
        lock,
    }
}

fn kinds(problems: &[LockProblem]) -> Vec<String> {
    problems
        .iter()
        .map(|p| format!("{} {}", p.name, p.kind))
        .collect()
}

#[test]
fn hashes_the_manifest_every_module_all_of_ffi_and_tests_and_the_doc_files() {
    let p = project();
    let net = p.lock.package(&name("ext-net")).unwrap();
    let files: Vec<&str> = net.files_sha256.keys().map(|f| f.as_str()).collect();
    assert_eq!(
        files,
        [
            "LICENSE",
            "README.md",
            "ffi/include/shim.h",
            "ffi/shim.c",
            "modules/std/net/err.x07.json",
            "modules/std/net/http.x07.json",
            "tests/smoke.x07.json",
            "x07-package.json"
        ]
    );
    assert_eq!(
        net.files_sha256[&RelPath::new("README.md").unwrap()],
        Sha256Digest::of(b"# readme\n")
    );
    let util = p.lock.package(&name("ext-util")).unwrap();
    assert!(
        !util
            .files_sha256
            .contains_key(&RelPath::new("notes.txt").unwrap()),
        "files outside the package are not hashed"
    );
    assert_eq!(net.modules_sha256.len(), 2);
    assert!(
        p.lock.verify_against_disk(&p.root).is_empty(),
        "{:?}",
        p.lock.verify_against_disk(&p.root)
    );
}

#[test]
fn reports_every_change_on_disk() {
    let p = project();
    let net = p.root.join(".x07/deps/ext-net/0.1.0");
    write(&net.join("ffi/shim.c"), "int shim(void) { return 2; }\n");
    write(&net.join("ffi/extra.c"), "int extra;\n");
    write(&net.join("notes.txt"), "dropped in\n");
    fs_err::remove_file(net.join("modules/std/net/err.x07.json")).unwrap();
    write(&net.join("modules/std/net/http.x07.json"), "{}");
    std::os::unix::fs::symlink("/etc/passwd", net.join("ffi/link.c")).unwrap();
    let util = p.root.join("libs/util");
    write(&util.join("ffi/new.c"), "int n;\n");
    write(&util.join("docs.md"), "outside the package: ignored\n");
    let found = kinds(&p.lock.verify_against_disk(&p.root));
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn doc_files_and_tests_are_pinned_and_unknown_files_still_flagged() {
    let p = project();
    let net = p.root.join(".x07/deps/ext-net/0.1.0");
    assert!(p.lock.verify_against_disk(&p.root).is_empty());
    write(&net.join("README.md"), "# edited\n");
    write(&net.join("tests/extra.x07.json"), "{}\n");
    write(&net.join("notes.txt"), "dropped in\n");
    fs_err::remove_file(net.join("LICENSE")).unwrap();
    let problems: Vec<LockProblemKind> = p
        .lock
        .verify_against_disk(&p.root)
        .into_iter()
        .map(|p| p.kind)
        .collect();
    assert_eq!(
        problems,
        [
            LockProblemKind::FileMissing {
                file: "LICENSE".into()
            },
            LockProblemKind::FileChanged {
                file: "README.md".into(),
                locked: Sha256Digest::of(b"# readme\n"),
                found: Sha256Digest::of(b"# edited\n"),
            },
            LockProblemKind::UnlistedFile {
                file: "notes.txt".into()
            },
            LockProblemKind::UnlistedFile {
                file: "tests/extra.x07.json".into()
            },
        ]
    );
}

#[test]
fn hashing_refuses_a_linked_doc_file_or_a_tests_file() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    make_package(&pkg, "ext-a", "1.0.0", &["ext.a"]);
    fs_err::remove_file(pkg.join("README.md")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", pkg.join("README.md")).unwrap();
    let err = hash_package_dir(&pkg).unwrap_err();
    assert!(
        matches!(&err, PackageHashError::NotRegular { file, kind: "a symbolic link", .. } if file == "README.md"),
        "{err}"
    );
    fs_err::remove_file(pkg.join("README.md")).unwrap();

    fs_err::remove_dir_all(pkg.join("tests")).unwrap();
    write(&pkg.join("tests"), "not a directory\n");
    let err = hash_package_dir(&pkg).unwrap_err();
    assert!(
        matches!(&err, PackageHashError::NotRegular { file, .. } if file == "tests"),
        "{err}"
    );
    fs_err::remove_file(pkg.join("tests")).unwrap();

    // A directory named like a doc file is not a file of the package.
    write(&pkg.join("NOTICE/inner.txt"), "x\n");
    let files: Vec<String> = hash_package_dir(&pkg)
        .unwrap()
        .files_sha256
        .keys()
        .map(|f| f.to_string())
        .collect();
    assert_eq!(
        files,
        [
            "LICENSE",
            "ffi/include/shim.h",
            "ffi/shim.c",
            "modules/ext/a.x07.json",
            "x07-package.json"
        ]
    );
}

#[test]
fn manifest_identity_and_missing_directories() {
    let p = project();
    make_package(
        &p.root.join(".x07/deps/ext-net/0.1.0"),
        "ext-other",
        "0.1.0",
        &["std.net.http", "std.net.err"],
    );
    fs_err::remove_dir_all(p.root.join("libs/util")).unwrap();
    let problems = p.lock.verify_against_disk(&p.root);
    let found = kinds(&problems);
    assert!(
        found[0]
            .starts_with("ext-net x07-package.json changed since it was locked (locked sha256:"),
        "{found:?}"
    );
    assert_eq!(
        found[1],
        "ext-net the directory holds ext-other 0.1.0 instead"
    );
    assert_eq!(found[2], "ext-util the package directory is missing");
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(
        problems[2].to_string(),
        "ext-util 1.0.0 (libs/util): the package directory is missing; restore the directory or fix the dependency's path in x07.json"
    );
    assert!(problems[0]
        .to_string()
        .ends_with("; delete .x07/deps/ext-net/0.1.0 and run `x07 pkg lock` to unpack it again"));
}

#[test]
fn module_collisions_are_reported() {
    let mut p = project();
    let dup = p
        .lock
        .package(&name("ext-net"))
        .unwrap()
        .modules_sha256
        .iter()
        .next()
        .map(|(m, d)| (m.clone(), *d))
        .unwrap();
    p.lock.dependencies[1].modules_sha256.insert(dup.0, dup.1);
    let found = kinds(&p.lock.verify_against_disk(&p.root));
    assert!(
        found.contains(&"ext-util module `std.net.err` is also provided by ext-net".to_string()),
        "{found:?}"
    );
    assert!(p.lock.check_rules().is_err());
}

#[test]
fn locks_converted_from_v04_check_manifests_and_modules_only() {
    let mut p = project();
    p.lock.read_as = LockFormat::V0_4;
    for dep in &mut p.lock.dependencies {
        dep.files_sha256.clear();
    }
    let net = p.root.join(".x07/deps/ext-net/0.1.0");
    write(&net.join("ffi/shim.c"), "changed\n");
    assert!(
        p.lock.verify_against_disk(&p.root).is_empty(),
        "0.4 never recorded ffi digests"
    );
    write(&net.join("modules/std/net/http.x07.json"), "{}");
    let found = kinds(&p.lock.verify_against_disk(&p.root));
    assert_eq!(found.len(), 1);
    assert!(found[0]
        .starts_with("ext-net module `std.net.http` (modules/std/net/http.x07.json) changed"));
}

#[test]
fn problem_kinds_are_matchable() {
    let p = project();
    fs_err::remove_file(p.root.join("libs/util/ffi/shim.c")).unwrap();
    let problems = p.lock.verify_against_disk(&p.root);
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].kind,
        LockProblemKind::FileMissing {
            file: "ffi/shim.c".into()
        }
    );
    assert_eq!(problems[0].source, DepSource::Path);
}
