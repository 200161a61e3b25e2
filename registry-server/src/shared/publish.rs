//! Publishing to a shared registry: one transaction under the publish advisory lock checks the
//! name, the ownership, the module ids and the version against every package (as the directory
//! registry does under its commit lock), puts the archive in the object store, and stores the
//! claim, the version, its modules and the re-rendered index file; the commit is the moment the
//! version exists, for every process at once. The object store's index file follows the commit.

use std::sync::Arc;

use deadpool_postgres::Transaction;
use x07_spec::{PackageName, PackageVersion, Sha256Digest};

use super::schema::{INDEX_CHANNEL, PUBLISH_LOCK};
use super::{archive_key, storage_unavailable, SharedHandle, SharedState};
use crate::api_error::ApiError;
use crate::index_entry::IndexEntry;
use crate::index_store::IndexFile;
use crate::owners::OwnerName;
use crate::package_check::CheckedPackage;
use crate::publish::{
    already_published, module_taken, name_conflict, not_owner_for_publish, signed_entry,
};
use crate::registry::{not_an_owner, Registry};
use crate::tokens::TokenRecord;
use crate::upload::Upload;

impl SharedHandle {
    /// Publishes a checked package (blocking: runs on a blocking thread).
    pub(crate) fn publish(
        &self,
        reg: &Registry,
        who: &TokenRecord,
        package: &CheckedPackage,
        upload: Upload,
    ) -> Result<Sha256Digest, ApiError> {
        let state: &SharedState = self;
        let rt = &state.rt;
        let name = &package.name;
        let file = state.locked("committing the publish", |tx| {
            let claim = rt.block_on(state.check_publish(tx, who, package))?;
            // Only the publish that got this far writes the archive: every other publish of
            // this version waits for the lock and is then refused as already published.
            state
                .bucket
                .put_file(&archive_key(name, &package.version), upload.file.path())
                .map_err(storage_unavailable)?;
            let entry = signed_entry(package, upload.sha256, &reg.signer);
            rt.block_on(state.store_version(tx, who, package, &entry, claim))
        })?;
        state.index.install(name, Arc::new(file));
        state.sync_after_commit(name);
        Ok(upload.sha256)
    }
}

