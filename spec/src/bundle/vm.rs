//! A VM bundle (docs/bundling.md, "VM bundles"): `dist/app`, a copy of x07-vm-launcher with the
//! pins appended, and `dist/app.vm/`, the sidecar directory: `manifest.json`
//! (`x07.vm.bundle.manifest@0.3.0`), `manifest.sig` when signed, and every file the manifest
//! names by sha256. The pins trailer holds the manifest's sha256 and the public key its
//! signature must verify with, so every file of the sidecar is covered by a pinned digest or the
//! signature, and nothing in the environment can skip a pin.

use serde::{Deserialize, Serialize};

use crate::schema_tag::schema_tag;

schema_tag!(
    /// `x07.vm.bundle.manifest@0.3.0`.
    VmManifestVersion = "x07.vm.bundle.manifest@0.3.0"
);

schema_tag!(
    /// `x07.vm.bundle.manifest@0.2.0`, the public toolchain's manifest (read, never launched).
    VmManifestV2Version = "x07.vm.bundle.manifest@0.2.0"
);

/// The sidecar directory's suffix: `<out>.vm`.
pub const SIDECAR_SUFFIX: &str = ".vm";
/// The manifest's file name in the sidecar.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The signature's file name in the sidecar.
pub const SIGNATURE_FILE: &str = "manifest.sig";
/// The VM backend a 0.3.0 manifest names.
pub const QEMU_BACKEND: &str = "qemu";

/// One file of the sidecar, pinned by sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedFile {
    /// Its path inside the sidecar (`/`-separated, relative, no `..`).
    pub path: String,
    /// `sha256:<hex>` of its bytes.
    pub sha256: String,
}

/// `x07.vm.bundle.manifest@0.3.0`: the 0.2.0 fields, plus the sha256 of every file the launcher
/// loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmBundleManifest {
    /// Always [`VmManifestVersion`].
    pub schema_version: VmManifestVersion,
    /// Always [`QEMU_BACKEND`].
    pub backend: String,
    /// The guest image: the sidecar directory holding it (`image`).
    pub guest_image: String,
    /// The guest image's digest (sha256 of its canonical manifest: kernel, initramfs, command line).
    pub guest_digest: String,
    /// The payload's path in the sidecar: the policy-sealed program the guest runs.
    pub payload: String,
    /// Where the payload runs: `.` is the directory the bundle was started in (kept in the guest).
    pub workdir: String,
    /// The effective policy's path in the sidecar (its canonical JSON).
    pub policy: String,
    /// The payload, pinned.
    pub payload_file: PinnedFile,
    /// The policy, pinned.
    pub policy_file: PinnedFile,
    /// The guest image's manifest (`image/image.json`), pinned.
    pub image_manifest: PinnedFile,
    /// The kernel (`image/vmlinux`), pinned.
    pub kernel: PinnedFile,
    /// The initramfs (`image/initramfs.cpio`), pinned.
    pub initramfs: PinnedFile,
    /// The host-side helpers: x07's trusted launcher that confines qemu, pinned.
    pub deps: Vec<PinnedFile>,
    /// A dynamic payload's closure (its ELF interpreter, libraries, CA certificates), each
    /// placed in the guest at `guest_path` before the payload runs; empty for a static payload.
    pub closure: Vec<ClosureFile>,
}

/// One file of a dynamic payload's closure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosureFile {
    /// The file in the sidecar, pinned.
    pub file: PinnedFile,
    /// Where the guest's loader finds it (absolute: the path it had on the bundling host).
    pub guest_path: String,
}

impl VmBundleManifest {
    /// Every pinned file, payload first.
    pub fn pinned(&self) -> Vec<&PinnedFile> {
        let mut out = vec![
            &self.payload_file,
            &self.policy_file,
            &self.image_manifest,
            &self.kernel,
            &self.initramfs,
        ];
        out.extend(self.deps.iter());
        out.extend(self.closure.iter().map(|c| &c.file));
        out
    }
}

/// `x07.vm.bundle.manifest@0.2.0` as the public toolchain writes it: no digests beyond the
/// guest image's, so it can be read and shown but never launched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmBundleManifestV2 {
    /// Always [`VmManifestV2Version`].
    pub schema_version: VmManifestV2Version,
    /// The backend it was bundled for.
    pub backend: String,
    /// The guest image reference.
    pub guest_image: String,
    /// The guest image digest.
    pub guest_digest: String,
    /// The payload's path.
    pub payload: String,
    /// The guest working directory.
    pub workdir: String,
    /// The policy's path.
    pub policy: String,
}

/// A sidecar manifest of either version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyVmManifest {
    /// 0.3.0: pinned, launchable.
    V3(VmBundleManifest),
    /// 0.2.0: readable only.
    V2(VmBundleManifestV2),
}

/// A manifest that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum VmManifestError {
    /// Not JSON, or not either schema.
    #[error("not an x07.vm.bundle.manifest@0.3.0 or @0.2.0: {0}")]
    Invalid(String),
    /// A path that leaves the sidecar.
    #[error("`{0}` is not a plain relative path inside the sidecar")]
    BadPath(String),
}

