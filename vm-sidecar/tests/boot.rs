//! The guest image built from Debian's kernel package (fetched with apt, or `X07_TEST_KERNEL_DEB`)
//! boots under real qemu: the agent loads its modules, reports the kernel release, powers off.
//! Needs qemu-system-x86 (installed by .ci/run); without it the test fails, naming the package.

use std::time::Duration;

use x07_builder::cc::X07Home;
use x07_builder::store::StoreRoot;
use x07_vm::{boot_probe, build_image, Accel, ImageRequest};

#[test]
fn the_guest_image_boots_and_its_agent_reports_ready() {
    let home_dir = tempfile::tempdir().unwrap();
    let home = X07Home::new(home_dir.path()).unwrap();
    let store = StoreRoot::new(&home);
    let req = ImageRequest {
        kernel_deb: std::env::var_os("X07_TEST_KERNEL_DEB").map(Into::into),
    };
    let image = build_image(&home, &store, &req).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        image
            .manifest
            .modules
            .contains(&"virtio_mmio.ko".to_string()),
        "{:?}",
        image.manifest
    );
    // the same inputs give the same image (a store hit)
    let again = build_image(&home, &store, &req).unwrap();
    assert_eq!(again.digest, image.digest);
    let report =
        boot_probe(&image, Accel::Auto, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "booted with {:?} in {:?}: {:?}",
        report.accel, report.elapsed, report.agent_lines
    );
    assert_eq!(
        report.release.as_deref(),
        Some(image.manifest.kernel_release.as_str()),
        "{report:?}"
    );
}
