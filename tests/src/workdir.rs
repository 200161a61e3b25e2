//! Temporary directories for end-to-end tests: a shared `X07_HOME` and per-test program dirs.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

/// A dot-separated x07 module id such as `app` or `lib.math` (each segment `[A-Za-z_][A-Za-z0-9_-]*`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleId(String);

/// A module id that does not follow the x07 syntax.
#[derive(Debug, thiserror::Error)]
#[error("invalid module id {0:?}: use dot-separated segments of [A-Za-z_][A-Za-z0-9_-]*")]
pub struct InvalidModuleId(pub String);

impl ModuleId {
    /// Checks the syntax of `id`.
    pub fn parse(id: &str) -> Result<Self, InvalidModuleId> {
        let segment_ok = |s: &str| {
            let mut chars = s.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if id.split('.').all(segment_ok) {
            Ok(Self(id.to_owned()))
        } else {
            Err(InvalidModuleId(id.to_owned()))
        }
    }

    /// The file of this module under a module root: `a.b.c` → `a/b/c.x07.json`.
    pub fn relative_path(&self) -> PathBuf {
        let mut path: PathBuf = self.0.split('.').collect();
        path.set_extension("x07.json");
        path
    }
}

impl fmt::Display for ModuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A temporary `X07_HOME` (store, caches) that lives as long as this value.
#[derive(Debug)]
pub struct X07Home {
    dir: tempfile::TempDir,
}

impl X07Home {
    /// Creates an empty home in the system temp dir.
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            dir: tempfile::Builder::new().prefix("x07-home-").tempdir()?,
        })
    }

    /// The directory to pass as `X07_HOME`.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A temporary directory holding one x07 program (entry + modules) and its run inputs.
/// It is also the module root and the working directory of the runs.
#[derive(Debug)]
pub struct ProgramDir {
    dir: tempfile::TempDir,
}

/// A relative path that would leave the program directory.
#[derive(Debug, thiserror::Error)]
#[error(
    "path {0:?} must be relative and stay inside the program directory (no `..`, no leading `/`)"
)]
pub struct EscapingPath(pub String);

impl ProgramDir {
    /// The file name of the entry module inside the directory.
    pub const ENTRY_FILE: &'static str = "main.x07.json";

    /// Creates an empty program directory.
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            dir: tempfile::Builder::new().prefix("x07-program-").tempdir()?,
        })
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The path of the entry file (`main.x07.json`).
    pub fn entry_path(&self) -> PathBuf {
        self.path().join(Self::ENTRY_FILE)
    }

    /// Writes the entry file.
    pub fn write_entry(&self, entry: &Value) -> std::io::Result<PathBuf> {
        let path = self.entry_path();
        fs_err::write(&path, to_pretty_json(entry))?;
        Ok(path)
    }

    /// Writes a module file at its id path (`a.b` → `a/b.x07.json`), creating parent dirs.
    pub fn write_module(&self, id: &ModuleId, module: &Value) -> std::io::Result<PathBuf> {
        let path = self.path().join(id.relative_path());
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::write(&path, to_pretty_json(module))?;
        Ok(path)
    }

    /// Writes `bytes` to a file directly in the directory and returns its path.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.path().join(name);
        fs_err::write(&path, bytes)?;
        Ok(path)
    }

    /// Keeps the directory on disk (for debugging a failure) and returns its path.
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }

    /// Resolves a relative path inside the directory, refusing paths that leave it.
    pub fn resolve(&self, relative: &str) -> Result<PathBuf, EscapingPath> {
        let rel = Path::new(relative);
        let stays_inside = !relative.is_empty()
            && rel
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if stays_inside {
            Ok(self.path().join(rel))
        } else {
            Err(EscapingPath(relative.to_owned()))
        }
    }
}

fn to_pretty_json(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("a JSON value always serializes");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_ids_map_to_nested_paths() {
        let id = ModuleId::parse("lib.math-2").unwrap();
        assert_eq!(id.relative_path(), Path::new("lib/math-2.x07.json"));
        assert!(ModuleId::parse("1abc").is_err());
        assert!(ModuleId::parse("a..b").is_err());
        assert!(ModuleId::parse("").is_err());
    }

    #[test]
    fn resolve_refuses_escaping_paths() {
        let dir = ProgramDir::new().unwrap();
        assert!(dir.resolve("out/input.bin").is_ok());
        assert!(dir.resolve("../x").is_err());
        assert!(dir.resolve("/etc/passwd").is_err());
        assert!(dir.resolve("").is_err());
    }
}

/// Copies the tree `from` to `to` (created), regular files and directories, as `cp -r` would:
/// a bundle and its sidecar moved to a fresh directory.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs_err::create_dir_all(to)?;
    for entry in fs_err::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs_err::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
