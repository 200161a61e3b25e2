//! `x07 pkg lock`: from the requirements in x07.json to `x07.lock.json` and `.x07/deps/`.
//!
//! A lock that already satisfies x07.json is kept as it is (nothing is resolved or downloaded,
//! only missing or modified trees are reinstalled); otherwise the registry's index is read into
//! a catalog, resolved (preferring the locked versions unless upgrading), every chosen archive
//! is fetched through the verified cache and unpacked, and the new lock is written atomically.

use std::collections::BTreeMap;

use semver::Version;
use x07_lock::Ed25519Sig;
use x07_lock::{
    check_unchanged, diff_locks, diff_resolution, hash_package_dir, resolve, CatalogVersion,
    DepSource, IndexSignature, KeyId, Lock, LockChange, LockCheckError, LockFormat, LockMode,
    LockRegistry, LockedEdge, LockedPackage, Resolution, ResolveOptions, RootDep,
};
use x07_registry_client::{RegistryCatalog, RegistryClient};
use x07_spec::package::PackageManifest;
use x07_spec::{PackageName, PackageVersion};

use crate::error::DepsError;
use crate::install::ensure_installed;
use crate::project::{registry_package_path, Project};
use crate::sync::{prune_unlocked, sync_verified};
use x07_lock::lock_satisfies;
use x07_lock::RootRequirement;

/// How to lock.
#[derive(Debug, Clone, Copy)]
pub struct LockOptions<'a> {
    /// `--locked` / `--frozen` refuse any change.
    pub mode: LockMode,
    /// Resolve afresh, ignoring the locked versions (`--upgrade`).
    pub upgrade: bool,
    /// Allow pre-releases inside requirements (`--pre`).
    pub allow_prerelease: bool,
    /// Only report whether the lock is up to date (`--check`): nothing is written or fetched.
    pub check_only: bool,
    /// The running toolchain's version (for `x07c_compat`).
    pub toolchain_version: &'a Version,
    /// The index this command uses, when it was chosen explicitly (flag or environment); a lock
    /// made against another index is then out of date.
    pub explicit_index: Option<&'a str>,
}

/// What `lock_project` did.
#[derive(Debug, Clone)]
pub enum LockOutcome {
    /// The lock already satisfied x07.json (trees may have been reinstalled).
    UpToDate {
        /// The lock.
        lock: Lock,
        /// Packages reinstalled and directories pruned.
        sync: crate::sync::SyncReport,
    },
    /// A new lock was written.
    Written {
        /// The new lock.
        lock: Lock,
        /// How it differs from the previous one.
        changes: Vec<LockChange>,
        /// The previous lock was signed and the signature no longer applies.
        dropped_signature: bool,
    },
    /// `--check`: the lock is out of date (or the files on disk differ from it).
    OutOfDate {
        /// One sentence per reason.
        reasons: Vec<String>,
    },
}

/// Brings the lock (and `.x07/deps/`) in line with x07.json. `client` is made only when the
/// registry has to be read. The caller holds the [`crate::ProjectGuard`].
pub fn lock_project(
    project: &Project,
    client: &dyn Fn() -> Result<RegistryClient, DepsError>,
    options: &LockOptions<'_>,
) -> Result<LockOutcome, DepsError> {
    let reqs = project.requirements()?;
    let lock_path = project.lock_path()?;
    let existing = project.load_lock()?;
    let mut reasons = match &existing {
        None => vec![format!("{} does not exist", lock_path.display())],
        Some(lock) => match lock_satisfies(
            &reqs,
            lock,
            options.explicit_index,
            options.toolchain_version,
        ) {
            Ok(()) => Vec::new(),
            Err(reasons) => reasons,
        },
    };
    if let (Some(lock), true) = (&existing, options.upgrade) {
        if reasons.is_empty() && !lock.dependencies.is_empty() {
            reasons.push("--upgrade resolves afresh".to_string());
        }
    }
    if let (Some(lock), true) = (&existing, reasons.is_empty()) {
        let problems = lock.verify_against_disk(&project.root);
        if options.check_only {
            if problems.is_empty() {
                return Ok(LockOutcome::UpToDate {
                    lock: lock.clone(),
                    sync: Default::default(),
                });
            }
            return Ok(LockOutcome::OutOfDate {
                reasons: problems.iter().map(ToString::to_string).collect(),
            });
        }
        // A local package edited since locking is re-recorded, which takes the full path below;
        // registry trees are restored from the cache.
        reasons.extend(
            problems
                .iter()
                .filter(|p| p.source == DepSource::Path)
                .map(ToString::to_string),
        );
        if reasons.is_empty() {
            let sync = sync_verified(project, lock, problems, client)?;
            return Ok(LockOutcome::UpToDate {
                lock: lock.clone(),
                sync,
            });
        }
    }
    if options.check_only {
        return Ok(LockOutcome::OutOfDate { reasons });
    }
    if reqs.is_empty() && options.mode == LockMode::Update {
        return write_new_lock(project, existing.as_ref(), Lock::empty());
    }

    let client = client()?;
    let locals = local_packages(project, &reqs)?;
    let catalog = registry_catalog(&client, &reqs, &locals)?;
    let root: Vec<_> = reqs.iter().map(RootRequirement::package_req).collect();
    let resolve_options = ResolveOptions {
        toolchain_version: options.toolchain_version,
        allow_prerelease: options.allow_prerelease,
        locked: if options.upgrade {
            None
        } else {
            existing.as_ref()
        },
    };
    let resolution = resolve(&root, &catalog.catalog, &resolve_options)?;
    if options.mode != LockMode::Update {
        // Refuse before anything is downloaded or unpacked: the resolution already tells what
        // would change.
        let flag = if options.mode == LockMode::Frozen {
            "--frozen"
        } else {
            "--locked"
        };
        let lock = existing.as_ref().ok_or(LockCheckError::Missing { flag })?;
        let changes = diff_resolution(lock, &root, &resolution);
        if !changes.is_empty() {
            return Err(LockCheckError::Changes { flag, changes }.into());
        }
    }
    let new = build_lock(project, &client, &reqs, &locals, &catalog, &resolution)?;
    check_unchanged(options.mode, existing.as_ref(), &new)?;
    write_new_lock(project, existing.as_ref(), new)
}

