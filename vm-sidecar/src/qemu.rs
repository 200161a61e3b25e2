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
    #[error("the guest stopped without reporting ready ({status}); console:\n{console}")]
    NotReady {
        /// qemu's exit status.
        status: String,
        /// What the console showed.
        console: String,
    },
}

fn qemu_binary() -> Result<PathBuf, BootError> {
    if let Some(p) = std::env::var_os("X07_QEMU") {
        return Ok(PathBuf::from(p));
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
    let console = state.path().join("console.log");
    let mut cmdline = image.manifest.cmdline.clone();
    if let Some(khz) = host_tsc_khz() {
        cmdline.push_str(&format!(" tsc_early_khz={khz} tsc=reliable"));
    }
    let mut cmd = Command::new(qemu);
    cmd.args(["-M", "microvm", "-m", "256M", "-smp", "1"])
        .args(["-nodefaults", "-no-user-config", "-nographic", "-no-reboot"])
        .args(["-display", "none", "-monitor", "none"])
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
        _ => cmd.args(["-accel", "tcg", "-cpu", "max"]),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|source| BootError::Spawn {
        qemu: qemu.to_path_buf(),
        source,
    })?;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|source| BootError::Spawn {
            qemu: qemu.to_path_buf(),
            source,
        })? {
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
        .map(|r| r.trim().to_string());
    if release.is_none() {
        return Err(BootError::NotReady {
            status: status.to_string(),
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
