//! Where `--out` puts the executable.

use std::path::{Path, PathBuf};

/// `--out FILE` as given; a directory, or a path ending in `/`, gets `<dir>/<name>`.
pub fn out_path(out: &Path, name: &str) -> PathBuf {
    let as_dir = out.as_os_str().to_string_lossy().ends_with('/') || out.is_dir();
    if as_dir {
        out.join(name)
    } else {
        out.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_or_trailing_slash_takes_the_project_name() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(out_path(dir.path(), "hello"), dir.path().join("hello"));
        assert_eq!(
            out_path(Path::new("dist/"), "hello"),
            Path::new("dist/hello")
        );
        assert_eq!(
            out_path(Path::new("dist/app"), "hello"),
            Path::new("dist/app")
        );
    }
}
