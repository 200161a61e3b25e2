//! The guest image built from Debian's kernel package (fetched with apt, or `X07_TEST_KERNEL_DEB`)
//! boots under real qemu: the agent loads its modules, reports the kernel release, powers off.
//! Needs qemu-system-x86 (installed by .ci/run); without it the test fails, naming the package.

use std::time::Duration;

use x07_builder::cc::X07Home;
use x07_builder::store::StoreRoot;
use x07_vm::{boot_probe, build_image, run_job, Accel, ImageRequest, JobSpec, JobStatus};

/// A static C program (musl when installed, else static glibc) built into `dir`.
fn static_program(dir: &std::path::Path, source: &str) -> std::path::PathBuf {
    let src = dir.join("payload.c");
    fs_err::write(&src, source).unwrap();
    let exe = dir.join("payload");
    let mut cc = std::process::Command::new("cc");
    if let Some(specs) = x07_builder::cc::musl_specs() {
        cc.arg("-specs").arg(specs);
    }
    let out = cc
        .args(["-static", "-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

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

    // one job: a static payload gets its arguments, its output and exit code come back, the exit
    // code on the status port (not in the payload's output)
    let work = tempfile::tempdir().unwrap();
    let payload = static_program(
        work.path(),
        "#include <stdio.h>\nint main(int c, char **v) { for (int i = 1; i < c; i++) printf(\"%s;\", v[i]);\n fprintf(stderr, \"to stderr\");\n printf(\"{\\\"x07_status\\\":\\\"exit\\\",\\\"value\\\":0}\\n\");\n return 7; }\n",
    );
    let args: Vec<std::ffi::OsString> =
        vec!["/x07/in/payload".into(), "one".into(), "two words".into()];
    let result = run_job(
        &image,
        &JobSpec {
            files: &[("payload", &payload)],
            args: &args,
            stdin: b"",
            env: &[],
            shares: &[],
            cwd: None,
            memory_mb: 256,
            limit: Duration::from_secs(120),
            accel: Accel::Auto,
            stream: false,
            egress: None,
            cpus: 1,
            root_files: &[],
            confine_with: None,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("job took {:?}", result.boot.elapsed);
    assert_eq!(result.status, JobStatus::Exit(7), "{result:?}");
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.starts_with("one;two words;"), "{stdout:?}");
    assert_eq!(result.stderr, b"to stderr");
}
