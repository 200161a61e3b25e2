//! The guest image (`x07 vm image build`): Debian's kernel package unpacked without installing
//! it, the uncompressed vmlinux, and an initramfs with x07's static guest agent as `/init` and the
//! modules the guest loads, in order. The image is a store entry; its digest is the sha256 of its
//! canonical manifest, which names the kernel, the initramfs and the command line by digest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use x07_builder::cc::{self, CcIdentity, CcProfile, NativeInputs, X07Home};
use x07_builder::store::{ArtifactName, DerivationInputs, Produced, PublishError, StoreRoot};
use x07_spec::{Sha256Digest, World};

use crate::cpio::{newc, Member};
use crate::{deb, vmlinux};

/// The modules the guest loads, in this order (virtio over mmio, the console, 9p); those the
/// kernel has built in are simply absent from the package and skipped.
pub const GUEST_MODULES: &[&str] = &[
    "virtio_ring.ko",
    "virtio.ko",
    "virtio_mmio.ko",
    "virtio_console.ko",
    "netfs.ko",
    "fscache.ko",
    "9pnet.ko",
    "9pnet_virtio.ko",
    "9p.ko",
];

/// The kernel command line the image is pinned with (host-specific clock flags are appended at
/// boot, outside the digest).
pub const BASE_CMDLINE: &str = "console=ttyS0 panic=-1 rdinit=/init";

/// The guest agent's C source: the network relay, then the agent that uses it.
const AGENT_C: &str = concat!(
    include_str!("../guest/egress.c"),
    include_str!("../guest/agent.c")
);

/// The image's artifact name in the store (also its manifest's file name in the entry).
const IMAGE_NAME: &str = "x07-guest-image";

/// The file of an image directory holding its manifest.
pub const IMAGE_MANIFEST_FILE: &str = IMAGE_NAME;

/// What to build the image from.
#[derive(Debug, Clone, Default)]
pub struct ImageRequest {
    /// `--kernel-deb FILE`; `None`: fetch Debian's current kernel package with apt.
    pub kernel_deb: Option<PathBuf>,
}

/// `image.json`: what the image holds, each part by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageManifest {
    /// Always `x07.vm.guest-image@0.1.0`.
    pub schema_version: String,
    /// The kernel release.
    pub kernel_release: String,
    /// sha256 of `vmlinux`.
    pub kernel: String,
    /// sha256 of `initramfs.cpio`.
    pub initramfs: String,
    /// The pinned command line.
    pub cmdline: String,
    /// sha256 of the kernel package it came from.
    pub kernel_deb: String,
    /// The modules in the initramfs, in load order.
    pub modules: Vec<String>,
}

/// A built guest image.
#[derive(Debug, Clone)]
pub struct GuestImage {
    /// The store entry directory.
    pub dir: PathBuf,
    /// The uncompressed kernel.
    pub kernel: PathBuf,
    /// The initramfs.
    pub initramfs: PathBuf,
    /// Its manifest.
    pub manifest: ImageManifest,
    /// sha256 of the manifest's canonical bytes: the image digest.
    pub digest: Sha256Digest,
}

