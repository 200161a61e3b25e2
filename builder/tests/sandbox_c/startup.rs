//! Start-up: loading the policy, the start-up line, limits, and what the kernel layer costs.

use crate::project::*;

#[test]
fn without_a_policy_the_program_does_not_start() {
    let p = Project::new();
    let out = Launch::new(hostile(Flavor::Checked), None, p.root()).run(b"0");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.stderr, NEEDS_POLICY);
    assert!(out.stdout.is_empty());
    let mut l = Launch::new(hostile(Flavor::Checked), None, p.root());
    l.args = vec!["--x07-policy-fd=0".into()];
    let out = l.run(b"0");
    assert_eq!(
        out.status.code(),
        Some(3),
        "stdin is never a policy: {}",
        out.stderr
    );
    let blob = p.policy().to_bytes();
    let mut l = Launch::new(hostile(Flavor::Checked), Some(&blob), p.root());
    l.args = vec!["--x07-policy-fd=7".into()];
    let out = l.run(b"0");
    assert_eq!(
        out.status.code(),
        Some(3),
        "two policies are refused: {}",
        out.stderr
    );
    assert!(out
        .stderr
        .contains("more than one --x07-policy-fd / --x07-policy-file"));
}

#[test]
fn an_unsandboxed_build_refuses_a_policy_and_runs_without_one() {
    let p = Project::new();
    let blob = p.policy().to_bytes();
    let out = Launch::new(hostile(Flavor::Plain), Some(&blob), p.root()).run(b"0");
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.starts_with("x07: this program was not built for run-os-sandboxed and takes no policy: --x07-policy-file="));
    let out =
        Launch::new(hostile(Flavor::Plain), None, p.root()).run(&read(&p.s("outside/secret.txt")));
    assert_eq!(out.assert_ok().text(), "ok:secret");
    assert!(!out.stderr.contains("x07_sandbox"));
}

#[test]
fn policy_arrives_on_an_inherited_descriptor() {
    use std::os::unix::io::AsRawFd as _;
    use std::os::unix::process::CommandExt as _;
    let p = Project::new();
    let file = p.path("policy.bin");
    fs_err::write(&file, p.policy().to_bytes()).unwrap();
    let f = std::fs::File::open(&file).unwrap();
    let fd = f.as_raw_fd();
    let mut cmd = Command::new(hostile(Flavor::Checked));
    cmd.arg("--x07-policy-fd=3").current_dir(p.root());
    // SAFETY: dup2 in the child between fork and exec touches only the descriptor table.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself would keep close-on-exec
            let r = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if r < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        });
    }
    let out = crate::harness::run_command(cmd, &read(&p.s("ro/visible.txt")));
    assert_eq!(out.assert_ok().text(), "ok:visible");
    let sb = out.sandbox();
    assert_eq!(sb["backend"], "os");
    assert_eq!(sb["policy_digest"], format!("sha256:{}", "ab".repeat(32)));
    assert_eq!(
        sb["restrictions"],
        serde_json::json!([
            "env_cleared",
            "process_group",
            "rlimits",
            "pids_cgroup",
            "netns",
            "landlock_fs",
            "landlock_net",
            "no_new_privs",
            "seccomp",
            "wall_clock"
        ])
    );
    assert_eq!(sb["weaker"], serde_json::json!([]));
    assert_eq!(sb["pids_mechanism"], "cgroup-v1");
    assert_eq!(sb["unreachable_roots"], serde_json::json!([]));
    assert_eq!(
        sb["hidden_in_process_only"],
        serde_json::json!([p.s("rw")]),
        "write roots keep hidden files in-process only"
    );
}

#[test]
fn inherited_descriptors_do_not_survive_the_start_up() {
    use std::os::unix::io::AsRawFd as _;
    use std::os::unix::process::CommandExt as _;
    let p = Project::new();
    let secret = std::fs::File::open(p.path("outside/secret.txt")).unwrap();
    let fd = secret.as_raw_fd();
    let blob_file = p.path("policy.bin");
    let mut pol = p.policy();
    pol.backend = 0; // even without the kernel layer
    fs_err::write(&blob_file, pol.to_bytes()).unwrap();
    let mut cmd = Command::new(hostile(Flavor::Checked));
    cmd.arg(format!("--x07-policy-file={}", blob_file.display()))
        .current_dir(p.root());
    // SAFETY: dup2 in the child between fork and exec touches only the descriptor table.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(fd, 9) < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        });
    }
    let out = crate::harness::run_command(cmd, &input(b'I', &[b"9"]));
    assert_eq!(out.assert_ok().text(), "fd 9: closed");
}

