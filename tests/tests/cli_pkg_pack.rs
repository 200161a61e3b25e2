//! `x07 pkg pack`: the default and explicit output paths, the one-line
//! `x07.pkg.pack.report@0.1.0`, archives that are the same wherever and however often they are
//! made, and each error with its code (X07-PKG-0001/0002/0004/0005, exit 2) and nothing written.
//!
//! Set `X07_BIN` to test another build.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::Digest as _;
use x07_tests::{X07Home, X07Output};

use common::{expect_exit, expect_stderr, is_canonical_file, run, stdout, x07_in};

fn manifest() -> Value {
    json!({
        "schema_version": "x07.package@0.1.0",
        "name": "ext-hello",
        "version": "0.3.0",
        "module_root": "modules",
        "modules": ["ext.hello", "ext.hello.fmt"],
        "description": "Says hello",
        "docs": "# ext-hello\n",
        "license": "MIT",
        "meta": {"x07c_compat": ">=0.1.0, <0.2.0", "import_mode": "ffi", "ffi_libs": ["m"]}
    })
}

/// A package directory inside a fresh temporary directory, plus a home for x07.
struct Package {
    home: X07Home,
    outer: tempfile::TempDir,
    dir: PathBuf,
}

impl Package {
    fn new() -> Self {
        let home = X07Home::new().unwrap();
        let outer = tempfile::Builder::new()
            .prefix("x07-pkg-")
            .tempdir()
            .unwrap();
        let dir = outer.path().join("ext-hello");
        let p = Self { home, outer, dir };
        p.write_manifest(&manifest());
        p.write(
            "modules/ext/hello.x07.json",
            b"{\"kind\":\"module\",\"module_id\":\"ext.hello\"}\n",
        );
        p.write(
            "modules/ext/hello/fmt.x07.json",
            b"{\"kind\":\"module\",\"module_id\":\"ext.hello.fmt\"}\n",
        );
        p.write("ffi/hello.c", b"int hello(void) { return 1; }\n");
        p.write("README.md", b"# ext-hello\n");
        p.write("notes.txt", b"not packed\n");
        p.write("tests/tests.json", b"{}\n");
        p
    }

    fn write(&self, rel: &str, bytes: &[u8]) {
        let path = self.dir.join(rel);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, bytes).unwrap();
    }

    fn write_manifest(&self, value: &Value) {
        self.write(
            "x07-package.json",
            &serde_json::to_vec_pretty(value).unwrap(),
        );
    }

    fn pack_in(&self, cwd: &Path, args: &[&str]) -> X07Output {
        run(x07_in(&self.home, cwd).args(["pkg", "pack"]).args(args))
    }

    fn default_out(&self) -> PathBuf {
        self.dir.join("target/ext-hello-0.3.0.x07pkg")
    }
}

/// The report: exactly one line of canonical JSON with the seven fields.
#[track_caller]
fn report(out: &X07Output) -> Value {
    expect_exit(out, 0);
    let text = stdout(out);
    assert!(
        text.ends_with('\n') && text.matches('\n').count() == 1,
        "one line expected\n{}",
        out.describe()
    );
    assert!(
        is_canonical_file(&out.stdout),
        "the report is canonical JSON\n{}",
        out.describe()
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "bytes",
            "entries",
            "name",
            "out",
            "schema_version",
            "sha256",
            "version"
        ]
    );
    assert_eq!(v["schema_version"], "x07.pkg.pack.report@0.1.0");
    v
}

fn sha256_of(path: &Path) -> String {
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(fs_err::read(path).unwrap()))
    )
}

#[test]
fn pack_writes_target_name_version_x07pkg_and_reports_it() {
    let p = Package::new();
    let out = p.pack_in(&p.dir, &[]);
    let r = report(&out);
    let archive = fs_err::canonicalize(p.default_out()).unwrap();
    assert_eq!(r["out"], archive.display().to_string());
    assert_eq!(r["name"], "ext-hello");
    assert_eq!(r["version"], "0.3.0");
    assert_eq!(
        r["entries"], 6,
        "manifest, two modules, one C file, README.md, one test file"
    );
    assert_eq!(r["bytes"], fs_err::metadata(&archive).unwrap().len());
    assert_eq!(r["sha256"], sha256_of(&archive));

    let bytes = fs_err::read(&archive).unwrap();
    assert_eq!(bytes[..4], [0x28, 0xb5, 0x2f, 0xfd], "zstd-compressed");
    let names: Vec<String> = x07_spec::archive::list(&bytes)
        .unwrap()
        .into_iter()
        .map(|e| e.path.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "README.md",
            "ffi/hello.c",
            "modules/ext/hello.x07.json",
            "modules/ext/hello/fmt.x07.json",
            "tests/tests.json",
            "x07-package.json"
        ]
    );
    let unpacked = p.outer.path().join("unpacked");
    let u = x07_spec::archive::unpack(&bytes, &unpacked, &Default::default()).unwrap();
    assert_eq!(
        fs_err::read(unpacked.join("x07-package.json")).unwrap(),
        fs_err::read(p.dir.join("x07-package.json")).unwrap()
    );
    assert_eq!(u.manifest.name.as_str(), "ext-hello");
}

