//! Packages end to end against a real `x07 registry serve` process on loopback: publish → add →
//! lock → build → run, transitive dependencies in the lock only, locked versions kept until
//! `--upgrade`, tampering caught by build and repaired by sync, `--locked`, offline with a warm
//! and a cold cache, two `pkg add` at once, requirements (x07.project@0.6.0), the user's key
//! order, lock signatures, yanks and conflicts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use x07_tests::registry::{write_package, LocalRegistry, PackageSpec};
use x07_tests::{x07_bin, X07Home};

struct World {
    home: X07Home,
    reg: LocalRegistry,
    pkgs: tempfile::TempDir,
}

impl World {
    /// A registry with demo-util 0.1.0 and 0.1.1 and demo-lib 0.2.0 (requires demo-util ^0.1).
    fn new() -> Self {
        let home = X07Home::new().unwrap();
        let reg = LocalRegistry::start(&[]);
        reg.login(home.path(), "alice");
        let w = Self {
            home,
            reg,
            pkgs: tempfile::tempdir().unwrap(),
        };
        w.publish_util("0.1.0");
        w.publish_util("0.1.1");
        w.publish(&PackageSpec {
            name: "demo-lib",
            version: "0.2.0",
            requires: &["demo-util@^0.1"],
            module: "demo.lib",
            text_body: json!(["bytes.concat", ["bytes.lit", "lib+"], ["demo.util.text"]]),
            imports: &["demo.util"],
        });
        w
    }

    fn publish(&self, spec: &PackageSpec<'_>) {
        let dir = write_package(self.pkgs.path(), spec);
        self.reg.publish_ok(self.home.path(), &dir);
    }

    fn publish_util(&self, version: &str) {
        let text = format!("util-{version}");
        self.publish(&PackageSpec {
            name: "demo-util",
            version,
            requires: &[],
            module: "demo.util",
            text_body: json!(["bytes.lit", text]),
            imports: &[],
        });
    }

    /// `x07 init` plus an app module printing `demo.<module>.text()`.
    fn project(&self, module: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let out = self.x07(dir.path(), &["init"]);
        assert!(out.status.success(), "{}", stderr(&out));
        write_app(dir.path(), module);
        dir
    }

    fn x07(&self, cwd: &Path, args: &[&str]) -> Output {
        Command::new(x07_bin())
            .args(args)
            .current_dir(cwd)
            .env("X07_HOME", self.home.path())
            .env("X07_PKG_INDEX_URL", &self.reg.index)
            .env_remove("X07_SANDBOX_BACKEND")
            .output()
            .unwrap()
    }

    fn ok(&self, cwd: &Path, args: &[&str]) -> Output {
        let out = self.x07(cwd, args);
        assert!(
            out.status.success(),
            "x07 {}: {}",
            args.join(" "),
            stderr(&out)
        );
        out
    }

