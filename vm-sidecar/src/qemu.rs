//! Booting a guest image under qemu (`-M microvm`, direct boot of the uncompressed kernel, no
//! disk, no default devices). Acceleration: KVM only when /dev/kvm opens, the CPU advertises
//! hardware virtualization and a short probe boot succeeds; otherwise TCG. Every boot has a
//! wall-clock limit after which qemu is killed: a guest never hangs the caller.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::GuestImage;

/// Which accelerator (`X07_VM_ACCEL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// KVM when usable, else TCG.
    Auto,
    /// KVM only.
    Kvm,
    /// Software emulation.
    Tcg,
}

impl std::str::FromStr for Accel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "kvm" => Ok(Self::Kvm),
            "tcg" => Ok(Self::Tcg),
            other => Err(format!("`{other}` is not auto, kvm or tcg")),
        }
    }
}

/// What a probe boot showed.
#[derive(Debug, Clone)]
pub struct BootReport {
    /// The accelerator used.
    pub accel: Accel,
    /// The guest agent's console lines (`x07-guest: ...`).
    pub agent_lines: Vec<String>,
    /// The kernel release the agent reported.
    pub release: Option<String>,
    /// Wall time from starting qemu to its exit.
    pub elapsed: Duration,
}

/// Why a boot failed.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// qemu is not installed.
    #[error("qemu-system-x86_64 is not installed (Debian: apt-get install qemu-system-x86), or set X07_QEMU")]
    NoQemu,
    /// KVM was asked for and is not usable here.
    #[error("X07_VM_ACCEL=kvm: {0}")]
    NoKvm(String),
    /// qemu could not start or its state directory could not be made.
    #[error("cannot run {}: {source}", .qemu.display())]
    Spawn {
        /// The qemu binary.
        qemu: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The guest did not report ready before the limit; qemu was killed.
    #[error("the guest did not come up within {limit:?} (qemu killed); console:\n{console}")]
    Timeout {
        /// The limit.
        limit: Duration,
        /// What the console showed.
        console: String,
    },
    /// qemu exited without the agent reporting ready.
    #[error("the guest stopped without reporting ready ({status}); qemu said:\n{qemu_stderr}\nconsole:\n{console}")]
    NotReady {
        /// qemu's exit status.
        status: String,
        /// The end of what qemu (or the launcher confining it) wrote on stderr.
        qemu_stderr: String,
        /// What the console showed.
        console: String,
    },
}

/// The qemu binary: `X07_QEMU`, else `qemu-system-x86_64` on `PATH`.
pub fn qemu_binary() -> Result<PathBuf, BootError> {
    if let Some(p) = std::env::var_os("X07_QEMU").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(BootError::NoQemu)
        };
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("qemu-system-x86_64"))
        .find(|p| p.is_file())
        .ok_or(BootError::NoQemu)
}

/// Why KVM cannot be used here, or `None` when it can be tried.
pub fn kvm_unusable() -> Option<String> {
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        return Some(format!("/dev/kvm does not open ({e})"));
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or_default();
    if !flags.split_whitespace().any(|f| f == "vmx" || f == "svm") {
        return Some(
            "the CPU advertises no hardware virtualization (vmx/svm): a nested guest would fail"
                .into(),
        );
    }
    None
}

/// The host's TSC frequency in kHz, for `tsc_early_khz` (under TCG the kernel's calibration
/// against the PIT sometimes fails and the guest hangs without it).
fn host_tsc_khz() -> Option<u64> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz: f64 = cpuinfo
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    Some((mhz * 1000.0) as u64)
}

/// What a boot adds to the machine: devices, a command-line suffix, and what a confined qemu
/// may read and write besides the image and the job's state.
#[derive(Debug, Default)]
struct Extra {
    args: Vec<String>,
    cmdline: String,
    read: Vec<PathBuf>,
    write: Vec<PathBuf>,
    /// x07's trusted launcher, to run qemu confined (docs/vm.md); `None`: unconfined.
    launcher: Option<PathBuf>,
    /// Virtual CPUs (0: one).
    cpus: u32,
    /// Files the guest writes that are copied to this process's stdout and stderr as they grow.
    stream: Option<[PathBuf; 2]>,
}

