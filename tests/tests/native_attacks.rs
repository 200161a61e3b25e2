//! The native attack suite: hostile packages whose C (`ffi/*.c`, linked into the program) runs in
//! the program's process — before main, interposing libc, at build time, or from `solve` — and
//! tries to get out of run-os-sandboxed on the `os` backend. Every trial judges what ARRIVED
//! OUTSIDE, as this test process sees it: files, listeners, sockets, shared memory, processes,
//! other processes' attributes. What the program claims is shown, not trusted (format and the list
//! of attacks: `tests/sandbox/native/README.md`).
//!
//! Probes are harmless if the sandbox fails: signal 0 only, writes only under the trial's
//! temporary directory, network only to 127.0.0.1 listeners the test started.
//!
//! The trials need root (the `os` backend's cgroups and namespaces); without it they are ignored
//! and the reason is printed. `X07_TEST_KEEP_DIRS=1` keeps the directories of failing trials.

// Only the parts of the shared sandbox helpers this suite uses (not the builder-library ones).
mod common_sandbox {
    #![allow(dead_code)]
    pub mod attack;
    pub mod listener;
    pub mod native;
    pub mod privileges;
    pub mod run_view;
    pub mod stage;
}

use std::ffi::CString;
use std::io::Read as _;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{json, Value};
use x07_tests::{x07_bin, X07Home};

use common_sandbox::native::{
    new_secret, pid_alive, processes_named, random_hex, secret_places, wait_until, Findings,
    Launch, NativeRun, NativeSuite, Outcome, SKELETON,
};
use common_sandbox::privileges::os_backend_unavailable;

/// Set to keep the directories of a failing trial.
const KEEP_DIRS_VAR: &str = "X07_TEST_KEEP_DIRS";

/// Name of the variable holding the launcher's secret (the constructor looks for it).
const ENV_SECRET_KEY: &str = "NATIVE_ATTACK_SECRET";

type AttackFn = fn(&mut NativeRun) -> Result<(), String>;

/// One attack: its directory under `tests/sandbox/native`, its class in the issue, what it
/// asserts, and the trial.
struct Attack {
    name: &'static str,
    class: &'static str,
    run: AttackFn,
    /// Only meaningful in a guest (the vm backend's own parts).
    vm_only: bool,
}

const ATTACKS: &[Attack] = &[
    Attack {
        name: "ctor_read_outside",
        class: "1 constructor",
        run: ctor_read_outside,
        vm_only: false,
    },
    Attack {
        name: "ctor_parent_environ",
        class: "1 constructor",
        run: ctor_parent_environ,
        vm_only: false,
    },
    Attack {
        name: "ctor_connect_loopback",
        class: "1 constructor",
        run: ctor_connect_loopback,
        vm_only: false,
    },
    Attack {
        name: "ctor_write_outside",
        class: "1 constructor",
        run: ctor_write_outside,
        vm_only: false,
    },
    Attack {
        name: "ctor_fork_survivor",
        class: "1 constructor",
        run: ctor_fork_survivor,
        vm_only: false,
    },
    Attack {
        name: "interpose_stub_symbols",
        class: "2 interposition",
        run: interpose,
        vm_only: false,
    },
    Attack {
        name: "interpose_plausible_symbols",
        class: "2 interposition",
        run: interpose,
        vm_only: false,
    },
    Attack {
        name: "build_incbin_outside",
        class: "3 build time",
        run: build_incbin_outside,
        vm_only: false,
    },
    Attack {
        name: "build_include_outside",
        class: "3 build time",
        run: build_include_outside,
        vm_only: false,
    },
    Attack {
        name: "metadata_outside_and_read_root",
        class: "4 metadata",
        run: metadata_outside_and_read_root,
        vm_only: false,
    },
    Attack {
        name: "inotify_outside",
        class: "5 inotify",
        run: inotify_outside,
        vm_only: false,
    },
    Attack {
        name: "net_mptcp_disallowed_port",
        class: "6 mptcp",
        run: net_mptcp_disallowed_port,
        vm_only: false,
    },
    Attack {
        name: "net_tcp_disallowed_port",
        class: "6 mptcp",
        run: net_tcp_disallowed_port,
        vm_only: false,
    },
    Attack {
        name: "net_listen_autobind",
        class: "7 listen without bind",
        run: net_listen_autobind,
        vm_only: false,
    },
    Attack {
        name: "sysv_shm_outside",
        class: "8 sysv ipc",
        run: sysv_shm_outside,
        vm_only: false,
    },
    Attack {
        name: "unix_dgram_outside",
        class: "9 unix datagrams",
        run: unix_dgram_outside,
        vm_only: false,
    },
    Attack {
        name: "same_uid_process_tuning",
        class: "10 same-uid processes",
        run: same_uid_process_tuning,
        vm_only: false,
    },
    Attack {
        name: "disk_cap_across_processes",
        class: "extra",
        run: disk_cap_across_processes,
        vm_only: false,
    },
    Attack {
        name: "mem_cap_across_processes",
        class: "extra",
        run: mem_cap_across_processes,
        vm_only: false,
    },
    Attack {
        name: "netlink_vsock_sockets",
        class: "extra",
        run: netlink_vsock_sockets,
        vm_only: false,
    },
    Attack {
        name: "listmount_host_mounts",
        class: "extra",
        run: listmount_host_mounts,
        vm_only: false,
    },
    Attack {
        name: "stat_readlink_access_outside",
        class: "extra",
        run: stat_readlink_access_outside,
        vm_only: false,
    },
    Attack {
        name: "ffi_libs_extern_without_allow_ffi",
        class: "extra",
        run: ffi_libs_refused,
        vm_only: false,
    },
    Attack {
        name: "ffi_libs_only_without_allow_ffi",
        class: "extra",
        run: ffi_libs_refused,
        vm_only: false,
    },
    Attack {
        name: "pids_cap_across_processes",
        class: "extra",
        run: pids_cap_across_processes,
        vm_only: false,
    },
    Attack {
        name: "net_vm_relay_other_addresses",
        class: "vm network path",
        run: net_vm_relay_other_addresses,
        vm_only: true,
    },
];

