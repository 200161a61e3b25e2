//! What every sandbox test module uses: the harness, a project folder laid out for attacks, and
//! the codes the hostile program prints.

pub use crate::harness::{
    hostile, hostile_embedded, input, proc_req, unit, workdir, Flavor, Launch, Outcome, TestPolicy,
};
pub use serde_json::Value;
pub use std::os::unix::fs::symlink;
pub use std::os::unix::process::ExitStatusExt as _;
pub use std::path::{Path, PathBuf};
pub use std::process::Command;
pub use std::time::Duration;

/// `policy_deny`, as the hostile program prints a failed fs result.
pub const FS_POLICY_DENY: &str = "err:60003";
/// `disabled`: the run policy turned the filesystem off.
pub const FS_DISABLED: &str = "err:60004";
/// `permission`: what EACCES from Landlock becomes.
pub const FS_PERMISSION: &str = "err:60012";
/// `not_found`: what ENOENT becomes. A path outside every root is not even in the launcher's new
/// root, so the kernel layer answers with ENOENT (before Landlock is asked).
pub const FS_NOT_FOUND: &str = "err:60010";

/// What the hostile program prints for a libc call that failed with `errno`.
pub fn errno(e: i32) -> String {
    format!("errno:{e}")
}
/// The exact refusal of a sandboxed binary started without a policy.
pub const NEEDS_POLICY: &str =
    "x07: this program was built for run-os-sandboxed and needs a policy (run it with `x07 run --profile sandbox`)\n";

/// A project folder: `ro/` (read root, with `visible.txt` and a hidden `.env`), `rw/` (write root),
/// and `outside/secret.txt` next to them (in no root).
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A fresh project in /tmp.
    pub fn new() -> Self {
        crate::harness::require_kernel_layer();
        let dir = workdir();
        let p = dir.path();
        for d in ["ro", "rw", "outside"] {
            fs_err::create_dir(p.join(d)).unwrap();
        }
        fs_err::write(p.join("ro/visible.txt"), "visible").unwrap();
        fs_err::write(p.join("ro/.env"), "API_KEY=hunter2").unwrap();
        fs_err::write(p.join("outside/secret.txt"), "secret").unwrap();
        Self { dir }
    }

    /// The project root (the cwd of every run).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the project.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// A path inside the project, as text.
    pub fn s(&self, rel: &str) -> String {
        self.path(rel).to_str().unwrap().to_owned()
    }

    /// The base test policy: read `ro`, write `rw`.
    pub fn policy(&self) -> TestPolicy {
        TestPolicy::new(&[&self.path("ro")], &[&self.path("rw")])
    }

    /// Runs the hostile program built as `flavor` with `policy`.
    pub fn run(&self, flavor: Flavor, policy: &TestPolicy, input: &[u8]) -> Outcome {
        let blob = policy.to_bytes();
        Launch::new(hostile(flavor), Some(&blob), self.root()).run(input)
    }
}

/// The input that reads `path` with os.fs.read_all_v1 (default caps).
pub fn read(path: &str) -> Vec<u8> {
    input(b'r', &[path.as_bytes(), b"28"])
}

/// Asserts the run ended by signal `sig`.
pub fn assert_killed_by(out: &Outcome, sig: i32) {
    assert_eq!(
        out.status.signal(),
        Some(sig),
        "expected signal {sig}; status {:?}; stderr:\n{}",
        out.status,
        out.stderr
    );
}
