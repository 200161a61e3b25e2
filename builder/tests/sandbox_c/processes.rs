//! Environment, clocks and processes: secrets, sleeping, exec, spawn counts, fork bombs, limits, seccomp.

use crate::project::*;

#[test]
fn environment_secrets_never_reach_the_program() {
    let p = Project::new();
    let mut pol = p.policy();
    pol.env_enabled = true;
    pol.allow_keys = vec!["ALLOWED".into(), "SECRET_TOO".into()];
    pol.deny_keys = vec!["SECRET_TOO".into()];
    let blob = pol.to_bytes();
    let run = |flavor, cmd: u8, key: &str| {
        let mut l = Launch::new(hostile(flavor), Some(&blob), p.root());
        l.env = vec![
            ("SECRET", "hunter2"),
            ("ALLOWED", "yes"),
            ("SECRET_TOO", "hunter3"),
        ];
        l.run(&input(cmd, &[key.as_bytes()]))
    };
    assert_eq!(
        run(Flavor::Checked, b'e', "ALLOWED").assert_ok().text(),
        "yes"
    );
    for key in ["SECRET", "SECRET_TOO"] {
        let out = run(Flavor::Checked, b'e', key);
        assert_killed_by(&out, libc::SIGILL);
        assert!(
            out.stderr
                .ends_with(&format!("os.env.get key not allowed key={key}\n")),
            "{}",
            out.stderr
        );
        let rule = if key == "SECRET" {
            "env.allow_keys"
        } else {
            "env.deny_keys"
        };
        assert_eq!(out.denied("os.env.get", rule), key);
        // the environment was cleared at start-up: nothing to find, with or without the checks
        assert_eq!(run(Flavor::KernelOnly, b'e', key).assert_ok().text(), "");
        assert_eq!(
            run(Flavor::Checked, b'E', key).assert_ok().text(),
            "(unset)"
        );
    }
    assert_eq!(
        run(Flavor::Checked, b'E', "PATH").assert_ok().text(),
        "(unset)"
    );
}

#[test]
fn sleeping_past_the_policy_returns_at_once_and_wall_clock_kills_the_group() {
    let p = Project::new();
    let mut pol = p.policy();
    pol.max_sleep_ms = 100;
    // 0: not slept (the public convention; 1 means it slept)
    let out = p.run(Flavor::Checked, &pol, &input(b's', &[b"5000"]));
    assert_eq!(out.assert_ok().text(), "ret:0");
    assert!(
        out.elapsed < Duration::from_secs(2),
        "no sleep at all: {:?}",
        out.elapsed
    );
    assert_eq!(
        out.denied("os.time.sleep_ms_v1", "time.max_sleep_ms"),
        "5000"
    );
    assert_eq!(
        p.run(Flavor::Checked, &pol, &input(b's', &[b"20"])).text(),
        "ret:1"
    );
    pol.allow_wall_clock = false;
    let out = p.run(Flavor::Checked, &pol, b"t");
    assert_killed_by(&out, libc::SIGILL);
    assert_eq!(
        out.denied("os.time.now_unix_ms", "time.allow_wall_clock"),
        ""
    );

    let mut pol = p.policy();
    pol.wall_ms = 400;
    let out = p.run(Flavor::KernelOnly, &pol, &input(b'S', &[b"30"]));
    assert_killed_by(&out, libc::SIGKILL);
    assert!(
        out.stderr.ends_with("timed out\n"),
        "the trap line: {}",
        out.stderr
    );
    assert!(
        out.elapsed < Duration::from_secs(5),
        "killed at the wall-clock limit: {:?}",
        out.elapsed
    );
}