fn main() {
    let mut args = Arguments::from_args();
    // Most of a trial is waiting (cc, the run, timed probes): more trials than cores pay off.
    if args.test_threads.is_none() {
        args.test_threads = Some(6);
    }
    let os_unavailable = os_backend_unavailable();
    let attacks_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sandbox/native");
    let suite = if args.list {
        None
    } else {
        if let Some(reason) = &os_unavailable {
            eprintln!("native attacks: every trial is ignored: {reason}");
        }
        Some(Arc::new(NativeSuite {
            bin: x07_bin(),
            home: X07Home::new().expect("create a temporary X07_HOME"),
            attacks: attacks_dir.clone(),
            guest_image: std::sync::OnceLock::new(),
        }))
    };
    let mut trials = vec![Trial::test(
        "suite/every_attack_directory_has_a_trial",
        move || every_directory_has_a_trial(&attacks_dir),
    )];
    // every attack three times: through `x07 run`, as a sealed bundle started on its own, and in
    // a guest on the vm backend
    for (launch, prefix) in [
        (Launch::Run, ""),
        (Launch::SealedBundle, "bundle/"),
        (Launch::Vm, "vm/"),
    ] {
        for attack in ATTACKS
            .iter()
            .filter(|a| launch == Launch::Vm || !a.vm_only)
        {
            let suite = suite.clone();
            trials.push(
                Trial::test(format!("{prefix}{}", attack.name), move || {
                    run_attack(
                        suite.as_deref().expect("set up unless listing"),
                        attack,
                        launch,
                    )
                })
                .with_kind(attack.class)
                .with_ignored_flag(os_unavailable.is_some()),
            );
        }
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // `exit` skips destructors: remove the temporary X07_HOME first.
    drop(suite);
    conclusion.exit();
}

/// Every directory under `tests/sandbox/native` (but the shared package) is an attack of the list,
/// and every attack of the list has its directory.
fn every_directory_has_a_trial(dir: &Path) -> Result<(), Failed> {
    let mut problems = Vec::new();
    let mut on_disk = Vec::new();
    for entry in fs_err::read_dir(dir).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.path().is_dir() {
            on_disk.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    for name in &on_disk {
        if name != SKELETON && !ATTACKS.iter().any(|a| a.name == name) {
            problems.push(format!(
                "{}/{name} has no trial in native_attacks.rs",
                dir.display()
            ));
        }
    }
    for attack in ATTACKS {
        if !on_disk.iter().any(|n| n == attack.name) {
            problems.push(format!(
                "attack {} has no directory {}/{}",
                attack.name,
                dir.display(),
                attack.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

fn run_attack(suite: &NativeSuite, attack: &Attack, launch: Launch) -> Result<(), Failed> {
    if launch == Launch::Vm {
        suite.ensure_guest_image()?;
    }
    let mut run = NativeRun::new(suite, attack.name, launch).map_err(|e| format!("setup: {e}"))?;
    match (attack.run)(&mut run) {
        Ok(()) => Ok(()),
        Err(message) => {
            let kept = if std::env::var_os(KEEP_DIRS_VAR).is_some_and(|v| !v.is_empty()) {
                format!("\n(kept {})", run.stage.keep().display())
            } else {
                format!("\n(set {KEEP_DIRS_VAR}=1 to keep the directories)")
            };
            Err(format!(
                "native attack {} (class {}):\n{message}{kept}",
                attack.name, attack.class
            )
            .into())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Policies

/// The http-client template (FFI allowed, networking on, read `.`, write `out`) with `patch`.
fn ffi_policy(run: &NativeRun, patch: Value) -> Result<PathBuf, String> {
    run.policy("http-client", patch)
}

/// FFI allowed, networking off.
fn ffi_policy_offline(run: &NativeRun) -> Result<PathBuf, String> {
    ffi_policy(
        run,
        json!({"net": {"enabled": false, "allow_dns": false, "allow_tcp": false, "allow_udp": false, "allow_hosts": []}}),
    )
}

// ---------------------------------------------------------------------------------------------
// Shared checks

/// The probe must have run (`probe_ran=1`, and for constructor attacks `ctor_ran=1`): a run whose
/// probe never ran (a failed build, a crash) proves nothing and fails the trial.
fn require_probe_ran(f: &mut Findings, outcome: &Outcome, extra_token: Option<&str>) {
    f.check(outcome.built(), || {
        "precondition: the program was not built (compile.ok is not true), so the attack never ran"
            .into()
    });
    f.check(outcome.probe_ran(), || {
        "precondition: the probe did not report `probe_ran=1` (did the run start?), so the trial proves nothing".into()
    });
    if let Some(token) = extra_token {
        f.check(outcome.said_value(token).as_deref() == Some("1"), || {
            format!(
                "precondition: the probe did not report `{token}=1`, so the hostile code never ran"
            )
        });
    }
}

/// The secret must not appear in anything x07 printed or in any file of the project (the write
/// root `out/` included).
fn require_no_secret(
    f: &mut Findings,
    run: &NativeRun,
    outcome: &Outcome,
    secret: &str,
    source: &str,
) {
    for place in secret_places(outcome, secret, &[run.project()]) {
        f.add(format!("the secret from {source} arrived in {place}"));
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    fs_err::write(path, bytes).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Class 1: constructor before main

fn ctor_read_outside(run: &mut NativeRun) -> Result<(), String> {
    let secret = new_secret("file");
    let secret_path = run.outside().join("secret.txt");
    write_file(&secret_path, secret.as_bytes())?;
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, Some("ctor_ran"));
    require_no_secret(
        &mut f,
        run,
        &outcome,
        &secret,
        &secret_path.display().to_string(),
    );
    f.finish(|| outcome.describe())
}

fn ctor_parent_environ(run: &mut NativeRun) -> Result<(), String> {
    let secret = new_secret("env");
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]).env(ENV_SECRET_KEY, &secret))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, Some("ctor_ran"));
    require_no_secret(
        &mut f,
        run,
        &outcome,
        &secret,
        &format!("the x07 process's environment ({ENV_SECRET_KEY})"),
    );
    f.finish(|| outcome.describe())
}

fn ctor_connect_loopback(run: &mut NativeRun) -> Result<(), String> {
    let listener =
        common_sandbox::listener::LoopbackListener::start().map_err(|e| e.to_string())?;
    run.set("PORT", listener.port().to_string());
    let policy = ffi_policy_offline(run)?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, Some("ctor_ran"));
    let accepted = listener.accepted();
    f.check(accepted == 0, || {
        format!(
            "with networking off, listener on 127.0.0.1:{} accepted {accepted} connection(s) from the constructor",
            listener.port()
        )
    });
    f.finish(|| outcome.describe())
}

fn ctor_write_outside(run: &mut NativeRun) -> Result<(), String> {
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, Some("ctor_ran"));
    for name in ["ctor-wrote.txt", "ctor-dir"] {
        let path = run.outside().join(name);
        f.check(path.symlink_metadata().is_err(), || {
            format!(
                "{} exists after the run: the constructor wrote outside the write roots",
                path.display()
            )
        });
    }
    f.finish(|| outcome.describe())
}

fn ctor_fork_survivor(run: &mut NativeRun) -> Result<(), String> {
    // comm holds 15 bytes: "x7s" and 12 hex digits name this trial's helper only.
    let marker = format!("x7s{}", random_hex(6));
    run.set("MARKER", marker.clone());
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, Some("ctor_ran"));
    // Give a helper that is being torn down a moment to go.
    std::thread::sleep(Duration::from_millis(300));
    let alive = processes_named(&marker);
    for (pid, _) in &alive {
        f.add(format!(
            "process {pid} named {marker:?}, forked by the constructor, outlived the run"
        ));
    }
    let pid_file = run.out().join("survivor.pid");
    if let Ok(text) = fs_err::read_to_string(&pid_file) {
        if let Ok(pid) = text.trim().parse::<i32>() {
            let comm = fs_err::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if pid_alive(pid) && comm.trim_end() == marker && !alive.iter().any(|(p, _)| *p == pid)
            {
                f.add(format!(
                    "the helper's recorded pid {pid} is still alive as {marker:?} after the run"
                ));
            }
        }
    }
    let touched = run.outside().join("survivor-alive");
    let _ = fs_err::remove_file(&touched);
    std::thread::sleep(Duration::from_millis(400));
    f.check(touched.symlink_metadata().is_err(), || {
        format!("after the run ended, something keeps re-creating {} (the helper survived and writes outside)", touched.display())
    });
    f.finish(|| outcome.describe())
}

// ---------------------------------------------------------------------------------------------
// Class 2: interposition

/// The package defines libc's confinement entry points; nothing may arrive outside, and either the
/// run says it was confined or it was refused.
fn interpose(run: &mut NativeRun) -> Result<(), String> {
    let secret = new_secret("file");
    let secret_path = run.outside().join("secret.txt");
    write_file(&secret_path, secret.as_bytes())?;
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    if outcome.probe_ran() {
        // a sealed bundle prints no report: its launcher applies backend os only, or refuses
        let backend = if outcome.bundle_output.is_some() {
            Some("os")
        } else {
            outcome
                .sandbox()
                .and_then(|s| s.get("backend"))
                .and_then(Value::as_str)
        };
        f.check(backend == Some("os"), || {
            format!("the probe ran, yet the report's sandbox summary does not say backend os (sandbox: {:?})", outcome.sandbox())
        });
    } else {
        // Refused (at build or start): fine, as long as x07 did not report a successful run.
        f.check(outcome.out.exit_code != Some(0), || {
            "the probe did not run, yet x07 exited 0: neither a confined run nor a refusal".into()
        });
    }
    require_no_secret(
        &mut f,
        run,
        &outcome,
        &secret,
        &secret_path.display().to_string(),
    );
    let wrote = run.outside().join("interposed-wrote.txt");
    f.check(wrote.symlink_metadata().is_err(), || {
        format!("{} exists: with libc's confinement calls interposed, the program wrote outside the write roots", wrote.display())
    });
    f.finish(|| outcome.describe())
}

// ---------------------------------------------------------------------------------------------
// Class 3: build time

/// ffi C pulls `file` (outside every root) into the build. The build must fail, say why, and the
/// secret must be nowhere: not in what x07 printed, the project, or any file under X07_HOME.
fn build_reads_outside(
    run: &mut NativeRun,
    file: &str,
    content: impl Fn(&str) -> String,
) -> Result<(), String> {
    let secret = new_secret("build");
    let secret_path = run.outside().join(file);
    write_file(&secret_path, content(&secret).as_bytes())?;
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    f.check(outcome.out.exit_code.is_some_and(|c| c != 0), || {
        format!(
            "x07 run exited {:?}: the build that reads {} should fail",
            outcome.out.exit_code,
            secret_path.display()
        )
    });
    f.check(!outcome.built(), || {
        format!(
            "the build succeeded although its C reads {}",
            secret_path.display()
        )
    });
    f.check(!outcome.probe_ran(), || {
        "the program ran: it was built with the outside file in it".into()
    });
    let all_text: String = outcome
        .texts()
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    f.check(
        all_text.contains(file) || all_text.to_lowercase().contains("not declared"),
        || format!("the error should name {file} or say it was not declared"),
    );
    for place in secret_places(&outcome, &secret, &[run.project(), run.home()]) {
        f.add(format!(
            "the secret from {} arrived in {place}",
            secret_path.display()
        ));
    }
    f.finish(|| outcome.describe())
}

fn build_incbin_outside(run: &mut NativeRun) -> Result<(), String> {
    build_reads_outside(run, "secret.bin", |s| s.to_owned())
}

fn build_include_outside(run: &mut NativeRun) -> Result<(), String> {
    build_reads_outside(run, "secret.h", |s| {
        format!("#define X7P_OUTSIDE_SECRET \"{s}\"\n")
    })
}

// ---------------------------------------------------------------------------------------------
// Class 4: metadata

const FS_IOC_GETFLAGS: u64 = 0x8008_6601;
const FS_IOC_SETFLAGS: u64 = 0x4008_6602;
const FS_NODUMP_FL: i32 = 0x40;

/// What the probe tries to change, as the test reads it.
#[derive(Debug, PartialEq, Eq)]
struct FileMeta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: (i64, i64),
    ctime: (i64, i64),
    xattrs: Vec<(String, Vec<u8>)>,
    flags: i32,
}

fn cpath(path: &Path) -> CString {
    CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL in a test path")
}

fn xattrs(path: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let c = cpath(path);
    let mut names = vec![0u8; 4096];
    // SAFETY: the buffer is valid for its length; the path is NUL-terminated.
    let n = unsafe { libc::listxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if n < 0 {
        return Err(format!(
            "listxattr {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    let mut out = Vec::new();
    for name in names[..n as usize]
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
    {
        let cname = CString::new(name).expect("split at NUL");
        let mut value = vec![0u8; 4096];
        // SAFETY: as above.
        let len = unsafe {
            libc::getxattr(
                c.as_ptr(),
                cname.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        value.truncate(len.max(0) as usize);
        out.push((String::from_utf8_lossy(name).into_owned(), value));
    }
    out.sort();
    Ok(out)
}

fn inode_flags(path: &Path) -> Result<i32, String> {
    let file = fs_err::File::open(path).map_err(|e| e.to_string())?;
    let mut flags: i32 = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one int to the pointer.
    let rc = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&file),
            FS_IOC_GETFLAGS as _,
            &mut flags,
        )
    };
    if rc != 0 {
        return Err(format!(
            "FS_IOC_GETFLAGS {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(flags)
}

fn file_meta(path: &Path) -> Result<FileMeta, String> {
    let m = fs_err::metadata(path).map_err(|e| e.to_string())?;
    Ok(FileMeta {
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
        xattrs: xattrs(path)?,
        flags: inode_flags(path)?,
    })
}

/// The file system under the trial's directory supports what the probe tries (user xattrs, inode
/// flags), shown on a control file the test changes itself.
fn metadata_precondition(dir: &Path) -> Result<(), String> {
    let control = dir.join("control.txt");
    write_file(&control, b"control")?;
    let c = cpath(&control);
    // SAFETY: valid NUL-terminated strings and a 1-byte value.
    let rc = unsafe {
        libc::setxattr(
            c.as_ptr(),
            c"user.x07control".as_ptr(),
            b"1".as_ptr().cast(),
            1,
            0,
        )
    };
    if rc != 0 {
        return Err(format!(
            "precondition: the test cannot set a user xattr on {} ({}), so it cannot tell whether the program could",
            control.display(),
            std::io::Error::last_os_error()
        ));
    }
    let file = fs_err::File::open(&control).map_err(|e| e.to_string())?;
    let mut flags = inode_flags(&control).map_err(|e| format!("precondition: {e}"))? | FS_NODUMP_FL;
    // SAFETY: FS_IOC_SETFLAGS reads one int.
    let rc = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&file),
            FS_IOC_SETFLAGS as _,
            &mut flags,
        )
    };
    if rc != 0 {
        return Err(format!(
            "precondition: the test cannot set inode flags on {} ({})",
            control.display(),
            std::io::Error::last_os_error()
        ));
    }
    fs_err::remove_file(&control).map_err(|e| e.to_string())
}

fn metadata_outside_and_read_root(run: &mut NativeRun) -> Result<(), String> {
    let outside = run.outside().join("meta.txt");
    let in_read_root = run.project().join("data/meta.txt");
    fs_err::create_dir_all(run.project().join("data")).map_err(|e| e.to_string())?;
    for path in [&outside, &in_read_root] {
        write_file(path, b"metadata probe target\n")?;
        fs_err::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .map_err(|e| e.to_string())?;
    }
    metadata_precondition(&run.outside())?;
    let before = [file_meta(&outside)?, file_meta(&in_read_root)?];
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    // ctime has the clock's granularity: let it move on, so a change during the run shows.
    std::thread::sleep(Duration::from_millis(20));
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, None);
    for ((path, what), before) in [
        (&outside, "outside every root"),
        (&in_read_root, "in a read root"),
    ]
    .into_iter()
    .zip(before)
    {
        let after = file_meta(path)?;
        let mut changed = |field: &str, b: String, a: String| {
            if a != b {
                f.add(format!(
                    "{} ({what}): {field} changed from {b} to {a}",
                    path.display()
                ));
            }
        };
        changed(
            "mode",
            format!("{:o}", before.mode),
            format!("{:o}", after.mode),
        );
        changed(
            "owner",
            format!("{}:{}", before.uid, before.gid),
            format!("{}:{}", after.uid, after.gid),
        );
        changed(
            "mtime",
            format!("{:?}", before.mtime),
            format!("{:?}", after.mtime),
        );
        changed(
            "xattrs",
            format!("{:?}", before.xattrs),
            format!("{:?}", after.xattrs),
        );
        changed(
            "inode flags",
            format!("{:#x}", before.flags),
            format!("{:#x}", after.flags),
        );
        changed(
            "ctime (any metadata change, a same-owner chown included)",
            format!("{:?}", before.ctime),
            format!("{:?}", after.ctime),
        );
    }
    f.finish(|| outcome.describe())
}

// ---------------------------------------------------------------------------------------------
// Class 5: inotify

fn inotify_outside(run: &mut NativeRun) -> Result<(), String> {
    let watched = run.outside().join("watched");
    fs_err::create_dir(&watched).map_err(|e| e.to_string())?;
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let inv = run.sandboxed(&policy, &[]);
    let handle = std::thread::spawn(move || inv.run());
    let ready = run.out().join("inotify.ready");
    let saw_ready = wait_until(Duration::from_secs(170), || {
        ready.exists() || handle.is_finished()
    });
    let saw_ready = saw_ready && ready.exists();
    let first = format!("first-{}", random_hex(4));
    write_file(&watched.join(&first), b"1")?;
    write_file(&watched.join("last"), b"2")?;
    let out = handle
        .join()
        .map_err(|_| "the x07 thread panicked".to_string())?
        .map_err(|e| e.to_string())?;
    let outcome = Outcome::from_output(out)?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, None);
    let watch = outcome
        .said_value("watch")
        .or_else(|| outcome.said_value("inotify_init").filter(|v| v != "ok"));
    f.check(
        watch.as_deref().is_some_and(|w| w.starts_with("err:")),
        || {
            format!(
                "inotify_add_watch on {} (outside every root) succeeded: watch={watch:?}",
                watched.display()
            )
        },
    );
    let events: Vec<String> = outcome
        .said()
        .into_iter()
        .filter(|(k, _)| k == "event")
        .map(|(_, v)| v)
        .collect();
    f.check(events.is_empty(), || {
        format!(
            "the program observed the test's file creations in {}: {events:?}",
            watched.display()
        )
    });
    f.check(saw_ready || watch.as_deref().is_some_and(|w| w.starts_with("err:")), || {
        format!("precondition: the watch was set but {} never appeared, so the files were not made while it watched", ready.display())
    });
    f.finish(|| outcome.describe())
}

// ---------------------------------------------------------------------------------------------
// Class 6: MPTCP and plain TCP to a port the policy does not list

fn connect_disallowed_port(run: &mut NativeRun, how: &str) -> Result<(), String> {
    use common_sandbox::listener::LoopbackListener;
    let allowed = LoopbackListener::start().map_err(|e| e.to_string())?;
    let denied = LoopbackListener::start().map_err(|e| e.to_string())?;
    run.set("ALLOWED_PORT", allowed.port().to_string());
    run.set("DENIED_PORT", denied.port().to_string());
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(
        &policy,
        &[
            "--allow-host".into(),
            format!("127.0.0.1:{}", allowed.port()),
        ],
    ))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, None);
    let control = allowed.accepted();
    f.check(control >= 1, || {
        format!(
            "precondition: the control connection to the allowed 127.0.0.1:{} did not arrive, so networking is not usable and the trial proves nothing",
            allowed.port()
        )
    });
    let got = denied.accepted();
    f.check(got == 0, || {
        format!("listener on 127.0.0.1:{} (not in allow_hosts) accepted {got} connection(s) made with {how}", denied.port())
    });
    f.finish(|| outcome.describe())
}

fn net_mptcp_disallowed_port(run: &mut NativeRun) -> Result<(), String> {
    connect_disallowed_port(run, "socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP)")
}

fn net_tcp_disallowed_port(run: &mut NativeRun) -> Result<(), String> {
    connect_disallowed_port(run, "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)")
}

/// The guest's relay asked for destinations the policy does not list: the host's IPv6 loopback on
/// the allowed port (a listener this test holds there), another loopback address, another port.
/// Only the host proxy decides; nothing may arrive but the control connection.
fn net_vm_relay_other_addresses(run: &mut NativeRun) -> Result<(), String> {
    use common_sandbox::listener::LoopbackListener;
    let allowed = LoopbackListener::start().map_err(|e| e.to_string())?;
    let denied = LoopbackListener::start().map_err(|e| e.to_string())?;
    // the host's [::1] on the allowed port number: a connection is queued even if never accepted
    let v6 = std::net::TcpListener::bind(("::1", allowed.port())).map_err(|e| {
        format!(
            "precondition: cannot listen on [::1]:{}: {e}",
            allowed.port()
        )
    })?;
    v6.set_nonblocking(true).map_err(|e| e.to_string())?;
    run.set("ALLOWED_PORT", allowed.port().to_string());
    run.set("DENIED_PORT", denied.port().to_string());
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(
        &policy,
        &[
            "--allow-host".into(),
            format!("127.0.0.1:{}", allowed.port()),
        ],
    ))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, None);
    f.check(allowed.accepted() >= 1, || {
        format!(
            "precondition: the control connection to the allowed 127.0.0.1:{} did not arrive through the proxy, so the trial proves nothing",
            allowed.port()
        )
    });
    let v6_arrived = v6.accept().is_ok();
    f.check(!v6_arrived, || {
        format!(
            "the host's [::1]:{} (not in allow_hosts) accepted a connection relayed from the guest",
            allowed.port()
        )
    });
    let got = denied.accepted();
    f.check(got == 0, || {
        format!(
            "listener on 127.0.0.1:{} (not in allow_hosts) accepted {got} connection(s)",
            denied.port()
        )
    });
    f.finish(|| outcome.describe())
}

