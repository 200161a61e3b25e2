//! A sandboxed run on the vm backend: a fresh guest runs x07's trusted launcher on the program
//! with the effective policy, exactly as `x07 run` does on the os backend — the launcher applies
//! the kernel layer inside the guest too — and the policy's roots are shared at their host paths.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use x07_builder::cc::X07Home;

use crate::image::{load_image, ImageError};
use crate::qemu::{run_job, Accel, BootError, JobResult, JobSpec, Share};
use crate::GuestImage;

/// The VM backends the seeds name, with what each would need; only qemu is built.
const OTHER_VM_BACKENDS: &[(&str, &str)] = &[
    (
        "firecracker-ctr",
        "firecracker, containerd with its firecracker-ctr shim, and KVM",
    ),
    ("vz", "macOS and its Virtualization framework"),
    ("apple-container", "macOS and Apple's container tool"),
    (
        "docker",
        "a docker daemon (a container, not a guest kernel)",
    ),
    ("podman", "podman (a container, not a guest kernel)"),
];

/// The VM backend `X07_VM_BACKEND` names (`value`; default and only one built: `qemu`), or
/// why it cannot be used — the caller fails closed with that message.
pub fn check_vm_backend(value: Option<&str>) -> Result<(), String> {
    match value.filter(|v| !v.is_empty()) {
        None | Some("qemu") => Ok(()),
        Some(name) => match OTHER_VM_BACKENDS.iter().find(|(n, _)| *n == name) {
            Some((_, needs)) => Err(format!(
                "X07_VM_BACKEND={name} is not supported by this x07 (it needs {needs}); this x07 boots its guests with qemu: unset X07_VM_BACKEND or set it to qemu"
            )),
            None => Err(format!(
                "X07_VM_BACKEND={name} is not a VM backend; use qemu (the seeds also name {}, not supported here)",
                OTHER_VM_BACKENDS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )),
        },
    }
}

/// Where `x07 vm image build` records the image this x07 uses: `$X07_HOME/vm/current`.
pub fn current_image_file(home: &X07Home) -> PathBuf {
    home.path().join("vm").join("current")
}

