//! Which files of a package directory belong to the package, besides `x07-package.json` and the
//! listed modules: every file under [`FFI_DIR`] and [`TESTS_DIR`], and the [`DOC_FILES`] at the
//! top. Packing, unpacking and the lockfile all take the set from here, so that an archive, an
//! unpacked tree and a lock entry always agree on it; anything else in the directory (`target/`,
//! `src/`, `.git`, notes) is never part of the package.

use std::path::Path;

use crate::package::tree::FoundKind;

/// The directory of C sources that archives carry whole.
pub const FFI_DIR: &str = "ffi";
/// The directory of tests and their fixtures (x07 test modules, data files) that archives carry whole.
pub const TESTS_DIR: &str = "tests";
/// The directories a package carries whole: every regular file below them, at any depth.
pub const CARRIED_DIRS: [&str; 2] = [FFI_DIR, TESTS_DIR];
/// The top-level documentation files a package carries when it has them as regular files.
/// Names match exactly: `readme.md` or `docs/README.md` are not carried.
pub const DOC_FILES: [&str; 9] = [
    "README",
    "README.md",
    "LICENSE",
    "LICENSE.md",
    "LICENSE-MIT",
    "LICENSE-APACHE",
    "COPYING",
    "CHANGELOG.md",
    "NOTICE",
];

/// Whether the package-relative path `path` (`/`-separated) is one of the optional files a
/// package carries: a doc file, or a file under a carried directory.
pub fn is_optional_package_file(path: &str) -> bool {
    DOC_FILES.contains(&path)
        || CARRIED_DIRS.iter().any(|dir| {
            path.strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/'))
        })
}

/// The doc files at the top of `package_dir`, sorted, with what each is (symlinks not
/// followed). Directories of those names are left out, since they are not files; symlinks and
/// special files are returned for the caller to refuse.
///
/// The directory is listed rather than each name looked up, so that a case-insensitive file
/// system does not report a `readme.md` under the name `README.md`.
pub fn find_doc_files(package_dir: &Path) -> std::io::Result<Vec<(&'static str, FoundKind)>> {
    let mut found = Vec::new();
    for entry in fs_err::read_dir(package_dir)? {
        let entry = entry?;
        let Some(name) = entry
            .file_name()
            .to_str()
            .and_then(|n| DOC_FILES.iter().find(|d| **d == n))
            .copied()
        else {
            continue;
        };
        // DirEntry::file_type and (on Unix) DirEntry::metadata do not follow symlinks.
        let kind = entry.file_type()?;
        if kind.is_dir() {
            continue;
        }
        let kind = if kind.is_file() {
            FoundKind::Regular(entry.metadata()?.len())
        } else if kind.is_symlink() {
            FoundKind::Symlink
        } else {
            FoundKind::Special
        };
        found.push((name, kind));
    }
    found.sort_by(|a, b| a.0.cmp(b.0));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_files_are_doc_files_and_files_under_ffi_or_tests() {
        for path in [
            "README",
            "README.md",
            "LICENSE-APACHE",
            "NOTICE",
            "ffi/a.c",
            "tests/a.x07.json",
            "tests/d/f.bin",
        ] {
            assert!(is_optional_package_file(path), "{path}");
        }
        for path in [
            "readme.md",
            "docs/README.md",
            "notes.txt",
            "tests",
            "ffi",
            "testsuite/a",
            "ffi.c",
            "src/lib.rs",
        ] {
            assert!(!is_optional_package_file(path), "{path}");
        }
    }

    #[test]
    fn doc_files_are_found_by_exact_name_and_directories_are_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fs_err::write(dir.join("README.md"), b"# hi\n").unwrap();
        fs_err::write(dir.join("readme"), b"lower case: not carried\n").unwrap();
        fs_err::write(dir.join("notes.txt"), b"x").unwrap();
        fs_err::create_dir(dir.join("LICENSE")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("README.md", dir.join("NOTICE")).unwrap();
        let found = find_doc_files(dir).unwrap();
        let mut want = vec![("README.md", FoundKind::Regular(5))];
        #[cfg(unix)]
        want.insert(0, ("NOTICE", FoundKind::Symlink));
        assert_eq!(found, want);
    }
}
