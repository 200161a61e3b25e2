//! The vm backend end to end with real qemu (installed by .ci/run; the kernel package fetched by
//! `x07 vm image build`, or taken from `X07_TEST_KERNEL_DEB`): `x07 run --profile sandbox` with
//! no backend flags runs the walkthrough's steps 2 and 3 in a fresh guest, the write root's file
//! arrives on the host, and a pinned digest that does not match refuses to boot.

mod common;
mod common_sandbox {
    #![allow(dead_code)]
    pub mod listener;
}

use common::{expect_exit, expect_stderr, solve_output, stdout_json, InitProject};
use common_sandbox::listener::LoopbackListener;
use serde_json::json;

fn build_image(p: &InitProject) -> String {
    let mut inv = p.x07().args(["vm", "image", "build", "--json"]);
    if let Some(deb) = std::env::var_os("X07_TEST_KERNEL_DEB") {
        inv = inv.arg("--kernel-deb").arg(deb);
    }
    let out = inv
        .timeout(std::time::Duration::from_secs(600))
        .run()
        .unwrap();
    expect_exit(&out, 0);
    stdout_json(&out)["digest"].as_str().unwrap().to_string()
}

#[test]
fn walkthrough_steps_run_in_a_guest_with_no_backend_flags() {
    let p = InitProject::new();
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    let digest = build_image(&p);

    // step 2: echo
    let out = p.run_x07(["run", "--profile", "sandbox", "--input-b64", "aGVsbG8="]);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"hello", "{}", out.describe());
    let report = stdout_json(&out);
    assert_eq!(report["sandbox_backend"], "vm");
    assert_eq!(report["vm_guest_image"], digest.as_str());
    let restrictions = report["sandbox"]["restrictions"].as_array().unwrap();
    for r in ["userns", "new_root", "seccomp", "landlock_fs"] {
        assert!(
            restrictions.iter().any(|x| x == r),
            "{r} missing inside the guest: {report:#}"
        );
    }

    // X07_VM_BACKEND: qemu (the default) runs, with --vm-cpus; the seeds' other backends fail
    // closed naming what they need, before anything is built
    let out = p
        .x07()
        .args([
            "run",
            "--profile",
            "sandbox",
            "--vm-cpus",
            "2",
            "--input-b64",
            "aGVsbG8=",
        ])
        .env("X07_VM_BACKEND", "qemu")
        .run()
        .unwrap();
    expect_exit(&out, 0);
    for (name, needs) in [
        ("firecracker-ctr", "KVM"),
        ("vz", "macOS"),
        ("nope", "qemu"),
    ] {
        let out = p
            .x07()
            .args(["run", "--profile", "sandbox", "--input-b64", "aGVsbG8="])
            .env("X07_VM_BACKEND", name)
            .run()
            .unwrap();
        expect_exit(&out, 2);
        expect_stderr(&out, "X07-SANDBOX-0001", &[name, needs]);
    }

    // step 3: the program writes its input under out/, which is on the host afterwards
    fs_err::create_dir_all(p.path("out")).unwrap();
    let app = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed_step3_app.x07.json"),
    )
    .unwrap();
    p.write("src/app.x07.json", &app);
    let out = p.run_x07(["run", "--profile", "sandbox", "--input-b64", "aGVsbG8="]);
    expect_exit(&out, 0);
    assert_eq!(p.read("out/input.bin"), b"hello", "{}", out.describe());

    // an environment key the policy allows reaches the program in the guest (a key it does not
    // allow is refused in-process, as on the os backend)
    let policy_path = p.path(".x07/policies/base/cli.sandbox.base.policy.json");
    let mut policy: serde_json::Value =
        serde_json::from_slice(&fs_err::read(&policy_path).unwrap()).unwrap();
    policy["env"] =
        serde_json::json!({"enabled": true, "allow_keys": ["X07_VM_GREETING"], "deny_keys": []});
    fs_err::write(&policy_path, serde_json::to_vec(&policy).unwrap()).unwrap();
    p.write_app(&common::app_module(
        &[],
        serde_json::json!([
            "begin",
            ["let", "k1", ["bytes.lit", "X07_VM_GREETING"]],
            ["os.env.get", ["bytes.view", "k1"]]
        ]),
    ));
    let out = p
        .x07()
        .args(["run", "--profile", "sandbox", "--input-b64", ""])
        .env("X07_VM_GREETING", "hi from the host")
        .env("X07_VM_SECRET", "never")
        .run()
        .unwrap();
    expect_exit(&out, 0);
    assert_eq!(
        solve_output(&out),
        b"hi from the host",
        "{}",
        out.describe()
    );

    // the policy's wall clock stops a program that never ends, inside the guest
    let policy_path = p.path(".x07/policies/base/cli.sandbox.base.policy.json");
    let mut policy: serde_json::Value =
        serde_json::from_slice(&fs_err::read(&policy_path).unwrap()).unwrap();
    policy["limits"]["wall_ms"] = serde_json::json!(2000);
    fs_err::write(&policy_path, serde_json::to_vec(&policy).unwrap()).unwrap();
    p.write_app(&common::clock_loop_app());
    let out = p.run_x07([
        "run",
        "--profile",
        "sandbox",
        "--solve-fuel",
        "100000000000",
        "--input-b64",
        "",
    ]);
    expect_exit(&out, 1);
    let report = stdout_json(&out);
    assert_eq!(report["solve"]["ok"], false, "{report:#}");
    let stderr = String::from_utf8_lossy(&common::b64_decode(
        report["solve"]["stderr_b64"].as_str().unwrap(),
    ))
    .into_owned();
    assert!(stderr.contains("timed out"), "{stderr}\n{report:#}");

    // a pin that does not match refuses to boot
    let out = p
        .x07()
        .args(["run", "--profile", "sandbox", "--input-b64", "aGVsbG8="])
        .env(
            "X07_VM_GUEST_IMAGE_DIGEST",
            format!("sha256:{}", "0".repeat(64)),
        )
        .run()
        .unwrap();
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-SANDBOX-0001", &["refusing to boot"]);
}

