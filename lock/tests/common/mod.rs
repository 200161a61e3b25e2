//! Builders shared by the integration tests: hand-filled catalogs and minimal locks.
#![allow(dead_code)]

use std::collections::BTreeMap;

use semver::Version;
use x07_lock::{
    Catalog, CatalogVersion, DepSource, Lock, LockedPackage, PackageReq, ResolveOptions, VersionReq,
};
use x07_spec::package::ModuleId;
use x07_spec::{PackageName, PackageVersion, RelPath, Sha256Digest};

pub fn name(s: &str) -> PackageName {
    PackageName::new(s).unwrap()
}

pub fn ver(s: &str) -> Version {
    Version::parse(s).unwrap()
}

pub fn reqs(list: &[&str]) -> Vec<PackageReq> {
    list.iter()
        .map(|s| PackageReq::parse(s).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// A catalog entry: `("ext-a", "1.0.0", &["ext-b@^1"])`.
pub type Row<'a> = (&'a str, &'a str, &'a [&'a str]);

pub fn catalog(rows: &[Row<'_>]) -> Catalog {
    let mut c = Catalog::new();
    for (n, v, deps) in rows {
        add(&mut c, n, v, deps, |_| {});
    }
    c
}

/// Adds one version, letting `edit` set yanked / compat / modules.
pub fn add(
    c: &mut Catalog,
    n: &str,
    v: &str,
    deps: &[&str],
    edit: impl FnOnce(&mut CatalogVersion),
) {
    let mut entry = CatalogVersion {
        deps: reqs(deps).into_iter().map(|r| (r.name, r.req)).collect(),
        ..CatalogVersion::default()
    };
    edit(&mut entry);
    c.insert(name(n), ver(v), entry);
}

pub fn modules(ids: &[&str]) -> Vec<ModuleId> {
    ids.iter().map(|m| ModuleId::new(*m).unwrap()).collect()
}

pub fn toolchain() -> Version {
    ver("0.2.0")
}

pub fn options<'a>(toolchain: &'a Version, locked: Option<&'a Lock>) -> ResolveOptions<'a> {
    ResolveOptions {
        toolchain_version: toolchain,
        allow_prerelease: false,
        locked,
    }
}

/// A registry package entry with placeholder digests.
pub fn locked_package(n: &str, v: &str) -> LockedPackage {
    LockedPackage {
        name: name(n),
        version: PackageVersion::new(v).unwrap(),
        path: RelPath::new(format!(".x07/deps/{n}/{v}")).unwrap().into(),
        source: DepSource::Registry,
        archive_sha256: Some(Sha256Digest::of(format!("{n}-{v}.x07pkg").as_bytes())),
        index_signature: None,
        package_manifest_sha256: Sha256Digest::of(format!("{n}-{v}/x07-package.json").as_bytes()),
        module_root: RelPath::new("modules").unwrap(),
        modules_sha256: BTreeMap::new(),
        files_sha256: BTreeMap::new(),
        deps: Vec::new(),
        yanked: false,
        advisories: Vec::new(),
        overridden_by: None,
    }
}

pub fn lock_of(packages: &[(&str, &str)]) -> Lock {
    let mut lock = Lock::empty();
    lock.dependencies = packages.iter().map(|(n, v)| locked_package(n, v)).collect();
    lock
}

pub fn req(s: &str) -> VersionReq {
    VersionReq::parse(s).unwrap()
}

/// A complete 0.5 lock: a signed-index registry package with edges and an advisory, a path
/// package, root requirements and a registry block.
pub fn full_lock() -> Lock {
    use x07_lock::{IndexSignature, KeyId, LockRegistry, LockedEdge, RootDep};
    let key_id = KeyId::new("0123456789abcdef").unwrap();
    let mut net = locked_package("ext-net", "0.1.6");
    net.index_signature = Some(IndexSignature {
        key_id: key_id.clone(),
        sig: x07_lock::Ed25519Sig([7; 64]),
    });
    net.modules_sha256 = BTreeMap::from([
        (
            ModuleId::new("std.net.http").unwrap(),
            Sha256Digest::of(b"http"),
        ),
        (
            ModuleId::new("std.net.err").unwrap(),
            Sha256Digest::of(b"err"),
        ),
    ]);
    net.files_sha256 = BTreeMap::from([
        (
            RelPath::new("x07-package.json").unwrap(),
            net.package_manifest_sha256,
        ),
        (
            RelPath::new("modules/std/net/http.x07.json").unwrap(),
            Sha256Digest::of(b"http"),
        ),
        (
            RelPath::new("modules/std/net/err.x07.json").unwrap(),
            Sha256Digest::of(b"err"),
        ),
        (
            RelPath::new("ffi/curl_shim.c").unwrap(),
            Sha256Digest::of(b"c"),
        ),
    ]);
    net.deps = vec![LockedEdge {
        name: name("ext-url"),
        req: req("^0.2"),
        resolved: PackageVersion::new("0.2.3").unwrap(),
    }];
    net.advisories = vec![serde_json::from_value(serde_json::json!({
        "id": "8c7f0a4e-0000-4000-8000-000000000001", "package": "ext-net", "version": "0.1.6",
        "kind": "security", "severity": "high", "summary": "redirects", "created_at_utc": "2026-01-01T00:00:00Z"
    }))
    .unwrap()];
    let mut url = locked_package("ext-url", "0.2.3");
    url.source = DepSource::Path;
    url.archive_sha256 = None;
    url.path = RelPath::new("vendor/ext-url").unwrap().into();
    url.modules_sha256 =
        BTreeMap::from([(ModuleId::new("ext.url").unwrap(), Sha256Digest::of(b"url"))]);
    let mut lock = Lock::empty();
    lock.registry = Some(LockRegistry {
        index_url: "sparse+http://127.0.0.1:7007/index/".into(),
        key_id: Some(key_id),
    });
    lock.dependencies = vec![url, net];
    lock.root_deps = vec![RootDep {
        name: name("ext-net"),
        req: req(">=0.1.0, <0.2.0"),
    }];
    lock.sort();
    lock
}
