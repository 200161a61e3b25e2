//! A VM bundle's two halves (docs/bundling.md, "VM bundles"): the sidecar directory `<out>.vm/`
//! — manifest, signature, the policy-sealed payload, the policy, the guest image, x07's trusted
//! launcher — written whole in a scratch directory and swapped in, then `<out>`, a copy of
//! x07-vm-launcher with the pins appended.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use x07_spec::bundle::vm::{
    append_pins, ClosureFile, PinnedFile, VmBundleManifest, VmManifestVersion, VmPins,
    MANIFEST_FILE, QEMU_BACKEND, SIDECAR_SUFFIX, SIGNATURE_FILE,
};
use x07_spec::Sha256Digest;

use crate::provenance::Signing;
use crate::BundleError;

/// What a VM bundle carries besides the payload.
#[derive(Debug, Clone, Copy)]
pub struct VmParts<'a> {
    /// The guest image the payload boots in.
    pub image: &'a x07_vm::GuestImage,
    /// x07-vm-launcher, copied to `--out`.
    pub vm_launcher: &'a Path,
    /// x07's trusted launcher (x07-launch), which confines qemu on the host.
    pub trusted_launcher: &'a Path,
}

/// The sidecar as written.
#[derive(Debug, Clone)]
pub struct SidecarWritten {
    /// `<out>.vm`.
    pub dir: PathBuf,
    /// What `<out>` pins.
    pub pins: VmPins,
    /// The manifest.
    pub manifest: VmBundleManifest,
}

fn write_error(path: &Path) -> impl Fn(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` as `rel` under `dir` (mode `mode`) and pins it.
fn put(dir: &Path, rel: &str, bytes: &[u8], mode: u32) -> Result<PinnedFile, BundleError> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).map_err(write_error(parent))?;
    }
    fs_err::write(&path, bytes).map_err(write_error(&path))?;
    fs_err::set_permissions(&path, std::fs::Permissions::from_mode(mode))
        .map_err(write_error(&path))?;
    Ok(PinnedFile {
        path: rel.to_string(),
        sha256: Sha256Digest::of(bytes).to_string(),
    })
}

fn read(path: &Path) -> Result<Vec<u8>, BundleError> {
    fs_err::read(path).map_err(write_error(path))
}

/// `<out>.vm`.
pub fn sidecar_dir(out: &Path) -> PathBuf {
    crate::beside(out, SIDECAR_SUFFIX)
}

/// Writes `<out>.vm/` for `payload` (the sealed executable with its provenance note),
/// `policy_json` and a dynamic payload's `closure` ((guest path, host file) pairs), replacing
/// any previous sidecar only once the new one is complete.
pub fn write_sidecar(
    out: &Path,
    payload: &[u8],
    policy_json: &[u8],
    closure: &[(PathBuf, PathBuf)],
    parts: &VmParts<'_>,
    signing: &Signing,
) -> Result<SidecarWritten, BundleError> {
    let final_dir = sidecar_dir(out);
    let parent = final_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let scratch = tempfile::Builder::new()
        .prefix(".x07-vm-sidecar-")
        .tempdir_in(parent)
        .map_err(write_error(parent))?;
    let dir = scratch.path();
    let image = parts.image;
    let image_file = |name: &str| -> Result<PinnedFile, BundleError> {
        let bytes = read(&image.dir.join(name))?;
        put(dir, &format!("image/{name}"), &bytes, 0o644)
    };
    let manifest = VmBundleManifest {
        schema_version: VmManifestVersion,
        backend: QEMU_BACKEND.to_string(),
        guest_image: "image".to_string(),
        guest_digest: image.digest.to_string(),
        payload: "payload".to_string(),
        workdir: ".".to_string(),
        policy: "policy.json".to_string(),
        payload_file: put(dir, "payload", payload, 0o755)?,
        policy_file: put(dir, "policy.json", policy_json, 0o644)?,
        image_manifest: image_file(x07_vm::IMAGE_MANIFEST_FILE)?,
        kernel: image_file("vmlinux")?,
        initramfs: image_file("initramfs.cpio")?,
        deps: vec![put(
            dir,
            "deps/x07-launch",
            &read(parts.trusted_launcher)?,
            0o755,
        )?],
        closure: closure
            .iter()
            .enumerate()
            .map(|(i, (guest, host))| {
                let name = host
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Ok(ClosureFile {
                    file: put(dir, &format!("closure/{i}-{name}"), &read(host)?, 0o755)?,
                    guest_path: guest.display().to_string(),
                })
            })
            .collect::<Result<_, BundleError>>()?,
    };
    let manifest_bytes = x07_spec::canonical_file_bytes(&manifest).expect("a manifest serializes");
    put(dir, MANIFEST_FILE, &manifest_bytes, 0o644)?;
    let public_key = match signing {
        Signing::Key(key) => {
            let sig = key.sign(&manifest_bytes).to_string();
            put(dir, SIGNATURE_FILE, format!("{sig}\n").as_bytes(), 0o644)?;
            Some(key.verifying_key().to_base64())
        }
        Signing::Unsigned => None,
    };
    // swap: the old sidecar moves aside, the new one in, the old one goes
    let scratch_path = scratch.keep();
    let aside = if final_dir.exists() {
        let aside = crate::beside(out, &format!(".vm.old-{}", std::process::id()));
        fs_err::rename(&final_dir, &aside).map_err(write_error(&final_dir))?;
        Some(aside)
    } else {
        None
    };
    fs_err::rename(&scratch_path, &final_dir).map_err(write_error(&final_dir))?;
    if let Some(aside) = aside {
        fs_err::remove_dir_all(&aside).map_err(write_error(&aside))?;
    }
    Ok(SidecarWritten {
        dir: final_dir,
        pins: VmPins {
            manifest_sha256: Sha256Digest::of(&manifest_bytes).to_string(),
            public_key,
        },
        manifest,
    })
}

/// `<out>`'s bytes: x07-vm-launcher with the pins appended.
pub fn launcher_bytes(vm_launcher: &Path, pins: &VmPins) -> Result<Vec<u8>, BundleError> {
    Ok(append_pins(&read(vm_launcher)?, pins))
}
