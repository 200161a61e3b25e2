//! x07-vm: the VM boundary (docs/vm.md). This first part builds and pins the guest image — the
//! kernel unpacked from Debian's kernel package, and an initramfs holding x07's own guest agent
//! and the kernel modules the guest needs — and boots it under qemu (`-M microvm`, direct kernel
//! boot, KVM when usable, otherwise TCG, never a hang). Running programs in the guest, the host
//! proxy and VM bundles come next; until then the vm backend still fails closed.

pub mod confine;
mod cpio;
mod deb;
mod image;
mod qemu;
mod sandboxed;
mod vmlinux;

pub use image::{build_image, load_image, GuestImage, ImageError, ImageRequest, GUEST_MODULES};
pub use qemu::{
    boot_probe, kvm_unusable, run_job, Accel, BootError, BootReport, JobResult, JobSpec, JobStatus,
    Share,
};
pub use sandboxed::{current_image, current_image_file, run_sandboxed, NoImage, SandboxedRun};
