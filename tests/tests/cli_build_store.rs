//! `x07 build` and the content-addressed store: store paths, cache hits, what changes a path and
//! what does not, reproducibility across directories and homes, `build --check`, and
//! `x07 store path|ls|verify|gc`; plus `x07 fmt` / `x07 fmt --check`.
//!
//! Every test has its own `X07_HOME` and project directory. Set `X07_BIN` to test another build.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use common::{
    app_module, canonical_file, expect_exit, expect_stderr, is_canonical_file, last_stdout_line,
    pretty, run, sha256_file, stdout, stdout_json, x07_in, InitProject,
};

/// `x07 build` (plus `extra` flags); returns the store path it printed last.
#[track_caller]
fn build(p: &InitProject, extra: &[&str]) -> PathBuf {
    let out = run(p.x07().arg("build").args(extra));
    expect_exit(&out, 0);
    PathBuf::from(last_stdout_line(&out))
}

/// `x07 build --json` (plus `extra` flags), parsed.
#[track_caller]
fn build_json(p: &InitProject, extra: &[&str]) -> Value {
    let out = run(p.x07().args(["build", "--json"]).args(extra));
    expect_exit(&out, 0);
    stdout_json(&out)
}

/// The binary of a store entry, named by its `build.json` (`output.file`).
fn entry_binary(entry: &Path) -> PathBuf {
    let record: Value =
        serde_json::from_slice(&fs_err::read(entry.join("build.json")).unwrap()).unwrap();
    let file = record["output"]["file"]
        .as_str()
        .unwrap_or_else(|| panic!("build.json has no output.file: {record:#}"));
    entry.join(file)
}

/// An echo module that prefixes its output, so its code differs from the `x07 init` module.
fn prefixing_app() -> Value {
    app_module(
        &[],
        json!([
            "bytes.concat",
            ["bytes.lit", "pre:"],
            ["view.to_bytes", "b"]
        ]),
    )
}

#[test]
fn build_prints_the_store_path_holding_binary_and_canonical_record() {
    let p = InitProject::new();
    let entry = build(&p, &[]);
    let store = p.home.path().join("store");
    assert_eq!(
        entry.parent(),
        Some(store.as_path()),
        "the store path should be an entry of $X07_HOME/store: {}",
        entry.display()
    );
    assert!(entry.is_dir(), "{} should exist", entry.display());

    let record_bytes = fs_err::read(entry.join("build.json")).unwrap();
    assert!(
        is_canonical_file(&record_bytes),
        "build.json should be canonical JSON plus a newline:\n{}",
        String::from_utf8_lossy(&record_bytes)
    );
    let record: Value = serde_json::from_slice(&record_bytes).unwrap();
    let binary = entry_binary(&entry);
    assert!(
        binary.is_file(),
        "the entry should hold the binary {}",
        binary.display()
    );
    assert_eq!(
        record["output"]["sha256"],
        format!("sha256:{}", sha256_file(&binary)),
        "build.json output.sha256 vs the binary: {record:#}"
    );
    assert_eq!(
        record["output"]["size"],
        fs_err::metadata(&binary).unwrap().len(),
        "{record:#}"
    );
    assert_eq!(
        common::store_entries(p.home.path()).len(),
        1,
        "one build, one entry"
    );
}

#[test]
fn second_build_is_a_cache_hit_with_the_same_path() {
    let p = InitProject::new();
    let first = build_json(&p, &[]);
    assert_eq!(
        first["cache_hit"], false,
        "a fresh home cannot hit: {first:#}"
    );
    let second = build_json(&p, &[]);
    assert_eq!(second["cache_hit"], true, "{second:#}");
    assert_eq!(
        second["store_path"], first["store_path"],
        "{first:#}\n{second:#}"
    );
    assert_eq!(second["output_sha256"], first["output_sha256"]);
    assert_eq!(
        build(&p, &[]).display().to_string(),
        first["store_path"].as_str().unwrap(),
        "plain build prints the same path"
    );
}

