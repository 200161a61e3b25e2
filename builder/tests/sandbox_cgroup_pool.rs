//! The launcher's pool of idle cgroups (docs/internals/sandbox.md, "Order of enforcement", step 5):
//! a run claims an idle v1 group only when it is empty, writes every limit again, and gives the
//! group back (or removes it when the pool is full). A test binary of its own: it plants groups
//! in the pool, which must not race the sandboxed runs of other tests (cargo runs test binaries
//! one at a time). Needs what the sandbox tests need (root, Landlock ABI >= 4, cgroup v1).

#![allow(dead_code)] // the shared harness has more than this test uses

#[path = "sandbox_c/harness.rs"]
mod harness;
#[path = "sandbox_c/project.rs"]
mod project;

use project::*;

const POOL: usize = 8;

fn idle(controller: &str, k: usize) -> PathBuf {
    PathBuf::from(format!("/sys/fs/cgroup/{controller}/x07/idle-{k}"))
}

fn read(path: &Path) -> String {
    fs_err::read_to_string(path).unwrap().trim().to_string()
}

/// Empties the pool of what this test planted or the runs left (only empty groups go).
fn clear_pool() {
    for controller in ["pids", "memory"] {
        for k in 0..POOL {
            let _ = std::fs::remove_dir(idle(controller, k));
        }
    }
}

/// Processes planted in idle groups, killed (and the pool cleared) however the test ends.
struct Planted(Vec<std::process::Child>);

impl Planted {
    /// A `sleep` moved into `group`.
    fn sleeper_in(&mut self, group: &Path) -> u32 {
        let s = Command::new("sleep").arg("60").spawn().unwrap();
        let pid = s.id();
        self.0.push(s);
        fs_err::write(group.join("cgroup.procs"), pid.to_string()).unwrap();
        pid
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        for s in &mut self.0 {
            let _ = s.kill();
            let _ = s.wait();
        }
        clear_pool();
    }
}

/// `run-<pid>` groups of the launcher left in either hierarchy.
fn run_groups() -> Vec<String> {
    let mut left = Vec::new();
    for controller in ["pids", "memory"] {
        for e in fs_err::read_dir(format!("/sys/fs/cgroup/{controller}/x07")).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with("run-") {
                left.push(format!("{controller}/{name}"));
            }
        }
    }
    left
}

#[test]
fn idle_cgroups_are_reused_only_when_empty_and_get_the_runs_limits() {
    harness::require_kernel_layer();
    clear_pool();
    for controller in ["pids", "memory"] {
        fs_err::create_dir_all(format!("/sys/fs/cgroup/{controller}/x07")).unwrap();
    }
    let mut planted = Planted(Vec::new());
    // slot 0 holds a live process (not the run's): never claimed
    fs_err::create_dir(idle("pids", 0)).unwrap();
    let sleeper = planted.sleeper_in(&idle("pids", 0));
    // slots 1..8 are empty, with limits no run survives: one process, 4 MiB
    for k in 1..POOL {
        fs_err::create_dir(idle("pids", k)).unwrap();
        fs_err::write(idle("pids", k).join("pids.max"), "1").unwrap();
        fs_err::create_dir(idle("memory", k)).unwrap();
        fs_err::write(idle("memory", k).join("memory.limit_in_bytes"), "4194304").unwrap();
    }

    let p = Project::new();
    let mut pol = p.policy();
    pol.procs = 6;
    pol.mem_bytes = 256 << 20;
    // a claimed group gets pids.max = procs + 1 again: the program and 5 children
    let out = p.run(Flavor::Checked, &pol, b"F");
    assert_eq!(
        out.assert_ok().text(),
        format!("forks:5 errno:{}", libc::EAGAIN)
    );
    // ... and the run's memory limit: 32 MiB under a 4 MiB leftover would be OOM-killed
    let out = p.run(Flavor::Checked, &pol, &input(b'M', &[b"32"]));
    assert_eq!(out.assert_ok().text(), "malloc 32 MiB: ok");

    // the runs took planted groups (every other slot was taken) and gave them back under the
    // name they had: one pids slot now carries the runs' limit, the rest still carry 1
    let limits: Vec<String> = (1..POOL)
        .map(|k| read(&idle("pids", k).join("pids.max")))
        .collect();
    assert_eq!(
        limits.iter().filter(|l| *l == "7").count(),
        1,
        "pids.max of idle-1..7: {limits:?}"
    );
    assert_eq!(limits.iter().filter(|l| *l == "1").count(), POOL - 2);
    for k in 1..POOL {
        assert_eq!(read(&idle("pids", k).join("pids.current")), "0", "idle-{k}");
    }
    // the occupied slot was left alone
    assert_eq!(
        read(&idle("pids", 0).join("cgroup.procs")),
        sleeper.to_string()
    );
    assert!(run_groups().is_empty(), "left: {:?}", run_groups());

    // a full pool (every slot holds a process): the run makes its own group and removes it
    for k in 1..POOL {
        fs_err::write(idle("pids", k).join("pids.max"), "max").unwrap();
        planted.sleeper_in(&idle("pids", k));
    }
    let out = p.run(Flavor::Checked, &pol, b"F");
    assert_eq!(
        out.assert_ok().text(),
        format!("forks:5 errno:{}", libc::EAGAIN)
    );
    let group = out.sandbox()["pids_cgroup"].as_str().unwrap().to_string();
    assert!(group.contains("/x07/run-"), "{group}");
    assert!(!Path::new(&group).exists(), "{group} was left behind");
    assert!(run_groups().is_empty(), "left: {:?}", run_groups());
}
