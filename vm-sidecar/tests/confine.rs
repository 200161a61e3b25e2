//! The confinement qemu runs under on the host, tried with a stand-in: x07's launcher runs
//! `/usr/bin/cat` (allowed as "qemu") under the policy built for a boot, and the host file
//! outside the image, the job's state and the shares never arrives, while a file of the state
//! directory is readable. Needs root (the launcher's cgroups and namespaces), as CI runs.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use x07_builder::cc::X07Home;
use x07_builder::store::StoreRoot;
use x07_vm::confine::{policy_blob, Confinement};

#[test]
fn the_qemu_policy_reads_only_the_image_the_state_and_the_shares() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "skipping: the launcher's cgroups and namespaces need root here (CI runs as root)"
        );
        return;
    }
    let home_dir = tempfile::tempdir().unwrap();
    let home = X07Home::new(home_dir.path()).unwrap();
    let launcher = x07_builder::launcher::ensure_launcher(&home, &StoreRoot::new(&home)).unwrap();
    let outer = tempfile::tempdir().unwrap();
    let image = outer.path().join("image");
    let state = outer.path().join("state");
    let outside = outer.path().join("outside");
    for d in [&image, &state, &outside] {
        fs_err::create_dir(d).unwrap();
    }
    fs_err::write(state.join("ok.txt"), b"state file").unwrap();
    let secret = format!("x07-confine-secret-{}", std::process::id());
    fs_err::write(outside.join("secret.txt"), &secret).unwrap();
    let cat = fs_err::canonicalize("/usr/bin/cat").unwrap();
    let blob = policy_blob(&Confinement {
        qemu: &cat,
        read: vec![image.clone()],
        write: vec![state.clone()],
        memory_mb: 64,
        limit: Duration::from_secs(30),
    })
    .unwrap();
    let policy = outer.path().join("qemu.policy");
    fs_err::write(&policy, blob).unwrap();
    let run = |file: &Path| {
        Command::new(&launcher)
            .arg(format!("--x07-policy-file={}", policy.display()))
            .args(["--plain-exec", "--"])
            .arg(&cat)
            .arg(file)
            .current_dir(&state)
            .output()
            .unwrap()
    };
    let ok = run(&state.join("ok.txt"));
    assert_eq!(
        ok.stdout,
        b"state file",
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let denied = run(&outside.join("secret.txt"));
    assert!(!denied.status.success());
    assert!(
        !String::from_utf8_lossy(&denied.stdout).contains(&secret),
        "the confined stand-in read a host file outside its roots"
    );
}