/// Why no image could be built.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The kernel package cannot be read or fetched.
    #[error("{}: {message}", .path.display())]
    KernelDeb {
        /// The package (or the tool that failed).
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The C compiler failed on the agent, or is missing.
    #[error(transparent)]
    Cc(#[from] cc::CcError),
    /// The store cannot be used.
    #[error(transparent)]
    Store(#[from] x07_builder::store::StoreError),
    /// Writing a file of the image failed.
    #[error("cannot write the image: {0}")]
    Io(#[from] std::io::Error),
}

impl ImageError {
    /// The diagnostic code (docs/diagnostics.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::KernelDeb { .. } => "X07-VM-0001",
            Self::Cc(e) => e.code(),
            Self::Store(e) => e.code(),
            Self::Io(_) => "X07-VM-0002",
        }
    }
}

/// Fetches Debian's current kernel package for this architecture into `dir` with apt (the
/// package behind `linux-image-amd64`), without installing it.
fn fetch_kernel_deb(dir: &Path) -> Result<PathBuf, ImageError> {
    let apt_error = |message: String| ImageError::KernelDeb {
        path: PathBuf::from("apt-get"),
        message: format!("{message}; pass --kernel-deb FILE with a Debian linux-image .deb"),
    };
    let meta = "linux-image-amd64";
    let depends = Command::new("apt-cache")
        .args(["depends", meta])
        .output()
        .map_err(|e| apt_error(format!("cannot run apt-cache: {e}")))?;
    let text = String::from_utf8_lossy(&depends.stdout);
    let package = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-"))
        .ok_or_else(|| apt_error(format!("apt-cache knows no package behind {meta}")))?
        .to_string();
    // apt's metadata (signed by the archive) names the package's sha256: a copy already
    // downloaded by another X07_HOME is reused when it still has exactly those bytes
    let sha256 = apt_sha256(&package);
    let cached = match (deb_cache_dir(), &sha256) {
        (Some(dir), Some(sum)) => Some(dir.join(format!("{package}_{sum}.deb"))),
        _ => None,
    };
    if let (Some(path), Some(sum)) = (&cached, &sha256) {
        if fs_err::read(path).is_ok_and(|b| Sha256Digest::of(&b).hex() == *sum) {
            tracing::info!(path = %path.display(), "kernel package from the download cache");
            return Ok(path.clone());
        }
    }
    let out = Command::new("apt-get")
        .args(["download", &package])
        .current_dir(dir)
        .output()
        .map_err(|e| apt_error(format!("cannot run apt-get: {e}")))?;
    if !out.status.success() {
        return Err(apt_error(format!(
            "apt-get download {package} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let downloaded = fs_err::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| apt_error(format!("apt-get download {package} wrote no .deb")))?;
    if let (Some(path), Some(sum)) = (&cached, &sha256) {
        // apt checked the download against the same sha256; the cache is only an optimisation
        let bytes = fs_err::read(&downloaded)?;
        if Sha256Digest::of(&bytes).hex() == *sum {
            let saved = path
                .parent()
                .map(fs_err::create_dir_all)
                .transpose()
                .and_then(|_| x07_spec::write_atomic(path, &bytes));
            if let Err(e) = saved {
                tracing::debug!(error = %e, "the kernel package was not cached");
            }
        }
    }
    Ok(downloaded)
}

/// The sha256 apt's (signed) metadata gives for the candidate version of `package`.
fn apt_sha256(package: &str) -> Option<String> {
    let out = Command::new("apt-cache")
        .args(["show", "--no-all-versions", package])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("SHA256: "))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Where downloaded kernel packages are kept across x07 homes: `$XDG_CACHE_HOME/x07/kernel-debs`,
/// else `~/.cache/x07/kernel-debs`; `None` without either.
fn deb_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("x07").join("kernel-debs"))
}

/// Compiles the agent statically (musl when installed, else static glibc) into `out`.
fn compile_agent(cc: &CcIdentity, out: &Path) -> Result<(), ImageError> {
    let native = NativeInputs {
        static_link: true,
        musl_specs: cc::musl_specs(),
        ..NativeInputs::default()
    };
    // x07's own code, built outside the build sandbox (like the launcher)
    cc::compile_c_native(cc, AGENT_C, &native, out, CcProfile::Size, None)?;
    Ok(())
}

/// Builds the guest image into `store` (or finds it there).
pub fn build_image(
    home: &X07Home,
    store: &StoreRoot,
    req: &ImageRequest,
) -> Result<GuestImage, ImageError> {
    let scratch = tempfile::tempdir()?;
    let deb_path = match &req.kernel_deb {
        Some(p) => p.clone(),
        None => fetch_kernel_deb(scratch.path())?,
    };
    let deb_bytes = fs_err::read(&deb_path).map_err(|e| ImageError::KernelDeb {
        path: deb_path.clone(),
        message: e.to_string(),
    })?;
    let deb_digest = Sha256Digest::of(&deb_bytes);
    let cc = CcIdentity::detect(home)?;
    let inputs = DerivationInputs {
        toolchain_version: x07_builder::build::TOOLCHAIN_VERSION.to_string(),
        embedded_digest: Sha256Digest::of(AGENT_C.as_bytes()),
        modules: BTreeMap::new(),
        lock_digest: None,
        world: World::RunOs,
        cc_path: None,
        cc_version_digest: cc.version_digest,
        cc_flags: cc::profile_flags(CcProfile::Size),
        knobs: BTreeMap::from([
            ("kind".to_string(), "guest-image".to_string()),
            ("kernel_deb".to_string(), deb_digest.to_string()),
            ("cmdline".to_string(), BASE_CMDLINE.to_string()),
            ("modules".to_string(), GUEST_MODULES.join(",")),
            (
                "libc".to_string(),
                if cc::musl_specs().is_some() {
                    "musl"
                } else {
                    "glibc"
                }
                .to_string(),
            ),
        ]),
        name: ArtifactName::new(IMAGE_NAME)?,
    };
    let produce = |staging: &x07_builder::store::Staging| -> Result<Produced, ImageError> {
        let deb_error = |message: String| ImageError::KernelDeb {
            path: deb_path.clone(),
            message,
        };
        let files = deb::kernel_files(&deb_bytes, GUEST_MODULES).map_err(deb_error)?;
        let kernel = vmlinux::extract(&files.vmlinuz)
            .map_err(|m| deb_error(format!("boot/vmlinuz-{}: {m}", files.release)))?;
        let agent_path = staging.dir().join("agent");
        compile_agent(&cc, &agent_path)?;
        let agent = fs_err::read(&agent_path)?;
        fs_err::remove_file(&agent_path)?;
        let loaded: Vec<&str> = GUEST_MODULES
            .iter()
            .copied()
            .filter(|m| files.modules.contains_key(*m))
            .collect();
        let list: String = loaded
            .iter()
            .map(|m| format!("/x07/modules/{m}\n"))
            .collect();
        let module_paths: Vec<String> = loaded.iter().map(|m| format!("x07/modules/{m}")).collect();
        let mut members = vec![
            Member::Dir("dev"),
            Member::Dir("proc"),
            Member::Dir("sys"),
            Member::Dir("tmp"),
            Member::Dir("x07"),
            Member::Dir("x07/modules"),
            Member::File("init", 0o755, &agent),
            Member::File("x07/modules.list", 0o644, list.as_bytes()),
        ];
        for (m, path) in loaded.iter().zip(&module_paths) {
            members.push(Member::File(path, 0o644, &files.modules[*m].1));
        }
        let initramfs = newc(&members);
        fs_err::write(staging.dir().join("vmlinux"), &kernel)?;
        fs_err::write(staging.dir().join("initramfs.cpio"), &initramfs)?;
        let manifest = ImageManifest {
            schema_version: "x07.vm.guest-image@0.1.0".to_string(),
            kernel_release: files.release.clone(),
            kernel: Sha256Digest::of(&kernel).to_string(),
            initramfs: Sha256Digest::of(&initramfs).to_string(),
            cmdline: BASE_CMDLINE.to_string(),
            kernel_deb: deb_digest.to_string(),
            modules: loaded.iter().map(|m| m.to_string()).collect(),
        };
        let bytes = x07_spec::canonical_file_bytes(&manifest).expect("a manifest serializes");
        fs_err::write(staging.binary_path(), bytes)?;
        Ok(Produced::from_c_source(AGENT_C))
    };
    // rooted by $X07_HOME/vm, so `x07 store gc` keeps the image this x07 uses
    let root = home.path().join("vm");
    fs_err::create_dir_all(&root)?;
    let realized = store
        .realize(&inputs, &root, produce)
        .map_err(|e| match e {
            PublishError::Store(e) => ImageError::Store(e),
            PublishError::Produce(e) => e,
        })?;
    let image = load_image(&realized.entry.dir)?;
    // the image this x07 boots from now on (x07 run, x07 bundle)
    x07_spec::write_atomic(
        &crate::current_image_file(home),
        image.dir.display().to_string().as_bytes(),
    )?;
    Ok(image)
}

/// An image directory's manifest.
fn read_manifest(dir: &Path) -> Result<ImageManifest, ImageError> {
    let manifest_bytes = fs_err::read(dir.join(IMAGE_NAME))?;
    serde_json::from_slice(&manifest_bytes)
        .map_err(|e| image_error(dir, format!("{IMAGE_NAME}: {e}")))
}

fn image_error(dir: &Path, message: String) -> ImageError {
    ImageError::KernelDeb {
        path: dir.to_path_buf(),
        message,
    }
}

/// The image of `dir` with `manifest`; its digest is the sha256 of the manifest's canonical bytes.
fn assemble(dir: &Path, manifest: ImageManifest) -> GuestImage {
    let digest = Sha256Digest::of(&x07_spec::to_canonical_vec(&manifest).expect("serializes"));
    GuestImage {
        dir: dir.to_path_buf(),
        kernel: dir.join("vmlinux"),
        initramfs: dir.join("initramfs.cpio"),
        manifest,
        digest,
    }
}

/// An image whose kernel and initramfs were already checked by sha256 (a VM bundle's launcher
/// checks every sidecar file against its pinned manifest): its manifest must name exactly those
/// digests, and the files are not hashed again.
pub fn image_with_checked_files(
    dir: &Path,
    kernel_sha256: &str,
    initramfs_sha256: &str,
) -> Result<GuestImage, ImageError> {
    let manifest = read_manifest(dir)?;
    if manifest.kernel != kernel_sha256 || manifest.initramfs != initramfs_sha256 {
        return Err(image_error(dir, format!(
            "{IMAGE_NAME} names kernel {} and initramfs {}, the files checked are {kernel_sha256} and {initramfs_sha256}",
            manifest.kernel, manifest.initramfs
        )));
    }
    Ok(assemble(dir, manifest))
}

/// Reads an image directory and checks every part against its manifest.
pub fn load_image(dir: &Path) -> Result<GuestImage, ImageError> {
    let image = assemble(dir, read_manifest(dir)?);
    for (path, want) in [
        (&image.kernel, &image.manifest.kernel),
        (&image.initramfs, &image.manifest.initramfs),
    ] {
        let got = Sha256Digest::of(&fs_err::read(path)?).to_string();
        if &got != want {
            return Err(image_error(
                dir,
                format!(
                    "{} is {got}, the image pins {want}: refusing a modified image",
                    path.display()
                ),
            ));
        }
    }
    Ok(image)
}
