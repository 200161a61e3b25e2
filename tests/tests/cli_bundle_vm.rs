//! VM bundles end to end with real qemu: `x07 bundle --profile sandbox` with the default backend
//! writes `dist/app` (x07-vm-launcher with its pins) and `dist/app.vm/`; moved to a fresh
//! directory the bundle runs its sealed payload in a guest without x07 (the write root's file
//! arrives on the host, nothing outside the roots does), `inspect` and `verify --key --rebuild`
//! cover it,
//! and every pinned file — kernel, initramfs, image manifest, payload, policy, x07-launch,
//! manifest, signature — changed, removed or joined by an unpinned file is refused before boot,
//! whatever the environment says. The kernel package is fetched by `x07 vm image build` (apt),
//! or taken from `X07_TEST_KERNEL_DEB`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{expect_exit, stderr, stdout_json, InitProject};
use serde_json::Value;
use x07_tests::{X07Invocation, X07Output};

/// Runs of the bundle: a boot under TCG costs seconds.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);
/// The exit code of a refused bundle (vm-launcher/src/main.rs).
const REFUSED: i32 = 125;

fn build_image(p: &InitProject) {
    let mut inv = p.x07().args(["vm", "image", "build"]);
    if let Some(deb) = std::env::var_os("X07_TEST_KERNEL_DEB") {
        inv = inv.arg("--kernel-deb").arg(deb);
    }
    let out = inv.timeout(Duration::from_secs(600)).run().unwrap();
    expect_exit(&out, 0);
}

/// A project whose program writes its first argument to `out/in.bin` (a write root of the cli
/// template) and to `<outside>/escape.bin`, says `in=<rc> esc=<rc>`, bundled signed into
/// `<scratch>/dist/app` with the default backend; the key's public half and the report.
struct VmBundle {
    p: InitProject,
    exe: PathBuf,
    outside: PathBuf,
    public_key: PathBuf,
    report: Value,
}

impl VmBundle {
    fn new() -> Self {
        let p = InitProject::new();
        expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
        build_image(&p);
        let key = p.run_x07(["key", "generate", "--json"]);
        expect_exit(&key, 0);
        let public_key = PathBuf::from(stdout_json(&key)["public_key_path"].as_str().unwrap());
        let outside = p.scratch().join("outside");
        fs_err::create_dir(&outside).unwrap();
        let escape = outside.join("escape.bin").display().to_string();
        p.write_app(&common::write_in_and_escape_app(&escape));
        let exe = p.scratch().join("dist/app");
        let out = p
            .x07()
            .args(["bundle", "--profile", "sandbox", "--out"])
            .arg(&exe)
            .timeout(Duration::from_secs(300))
            .run()
            .unwrap();
        expect_exit(&out, 0);
        let report = stdout_json(&out);
        Self {
            p,
            exe,
            outside,
            public_key,
            report,
        }
    }

    fn sidecar(&self) -> PathBuf {
        PathBuf::from(format!("{}.vm", self.exe.display()))
    }

    /// Runs the bundle in `cwd` with one argument.
    fn run(&self, cwd: &Path, envs: &[(&str, &str)]) -> X07Output {
        let mut inv = X07Invocation::new(&self.exe)
            .arg("hello-vm")
            .current_dir(cwd)
            .timeout(RUN_TIMEOUT);
        for (k, v) in envs {
            inv = inv.env(k, v);
        }
        let out = inv.run().expect("start the bundle");
        assert!(!out.timed_out, "the bundle hung\n{}", out.describe());
        out
    }
}

#[test]
fn a_vm_bundle_runs_in_a_guest_from_a_fresh_directory() {
    let b = VmBundle::new();
    let bundle = &b.report["bundle"];
    assert_eq!(bundle["kind"], "vm", "{bundle:#}");
    assert_eq!(bundle["sandbox_backend"], "vm");
    assert_eq!(
        bundle["guest"]["manifest_schema"],
        "x07.vm.bundle.manifest@0.3.0"
    );
    assert_eq!(bundle["guest"]["signed"], true);
    let manifest: Value =
        serde_json::from_slice(&fs_err::read(b.sidecar().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["guest_digest"], bundle["guest"]["guest_digest"]);
    for key in [
        "payload_file",
        "policy_file",
        "image_manifest",
        "kernel",
        "initramfs",
    ] {
        let sha = manifest[key]["sha256"].as_str().unwrap();
        let file = b.sidecar().join(manifest[key]["path"].as_str().unwrap());
        let want = format!("sha256:{}", common::sha256_file(&file));
        assert_eq!(sha, want, "{key} pinned by its sha256");
    }

    // moved (launcher and sidecar) to a fresh directory, run there with its own write root
    // (moved, not copied: the sidecar holds a 66 MB kernel and CI disks can be short)
    let fresh = b.p.scratch().join("fresh");
    fs_err::create_dir_all(fresh.join("out")).unwrap();
    let exe = fresh.join("app");
    fs_err::rename(&b.exe, &exe).unwrap();
    fs_err::rename(b.sidecar(), fresh.join("app.vm")).unwrap();
    let moved = VmBundle { exe, ..b };
    let out = moved.run(&fresh, &[]);
    assert_eq!(out.exit_code, Some(0), "{}", out.describe());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("in=0 esc="), "{}", out.describe());
    assert_ne!(
        said.trim(),
        "in=0 esc=0",
        "the write outside the roots succeeded"
    );
    assert!(fs_err::read(fresh.join("out/in.bin"))
        .unwrap()
        .ends_with(b"hello-vm"));
    assert!(
        !moved.outside.join("escape.bin").exists(),
        "a file arrived outside the roots"
    );

    // inspect and verify --key cover the sidecar
    let o = moved
        .p
        .x07()
        .args(["bundle", "inspect", "--json"])
        .arg(&moved.exe)
        .run()
        .unwrap();
    expect_exit(&o, 0);
    let ins = stdout_json(&o);
    assert_eq!(ins["kind"], "vm");
    assert_eq!(ins["vm"]["manifest"]["backend"], "qemu");
    let o = moved
        .p
        .x07()
        .args(["bundle", "verify"])
        .arg(&moved.exe)
        .arg("--key")
        .arg(&moved.public_key)
        .arg("--rebuild")
        .timeout(Duration::from_secs(300))
        .run()
        .unwrap();
    expect_exit(&o, 0);
    assert!(
        common::stdout(&o).contains("rebuilt byte for byte"),
        "{}",
        o.describe()
    );
}