#[test]
fn changing_a_module_changes_the_path() {
    let p = InitProject::new();
    let before = build(&p, &[]);
    p.write("src/app.x07.json", &canonical_file(&prefixing_app()));
    let after = build(&p, &[]);
    assert_ne!(before, after, "a changed module must give a new store path");
    assert!(before.is_dir(), "the earlier entry stays in the store");
    let out = p.run_x07(["run", "--input-b64", "aGk="]);
    expect_exit(&out, 0);
    assert_eq!(
        common::solve_output(&out),
        b"pre:hi",
        "the run uses the new build"
    );
}

#[test]
fn reformatting_a_module_keeps_the_path() {
    let p = InitProject::new();
    let canonical_path = build(&p, &[]);
    let app = p.read_json("src/app.x07.json");
    p.write("src/app.x07.json", &pretty(&app));
    let out = run(p.x07().args(["build", "--json"]));
    expect_exit(&out, 0);
    let r = stdout_json(&out);
    assert_eq!(
        r["store_path"],
        canonical_path.display().to_string(),
        "pretty vs canonical must not matter: {r:#}"
    );
    assert_eq!(r["cache_hit"], true, "{r:#}");
}

#[test]
fn cc_profile_size_changes_the_path() {
    let p = InitProject::new();
    let default = build(&p, &[]);
    let size = build(&p, &["--cc-profile", "size"]);
    assert_ne!(default, size, "--cc-profile size is a different derivation");
    assert_eq!(
        build(&p, &["--cc-profile", "default"]),
        default,
        "--cc-profile default is the default"
    );
}

#[test]
fn same_project_elsewhere_with_another_home_builds_identical_bytes() {
    let p = InitProject::new();
    p.write_app(&prefixing_app());
    let here = build(&p, &[]);

    let q = InitProject::new();
    for file in [
        "x07.json",
        "x07.lock.json",
        "src/main.x07.json",
        "src/app.x07.json",
    ] {
        q.write(file, &p.read(file));
    }
    let there = build(&q, &[]);
    assert_ne!(p.home.path(), q.home.path());
    assert_eq!(
        here.file_name(),
        there.file_name(),
        "the same inputs should give the same derivation name"
    );
    let (a, b) = (entry_binary(&here), entry_binary(&there));
    assert_eq!(
        sha256_file(&a),
        sha256_file(&b),
        "binaries differ: {} vs {}",
        a.display(),
        b.display()
    );
    assert_eq!(fs_err::read(&a).unwrap(), fs_err::read(&b).unwrap());
}

#[test]
fn build_check_succeeds() {
    let p = InitProject::new();
    let out = p.run_x07(["build", "--check"]);
    expect_exit(&out, 0);
    let path = last_stdout_line(&out);
    assert!(
        Path::new(&path).is_dir(),
        "build --check still prints the store path\n{}",
        out.describe()
    );
    let r = build_json(&p, &["--check"]);
    assert_eq!(r["ok"], true, "{r:#}");
    assert_eq!(r["check"]["identical"], true, "{r:#}");
    assert_eq!(r["check"]["scratch_sha256"], r["output_sha256"], "{r:#}");
    assert_eq!(
        common::store_entries(p.home.path()).len(),
        1,
        "the check rebuild must not land in the user's store"
    );
}

#[test]
fn store_path_before_and_after_build() {
    let p = InitProject::new();
    let out = p.run_x07(["store", "path"]);
    expect_exit(&out, 1);
    assert!(
        stdout(&out).trim().is_empty(),
        "no path before a build\n{}",
        out.describe()
    );
    assert!(
        common::store_entries(p.home.path()).is_empty(),
        "store path must not build"
    );

    let built = build(&p, &[]);
    let out = p.run_x07(["store", "path"]);
    expect_exit(&out, 0);
    assert_eq!(last_stdout_line(&out), built.display().to_string());

    let out = p.run_x07(["store", "path", "--cc-profile", "size"]);
    expect_exit(&out, 1);
}

