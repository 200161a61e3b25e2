//! `POST /v1/packages/publish`: check the archive, then, under the package's lock and the commit
//! lock, check the name, the ownership, the module ids and the version, and store the claim, the
//! archive and the signed index line. A publish that fails at any point leaves nothing behind.

use std::io::BufReader;

use serde_json::{json, Value};
use x07_spec::{PackageName, Sha256Digest};

use crate::api_error::{ApiError, ErrorCode};
use crate::index_entry::{shard_path, IndexEntry, SignedLine as _, INDEX_ENTRY_SCHEMA};
use crate::owners::OwnerName;
use crate::package_check::{check_archive, CheckedPackage};
use crate::registry::{io_failure, lock, Backend, DirState, Registry};
use crate::signing::IndexSigner;
use crate::tokens::TokenRecord;
use crate::upload::Upload;

impl Registry {
    /// Publishes an uploaded archive for `who` (a token with the `publish` scope); returns the
    /// 200 body.
    pub fn publish(&self, who: &TokenRecord, upload: Upload) -> Result<Value, ApiError> {
        // Unpacking and module checks run before taking any lock, so publishes of different
        // packages, and of different versions of one package, are checked in parallel.
        let archive = upload
            .file
            .reopen()
            .map_err(|e| io_failure("reopening the upload", e))?;
        let package = check_archive(BufReader::new(archive), &self.scratch)
            .map_err(|e| self.without_server_paths(e))?;
        if package.has_std_module() && !self.config.is_official(&who.owner) {
            return Err(ApiError::new(
                ErrorCode::StdReserved,
                format!(
                    "package `{}` provides `std.*` modules, which only official owners may publish; `{}` is not in official_owners of this registry's config",
                    package.name, who.owner
                ),
            ));
        }
        let bytes = upload.len;
        let cksum = match &self.backend {
            Backend::Dir(d) => self.publish_to_dir(d, who, &package, upload)?,
            Backend::Shared(s) => s.publish(self, who, &package, upload)?,
        };
        tracing::info!(package = %package.name, version = %package.version, owner = %who.owner, bytes, "published");
        Ok(json!({
            "ok": true,
            "name": package.name.as_str(),
            "version": package.version.as_str(),
            "cksum": cksum,
            "index_path": shard_path(&package.name),
        }))
    }

    /// Under the package's lock and the commit lock: the checks, then claim, archive, index line.
    fn publish_to_dir(
        &self,
        d: &DirState,
        who: &TokenRecord,
        package: &CheckedPackage,
        upload: Upload,
    ) -> Result<Sha256Digest, ApiError> {
        let guard = d.package_lock(&package.name);
        let _held = lock(&guard);
        let _commit = lock(&d.commit_lock);
        self.check_name(d, &package.name)?;
        let claim = self.check_owner(d, who, &package.name)?;
        self.check_modules(d, who, package)?;
        let existing = self.index.get(&package.name);
        if let Some(published) = existing.as_ref().and_then(|f| f.entry(&package.version)) {
            return Err(already_published(package, &published.version));
        }
        if claim {
            change_claim(d, &package.name, Some(&who.owner))?;
        }
        let stored = self.store(
            d,
            package,
            upload,
            existing.map(|f| f.entries.clone()).unwrap_or_default(),
        );
        if stored.is_err() && claim {
            if let Err(e) = change_claim(d, &package.name, None) {
                tracing::error!(package = %package.name, "cannot drop the claim of a failed first publish: {e:?}");
            }
        }
        stored
    }

    /// Moves the upload into place as the archive, then writes the index line; the archive is
    /// removed again if the index cannot be written.
    fn store(
        &self,
        d: &DirState,
        package: &CheckedPackage,
        upload: Upload,
        mut entries: Vec<IndexEntry>,
    ) -> Result<Sha256Digest, ApiError> {
        let cksum = upload.sha256;
        let archive_path = d.root.archive_path(&package.name, &package.version);
        if let Some(dir) = archive_path.parent() {
            fs_err::create_dir_all(dir)
                .map_err(|e| io_failure("creating the archive directory", e))?;
        }
        upload
            .file
            .persist(&archive_path)
            .map_err(|e| io_failure("storing the archive", e.error))?;
        entries.push(signed_entry(package, cksum, &self.signer));
        if let Err(e) = self.index.replace(&d.root, &package.name, entries) {
            let _ = fs_err::remove_file(&archive_path);
            return Err(io_failure("writing the index file", e));
        }
        Ok(cksum)
    }

    /// Names that differ only by `-` versus `_` name one package (as on crates.io): a name whose
    /// other spelling is in the registry is refused, whoever publishes it.
    fn check_name(&self, d: &DirState, name: &PackageName) -> Result<(), ApiError> {
        let canonical = name.canonical();
        let owners = lock(&d.owners);
        let indexed = self.index.snapshot().into_iter().map(|(n, _)| n);
        let other = indexed
            .chain(owners.packages().cloned())
            .find(|n| n != name && n.canonical() == canonical);
        match other {
            None => Ok(()),
            Some(other) => Err(name_conflict(name, &other, owners.owners_of(&other))),
        }
    }

