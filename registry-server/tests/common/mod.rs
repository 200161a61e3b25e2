//! Shared fixtures for the registry server tests: a server on loopback, tokens, package archives,
//! and an independent check of index-line signatures.
#![allow(dead_code)]

pub mod raw;

use std::io::Write as _;
use std::net::SocketAddr;

use base64::Engine as _;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};
use x07_registry_server::{
    OwnerName, RegistryConfig, RegistryRoot, Scope, ServerConfig, ServerHandle,
};

/// A registry root in a temp dir and a server on it.
pub struct Fixture {
    // Field order is drop order: stop the server before its root directory goes.
    pub server: Option<ServerHandle>,
    pub http: Client,
    pub dir: tempfile::TempDir,
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

impl Fixture {
    /// A fresh root and a running server.
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// A fresh root, with `prepare` applied to the server config before the start.
    pub fn start_with(prepare: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path().join("reg"), loopback());
        prepare(&mut config);
        let server = ServerHandle::start(config).unwrap();
        Self {
            dir,
            server: Some(server),
            http: Client::new(),
        }
    }

    /// A fresh root whose config.json marks `official` owners, then a running server.
    pub fn start_with_official(official: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = RegistryRoot::new(dir.path().join("reg"));
        fs_err::create_dir_all(root.dir()).unwrap();
        let mut cfg = RegistryConfig::initial(
            "http://placeholder".into(),
            x07_registry_server::BaseUrlSource::Addr,
        );
        cfg.official_owners = official
            .iter()
            .map(|o| OwnerName::new(*o).unwrap())
            .collect();
        root.write_config(&cfg).unwrap();
        let server = ServerHandle::start(ServerConfig::new(root.dir(), loopback())).unwrap();
        Self {
            dir,
            server: Some(server),
            http: Client::new(),
        }
    }

    pub fn root(&self) -> RegistryRoot {
        RegistryRoot::new(self.dir.path().join("reg"))
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "{}{path}",
            self.server.as_ref().expect("server running").url()
        )
    }

    /// A fresh root and a running server with these timeouts and connection cap.
    pub fn start_with_limits(limits: x07_registry_server::ConnectionLimits) -> Self {
        Self::start_with(|c| c.limits = Some(limits))
    }

    /// What a publish can change on disk: files under dl/, index/ and tmp/, and owners.json.
    pub fn state(&self) -> (Vec<String>, Vec<String>, Vec<String>, Value) {
        let root = self.root();
        let owners: Value =
            serde_json::from_slice(&fs_err::read(root.owners_path()).unwrap()).unwrap();
        (
            raw::files_under(&root.dir().join("dl")),
            raw::files_under(&root.index_dir()),
            raw::files_under(&root.scratch_dir()),
            owners,
        )
    }

    /// Stops the server and starts a new one on the same root (on a new port).
    pub fn restart(&mut self, public_url: Option<&str>) {
        self.server.take().unwrap().shutdown().unwrap();
        let mut config = ServerConfig::new(self.root().dir(), loopback());
        config.public_url = public_url.map(str::to_string);
        self.server = Some(ServerHandle::start(config).unwrap());
    }

    pub fn token(&self, owner: &str, scopes: &[Scope]) -> String {
        let token = self
            .root()
            .tokens()
            .create(OwnerName::new(owner).unwrap(), scopes.to_vec())
            .unwrap();
        token.as_str().to_string()
    }

    pub fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().unwrap()
    }

    pub fn publish(&self, token: Option<&str>, archive: &[u8]) -> Response {
        let mut req = self
            .http
            .post(self.url("/v1/packages/publish"))
            .body(archive.to_vec());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().unwrap()
    }

    pub fn yank(&self, token: &str, name: &str, version: &str, yanked: bool) -> Response {
        self.http
            .post(self.url(&format!("/v1/packages/{name}/{version}/yank")))
            .bearer_auth(token)
            .body(json!({"yanked": yanked}).to_string())
            .send()
            .unwrap()
    }

    /// The index lines of a package as JSON values.
    pub fn index_lines(&self, shard: &str) -> Vec<Value> {
        let resp = self.get(&format!("/index/{shard}"));
        assert_eq!(resp.status(), 200, "GET /index/{shard}");
        resp.text()
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The registry's public key, as `/index/config.json` publishes it.
    pub fn public_key(&self) -> (String, VerifyingKey) {
        let config: Value =
            serde_json::from_slice(&self.get("/index/config.json").bytes().unwrap()).unwrap();
        let key = &config["signing"]["public_keys"][0];
        let raw = base64::engine::general_purpose::STANDARD
            .decode(key["ed25519_pub"].as_str().unwrap())
            .unwrap();
        (
            key["id"].as_str().unwrap().to_string(),
            VerifyingKey::from_bytes(&raw.try_into().unwrap()).unwrap(),
        )
    }
}

