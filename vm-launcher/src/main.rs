//! x07-vm-launcher: what `x07 bundle --profile sandbox` writes as `dist/app` (docs/bundling.md,
//! "VM bundles"). A byte copy of this program with the pins appended: the sha256 of
//! `dist/app.vm/manifest.json` and the key its signature verifies with. It checks the sidecar —
//! the manifest against the pin, the signature, every file against the manifest, nothing
//! unpinned — copies what it checked into a private directory, and only then boots the payload
//! in a guest under its sealed policy. It needs qemu, not x07. No variable or flag skips a check.
//!
//! Exit codes: the payload's own code (128 + N when killed by signal N); 125 when the bundle is
//! refused or the guest cannot run it (the reason on stderr, prefixed `x07-vm-launcher:`).

use std::ffi::OsString;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use x07_spec::bundle::vm::{find_pins, SIDECAR_SUFFIX};

/// The exit code of a refused bundle or a guest that could not run it.
const LAUNCH_FAILED: u8 = 125;
/// The most stdin the payload is given (read before the guest boots).
const MAX_STDIN_BYTES: u64 = 64 << 20;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("x07-vm-launcher: {message}");
            ExitCode::from(LAUNCH_FAILED)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let bytes = fs_err::read(&exe).map_err(|e| e.to_string())?;
    let pins = find_pins(&bytes)
        .ok_or_else(|| {
            format!(
                "{} carries no pins: it is not a VM bundle (x07 bundle --profile sandbox writes them)",
                exe.display()
            )
        })?
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let mut sidecar = exe.clone().into_os_string();
    sidecar.push(SIDECAR_SUFFIX);
    let sidecar = PathBuf::from(sidecar);
    let verified = x07_vm::verify_sidecar(&sidecar, &pins).map_err(|e| e.to_string())?;
    // the manifest names the backend; a variable asking for another one fails closed
    let backend = std::env::var("X07_VM_BACKEND").ok();
    x07_vm::check_vm_backend(backend.as_deref())?;
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    // SAFETY: isatty on a descriptor number has no memory effects.
    let stdin = if unsafe { libc::isatty(0) } == 1 {
        Vec::new() // a terminal: nothing is waiting to be read
    } else {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(MAX_STDIN_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        if buf.len() as u64 > MAX_STDIN_BYTES {
            return Err(format!("stdin is over {MAX_STDIN_BYTES} bytes"));
        }
        buf
    };
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let accel = std::env::var("X07_VM_ACCEL")
        .ok()
        .filter(|a| !a.is_empty())
        .map(|a| a.parse().map_err(|e| format!("X07_VM_ACCEL: {e}")))
        .transpose()?
        .unwrap_or(x07_vm::Accel::Auto);
    let result = x07_vm::launch_bundle(
        &verified,
        &x07_vm::BundleLaunch {
            args: &args,
            stdin: &stdin,
            cwd: &cwd,
            accel,
        },
    );
    let result = match result {
        Err(x07_vm::BootError::Timeout { limit, .. }) => {
            return Err(format!(
                "the guest did not finish within {limit:?} (wall clock plus boot); qemu was killed"
            ))
        }
        Err(e) => return Err(e.to_string()),
        Ok(r) => r,
    };
    // the payload's output was copied out while the guest ran
    match result.status {
        x07_vm::JobStatus::Exit(c) => Ok(ExitCode::from(u8::try_from(c).unwrap_or(LAUNCH_FAILED))),
        x07_vm::JobStatus::Signal(s) => Ok(ExitCode::from(
            u8::try_from(128 + s).unwrap_or(LAUNCH_FAILED),
        )),
        x07_vm::JobStatus::AgentError(why) => {
            Err(format!("the guest agent could not run the payload: {why}"))
        }
    }
}