// ---------------------------------------------------------------------------------------------
// Class 7: listen() without bind()

fn net_listen_autobind(run: &mut NativeRun) -> Result<(), String> {
    let control = common_sandbox::listener::LoopbackListener::start().map_err(|e| e.to_string())?;
    let marker = random_hex(8);
    run.set("MARKER", marker.clone());
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let inv = run.sandboxed(
        &policy,
        &[
            "--allow-host".into(),
            format!("127.0.0.1:{}", control.port()),
        ],
    );
    let handle = std::thread::spawn(move || inv.run());
    let port_file = run.out().join("listen.port");
    let read_port = || {
        fs_err::read_to_string(&port_file)
            .ok()
            .and_then(|t| t.trim().parse::<u16>().ok())
    };
    wait_until(Duration::from_secs(170), || {
        read_port().is_some() || handle.is_finished()
    });
    let port = read_port();
    let mut reached = None;
    if let Some(port) = port.filter(|p| *p > 0) {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
            let mut banner = String::new();
            let _ = stream.read_to_string(&mut banner);
            // Someone else's listener on that port would not know this run's marker.
            if banner.contains(&marker) {
                reached = Some((port, banner.trim().to_owned()));
            }
        }
    }
    let out = handle
        .join()
        .map_err(|_| "the x07 thread panicked".to_string())?
        .map_err(|e| e.to_string())?;
    let outcome = Outcome::from_output(out)?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, None);
    if let Some((port, banner)) = reached {
        f.add(format!(
            "the test connected to 127.0.0.1:{port} and reached the program's listener (listen() without bind()); it answered {banner:?}"
        ));
    }
    let listened = outcome.said_value("listen").as_deref() == Some("ok");
    f.check(!listened || port.is_some(), || {
        format!("precondition: the program listened but {} never appeared, so the test could not try to connect", port_file.display())
    });
    f.finish(|| outcome.describe())
}

