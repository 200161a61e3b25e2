//! Start-up: loading the policy, the start-up line, limits, and what the kernel layer costs.

use crate::project::*;

/// The restrictions the launcher applies with networking off, in the order it applies them.
const LAUNCHER_RESTRICTIONS: &[&str] = &[
    "env_cleared",
    "wall_clock",
    "userns",
    "mountns",
    "pidns",
    "ipcns",
    "utsns",
    "netns",
    "pids_cgroup",
    "memory_cgroup",
    "new_root",
    "rlimits",
    "landlock_fs",
    "landlock_net",
    "no_new_privs",
    "seccomp",
];

/// The refusal of a backend-os program that was not started by the launcher (first line only).
const NOT_CONFINED: &str = "x07: sandbox: cannot apply verify: this program was built for \
    run-os-sandboxed with backend os and must be started by x07's launcher (`x07 run --profile \
    sandbox`): ";

/// Asserts the run was refused at start-up by a backend-os program that found itself unconfined.
fn assert_refused_unconfined(out: &Outcome) {
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    assert!(
        out.stderr.starts_with(NOT_CONFINED)
            && out.stderr.ends_with('\n')
            && out.stderr.lines().count() == 1,
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "solve must not run");
}

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
    for launcher in [false, true] {
        // through the launcher the program gets its policy on fd 3 and this one on top
        let mut l = Launch::new(hostile(Flavor::Checked), Some(&blob), p.root());
        l.args = vec!["--x07-policy-fd=7".into()];
        l.launcher = Some(launcher);
        let out = l.run(b"0");
        assert_eq!(
            out.status.code(),
            Some(3),
            "two policies are refused (launcher {launcher}): {}",
            out.stderr
        );
        assert!(
            out.stderr
                .contains("more than one --x07-policy-fd / --x07-policy-file"),
            "{}",
            out.stderr
        );
        assert!(out.stdout.is_empty());
    }
    // the launcher itself: no policy, two policies, no program
    let w = workdir();
    let file = w.path().join("policy.bin");
    fs_err::write(&file, &blob).unwrap();
    let policy_arg = format!("--x07-policy-file={}", file.display());
    let policy_arg = policy_arg.as_str();
    let exe = hostile(Flavor::Checked).to_str().unwrap();
    let two = "x07: sandbox: cannot apply load_policy: more than one --x07-policy-fd / \
               --x07-policy-file argument\n";
    for (args, code, stderr) in [
        (vec!["--", exe], 3, Some(NEEDS_POLICY)),
        (
            vec![policy_arg, "--x07-policy-fd=7", "--", exe],
            3,
            Some(two),
        ),
        (vec![policy_arg, "--"], 2, None),
        (vec![policy_arg, exe], 2, None),
        // the program named twice, or on a descriptor that is not open
        (vec![policy_arg, "--x07-program-fd=0", "--", exe], 2, None),
        (vec![policy_arg, "--x07-program-fd=999", "--", exe], 2, None),
        (vec![policy_arg, "--x07-program-fd=999"], 2, None),
    ] {
        let mut cmd = Command::new(crate::harness::launcher());
        cmd.args(&args).current_dir(p.root());
        let out = crate::harness::run_command(cmd, b"0");
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", out.stderr);
        match stderr {
            Some(expected) => assert_eq!(out.stderr, expected, "{args:?}"),
            // the usage line (its option list may grow)
            None => assert!(
                out.stderr
                    .starts_with("usage: x07-launch --x07-policy-fd=N ")
                    && out
                        .stderr
                        .lines()
                        .next()
                        .unwrap()
                        .ends_with(" -- PROGRAM [ARG...]")
                    && out.stderr.contains(" --x07-program-fd=M "),
                "{args:?}: {}",
                out.stderr
            ),
        }
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn an_unsandboxed_build_refuses_a_policy_and_runs_without_one() {
    let p = Project::new();
    let mut none = p.policy();
    none.backend = 0;
    let blob = none.to_bytes();
    let out = Launch::new(hostile(Flavor::Plain), Some(&blob), p.root()).run(b"0");
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.starts_with("x07: this program was not built for run-os-sandboxed and takes no policy: --x07-policy-file="));
    // through the launcher (backend os): confined, then refused on the policy it is handed
    let blob = p.policy().to_bytes();
    let out = Launch::new(hostile(Flavor::Plain), Some(&blob), p.root()).run(b"0");
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr.ends_with(
            "\nx07: this program was not built for run-os-sandboxed and takes no policy: \
             --x07-policy-fd=3\n"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    let out =
        Launch::new(hostile(Flavor::Plain), None, p.root()).run(&read(&p.s("outside/secret.txt")));
    assert_eq!(out.assert_ok().text(), "ok:secret");
    assert!(!out.stderr.contains("x07_sandbox"));
}

/// Runs `exe` (or the launcher with `exe`) with `file` inherited as descriptor 3 and
/// `--x07-policy-fd=3`.
fn run_with_fd3(launcher: bool, exe: &Path, file: &Path, cwd: &Path, input: &[u8]) -> Outcome {
    use std::os::unix::io::AsRawFd as _;
    use std::os::unix::process::CommandExt as _;
    let f = std::fs::File::open(file).unwrap();
    let fd = f.as_raw_fd();
    let mut cmd = Command::new(if launcher {
        crate::harness::launcher()
    } else {
        exe
    });
    cmd.arg("--x07-policy-fd=3").current_dir(cwd);
    if launcher {
        cmd.arg("--").arg(exe);
    }
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
    let out = crate::harness::run_command(cmd, input);
    drop(f);
    out
}

#[test]
fn policy_arrives_on_an_inherited_descriptor() {
    let p = Project::new();
    let file = p.path("policy.bin");
    fs_err::write(&file, p.policy().to_bytes()).unwrap();
    // the launcher takes the policy on fd 3
    let out = run_with_fd3(
        true,
        hostile(Flavor::Checked),
        &file,
        p.root(),
        &read(&p.s("ro/visible.txt")),
    );
    assert_eq!(out.assert_ok().text(), "ok:visible");
    let sb = out.sandbox();
    assert_eq!(sb["backend"], "os");
    assert_eq!(sb["policy_digest"], format!("sha256:{}", "ab".repeat(32)));
    assert_eq!(sb["restrictions"], serde_json::json!(LAUNCHER_RESTRICTIONS));
    assert_eq!(sb["weaker"], serde_json::json!([]));
    assert_eq!(sb["pids_mechanism"], "cgroup-v1");
    let cgroup = sb["pids_cgroup"].as_str().unwrap();
    assert!(
        cgroup.starts_with("/sys/fs/cgroup/pids/x07/run-"),
        "{cgroup}"
    );
    assert_eq!(sb["unreachable_roots"], serde_json::json!([]));
    assert_eq!(
        sb["hidden_in_process_only"],
        serde_json::json!([p.s("rw")]),
        "write roots keep hidden files in-process only"
    );
    assert_eq!(
        out.stderr.matches("x07_sandbox").count(),
        1,
        "one start-up line, the launcher's: {}",
        out.stderr
    );
    // a backend-os program started with it directly refuses: it is not confined
    let out = run_with_fd3(
        false,
        hostile(Flavor::Checked),
        &file,
        p.root(),
        &read(&p.s("ro/visible.txt")),
    );
    assert_refused_unconfined(&out);
    assert!(
        out.stderr.ends_with(": no seccomp filter is in force\n"),
        "{}",
        out.stderr
    );
    // a backend-none program reads its policy from fd 3 itself
    let mut none = p.policy();
    none.backend = 0;
    none.digest = [0x22; 32];
    fs_err::write(&file, none.to_bytes()).unwrap();
    let out = run_with_fd3(
        false,
        hostile(Flavor::Checked),
        &file,
        p.root(),
        &read(&p.s("ro/visible.txt")),
    );
    assert_eq!(out.assert_ok().text(), "ok:visible");
    let sb = out.sandbox();
    assert_eq!(sb["backend"], "none");
    assert_eq!(sb["policy_digest"], format!("sha256:{}", "22".repeat(32)));
    assert_eq!(sb["restrictions"], serde_json::json!(["env_cleared"]));
}

#[test]
fn inherited_descriptors_do_not_survive_the_start_up() {
    use std::os::unix::io::AsRawFd as _;
    use std::os::unix::process::CommandExt as _;
    let p = Project::new();
    let secret = std::fs::File::open(p.path("outside/secret.txt")).unwrap();
    let fd = secret.as_raw_fd();
    let mut none = p.policy();
    none.backend = 0; // even without the kernel layer
    let os = p.policy();
    for (pol, launcher) in [(none, false), (os, true)] {
        let blob_file = p.path("policy.bin");
        fs_err::write(&blob_file, pol.to_bytes()).unwrap();
        let mut cmd = Command::new(if launcher {
            crate::harness::launcher()
        } else {
            hostile(Flavor::Checked)
        });
        cmd.arg(format!("--x07-policy-file={}", blob_file.display()))
            .current_dir(p.root());
        if launcher {
            cmd.arg("--").arg(hostile(Flavor::Checked));
        }
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
        assert_eq!(
            out.assert_ok().text(),
            "fd 9: closed",
            "launcher {launcher}"
        );
    }
}

#[test]
fn limits_and_a_pid_namespace_are_applied() {
    let p = Project::new();
    let mut pol = p.policy();
    pol.cpu_ms = 1500;
    pol.fds = 32;
    pol.procs = 5;
    pol.mem_bytes = 512 << 20;
    pol.max_write_bytes = 1 << 20;
    let out = p.run(Flavor::Checked, &pol, b"L");
    // no RLIMIT_AS: the memory cgroup holds memory; RLIMIT_NPROC = procs + 1 (the run's init);
    // RLIMIT_FSIZE = max_write_bytes; the program is pid 3 of a fresh pid namespace (pid 2 was
    // the helper that made the network namespace, gone before the program starts), a child of
    // the run's init (pid 1), whose end makes the kernel kill every process of the run
    assert_eq!(
        out.assert_ok().text(),
        format!(
            "cpu:2 as:{} nofile:32 nproc:6 fsize:{} pid:3 ppid:1",
            u64::MAX,
            1u64 << 20
        )
    );
    let sb = out.sandbox();
    assert_eq!(sb["restrictions"], serde_json::json!(LAUNCHER_RESTRICTIONS));
    // without a write root nothing may be written at all
    pol.write_roots.clear();
    let out = p.run(Flavor::Checked, &pol, b"L");
    assert!(
        out.assert_ok().text().contains(" fsize:0 "),
        "{}",
        out.text()
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

/// The kernel layer's start-up cost: the same trivial program with backend `none` (started
/// directly, in-process checks only) and `os` (started through the launcher, which builds the
/// cgroup, the namespaces and the new root before it execs the program). The figures are printed;
/// the bound only catches a pathological regression (a stray sleep or timeout), not noise.
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
            let restrictions = &out.sandbox()["restrictions"];
            if pol.backend == 1 {
                assert_eq!(
                    restrictions,
                    &serde_json::json!(LAUNCHER_RESTRICTIONS),
                    "through the launcher"
                );
            } else {
                assert_eq!(restrictions, &serde_json::json!(["env_cleared"]));
            }
            total += out.elapsed;
        }
        total / runs
    };
    let _ = mean(&os); // warm caches
    let (t_none, t_os) = (mean(&none), mean(&os));
    let extra = t_os.saturating_sub(t_none);
    eprintln!(
        "start-up: backend none {t_none:?}, backend os (launcher) {t_os:?}, kernel layer {extra:?}"
    );
    assert!(
        extra < Duration::from_millis(500),
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

#[test]
fn a_stopped_launcher_ends_the_run_and_removes_its_cgroups() {
    let p = Project::new();
    let policy_file = p.root().join("policy.bin");
    fs_err::write(&policy_file, p.policy().to_bytes()).unwrap();
    let mut child = Command::new(crate::harness::launcher())
        .arg(format!("--x07-policy-file={}", policy_file.display()))
        .arg("--")
        .arg(hostile(Flavor::Checked))
        .current_dir(p.root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let launcher = child.id();
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, &crate::harness::frame(&input(b'S', &[b"30"]))).unwrap();
    drop(stdin);
    let groups = [
        PathBuf::from(format!("/sys/fs/cgroup/pids/x07/run-{launcher}")),
        PathBuf::from(format!("/sys/fs/cgroup/memory/x07/run-{launcher}")),
    ];
    // the program is asleep once its run's pids cgroup holds the init and it (the monitor
    // stays outside)
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while fs_err::read_to_string(groups[0].join("cgroup.procs")).map_or(0, |t| t.lines().count())
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = std::time::Instant::now();
    // SAFETY: kill(2) of our own child, the launcher
    unsafe { libc::kill(launcher as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGTERM),
        "the launcher dies of the signal it got: {status:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the 30 s sleep was cut short"
    );
    for g in &groups {
        assert!(!g.exists(), "{} was left behind", g.display());
    }
}

/// A pipe `(read, write)`; the end the launcher gets (`launcher_reads`: the read end) is
/// inherited, the test's is close-on-exec (or EOF would never come).
fn pipe_for_launcher(launcher_reads: bool) -> (std::fs::File, std::fs::File) {
    use std::os::unix::io::{AsRawFd as _, FromRawFd as _};
    let mut fds = [0i32; 2];
    // SAFETY: pipe(2) fills two descriptors this test then owns.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: fresh descriptors from pipe(2).
    let (read, write) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    let ours = if launcher_reads { &write } else { &read };
    // SAFETY: fcntl(2) on a descriptor this test owns.
    unsafe { libc::fcntl(ours.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    (read, write)
}

/// What an early launch's `--x07-end-fd` told (its 12 bytes, or fewer at EOF), and whether
/// `lock` (when given) could be taken exclusively the moment it was told.
struct Told {
    bytes: Vec<u8>,
    lock_free: Option<bool>,
}

/// The launcher started with `--x07-program-fd` (as `x07 run` starts it before its build is
/// done): `name` is written to the descriptor (None: nothing), which is then closed. With
/// `end`, `--x07-end-fd` is given too and what it told is returned.
fn early_launch_with(
    p: &Project,
    name: Option<&[u8]>,
    input: &[u8],
    end: bool,
    lock: Option<&std::path::Path>,
) -> (Outcome, u32, Option<Told>) {
    use std::os::unix::io::AsRawFd as _;
    let policy_file = p.root().join("policy.bin");
    fs_err::write(&policy_file, p.policy().to_bytes()).unwrap();
    let (read, mut write) = pipe_for_launcher(true);
    let end_pipe = end.then(|| pipe_for_launcher(false));
    let mut cmd = Command::new(crate::harness::launcher());
    cmd.arg(format!("--x07-policy-file={}", policy_file.display()))
        .arg(format!("--x07-program-fd={}", read.as_raw_fd()));
    if let Some((_, end_write)) = &end_pipe {
        cmd.arg(format!("--x07-end-fd={}", end_write.as_raw_fd()));
    }
    let mut child = cmd
        .current_dir(p.root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(read);
    let mut end_read = end_pipe.map(|(r, _)| r);
    let pid = child.id();
    if let Some(name) = name {
        std::io::Write::write_all(&mut write, name).unwrap();
    }
    drop(write);
    let mut stdin = child.stdin.take().unwrap();
    let _ = std::io::Write::write_all(&mut stdin, &crate::harness::frame(input));
    drop(stdin);
    let told = end_read.as_mut().map(|r| {
        let mut bytes = vec![0u8; 12];
        let mut got = 0;
        while got < bytes.len() {
            match std::io::Read::read(r, &mut bytes[got..]).unwrap() {
                0 => break,
                n => got += n,
            }
        }
        bytes.truncate(got);
        let lock_free = lock.map(|path| {
            let file = fs_err::File::open(path).unwrap();
            // SAFETY: flock(2) on a descriptor this test owns; released when it is closed
            unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
        });
        Told { bytes, lock_free }
    });
    let out = child.wait_with_output().unwrap();
    let outcome = Outcome {
        status: out.status,
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: Duration::ZERO,
    };
    (outcome, pid, told)
}

/// [`early_launch_with`] without `--x07-end-fd`.
fn early_launch(p: &Project, name: Option<&[u8]>, input: &[u8]) -> (Outcome, u32) {
    let (out, pid, _) = early_launch_with(p, name, input, false, None);
    (out, pid)
}

#[test]
fn a_program_named_after_the_start_runs_confined_and_a_called_off_run_leaves_nothing() {
    let p = Project::new();
    let exe = hostile(Flavor::Checked).to_str().unwrap().to_owned();
    // named later, with its arguments: the same run as `-- PROGRAM`
    let named = format!("{exe}\0--solve-fuel=1000000\0");
    let (out, pid) = early_launch(&p, Some(named.as_bytes()), &input(b'0', &[]));
    assert_eq!(out.assert_ok().text(), "hello", "{}", out.stderr);
    assert!(out.sandbox()["restrictions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "seccomp"));
    // and what it reads through the new root is what its policy grants
    let (out, _) = early_launch(&p, Some(named.as_bytes()), &read(&p.s("ro/visible.txt")));
    assert_eq!(out.assert_ok().text(), "ok:visible");
    // the program descriptor (and the monitor's pipes) never reach the program: it has the
    // descriptors a program started with `-- PROGRAM` has (its own root descriptors), no more
    for fd in 4..=12u32 {
        let probe = input(b'I', &[fd.to_string().as_bytes()]);
        let (out, _) = early_launch(&p, Some(named.as_bytes()), &probe);
        let plain = Launch::new(
            hostile(Flavor::Checked),
            Some(&p.policy().to_bytes()),
            p.root(),
        )
        .run(&probe);
        assert_eq!(out.assert_ok().text(), plain.assert_ok().text(), "fd {fd}");
    }
    crate::harness::remove_run_cgroup(pid);
    // called off (EOF, nothing named), or a program that is not there: nothing ran, and the
    // run's cgroups are gone with the launcher (not left for anyone to clean up)
    for (name, said) in [
        (
            None,
            "no program arrived on --x07-program-fd (the run was called off)",
        ),
        (
            Some(&b"/nonexistent/program\0"[..]),
            "cannot resolve the program",
        ),
        (Some(&b"no-trailing-nul"[..]), "PROGRAM must end with a NUL"),
    ] {
        let (out, pid) = early_launch(&p, name, &input(b'0', &[]));
        assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
        assert!(out.stderr.contains(said), "{}", out.stderr);
        assert!(out.stdout.is_empty());
        for controller in ["pids", "memory"] {
            let g = PathBuf::from(format!("/sys/fs/cgroup/{controller}/x07/run-{pid}"));
            assert!(!g.exists(), "{} was left behind", g.display());
        }
    }
}

#[test]
fn the_run_s_end_is_told_once_every_process_of_it_has_ended_and_before_the_teardown() {
    let p = Project::new();
    let exe = hostile(Flavor::Checked).to_str().unwrap().to_owned();
    let named = format!("{exe}\0--solve-fuel=1000000\0");
    // The program leaves three processes asleep behind it, holding a shared lock on a file in its
    // write root; the moment the end is told, the lock is free: they were killed and reaped.
    let lock = p.path("rw/held.lock");
    let held = input(b'B', &[lock.to_str().unwrap().as_bytes(), b"3"]);
    for _ in 0..3 {
        let (out, pid, told) =
            early_launch_with(&p, Some(named.as_bytes()), &held, true, Some(&lock));
        assert_eq!(out.assert_ok().text(), "left:3", "{}", out.stderr);
        let told = told.expect("an end descriptor was given");
        assert_eq!(told.bytes.len(), 12, "the end was told: {:?}", told.bytes);
        let status = i32::from_ne_bytes(told.bytes[..4].try_into().unwrap());
        assert_eq!(status, 0, "the program's wait status: exit 0");
        assert_eq!(
            out.status.code(),
            Some(0),
            "the launcher ends the way it told"
        );
        assert_eq!(
            told.lock_free,
            Some(true),
            "a process of the run still held the lock when its end was told"
        );
        for controller in ["pids", "memory"] {
            let g = PathBuf::from(format!("/sys/fs/cgroup/{controller}/x07/run-{pid}"));
            assert!(!g.exists(), "{} was left behind", g.display());
        }
        // the program's CPU time rides along (microseconds, native order): some, not hours
        let cpu_us = u64::from_ne_bytes(told.bytes[4..].try_into().unwrap());
        assert!(cpu_us < 60_000_000, "{cpu_us} us");
    }
    // a run called off tells nothing: EOF, and the launcher says why
    let (out, _, told) = early_launch_with(&p, None, &input(b'0', &[]), true, None);
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    assert_eq!(told.unwrap().bytes, Vec::<u8>::new());
    // the end descriptor goes with --x07-program-fd only, and must be another descriptor
    let policy_file = p.root().join("policy.bin");
    let (read, _write) = pipe_for_launcher(true);
    use std::os::unix::io::AsRawFd as _;
    let fd = read.as_raw_fd().to_string();
    for args in [
        vec![format!("--x07-end-fd={fd}"), "--".into(), exe.clone()],
        vec![
            format!("--x07-program-fd={fd}"),
            format!("--x07-end-fd={fd}"),
        ],
        vec![format!("--x07-program-fd={fd}"), "--x07-end-fd=999".into()],
    ] {
        let mut cmd = Command::new(crate::harness::launcher());
        cmd.arg(format!("--x07-policy-file={}", policy_file.display()))
            .args(&args)
            .current_dir(p.root());
        let out = crate::harness::run_command(cmd, b"0");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("usage: x07-launch "),
            "{}",
            out.stderr
        );
    }
}
