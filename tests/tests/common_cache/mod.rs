//! Helpers of the binary cache tests (`store_cache*`): a project built and pushed from one
//! `X07_HOME`, a second machine (another home, a copy of the project elsewhere, and optionally no
//! C compiler at all), and comparisons of store entries file by file.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use x07_tests::{copy_tree, X07Home, X07Invocation, X07Output};

use crate::common::{expect_exit, run, stdout_json, x07_in, InitProject};

/// A project built in its own home, with a signing key (`x07 key generate`).
pub struct Pusher {
    /// The project and its home.
    pub p: InitProject,
    /// The entry `x07 build` produced.
    pub entry: PathBuf,
    /// The secret key.
    pub key: PathBuf,
    /// Its public half, `<key>.pub`.
    pub public: PathBuf,
}

impl Pusher {
    /// `x07 init`, `x07 build`, `x07 key generate`.
    pub fn new() -> Self {
        let p = InitProject::new();
        let built = build_json(p.x07(), NO_FLAGS);
        expect_exit(&built.0, 0);
        let entry = PathBuf::from(built.1["store_path"].as_str().expect("store_path"));
        let out = run(p.x07().args(["key", "generate"]));
        expect_exit(&out, 0);
        let key = p.home.path().join("keys/lock-signing.pem");
        let public = p.home.path().join("keys/lock-signing.pem.pub");
        assert!(
            public.is_file(),
            "x07 key generate should write {}",
            public.display()
        );
        Self {
            p,
            entry,
            key,
            public,
        }
    }

    /// The entry's directory name, `<hash>-<name>`.
    pub fn entry_name(&self) -> String {
        self.entry
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    /// `x07 store push --to URL --json` plus `extra`; must succeed; the report.
    pub fn push(&self, url: &str, extra: &[&str]) -> Value {
        self.push_with(url, |inv| inv.args(extra))
    }

    /// [`Pusher::push`] with the invocation adjusted by `adjust` (credentials, flags).
    pub fn push_with(
        &self,
        url: &str,
        adjust: impl FnOnce(X07Invocation) -> X07Invocation,
    ) -> Value {
        let inv = adjust(self.p.x07().args(["store", "push", "--json", "--to", url]));
        let out = run(inv);
        expect_exit(&out, 0);
        stdout_json(&out)
    }
}

/// A directory used as a `file://` cache.
pub struct FileCache {
    dir: tempfile::TempDir,
}

impl FileCache {
    /// An empty cache directory.
    pub fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("x07-cache-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    /// Its directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    /// A copy of this cache (for a test that damages it).
    pub fn copy(&self) -> FileCache {
        let other = FileCache::new();
        copy_tree(self.path(), other.path()).expect("copy the cache");
        other
    }

    /// Every file in the cache, relative, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.path(), self.path(), &mut out);
        out.sort();
        out
    }

    /// The record of `entry` (both copies: by hash and without the compiler) as JSON.
    pub fn records(&self, entry: &str) -> Vec<(PathBuf, Value)> {
        let by_hash = self.path().join(format!("entries/{entry}.json"));
        let record: Value = serde_json::from_slice(&fs_err::read(&by_hash).unwrap()).unwrap();
        let without = self.path().join(format!(
            "without-cc/{}-{}.json",
            record["hash_without_cc"].as_str().unwrap(),
            record["name"].as_str().unwrap()
        ));
        let other: Value = serde_json::from_slice(&fs_err::read(&without).unwrap()).unwrap();
        vec![(by_hash, record), (without, other)]
    }

    /// Rewrites both records of `entry` with `edit`.
    pub fn edit_records(&self, entry: &str, edit: impl Fn(&mut Value)) {
        for (path, mut record) in self.records(entry) {
            edit(&mut record);
            fs_err::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
        }
    }