impl SharedState {
    /// Runs `f` in one transaction holding the publish lock (every change to names, owners,
    /// versions and yanks is serialised by it across all servers); commits when `f` succeeds
    /// (`what` names the commit in errors) and rolls back when it fails. Blocking.
    pub(crate) fn locked<T>(
        &self,
        what: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let rt = &self.rt;
        let mut client = rt
            .block_on(self.pool.get())
            .map_err(|e| ApiError::from(self.url.error_chain("getting a connection", &e)))?;
        let tx = rt
            .block_on(client.transaction())
            .map_err(self.db("starting a transaction"))?;
        rt.block_on(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PUBLISH_LOCK]))
            .map_err(self.db("taking the publish lock"))?;
        let out = f(&tx)?;
        rt.block_on(tx.commit()).map_err(self.db(what))?;
        Ok(out)
    }

    /// Writes the object store's index file after a commit; a failure is logged, and the
    /// repair pass writes it later (the change itself is done).
    pub(crate) fn sync_after_commit(&self, name: &PackageName) {
        if let Err(e) = self.sync_index_to_bucket(name) {
            tracing::warn!(package = %name, "the object store's index file is behind until repaired: {e}");
        }
    }

    /// The owners of `name`, failing unless `who` is one of them or an admin.
    pub(crate) fn require_owner_in(
        &self,
        tx: &Transaction<'_>,
        who: &TokenRecord,
        name: &PackageName,
    ) -> Result<Vec<OwnerName>, ApiError> {
        let owners = self.rt.block_on(self.owners_in(tx, name.as_str()))?;
        if who.is_admin() || owners.contains(&who.owner) {
            Ok(owners)
        } else {
            Err(not_an_owner(who, name))
        }
    }

    /// A closure turning a database error into a 503 naming `what`.
    pub(crate) fn db<E: std::error::Error + 'static>(
        &self,
        what: &'static str,
    ) -> impl Fn(E) -> ApiError + '_ {
        move |e| ApiError::from(self.url.error_chain(what, &e))
    }

    /// The owners of `name` inside a transaction, sorted.
    pub(crate) async fn owners_in(
        &self,
        tx: &impl deadpool_postgres::GenericClient,
        name: &str,
    ) -> Result<Vec<OwnerName>, ApiError> {
        let rows = tx
            .query(
                "SELECT owner FROM x07_owners WHERE package = $1 ORDER BY owner",
                &[&name],
            )
            .await
            .map_err(self.db("reading owners"))?;
        Ok(rows
            .iter()
            .filter_map(|r| OwnerName::new(r.get::<_, String>(0)).ok())
            .collect())
    }

    /// The publish checks; returns whether the name is new (the publisher claims it).
    async fn check_publish(
        &self,
        tx: &Transaction<'_>,
        who: &TokenRecord,
        package: &CheckedPackage,
    ) -> Result<bool, ApiError> {
        let name = package.name.as_str();
        let canonical = package.name.canonical();
        let other = tx
            .query_opt(
                "SELECT name FROM x07_packages WHERE canonical = $1 AND name <> $2",
                &[&canonical, &name],
            )
            .await
            .map_err(self.db("checking the name"))?;
        if let Some(other) = other {
            let other: String = other.get(0);
            let owners = self.owners_in(tx, &other).await?;
            let other = PackageName::new(other.as_str())
                .map_err(|e| ApiError::internal("reading a package name", e))?;
            return Err(name_conflict(&package.name, &other, &owners));
        }
        let owners = self.owners_in(tx, name).await?;
        let claim = owners.is_empty();
        if !claim && !who.is_admin() && !owners.contains(&who.owner) {
            return Err(not_owner_for_publish(who, &package.name));
        }
        if !who.is_admin() {
            let modules: Vec<&str> = package.modules.iter().map(|m| m.as_str()).collect();
            let taken = tx
                .query_opt(
                    "SELECT m.module, m.package FROM x07_modules m JOIN x07_packages p ON p.name = m.package \
                     WHERE m.module = ANY($1) AND p.canonical <> $2 \
                     AND NOT EXISTS (SELECT 1 FROM x07_owners o WHERE o.package = m.package AND o.owner = $3) \
                     ORDER BY m.package, m.module LIMIT 1",
                    &[&modules, &canonical, &who.owner.as_str()],
                )
                .await
                .map_err(self.db("checking module ids"))?;
            if let Some(row) = taken {
                let module: String = row.get(0);
                let other: String = row.get(1);
                let owners = self.owners_in(tx, &other).await?;
                let other = PackageName::new(other.as_str())
                    .map_err(|e| ApiError::internal("reading a package name", e))?;
                return Err(module_taken(&module, &other, &owners, who));
            }
        }
        let published = tx
            .query_opt(
                "SELECT version FROM x07_versions WHERE package = $1 AND version_key = $2",
                &[&name, &package.version.identity()],
            )
            .await
            .map_err(self.db("checking the version"))?;
        if let Some(row) = published {
            let text: String = row.get(0);
            let published = PackageVersion::new(text.as_str())
                .map_err(|e| ApiError::internal("reading a stored version", e))?;
            return Err(already_published(package, &published));
        }
        Ok(claim)
    }

    /// Stores the claim, the version and its modules, and the new index file; announces it.
    async fn store_version(
        &self,
        tx: &Transaction<'_>,
        who: &TokenRecord,
        package: &CheckedPackage,
        entry: &IndexEntry,
        claim: bool,
    ) -> Result<IndexFile, ApiError> {
        let name = package.name.as_str();
        if claim {
            tx.execute(
                "INSERT INTO x07_packages (name, canonical, index_body, index_generation) VALUES ($1, $2, '', 0)",
                &[&name, &package.name.canonical()],
            )
            .await
            .map_err(self.db("storing the package"))?;
            tx.execute(
                "INSERT INTO x07_owners (package, owner) VALUES ($1, $2)",
                &[&name, &who.owner.as_str()],
            )
            .await
            .map_err(self.db("storing the owner"))?;
        }
        let line = String::from_utf8(entry.line_bytes())
            .map_err(|e| ApiError::internal("rendering the index line", e))?;
        tx.execute(
            "INSERT INTO x07_versions (package, version_key, version, cksum, yanked, line, published_by) VALUES ($1, $2, $3, $4, false, $5, $6)",
            &[
                &name,
                &package.version.identity(),
                &package.version.as_str(),
                &entry.cksum.to_string(),
                &line,
                &who.owner.as_str(),
            ],
        )
        .await
        .map_err(self.db("storing the version"))?;
        let modules: Vec<&str> = package.modules.iter().map(|m| m.as_str()).collect();
        tx.execute(
            "INSERT INTO x07_modules (module, package) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING",
            &[&modules, &name],
        )
        .await
        .map_err(self.db("storing module ids"))?;
        self.rerender(tx, &package.name).await
    }

    /// Renders `name`'s index file from its stored lines, stores it with the next generation,
    /// and announces the change (delivered to other processes at commit).
    pub(crate) async fn rerender(
        &self,
        tx: &Transaction<'_>,
        name: &PackageName,
    ) -> Result<IndexFile, ApiError> {
        let rows = tx
            .query(
                "SELECT line FROM x07_versions WHERE package = $1",
                &[&name.as_str()],
            )
            .await
            .map_err(self.db("reading index lines"))?;
        let mut entries = Vec::new();
        for row in rows {
            let line: String = row.get(0);
            let entry: IndexEntry = serde_json::from_str(&line)
                .map_err(|e| ApiError::internal("reading a stored index line", e))?;
            entries.push(entry);
        }
        let unreadable: Vec<String> = tx
            .query_one(
                "SELECT unreadable FROM x07_packages WHERE name = $1",
                &[&name.as_str()],
            )
            .await
            .map_err(self.db("reading the package"))?
            .get(0);
        let file = IndexFile::new(entries, unreadable);
        tx.execute(
            "UPDATE x07_packages SET index_body = $2, index_generation = index_generation + 1 WHERE name = $1",
            &[&name.as_str(), &file.body.as_ref()],
        )
        .await
        .map_err(self.db("storing the index file"))?;
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&INDEX_CHANNEL, &name.as_str()],
        )
        .await
        .map_err(self.db("announcing the change"))?;
        Ok(file)
    }
}