fn write_new_lock(
    project: &Project,
    existing: Option<&Lock>,
    mut new: Lock,
) -> Result<LockOutcome, DepsError> {
    let lock_path = project.lock_path()?;
    let empty = Lock::empty();
    let old = existing.unwrap_or(&empty);
    let changes = diff_locks(old, &new);
    let same_content = existing.is_some_and(|e| e.signing_bytes().ok() == new.signing_bytes().ok());
    let mut dropped_signature = false;
    if let Some(e) = existing {
        if same_content {
            new.signature = e.signature.clone();
        } else {
            dropped_signature = e.signature.is_some();
        }
    }
    new.write(&lock_path)
        .map_err(|e| DepsError::io("write", &lock_path, e))?;
    prune_unlocked(&project.root, &new)?;
    Ok(LockOutcome::Written {
        lock: new,
        changes,
        dropped_signature,
    })
}

/// A local package named in x07.json: its manifest, digests and catalog entry.
struct LocalPackage {
    req: RootRequirement,
    manifest: PackageManifest,
}

fn local_packages(
    project: &Project,
    reqs: &[RootRequirement],
) -> Result<Vec<LocalPackage>, DepsError> {
    let mut out = Vec::new();
    for req in reqs {
        let Some(path) = &req.local else { continue };
        let dir = path
            .resolve(&project.root)
            .map_err(|source| DepsError::Workspace {
                name: req.name.clone(),
                source,
            })?;
        let manifest =
            PackageManifest::load_from_dir(&dir).map_err(|e| DepsError::LocalPackage {
                name: req.name.clone(),
                dir: dir.clone(),
                source: e.into(),
            })?;
        let mismatch = |message: String| DepsError::LocalMismatch {
            file: project.manifest_path.clone(),
            index: req.index,
            message,
        };
        if manifest.name != req.name {
            return Err(mismatch(format!(
                "{path} holds package `{}`, not `{}`",
                manifest.name, req.name
            )));
        }
        let version =
            Version::parse(manifest.version.as_str()).map_err(|e| mismatch(e.to_string()))?;
        if !req.req.matches(&version, true) {
            return Err(mismatch(format!(
                "{path} holds {} {}, which does not satisfy `{}`",
                manifest.name, manifest.version, req.req
            )));
        }
        out.push(LocalPackage {
            req: req.clone(),
            manifest,
        });
    }
    Ok(out)
}