    /// `x07 run` with empty input; the decoded solve output.
    fn run_output(&self, cwd: &Path) -> String {
        let out = self.ok(cwd, &["run", "--input-b64", ""]);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let b64 = report["solve_output_b64"].as_str().unwrap();
        String::from_utf8(base64_decode(b64)).unwrap()
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn write_app(dir: &Path, module: &str) {
    let app = json!({
        "schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "app", "imports": [module],
        "decls": [{"kind": "export", "names": ["app.solve"]},
                  {"kind": "defn", "name": "app.solve", "params": [{"name": "b", "ty": "bytes_view"}], "result": "bytes",
                   "body": [format!("{module}.text")]}]
    });
    fs_err::write(
        dir.join("src/app.x07.json"),
        serde_json::to_vec(&app).unwrap(),
    )
    .unwrap();
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn read_json(path: impl AsRef<Path>) -> Value {
    serde_json::from_slice(&fs_err::read(path).unwrap()).unwrap()
}

fn locked(dir: &Path) -> Vec<(String, String)> {
    read_json(dir.join("x07.lock.json"))["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

fn deps_tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let deps = dir.join(".x07/deps");
    for name in fs_err::read_dir(&deps).into_iter().flatten().flatten() {
        for v in fs_err::read_dir(name.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            out.push(v.path().strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    out.sort();
    out
}

#[test]
fn publish_add_lock_build_run_with_a_transitive_dependency() {
    let w = World::new();
    let p = w.project("demo.lib");
    w.ok(p.path(), &["pkg", "add", "demo-lib", "--sync"]);

    // x07.json keeps only what was asked for; the lock has the whole graph.
    let manifest = read_json(p.path().join("x07.json"));
    assert_eq!(manifest["schema_version"], "x07.project@0.5.0");
    assert_eq!(
        manifest["dependencies"],
        json!([{"name": "demo-lib", "path": ".x07/deps/demo-lib/0.2.0", "version": "0.2.0"}])
    );
    assert_eq!(
        locked(p.path()),
        [pair("demo-lib", "0.2.0"), pair("demo-util", "0.1.1")]
    );
    let lock = read_json(p.path().join("x07.lock.json"));
    assert_eq!(lock["schema_version"], "x07.lock@0.5.0");
    assert_eq!(lock["registry"]["index_url"], w.reg.index.as_str());
    let lib = &lock["dependencies"][0];
    assert_eq!(
        lib["deps"],
        json!([{"name": "demo-util", "req": "^0.1", "resolved": "0.1.1"}])
    );
    assert!(lib["archive_sha256"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(lib["index_signature"]["key_id"], lock["registry"]["key_id"]);
    assert!(lib["files_sha256"]["modules/demo/lib.x07.json"].is_string());
    assert_eq!(
        deps_tree(p.path()),
        [
            PathBuf::from(".x07/deps/demo-lib/0.2.0"),
            PathBuf::from(".x07/deps/demo-util/0.1.1")
        ]
    );

    assert_eq!(w.run_output(p.path()), "lib+util-0.1.1");
    w.ok(p.path(), &["pkg", "lock", "--check"]);
    let tree = String::from_utf8(w.ok(p.path(), &["pkg", "tree"]).stdout).unwrap();
    assert!(
        tree.contains("└── demo-lib 0.2.0") && tree.contains("    └── demo-util 0.1.1"),
        "{tree}"
    );

    // A newer demo-util does not move the lock until asked.
    w.publish_util("0.1.2");
    let lock_before = fs_err::read(p.path().join("x07.lock.json")).unwrap();
    let out = w.ok(p.path(), &["pkg", "lock"]);
    assert!(stderr(&out).contains("up to date"), "{}", stderr(&out));
    assert_eq!(
        fs_err::read(p.path().join("x07.lock.json")).unwrap(),
        lock_before
    );
    let out = w.ok(p.path(), &["pkg", "lock", "--upgrade"]);
    assert!(
        stderr(&out).contains("demo-util 0.1.1 -> 0.1.2"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        locked(p.path()),
        [pair("demo-lib", "0.2.0"), pair("demo-util", "0.1.2")]
    );
    assert_eq!(
        deps_tree(p.path()),
        [
            PathBuf::from(".x07/deps/demo-lib/0.2.0"),
            PathBuf::from(".x07/deps/demo-util/0.1.2")
        ],
        "the old tree is pruned"
    );
    assert_eq!(w.run_output(p.path()), "lib+util-0.1.2");
}

#[test]
fn build_refuses_modified_dependencies_and_sync_restores_them() {
    let w = World::new();
    let p = w.project("demo.lib");
    w.ok(p.path(), &["pkg", "add", "demo-lib@0.2.0", "--sync"]);
    let module = p
        .path()
        .join(".x07/deps/demo-util/0.1.1/modules/demo/util.x07.json");
    let original = fs_err::read(&module).unwrap();
    fs_err::write(
        &module,
        String::from_utf8(original.clone())
            .unwrap()
            .replace("util-0.1.1", "evil-0.1.1"),
    )
    .unwrap();

    let out = w.x07(p.path(), &["run", "--input-b64", ""]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("X07-LOCK-0003")
            && stderr(&out).contains("modules/demo/util.x07.json"),
        "{}",
        stderr(&out)
    );
    let out = w.x07(p.path(), &["pkg", "lock", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = w.x07(p.path(), &["pkg", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let out = w.ok(p.path(), &["pkg", "sync"]);
    assert!(
        stderr(&out).contains("installed demo-util@0.1.1"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs_err::read(&module).unwrap(), original);
    // An extra file in a registry package is refused as well.
    fs_err::write(
        p.path()
            .join(".x07/deps/demo-lib/0.2.0/modules/extra.x07.json"),
        "{}",
    )
    .unwrap();
    let out = w.x07(p.path(), &["build"]);
    assert!(stderr(&out).contains("X07-LOCK-0003"), "{}", stderr(&out));
    w.ok(p.path(), &["pkg", "sync"]);
    assert_eq!(w.run_output(p.path()), "lib+util-0.1.1");
    w.ok(p.path(), &["pkg", "verify"]);
}

#[test]
fn locked_refuses_changes_and_check_reports_an_outdated_lock() {
    let w = World::new();
    let p = w.project("demo.lib");
    w.ok(p.path(), &["pkg", "add", "demo-lib@0.2.0", "--sync"]);
    let lock_before = fs_err::read(p.path().join("x07.lock.json")).unwrap();
    w.ok(p.path(), &["pkg", "add", "demo-util@0.1.0"]);

    let out = w.x07(p.path(), &["pkg", "lock", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("X07-LOCK-0002") && stderr(&out).contains("demo-util"),
        "{}",
        stderr(&out)
    );
    let out = w.x07(p.path(), &["build"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("X07-LOCK-0002") && stderr(&out).contains("x07 pkg lock"),
        "{}",
        stderr(&out)
    );
    let out = w.x07(p.path(), &["pkg", "lock", "--locked"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("X07-LOCK-0002")
            && err.contains("--locked")
            && err.contains("demo-util: 0.1.1 -> 0.1.0"),
        "{err}"
    );
    assert_eq!(
        fs_err::read(p.path().join("x07.lock.json")).unwrap(),
        lock_before,
        "--locked wrote nothing"
    );
    assert_eq!(deps_tree(p.path()).len(), 2, "--locked installed nothing");

    w.ok(p.path(), &["pkg", "lock"]);
    assert_eq!(
        locked(p.path()),
        [pair("demo-lib", "0.2.0"), pair("demo-util", "0.1.0")]
    );
    w.ok(p.path(), &["pkg", "lock", "--locked"]);
    w.ok(p.path(), &["pkg", "lock", "--check"]);
    assert_eq!(w.run_output(p.path()), "lib+util-0.1.0");
}

#[test]
fn offline_works_from_a_warm_cache_and_fails_clearly_when_cold() {
    let w = World::new();
    let first = w.project("demo.lib");
    w.ok(first.path(), &["pkg", "add", "demo-lib@0.2.0", "--sync"]);

    let second = w.project("demo.lib");
    w.ok(
        second.path(),
        &["pkg", "add", "demo-lib@0.2.0", "--sync", "--offline"],
    );
    assert_eq!(w.run_output(second.path()), "lib+util-0.1.1");
    fs_err::remove_dir_all(second.path().join(".x07/deps")).unwrap();
    w.ok(second.path(), &["pkg", "sync", "--offline"]);
    assert_eq!(w.run_output(second.path()), "lib+util-0.1.1");

    let cold = X07Home::new().unwrap();
    let third = w.project("demo.lib");
    let out = Command::new(x07_bin())
        .args(["pkg", "add", "demo-lib@0.2.0", "--sync", "--offline"])
        .current_dir(third.path())
        .env("X07_HOME", cold.path())
        .env("X07_PKG_INDEX_URL", &w.reg.index)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("X07-PKG-0006") && stderr(&out).contains("offline"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        read_json(third.path().join("x07.json"))["dependencies"],
        json!([]),
        "x07.json is untouched"
    );
}

#[test]
fn two_adds_at_once_both_land() {
    let w = World::new();
    w.publish(&PackageSpec {
        name: "demo-other",
        version: "1.0.0",
        requires: &[],
        module: "demo.other",
        text_body: json!(["bytes.lit", "other"]),
        imports: &[],
    });
    let p = w.project("demo.lib");
    std::thread::scope(|s| {
        let a = s.spawn(|| w.x07(p.path(), &["pkg", "add", "demo-lib@0.2.0", "--sync"]));
        let b = s.spawn(|| w.x07(p.path(), &["pkg", "add", "demo-other@1.0.0", "--sync"]));
        for out in [a.join().unwrap(), b.join().unwrap()] {
            assert!(out.status.success(), "{}", stderr(&out));
        }
    });
    let names: Vec<String> = read_json(p.path().join("x07.json"))["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["demo-lib", "demo-other"]);
    assert_eq!(
        locked(p.path()),
        [
            pair("demo-lib", "0.2.0"),
            pair("demo-other", "1.0.0"),
            pair("demo-util", "0.1.1")
        ]
    );
    w.ok(p.path(), &["pkg", "lock", "--check"]);
}

#[test]
fn requirements_write_project_0_6_and_removing_them_goes_back_to_0_5() {
    let w = World::new();
    let p = w.project("demo.util");
    w.ok(p.path(), &["pkg", "add", "demo-util@^0.1.0", "--sync"]);
    let manifest = read_json(p.path().join("x07.json"));
    assert_eq!(manifest["schema_version"], "x07.project@0.6.0");
    assert_eq!(
        manifest["dependencies"],
        json!([{"name": "demo-util", "version": "^0.1.0"}])
    );
    assert_eq!(locked(p.path()), [pair("demo-util", "0.1.1")]);
    assert_eq!(w.run_output(p.path()), "util-0.1.1");

    write_app(p.path(), "demo.util");
    w.ok(p.path(), &["pkg", "remove", "demo-util", "--sync"]);
    let manifest = read_json(p.path().join("x07.json"));
    assert_eq!(manifest["schema_version"], "x07.project@0.5.0");
    assert_eq!(manifest["dependencies"], json!([]));
    assert!(locked(p.path()).is_empty());
    assert!(deps_tree(p.path()).is_empty(), "the package tree is pruned");

    let out = w.x07(p.path(), &["pkg", "add", "demo-util@^7"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("X07-PKG-0008") && stderr(&out).contains("0.1.0, 0.1.1"),
        "{}",
        stderr(&out)
    );
    let out = w.x07(p.path(), &["pkg", "add", "no-such-pkg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("X07-PKG-0007") && stderr(&out).contains("no-such-pkg"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn add_keeps_the_users_key_order_and_style() {
    let w = World::new();
    let p = w.project("demo.util");
    let text = r#"{
  "schema_version": "x07.project@0.5.0",
  "world": "run-os",
  "entry": "src/main.x07.json",
  "module_roots": ["src"],
  "dependencies": [],
  "lockfile": "x07.lock.json"
}
"#;
    fs_err::write(p.path().join("x07.json"), text).unwrap();
    w.ok(p.path(), &["pkg", "add", "demo-util@0.1.0", "--sync"]);
    let after = fs_err::read_to_string(p.path().join("x07.json")).unwrap();
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&after)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "schema_version",
            "world",
            "entry",
            "module_roots",
            "dependencies",
            "lockfile"
        ]
    );
    assert!(after.lines().count() > 5, "still pretty-printed:\n{after}");
    assert!(after.contains(r#""name": "demo-util""#), "{after}");
    assert_eq!(w.run_output(p.path()), "util-0.1.0");
}

#[test]
fn a_signed_lock_verifies_and_a_tampered_one_does_not() {
    let w = World::new();
    let p = w.project("demo.lib");
    w.ok(p.path(), &["pkg", "add", "demo-lib@0.2.0", "--sync"]);
    let key = p.path().join("lock.pem");
    w.ok(
        p.path(),
        &["key", "generate", "--out", key.to_str().unwrap()],
    );
    w.ok(p.path(), &["pkg", "lock", "--sign", key.to_str().unwrap()]);
    assert_eq!(
        read_json(p.path().join("x07.lock.json"))["signature"]["kind"],
        "ed25519"
    );
    w.ok(
        p.path(),
        &["pkg", "verify-lock", "--key", key.to_str().unwrap()],
    );
    w.ok(p.path(), &["pkg", "lock", "--check"]);
    assert_eq!(w.run_output(p.path()), "lib+util-0.1.1");

    let path = p.path().join("x07.lock.json");
    let text = fs_err::read_to_string(&path).unwrap();
    fs_err::write(
        &path,
        text.replacen(r#""yanked":false"#, r#""yanked":true"#, 1),
    )
    .unwrap();
    let out = w.x07(
        p.path(),
        &["pkg", "verify-lock", "--key", key.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("X07-LOCK-0004"), "{}", stderr(&out));

    let other = p.path().join("other.pem");
    w.ok(
        p.path(),
        &["key", "generate", "--out", other.to_str().unwrap()],
    );
    fs_err::write(&path, text).unwrap();
    let out = w.x07(
        p.path(),
        &["pkg", "verify-lock", "--key", other.to_str().unwrap()],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "another key does not verify it: {}",
        stderr(&out)
    );
}

#[test]
fn yanked_versions_are_skipped_for_new_locks_but_keep_existing_ones_working() {
    let w = World::new();
    let p = w.project("demo.util");
    w.ok(p.path(), &["pkg", "add", "demo-util", "--sync"]);
    assert_eq!(locked(p.path()), [pair("demo-util", "0.1.1")]);
    w.ok(
        p.path(),
        &["pkg", "yank", "demo-util@0.1.1", "--index", &w.reg.index],
    );

    let versions =
        String::from_utf8(w.ok(p.path(), &["pkg", "versions", "demo-util"]).stdout).unwrap();
    assert_eq!(versions, "0.1.0\n0.1.1 (yanked)\n");
    w.ok(p.path(), &["pkg", "lock", "--check"]);
    assert_eq!(w.run_output(p.path()), "util-0.1.1");
    let out = w.ok(p.path(), &["pkg", "verify", "--online"]);
    assert!(
        stderr(&out).contains("warning: demo-util 0.1.1 has been yanked"),
        "{}",
        stderr(&out)
    );
    let out = w.x07(p.path(), &["pkg", "verify", "--online", "--deny-yanked"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // A lock whose archive digest differs from the registry's signed line is reported.
    let lock_path = p.path().join("x07.lock.json");
    let text = fs_err::read_to_string(&lock_path).unwrap();
    let digest = read_json(&lock_path)["dependencies"][0]["archive_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    fs_err::write(
        &lock_path,
        text.replace(&digest, &format!("sha256:{}", "0".repeat(64))),
    )
    .unwrap();
    w.ok(p.path(), &["pkg", "verify"]);
    let out = w.x07(p.path(), &["pkg", "verify", "--online"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("signed index line names archive"),
        "{}",
        stderr(&out)
    );
    fs_err::write(&lock_path, text).unwrap();

    let q = w.project("demo.util");
    w.ok(q.path(), &["pkg", "add", "demo-util", "--sync"]);
    assert_eq!(locked(q.path()), [pair("demo-util", "0.1.0")]);
    let out = w.x07(q.path(), &["pkg", "add", "demo-util@0.1.1"]);
    assert!(stderr(&out).contains("yanked"), "{}", stderr(&out));
}

#[test]
fn a_conflict_is_explained_and_leaves_the_project_alone() {
    let w = World::new();
    w.publish(&PackageSpec {
        name: "demo-new",
        version: "1.0.0",
        requires: &["demo-util@>=0.2.0"],
        module: "demo.new",
        text_body: json!(["bytes.lit", "new"]),
        imports: &[],
    });
    let p = w.project("demo.lib");
    w.ok(p.path(), &["pkg", "add", "demo-lib@0.2.0", "--sync"]);
    let before = (
        fs_err::read(p.path().join("x07.json")).unwrap(),
        fs_err::read(p.path().join("x07.lock.json")).unwrap(),
    );
    let out = w.x07(p.path(), &["pkg", "add", "demo-new@1.0.0", "--sync"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("X07-PKG-0007") && err.contains("demo-util") && err.contains("cannot resolve"),
        "{err}"
    );
    let after = (
        fs_err::read(p.path().join("x07.json")).unwrap(),
        fs_err::read(p.path().join("x07.lock.json")).unwrap(),
    );
    assert!(before == after, "x07.json and the lock are untouched");
}

#[test]
fn info_search_and_provides() {
    let w = World::new();
    let p = w.project("demo.lib");
    let info = String::from_utf8(w.ok(p.path(), &["pkg", "info", "demo-lib"]).stdout).unwrap();
    assert!(
        info.starts_with("demo-lib 0.2.0\n") && info.contains("requires: demo-util@^0.1"),
        "{info}"
    );
    let search = String::from_utf8(w.ok(p.path(), &["pkg", "search", "demo"]).stdout).unwrap();
    assert!(
        search.contains("demo-lib 0.2.0") && search.contains("demo-util 0.1.1"),
        "{search}"
    );
    let hits: serde_json::Value =
        serde_json::from_slice(&w.ok(p.path(), &["pkg", "search", "demo", "--json"]).stdout)
            .unwrap();
    assert!(
        hits["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["name"] == "demo-lib" && h["latest"] == "0.2.0"),
        "{hits:#}"
    );
    let provides =
        String::from_utf8(w.ok(p.path(), &["pkg", "provides", "demo.util"]).stdout).unwrap();
    assert_eq!(provides, "demo-util 0.1.1\n");
    w.ok(p.path(), &["pkg", "add", "demo-lib@0.2.0", "--sync"]);
    let provides =
        String::from_utf8(w.ok(p.path(), &["pkg", "provides", "demo.util"]).stdout).unwrap();
    assert_eq!(provides, "demo-util 0.1.1 (locked in this project)\n");
}

/// The registry's public key as its config.json offers it.
fn served_public_key(port: u16) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET /index/config.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    let config: Value = serde_json::from_str(body).unwrap();
    config["signing"]["public_keys"][0]["ed25519_pub"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_pinned_key_that_does_not_match_stops_everything_until_trust() {
    let w = World::new();
    let fresh = X07Home::new().unwrap();
    let p = w.project("demo.util");
    let x07 = |args: &[&str]| {
        Command::new(x07_bin())
            .args(args)
            .current_dir(p.path())
            .env("X07_HOME", fresh.path())
            .env("X07_PKG_INDEX_URL", &w.reg.index)
            .output()
            .unwrap()
    };
    let other_key = {
        let out = w.ok(
            p.path(),
            &[
                "key",
                "generate",
                "--json",
                "--out",
                p.path().join("k.pem").to_str().unwrap(),
            ],
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["public_key"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let out = x07(&["registry", "trust", "--key", &other_key]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = x07(&["pkg", "add", "demo-util", "--sync"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("X07-PKG-0006") && err.contains("key"), "{err}");
    assert_eq!(
        read_json(p.path().join("x07.json"))["dependencies"],
        json!([])
    );

    let out = x07(&["registry", "trust", "--key", &served_public_key(w.reg.port)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = x07(&["pkg", "add", "demo-util", "--sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(locked(p.path()), [pair("demo-util", "0.1.1")]);
}

#[test]
fn a_local_package_is_locked_by_path_and_its_registry_dependencies_resolved() {
    let w = World::new();
    let p = w.project("demo.local");
    let dir = write_package(
        p.path(),
        &PackageSpec {
            name: "demo-local",
            version: "0.3.0",
            requires: &["demo-util@^0.1"],
            module: "demo.local",
            text_body: json!(["bytes.concat", ["bytes.lit", "local+"], ["demo.util.text"]]),
            imports: &["demo.util"],
        },
    );
    let rel = dir
        .strip_prefix(p.path())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    w.ok(
        p.path(),
        &["pkg", "add", "demo-local", "--path", &rel, "--sync"],
    );
    assert_eq!(
        read_json(p.path().join("x07.json"))["dependencies"],
        json!([{"name": "demo-local", "path": rel, "version": "0.3.0"}])
    );
    let lock = read_json(p.path().join("x07.lock.json"));
    assert_eq!(lock["dependencies"][0]["source"], "path");
    assert_eq!(lock["dependencies"][1]["name"], "demo-util");
    assert_eq!(lock["dependencies"][1]["source"], "registry");
    assert_eq!(w.run_output(p.path()), "local+util-0.1.1");

    // Editing the local package is a change the lock must record before builds use it.
    let module = dir.join("modules/demo/local.x07.json");
    let text = fs_err::read_to_string(&module)
        .unwrap()
        .replace("local+", "LOCAL+");
    fs_err::write(&module, text).unwrap();
    let out = w.x07(p.path(), &["build"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("X07-LOCK-0003") && stderr(&out).contains("x07 pkg lock"),
        "{}",
        stderr(&out)
    );
    let out = w.x07(p.path(), &["pkg", "sync"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "sync never re-records a local package: {}",
        stderr(&out)
    );
    w.ok(p.path(), &["pkg", "lock"]);
    assert_eq!(w.run_output(p.path()), "LOCAL+util-0.1.1");
}

#[test]
fn patch_overrides_are_refused_as_not_supported_yet() {
    let w = World::new();
    let p = w.project("demo.util");
    let path = p.path().join("x07.json");
    let mut m = read_json(&path);
    m["patch"] = json!({"demo-util": {"version": "^0.1"}});
    fs_err::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    for args in [&["pkg", "lock"][..], &["build"][..]] {
        let out = w.x07(p.path(), args);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("X07-PKG-0010") && stderr(&out).contains("not supported yet"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_local_package_outside_the_project_is_recorded_against_the_workspace() {
    let w = World::new();
    let ws = tempfile::tempdir().unwrap();
    fs_err::create_dir(ws.path().join(".git")).unwrap();
    let app = ws.path().join("apps/app");
    fs_err::create_dir_all(&app).unwrap();
    w.ok(&app, &["init"]);
    write_app(&app, "demo.near");
    let dir = write_package(
        &ws.path().join("libs"),
        &PackageSpec {
            name: "demo-near",
            version: "0.1.0",
            requires: &[],
            module: "demo.near",
            text_body: json!(["bytes.lit", "near"]),
            imports: &[],
        },
    );
    w.ok(
        &app,
        &[
            "pkg",
            "add",
            "demo-near",
            "--path",
            "../../libs/demo-near-0.1.0",
            "--sync",
        ],
    );
    let recorded = "$workspace/libs/demo-near-0.1.0";
    assert_eq!(
        read_json(app.join("x07.json"))["dependencies"],
        json!([{"name": "demo-near", "path": recorded, "version": "0.1.0"}])
    );
    let lock = read_json(app.join("x07.lock.json"));
    assert_eq!(lock["dependencies"][0]["path"], recorded);
    assert_eq!(lock["dependencies"][0]["source"], "path");
    assert_eq!(w.run_output(&app), "near");

    // edits are locked by digest: builds refuse them until `pkg lock` records them
    let module = dir.join("modules/demo/near.x07.json");
    let text = fs_err::read_to_string(&module)
        .unwrap()
        .replace("\"near\"", "\"NEAR\"");
    fs_err::write(&module, text).unwrap();
    let out = w.x07(&app, &["build"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("X07-LOCK-0003"), "{}", stderr(&out));
    w.ok(&app, &["pkg", "lock"]);
    assert_eq!(w.run_output(&app), "NEAR");

    // without a git repository the workspace is X07_WORKSPACE_ROOT, or nothing
    fs_err::remove_dir(ws.path().join(".git")).unwrap();
    let out = w.x07(&app, &["build"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("X07_WORKSPACE_ROOT") && stderr(&out).contains(recorded),
        "{}",
        stderr(&out)
    );
    let with_root = |args: &[&str]| {
        Command::new(x07_bin())
            .args(args)
            .current_dir(&app)
            .env("X07_HOME", w.home.path())
            .env("X07_PKG_INDEX_URL", &w.reg.index)
            .env("X07_WORKSPACE_ROOT", ws.path())
            .output()
            .unwrap()
    };
    let out = with_root(&["build"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // a directory outside the workspace is refused, and x07.json stays as it was
    let elsewhere = tempfile::tempdir().unwrap();
    let far = write_package(
        elsewhere.path(),
        &PackageSpec {
            name: "demo-far",
            version: "0.1.0",
            requires: &[],
            module: "demo.far",
            text_body: json!(["bytes.lit", "far"]),
            imports: &[],
        },
    );
    let before = fs_err::read(app.join("x07.json")).unwrap();
    let out = with_root(&["pkg", "add", "demo-far", "--path", far.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("outside the workspace root")
            && stderr(&out).contains("X07_WORKSPACE_ROOT"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs_err::read(app.join("x07.json")).unwrap(), before);
}

#[test]
fn a_package_that_provides_a_builtin_std_module_is_used_and_pkg_tree_says_so() {
    // the public ext-fs provides std.os.fs; here a local package provides std.fmt
    let w = World::new();
    let p = w.project("std.fmt");
    let dir = write_package(
        p.path(),
        &PackageSpec {
            name: "fmt-override",
            version: "0.1.0",
            requires: &[],
            module: "std.fmt",
            text_body: json!(["bytes.lit", "the-package-fmt"]),
            imports: &[],
        },
    );
    let rel = dir
        .strip_prefix(p.path())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    w.ok(
        p.path(),
        &["pkg", "add", "fmt-override", "--path", &rel, "--sync"],
    );
    // std.fmt.text exists only in the package's std.fmt, not in the built-in one
    assert_eq!(w.run_output(p.path()), "the-package-fmt");
    let tree = String::from_utf8(w.ok(p.path(), &["pkg", "tree"]).stdout).unwrap();
    assert!(
        tree.contains("fmt-override 0.1.0") && tree.contains("[replaces built-in std.fmt]"),
        "{tree}"
    );
    let json_tree: serde_json::Value =
        serde_json::from_slice(&w.ok(p.path(), &["pkg", "tree", "--json"]).stdout).unwrap();
    assert_eq!(
        json_tree["packages"][0]["replaces_builtin"],
        json!(["std.fmt"])
    );
}
