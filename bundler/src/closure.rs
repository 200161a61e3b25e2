//! The dynamic closure of an executable: its ELF interpreter and every shared library its
//! `DT_NEEDED` entries pull in, resolved the way the loader's default search would on this host
//! (the multiarch and plain library directories). Shown by the bundle report and `inspect`, and
//! what a dynamic bundle needs on the machine it runs on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use goblin::elf::Elf;

/// Where the loader looks when a library names no path (no RPATH/RUNPATH in x07 binaries).
const SEARCH_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// An executable's dynamic closure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Closure {
    /// `PT_INTERP`, when the executable is dynamic.
    pub interpreter: Option<PathBuf>,
    /// Every library needed, directly or through another library: its name and where it was
    /// found (`None`: not found on this host).
    pub libraries: Vec<(String, Option<PathBuf>)>,
}

impl Closure {
    /// Whether the executable is statically linked (no interpreter, no libraries).
    pub fn is_static(&self) -> bool {
        self.interpreter.is_none() && self.libraries.is_empty()
    }

    /// The closure as paths: the interpreter first, then each found library (names of missing
    /// ones as `NAME (not found)`).
    pub fn display_paths(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .interpreter
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        for (name, found) in &self.libraries {
            out.push(match found {
                Some(p) => p.display().to_string(),
                None => format!("{name} (not found)"),
            });
        }
        out
    }
}

/// Files a networked program needs besides its libraries: the CA certificates TLS verifies
/// against and OpenSSL's configuration (those present on this host).
pub const NET_DATA_FILES: &[&str] = &["/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/openssl.cnf"];

/// What a program carries into a guest: (path in the guest, file on this host) for its ELF
/// interpreter and every library, each at the path the loader looks in, plus the networking
/// data files when `networked`. Empty for a static program; the name of a library this host
/// does not have is the error.
pub fn guest_files(closure: &Closure, networked: bool) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    if closure.is_static() {
        return Ok(Vec::new());
    }
    let mut files: Vec<(PathBuf, PathBuf)> = closure
        .interpreter
        .iter()
        .map(|p| (p.clone(), p.clone()))
        .collect();
    for (name, found) in &closure.libraries {
        let path = found.as_ref().ok_or_else(|| name.clone())?;
        files.push((path.clone(), path.clone()));
    }
    if networked {
        files.extend(
            NET_DATA_FILES
                .iter()
                .map(PathBuf::from)
                .filter(|p| p.is_file())
                .map(|p| (p.clone(), p)),
        );
    }
    Ok(files)
}

fn needed_of(bytes: &[u8]) -> Result<(Option<String>, Vec<String>), String> {
    let elf = Elf::parse(bytes).map_err(|e| format!("not an ELF file: {e}"))?;
    Ok((
        elf.interpreter.map(str::to_string),
        elf.libraries.iter().map(|s| s.to_string()).collect(),
    ))
}

fn resolve(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|p| p.is_file());
    }
    SEARCH_DIRS
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// The closure of the ELF executable `bytes`.
pub fn closure_of(bytes: &[u8]) -> Result<Closure, String> {
    let (interp, direct) = needed_of(bytes)?;
    let mut out = Closure {
        interpreter: interp.map(PathBuf::from),
        libraries: Vec::new(),
    };
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<String> = direct;
    while let Some(name) = queue.first().cloned() {
        queue.remove(0);
        if !seen.insert(name.clone()) {
            continue;
        }
        let found = resolve(&name);
        if let Some(path) = &found {
            if let Ok(lib) = fs_err::read(path) {
                if let Ok((_, more)) = needed_of(&lib) {
                    queue.extend(more.into_iter().filter(|m| !seen.contains(m)));
                }
            }
        }
        out.libraries.push((name, found));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_system_program_has_an_interpreter_and_libc() {
        let bytes = fs_err::read("/bin/sh").expect("/bin/sh exists");
        let c = closure_of(&bytes).unwrap();
        assert!(c.interpreter.is_some());
        assert!(
            c.libraries
                .iter()
                .any(|(n, p)| n.starts_with("libc.so") && p.is_some()),
            "{c:?}"
        );
        assert!(closure_of(b"not an elf").is_err());
    }
}