// ---------------------------------------------------------------------------------------------
// Class 8: SysV shared memory

/// The test's own shared memory segment, removed when dropped.
struct ShmSegment {
    id: i32,
    key: i32,
}

impl ShmSegment {
    fn create(content: &[u8]) -> Result<Self, String> {
        for _ in 0..8 {
            let rand = u32::from_str_radix(&random_hex(3), 16).expect("hex");
            let key = (0x0700_0000u32 | rand) as i32;
            // SAFETY: plain System V calls on a segment this test creates.
            let id = unsafe { libc::shmget(key, 4096, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
            if id < 0 {
                continue;
            }
            let seg = Self { id, key };
            seg.with(|mem| {
                mem[..content.len()].copy_from_slice(content);
                mem[content.len()] = 0;
            })?;
            return Ok(seg);
        }
        Err(format!(
            "cannot create a SysV shared memory segment: {}",
            std::io::Error::last_os_error()
        ))
    }

    fn with<T>(&self, f: impl FnOnce(&mut [u8]) -> T) -> Result<T, String> {
        // SAFETY: attach our own 4096-byte segment, use it, detach it.
        unsafe {
            let p = libc::shmat(self.id, std::ptr::null(), 0);
            if p as isize == -1 {
                return Err(format!("shmat: {}", std::io::Error::last_os_error()));
            }
            let out = f(std::slice::from_raw_parts_mut(p.cast::<u8>(), 4096));
            libc::shmdt(p);
            Ok(out)
        }
    }
}

impl Drop for ShmSegment {
    fn drop(&mut self) {
        // SAFETY: removes the segment this test created.
        unsafe {
            libc::shmctl(self.id, libc::IPC_RMID, std::ptr::null_mut());
        }
    }
}

fn sysv_shm_outside(run: &mut NativeRun) -> Result<(), String> {
    let secret = new_secret("shm");
    let seg = ShmSegment::create(secret.as_bytes())?;
    run.set("SHM_KEY", format!("{:#x}", seg.key));
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, None);
    let now = seg.with(|mem| {
        let end = mem.iter().position(|b| *b == 0).unwrap_or(mem.len());
        String::from_utf8_lossy(&mem[..end]).into_owned()
    })?;
    f.check(now == secret, || {
        format!("the shared memory segment with key {:#x} (outside the sandbox) was overwritten: it now holds {now:?}", seg.key)
    });
    require_no_secret(
        &mut f,
        run,
        &outcome,
        &secret,
        &format!("the SysV shared memory segment with key {:#x}", seg.key),
    );
    f.finish(|| outcome.describe())
}

// ---------------------------------------------------------------------------------------------
// Class 9: unix datagrams

fn drain(sock: &UnixDatagram) -> Vec<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while let Ok(n) = sock.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got
}

