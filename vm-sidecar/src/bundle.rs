//! A VM bundle's sidecar, checked and launched (docs/bundling.md, "VM bundles"). Before anything
//! boots, every file is read once, checked against the manifest, and copied into a private
//! directory that the boot then uses — so what was checked is what runs. That directory is in
//! memory (`/dev/shm`) when it has room: the kernel alone is ~66 MB, written on every start,
//! and a disk that is nearly full must not stop a bundle. The manifest is checked
//! against the pins the launcher carries, and its signature against the pinned key. Nothing in
//! the environment skips a check.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use x07_spec::bundle::vm::{
    parse_manifest, AnyVmManifest, PinnedFile, VmBundleManifest, VmPins, MANIFEST_FILE,
    QEMU_BACKEND, SIGNATURE_FILE,
};
use x07_spec::policy::Policy;
use x07_spec::Sha256Digest;

use crate::qemu::{run_job, Accel, BootError, JobResult, JobSpec};
use crate::GuestImage;

/// Why a sidecar is refused before boot. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    /// A file of the sidecar cannot be read.
    #[error("{}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// manifest.json is not the one the launcher pins.
    #[error("{}: its sha256 is {actual}, the launcher pins {expected}: refusing to boot", .path.display())]
    ManifestDigest {
        /// manifest.json.
        path: PathBuf,
        /// The pin.
        expected: String,
        /// What the file hashes to.
        actual: String,
    },
    /// The signature is missing or does not verify with the pinned key.
    #[error("{}: {reason}: refusing to boot", .path.display())]
    Signature {
        /// manifest.sig.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// manifest.json does not parse, or is a version that pins nothing.
    #[error("{}: {reason}", .path.display())]
    Manifest {
        /// manifest.json.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A pinned file's bytes differ from the manifest.
    #[error("{}: its sha256 is {actual}, the manifest pins {expected}: refusing to boot", .path.display())]
    FileDigest {
        /// The file.
        path: PathBuf,
        /// The pin.
        expected: String,
        /// What it hashes to.
        actual: String,
    },
    /// A file the manifest does not cover.
    #[error("{}: not covered by the manifest's pins: refusing to boot (remove it, or bundle again)", .path.display())]
    Unpinned {
        /// The file.
        path: PathBuf,
    },
    /// The guest image does not load, or is not the one pinned.
    #[error("{}: {reason}: refusing to boot", .path.display())]
    Image {
        /// The image directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The policy does not decode.
    #[error("{}: {reason}", .path.display())]
    Policy {
        /// policy.json.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The private copy cannot be made.
    #[error("cannot make the private copy of the sidecar: {0}")]
    Private(std::io::Error),
}

/// A sidecar every pin of which held, copied into a private directory.
#[derive(Debug)]
pub struct VerifiedSidecar {
    /// The manifest.
    pub manifest: VmBundleManifest,
    /// The guest image (the private copies).
    pub image: GuestImage,
    /// The payload (the private copy).
    pub payload: PathBuf,
    /// x07's trusted launcher that confines qemu (the private copy).
    pub launch: PathBuf,
    /// The effective policy.
    pub policy: Policy,
    /// The signer's key id, when signed.
    pub signer: Option<String>,
    /// A dynamic payload's closure: (guest path, private copy).
    pub closure: Vec<(PathBuf, PathBuf)>,
    /// The private directory (removed when dropped).
    _private: tempfile::TempDir,
}

fn read(path: &Path) -> Result<Vec<u8>, SidecarError> {
    fs_err::read(path).map_err(|source| SidecarError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Every regular file under `dir`, as `/`-separated relative paths.
fn files_under(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), SidecarError> {
    let entries = fs_err::read_dir(dir).map_err(|source| SidecarError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| SidecarError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let kind = entry.file_type().map_err(|source| SidecarError::Read {
            path: entry.path(),
            source,
        })?;
        if kind.is_dir() {
            files_under(&entry.path(), &path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Where memory-backed scratch space lives on Linux.
const SHM_DIR: &str = "/dev/shm";

/// `/dev/shm` when it is a tmpfs with room for `need` bytes and a margin of a quarter, so a
/// private copy there never fills the memory others count on; otherwise `None` (the temp dir).
fn memory_backed_dir(need: u64) -> Option<&'static Path> {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    let path = std::ffi::CString::new(SHM_DIR).ok()?;
    // SAFETY: statfs writes only into the zeroed struct it is given
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let free = (st.f_bavail as u64).saturating_mul(st.f_bsize as u64);
    let fits = free / 4 * 3 >= need;
    tracing::debug!(
        free,
        need,
        fits,
        tmpfs = st.f_type as i64 == TMPFS_MAGIC,
        "private copy place"
    );
    (st.f_type as i64 == TMPFS_MAGIC && fits).then(|| Path::new(SHM_DIR))
}

/// Checks the sidecar at `dir` against `pins` and copies every file into a private directory.
pub fn verify_sidecar(dir: &Path, pins: &VmPins) -> Result<VerifiedSidecar, SidecarError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest_bytes = read(&manifest_path)?;
    let actual = Sha256Digest::of(&manifest_bytes).to_string();
    if actual != pins.manifest_sha256 {
        return Err(SidecarError::ManifestDigest {
            path: manifest_path,
            expected: pins.manifest_sha256.clone(),
            actual,
        });
    }
    let sig_path = dir.join(SIGNATURE_FILE);
    let signer = match &pins.public_key {
        Some(key) => {
            let sig_error = |reason: String| SidecarError::Signature {
                path: sig_path.clone(),
                reason,
            };
            let key = x07_lock::VerifyingKey::from_base64(key)
                .map_err(|e| sig_error(format!("the pinned key is damaged: {e}")))?;
            let text = fs_err::read_to_string(&sig_path).map_err(|e| {
                sig_error(format!(
                    "the bundle is signed and the signature cannot be read ({e})"
                ))
            })?;
            let sig = x07_lock::Ed25519Sig::from_base64(text.trim())
                .map_err(|e| sig_error(format!("not an Ed25519 signature: {e}")))?;
            if !key.verify(&manifest_bytes, &sig) {
                return Err(sig_error(format!(
                    "the signature does not verify with the pinned key {}",
                    key.key_id()
                )));
            }
            Some(key.key_id().to_string())
        }
        None => None,
    };
    let manifest_error = |reason: String| SidecarError::Manifest {
        path: manifest_path.clone(),
        reason,
    };
    let manifest = match parse_manifest(&manifest_bytes).map_err(|e| manifest_error(e.to_string()))? {
        AnyVmManifest::V3(m) => m,
        AnyVmManifest::V2(_) => {
            return Err(manifest_error(
                "an x07.vm.bundle.manifest@0.2.0 pins no payload, policy, kernel or initramfs digest, so it is never launched; bundle again with this x07".into(),
            ))
        }
    };
    if manifest.backend != QEMU_BACKEND {
        return Err(manifest_error(format!(
            "backend `{}` is not supported yet (this launcher boots qemu)",
            manifest.backend
        )));
    }
    // every file is pinned or is the manifest or its signature
    let mut expected: BTreeSet<String> = manifest.pinned().iter().map(|f| f.path.clone()).collect();
    expected.insert(MANIFEST_FILE.to_string());
    if signer.is_some() {
        expected.insert(SIGNATURE_FILE.to_string());
    }
    let mut present = Vec::new();
    files_under(dir, "", &mut present)?;
    if let Some(extra) = present.iter().find(|p| !expected.contains(*p)) {
        return Err(SidecarError::Unpinned {
            path: dir.join(extra),
        });
    }
    // what the copy will take (sizes as they are now: a file that grows is refused by its digest)
    let need: u64 = manifest
        .pinned()
        .iter()
        .filter_map(|f| fs_err::metadata(dir.join(&f.path)).ok())
        .map(|m| m.len())
        .sum();
    let mut private_dir = tempfile::Builder::new();
    private_dir.prefix("x07-vm-bundle-");
    let private = match memory_backed_dir(need) {
        Some(shm) => private_dir.tempdir_in(shm),
        None => private_dir.tempdir(),
    }
    .map_err(SidecarError::Private)?;
    let copy = |f: &PinnedFile| -> Result<PathBuf, SidecarError> {
        let path = dir.join(&f.path);
        let bytes = read(&path)?;
        let actual = Sha256Digest::of(&bytes).to_string();
        if actual != f.sha256 {
            return Err(SidecarError::FileDigest {
                path,
                expected: f.sha256.clone(),
                actual,
            });
        }
        let to = private.path().join(&f.path);
        if let Some(parent) = to.parent() {
            fs_err::create_dir_all(parent).map_err(SidecarError::Private)?;
        }
        fs_err::write(&to, &bytes).map_err(SidecarError::Private)?;
        use std::os::unix::fs::PermissionsExt as _;
        fs_err::set_permissions(&to, std::fs::Permissions::from_mode(0o700))
            .map_err(SidecarError::Private)?;
        Ok(to)
    };
    let mut copied = Vec::new();
    for f in manifest.pinned() {
        copied.push(copy(f)?);
    }
    let policy_path = private.path().join(&manifest.policy_file.path);
    let policy_error = |reason: String| SidecarError::Policy {
        path: dir.join(&manifest.policy_file.path),
        reason,
    };
    let policy_json: serde_json::Value =
        serde_json::from_slice(&read(&policy_path)?).map_err(|e| policy_error(e.to_string()))?;
    let policy = Policy::decode(policy_json).map_err(|e| policy_error(e.to_string()))?;
    let image_dir = private.path().join(&manifest.guest_image);
    let image_error = |reason: String| SidecarError::Image {
        path: dir.join(&manifest.guest_image),
        reason,
    };
    // the kernel and initramfs were just checked against the manifest: not hashed again
    let image = crate::image_with_checked_files(
        &image_dir,
        &manifest.kernel.sha256,
        &manifest.initramfs.sha256,
    )
    .map_err(|e| image_error(e.to_string()))?;
    if image.digest.to_string() != manifest.guest_digest {
        return Err(image_error(format!(
            "the image is {}, the manifest pins {}",
            image.digest, manifest.guest_digest
        )));
    }
    let launch = manifest
        .deps
        .iter()
        .find(|d| d.path.ends_with("x07-launch"))
        .map(|d| private.path().join(&d.path))
        .ok_or_else(|| manifest_error("no deps/x07-launch is pinned".into()))?;
    let closure = manifest
        .closure
        .iter()
        .map(|c| {
            (
                PathBuf::from(&c.guest_path),
                private.path().join(&c.file.path),
            )
        })
        .collect();
    Ok(VerifiedSidecar {
        closure,
        payload: private.path().join(&manifest.payload_file.path),
        manifest,
        image,
        launch,
        policy,
        signer,
        _private: private,
    })
}

/// How one launch of a VM bundle is run.
#[derive(Debug)]
pub struct BundleLaunch<'a> {
    /// The payload's arguments after argv[0].
    pub args: &'a [OsString],
    /// Its stdin.
    pub stdin: &'a [u8],
    /// The start directory: relative policy roots resolve against it, and it is the payload's
    /// working directory in the guest.
    pub cwd: &'a Path,
    /// Acceleration.
    pub accel: Accel,
}

/// Boots a guest that runs the verified payload under its sealed policy, the policy's roots
/// (resolved against the start directory) shared at their host paths, its network allowlist
/// enforced by the host proxy.
pub fn launch_bundle(
    v: &VerifiedSidecar,
    launch: &BundleLaunch<'_>,
) -> Result<JobResult, BootError> {
    let policy = &v.policy;
    let shares = crate::sandboxed::policy_shares(policy, launch.cwd);
    let env: Vec<(OsString, OsString)> = if policy.env.enabled {
        policy
            .env
            .allow_keys
            .iter()
            .filter(|k| !policy.env.deny_keys.contains(k))
            .filter_map(|k| std::env::var_os(k).map(|v| (OsString::from(k), v)))
            .collect()
    } else {
        Vec::new()
    };
    let mut args: Vec<OsString> = vec!["/x07/in/payload".into()];
    args.extend(launch.args.iter().cloned());
    let egress = crate::EgressRules::from_policy(&policy.net);
    run_job(
        &v.image,
        &JobSpec {
            files: &[("payload", &v.payload)],
            root_files: &v.closure,
            args: &args,
            stdin: launch.stdin,
            env: &env,
            shares: &shares,
            cwd: Some(launch.cwd),
            memory_mb: crate::sandboxed::guest_memory_mb(policy),
            cpus: 1,
            limit: crate::sandboxed::guest_wall_clock(policy),
            accel: launch.accel,
            confine_with: Some(&v.launch),
            stream: true,
            egress: egress.as_ref(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_private_copy_goes_to_memory_only_when_it_fits_with_a_margin() {
        assert_eq!(memory_backed_dir(u64::MAX), None);
        let shm_is_tmpfs = std::process::Command::new("stat")
            .args(["-f", "-c", "%T", SHM_DIR])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "tmpfs");
        assert_eq!(
            memory_backed_dir(1 << 20).is_some(),
            shm_is_tmpfs,
            "a 1 MiB copy goes to {SHM_DIR} exactly when it is a tmpfs"
        );
    }
}