fn echo_path() -> String {
    fs_err::canonicalize("/usr/bin/echo")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn allowed_programs_run_and_shells_do_not() {
    let p = Project::new();
    fs_err::create_dir(p.path("allowed")).unwrap();
    let echo = echo_path();
    let mut pol = p.policy().spawning(&[&echo]);
    pol.allow_exec_prefixes = vec![p.s("allowed")];
    let hello = proc_req(&["echo", "hi"], &[], "", b"");
    for flavor in [Flavor::Checked, Flavor::KernelOnly] {
        let out = p.run(flavor, &pol, &input(b'p', &[&hello]));
        assert_eq!(
            out.assert_ok().text(),
            "exit:0 out:hi\n err:",
            "{flavor:?}: {}",
            out.stderr
        );
    }
    let ups = "../".repeat(p.root().components().count());
    let sneaky = format!("{}/{ups}bin/sh", p.s("allowed"));
    for argv0 in ["/bin/sh", "sh", sneaky.as_str()] {
        let req = proc_req(&[argv0, "-c", "echo pwned"], &[], "", b"");
        let out = p.run(Flavor::Checked, &pol, &input(b'p', &[&req]));
        assert_eq!(out.assert_ok().text(), "err:1", "{argv0}: policy_denied");
        assert_eq!(
            out.denied("os.process.run_capture_v1", "process.allow_execs"),
            argv0,
            "no shell in the new root: nothing to resolve, the request as given"
        );
        let out = p.run(Flavor::KernelOnly, &pol, &input(b'p', &[&req]));
        assert_eq!(
            out.assert_ok().text(),
            "err:3",
            "{argv0}: the exec fails (spawn_failed)"
        );
        assert!(out.denials().is_empty(), "no in-process check ran");
    }
    // the shells are not in the new root at all; the allowed program is
    for sh in ["/bin/sh", "/usr/bin/sh", "/bin/bash", "/usr/bin/bash"] {
        let out = p.run(Flavor::Checked, &pol, &input(b'R', &[sh.as_bytes()]));
        assert_eq!(out.assert_ok().text(), errno(libc::ENOENT), "{sh}");
    }
    let out = p.run(Flavor::Checked, &pol, &input(b'R', &[echo.as_bytes()]));
    assert!(
        out.assert_ok().text().starts_with("ok:\u{7f}ELF"),
        "{echo} is readable"
    );
    // a program that is in the new root (the running program itself) but not allowed: the denial
    // names the path as given and where it leads
    let me = fs_err::canonicalize(hostile(Flavor::Checked)).unwrap();
    let dir = me.parent().unwrap();
    let roundabout = format!(
        "{}/../{}/{}",
        dir.display(),
        dir.file_name().unwrap().to_str().unwrap(),
        me.file_name().unwrap().to_str().unwrap()
    );
    let req = proc_req(&[&roundabout], &[], "", b"");
    let out = p.run(Flavor::Checked, &pol, &input(b'p', &[&req]));
    assert_eq!(out.assert_ok().text(), "err:1");
    assert_eq!(
        out.denied("os.process.run_capture_v1", "process.allow_execs"),
        format!("{roundabout} => {}", me.display()),
        "canonical path in the denial"
    );
}

#[test]
fn a_child_working_directory_must_lie_beneath_a_cwd_root() {
    let p = Project::new();
    let mut pol = p.policy().spawning(&[&echo_path()]);
    let req = |cwd: &str| proc_req(&["/usr/bin/echo", "x"], &[], cwd, b"");
    let out = p.run(Flavor::Checked, &pol, &input(b'p', &[&req(&p.s("rw"))]));
    assert_eq!(out.assert_ok().text(), "err:1");
    assert_eq!(
        out.denied("os.process.run_capture_v1", "process.allow_cwd"),
        p.s("rw")
    );
    pol.allow_cwd = true;
    pol.allow_cwd_roots = vec![p.s("rw")];
    let out = p.run(Flavor::Checked, &pol, &input(b'p', &[&req(&p.s("rw"))]));
    assert_eq!(
        out.assert_ok().text(),
        "exit:0 out:x\n err:",
        "{}",
        out.stderr
    );
    let out = p.run(Flavor::Checked, &pol, &input(b'p', &[&req("rw/..")]));
    assert_eq!(out.assert_ok().text(), "err:1");
    assert_eq!(
        out.denied("os.process.run_capture_v1", "process.allow_cwd_roots"),
        p.root().to_str().unwrap(),
        "the directory actually opened, canonical"
    );
}

#[test]
fn spawning_is_counted_and_capped() {
    let p = Project::new();
    let mut pol = p.policy().spawning(&[&echo_path()]);
    pol.max_spawns = 2;
    let req = proc_req(&["/usr/bin/echo", "x"], &[], "", b"");
    let out = p.run(Flavor::Checked, &pol, &input(b'n', &[&req, b"3"]));
    assert_eq!(
        out.assert_ok().text(),
        "exit:0 out:x\n err:|exit:0 out:x\n err:|err:1|"
    );
    assert_eq!(
        out.denied("os.process.run_capture_v1", "process.max_spawns"),
        "/usr/bin/echo"
    );
    let env_req = proc_req(&["/usr/bin/echo", "x"], &[("SECRET", "1")], "", b"");
    let out = p.run(Flavor::Checked, &pol, &input(b'p', &[&env_req]));
    assert_eq!(out.assert_ok().text(), "err:1");
    assert_eq!(
        out.denied("os.process.run_capture_v1", "process.allow_env_keys"),
        "/usr/bin/echo"
    );
    let mut no_spawn = p.policy();
    no_spawn.allow_spawn = false;
    let out = p.run(Flavor::Checked, &no_spawn, &input(b'p', &[&req]));
    assert_eq!(out.assert_ok().text(), "err:1");
    assert_eq!(
        out.denied("os.process.run_capture_v1", "process.allow_spawn"),
        "/usr/bin/echo"
    );
    let mut no_exit = p.policy();
    no_exit.allow_exit = false;
    let out = p.run(Flavor::Checked, &no_exit, b"x");
    assert_eq!(out.assert_ok().text(), "exit returned 1");
    assert_eq!(out.denied("os.process.exit", "process.allow_exit"), "7");
}

#[test]
fn denial_lines_stop_at_64_and_the_rest_is_counted() {
    let p = Project::new();
    let req = proc_req(&["/usr/bin/echo"], &[], "", b"");
    let out = p.run(Flavor::Checked, &p.policy(), &input(b'n', &[&req, b"70"]));
    assert_eq!(out.assert_ok().text(), "err:1|".repeat(70));
    assert_eq!(out.denials().len(), 64);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines[lines.len() - 2],
        r#"{"x07_denials_dropped":6}"#,
        "just before the stats line"
    );
    assert!(lines[lines.len() - 1].starts_with(r#"{"fuel_used":"#));
}

#[test]
fn a_fork_bomb_hits_the_pids_cgroup() {
    let p = Project::new();
    let mut pol = p.policy();
    pol.procs = 6;
    let out = p.run(Flavor::Checked, &pol, b"F");
    assert_eq!(
        out.assert_ok().text(),
        format!("forks:5 errno:{}", libc::EAGAIN),
        "uid 0 (mapped to itself) ignores RLIMIT_NPROC; pids.max = procs + 1 (the run's init) holds: the program and 5 children"
    );
}

#[test]
fn memory_cpu_and_descriptors_are_capped_by_the_kernel() {
    let p = Project::new();
    let mut pol = p.policy();
    pol.mem_bytes = 256 << 20;
    assert_eq!(
        p.run(Flavor::Checked, &pol, &input(b'M', &[b"32"])).text(),
        "malloc 32 MiB: ok"
    );
    // the memory cgroup holds memory (no RLIMIT_AS): touching 1 GiB gets the run OOM-killed
    let out = p.run(Flavor::Checked, &pol, &input(b'M', &[b"1024"]));
    assert_killed_by(&out, libc::SIGKILL);
    assert!(out.stdout.is_empty(), "the solve never finished");
    let restrictions = out.sandbox()["restrictions"].clone();
    assert!(
        restrictions
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "memory_cgroup"),
        "{restrictions}"
    );
    pol.fds = 16;
    let out = p.run(Flavor::Checked, &pol, b"D");
    let text = out.assert_ok().text();
    let opened: u32 = text
        .strip_prefix("opened:")
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        opened < 16 && text.ends_with(&format!("errno:{}", libc::EMFILE)),
        "{text}"
    );
    pol.cpu_ms = 300;
    let out = p.run(Flavor::KernelOnly, &pol, b"C");
    assert_killed_by(&out, libc::SIGXCPU);
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
}

