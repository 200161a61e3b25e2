//! The directories of one attack run and what is planted in them:
//!
//! ```text
//! <outer>/            a fresh temporary directory (canonical path)
//!   proj/             the project root and working directory of the program
//!   outside/          files no policy root covers (the secrets)
//! ```
//!
//! Attack texts name these places with placeholders: `{outer}`, `{project}`, `{outside}`,
//! `{port:NAME}` (a listener's port), `{up_to_root}` (`../` repeated to climb from the project to
//! `/`, for relative paths that end up anywhere on the machine) and `{nonce}` (a number no other
//! stage of this test process uses, to tell the processes of concurrent runs apart).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::attack::Setup;
use super::listener::LoopbackListener;

/// The first `{word}` left in `text` (lowercase letters and `_`), a placeholder nobody replaced.
fn leftover_placeholder(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    for (start, _) in text.match_indices('{') {
        let rest = &bytes[start + 1..];
        let len = rest
            .iter()
            .take_while(|b| b.is_ascii_lowercase() || **b == b'_')
            .count();
        if len > 0 && rest.get(len) == Some(&b'}') {
            return Some(&text[start..start + len + 2]);
        }
    }
    None
}

/// The directories and listeners of one run; removed when dropped.
#[derive(Debug)]
pub struct Stage {
    outer: tempfile::TempDir,
    outer_path: PathBuf,
    project: PathBuf,
    outside: PathBuf,
    listeners: BTreeMap<String, LoopbackListener>,
    nonce: u32,
}

/// The next `{nonce}`.
static NEXT_NONCE: AtomicU32 = AtomicU32::new(100);

impl Stage {
    /// Creates `<outer>/proj` and `<outer>/outside`.
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        let outer = tempfile::Builder::new().prefix(prefix).tempdir()?;
        // The runtime compares real paths: resolve any symlink in the temp dir's path up front.
        let outer_path = fs_err::canonicalize(outer.path())?;
        let project = outer_path.join("proj");
        let outside = outer_path.join("outside");
        fs_err::create_dir(&project)?;
        fs_err::create_dir(&outside)?;
        Ok(Self {
            outer,
            outer_path,
            project,
            outside,
            listeners: BTreeMap::new(),
            nonce: NEXT_NONCE.fetch_add(1, Ordering::SeqCst),
        })
    }

    /// The project root.
    pub fn project(&self) -> &Path {
        &self.project
    }

    /// The directory holding everything.
    pub fn outer(&self) -> &Path {
        &self.outer_path
    }

    /// The listener started under `name`.
    pub fn listener(&self, name: &str) -> Result<&LoopbackListener, String> {
        self.listeners
            .get(name)
            .ok_or_else(|| format!("no listener named {name:?} was started (setup.listeners)"))
    }

    /// `text` with every placeholder replaced.
    pub fn expand(&self, text: &str) -> Result<String, String> {
        let depth = self.project.components().count().saturating_sub(1);
        let mut out = text
            .replace("{outer}", &self.outer_path.display().to_string())
            .replace("{project}", &self.project.display().to_string())
            .replace("{outside}", &self.outside.display().to_string())
            .replace("{up_to_root}", &"../".repeat(depth))
            .replace("{nonce}", &self.nonce.to_string());
        while let Some(start) = out.find("{port:") {
            let end = out[start..]
                .find('}')
                .map(|e| start + e)
                .ok_or_else(|| format!("unterminated {{port:...}} in {text:?}"))?;
            let port = self.listener(&out[start + 6..end])?.port();
            out.replace_range(start..=end, &port.to_string());
        }
        if let Some(left) = leftover_placeholder(&out) {
            return Err(format!("unknown placeholder {left} in {text:?}"));
        }
        Ok(out)
    }

    /// A path from an attack text: placeholders expanded, relative paths taken from the project.
    pub fn path(&self, text: &str) -> Result<PathBuf, String> {
        let expanded = PathBuf::from(self.expand(text)?);
        Ok(if expanded.is_absolute() {
            expanded
        } else {
            self.project.join(expanded)
        })
    }

    /// Starts the listeners, then creates the directories, files and links of `setup`.
    pub fn plant(&mut self, setup: &Setup) -> Result<(), String> {
        for name in &setup.listeners {
            let listener = LoopbackListener::start()
                .map_err(|e| format!("cannot start listener {name}: {e}"))?;
            self.listeners.insert(name.clone(), listener);
        }
        let io = |what: &str, path: &Path, e: std::io::Error| {
            format!("setup: cannot {what} {}: {e}", path.display())
        };
        for dir in &setup.dirs {
            let path = self.path(dir)?;
            fs_err::create_dir_all(&path).map_err(|e| io("create", &path, e))?;
        }
        let files = setup
            .files
            .iter()
            .map(|(rel, content)| Ok((self.path(rel)?, content)))
            .chain(
                setup
                    .outside_files
                    .iter()
                    .map(|(name, content)| Ok((self.outside.join(name), content))),
            )
            .collect::<Result<Vec<_>, String>>()?;
        for (path, content) in files {
            if let Some(parent) = path.parent() {
                fs_err::create_dir_all(parent).map_err(|e| io("create", parent, e))?;
            }
            fs_err::write(&path, content).map_err(|e| io("write", &path, e))?;
        }
        for (link, target) in &setup.symlinks {
            let link = self.path(link)?;
            let target = self.expand(target)?;
            if let Some(parent) = link.parent() {
                fs_err::create_dir_all(parent).map_err(|e| io("create", parent, e))?;
            }
            fs_err::os::unix::fs::symlink(&target, &link)
                .map_err(|e| io("plant a link at", &link, e))?;
        }
        Ok(())
    }

    /// Keeps the directories on disk (for debugging a failure) and returns where they are.
    pub fn keep(self) -> PathBuf {
        let Stage {
            outer, outer_path, ..
        } = self;
        let _ = outer.keep();
        outer_path
    }
}

// Run by the sandbox_walkthrough binary; the attack harness has no libtest, so there they are unused.
#[cfg(test)]
#[allow(unused_imports)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_expand_and_unknown_ones_are_reported() {
        let stage = Stage::new("x07-stage-test-").unwrap();
        let project = stage.project().display().to_string();
        assert_eq!(stage.expand("{project}/a").unwrap(), format!("{project}/a"));
        let climbed = stage
            .project()
            .join(stage.expand("{up_to_root}etc").unwrap());
        assert_eq!(fs_err::canonicalize(climbed).unwrap(), Path::new("/etc"));
        assert!(stage.expand("{nope}").is_err());
        assert!(stage.expand("{port:missing}").is_err());
        assert_eq!(stage.expand("x=$((i+1)) {").unwrap(), "x=$((i+1)) {");
    }
}
