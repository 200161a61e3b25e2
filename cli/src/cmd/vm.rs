//! `x07 vm image build` and `x07 vm image check`: the pinned guest image of the VM backend
//! (x07-vm; docs/vm.md). Running programs on the vm backend is not built yet.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use x07_builder::store::StoreRoot;
use x07_vm::{boot_probe, build_image, Accel, ImageRequest};

use crate::error::{CliError, CliResult};

/// `x07 vm ...`.
#[derive(Debug, Subcommand)]
pub enum VmCommand {
    /// The guest image.
    #[command(subcommand)]
    Image(ImageCommand),
}

/// `x07 vm image ...`.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build the guest image (kernel from Debian's kernel package, initramfs with x07's agent) into the store.
    Build(ImageBuildArgs),
    /// Build (or find) the image and boot it once under qemu: the agent must report ready.
    Check(ImageCheckArgs),
}

/// `x07 vm image build`.
#[derive(Debug, Args)]
pub struct ImageBuildArgs {
    /// A Debian linux-image .deb to take the kernel from (default: fetched with apt).
    #[arg(long, value_name = "FILE")]
    pub kernel_deb: Option<PathBuf>,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

/// `x07 vm image check`.
#[derive(Debug, Args)]
pub struct ImageCheckArgs {
    /// A Debian linux-image .deb to take the kernel from (default: fetched with apt).
    #[arg(long, value_name = "FILE")]
    pub kernel_deb: Option<PathBuf>,
    /// Acceleration: auto (KVM when usable, else TCG), kvm, tcg (default: X07_VM_ACCEL, else auto).
    #[arg(long, value_name = "ACCEL", value_parser = ["auto", "kvm", "tcg"])]
    pub accel: Option<String>,
    /// Seconds the boot may take before qemu is killed.
    #[arg(long, value_name = "SECONDS", default_value = "120")]
    pub timeout: u64,
}

/// Runs `x07 vm ...`.
pub fn run(command: &VmCommand) -> CliResult {
    match command {
        VmCommand::Image(ImageCommand::Build(args)) => build(args),
        VmCommand::Image(ImageCommand::Check(args)) => check(args),
    }
}

fn image(kernel_deb: Option<&PathBuf>) -> Result<x07_vm::GuestImage, CliError> {
    let home = crate::compile::home()?;
    let store = StoreRoot::new(&home);
    let req = ImageRequest {
        kernel_deb: kernel_deb.cloned(),
    };
    build_image(&home, &store, &req).map_err(|e| CliError::setup(e.code(), e.to_string()))
}

fn build(args: &ImageBuildArgs) -> CliResult {
    let img = image(args.kernel_deb.as_ref())?;
    if args.json {
        let report = serde_json::json!({
            "schema_version": "x07.vm.image.build.report@0.1.0",
            "digest": img.digest.to_string(),
            "dir": img.dir.display().to_string(),
            "manifest": img.manifest,
        });
        let bytes = x07_spec::canonical_file_bytes(&report)
            .map_err(|e| CliError::setup("X07-VM-0002", e.to_string()))?;
        print!("{}", String::from_utf8_lossy(&bytes));
    } else {
        println!(
            "guest image {} (kernel {})",
            img.digest, img.manifest.kernel_release
        );
        println!("{}", img.dir.display());
    }
    Ok(0)
}

fn check(args: &ImageCheckArgs) -> CliResult {
    let img = image(args.kernel_deb.as_ref())?;
    let accel_text = args
        .accel
        .clone()
        .or_else(|| std::env::var("X07_VM_ACCEL").ok())
        .unwrap_or_else(|| "auto".into());
    let accel: Accel = accel_text
        .parse()
        .map_err(|e| CliError::setup("X07-CLI-0001", format!("X07_VM_ACCEL / --accel: {e}")))?;
    let report = boot_probe(&img, accel, Duration::from_secs(args.timeout))
        .map_err(|e| CliError::setup("X07-VM-0003", e.to_string()))?;
    println!(
        "guest image {} booted with {:?} in {:.2} s: {}",
        img.digest,
        report.accel,
        report.elapsed.as_secs_f64(),
        report.agent_lines.join(" | ")
    );
    Ok(0)
}
