//! The index's `config.json`: where archives and the API live, and the registry's signing keys.

use reqwest::Url;
use x07_spec::{PackageName, PackageVersion};

use x07_spec::index::IndexConfig;
pub use x07_spec::index::OfferedKey;

/// A parsed `config.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Archive download prefix (ends with `/`): `{dl}{name}/{version}/download`.
    pub dl: Url,
    /// API prefix (ends with `/`); mirrors may have none.
    pub api: Option<Url>,
    /// Whether index and download requests need the token.
    pub auth_required: bool,
    /// The ed25519 keys the registry signs with, current key first.
    pub public_keys: Vec<OfferedKey>,
}

/// Parses a prefix URL, adding the trailing `/` that concatenation needs.
fn prefix_url(field: &str, text: &str) -> Result<Url, String> {
    let with_slash = if text.ends_with('/') {
        text.to_string()
    } else {
        format!("{text}/")
    };
    let url = Url::parse(&with_slash).map_err(|e| format!("`{field}` is not a URL ({e})"))?;
    match url.scheme() {
        "http" | "https" | "file" => Ok(url),
        other => Err(format!("`{field}` has unsupported scheme `{other}`")),
    }
}

impl RegistryConfig {
    /// Parses config.json bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let raw: IndexConfig =
            serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON ({e})"))?;
        let public_keys = match raw.signing {
            Some(s) if s.kind == "ed25519" => s.public_keys,
            Some(s) => return Err(format!("signing kind `{}` is not ed25519", s.kind)),
            None => Vec::new(),
        };
        Ok(Self {
            dl: prefix_url("dl", &raw.dl)?,
            api: raw.api.map(|a| prefix_url("api", &a)).transpose()?,
            auth_required: raw.auth_required,
            public_keys,
        })
    }

    /// The download URL of one archive.
    pub fn download_url(
        &self,
        name: &PackageName,
        version: &PackageVersion,
    ) -> Result<Url, String> {
        self.dl
            .join(&format!("{name}/{version}/download"))
            .map_err(|e| format!("download URL of {name} {version}: {e}"))
    }

    /// An API endpoint (`packages/publish`, …); `None` when the registry has no API.
    pub fn api_url(&self, path: &str) -> Option<Result<Url, String>> {
        self.api
            .as_ref()
            .map(|api| api.join(path).map_err(|e| format!("API URL `{path}`: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_servers_shape_and_builds_urls() {
        let c = RegistryConfig::parse(
            br#"{"dl":"http://h:1/v1/packages/","api":"http://h:1/v1","auth-required":false,"sparse":true,
                "signing":{"kind":"ed25519","public_keys":[{"id":"0123456789abcdef","ed25519_pub":"AAAA"}]}}"#,
        )
        .unwrap();
        let name = PackageName::new("ext-net").unwrap();
        let version = PackageVersion::new("0.1.0").unwrap();
        assert_eq!(
            c.download_url(&name, &version).unwrap().as_str(),
            "http://h:1/v1/packages/ext-net/0.1.0/download"
        );
        assert_eq!(
            c.api_url("packages/publish").unwrap().unwrap().as_str(),
            "http://h:1/v1/packages/publish"
        );
        assert_eq!(c.public_keys[0].id, "0123456789abcdef");
        assert!(RegistryConfig::parse(br#"{"dl":"ftp://x/"}"#).is_err());
        assert!(RegistryConfig::parse(br#"{"dl":"http://x/","signing":{"kind":"rsa"}}"#).is_err());
    }
}
