//! What a shared registry keeps in `x07_settings`: the index signing key (created once, by
//! whichever server starts first) and the registry's settings (official owners, limits).

use tokio_postgres::Client;

use super::{stored_config, DatabaseUrl, SharedError};
use crate::config::{BaseUrlSource, RegistryConfig};
use crate::owners::OwnerName;
use crate::signing::IndexSigner;

const SIGNING_KEY: &str = "signing_key";
const CONFIG: &str = "config";

/// The signing key: `--signing-key FILE`, else the one kept in the database (created here by
/// the first server to start; concurrent first starts agree on one key).
pub(crate) async fn signer(
    client: &Client,
    url: &DatabaseUrl,
    key_file: Option<&std::path::Path>,
) -> Result<IndexSigner, SharedError> {
    if let Some(path) = key_file {
        return Ok(IndexSigner::load(path)?);
    }
    adopt_signer(client, url, &IndexSigner::generate()).await?;
    stored_signer(client, url)
        .await?
        .ok_or_else(|| SharedError::BadState {
            url: url.to_string(),
            why: "the signing key vanished right after it was stored".into(),
        })
}

/// The key kept in the database, if any.
pub(crate) async fn stored_signer(
    client: &Client,
    url: &DatabaseUrl,
) -> Result<Option<IndexSigner>, SharedError> {
    let row = client
        .query_opt(
            "SELECT value FROM x07_settings WHERE key = $1",
            &[&SIGNING_KEY],
        )
        .await
        .map_err(|e| url.error("reading the signing key", e))?;
    row.map(|r| {
        let der: Vec<u8> = r.get(0);
        IndexSigner::from_pkcs8_der(&der).map_err(|e| SharedError::BadState {
            url: url.to_string(),
            why: format!("x07_settings.signing_key is not an ed25519 pkcs8 key ({e}); restore it from a backup (a new key invalidates every client's pinned key)"),
        })
    })
    .transpose()
}

/// Stores `signer` as the registry's key unless one is kept already; returns whether the kept
/// key is `signer`'s.
pub(crate) async fn adopt_signer(
    client: &Client,
    url: &DatabaseUrl,
    signer: &IndexSigner,
) -> Result<bool, SharedError> {
    let der = signer.to_pkcs8_der().map_err(|why| SharedError::BadState {
        url: url.to_string(),
        why,
    })?;
    client
        .execute(
            "INSERT INTO x07_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&SIGNING_KEY, &der],
        )
        .await
        .map_err(|e| url.error("storing the signing key", e))?;
    let kept = stored_signer(client, url).await?;
    Ok(kept.is_some_and(|k| k.key_id() == signer.key_id()))
}

/// The registry's settings, created with defaults by the first start; `official_owners` are
/// added (and remembered), as `x07 registry serve --official-owner` does for a directory.
pub(crate) async fn registry_config(
    client: &mut Client,
    url: &DatabaseUrl,
    official_owners: &[OwnerName],
) -> Result<RegistryConfig, SharedError> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| url.error("starting a transaction", e))?;
    let row = tx
        .query_opt(
            "SELECT value FROM x07_settings WHERE key = $1 FOR UPDATE",
            &[&CONFIG],
        )
        .await
        .map_err(|e| url.error("reading the registry settings", e))?;
    let mut changed = row.is_none();
    let mut config = match row {
        Some(r) => {
            let bytes: Vec<u8> = r.get(0);
            serde_json::from_slice::<RegistryConfig>(&bytes).map_err(|e| SharedError::BadState {
                url: url.to_string(),
                why: format!(
                    "x07_settings.config is not a registry config ({e}); fix or delete that row"
                ),
            })?
        }
        None => RegistryConfig::initial(String::new(), BaseUrlSource::Addr),
    };
    for owner in official_owners {
        if !config.official_owners.contains(owner) {
            config.official_owners.push(owner.clone());
            changed = true;
        }
    }
    let after = x07_spec::canonical_file_bytes(&stored_config(&config)).map_err(|e| {
        SharedError::BadState {
            url: url.to_string(),
            why: e.to_string(),
        }
    })?;
    if changed {
        tx.execute(
            "INSERT INTO x07_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&CONFIG, &after],
        )
        .await
        .map_err(|e| url.error("storing the registry settings", e))?;
    }
    tx.commit()
        .await
        .map_err(|e| url.error("committing the registry settings", e))?;
    Ok(config)
}

/// Stores `config` as the registry's settings (a migration from a directory).
pub(crate) async fn store_config(
    client: &impl tokio_postgres::GenericClient,
    url: &DatabaseUrl,
    config: &RegistryConfig,
) -> Result<(), SharedError> {
    let bytes = x07_spec::canonical_file_bytes(&stored_config(config)).map_err(|e| {
        SharedError::BadState {
            url: url.to_string(),
            why: e.to_string(),
        }
    })?;
    client
        .execute(
            "INSERT INTO x07_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&CONFIG, &bytes],
        )
        .await
        .map_err(|e| url.error("storing the registry settings", e))?;
    Ok(())
}