fn unix_dgram_outside(run: &mut NativeRun) -> Result<(), String> {
    use std::os::linux::net::SocketAddrExt as _;
    let named_path = run.outside().join("dgram.sock");
    let named = UnixDatagram::bind(&named_path)
        .map_err(|e| format!("bind {}: {e}", named_path.display()))?;
    let abstract_name = format!("x07-native-{}", random_hex(8));
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes())
        .map_err(|e| e.to_string())?;
    let abstract_sock =
        UnixDatagram::bind_addr(&addr).map_err(|e| format!("bind @{abstract_name}: {e}"))?;
    for s in [&named, &abstract_sock] {
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
    }
    run.set("ABSTRACT", abstract_name.clone());
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, None);
    std::thread::sleep(Duration::from_millis(50));
    for (sock, name) in [
        (&named, named_path.display().to_string()),
        (&abstract_sock, format!("@{abstract_name} (abstract)")),
    ] {
        let got = drain(sock);
        f.check(got.is_empty(), || format!("the unix datagram socket {name} outside the sandbox received {} datagram(s): {got:?}", got.len()));
        // The control: the socket works (a datagram from the test itself arrives).
        let sender = UnixDatagram::unbound().map_err(|e| e.to_string())?;
        let sent = if sock as *const _ == &named as *const _ {
            sender.send_to(b"control", &named_path)
        } else {
            sender.send_to_addr(b"control", &addr)
        };
        let back = drain(sock);
        f.check(sent.is_ok() && back == ["control"], || {
            format!("precondition: the test's own datagram to {name} did not arrive ({sent:?}, {back:?}), so the socket proves nothing")
        });
    }
    f.finish(|| outcome.describe())
}

