//! The policy blob reaches a sandboxed child through an inherited descriptor, and only there.

use std::path::Path;
use std::process::Command;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use x07_runner::{run_launch, EnvMode, Launch, RunLimits};

#[test]
fn blob_arrives_on_the_named_descriptor_and_nothing_else_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("policy_fd");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/policy_fd.c");
    let out = Command::new("cc")
        .args(["-std=c11", "-D_DEFAULT_SOURCE", "-O1", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Descriptors the test process itself leaks to every child (e.g. cargo's jobserver) are the baseline.
    let plain = Launch {
        env: EnvMode::inherit(),
        cwd: None,
        policy_blob: None,
        launcher: None,
    };
    let r = run_launch(&exe, b"", &RunLimits::default(), &plain).unwrap();
    let baseline = BASE64.decode(&r.solve.solve_output_b64).unwrap();
    assert_eq!(baseline.len(), 1, "without a blob nothing is read");
    assert_eq!(r.solve.policy_denials, None);

    let blob = b"X7P1 test blob \x00\x01\x02";
    let launch = Launch {
        env: EnvMode::inherit(),
        cwd: None,
        policy_blob: Some(blob),
        launcher: None,
    };
    let r = run_launch(&exe, b"", &RunLimits::default(), &launch).unwrap();
    assert!(r.solve.ok, "{:?}", r.solve);
    let got = BASE64.decode(&r.solve.solve_output_b64).unwrap();
    assert_eq!(&got[..blob.len()], blob);
    assert_eq!(got.len(), blob.len() + 1);
    assert_eq!(
        got[blob.len()],
        baseline[0],
        "after closing the policy fd the child holds nothing more than without a blob"
    );
    assert_eq!(
        r.solve.policy_denials,
        Some(vec![]),
        "a policy run always reports its denials"
    );
}