/// Copies what `files` gained since `offsets` to this process's stdout and stderr.
fn forward_growth(files: &[PathBuf; 2], offsets: &mut [u64; 2]) {
    use std::io::{Read as _, Seek as _, Write as _};
    for (i, path) in files.iter().enumerate() {
        let Ok(mut f) = std::fs::File::open(path) else {
            continue; // the job has not started yet
        };
        if f.seek(std::io::SeekFrom::Start(offsets[i])).is_err() {
            continue;
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() || buf.is_empty() {
            continue;
        }
        offsets[i] += buf.len() as u64;
        let _ = if i == 0 {
            std::io::stdout()
                .lock()
                .write_all(&buf)
                .and_then(|()| std::io::stdout().flush())
        } else {
            std::io::stderr().lock().write_all(&buf)
        };
    }
}

fn boot_once(
    qemu: &Path,
    image: &GuestImage,
    accel: Accel,
    limit: Duration,
) -> Result<BootReport, BootError> {
    let state = tempfile::tempdir().map_err(|source| BootError::Spawn {
        qemu: qemu.to_path_buf(),
        source,
    })?;
    boot_in(
        qemu,
        image,
        accel,
        limit,
        state.path(),
        &Extra::default(),
        256,
    )
}

fn boot_in(
    qemu: &Path,
    image: &GuestImage,
    accel: Accel,
    limit: Duration,
    state: &Path,
    extra: &Extra,
    memory_mb: u32,
) -> Result<BootReport, BootError> {
    let console = state.join("console.log");
    let mut cmdline = image.manifest.cmdline.clone();
    if let Some(khz) = host_tsc_khz() {
        cmdline.push_str(&format!(" tsc_early_khz={khz} tsc=reliable"));
    }
    cmdline.push_str(&extra.cmdline);
    let mut cmd = match &extra.launcher {
        None => Command::new(qemu),
        Some(launcher) => {
            let spawn_error = |message: String| BootError::Spawn {
                qemu: qemu.to_path_buf(),
                source: std::io::Error::other(message),
            };
            let real_qemu = fs_err::canonicalize(qemu).map_err(|e| spawn_error(e.to_string()))?;
            let mut read = vec![image.dir.clone()];
            read.extend(extra.read.iter().cloned());
            let mut write = vec![state.to_path_buf()];
            write.extend(extra.write.iter().cloned());
            let blob = crate::confine::policy_blob(&crate::confine::Confinement {
                qemu: &real_qemu,
                read,
                write,
                memory_mb,
                limit,
            })
            .map_err(spawn_error)?;
            let policy_file = state.join("qemu.policy");
            fs_err::write(&policy_file, blob).map_err(|e| spawn_error(e.to_string()))?;
            let mut c = Command::new(launcher);
            c.arg(format!("--x07-policy-file={}", policy_file.display()))
                .arg("--plain-exec")
                .arg("--")
                .arg(&real_qemu);
            c
        }
    };
    cmd.args(["-M", "microvm", "-smp"])
        .arg(extra.cpus.max(1).to_string())
        .arg("-m")
        .arg(format!("{memory_mb}M"))
        .args(&extra.args)
        .args(["-nodefaults", "-no-user-config", "-nographic", "-no-reboot"])
        .args(["-display", "none", "-monitor", "none"])
        // qemu's own seccomp filter: no obsolete calls, no privilege changes, no spawning, no
        // scheduler or affinity changes
        .args([
            "-sandbox",
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
        ])
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-kernel")
        .arg(&image.kernel)
        .arg("-initrd")
        .arg(&image.initramfs)
        .arg("-append")
        .arg(&cmdline);
    match accel {
        Accel::Kvm => cmd.args(["-accel", "kvm", "-cpu", "host"]),
        // TCG's translation cache defaults to 1 GiB of address space; a microvm running one
        // program needs far less, and a smaller reservation keeps a host under memory pressure
        // from refusing the guest's RAM
        _ => cmd.args(["-accel", "tcg,tb-size=256", "-cpu", "max"]),
    };
    // to a file, not a pipe nobody reads: qemu must never block on it, and its last words are
    // what explains a guest that never came up
    let stderr_path = state.join("qemu.stderr");
    let stderr_file = fs_err::File::create(&stderr_path).map_err(|source| BootError::Spawn {
        qemu: qemu.to_path_buf(),
        source,
    })?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(stderr_file.into_parts().0));
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|source| BootError::Spawn {
        qemu: qemu.to_path_buf(),
        source,
    })?;
    let mut offsets = [0u64; 2];
    let status = loop {
        if let Some(files) = &extra.stream {
            forward_growth(files, &mut offsets);
        }
        if let Some(status) = child.try_wait().map_err(|source| BootError::Spawn {
            qemu: qemu.to_path_buf(),
            source,
        })? {
            if let Some(files) = &extra.stream {
                forward_growth(files, &mut offsets);
            }
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(BootError::Timeout {
                limit,
                console: fs_err::read_to_string(&console).unwrap_or_default(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let text = fs_err::read_to_string(&console).unwrap_or_default();
    let agent_lines: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("x07-guest: "))
        .map(str::to_string)
        .collect();
    let release = agent_lines
        .iter()
        .find_map(|l| l.strip_prefix("x07-guest: ready "))
        .and_then(release_token);
    if release.is_none() {
        let said = fs_err::read_to_string(&stderr_path).unwrap_or_default();
        let tail: Vec<&str> = said.lines().rev().take(20).collect();
        return Err(BootError::NotReady {
            status: status.to_string(),
            qemu_stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            console: text,
        });
    }
    Ok(BootReport {
        accel,
        agent_lines,
        release,
        elapsed,
    })
}

/// How a job in the guest ended, as the agent reported it on the status port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStatus {
    /// The payload exited with this code.
    Exit(i32),
    /// The payload was killed by this signal.
    Signal(i32),
    /// The agent could not run the job (the reason).
    AgentError(String),
}

/// A host directory shared into the guest at the same path.
#[derive(Debug, Clone)]
pub struct Share {
    /// The host directory (absolute; also its path in the guest).
    pub path: PathBuf,
    /// Read-write (a write root) or read-only.
    pub writable: bool,
}

/// One job: executables and data copied into the job directory, run in a fresh guest.
#[derive(Debug)]
pub struct JobSpec<'a> {
    /// Files copied into the job directory (`/x07/in/<name>` in the guest; made executable).
    pub files: &'a [(&'a str, &'a Path)],
    /// Files placed in the guest's root before the job runs: (path in the guest, host file) —
    /// a dynamic program's closure at the paths its loader looks in.
    pub root_files: &'a [(PathBuf, PathBuf)],
    /// The command: argv[0] (a guest path such as `/x07/in/payload`) and its arguments.
    pub args: &'a [std::ffi::OsString],
    /// The command's stdin.
    pub stdin: &'a [u8],
    /// The command's environment.
    pub env: &'a [(std::ffi::OsString, std::ffi::OsString)],
    /// Host directories shared at their own paths.
    pub shares: &'a [Share],
    /// The command's working directory in the guest (default `/x07/out`).
    pub cwd: Option<&'a Path>,
    /// Guest memory in MiB.
    pub memory_mb: u32,
    /// Virtual CPUs (`-smp`).
    pub cpus: u32,
    /// Wall-clock limit of the whole boot-run-power-off.
    pub limit: Duration,
    /// Acceleration.
    pub accel: Accel,
    /// x07's trusted launcher, to run qemu confined on the host; `None`: unconfined.
    pub confine_with: Option<&'a Path>,
    /// Where the job's TCP streams may go (the egress proxy); `None`: the guest has no network.
    pub egress: Option<&'a crate::EgressRules>,
    /// Copy the payload's stdout and stderr to this process's as the guest writes them (they
    /// are then not in the result).
    pub stream: bool,
}

/// What a job produced.
#[derive(Debug, Clone)]
pub struct JobResult {
    /// How it ended.
    pub status: JobStatus,
    /// The payload's stdout.
    pub stdout: Vec<u8>,
    /// The payload's stderr.
    pub stderr: Vec<u8>,
    /// The boot report (accelerator, time).
    pub boot: BootReport,
    /// What the egress proxy opened and refused (empty without network).
    pub egress: crate::EgressStats,
}

/// Boots a fresh guest that runs `job.payload` once: the job directory is shared read-only as
/// `x07in`, a results directory read-write as `x07out`, and the agent reports the end on the
/// virtio-serial port `x07.status`, which the payload cannot write.
pub fn run_job(image: &GuestImage, job: &JobSpec<'_>) -> Result<JobResult, BootError> {
    use std::os::unix::ffi::OsStrExt as _;
    let qemu = qemu_binary()?;
    let io = |source| BootError::Spawn {
        qemu: qemu.clone(),
        source,
    };
    let state = tempfile::tempdir().map_err(io)?;
    let dir_in = state.path().join("in");
    let dir_out = state.path().join("out");
    fs_err::create_dir(&dir_in).map_err(io)?;
    fs_err::create_dir(&dir_out).map_err(io)?;
    for (name, src) in job.files {
        use std::os::unix::fs::PermissionsExt as _;
        let dst = dir_in.join(name);
        fs_err::copy(src, &dst).map_err(io)?;
        fs_err::set_permissions(&dst, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
    }
    if !job.root_files.is_empty() {
        let root = dir_in.join("root");
        fs_err::create_dir(&root).map_err(io)?;
        let mut list = String::new();
        for (i, (guest, host)) in job.root_files.iter().enumerate() {
            let text = guest.to_string_lossy();
            if !guest.is_absolute() || text.contains('\n') {
                return Err(io(std::io::Error::other(format!(
                    "{}: a file placed in the guest needs an absolute path without a newline",
                    guest.display()
                ))));
            }
            fs_err::copy(host, root.join(i.to_string())).map_err(io)?;
            list.push_str(&format!("{i} {text}\n"));
        }
        fs_err::write(dir_in.join("rootfiles"), list).map_err(io)?;
    }
    fs_err::write(dir_in.join("stdin"), job.stdin).map_err(io)?;
    let mut env = Vec::new();
    for (k, v) in job.env {
        env.extend_from_slice(k.as_bytes());
        env.push(b'=');
        env.extend_from_slice(v.as_bytes());
        env.push(0);
    }
    fs_err::write(dir_in.join("env"), env).map_err(io)?;
    if let Some(cwd) = job.cwd {
        fs_err::write(dir_in.join("cwd"), cwd.as_os_str().as_bytes()).map_err(io)?;
    }
    let mut shares_list = String::new();
    for (i, sh) in job.shares.iter().enumerate() {
        let text = sh.path.to_string_lossy();
        if text.contains(['\n', ',']) || !sh.path.is_absolute() {
            return Err(BootError::Spawn {
                qemu: qemu.clone(),
                source: std::io::Error::other(format!(
                    "{}: a shared root must be an absolute path without ',' or a newline",
                    sh.path.display()
                )),
            });
        }
        let mode = if sh.writable { "rw" } else { "ro" };
        shares_list.push_str(&format!("x07r{i} {mode} {text}\n"));
    }
    fs_err::write(dir_in.join("shares"), shares_list).map_err(io)?;
    let mut argv = Vec::new();
    for a in job.args {
        argv.extend_from_slice(a.as_bytes());
        argv.push(0);
    }
    fs_err::write(dir_in.join("argv"), argv).map_err(io)?;
    let status_file = state.path().join("status");
    let share = |id: &str, path: &Path, ro: bool| {
        vec![
            "-fsdev".to_string(),
            format!(
                "local,id={id},path={},security_model=none{}",
                path.display(),
                if ro { ",readonly=on" } else { "" }
            ),
            "-device".to_string(),
            format!("virtio-9p-device,fsdev={id},mount_tag={id}"),
        ]
    };
    let mut args = share("x07in", &dir_in, true);
    args.extend(share("x07out", &dir_out, false));
    for (i, sh) in job.shares.iter().enumerate() {
        args.extend(share(&format!("x07r{i}"), &sh.path, !sh.writable));
    }
    args.extend([
        "-device".to_string(),
        "virtio-serial-device".to_string(),
        "-chardev".to_string(),
        format!("file,id=x07st,path={}", status_file.display()),
        "-device".to_string(),
        "virtserialport,chardev=x07st,name=x07.status".to_string(),
    ]);
    let egress = match job.egress {
        Some(rules) => {
            fs_err::write(dir_in.join("net"), rules.guest_config()).map_err(io)?;
            let (egress, port_args) =
                crate::egress::Egress::start(state.path(), rules.clone()).map_err(io)?;
            args.extend(port_args);
            Some(egress)
        }
        None => None,
    };
    let extra = Extra {
        args,
        cmdline: " x07.job=1".to_string(),
        read: job
            .shares
            .iter()
            .filter(|s| !s.writable)
            .map(|s| s.path.clone())
            .collect(),
        write: job
            .shares
            .iter()
            .filter(|s| s.writable)
            .map(|s| s.path.clone())
            .collect(),
        launcher: job.confine_with.map(Path::to_path_buf),
        cpus: job.cpus,
        stream: job
            .stream
            .then(|| [dir_out.join("stdout"), dir_out.join("stderr")]),
    };
    // the confined qemu's root has no /dev/kvm and its filter allows no KVM ioctl yet: a
    // confined job runs under TCG, and asking for KVM there fails closed
    let confined = job.confine_with.is_some();
    let accel = match job.accel {
        Accel::Auto if confined || kvm_unusable().is_some() => Accel::Tcg,
        Accel::Auto => Accel::Kvm,
        Accel::Kvm if confined => {
            return Err(BootError::NoKvm(
                "KVM inside the confined qemu is not supported yet (no /dev/kvm in its root, no KVM ioctls in its filter); use auto or tcg".into(),
            ))
        }
        Accel::Kvm => match kvm_unusable() {
            Some(why) => return Err(BootError::NoKvm(why)),
            None => Accel::Kvm,
        },
        Accel::Tcg => Accel::Tcg,
    };
    let boot = boot_in(
        &qemu,
        image,
        accel,
        job.limit,
        state.path(),
        &extra,
        job.memory_mb,
    );
    let egress = egress
        .map(crate::egress::Egress::finish)
        .unwrap_or_default();
    let boot = boot?;
    let line = fs_err::read_to_string(&status_file).unwrap_or_default();
    let record: serde_json::Value = line
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null);
    let value = record["value"].as_i64().unwrap_or(-1) as i32;
    let status = match record["x07_status"].as_str() {
        Some("exit") => JobStatus::Exit(value),
        Some("signal") => JobStatus::Signal(value),
        Some(_) => JobStatus::AgentError(record["detail"].as_str().unwrap_or_default().to_string()),
        None => JobStatus::AgentError(format!("no status record (status port: {line:?})")),
    };
    Ok(JobResult {
        status,
        stdout: if job.stream {
            Vec::new()
        } else {
            fs_err::read(dir_out.join("stdout")).unwrap_or_default()
        },
        stderr: if job.stream {
            Vec::new()
        } else {
            fs_err::read(dir_out.join("stderr")).unwrap_or_default()
        },
        boot,
        egress,
    })
}

/// The kernel release at the start of the agent's ready line. A release has no blank and no `[`;
/// a kernel message that reached the console before the agent quietened it starts with `[`.
fn release_token(rest: &str) -> Option<String> {
    let token = rest.split_whitespace().next()?;
    let token = token.split('[').next().unwrap_or_default();
    (!token.is_empty()).then(|| token.to_string())
}

/// Boots `image` until its agent reports ready and powers off, within `limit`.
pub fn boot_probe(
    image: &GuestImage,
    accel: Accel,
    limit: Duration,
) -> Result<BootReport, BootError> {
    let qemu = qemu_binary()?;
    match accel {
        Accel::Tcg => boot_once(&qemu, image, Accel::Tcg, limit),
        Accel::Kvm => match kvm_unusable() {
            Some(why) => Err(BootError::NoKvm(why)),
            None => boot_once(&qemu, image, Accel::Kvm, limit),
        },
        Accel::Auto => {
            if kvm_unusable().is_none() {
                // a short probe: a KVM that cannot run a nested guest must not cost the limit
                if let Ok(report) =
                    boot_once(&qemu, image, Accel::Kvm, limit.min(Duration::from_secs(10)))
                {
                    return Ok(report);
                }
            }
            boot_once(&qemu, image, Accel::Tcg, limit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::release_token;

    #[test]
    fn the_release_is_read_even_when_a_kernel_line_ran_into_it() {
        assert_eq!(
            release_token("6.1.0-57-amd64[    1.663254] clocksource: tsc: mask").as_deref(),
            Some("6.1.0-57-amd64")
        );
        assert_eq!(
            release_token("6.1.0-57-amd64").as_deref(),
            Some("6.1.0-57-amd64")
        );
        assert_eq!(release_token("[    1.6] clocksource"), None);
        assert_eq!(release_token("  "), None);
    }
}