/// Status and parsed JSON body of a response.
pub fn status_json(resp: Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")),
    )
}

/// Asserts an API error response with `status` and `code`.
#[track_caller]
pub fn assert_error(resp: Response, status: u16, code: &str) {
    let (got, body) = status_json(resp);
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    assert_eq!(body["ok"], false);
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

/// Verifies `line`'s signature independently: ed25519 over the JCS bytes of the line without `signature`.
pub fn signature_valid(line: &Value, key: &VerifyingKey) -> bool {
    let mut unsigned = line.clone();
    let sig = unsigned
        .as_object_mut()
        .unwrap()
        .remove("signature")
        .expect("line is signed");
    assert_eq!(sig["kind"], "ed25519");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sig["sig"].as_str().unwrap())
        .unwrap();
    let sig = Signature::from_slice(&raw).unwrap();
    key.verify(&x07_spec::to_canonical_vec(&unsigned).unwrap(), &sig)
        .is_ok()
}

/// What goes into a test package.
#[derive(Clone)]
pub struct Pkg {
    pub name: String,
    pub version: String,
    pub modules: Vec<String>,
    pub manifest_edit: fn(&mut Value),
    pub extra_files: Vec<(String, Vec<u8>)>,
    pub description: String,
}

impl Pkg {
    pub fn new(name: &str, version: &str, modules: &[&str]) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            modules: modules.iter().map(|m| m.to_string()).collect(),
            manifest_edit: |_| {},
            extra_files: Vec::new(),
            description: format!("test package {name}"),
        }
    }

    pub fn manifest(&self) -> Value {
        let mut m = json!({
            "schema_version": "x07.package@0.1.0",
            "name": self.name, "version": self.version,
            "module_root": "modules", "modules": self.modules,
            "description": self.description, "docs": "# docs", "license": "MIT",
            "meta": {"x07c_compat": ">=0.1.0, <0.2.0", "requires_packages": ["ext-foo@^0.2"], "ffi_libs": []},
        });
        (self.manifest_edit)(&mut m);
        m
    }

    /// The files of the package: the manifest, one module file per module, and extras, sorted.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = vec![(
            "x07-package.json".into(),
            serde_json::to_vec(&self.manifest()).unwrap(),
        )];
        for m in &self.modules {
            let module = json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": m, "imports": [], "decls": []});
            files.push((
                format!("modules/{}.x07.json", m.replace('.', "/")),
                serde_json::to_vec(&module).unwrap(),
            ));
        }
        files.extend(self.extra_files.iter().cloned());
        files.sort();
        files
    }

    /// A zstd-compressed ustar archive of [`Self::files`].
    pub fn archive(&self) -> Vec<u8> {
        let files = self.files();
        let mut tar = tar::Builder::new(Vec::new());
        for (path, data) in &files {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(0);
            h.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut h, path, &data[..]).unwrap();
        }
        let plain = tar.into_inner().unwrap();
        let mut enc = zstd::Encoder::new(Vec::new(), 3).unwrap();
        enc.write_all(&plain).unwrap();
        enc.finish().unwrap()
    }
}

/// `sha256:<hex>` of bytes.
pub fn cksum(bytes: &[u8]) -> String {
    x07_spec::Sha256Digest::of(bytes).to_string()
}
