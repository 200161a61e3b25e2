//! The other operations on a shared registry: tokens (stored as sha256 hashes), owners, yank,
//! and reading archives back from the object store.

use std::sync::Arc;

use x07_spec::{PackageName, PackageVersion};

use super::{archive_key, database, storage_unavailable, DatabaseUrl, SharedError, SharedHandle};
use crate::api_error::ApiError;
use crate::index_entry::{IndexEntry, SignedLine as _};
use crate::owners::OwnerName;
use crate::registry::{last_owner, no_such_version, Registry};
use crate::tokens::{now_secs, token_hash, Scope, Token, TokenRecord, TOKEN_PREFIX};

impl SharedHandle {
    /// The record of a token, if the database knows its hash (blocking).
    pub(crate) fn lookup_token(&self, token: &str) -> Result<Option<TokenRecord>, ApiError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let row = self
            .rt
            .block_on(async {
                let client = self.pool.get().await.map_err(|e| e.to_string())?;
                client
                    .query_opt(
                        "SELECT owner, scopes, created FROM x07_tokens WHERE hash = $1",
                        &[&token_hash(token)],
                    )
                    .await
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| ApiError::from(self.url.error("reading tokens", e)))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let owner: String = row.get(0);
        let scopes: Vec<String> = row.get(1);
        let created: i64 = row.get(2);
        let owner =
            OwnerName::new(owner).map_err(|e| ApiError::internal("reading a token's owner", e))?;
        Ok(Some(TokenRecord {
            owner,
            scopes: scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
            created: u64::try_from(created).unwrap_or(0),
        }))
    }

    /// The owners of `name`, sorted (blocking).
    pub(crate) fn owners_of(&self, name: &PackageName) -> Result<Vec<OwnerName>, ApiError> {
        let client = self
            .rt
            .block_on(self.pool.get())
            .map_err(|e| ApiError::from(self.url.error_chain("getting a connection", &e)))?;
        self.rt.block_on(self.owners_in(&client, name.as_str()))
    }

    /// Adds or removes an owner; returns the owners after the change (blocking).
    pub(crate) fn change_owner(
        &self,
        who: &TokenRecord,
        name: &PackageName,
        owner: OwnerName,
        add: bool,
    ) -> Result<Vec<OwnerName>, ApiError> {
        let rt = &self.rt;
        self.locked("committing the owner change", |tx| {
            let owners = self.require_owner_in(tx, who, name)?;
            if add {
                rt.block_on(tx.execute(
                    "INSERT INTO x07_owners (package, owner) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&name.as_str(), &owner.as_str()],
                ))
                .map_err(self.db("adding an owner"))?;
            } else {
                if owners == [owner.clone()] {
                    return Err(last_owner(&owner, name));
                }
                rt.block_on(tx.execute(
                    "DELETE FROM x07_owners WHERE package = $1 AND owner = $2",
                    &[&name.as_str(), &owner.as_str()],
                ))
                .map_err(self.db("removing an owner"))?;
            }
            rt.block_on(self.owners_in(tx, name.as_str()))
        })
    }

    /// Sets a version's yank flag and re-signs its line; returns the version as published
    /// (blocking).
    pub(crate) fn set_yanked(
        &self,
        reg: &Registry,
        who: &TokenRecord,
        name: &PackageName,
        version: &PackageVersion,
        yanked: bool,
    ) -> Result<String, ApiError> {
        let rt = &self.rt;
        let (text, file) = self.locked("committing the yank", |tx| {
            self.require_owner_in(tx, who, name)?;
            let row = rt
                .block_on(tx.query_opt(
                    "SELECT version, line FROM x07_versions WHERE package = $1 AND version_key = $2 FOR UPDATE",
                    &[&name.as_str(), &version.identity()],
                ))
                .map_err(self.db("reading the version"))?
                .ok_or_else(|| no_such_version(name, version.as_str()))?;
            let text: String = row.get(0);
            let line: String = row.get(1);
            let mut entry: IndexEntry = serde_json::from_str(&line)
                .map_err(|e| ApiError::internal("reading a stored index line", e))?;
            if entry.yanked == yanked {
                return Ok((text, None));
            }
            entry.yanked = yanked;
            entry.sign(&reg.signer);
            let line = String::from_utf8(entry.line_bytes())
                .map_err(|e| ApiError::internal("rendering the index line", e))?;
            rt.block_on(tx.execute(
                "UPDATE x07_versions SET yanked = $3, line = $4 WHERE package = $1 AND version_key = $2",
                &[&name.as_str(), &version.identity(), &yanked, &line],
            ))
            .map_err(self.db("storing the yank"))?;
            let file = rt.block_on(self.rerender(tx, name))?;
            Ok((text, Some(file)))
        })?;
        if let Some(file) = file {
            self.index.install(name, Arc::new(file));
            self.sync_after_commit(name);
        }
        Ok(text)
    }

    /// A published archive from the object store, as a stream (blocking).
    pub(crate) fn open_archive(
        &self,
        name: &PackageName,
        version: &PackageVersion,
    ) -> Result<(x07_blob_store::BlobReader, Option<u64>), ApiError> {
        match self.bucket.get_stream(&archive_key(name, version)) {
            Ok(Some(opened)) => Ok(opened),
            Ok(None) => Err(ApiError::internal(
                "reading a stored archive",
                format!(
                    "{}: no object {} although the index lists it",
                    self.bucket.describe(),
                    archive_key(name, version)
                ),
            )),
            Err(e) => Err(storage_unavailable(e)),
        }
    }
}

/// Creates a token in a shared registry's database (migrating it first if it is new); blocking.
pub fn create_token(
    url: &DatabaseUrl,
    owner: OwnerName,
    scopes: Vec<Scope>,
) -> Result<Token, SharedError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| url.error("starting the async runtime", e))?;
    runtime.block_on(async {
        let (mut client, connection) = url.connect().await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        database::migrate(&mut client, url).await?;
        let token = Token::generate();
        let mut scopes = scopes;
        scopes.sort();
        scopes.dedup();
        let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        let created = i64::try_from(now_secs()).unwrap_or(i64::MAX);
        client
            .execute(
                "INSERT INTO x07_tokens (hash, owner, scopes, created) VALUES ($1, $2, $3, $4)",
                &[
                    &token_hash(token.as_str()),
                    &owner.as_str(),
                    &scopes,
                    &created,
                ],
            )
            .await
            .map_err(|e| url.error("storing the token", e))?;
        Ok(token)
    })
}