/// Changes one byte of `path` (the first character of a signature, to another valid base64
/// one, so the signature still decodes and must fail to verify; else the last byte); the
/// original bytes.
fn tamper(path: &Path) -> Vec<u8> {
    let original = fs_err::read(path).unwrap();
    let mut changed = original.clone();
    if path.extension().is_some_and(|e| e == "sig") {
        changed[0] = if changed[0] == b'A' { b'B' } else { b'A' };
    } else {
        *changed.last_mut().unwrap() ^= 0x01;
    }
    use std::os::unix::fs::PermissionsExt as _;
    let mode = fs_err::metadata(path).unwrap().permissions().mode();
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode | 0o200)).unwrap();
    fs_err::write(path, &changed).unwrap();
    original
}

#[track_caller]
fn expect_refused(out: &X07Output, names: &Path) {
    assert_eq!(out.exit_code, Some(REFUSED), "{}", out.describe());
    let err = stderr(out);
    assert!(
        err.contains(&names.display().to_string()) && err.starts_with("x07-vm-launcher: "),
        "the refusal must name {}\n{}",
        names.display(),
        out.describe()
    );
    assert!(out.stdout.is_empty(), "the payload ran\n{}", out.describe());
}

#[test]
fn every_pinned_file_changed_is_refused_before_boot_whatever_the_environment_says() {
    let b = VmBundle::new();
    let cwd = b.p.scratch().join("run");
    fs_err::create_dir_all(cwd.join("out")).unwrap();
    // what a user of the public toolchain would try: none of it skips a pin
    let bypass = [
        ("X07_I_ACCEPT_WEAKER_ISOLATION", "1"),
        ("X07_VM_GUEST_IMAGE_DIGEST", ""),
        ("X07_SANDBOX_BACKEND", "os"),
    ];
    for rel in [
        "image/vmlinux",
        "image/initramfs.cpio",
        "image/x07-guest-image",
        "payload",
        "policy.json",
        "deps/x07-launch",
        "manifest.json",
        "manifest.sig",
    ] {
        let path = b.sidecar().join(rel);
        let original = tamper(&path);
        let out = b.run(&cwd, &bypass);
        expect_refused(&out, &path);
        fs_err::write(&path, &original).unwrap();
        assert!(
            !cwd.join("out/in.bin").exists(),
            "{rel} changed and the payload ran"
        );
    }
    // a file nothing pins, and a signature removed
    let extra = b.sidecar().join("image/extra.ko");
    fs_err::write(&extra, b"not pinned").unwrap();
    expect_refused(&b.run(&cwd, &bypass), &extra);
    fs_err::remove_file(&extra).unwrap();
    let sig = b.sidecar().join("manifest.sig");
    let sig_bytes = fs_err::read(&sig).unwrap();
    fs_err::remove_file(&sig).unwrap();
    expect_refused(&b.run(&cwd, &bypass), &sig);
    fs_err::write(&sig, &sig_bytes).unwrap();
    // restored, the same bundle runs
    let out = b.run(&cwd, &[]);
    assert_eq!(out.exit_code, Some(0), "{}", out.describe());
    assert!(cwd.join("out/in.bin").exists());
    // verify names the changed payload too
    let payload = b.sidecar().join("payload");
    let original = tamper(&payload);
    let o =
        b.p.x07()
            .args(["bundle", "verify"])
            .arg(&b.exe)
            .run()
            .unwrap();
    assert_ne!(o.exit_code, Some(0), "{}", o.describe());
    assert!(
        stderr(&o).contains(&payload.display().to_string()),
        "{}",
        o.describe()
    );
    fs_err::write(&payload, &original).unwrap();
}