// ---------------------------------------------------------------------------------------------
// Class 10: same-uid process manipulation

/// The attributes of a process the probe tries to change.
#[derive(Debug, PartialEq, Eq)]
struct ProcAttrs {
    nice: i32,
    limits: String,
    affinity: String,
    policy: i32,
    ioprio: i64,
}

fn proc_attrs(pid: i32) -> Result<ProcAttrs, String> {
    // SAFETY: plain queries of a process this test started.
    let (nice, policy, ioprio) = unsafe {
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, pid as libc::id_t);
        if nice == -1 && *libc::__errno_location() != 0 {
            return Err(format!(
                "getpriority({pid}): {}",
                std::io::Error::last_os_error()
            ));
        }
        (
            nice,
            libc::sched_getscheduler(pid),
            libc::syscall(libc::SYS_ioprio_get, 1, pid),
        )
    };
    let status =
        fs_err::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    let affinity = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_owned())
        .ok_or("no Cpus_allowed_list")?;
    Ok(ProcAttrs {
        nice,
        limits: fs_err::read_to_string(format!("/proc/{pid}/limits")).map_err(|e| e.to_string())?,
        affinity,
        policy,
        ioprio,
    })
}

/// The CPUs `pid` may run on.
fn cpus_of(pid: i32) -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|c| libc::CPU_ISSET(*c, &set))
            .collect()
    }
}

