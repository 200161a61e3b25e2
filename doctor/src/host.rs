//! The host: the sandbox's kernel mechanisms, qemu and the guest image, the registry.

use std::time::Duration;

use x07_spec::doctor::DoctorCheck;

use crate::check;
use crate::needs::Needs;

/// Whether this process may create a user namespace (a child tries, then exits).
fn userns_probe() -> Result<String, String> {
    // SAFETY: a raw clone like fork; the child only calls _exit.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::CLONE_NEWUSER | libc::SIGCHLD,
            0,
            0,
            0,
            0,
        )
    };
    if pid < 0 {
        return Err(format!(
            "clone(CLONE_NEWUSER) fails: {}",
            std::io::Error::last_os_error()
        ));
    }
    if pid == 0 {
        // SAFETY: the child exits at once.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waiting for the child made above.
    unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
    Ok("a process can create a user namespace".into())
}

/// The Landlock ABI version, or why there is none.
fn landlock_abi() -> Result<i64, String> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: the version query takes no ruleset.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if v < 1 {
        return Err(format!(
            "Landlock is not available: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(v)
}

/// Whether seccomp filters can be installed (PR_SET_SECCOMP with a null filter: EFAULT when the
/// kernel has them).
fn seccomp_probe() -> Result<String, String> {
    // SAFETY: a null filter pointer is never read; the call fails before installing anything.
    let r = unsafe { libc::prctl(libc::PR_SET_SECCOMP, 2, 0, 0, 0) };
    let e = std::io::Error::last_os_error();
    if r != 0 && e.raw_os_error() == Some(libc::EFAULT) {
        Ok("seccomp filters are available".into())
    } else {
        Err(format!("seccomp filter mode is not available ({e})"))
    }
}

/// Whether the run's cgroups (pids and memory limits) can be made here.
fn cgroup_probe() -> Result<String, String> {
    let writable = |p: &str| {
        let c = std::ffi::CString::new(p).expect("no NUL");
        // SAFETY: a valid path.
        unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
    };
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        let own = fs_err::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let path = own
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .unwrap_or("/")
            .trim()
            .to_string();
        let dir = format!("/sys/fs/cgroup{}", if path == "/" { "" } else { &path });
        if writable(&dir) || writable("/sys/fs/cgroup") {
            return Ok(format!("cgroup v2, {dir} is writable"));
        }
        return Err(format!("cgroup v2, and {dir} is not writable by this user"));
    }
    if writable("/sys/fs/cgroup/pids") {
        Ok("cgroup v1, /sys/fs/cgroup/pids is writable".into())
    } else {
        Err("cgroup v1, and /sys/fs/cgroup/pids is not writable by this user".into())
    }
}

/// The kernel mechanisms the launcher applies (it confines programs on the os backend, and qemu
/// on the vm backend).
pub(crate) fn check_sandbox(checks: &mut Vec<DoctorCheck>, needs: &Needs) {
    let blocks = needs.sandbox_kernel();
    checks.push(check(
        "userns",
        "user namespaces",
        userns_probe().map_err(|e| {
            (
                e,
                "enable unprivileged user namespaces: sysctl -w kernel.unprivileged_userns_clone=1 (Debian) or user.max_user_namespaces=10000".into(),
            )
        }),
        blocks,
    ));
    checks.push(check(
        "landlock",
        "Landlock",
        landlock_abi()
            .map(|v| {
                if v >= 4 {
                    format!("ABI {v} (files and TCP ports)")
                } else {
                    format!("ABI {v} (files; no network rules before ABI 4, reported as weaker)")
                }
            })
            .map_err(|e| {
                (
                    e,
                    "boot a kernel with Landlock (5.13 or later) enabled: add landlock to lsm= on its command line".into(),
                )
            }),
        blocks,
    ));
    checks.push(check(
        "seccomp",
        "seccomp filters",
        seccomp_probe().map_err(|e| (e, "boot a kernel built with CONFIG_SECCOMP_FILTER".into())),
        blocks,
    ));
    checks.push(check(
        "cgroups",
        "cgroups for the run's pids and memory limits",
        cgroup_probe().map_err(|e| {
            (
                e,
                "run as root, or inside a delegated cgroup: systemd-run --user --scope -p Delegate=yes x07 ...".into(),
            )
        }),
        blocks,
    ));
}

/// qemu, KVM and the guest image of the vm backend.
pub(crate) fn check_vm(checks: &mut Vec<DoctorCheck>, needs: &Needs) {
    let blocks = needs.vm();
    checks.push(check(
        "qemu",
        "qemu (the vm backend)",
        x07_vm::qemu_binary()
            .map(|p| p.display().to_string())
            .map_err(|e| (e.to_string(), "apt-get install qemu-system-x86".into())),
        blocks,
    ));
    // never blocking: without KVM the guest runs under TCG, slower
    checks.push(check(
        "kvm",
        "KVM acceleration",
        match x07_vm::kvm_unusable() {
            None => Ok("/dev/kvm opens and the CPU has hardware virtualization".into()),
            Some(why) => Err((
                format!("{why}; guests run under TCG (software emulation, a few seconds per boot)"),
                "on a VM host, enable nested virtualization; else add the user to the kvm group"
                    .into(),
            )),
        },
        false,
    ));
    let image = x07_builder::cc::X07Home::from_env()
        .map_err(|e| e.to_string())
        .and_then(|home| x07_vm::current_image(&home).map_err(|e| e.to_string()));
    checks.push(check(
        "guest-image",
        "x07's guest image",
        image
            .map(|i| format!("{} (kernel {})", i.digest, i.manifest.kernel_release))
            .map_err(|e| (e, "x07 vm image build".into())),
        blocks,
    ));
}

/// x07-vm-launcher beside x07 (or `X07_VM_LAUNCHER`): what `x07 bundle` copies into a VM bundle.
pub(crate) fn check_vm_launcher(checks: &mut Vec<DoctorCheck>) {
    let path = match std::env::var_os("X07_VM_LAUNCHER").filter(|v| !v.is_empty()) {
        Some(p) => Some(std::path::PathBuf::from(p)),
        None => std::env::current_exe()
            .ok()
            .map(|e| e.with_file_name("x07-vm-launcher")),
    };
    let outcome = match path {
        Some(p) if p.is_file() => Ok(p.display().to_string()),
        Some(p) => Err((
            format!("{} is missing (VM bundles copy it)", p.display()),
            "cargo install --locked --path vm-launcher (or build it beside x07: cargo build -p x07-vm-launcher), or set X07_VM_LAUNCHER".to_string(),
        )),
        None => Err((
            "cannot find where x07 runs from".to_string(),
            "set X07_VM_LAUNCHER".to_string(),
        )),
    };
    // only `x07 bundle` of the vm backend needs it
    checks.push(check(
        "vm-launcher",
        "x07-vm-launcher (VM bundles)",
        outcome,
        false,
    ));
}

/// Whether the configured package index answers.
pub(crate) fn check_registry(checks: &mut Vec<DoctorCheck>, _needs: &Needs) {
    use x07_registry_client::{select_index_url_from_env, IndexLocation};
    let fix = |url: &str, source: &str| {
        format!(
            "the index {url} ({source}) is not reachable: name another with --index URL or X07_PKG_INDEX_URL, or run one locally with `x07 registry serve --root DIR` and set X07_PKG_INDEX_URL=sparse+http://127.0.0.1:PORT/index/; packages already in .x07/deps build without it"
        )
    };
    let outcome = match select_index_url_from_env(None, None) {
        Err(e) => Err((e.to_string(), "fix X07_PKG_INDEX_URL".to_string())),
        Ok((url, source)) => {
            let shown = url.as_str().to_string();
            match url.location() {
                IndexLocation::File(dir) => {
                    if dir.join("config.json").is_file() {
                        Ok(format!("{shown} ({})", source.describe()))
                    } else {
                        Err((
                            format!("{} has no config.json", dir.display()),
                            fix(&shown, source.describe()),
                        ))
                    }
                }
                IndexLocation::Http(base) => {
                    let config = base.join("config.json").map_err(|e| e.to_string());
                    let answer = config.and_then(|u| {
                        reqwest::blocking::Client::builder()
                            .timeout(Duration::from_secs(3))
                            .build()
                            .and_then(|c| c.get(u).send())
                            .map_err(|e| e.to_string())
                    });
                    match answer {
                        Ok(r) if r.status().is_success() => {
                            Ok(format!("{shown} ({}) answers", source.describe()))
                        }
                        Ok(r) => Err((
                            format!("{shown} answered {}", r.status()),
                            fix(&shown, source.describe()),
                        )),
                        Err(e) => Err((e, fix(&shown, source.describe()))),
                    }
                }
            }
        }
    };
    // never blocking: a project's locked packages in .x07/deps build offline
    checks.push(check("registry", "package index", outcome, false));
}