/// The registry's versions of everything the requirements can reach, with local packages
/// shadowing registry packages of the same name.
fn registry_catalog(
    client: &RegistryClient,
    reqs: &[RootRequirement],
    locals: &[LocalPackage],
) -> Result<RegistryCatalog, DepsError> {
    let mut names: Vec<PackageName> = reqs
        .iter()
        .filter(|r| r.local.is_none())
        .map(|r| r.name.clone())
        .collect();
    for local in locals {
        names.extend(
            local
                .manifest
                .meta
                .requires_packages
                .iter()
                .map(|r| r.name.clone()),
        );
    }
    let mut catalog = client.catalog(names.iter())?;
    for req in reqs.iter().filter(|r| r.local.is_none()) {
        if catalog.missing.contains(&req.name) {
            return Err(DepsError::UnknownPackage {
                name: req.name.clone(),
                index: client.index_url().as_str().to_string(),
            });
        }
    }
    for local in locals {
        let deps = local
            .manifest
            .meta
            .requires_packages
            .iter()
            .map(|r| {
                x07_lock::VersionReq::parse(&r.req.to_string())
                    .map(|req| (r.name.clone(), req))
                    .map_err(|e| DepsError::LocalMismatch {
                        file: local
                            .req
                            .local
                            .as_ref()
                            .map(|p| p.to_string().into())
                            .unwrap_or_default(),
                        index: local.req.index,
                        message: format!("meta.requires_packages: {e}"),
                    })
            })
            .collect::<Result<_, _>>()?;
        let version =
            Version::parse(local.manifest.version.as_str()).expect("checked in local_packages");
        let entry = CatalogVersion {
            deps,
            yanked: false,
            x07c_compat: None,
            modules: local.manifest.modules.clone(),
        };
        catalog
            .catalog
            .replace_package(local.req.name.clone(), version, entry);
    }
    Ok(catalog)
}

/// Installs every chosen package (in parallel) and records it.
fn build_lock(
    project: &Project,
    client: &RegistryClient,
    reqs: &[RootRequirement],
    locals: &[LocalPackage],
    catalog: &RegistryCatalog,
    resolution: &Resolution,
) -> Result<Lock, DepsError> {
    let local_by_name: BTreeMap<&PackageName, &LocalPackage> =
        locals.iter().map(|l| (&l.req.name, l)).collect();
    let jobs: Vec<(&PackageName, &Version)> = resolution.packages.iter().collect();
    // the first error ends the lock: no worker takes new packages after it
    let mut dependencies =
        x07_spec::parallel::try_map(&jobs, 8, |(name, version)| match local_by_name.get(name) {
            Some(local) => lock_local(project, local),
            None => lock_registry(project, client, catalog, name, version),
        })?;
    for dep in &mut dependencies {
        dep.deps = resolution
            .edges
            .get(&dep.name)
            .into_iter()
            .flatten()
            .map(|e| LockedEdge {
                name: e.name.clone(),
                req: e.req.clone(),
                resolved: PackageVersion::new(e.resolved.to_string())
                    .expect("semver versions are exact"),
            })
            .collect();
    }
    let registry = if dependencies.iter().any(|d| d.source == DepSource::Registry) {
        let key = client.pinned_key()?;
        Some(LockRegistry {
            index_url: client.index_url().as_str().to_string(),
            key_id: KeyId::new(key.key_id).ok(),
        })
    } else {
        None
    };
    let mut lock = Lock {
        read_as: LockFormat::V0_5,
        registry,
        dependencies,
        root_deps: reqs
            .iter()
            .map(|r| RootDep {
                name: r.name.clone(),
                req: r.req.clone(),
            })
            .collect(),
        signature: None,
    };
    lock.sort();
    lock.check_rules().map_err(|e| {
        DepsError::LockInvalid(Box::new(x07_spec::DocumentError::Schema {
            file: project.lock_path().unwrap_or_default(),
            error: e,
        }))
    })?;
    Ok(lock)
}

fn lock_local(project: &Project, local: &LocalPackage) -> Result<LockedPackage, DepsError> {
    let path = local.req.local.clone().expect("local packages have a path");
    let dir = path
        .resolve(&project.root)
        .map_err(|source| DepsError::Workspace {
            name: local.req.name.clone(),
            source,
        })?;
    let digests = hash_package_dir(&dir).map_err(|source| DepsError::LocalPackage {
        name: local.req.name.clone(),
        dir,
        source,
    })?;
    Ok(LockedPackage::from_digests(digests, path, DepSource::Path))
}

fn lock_registry(
    project: &Project,
    client: &RegistryClient,
    catalog: &RegistryCatalog,
    name: &PackageName,
    version: &Version,
) -> Result<LockedPackage, DepsError> {
    let entry = catalog
        .entry(name, version)
        .expect("the resolver only picks catalog versions");
    let fetched = client.fetch_archive(entry)?;
    let rel = registry_package_path(&entry.name, &entry.version);
    let digests = ensure_installed(
        &project.root,
        &rel,
        &entry.name,
        &entry.version,
        &fetched.path,
    )?;
    let mut locked = LockedPackage::from_digests(digests, rel.into(), DepSource::Registry);
    locked.archive_sha256 = Some(entry.cksum);
    locked.yanked = entry.yanked;
    locked.index_signature = match (
        KeyId::new(entry.signature.key_id.clone()),
        Ed25519Sig::from_base64(&entry.signature.sig),
    ) {
        (Ok(key_id), Ok(sig)) => Some(IndexSignature { key_id, sig }),
        _ => None,
    };
    Ok(locked)
}
