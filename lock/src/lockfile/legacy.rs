//! Locks written as `x07.lock@0.3.0` / `0.4.0` (read by `x07_spec::lock`), converted to 0.5.
//!
//! What the old formats never recorded stays empty: archive digests, index signatures, file
//! digests, edges and root requirements. The toolchain block is dropped (it is what made every
//! toolchain upgrade fail `--check`). The next `x07 pkg lock` fills the rest in.

use x07_spec::document::{FieldError, FieldPath};
use x07_spec::lock::Lockfile as LegacyLock;
use x07_spec::package::ModuleId;

use super::{DepSource, Lock, LockFormat, LockRegistry, LockedPackage};

/// Converts a parsed 0.3/0.4 lock.
pub(super) fn convert(old: LegacyLock) -> Result<Lock, FieldError> {
    let read_as = if old.read_schema_version.ends_with("@0.3.0") {
        LockFormat::V0_3
    } else {
        LockFormat::V0_4
    };
    let registry = old.registry.map(|r| LockRegistry {
        index_url: r.index_url,
        key_id: None,
    });
    let mut dependencies = Vec::with_capacity(old.dependencies.len());
    for (i, d) in old.dependencies.into_iter().enumerate() {
        let mut modules_sha256 = std::collections::BTreeMap::new();
        for (module, digest) in d.modules_sha256 {
            let module = ModuleId::new(module).map_err(|e| {
                FieldError::new(
                    FieldPath::root()
                        .key("dependencies")
                        .index(i)
                        .key("modules_sha256"),
                    e.to_string(),
                )
            })?;
            modules_sha256.insert(module, digest.0);
        }
        let vendored = d.path.starts_with_segments(&[".x07", "deps"]);
        dependencies.push(LockedPackage {
            name: d.name,
            version: d.version,
            path: d.path,
            source: if vendored {
                DepSource::Registry
            } else {
                DepSource::Path
            },
            archive_sha256: None,
            index_signature: None,
            package_manifest_sha256: d.package_manifest_sha256.0,
            module_root: d.module_root,
            modules_sha256,
            files_sha256: Default::default(),
            deps: Vec::new(),
            yanked: d.yanked.unwrap_or(false),
            advisories: d.advisories,
            overridden_by: d.overridden_by,
        });
    }
    let lock = Lock {
        read_as,
        registry,
        dependencies,
        root_deps: Vec::new(),
        signature: None,
    };
    lock.check_rules()?;
    Ok(lock)
}