/// A `sleep 300` this test started (it outlives any build); killed and reaped when dropped (it is
/// the test's own child).
struct Sleeper(std::process::Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn same_uid_process_tuning(run: &mut NativeRun) -> Result<(), String> {
    let sleeper = Sleeper(
        std::process::Command::new("sleep")
            .arg("300")
            .spawn()
            .map_err(|e| format!("start sleep: {e}"))?,
    );
    let pid = sleeper.0.id() as i32;
    wait_until(Duration::from_secs(5), || {
        fs_err::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
    });
    let cpus = cpus_of(pid);
    if cpus.len() < 2 {
        return Err(format!(
            "precondition: process {pid} may run on {cpus:?}: with fewer than two CPUs a change of its affinity cannot be seen"
        ));
    }
    let before = proc_attrs(pid)?;
    run.set("TARGET_PID", pid.to_string());
    run.set("ONE_CPU", cpus[0].to_string());
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, None);
    let after = proc_attrs(pid)?;
    let what = format!("process {pid} (`sleep 300`, outside the sandbox)");
    f.check(before.nice == after.nice, || {
        format!(
            "setpriority: the nice value of {what} changed from {} to {}",
            before.nice, after.nice
        )
    });
    f.check(before.limits == after.limits, || {
        format!(
            "prlimit64: the limits of {what} changed:\nbefore:\n{}after:\n{}",
            before.limits, after.limits
        )
    });
    f.check(before.affinity == after.affinity, || {
        format!(
            "sched_setaffinity: the CPUs of {what} changed from {} to {}",
            before.affinity, after.affinity
        )
    });
    f.check(before.policy == after.policy, || {
        format!(
            "sched_setscheduler: the scheduling policy of {what} changed from {} to {}",
            before.policy, after.policy
        )
    });
    f.check(before.ioprio == after.ioprio, || {
        format!(
            "ioprio_set: the I/O priority of {what} changed from {:#x} to {:#x}",
            before.ioprio, after.ioprio
        )
    });
    f.check(outcome.said_value("kill0").as_deref() != Some("ok"), || {
        format!("kill({pid}, 0) succeeded inside the sandbox (the program's own report): it can see and signal {what}")
    });
    drop(sleeper);
    f.finish(|| outcome.describe())
}

// ---------------------------------------------------------------------------------------------
// Extras

const MIB: u64 = 1024 * 1024;

fn disk_cap_across_processes(run: &mut NativeRun) -> Result<(), String> {
    let cap = 4 * MIB;
    run.set("CAP_BYTES", cap.to_string());
    let policy = ffi_policy(run, json!({"fs": {"max_write_bytes": cap}}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, None);
    let big = run.out().join("big.bin");
    f.check(big.exists(), || {
        format!("precondition: {} was never created, so the write root was not writable and the cap was not exercised", big.display())
    });
    for (name, who) in [
        ("big.bin", "the program, then a forked child appending"),
        ("child.bin", "a forked child"),
    ] {
        let path = run.out().join(name);
        if let Ok(m) = fs_err::metadata(&path) {
            f.check(m.len() <= cap, || {
                format!("{} holds {} bytes on disk (written by {who}); the policy's fs.max_write_bytes is {cap}", path.display(), m.len())
            });
        }
    }
    f.finish(|| outcome.describe())
}

fn mem_cap_across_processes(run: &mut NativeRun) -> Result<(), String> {
    let (cap_mib, child_mib) = (256u64, 200u64);
    run.set("CAP_MIB", cap_mib.to_string());
    run.set("CHILD_MIB", child_mib.to_string());
    let policy = ffi_policy(
        run,
        json!({"limits": {"mem_bytes": cap_mib * MIB, "procs": 32}}),
    )?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    let done = outcome.said_value("mem_probe_done").as_deref() == Some("1");
    let stopped = outcome.view.as_ref().is_some_and(|v| !v.ok);
    if !done {
        // The cap may end the whole run (an OOM kill of the group): then there is no report,
        // and the run must say it was stopped.
        f.check(outcome.built() && stopped, || {
            "precondition: the probe did not finish its report and the run was not stopped: the trial proves nothing".into()
        });
    } else {
        let together: u64 = outcome
            .said_value("held_together_mib")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        f.check(together <= cap_mib, || {
            format!("three forked children held {together} MiB at the same time; the policy's limits.mem_bytes is {cap_mib} MiB")
        });
    }
    f.finish(|| outcome.describe())
}

fn pids_cap_across_processes(run: &mut NativeRun) -> Result<(), String> {
    let procs = 8u64;
    run.set("PROCS", procs.to_string());
    let policy = ffi_policy(run, json!({"limits": {"procs": procs}}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    f.check(
        outcome.said_value("pids_probe_done").as_deref() == Some("1"),
        || "precondition: the probe did not finish its report: the trial proves nothing".into(),
    );
    let forks: u64 = outcome
        .said_value("forks")
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX);
    // pids.max = procs + 1: the run's init, the program and procs - 1 children
    f.check(forks < procs, || {
        format!("the program forked {forks} children at once; limits.procs is {procs} (the program counts too)")
    });
    f.check(
        outcome.said_value("fork_errno") == Some(libc::EAGAIN.to_string()),
        || "fork stopped for another reason than the cap (EAGAIN)".into(),
    );
    // which cgroup version held it: the guest always has v2; this host whichever it mounts
    if let Some(sandbox) = outcome.report.as_ref().map(|r| &r["sandbox"]) {
        let expected = if run.launch == Launch::Vm
            || Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
        {
            "cgroup-v2"
        } else {
            "cgroup-v1"
        };
        f.check(sandbox["pids_mechanism"] == expected, || {
            format!(
                "the run reports pids_mechanism {}, not {expected}",
                sandbox["pids_mechanism"]
            )
        });
    }
    f.finish(|| outcome.describe())
}

fn netlink_vsock_sockets(run: &mut NativeRun) -> Result<(), String> {
    let control = common_sandbox::listener::LoopbackListener::start().map_err(|e| e.to_string())?;
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(
        &policy,
        &[
            "--allow-host".into(),
            format!("127.0.0.1:{}", control.port()),
        ],
    ))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, None);
    let said = outcome.said();
    for tag in [
        "netlink_route_raw",
        "netlink_route_dgram",
        "netlink_audit",
        "netlink_kobject_uevent",
        "vsock_stream",
        "vsock_dgram",
    ] {
        let got = said.iter().find(|(k, _)| k == tag).map(|(_, v)| v.clone());
        f.check(got.as_deref().is_some_and(|v| v.starts_with("err:")), || {
            format!("socket creation `{tag}` should fail inside the sandbox, the program reports {got:?}")
        });
    }
    let host_links: Vec<String> = fs_err::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "lo")
                .collect()
        })
        .unwrap_or_default();
    let seen: Vec<String> = said
        .iter()
        .filter(|(k, _)| k == "netlink_link")
        .map(|(_, v)| v.clone())
        .collect();
    let host_seen: Vec<&String> = seen.iter().filter(|l| host_links.contains(l)).collect();
    f.check(host_seen.is_empty(), || {
        format!("through netlink the program listed the host's network interfaces {host_seen:?}")
    });
    f.finish(|| outcome.describe())
}