#[test]
fn tcp_streams_leave_the_guest_only_through_the_host_proxy() {
    let p = InitProject::new();
    expect_exit(
        &p.run_x07(["policy", "init", "--template", "http-client"]),
        0,
    );
    p.edit_manifest(|m| {
        m["profiles"]["sandbox"]["policy"] =
            json!(".x07/policies/base/http-client.sandbox.base.policy.json")
    });
    build_image(&p);
    p.write_app(&common::connect_app());
    let (by_addr, by_name, other) = (
        LoopbackListener::start().unwrap(),
        LoopbackListener::start().unwrap(),
        LoopbackListener::start().unwrap(),
    );
    let run = |input: String, allow: &[String]| {
        let mut args = vec![
            "run".to_string(),
            "--profile".into(),
            "sandbox".into(),
            "--input-b64".into(),
            common::b64_encode(input.as_bytes()),
        ];
        for a in allow {
            args.extend(["--allow-host".to_string(), a.clone()]);
        }
        p.run_x07(args)
    };
    let allow = [
        format!("127.0.0.1:{}", by_addr.port()),
        format!("localhost:{}", by_name.port()),
    ];

    // an allowed loopback address: the stream reaches the host's loopback through the proxy
    let out = run(format!("{}|127.0.0.1", by_addr.port()), &allow);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"connected", "{}", out.describe());
    assert_eq!(stdout_json(&out)["sandbox_backend"], "vm");
    assert_eq!(by_addr.accepted(), 1, "{}", out.describe());

    // an allowed name: the host resolved it, the guest's /etc/hosts holds what it found
    let out = run(format!("{}|localhost", by_name.port()), &allow);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"connected", "{}", out.describe());
    assert_eq!(by_name.accepted(), 1, "{}", out.describe());

    // another port of the host's loopback is not reached
    let out = run(format!("{}|127.0.0.1", other.port()), &allow);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"denied:1", "{}", out.describe());
    assert_eq!(other.accepted(), 0, "{}", out.describe());
}

/// `x07 vm image build` with no arguments fetches Debian's kernel package with apt once per
/// machine: another X07_HOME takes it from the download cache, checked against the sha256 of
/// apt's signed metadata, and a cached copy that changed is fetched again.
#[test]
fn the_kernel_package_is_fetched_once_and_checked_when_reused() {
    let cache = tempfile::tempdir().unwrap();
    let build = |p: &InitProject| {
        let out = p
            .x07()
            .args(["-v", "vm", "image", "build", "--json"])
            .env("XDG_CACHE_HOME", cache.path())
            .timeout(std::time::Duration::from_secs(600))
            .run()
            .unwrap();
        expect_exit(&out, 0);
        out
    };
    let (a, b) = (InitProject::new(), InitProject::new());
    let first = build(&a);
    assert!(
        !common::stderr(&first).contains("download cache"),
        "{}",
        first.describe()
    );
    let debs: Vec<_> = fs_err::read_dir(cache.path().join("x07/kernel-debs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(debs.len(), 1, "{debs:?}");
    let second = build(&b);
    assert!(
        common::stderr(&second).contains("kernel package from the download cache"),
        "{}",
        second.describe()
    );
    assert_eq!(
        stdout_json(&first)["digest"],
        stdout_json(&second)["digest"],
        "the same package makes the same image"
    );
    // a cached copy whose bytes changed is not used
    let mut bytes = fs_err::read(&debs[0]).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    fs_err::write(&debs[0], &bytes).unwrap();
    let third = build(&InitProject::new());
    assert!(
        !common::stderr(&third).contains("from the download cache"),
        "{}",
        third.describe()
    );
    assert_eq!(stdout_json(&third)["digest"], stdout_json(&first)["digest"]);
}
