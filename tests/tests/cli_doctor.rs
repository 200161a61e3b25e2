//! `x07 doctor` end to end: each check's failure made to happen (a PATH without a C compiler, a
//! project linking a library whose development files are absent, qemu missing for a project
//! whose default profile boots guests, no guest image, an unreachable package index), the exact
//! fix printed for each, and the exit code that says whether the default profile is blocked.

mod common;

use common::{expect_exit, stdout, stdout_json, InitProject};
use serde_json::{json, Value};
use x07_tests::{X07Invocation, X07Output};

fn doctor(inv: X07Invocation) -> (X07Output, Value) {
    let out = inv.args(["doctor", "--json"]).run().unwrap();
    assert!(!out.timed_out, "{}", out.describe());
    let report = stdout_json(&out);
    assert_eq!(report["schema_version"], "x07.doctor.report@0.1.0");
    (out, report)
}

fn find<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

/// An index nothing listens on (port 9 of the loopback: discard, closed here).
const DEAD_INDEX: &str = "sparse+http://127.0.0.1:9/index/";

#[test]
fn outside_a_project_the_init_defaults_are_checked_and_nothing_blocks_here() {
    let p = InitProject::new();
    let empty = p.scratch().join("empty");
    fs_err::create_dir(&empty).unwrap();
    let (out, report) = doctor(
        p.x07()
            .current_dir(&empty)
            .env("X07_PKG_INDEX_URL", DEAD_INDEX),
    );
    expect_exit(&out, 0);
    assert_eq!(report["project"], Value::Null);
    assert_eq!(report["world"], "run-os");
    assert_eq!(report["blocked"], false);
    for id in [
        "cc",
        "libc-headers",
        "userns",
        "landlock",
        "seccomp",
        "qemu",
        "musl",
    ] {
        assert_eq!(find(&report, id)["status"], "ok", "{id}: {report:#}");
    }
    // a fresh home has no guest image: not needed by init's defaults, so a warning with its fix
    let image = find(&report, "guest-image");
    assert_eq!(image["status"], "warn");
    assert_eq!(image["fix"], "x07 vm image build");
    // the registry: unreachable, explained, never blocking
    let registry = find(&report, "registry");
    assert_eq!(registry["status"], "warn");
    let fix = registry["fix"].as_str().unwrap();
    for needle in ["--index", "X07_PKG_INDEX_URL", "x07 registry serve"] {
        assert!(fix.contains(needle), "{fix}");
    }
}

#[test]
fn a_path_without_a_c_compiler_blocks_and_names_the_packages() {
    let p = InitProject::new();
    let bare = p.scratch().join("bin");
    fs_err::create_dir(&bare).unwrap();
    let inv = || {
        p.x07()
            .env("PATH", &bare)
            .env("CC", "")
            .env("X07_CC", "")
            .env("X07_PKG_INDEX_URL", DEAD_INDEX)
    };
    let (out, report) = doctor(inv());
    expect_exit(&out, 1);
    assert_eq!(report["blocked"], true);
    let cc = find(&report, "cc");
    assert_eq!(cc["status"], "fail");
    assert_eq!(cc["blocks"], true);
    assert!(cc["fix"]
        .as_str()
        .unwrap()
        .contains("apt-get install gcc libc6-dev"));
    assert_eq!(find(&report, "libc-headers")["status"], "skipped");
    // the table for people says the same
    let out = inv().arg("doctor").run().unwrap();
    expect_exit(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("FAIL") && text.contains("apt-get install gcc libc6-dev"),
        "{text}"
    );
    assert!(text.contains("block the default profile"), "{text}");
}

#[test]
fn a_library_without_its_development_files_blocks_with_the_package_to_install() {
    let p = InitProject::new();
    p.edit_manifest(|m| m["link"] = json!({"libs": ["x07doctorabsent", "curl"]}));
    let (out, report) = doctor(p.x07().env("X07_PKG_INDEX_URL", DEAD_INDEX));
    expect_exit(&out, 1);
    let absent = find(&report, "native-lib:x07doctorabsent");
    assert_eq!(absent["status"], "fail", "{report:#}");
    assert_eq!(absent["blocks"], true);
    assert!(absent["fix"]
        .as_str()
        .unwrap()
        .contains("libx07doctorabsent"));
    // libcurl's headers are installed (.ci/run installs libcurl4-openssl-dev)
    let curl = find(&report, "native-lib:curl");
    assert_eq!(curl["status"], "ok", "{report:#}");
    assert!(curl["detail"].as_str().unwrap().contains("curl/curl.h"));
}

#[test]
fn a_default_profile_that_boots_guests_is_blocked_by_a_missing_qemu_and_image() {
    let p = InitProject::new();
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    p.edit_manifest(|m| m["default_profile"] = json!("sandbox"));
    let (out, report) = doctor(
        p.x07()
            .env("X07_QEMU", p.scratch().join("no-qemu-here"))
            .env("X07_PKG_INDEX_URL", DEAD_INDEX),
    );
    expect_exit(&out, 1);
    assert_eq!(report["world"], "run-os-sandboxed");
    assert_eq!(report["sandbox_backend"], "vm");
    let qemu = find(&report, "qemu");
    assert_eq!(
        (qemu["status"].as_str(), qemu["blocks"].as_bool()),
        (Some("fail"), Some(true))
    );
    assert_eq!(qemu["fix"], "apt-get install qemu-system-x86");
    let image = find(&report, "guest-image");
    assert_eq!(image["status"], "fail");
    assert_eq!(image["fix"], "x07 vm image build");
    // KVM never blocks: guests fall back to TCG
    assert_eq!(find(&report, "kvm")["blocks"], false);
}

#[test]
fn a_missing_library_is_a_setup_error_with_a_report_naming_the_package() {
    let p = InitProject::new();
    p.edit_manifest(|m| m["link"] = json!({"libs": ["x07doctorabsent"]}));
    let out = p.x07().args(["run", "--input-b64", "aGk="]).run().unwrap();
    expect_exit(&out, 2);
    let err = common::stderr(&out);
    assert!(err.contains("error[X07-CC-0003]"), "{}", out.describe());
    assert!(
        err.contains("-lx07doctorabsent") && err.contains("libx07doctorabsent"),
        "{err}"
    );
    assert!(!err.contains("x07 bug"), "{err}");
    let report = stdout_json(&out);
    assert_eq!(report["compile"]["ok"], false, "{report:#}");
    let compile_error = report["compile"]["compile_error"].as_str().unwrap();
    assert!(compile_error.starts_with("X07-CC-0003"), "{compile_error}");
}
