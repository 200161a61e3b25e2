//! `x07 registry migrate --from DIR --to-database … --to-storage …`: moves a directory registry
//! into a shared one with every index line, signature and archive intact. The directory's
//! signing key becomes the database's, so clients' pinned key stays valid; archives are checked
//! against their index checksums before they are uploaded; the database rows are written in one
//! transaction, so a failed migration leaves the database as it was (uploaded objects are
//! unreferenced and overwritten by a retry).

use std::path::Path;

use serde::Serialize;
use x07_blob_store::BlobStore;
use x07_spec::Sha256Digest;

use super::{archive_key, database, index_key, settings, DatabaseUrl, SharedError};
use crate::index_store::IndexStore;
use crate::owners::OwnersFile;
use crate::root::{RegistryRoot, RootError};
use crate::signing::IndexSigner;
use x07_blob_store::StoreUrl;

/// What a migration moved.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    /// Packages moved.
    pub packages: usize,
    /// Versions (index lines) moved.
    pub versions: usize,
    /// Archives uploaded.
    pub archives: usize,
    /// Tokens moved (as hashes).
    pub tokens: usize,
    /// Index lines kept verbatim because they could not be read.
    pub unreadable_lines: usize,
    /// Names that were claimed but never got a version (not moved).
    pub dropped_claims: Vec<String>,
    /// The signing key id, now the database's.
    pub key_id: String,
}

/// Migrates the directory registry at `from` (no server may be running on it).
pub fn migrate_directory(
    from: &Path,
    database: &DatabaseUrl,
    storage: &StoreUrl,
) -> Result<MigrationReport, SharedError> {
    let root = RegistryRoot::new(from);
    let _serving = root.lock_for_serving()?;
    let config = root.read_config()?.ok_or_else(|| {
        SharedError::Root(RootError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "{}: no config.json; --from must name a registry directory (`x07 registry serve --root DIR` creates one)",
                from.display()
            ),
        )))
    })?;
    let signer = IndexSigner::load(&root.signing_key_path())?;
    let (index, unreadable) = IndexStore::load(&root)?;
    let owners = OwnersFile::load(&root.owners_path())?;
    let tokens = root
        .tokens()
        .all()
        .map_err(|e| SharedError::Root(RootError::Tokens(e)))?;
    let mut files = index.snapshot();
    files.sort_by(|a, b| a.0.cmp(&b.0));

    let bucket = BlobStore::open(storage)?;
    let mut archives = 0;
    for (name, file) in &files {
        for entry in &file.entries {
            let path = root.archive_path(name, &entry.version);
            let bytes = fs_err::read(&path).map_err(|e| SharedError::Root(RootError::Io(e)))?;
            let digest = Sha256Digest::of(&bytes);
            if digest != entry.cksum {
                return Err(SharedError::Root(RootError::Io(std::io::Error::other(format!(
                    "{}: sha256 {digest} differs from the index checksum {}; restore the archive before migrating",
                    path.display(),
                    entry.cksum
                )))));
            }
            bucket.put(&archive_key(name, &entry.version), &bytes)?;
            archives += 1;
        }
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| database.error("starting the async runtime", e))?;
    let dropped_claims: Vec<String> = owners
        .packages()
        .filter(|n| index.get(n).is_none())
        .map(|n| n.to_string())
        .collect();
    let versions: usize = files.iter().map(|(_, f)| f.entries.len()).sum();
    runtime.block_on(async {
        let (mut client, connection) = database.connect().await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        database::migrate(&mut client, database).await?;
        let existing: i64 = client
            .query_one("SELECT count(*) FROM x07_packages", &[])
            .await
            .map_err(|e| database.error("counting packages", e))?
            .get(0);
        if existing > 0 {
            return Err(SharedError::BadState {
                url: database.to_string(),
                why: format!("it already holds {existing} packages; migrate into an empty registry database"),
            });
        }
        if !settings::adopt_signer(&client, database, &signer).await? {
            return Err(SharedError::BadState {
                url: database.to_string(),
                why: format!(
                    "it already keeps a different signing key than {} (key {}); migrate into a new database, or start it with --signing-key",
                    root.signing_key_path().display(),
                    signer.key_id()
                ),
            });
        }
        let tx = client
            .transaction()
            .await
            .map_err(|e| database.error("starting the migration transaction", e))?;
        for (name, file) in &files {
            tx.execute(
                "INSERT INTO x07_packages (name, canonical, unreadable, index_body, index_generation) VALUES ($1, $2, $3, $4, 1)",
                &[&name.as_str(), &name.canonical(), &file.unreadable, &file.body.as_ref()],
            )
            .await
            .map_err(|e| database.error("storing a package", e))?;
            for owner in owners.owners_of(name) {
                tx.execute(
                    "INSERT INTO x07_owners (package, owner) VALUES ($1, $2)",
                    &[&name.as_str(), &owner.as_str()],
                )
                .await
                .map_err(|e| database.error("storing an owner", e))?;
            }
            for entry in &file.entries {
                let line = String::from_utf8(entry.line_bytes()).map_err(|e| {
                    SharedError::BadState {
                        url: database.to_string(),
                        why: e.to_string(),
                    }
                })?;
                tx.execute(
                    "INSERT INTO x07_versions (package, version_key, version, cksum, yanked, line) VALUES ($1, $2, $3, $4, $5, $6)",
                    &[
                        &name.as_str(),
                        &entry.version.identity(),
                        &entry.version.as_str(),
                        &entry.cksum.to_string(),
                        &entry.yanked,
                        &line,
                    ],
                )
                .await
                .map_err(|e| database.error("storing a version", e))?;
                let modules: Vec<&str> = entry.modules.iter().map(|m| m.as_str()).collect();
                tx.execute(
                    "INSERT INTO x07_modules (module, package) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING",
                    &[&modules, &name.as_str()],
                )
                .await
                .map_err(|e| database.error("storing module ids", e))?;
            }
        }
        for (hash, record) in &tokens {
            let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
            let created = i64::try_from(record.created).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT INTO x07_tokens (hash, owner, scopes, created) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING",
                &[hash, &record.owner.as_str(), &scopes, &created],
            )
            .await
            .map_err(|e| database.error("storing a token", e))?;
        }
        settings::store_config(&tx, database, &config).await?;
        tx.commit()
            .await
            .map_err(|e| database.error("committing the migration", e))?;
        Ok::<_, SharedError>(())
    })?;
    for (name, file) in &files {
        bucket.put(&index_key(name), &file.body)?;
    }
    runtime.block_on(async {
        let (client, connection) = database.connect().await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
            .execute(
                "UPDATE x07_packages SET bucket_generation = index_generation",
                &[],
            )
            .await
            .map_err(|e| database.error("recording index writes", e))?;
        Ok::<_, SharedError>(())
    })?;
    Ok(MigrationReport {
        packages: files.len(),
        versions,
        archives,
        tokens: tokens.len(),
        unreadable_lines: unreadable.len(),
        dropped_claims,
        key_id: signer.key_id().to_string(),
    })
}