/// Whether `p` stays inside the sidecar: relative, `/`-separated, no `.`/`..`/empty parts.
pub fn is_sidecar_path(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Reads a manifest of either version; a 0.3.0 one's paths must stay inside the sidecar.
pub fn parse_manifest(bytes: &[u8]) -> Result<AnyVmManifest, VmManifestError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| VmManifestError::Invalid(e.to_string()))?;
    match value.get("schema_version").and_then(|v| v.as_str()) {
        Some(v) if v == VmManifestV2Version::VALUE => serde_json::from_value(value)
            .map(AnyVmManifest::V2)
            .map_err(|e| VmManifestError::Invalid(e.to_string())),
        _ => {
            let m: VmBundleManifest = serde_json::from_value(value)
                .map_err(|e| VmManifestError::Invalid(e.to_string()))?;
            for f in m.pinned() {
                if !is_sidecar_path(&f.path) {
                    return Err(VmManifestError::BadPath(f.path.clone()));
                }
            }
            for c in &m.closure {
                if !c.guest_path.starts_with('/') || c.guest_path.contains(['\n', '\0']) {
                    return Err(VmManifestError::BadPath(c.guest_path.clone()));
                }
            }
            Ok(AnyVmManifest::V3(m))
        }
    }
}

/// What `dist/app` pins, after the launcher's bytes: the manifest's sha256 and the public key
/// (base64) its signature verifies with (`None`: unsigned, the digest alone pins it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmPins {
    /// `sha256:<hex>` of manifest.json.
    pub manifest_sha256: String,
    /// The signer's Ed25519 public key, base64; `None`: no signature.
    pub public_key: Option<String>,
}

/// The pins trailer's last eight bytes.
pub const PINS_MAGIC: [u8; 8] = *b"X07VMPN1";

/// `launcher ‖ pins JSON ‖ u64 LE length of the JSON ‖ X07VMPN1`.
pub fn append_pins(launcher: &[u8], pins: &VmPins) -> Vec<u8> {
    let json = crate::to_canonical_vec(pins).expect("pins serialize");
    let mut out = Vec::with_capacity(launcher.len() + json.len() + 16);
    out.extend_from_slice(launcher);
    out.extend_from_slice(&json);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&PINS_MAGIC);
    out
}

/// The pins a launcher file carries, or `None` when it has no trailer (not a VM bundle), or
/// the error when the trailer is damaged.
pub fn find_pins(file: &[u8]) -> Option<Result<VmPins, String>> {
    let n = file.len();
    if n < 16 || file[n - 8..] != PINS_MAGIC {
        return None;
    }
    let len = u64::from_le_bytes(file[n - 16..n - 8].try_into().expect("8 bytes"));
    let Some(start) = (n as u64 - 16).checked_sub(len) else {
        return Some(Err("the pins trailer is damaged (length)".into()));
    };
    Some(
        serde_json::from_slice(&file[start as usize..n - 16])
            .map_err(|e| format!("the pins trailer is damaged: {e}")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned(path: &str) -> PinnedFile {
        PinnedFile {
            path: path.into(),
            sha256: format!("sha256:{}", "a".repeat(64)),
        }
    }

    fn manifest() -> VmBundleManifest {
        VmBundleManifest {
            schema_version: VmManifestVersion,
            backend: QEMU_BACKEND.into(),
            guest_image: "image".into(),
            guest_digest: format!("sha256:{}", "b".repeat(64)),
            payload: "payload".into(),
            workdir: ".".into(),
            policy: "policy.json".into(),
            payload_file: pinned("payload"),
            policy_file: pinned("policy.json"),
            image_manifest: pinned("image/image.json"),
            kernel: pinned("image/vmlinux"),
            initramfs: pinned("image/initramfs.cpio"),
            deps: vec![pinned("deps/x07-launch")],
            closure: vec![ClosureFile {
                file: pinned("closure/0-libc.so.6"),
                guest_path: "/lib/x86_64-linux-gnu/libc.so.6".into(),
            }],
        }
    }

    #[test]
    fn both_manifest_versions_read_and_paths_stay_inside() {
        let bytes = crate::to_canonical_vec(&manifest()).unwrap();
        assert_eq!(
            parse_manifest(&bytes).unwrap(),
            AnyVmManifest::V3(manifest())
        );
        let v2 = br#"{"schema_version":"x07.vm.bundle.manifest@0.2.0","backend":"firecracker-ctr","guest_image":"ghcr.io/x07lang/x07-guest-runner:0.1.0","guest_digest":"sha256:00","payload":"payload","workdir":"/x07/work","policy":"policy.json"}"#;
        assert!(matches!(parse_manifest(v2), Ok(AnyVmManifest::V2(_))));
        let mut bad = manifest();
        bad.kernel.path = "../../etc/passwd".into();
        let bytes = crate::to_canonical_vec(&bad).unwrap();
        assert!(matches!(
            parse_manifest(&bytes),
            Err(VmManifestError::BadPath(p)) if p == "../../etc/passwd"
        ));
        let mut extra: serde_json::Value = serde_json::to_value(manifest()).unwrap();
        extra["skip_pins"] = serde_json::json!(true);
        assert!(parse_manifest(extra.to_string().as_bytes()).is_err());
    }

    #[test]
    fn pins_round_trip_and_a_plain_file_has_none() {
        let pins = VmPins {
            manifest_sha256: format!("sha256:{}", "c".repeat(64)),
            public_key: Some("AAAA".into()),
        };
        let file = append_pins(b"\x7fELF launcher", &pins);
        assert_eq!(find_pins(&file).unwrap().unwrap(), pins);
        assert!(find_pins(b"\x7fELF launcher").is_none());
        let mut damaged = file.clone();
        let n = damaged.len();
        damaged[n - 16..n - 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(find_pins(&damaged).unwrap().is_err());
    }
}
