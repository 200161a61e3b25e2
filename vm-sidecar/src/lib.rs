//! x07-vm: the VM boundary (docs/vm.md). It builds and pins the guest image — the kernel
//! unpacked from Debian's kernel package, and an initramfs holding x07's own guest agent and the
//! kernel modules the guest needs — boots it under a confined qemu (`-M microvm`, direct kernel
//! boot, KVM when usable, otherwise TCG, never a hang), runs one sandboxed job per guest, and
//! proxies the job's TCP streams to the destinations its policy allows.

mod bundle;
pub mod confine;
mod cpio;
mod deb;
mod egress;
mod image;
mod qemu;
mod sandboxed;
mod vmlinux;

pub use bundle::{launch_bundle, verify_sidecar, BundleLaunch, SidecarError, VerifiedSidecar};
pub use egress::{EgressRules, EgressStats};
pub use image::{
    build_image, image_with_checked_files, load_image, GuestImage, ImageError, ImageRequest,
    GUEST_MODULES, IMAGE_MANIFEST_FILE,
};
pub use qemu::{
    boot_probe, kvm_unusable, qemu_binary, run_job, Accel, BootError, BootReport, JobResult,
    JobSpec, JobStatus, Share,
};
pub use sandboxed::{
    check_vm_backend, current_image, current_image_file, guest_memory_mb, guest_wall_clock,
    policy_shares, run_sandboxed, NoImage, SandboxedRun,
};