#[test]
fn package_and_out_flags_and_the_same_bytes_every_time() {
    let p = Package::new();
    let first = report(&p.pack_in(&p.dir, &[]));
    // From elsewhere, with a relative --package and a relative --out in a directory that does not exist yet.
    let out = p.pack_in(
        p.outer.path(),
        &[
            "--package",
            "ext-hello",
            "--out",
            "dist/nested/hello.x07pkg",
        ],
    );
    let second = report(&out);
    let written = fs_err::canonicalize(p.outer.path().join("dist/nested/hello.x07pkg")).unwrap();
    assert_eq!(second["out"], written.display().to_string());
    assert_eq!(
        second["sha256"], first["sha256"],
        "same package, same archive"
    );
    assert_eq!(
        fs_err::read(&written).unwrap(),
        fs_err::read(p.default_out()).unwrap()
    );

    // A fresh copy elsewhere, one of its files rewritten later (another mtime): the same archive.
    let copy = Package::new();
    std::thread::sleep(std::time::Duration::from_millis(20));
    copy.write("ffi/hello.c", b"int hello(void) { return 1; }\n");
    let third = report(&copy.pack_in(&copy.dir, &[]));
    assert_eq!(third["sha256"], first["sha256"]);

    // Packing again overwrites the archive in place with the same bytes.
    let again = report(&p.pack_in(&p.dir, &[]));
    assert_eq!(again, first);
}

#[track_caller]
fn expect_refusal(p: &Package, args: &[&str], code: &str, needles: &[&str]) {
    let out = p.pack_in(&p.dir, args);
    expect_exit(&out, 2);
    expect_stderr(&out, code, needles);
    assert!(
        out.stdout.is_empty(),
        "no report on error\n{}",
        out.describe()
    );
    assert!(!p.default_out().exists(), "no archive is written on error");
}

#[test]
fn an_invalid_or_unpublishable_manifest_is_x07_pkg_0001() {
    let p = Package::new();
    let mut m = manifest();
    m["name"] = json!("Bad Name");
    p.write_manifest(&m);
    expect_refusal(&p, &[], "X07-PKG-0001", &["x07-package.json", "name:"]);

    let mut m = manifest();
    m.as_object_mut().unwrap().remove("license");
    m["description"] = json!("  ");
    m["meta"].as_object_mut().unwrap().remove("x07c_compat");
    p.write_manifest(&m);
    expect_refusal(
        &p,
        &[],
        "X07-PKG-0001",
        &[
            "description: publishing needs",
            "license: publishing needs",
            "meta.x07c_compat",
        ],
    );

    fs_err::write(p.dir.join("x07-package.json"), b"{\"schema_version\": ").unwrap();
    expect_refusal(
        &p,
        &[],
        "X07-PKG-0001",
        &["x07-package.json:1:", "malformed JSON"],
    );

    fs_err::remove_file(p.dir.join("x07-package.json")).unwrap();
    expect_refusal(&p, &[], "X07-PKG-0001", &["x07-package.json", "--package"]);

    let out = p.pack_in(&p.dir, &["--package", "no-such-dir"]);
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-PKG-0001", &["no-such-dir", "not a directory"]);
}

#[test]
fn a_missing_module_file_is_x07_pkg_0002() {
    let p = Package::new();
    fs_err::remove_file(p.dir.join("modules/ext/hello/fmt.x07.json")).unwrap();
    expect_refusal(
        &p,
        &[],
        "X07-PKG-0002",
        &[
            "modules[1]",
            "ext.hello.fmt",
            "modules/ext/hello/fmt.x07.json",
        ],
    );
}

#[test]
fn what_an_archive_cannot_hold_is_x07_pkg_0004() {
    let p = Package::new();
    std::os::unix::fs::symlink("/etc/passwd", p.dir.join("ffi/passwd.h")).unwrap();
    expect_refusal(&p, &[], "X07-PKG-0004", &["ffi/passwd.h", "symbolic link"]);
    fs_err::remove_file(p.dir.join("ffi/passwd.h")).unwrap();

    p.write("ffi/Hello.c", b"");
    expect_refusal(
        &p,
        &[],
        "X07-PKG-0004",
        &["ffi/Hello.c", "ffi/hello.c", "letter case"],
    );
}

#[test]
fn an_archive_that_cannot_be_written_is_x07_pkg_0005() {
    let p = Package::new();
    fs_err::create_dir_all(p.dir.join("target/ext-hello-0.3.0.x07pkg")).unwrap();
    let out = p.pack_in(&p.dir, &[]);
    expect_exit(&out, 2);
    expect_stderr(
        &out,
        "X07-PKG-0005",
        &["ext-hello-0.3.0.x07pkg", "is a directory"],
    );
    fs_err::remove_dir(p.default_out()).unwrap();

    expect_refusal(
        &p,
        &["--out", "ffi/self.x07pkg"],
        "X07-PKG-0005",
        &["ffi/self.x07pkg", "pack itself"],
    );
    assert!(!p.dir.join("ffi/self.x07pkg").exists());
    expect_refusal(
        &p,
        &["--out", "modules/ext/hello.x07.json"],
        "X07-PKG-0005",
        &["overwrite a packed file"],
    );
    assert!(fs_err::read(p.dir.join("modules/ext/hello.x07.json"))
        .unwrap()
        .starts_with(b"{\"kind\""));
}