/// Why no guest image can be used.
#[derive(Debug, thiserror::Error)]
pub enum NoImage {
    /// None was built for this x07 and none is named.
    #[error("the VM backend needs x07's guest image, and none is built in {}", .0.display())]
    Missing(PathBuf),
    /// The named or recorded image does not load (modified, missing files).
    #[error(transparent)]
    Damaged(#[from] ImageError),
    /// `X07_VM_GUEST_IMAGE_DIGEST` pins another image.
    #[error("X07_VM_GUEST_IMAGE_DIGEST pins {pinned}, the image is {actual}: refusing to boot")]
    DigestMismatch {
        /// The pin.
        pinned: String,
        /// The image's digest.
        actual: String,
    },
}

/// The guest image to boot: `X07_VM_GUEST_IMAGE` (an image directory), else the one recorded
/// for this x07; `X07_VM_GUEST_IMAGE_DIGEST` pins it.
pub fn current_image(home: &X07Home) -> Result<GuestImage, NoImage> {
    let dir = match std::env::var_os("X07_VM_GUEST_IMAGE") {
        Some(d) => PathBuf::from(d),
        None => {
            let file = current_image_file(home);
            let text = fs_err::read_to_string(&file)
                .map_err(|_| NoImage::Missing(home.path().to_path_buf()))?;
            PathBuf::from(text.trim())
        }
    };
    let image = load_image(&dir)?;
    if let Some(pin) = std::env::var("X07_VM_GUEST_IMAGE_DIGEST")
        .ok()
        .filter(|p| !p.is_empty())
    {
        if pin != image.digest.to_string() {
            return Err(NoImage::DigestMismatch {
                pinned: pin,
                actual: image.digest.to_string(),
            });
        }
    }
    Ok(image)
}

/// The policy's read and write roots that exist, resolved against `base`, as shares at their
/// host paths (a root both read and written is shared read-write once). A root that does not
/// exist is left out: the launcher in the guest reports it.
pub fn policy_shares(policy: &x07_spec::policy::Policy, base: &Path) -> Vec<Share> {
    let mut shares: Vec<Share> = Vec::new();
    if !policy.fs.enabled {
        return shares;
    }
    for (list, writable) in [
        (&policy.fs.read_roots, false),
        (&policy.fs.write_roots, true),
    ] {
        for r in list {
            let path = x07_spec::policy::blob::lexical_absolute(base, r);
            if !path.is_dir() {
                continue;
            }
            match shares.iter_mut().find(|s| s.path == path) {
                Some(s) => s.writable |= writable,
                None => shares.push(Share { path, writable }),
            }
        }
    }
    shares
}

/// The guest's memory for a policy: its `limits.mem_bytes` (at least 256 MiB) plus 128 MiB for
/// the guest kernel and agent.
pub fn guest_memory_mb(policy: &x07_spec::policy::Policy) -> u32 {
    u32::try_from((policy.limits.mem_bytes >> 20).max(256) + 128).unwrap_or(1024)
}

/// The wall clock of a whole guest run: the policy's, plus a minute for boot and power-off.
pub fn guest_wall_clock(policy: &x07_spec::policy::Policy) -> Duration {
    Duration::from_millis(u64::from(policy.limits.wall_ms)) + Duration::from_secs(60)
}

/// One sandboxed run in a guest.
#[derive(Debug)]
pub struct SandboxedRun<'a> {
    /// The guest image.
    pub image: &'a GuestImage,
    /// x07's trusted launcher (static).
    pub launcher: &'a Path,
    /// The program, built for run-os-sandboxed (static, or dynamic with its `closure`).
    pub program: &'a Path,
    /// A dynamic program's closure, placed in the guest at these paths: (guest path, host file).
    pub closure: &'a [(PathBuf, PathBuf)],
    /// The effective policy blob (roots at their host paths).
    pub blob: &'a [u8],
    /// The program's stdin (the framed input).
    pub stdin: &'a [u8],
    /// The environment the policy allows (the launcher clears everything else again).
    pub env: &'a [(OsString, OsString)],
    /// The program's own flags (`--solve-fuel=N`, ...).
    pub program_args: &'a [String],
    /// The policy's roots.
    pub shares: &'a [Share],
    /// The working directory (the project root).
    pub cwd: &'a Path,
    /// Guest memory in MiB.
    pub memory_mb: u32,
    /// Virtual CPUs.
    pub cpus: u32,
    /// Wall-clock limit of the whole run, boot included.
    pub limit: Duration,
    /// Acceleration.
    pub accel: Accel,
    /// Where the program's TCP streams may go; `None`: no network in the guest.
    pub egress: Option<&'a crate::EgressRules>,
}

/// Boots a guest, runs the launcher on the program there, and returns what came back.
pub fn run_sandboxed(run: &SandboxedRun<'_>) -> Result<JobResult, BootError> {
    let scratch = tempfile::tempdir().map_err(|source| BootError::Spawn {
        qemu: PathBuf::from("qemu"),
        source,
    })?;
    let blob = scratch.path().join("policy.blob");
    fs_err::write(&blob, run.blob).map_err(|source| BootError::Spawn {
        qemu: PathBuf::from("qemu"),
        source,
    })?;
    let mut args: Vec<OsString> = vec![
        "/x07/in/launcher".into(),
        "--x07-policy-file=/x07/in/policy.blob".into(),
        "--".into(),
        "/x07/in/program".into(),
    ];
    args.extend(run.program_args.iter().map(OsString::from));
    run_job(
        run.image,
        &JobSpec {
            files: &[
                ("launcher", run.launcher),
                ("program", run.program),
                ("policy.blob", &blob),
            ],
            root_files: run.closure,
            args: &args,
            stdin: run.stdin,
            env: run.env,
            shares: run.shares,
            cwd: Some(run.cwd),
            memory_mb: run.memory_mb,
            cpus: run.cpus,
            limit: run.limit,
            accel: run.accel,
            confine_with: Some(run.launcher),
            stream: false,
            egress: run.egress,
        },
    )
}
