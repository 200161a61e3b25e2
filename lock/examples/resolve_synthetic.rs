//! Times resolution of a synthetic 500-package graph (cold, then again with the lock preferred and
//! compared, as `pkg lock --check` does) and the lock's write/read. Run:
//! `cargo run --release -p x07-lock --example resolve_synthetic [PACKAGES]`.
//!
//! The graph: package i has versions 1.0.0, 1.1.0, 1.2.0 (1.1.0 yanked on every 7th package),
//! 2.0.0 and 2.1.0-rc.1. 1.x versions need `^1` of packages i+1, i+2 and 3i+1; 2.0.0 needs `^2`
//! of the same. The project needs the first package at any version and the last at `^1`, so the
//! newest choice (2.0.0 everywhere) fails only at the end of every chain and the solver must
//! backtrack through the whole graph.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use semver::Version;
use x07_lock::{
    diff_resolution, resolve, Catalog, CatalogVersion, DepSource, Lock, LockedEdge, LockedPackage,
    PackageReq, ResolveOptions, RootDep, VersionReq,
};
use x07_spec::package::ModuleId;
use x07_spec::{PackageName, PackageVersion, RelPath, Sha256Digest};

fn name(i: usize) -> PackageName {
    PackageName::new(format!("pkg-{i:04}")).unwrap()
}

fn synthetic_catalog(n: usize) -> Catalog {
    let mut catalog = Catalog::new();
    for i in 0..n {
        let targets: Vec<usize> = [i + 1, i + 2, 3 * i + 1]
            .into_iter()
            .filter(|&t| t < n)
            .collect();
        let deps = |req: &str| {
            targets
                .iter()
                .map(|&t| (name(t), VersionReq::parse(req).unwrap()))
                .collect::<Vec<_>>()
        };
        for (v, req) in [
            ("1.0.0", "^1"),
            ("1.1.0", "^1"),
            ("1.2.0", "^1"),
            ("2.0.0", "^2"),
            ("2.1.0-rc.1", "^2"),
        ] {
            let entry = CatalogVersion {
                deps: deps(req),
                yanked: v == "1.1.0" && i % 7 == 0,
                x07c_compat: Some(VersionReq::parse(">=0.1.0, <0.3.0").unwrap()),
                modules: vec![ModuleId::new(format!("pkg{i}.main")).unwrap()],
            };
            catalog.insert(name(i), Version::parse(v).unwrap(), entry);
        }
    }
    catalog
}

fn lock_from(root: &[PackageReq], resolution: &x07_lock::Resolution) -> Lock {
    let mut lock = Lock::empty();
    lock.root_deps = root
        .iter()
        .map(|r| RootDep {
            name: r.name.clone(),
            req: r.req.clone(),
        })
        .collect();
    for (n, v) in &resolution.packages {
        let version = PackageVersion::new(v.to_string()).unwrap();
        let path = RelPath::new(format!(".x07/deps/{n}/{v}")).unwrap();
        let module = ModuleId::new(format!("{}.main", n.as_str().replace('-', ""))).unwrap();
        lock.dependencies.push(LockedPackage {
            name: n.clone(),
            version,
            path: path.into(),
            source: DepSource::Registry,
            archive_sha256: Some(Sha256Digest::of(n.as_str().as_bytes())),
            index_signature: None,
            package_manifest_sha256: Sha256Digest::of(b"manifest"),
            module_root: RelPath::new("modules").unwrap(),
            modules_sha256: BTreeMap::from([(module, Sha256Digest::of(b"module"))]),
            files_sha256: BTreeMap::from([(
                RelPath::new("x07-package.json").unwrap(),
                Sha256Digest::of(b"manifest"),
            )]),
            deps: resolution.edges[n]
                .iter()
                .map(|e| LockedEdge {
                    name: e.name.clone(),
                    req: e.req.clone(),
                    resolved: PackageVersion::new(e.resolved.to_string()).unwrap(),
                })
                .collect(),
            yanked: false,
            advisories: Vec::new(),
            overridden_by: None,
        });
    }
    lock.sort();
    lock
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("PACKAGES must be a number"))
        .unwrap_or(500);
    let toolchain = Version::new(0, 2, 0);
    let root = vec![
        PackageReq::parse(&format!("{}@*", name(0))).unwrap(),
        PackageReq::parse(&format!("{}@^1", name(n - 1))).unwrap(),
    ];

    let t = Instant::now();
    let catalog = synthetic_catalog(n);
    let build_ms = ms(t);

    let cold_options = ResolveOptions {
        toolchain_version: &toolchain,
        allow_prerelease: false,
        locked: None,
    };
    let t = Instant::now();
    let resolution = resolve(&root, &catalog, &cold_options).expect("the synthetic graph resolves");
    let cold_ms = ms(t);
    assert_eq!(resolution.packages.len(), n);
    assert!(
        resolution.packages.values().all(|v| v.major == 1),
        "every package ends on 1.x"
    );

    let lock = lock_from(&root, &resolution);
    let t = Instant::now();
    let bytes = lock.to_file_bytes().unwrap();
    let write_ms = ms(t);
    let t = Instant::now();
    let reread = Lock::from_slice(&bytes, Path::new("x07.lock.json")).unwrap();
    let read_ms = ms(t);

    let warm_options = ResolveOptions {
        locked: Some(&reread),
        ..cold_options
    };
    let t = Instant::now();
    let again = resolve(&root, &catalog, &warm_options).unwrap();
    let changes = diff_resolution(&reread, &root, &again);
    let check_ms = ms(t);
    assert!(
        changes.is_empty(),
        "re-resolving with the lock changes nothing: {changes:?}"
    );

    println!(
        "packages:              {n} ({} versions in the catalog)",
        n * 5
    );
    println!("build catalog:         {build_ms:8.2} ms");
    println!("resolve (cold):        {cold_ms:8.2} ms");
    println!(
        "lock write (bytes):    {write_ms:8.2} ms ({} bytes)",
        bytes.len()
    );
    println!("lock read:             {read_ms:8.2} ms");
    println!("resolve locked + diff: {check_ms:8.2} ms (no-op check)");
}