    /// Whether `who` may publish `name`: nobody owns it yet (returns true: a claim is needed),
    /// or `who` owns it or is an admin.
    fn check_owner(
        &self,
        d: &DirState,
        who: &TokenRecord,
        name: &PackageName,
    ) -> Result<bool, ApiError> {
        let owners = lock(&d.owners);
        if owners.owners_of(name).is_empty() {
            return Ok(true);
        }
        if who.is_admin() || owners.is_owner(name, &who.owner) {
            return Ok(false);
        }
        Err(not_owner_for_publish(who, name))
    }

    /// A module id belongs to the packages of its owners: a module another package already
    /// provides may only be published by an owner of that package (or an admin).
    fn check_modules(
        &self,
        d: &DirState,
        who: &TokenRecord,
        package: &CheckedPackage,
    ) -> Result<(), ApiError> {
        if who.is_admin() {
            return Ok(());
        }
        let canonical = package.name.canonical();
        let owners = lock(&d.owners);
        for (other, file) in self.index.snapshot() {
            if other.canonical() == canonical || owners.is_owner(&other, &who.owner) {
                continue;
            }
            let provided = file.entries.iter().flat_map(|e| e.modules.iter());
            if let Some(module) = provided.clone().find(|m| package.modules.contains(m)) {
                return Err(module_taken(module, &other, owners.owners_of(&other), who));
            }
        }
        Ok(())
    }

    /// A refusal's message with any mention of the registry's directory removed (checks never
    /// put one there, but a refusal must not disclose server paths whatever its origin).
    fn without_server_paths(&self, mut e: ApiError) -> ApiError {
        let dir = match &self.backend {
            Backend::Dir(d) => d.root.dir().display().to_string(),
            Backend::Shared(_) => self.scratch.display().to_string(),
        };
        if !dir.is_empty() && e.message.contains(&dir) {
            e.message = e.message.replace(&dir, "<registry>");
        }
        e
    }
}

/// Makes `owner` the first owner of `name`, or (with `None`) drops every owner again.
fn change_claim(
    d: &DirState,
    name: &PackageName,
    owner: Option<&OwnerName>,
) -> Result<(), ApiError> {
    let mut owners = lock(&d.owners);
    let mut next = owners.clone();
    match owner {
        Some(owner) => {
            next.add(name, owner.clone());
        }
        None => {
            next.drop_package(name);
        }
    }
    next.save(&d.root.owners_path())
        .map_err(|e| io_failure("writing owners.json", e))?;
    *owners = next;
    Ok(())
}

/// The refusal for a second publish of a version.
pub(crate) fn already_published(
    package: &CheckedPackage,
    published: &x07_spec::PackageVersion,
) -> ApiError {
    let same_text = published.as_str() == package.version.as_str();
    ApiError::new(
        ErrorCode::AlreadyPublished,
        if same_text {
            format!(
                "{}@{} is already published; versions are immutable, publish a new version",
                package.name, package.version
            )
        } else {
            format!(
                "{}@{} is the same version as the published {}: build metadata (after `+`) is not part of a version; publish a new version",
                package.name, package.version, published
            )
        },
    )
}

/// The refusal for a name whose other spelling (`-` / `_`) the registry has.
pub(crate) fn name_conflict(
    name: &PackageName,
    other: &PackageName,
    owners: &[OwnerName],
) -> ApiError {
    ApiError::new(
        ErrorCode::NameConflict,
        format!(
            "package `{name}` is the same package as `{other}`, which this registry already has (`-` and `_` are the same in package names); publish it as `{other}`{}",
            if owners.is_empty() { String::new() } else { format!(" (owners: {})", names(owners)) }
        ),
    )
}

/// The refusal for a publish by someone who does not own the package.
pub(crate) fn not_owner_for_publish(who: &TokenRecord, name: &PackageName) -> ApiError {
    ApiError::new(
        ErrorCode::NotOwner,
        format!(
            "`{}` is not an owner of package `{name}`; an owner can add you with POST /v1/packages/{name}/owners",
            who.owner
        ),
    )
}

/// The refusal for a module id another owner's package already provides.
pub(crate) fn module_taken(
    module: &str,
    other: &PackageName,
    owners: &[OwnerName],
    who: &TokenRecord,
) -> ApiError {
    ApiError::new(
        ErrorCode::ModuleTaken,
        format!(
            "module `{module}` is already provided by package `{other}` (owners: {}), and `{}` is not one of them; a module id belongs to the packages of its owners: rename the module, or ask an owner of `{other}` to add `{}` as an owner",
            names(owners),
            who.owner,
            who.owner
        ),
    )
}

/// `a, b` (or `nobody`).
fn names(owners: &[OwnerName]) -> String {
    if owners.is_empty() {
        return "nobody".into();
    }
    owners
        .iter()
        .map(OwnerName::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The signed index line of a checked package.
pub(crate) fn signed_entry(
    package: &CheckedPackage,
    cksum: Sha256Digest,
    signer: &IndexSigner,
) -> IndexEntry {
    let mut entry = IndexEntry {
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
    };
    entry.sign(signer);
    entry
}
