//! A real `x07 registry serve` process on 127.0.0.1 for end-to-end package tests, and a writer
//! for small package directories to publish to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::{json, Value};

use crate::binary::x07_bin;

/// A registry server process; killed when dropped.
pub struct LocalRegistry {
    child: Child,
    root: tempfile::TempDir,
    /// The port it listens on.
    pub port: u16,
    /// Its sparse index URL.
    pub index: String,
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LocalRegistry {
    /// Starts a registry in a fresh directory on a free loopback port; `official` may publish `std.*` modules.
    pub fn start(official: &[&str]) -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new(x07_bin());
        cmd.args(["registry", "serve", "--root"])
            .arg(root.path())
            .args(["--addr", "127.0.0.1:0"]);
        for o in official {
            cmd.args(["--official-owner", o]);
        }
        let mut child = cmd
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn x07 registry serve");
        let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let port: u16 = first
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from x07 registry serve: {first}"));
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            root,
            port,
            index: format!("sparse+http://127.0.0.1:{port}/index/"),
        }
    }

    /// The registry directory.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Creates a publish token for `owner` and stores it for this index in `home` (`x07 pkg login`).
    pub fn login(&self, home: &Path, owner: &str) {
        let out = Command::new(x07_bin())
            .args(["registry", "token", "create", "--root"])
            .arg(self.root())
            .args(["--owner", owner])
            .env("X07_HOME", home)
            .output()
            .expect("run x07");
        assert!(
            out.status.success(),
            "token create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        let out = Command::new(x07_bin())
            .args(["pkg", "login", "--index", &self.index, "--token", &token])
            .env("X07_HOME", home)
            .output()
            .expect("run x07");
        assert!(
            out.status.success(),
            "login: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `x07 pkg publish --package DIR` with the token stored in `home`.
    pub fn publish(&self, home: &Path, package: &Path) -> Output {
        Command::new(x07_bin())
            .args(["pkg", "publish", "--index", &self.index, "--package"])
            .arg(package)
            .env("X07_HOME", home)
            .output()
            .expect("run x07")
    }

    /// Publishes and panics on failure.
    pub fn publish_ok(&self, home: &Path, package: &Path) {
        let out = self.publish(home, package);
        assert!(
            out.status.success(),
            "publish {}: {}",
            package.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A package to write: one module per function, each returning its bytes literal.
pub struct PackageSpec<'a> {
    /// Package name.
    pub name: &'a str,
    /// Version.
    pub version: &'a str,
    /// `meta.requires_packages` entries (`name@REQ`).
    pub requires: &'a [&'a str],
    /// Module id.
    pub module: &'a str,
    /// The module's exported `<module>.text` body: an x07AST expression returning bytes.
    pub text_body: Value,
    /// Imports of the module.
    pub imports: &'a [&'a str],
}

/// Writes `spec` as a package directory under `parent/<name>-<version>` and returns it.
pub fn write_package(parent: &Path, spec: &PackageSpec<'_>) -> PathBuf {
    let dir = parent.join(format!("{}-{}", spec.name, spec.version));
    let manifest = json!({
        "schema_version": "x07.package@0.1.0", "name": spec.name, "version": spec.version,
        "module_root": "modules", "modules": [spec.module],
        "description": format!("test package {}", spec.name), "docs": "Test docs.", "license": "MIT",
        "meta": {"x07c_compat": ">=0.1.0, <0.2.0", "requires_packages": spec.requires},
    });
    let module = json!({
        "schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": spec.module,
        "imports": spec.imports,
        "decls": [{"kind": "export", "names": [format!("{}.text", spec.module)]},
                  {"kind": "defn", "name": format!("{}.text", spec.module), "params": [], "result": "bytes", "body": spec.text_body}],
    });
    let module_path = dir
        .join("modules")
        .join(format!("{}.x07.json", spec.module.replace('.', "/")));
    fs_err::create_dir_all(module_path.parent().expect("has a parent")).expect("mkdir");
    fs_err::write(
        dir.join("x07-package.json"),
        serde_json::to_vec_pretty(&manifest).expect("json"),
    )
    .expect("write");
    fs_err::write(
        &module_path,
        serde_json::to_vec_pretty(&module).expect("json"),
    )
    .expect("write");
    dir
}