    /// The archive file of `entry`.
    pub fn archive(&self, entry: &str) -> PathBuf {
        let (_, record) = self.records(entry).remove(0);
        self.path().join(record["archive"]["key"].as_str().unwrap())
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for item in fs_err::read_dir(dir).unwrap() {
        let path = item.unwrap().path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            out.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

/// Another machine: its own home, a copy of the project in another directory, and an empty
/// directory to use as `PATH` when it must have no C compiler.
pub struct Puller {
    /// The home.
    pub home: X07Home,
    dir: tempfile::TempDir,
}

impl Puller {
    /// A fresh home and a copy of `from`'s project (sources only, as a checkout would be).
    pub fn new(from: &InitProject) -> Self {
        let home = X07Home::new().expect("home");
        let dir = tempfile::Builder::new()
            .prefix("x07-puller-")
            .tempdir()
            .expect("temp dir");
        copy_tree(from.root(), &dir.path().join("proj")).expect("copy the project");
        fs_err::create_dir(dir.path().join("empty-path")).unwrap();
        Self { home, dir }
    }

    /// The project copy.
    pub fn project(&self) -> PathBuf {
        self.dir.path().join("proj")
    }

    /// `x07` in the project copy with this home (and the test's PATH: a C compiler).
    pub fn x07(&self) -> X07Invocation {
        x07_in(&self.home, &self.project())
    }

    /// `x07` with no C compiler anywhere: PATH is an empty directory, CC and X07_CC unset.
    pub fn x07_no_cc(&self) -> X07Invocation {
        self.x07()
            .env("PATH", self.dir.path().join("empty-path"))
            .env("CC", "")
    }

    /// The store's directory names, `.lock` left out.
    pub fn store(&self) -> Vec<String> {
        let Ok(items) = fs_err::read_dir(self.home.path().join("store")) else {
            return Vec::new();
        };
        let mut names: Vec<String> = items
            .map(|i| i.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".lock")
            .collect();
        names.sort();
        names
    }
}

/// No extra flags for [`build_json`].
pub const NO_FLAGS: [&str; 0] = [];

/// `store verify --json --cache URL --trusted-key PUBLIC`.
pub fn verify_cache_args(url: &str, public: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> =
        ["store", "verify", "--json", "--cache", url, "--trusted-key"]
            .iter()
            .map(Into::into)
            .collect();
    args.push(public.into());
    args
}

/// Trust flags for `x07 build` / `x07 run` / `x07 test`.
pub fn substitute_args(url: &str, public: &Path) -> Vec<String> {
    vec![
        "--substituter".into(),
        url.into(),
        "--trusted-key".into(),
        public.display().to_string(),
    ]
}

/// Runs `x07 build --json FLAGS…`; the output and its JSON (Null when stdout is not JSON).
pub fn build_json<S: AsRef<std::ffi::OsStr>>(
    inv: X07Invocation,
    flags: impl IntoIterator<Item = S>,
) -> (X07Output, Value) {
    let out = run(inv.args(["build", "--json"]).args(flags));
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, json)
}

/// Every file of an entry: relative path → (bytes, mode bits).
pub fn entry_tree(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files
        .into_iter()
        .map(|rel| {
            let path = dir.join(&rel);
            let mode = fs_err::metadata(&path).unwrap().permissions().mode() & 0o7777;
            (rel, (fs_err::read(&path).unwrap(), mode))
        })
        .collect()
}

/// Asserts that two entries hold the same files with the same bytes and modes.
#[track_caller]
pub fn assert_same_entry(a: &Path, b: &Path) {
    let (ta, tb) = (entry_tree(a), entry_tree(b));
    assert_eq!(
        ta.keys().collect::<Vec<_>>(),
        tb.keys().collect::<Vec<_>>(),
        "{} and {} hold different files",
        a.display(),
        b.display()
    );
    for (rel, (bytes, mode)) in &ta {
        let (other_bytes, other_mode) = &tb[rel];
        assert!(
            bytes == other_bytes,
            "{rel} differs between {} and {}",
            a.display(),
            b.display()
        );
        assert_eq!(
            mode,
            other_mode,
            "{rel} has another mode in {}",
            b.display()
        );
    }
    assert_eq!(
        a.file_name(),
        b.file_name(),
        "the entries have different names"
    );
}
