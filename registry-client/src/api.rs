//! The registry's `/v1` API: publish, yank, owners and search. Mutations need the token, and the
//! token only goes to an API on the index's own origin.

use std::path::Path;

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::{json, Value};
use x07_spec::{PackageName, PackageVersion, Sha256Digest};

use crate::client::RegistryClient;
use crate::error::RegistryError;
use crate::http::Auth;

/// What to publish.
#[derive(Debug, Clone, Copy)]
pub enum PublishSource<'a> {
    /// A package directory, packed here (`x07 pkg publish --package DIR`).
    PackageDir(&'a Path),
    /// An already packed `.x07pkg`.
    Archive(&'a [u8]),
}

/// The registry's receipt for a publish.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Published {
    /// The package.
    pub name: PackageName,
    /// The version.
    pub version: PackageVersion,
    /// sha256 of the archive, equal to what was sent.
    pub cksum: Sha256Digest,
    /// Where its index file is (`ex/t-/ext-net`).
    pub index_path: String,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SearchHit {
    /// The package.
    pub name: PackageName,
    /// Its newest version.
    pub latest: PackageVersion,
    /// Its description.
    #[serde(default)]
    pub description: String,
}

fn shape_error(url: &Url, what: &str, e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Api {
        url: url.to_string(),
        status: 200,
        code: None,
        message: format!("unexpected answer shape for {what}: {e}"),
    }
}

impl RegistryClient {
    /// An API URL; needs the network and a registry with an `api`.
    fn api_url(&self, action: &'static str, path: &str) -> Result<Url, RegistryError> {
        if self.is_offline() {
            return Err(RegistryError::Offline {
                action,
                index: self.index_url().clone(),
            });
        }
        let config = self.config()?;
        match config.api_url(path) {
            Some(Ok(url)) => Ok(url),
            Some(Err(reason)) => Err(RegistryError::Config {
                url: self.index_url().to_string(),
                reason,
            }),
            None => Err(RegistryError::Config {
                url: self.index_url().to_string(),
                reason: format!("config.json has no `api`, so this registry cannot {action}"),
            }),
        }
    }

    /// The token for a mutation, which must go to the index's origin.
    fn required_auth(&self) -> Result<Auth<'_>, RegistryError> {
        let token = self.token().ok_or_else(|| RegistryError::NotLoggedIn {
            index: self.index_url().clone(),
        })?;
        Ok(Auth::Required(self.index_url(), token))
    }

    /// `x07 pkg publish`: uploads the archive and checks the receipt describes it.
    pub fn publish(&self, source: PublishSource<'_>) -> Result<Published, RegistryError> {
        let url = self.api_url("publish", "packages/publish")?;
        let auth = self.required_auth()?;
        let (bytes, identity) = match source {
            PublishSource::PackageDir(dir) => {
                let packed = x07_spec::archive::pack(dir)?;
                (
                    packed.bytes,
                    Some((packed.manifest.name, packed.manifest.version)),
                )
            }
            PublishSource::Archive(bytes) => (bytes.to_vec(), None),
        };
        let sent = Sha256Digest::of(&bytes);
        let answer = self.http()?.api(
            Method::POST,
            &url,
            auth,
            Some((bytes, "application/octet-stream")),
        )?;
        let receipt: Published =
            serde_json::from_value(answer).map_err(|e| shape_error(&url, "publish", e))?;
        let mismatch = |field, got: String, expected: String| RegistryError::PublishMismatch {
            index: self.index_url().clone(),
            field,
            got,
            expected,
        };
        if receipt.cksum != sent {
            return Err(mismatch(
                "cksum",
                receipt.cksum.to_string(),
                sent.to_string(),
            ));
        }
        if let Some((name, version)) = identity {
            if receipt.name != name {
                return Err(mismatch("name", receipt.name.to_string(), name.to_string()));
            }
            if receipt.version != version {
                return Err(mismatch(
                    "version",
                    receipt.version.to_string(),
                    version.to_string(),
                ));
            }
        }
        Ok(receipt)
    }

    /// Yanks (`true`) or restores (`false`) a version; the registry re-signs its index line.
    pub fn yank(
        &self,
        name: &PackageName,
        version: &PackageVersion,
        yanked: bool,
    ) -> Result<(), RegistryError> {
        let url = self.api_url("yank", &format!("packages/{name}/{version}/yank"))?;
        let body = serde_json::to_vec(&json!({ "yanked": yanked })).expect("a literal serializes");
        self.http()?.api(
            Method::POST,
            &url,
            self.required_auth()?,
            Some((body, "application/json")),
        )?;
        Ok(())
    }

    /// Who the stored token acts as, and its scopes (`GET /v1/me`): how `x07 pkg login` checks a
    /// token before storing it.
    pub fn whoami(&self) -> Result<(String, Vec<String>), RegistryError> {
        let url = self.api_url("check the token", "me")?;
        let answer = self
            .http()?
            .api(Method::GET, &url, self.required_auth()?, None)?;
        let owner = answer
            .get("owner")
            .and_then(Value::as_str)
            .map(str::to_string);
        let scopes: Option<Vec<String>> = answer
            .get("scopes")
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok());
        match (owner, scopes) {
            (Some(o), Some(s)) => Ok((o, s)),
            _ => Err(shape_error(&url, "whoami", "missing owner or scopes")),
        }
    }

    /// The owners of a package.
    pub fn owners(&self, name: &PackageName) -> Result<Vec<String>, RegistryError> {
        let url = self.api_url("list owners", &format!("packages/{name}/owners"))?;
        let answer = self.http()?.api(Method::GET, &url, Auth::None, None)?;
        owners_of(&url, answer)
    }

    /// Adds (`add`) or removes an owner; returns the owners afterwards.
    pub fn change_owner(
        &self,
        name: &PackageName,
        owner: &str,
        add: bool,
    ) -> Result<Vec<String>, RegistryError> {
        let url = self.api_url("change owners", &format!("packages/{name}/owners"))?;
        let body = serde_json::to_vec(&json!({ "owner": owner })).expect("a literal serializes");
        let method = if add { Method::POST } else { Method::DELETE };
        let answer = self.http()?.api(
            method,
            &url,
            self.required_auth()?,
            Some((body, "application/json")),
        )?;
        owners_of(&url, answer)
    }

    /// Packages whose name or description contains `query`.
    pub fn search(
        &self,
        query: &str,
        limit: Option<usize>,
    ) -> Result<Vec<SearchHit>, RegistryError> {
        let mut url = self.api_url("search", "search")?;
        url.query_pairs_mut().append_pair("q", query);
        if let Some(n) = limit {
            url.query_pairs_mut().append_pair("limit", &n.to_string());
        }
        let answer = self.http()?.api(Method::GET, &url, Auth::None, None)?;
        let hits = answer.get("packages").cloned().unwrap_or(Value::Null);
        serde_json::from_value(hits).map_err(|e| shape_error(&url, "search", e))
    }
}

fn owners_of(url: &Url, answer: Value) -> Result<Vec<String>, RegistryError> {
    let owners = answer.get("owners").cloned().unwrap_or(Value::Null);
    serde_json::from_value(owners).map_err(|e| shape_error(url, "owners", e))
}