/// The host's mounts as this test sees them: unique mount ids (listmount) and mount points.
fn host_mounts() -> Result<(Vec<u64>, Vec<String>), String> {
    #[repr(C)]
    struct MntIdReq {
        size: u32,
        spare: u32,
        mnt_id: u64,
        param: u64,
    }
    let req = MntIdReq {
        size: 24,
        spare: 0,
        mnt_id: u64::MAX,
        param: 0,
    };
    let mut ids = vec![0u64; 4096];
    // SAFETY: listmount(2) writes at most `ids.len()` ids.
    let n = unsafe { libc::syscall(458, &req as *const MntIdReq, ids.as_mut_ptr(), ids.len(), 0) };
    if n < 0 {
        return Err(format!(
            "precondition: listmount(2) does not work here ({}), so the trial cannot tell what the program saw",
            std::io::Error::last_os_error()
        ));
    }
    ids.truncate(n as usize);
    let mountinfo = fs_err::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
    let points = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| p.replace("\\040", " "))
        .collect();
    Ok((ids, points))
}

fn listmount_host_mounts(run: &mut NativeRun) -> Result<(), String> {
    let (host_ids, host_points) = host_mounts()?;
    // Mount points a fresh root could have on its own are not evidence: only the host's others are.
    let own_kind = |p: &str| {
        ["/", "/proc", "/sys", "/dev", "/tmp"].contains(&p)
            || p.starts_with("/proc/")
            || p.starts_with("/dev/")
    };
    let host_only: Vec<&String> = host_points.iter().filter(|p| !own_kind(p)).collect();
    if host_only.is_empty() {
        return Err(format!("precondition: the host has no mount point a sandbox would not have of its own ({host_points:?})"));
    }
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, None);
    let said = outcome.said();
    let ids: Vec<u64> = said
        .iter()
        .filter(|(k, _)| k == "mount_id")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let points: Vec<&String> = said
        .iter()
        .filter(|(k, _)| k == "mount_point")
        .map(|(_, v)| v)
        .collect();
    let shared: Vec<&u64> = ids.iter().filter(|i| host_ids.contains(i)).collect();
    f.check(shared.is_empty(), || {
        format!("listmount(2) inside the sandbox listed {} of the host's {} mounts (same unique mount ids)", shared.len(), host_ids.len())
    });
    let leaked: Vec<&&String> = points.iter().filter(|p| host_only.contains(p)).collect();
    f.check(leaked.is_empty(), || {
        format!("statmount(2) inside the sandbox showed host mount points {leaked:?}")
    });
    let outer = run.stage.outer().display().to_string();
    f.check(!points.iter().any(|p| p.starts_with(&outer) && !p.starts_with(&run.project().display().to_string())), || {
        format!("the program saw a mount point under the test's directory {outer} outside the roots")
    });
    f.finish(|| outcome.describe())
}

fn stat_readlink_access_outside(run: &mut NativeRun) -> Result<(), String> {
    const SIZE: usize = 12345;
    let secret = new_secret("link-target");
    let target = run.outside().join("statme.bin");
    write_file(&target, &vec![b's'; SIZE])?;
    let link = run.outside().join("link");
    std::os::unix::fs::symlink(&secret, &link).map_err(|e| e.to_string())?;
    let policy = ffi_policy(run, json!({}))?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    require_probe_ran(&mut f, &outcome, None);
    for (op, path) in [
        ("stat", &target),
        ("statx", &target),
        ("lstat", &link),
        ("access", &target),
        ("readlink", &link),
    ] {
        let got = outcome.said_value(op);
        f.check(matches!(got.as_deref(), Some("err:ENOENT" | "err:EACCES")), || {
            format!("{op} of {} (outside every root) should fail with ENOENT or EACCES, the program reports {got:?}", path.display())
        });
    }
    for key in ["stat_size", "statx_size"] {
        if let Some(size) = outcome.said_value(key) {
            f.add(format!(
                "the size of {} ({size} bytes) arrived inside the sandbox ({key})",
                target.display()
            ));
        }
    }
    require_no_secret(
        &mut f,
        run,
        &outcome,
        &secret,
        &format!("the target of the symlink {}", link.display()),
    );
    f.finish(|| outcome.describe())
}

/// A package with `meta.ffi_libs` under a policy with `language.allow_ffi: false` must be refused
/// at build time, and the refusal must name the rule.
fn ffi_libs_refused(run: &mut NativeRun) -> Result<(), String> {
    let policy = ffi_policy(
        run,
        json!({"language": {"allow_ffi": false, "allow_unsafe": true}}),
    )?;
    run.stage_package()?;
    let outcome = Outcome::run(run.sandboxed(&policy, &[]))?;
    let mut f = Findings::default();
    f.check(outcome.out.exit_code.is_some_and(|c| c != 0), || {
        format!("x07 run exited {:?}: a package linking meta.ffi_libs under allow_ffi false should be refused", outcome.out.exit_code)
    });
    f.check(!outcome.built(), || "the program was built although the policy forbids FFI and the package links a native library".into());
    f.check(!outcome.probe_ran(), || "the program ran".into());
    let text: String = outcome
        .texts()
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect();
    f.check(text.contains("allow_ffi"), || {
        "the refusal should name the rule (language.allow_ffi)".into()
    });
    f.finish(|| outcome.describe())
}
