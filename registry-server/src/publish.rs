//! `POST /v1/packages/publish`: check the archive, claim or check ownership, refuse existing versions,
//! then store the archive and the signed index line, all under the package's lock.

use serde_json::{json, Value};
use x07_spec::Sha256Digest;

use crate::api_error::{ApiError, ErrorCode};
use crate::index_entry::{shard_path, IndexEntry, INDEX_ENTRY_SCHEMA};
use crate::package_check::{check_archive, CheckedPackage};
use crate::registry::{io_failure, lock, Registry};
use crate::tokens::TokenRecord;

impl Registry {
    /// Publishes an archive for `who` (a token with the `publish` scope); returns the 200 body.
    pub fn publish(&self, who: &TokenRecord, archive: &[u8]) -> Result<Value, ApiError> {
        // Unpacking and module checks run before taking any lock, so publishes of different
        // packages, and of different versions of one package, are checked in parallel.
        let package = check_archive(archive, &self.root.scratch_dir())?;
        if package.has_std_module() && !self.config.is_official(&who.owner) {
            return Err(ApiError::new(
                ErrorCode::StdReserved,
                format!(
                    "package `{}` provides `std.*` modules, which only official owners may publish; `{}` is not in official_owners of this registry's config.json",
                    package.name, who.owner
                ),
            ));
        }
        let cksum = Sha256Digest::of(archive);

        let guard = self.package_lock(&package.name);
        let _held = lock(&guard);
        self.claim_or_check_owner(who, &package)?;
        let existing = self.index.get(&package.name);
        if existing.as_ref().is_some_and(|f| f.entry(package.version.as_str()).is_some()) {
            return Err(ApiError::new(
                ErrorCode::AlreadyPublished,
                format!(
                    "{}@{} is already published; versions are immutable, publish a new version",
                    package.name, package.version
                ),
            ));
        }

        let archive_path = self.root.archive_path(&package.name, &package.version);
        if let Some(dir) = archive_path.parent() {
            fs_err::create_dir_all(dir).map_err(|e| io_failure("creating the archive directory", e))?;
        }
        x07_spec::write_atomic(&archive_path, archive).map_err(|e| io_failure("storing the archive", e))?;

        let mut entry = index_entry(&package, cksum);
        entry.sign(&self.signer);
        let mut entries = existing.map(|f| f.entries.clone()).unwrap_or_default();
        entries.push(entry);
        self.index.replace(&package.name, entries).map_err(|e| io_failure("writing the index file", e))?;

        Ok(json!({
            "ok": true,
            "name": package.name.as_str(),
            "version": package.version.as_str(),
            "cksum": cksum,
            "index_path": shard_path(&package.name),
        }))
    }

    /// The first publisher of a name becomes its owner; later publishers must own it (or be admin).
    /// Runs under the package lock, so two first publishes of one name cannot both claim it.
    fn claim_or_check_owner(&self, who: &TokenRecord, package: &CheckedPackage) -> Result<(), ApiError> {
        let mut owners = lock(&self.owners);
        if owners.owners_of(&package.name).is_empty() {
            let mut next = owners.clone();
            next.add(&package.name, who.owner.clone());
            next.save(&self.root.owners_path()).map_err(|e| io_failure("writing owners.json", e))?;
            *owners = next;
            return Ok(());
        }
        if who.is_admin() || owners.is_owner(&package.name, &who.owner) {
            return Ok(());
        }
        Err(ApiError::new(
            ErrorCode::NotOwner,
            format!(
                "`{}` is not an owner of package `{}`; an owner can add you with POST /v1/packages/{}/owners",
                who.owner, package.name, package.name
            ),
        ))
    }
}

fn index_entry(package: &CheckedPackage, cksum: Sha256Digest) -> IndexEntry {
    IndexEntry {
        schema_version: INDEX_ENTRY_SCHEMA.to_string(),
        name: package.name.clone(),
        version: package.version.clone(),
        cksum,
        yanked: false,
        deps: package.deps.clone(),
        x07c_compat: package.x07c_compat.clone(),
        modules: package.modules.clone(),
        ffi_libs: package.ffi_libs.clone(),
        description: package.description.clone(),
        signature: None,
    }
}