#[test]
fn seccomp_refuses_dangerous_calls_and_kills_a_foreign_architecture() {
    let p = Project::new();
    let pol = p.policy();
    let out = p.run(Flavor::Checked, &pol, b"X");
    let e = libc::EPERM;
    assert_eq!(
        out.assert_ok().text(),
        format!("unshare:-1/{e} mount:-1/{e} ptrace:-1/{e} unix:-1/{e} raw:-1/{e} mknod:-1/{e}")
    );
    let out = p.run(Flavor::Checked, &pol, b"A");
    assert_killed_by(&out, libc::SIGSYS);
}

/// A child x07 program gets the launcher's sealed policy on fd 3 (backend os) and inherits the
/// kernel layer: its own start-up verifies it is confined and runs, quietly (the launcher wrote the
/// start-up line), with its own in-process checks.
#[test]
fn a_child_x07_program_gets_the_policy_on_fd_3() {
    let p = Project::new();
    let exe = fs_err::canonicalize(hostile(Flavor::Checked)).unwrap();
    let exe = exe.to_str().unwrap();
    let pol = p.policy().spawning(&[exe]);
    let child = |child_in: &[u8]| {
        let child_input = crate::harness::frame(child_in);
        let req = proc_req(&[exe, "--x07-policy-fd=3"], &[], "", &child_input);
        p.run(Flavor::Checked, &pol, &input(b'p', &[&req]))
    };
    let out = child(&read(&p.s("outside/secret.txt")));
    let text = out.assert_ok().text();
    assert!(text.starts_with("exit:0 out:"), "{text}");
    assert!(
        text.contains(FS_POLICY_DENY),
        "the child's own checks deny: {text}"
    );
    assert!(text.contains("\"rule\":\"fs.read_roots\""), "{text}");
    assert!(
        !text.contains("x07_sandbox") && !text.contains("cannot apply"),
        "the child found itself confined (backend os) and wrote no start-up line: {text}"
    );
    // the child's libc hits the kernel layer it inherited: the new root, Landlock, seccomp
    let e = libc::EPERM;
    for (cmd, expect) in [
        (
            input(b'R', &[p.s("outside/secret.txt").as_bytes()]),
            errno(libc::ENOENT),
        ),
        (
            input(b'R', &[p.s("ro/.env").as_bytes()]),
            errno(libc::EACCES),
        ),
        (
            b"X".to_vec(),
            format!(
                "unshare:-1/{e} mount:-1/{e} ptrace:-1/{e} unix:-1/{e} raw:-1/{e} mknod:-1/{e}"
            ),
        ),
    ] {
        let out = child(&cmd);
        let text = out.assert_ok().text();
        assert_eq!(child_solve_output(&text), expect, "{text}");
    }
}

/// The solve output of a child's ProcRespV1 as `proc_resp` prints it: `exit:0 out:` + the
/// 4-byte frame length + the output + ` err:...`.
fn child_solve_output(text: &str) -> String {
    let rest = text
        .strip_prefix("exit:0 out:")
        .unwrap_or_else(|| panic!("the child did not exit 0: {text}"));
    let rest: String = rest.chars().skip(4).collect();
    rest.split(" err:").next().unwrap().to_owned()
}