#[test]
fn limits_and_process_group_are_applied() {
    let p = Project::new();
    let mut pol = p.policy();
    pol.cpu_ms = 1500;
    pol.fds = 32;
    pol.procs = 5;
    pol.mem_bytes = 512 << 20;
    let out = p.run(Flavor::Checked, &pol, b"L");
    assert_eq!(
        out.assert_ok().text(),
        format!("cpu:2 as:{} nofile:32 nproc:5 pgrp_leader:1", 512u64 << 20)
    );
}

#[test]
fn a_missing_root_is_reported_as_unreachable() {
    let p = Project::new();
    let mut pol = p.policy();
    pol.write_roots.push(p.s("not-yet"));
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'w', &[p.s("not-yet/x").as_bytes(), b"data"]),
    );
    assert_eq!(
        out.assert_ok().text(),
        "err:60010",
        "not_found: the root did not exist at start-up"
    );
    assert_eq!(
        out.sandbox()["unreachable_roots"],
        serde_json::json!([p.s("not-yet")])
    );
    assert!(!p.path("not-yet").exists());
}

#[test]
fn backend_none_applies_only_the_in_process_checks() {
    let p = Project::new();
    let mut pol = p.policy();
    pol.backend = 0;
    let out = p.run(Flavor::Checked, &pol, &read(&p.s("outside/secret.txt")));
    assert_eq!(out.assert_ok().text(), FS_POLICY_DENY);
    let sb = out.sandbox();
    assert_eq!(sb["backend"], "none");
    assert_eq!(sb["restrictions"], serde_json::json!(["env_cleared"]));
    assert_eq!(sb["pids_mechanism"], "none");
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'R', &[p.s("outside/secret.txt").as_bytes()]),
    );
    assert_eq!(
        out.assert_ok().text(),
        "ok:secret",
        "without the kernel layer libc is not stopped"
    );
}

/// The kernel layer's start-up cost: the same trivial program with backend `none` and `os`.
#[test]
fn kernel_layer_startup_cost_is_small() {
    let p = Project::new();
    let mut none = p.policy();
    none.backend = 0;
    let os = p.policy();
    let mean = |pol: &TestPolicy| {
        let blob = pol.to_bytes();
        let runs = 15;
        let mut total = Duration::ZERO;
        for _ in 0..runs {
            let out = Launch::new(hostile(Flavor::Checked), Some(&blob), p.root()).run(b"0");
            assert_eq!(out.assert_ok().text(), "hello");
            total += out.elapsed;
        }
        total / runs
    };
    let _ = mean(&os); // warm caches
    let (t_none, t_os) = (mean(&none), mean(&os));
    let extra = t_os.saturating_sub(t_none);
    eprintln!("start-up: backend none {t_none:?}, backend os {t_os:?}, kernel layer {extra:?}");
    assert!(
        extra < Duration::from_millis(25),
        "the kernel layer costs {extra:?} per run"
    );
}

#[test]
fn sandbox_fragments_compile_with_any_subset_of_os_fragments() {
    let trivial = "static x7_bytes x7_solve(void) { return X7_EMPTY_BYTES; }";
    for frag in ["os_fs", "os_env", "os_time", "os_process", "os_net"] {
        for flavor in [Flavor::Checked, Flavor::KernelOnly] {
            let src = crate::harness::program_source(flavor, "", &[frag], trivial, true);
            let file = crate::harness::scratch().join(format!("alone_{frag}_{flavor:?}.c"));
            fs_err::write(&file, src).unwrap();
            let out = Command::new("cc")
                .args([
                    "-std=c11",
                    "-O0",
                    "-Wall",
                    "-Wextra",
                    "-Werror",
                    "-fsyntax-only",
                ])
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{frag} {flavor:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
