//! Finding the C compiler: `$X07_CC`, then `$CC`, then `cc` on `PATH`.

use std::ffi::{OsStr, OsString};
use std::fs::Metadata;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::CcError;

/// The environment the compiler is looked up in; [`CcLocator::from_env`] reads the real one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CcLocator {
    /// `$X07_CC`: the compiler x07 should use, ahead of everything else.
    pub x07_cc: Option<OsString>,
    /// `$CC`: the conventional compiler variable.
    pub cc: Option<OsString>,
    /// `$PATH`: searched for bare program names.
    pub path: Option<OsString>,
}

impl CcLocator {
    /// Reads `X07_CC`, `CC` and `PATH` from the process environment.
    pub fn from_env() -> Self {
        Self {
            x07_cc: std::env::var_os("X07_CC"),
            cc: std::env::var_os("CC"),
            path: std::env::var_os("PATH"),
        }
    }

    /// The absolute path of the compiler and its metadata (the one stat a warm lookup needs).
    pub fn locate(&self) -> Result<(PathBuf, Metadata), CcError> {
        let nonempty = |v: &Option<OsString>| v.clone().filter(|v| !v.is_empty());
        if let Some(v) = nonempty(&self.x07_cc) {
            return self.resolve_named(&v, "X07_CC");
        }
        if let Some(v) = nonempty(&self.cc) {
            return self.resolve_named(&v, "CC");
        }
        self.search_path(OsStr::new("cc"))
            .ok_or_else(|| CcError::NotFound {
                reason: "`cc` is not on PATH and neither X07_CC nor CC is set".to_string(),
            })
    }

    /// Resolves the value of `var`: a path if it contains `/`, otherwise a name searched on `PATH`.
    fn resolve_named(&self, value: &OsStr, var: &str) -> Result<(PathBuf, Metadata), CcError> {
        let shown = value.to_string_lossy();
        let has_slash = value.as_encoded_bytes().contains(&b'/');
        let found = if has_slash {
            std::path::absolute(Path::new(value))
                .ok()
                .and_then(|p| executable_metadata(&p).map(|m| (p, m)))
        } else {
            self.search_path(value)
        };
        found.ok_or_else(|| {
            // A common mistake is `CC="ccache gcc"`: say why that is not accepted.
            let reason = if shown.contains(char::is_whitespace) {
                format!(
                    "{var} is set to `{shown}`, which is not a single executable; x07 runs one program with \
                     fixed flags, so point {var} at a wrapper script if the compiler needs arguments"
                )
            } else if has_slash {
                format!("{var} is set to `{shown}`, which is not an executable file")
            } else {
                format!("{var} is set to `{shown}`, which is not found on PATH")
            };
            CcError::NotFound { reason }
        })
    }

    /// The first executable file called `name` in a `PATH` directory.
    fn search_path(&self, name: &OsStr) -> Option<(PathBuf, Metadata)> {
        let path = self.path.as_ref()?;
        std::env::split_paths(path)
            .filter(|dir| !dir.as_os_str().is_empty())
            .filter_map(|dir| std::path::absolute(dir.join(name)).ok())
            .find_map(|p| executable_metadata(&p).map(|m| (p, m)))
    }
}

/// Metadata of `path` (following symlinks) when it is a regular file with an execute bit.
fn executable_metadata(path: &Path) -> Option<Metadata> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
