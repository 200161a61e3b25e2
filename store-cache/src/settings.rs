//! Which caches to substitute from and which keys to trust: flags, then environment variables,
//! then `$X07_HOME/substituters.json`, each setting on its own.

use std::path::{Path, PathBuf};

use x07_blob_store::StoreUrl;
use x07_builder::cc::X07Home;
use x07_lock::VerifyingKey;
use x07_spec::store_cache::{SubstitutersConfig, SUBSTITUTERS_FILE, SUBSTITUTERS_SCHEMA};

use crate::record::TrustedKeys;
use crate::CacheError;

/// Environment variable: space-separated cache URLs (replaces the config file's list; set and
/// empty means none).
pub const SUBSTITUTERS_ENV: &str = "X07_SUBSTITUTERS";
/// Environment variable: space-separated trusted keys (`.pub` files or `ed25519:<base64>`).
pub const TRUSTED_KEYS_ENV: &str = "X07_TRUSTED_PUBLIC_KEYS";
/// Prefix of a public key written inline.
const INLINE_KEY_PREFIX: &str = "ed25519:";

/// Where a setting came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsSource {
    /// Command-line flags.
    Flags,
    /// An environment variable.
    Env(&'static str),
    /// The config file.
    Config(PathBuf),
    /// Nowhere: the default (none).
    Default,
}

impl std::fmt::Display for SettingsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingsSource::Flags => f.write_str("the command line"),
            SettingsSource::Env(v) => write!(f, "${v}"),
            SettingsSource::Config(p) => write!(f, "{}", p.display()),
            SettingsSource::Default => f.write_str("the default"),
        }
    }
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// Cache URLs in the order they are tried (each checked to parse).
    pub substituters: Vec<String>,
    /// Where they came from.
    pub substituters_from: SettingsSource,
    /// The trusted keys.
    pub trusted: TrustedKeys,
    /// Where they came from.
    pub trusted_from: SettingsSource,
}

impl CacheSettings {
    /// Resolves the settings for `home`: `flag_substituters` (`--substituter`) if any, else
    /// `X07_SUBSTITUTERS` if set, else the config file; the same for `flag_keys`
    /// (`--trusted-key`), `X07_TRUSTED_PUBLIC_KEYS` and the file. A bad URL, key or file is an
    /// error naming it.
    pub fn resolve(
        home: &X07Home,
        flag_substituters: &[String],
        flag_keys: &[String],
    ) -> Result<Self, CacheError> {
        Self::resolve_with(home, flag_substituters, flag_keys, |k| {
            std::env::var(k).ok()
        })
    }

    /// [`CacheSettings::resolve`] with an explicit environment.
    pub fn resolve_with(
        home: &X07Home,
        flag_substituters: &[String],
        flag_keys: &[String],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, CacheError> {
        let config_path = home.path().join(SUBSTITUTERS_FILE);
        let config = load_config(&config_path)?;
        let split =
            |v: String| -> Vec<String> { v.split_whitespace().map(str::to_string).collect() };
        let (substituters, substituters_from) = if !flag_substituters.is_empty() {
            (flag_substituters.to_vec(), SettingsSource::Flags)
        } else if let Some(v) = env(SUBSTITUTERS_ENV) {
            (split(v), SettingsSource::Env(SUBSTITUTERS_ENV))
        } else if let Some(c) = &config {
            (
                c.substituters.clone(),
                SettingsSource::Config(config_path.clone()),
            )
        } else {
            (Vec::new(), SettingsSource::Default)
        };
        for url in &substituters {
            StoreUrl::parse(url).map_err(|source| CacheError::BadSubstituter {
                url: url.clone(),
                from: substituters_from.to_string(),
                source: Box::new(source),
            })?;
        }
        let (keys, trusted_from, base) = if !flag_keys.is_empty() {
            (flag_keys.to_vec(), SettingsSource::Flags, None)
        } else if let Some(v) = env(TRUSTED_KEYS_ENV) {
            (split(v), SettingsSource::Env(TRUSTED_KEYS_ENV), None)
        } else if let Some(c) = &config {
            (
                c.trusted_public_keys.clone(),
                SettingsSource::Config(config_path.clone()),
                Some(home.path()),
            )
        } else {
            (Vec::new(), SettingsSource::Default, None)
        };
        let mut parsed = Vec::new();
        for k in &keys {
            parsed.push(load_public_key(k, base, &trusted_from)?);
        }
        Ok(Self {
            substituters,
            substituters_from,
            trusted: TrustedKeys::new(parsed),
            trusted_from,
        })
    }
}

/// Reads `$X07_HOME/substituters.json` if it exists.
fn load_config(path: &Path) -> Result<Option<SubstitutersConfig>, CacheError> {
    let bytes = match fs_err::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CacheError::BadConfig {
                path: path.to_path_buf(),
                why: format!("cannot be read: {e}"),
            })
        }
    };
    let bad = |why: String| CacheError::BadConfig {
        path: path.to_path_buf(),
        why,
    };
    let config: SubstitutersConfig =
        serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if config.schema_version != SUBSTITUTERS_SCHEMA {
        return Err(bad(format!(
            "field `schema_version` is `{}`, expected `{SUBSTITUTERS_SCHEMA}`",
            config.schema_version
        )));
    }
    Ok(Some(config))
}

/// A trusted key given as `ed25519:<base64>` or as a `.pub` file (relative to `base` if given).
pub(crate) fn load_public_key(
    given: &str,
    base: Option<&Path>,
    from: &SettingsSource,
) -> Result<VerifyingKey, CacheError> {
    let bad = |why: String| CacheError::TrustedKey {
        key: given.to_string(),
        from: from.to_string(),
        why,
    };
    if let Some(inline) = given.strip_prefix(INLINE_KEY_PREFIX) {
        return VerifyingKey::from_base64(inline).map_err(bad);
    }
    let path = match base {
        Some(b) if Path::new(given).is_relative() => b.join(given),
        _ => PathBuf::from(given),
    };
    let text = fs_err::read_to_string(&path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    if text.contains("PRIVATE KEY") {
        return Err(bad("this is a secret key, not a public one".into()));
    }
    let line = text.trim();
    let line = line.strip_prefix(INLINE_KEY_PREFIX).unwrap_or(line);
    VerifyingKey::from_base64(line).map_err(bad)
}