#[test]
fn store_ls_lists_the_entry() {
    let p = InitProject::new();
    let out = p.run_x07(["store", "ls"]);
    expect_exit(&out, 0);
    assert!(
        stdout(&out).trim().is_empty(),
        "an empty store lists nothing\n{}",
        out.describe()
    );

    let built = build(&p, &[]);
    let out = p.run_x07(["store", "ls"]);
    expect_exit(&out, 0);
    // the trusted launcher every build uses is a store entry of its own
    let listed: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| !l.ends_with("-x07-launch"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        listed,
        vec![built.display().to_string()],
        "{}",
        out.describe()
    );

    let out = p.run_x07(["store", "ls", "--json"]);
    expect_exit(&out, 0);
    let r = stdout_json(&out);
    // entries are listed by hash, so the launcher may come first or second
    let paths: Vec<&str> = r["entries"]
        .as_array()
        .expect("entries is an array")
        .iter()
        .filter(|e| e["name"] != "x07-launch")
        .map(|e| e["path"].as_str().expect("path is a string"))
        .collect();
    assert_eq!(paths, vec![built.display().to_string()], "{r:#}");
}

#[test]
fn store_verify_detects_a_tampered_binary() {
    let p = InitProject::new();
    let entry = build(&p, &[]);
    let out = p.run_x07(["store", "verify"]);
    expect_exit(&out, 0);

    let binary = entry_binary(&entry);
    let mut perms = fs_err::metadata(&binary).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs_err::set_permissions(&binary, perms).unwrap();
    let mut bytes = fs_err::read(&binary).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs_err::write(&binary, &bytes).unwrap();

    let out = p.run_x07(["store", "verify"]);
    expect_exit(&out, 1);
    let name = entry.file_name().unwrap().to_string_lossy().into_owned();
    expect_stderr(&out, "X07-STORE-0002", &[&name]);
}

#[test]
fn store_gc_keeps_entries_of_live_projects_only() {
    let p = InitProject::new();
    let entry = build(&p, &[]);
    let out = p.run_x07(["store", "gc"]);
    expect_exit(&out, 0);
    assert!(
        entry.is_dir(),
        "gc must keep the entry while its project exists\n{}",
        out.describe()
    );

    // The project directory goes away; run gc from elsewhere with the same home.
    fs_err::remove_dir_all(p.root()).unwrap();
    let out = run(x07_in(&p.home, p.scratch()).args(["store", "gc"]));
    expect_exit(&out, 0);
    assert!(
        !entry.exists(),
        "gc should remove {} once its project is gone\n{}",
        entry.display(),
        out.describe()
    );
    assert!(
        common::store_entries(p.home.path()).is_empty(),
        "{:?}",
        common::store_entries(p.home.path())
    );
}

#[test]
fn fmt_check_fails_on_a_pretty_file_until_fmt_runs() {
    let p = InitProject::new();
    let out = p.run_x07(["fmt", "--check"]);
    expect_exit(&out, 0);

    let app = p.read_json("src/app.x07.json");
    let pretty_bytes = pretty(&app);
    p.write("src/app.x07.json", &pretty_bytes);
    let out = p.run_x07(["fmt", "--check"]);
    expect_exit(&out, 1);
    expect_stderr(&out, "X07-FMT-0001", &["app.x07.json"]);
    assert_eq!(
        p.read("src/app.x07.json"),
        pretty_bytes,
        "--check must not write"
    );

    let out = p.run_x07(["fmt"]);
    expect_exit(&out, 0);
    assert_eq!(p.read("src/app.x07.json"), canonical_file(&app));
    let out = p.run_x07(["fmt", "--check"]);
    expect_exit(&out, 0);
}
