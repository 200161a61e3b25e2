//! Registry index URLs: `sparse+http(s)://HOST/PATH/` and `sparse+file:///ABS/PATH/`, and how a
//! command picks one (`--index`, then `X07_PKG_INDEX_URL`, then the project config, then the default).

use std::fmt;
use std::path::PathBuf;

use reqwest::Url;
use sha2::{Digest as _, Sha256};

/// The index every command uses when nothing else names one.
pub const DEFAULT_INDEX_URL: &str = "sparse+https://registry.x07.io/index/";

/// The environment variable naming the index (below `--index`, above the project config).
pub const INDEX_URL_ENV: &str = "X07_PKG_INDEX_URL";

/// Why a string is not a usable index URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("index URL `{url}`: {reason}")]
pub struct IndexUrlError {
    /// The rejected text.
    pub url: String,
    /// What is wrong and what to write instead.
    pub reason: String,
}

/// Where the index lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexLocation {
    /// Over HTTP(S); the URL ends with `/`.
    Http(Url),
    /// A local mirror directory (absolute).
    File(PathBuf),
}

/// A normalised sparse index URL (scheme and host lowercased, trailing `/` kept).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndexUrl {
    text: String,
}

impl IndexUrl {
    /// Parses `sparse+http://…/`, `sparse+https://…/` or `sparse+file:///abs/…/`.
    pub fn parse(text: &str) -> Result<Self, IndexUrlError> {
        let fail = |reason: &str| IndexUrlError {
            url: text.to_string(),
            reason: reason.to_string(),
        };
        let rest = text.strip_prefix("sparse+").ok_or_else(|| {
            fail("must start with `sparse+` (for example sparse+https://registry.x07.io/index/ or sparse+file:///srv/mirror/index/)")
        })?;
        let url = Url::parse(rest).map_err(|e| fail(&format!("not a URL ({e})")))?;
        match url.scheme() {
            "http" | "https" => {
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(fail("has no host"));
                }
                if !url.username().is_empty() || url.password().is_some() {
                    return Err(fail(
                        "must not carry credentials; use `x07 pkg login` to store a token",
                    ));
                }
            }
            "file" => {
                if url.host_str().is_some_and(|h| !h.is_empty()) {
                    return Err(fail(
                        "a file index must be local: write sparse+file:///ABSOLUTE/PATH/",
                    ));
                }
                url.to_file_path()
                    .map_err(|()| fail("is not an absolute local path"))?;
            }
            other => {
                return Err(fail(&format!(
                    "scheme `{other}` is not supported; use http, https or file"
                )))
            }
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(fail("must not have a query or fragment"));
        }
        if !url.path().ends_with('/') {
            return Err(fail(&format!("must end with `/` (write `{text}/`)")));
        }
        Ok(Self {
            text: format!("sparse+{url}"),
        })
    }

    /// The normalised text, `sparse+…/`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Where the index lives.
    pub fn location(&self) -> IndexLocation {
        // Both unwraps were checked by `parse`, the only constructor.
        let url = Url::parse(&self.text["sparse+".len()..]).expect("validated index URL");
        if url.scheme() == "file" {
            IndexLocation::File(url.to_file_path().expect("validated file index URL"))
        } else {
            IndexLocation::Http(url)
        }
    }

    /// The sha256 hex of the normalised URL: names this registry's cache and pin files.
    pub fn cache_key(&self) -> String {
        hex::encode(Sha256::digest(self.text.as_bytes()))
    }

    /// Whether `url` has this index's origin (scheme, host and port); file indexes have none.
    pub fn same_origin(&self, url: &Url) -> bool {
        match self.location() {
            IndexLocation::Http(index) => index.origin() == url.origin(),
            IndexLocation::File(_) => false,
        }
    }
}

impl fmt::Display for IndexUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for IndexUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IndexUrl({})", self.text)
    }
}

impl std::str::FromStr for IndexUrl {
    type Err = IndexUrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Which setting named the index in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexUrlSource {
    /// `--index URL`.
    Flag,
    /// `X07_PKG_INDEX_URL`.
    Env,
    /// The project configuration.
    ProjectConfig,
    /// [`DEFAULT_INDEX_URL`].
    Default,
}

impl IndexUrlSource {
    /// How to name the setting in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Flag => "--index",
            Self::Env => INDEX_URL_ENV,
            Self::ProjectConfig => "the project configuration",
            Self::Default => "the default index",
        }
    }
}

/// Picks the index: `flag`, else `env`, else `project`, else the default; empty values are unset.
pub fn select_index_url(
    flag: Option<&str>,
    env: Option<&str>,
    project: Option<&str>,
) -> Result<(IndexUrl, IndexUrlSource), IndexUrlError> {
    let candidates = [
        (flag, IndexUrlSource::Flag),
        (env, IndexUrlSource::Env),
        (project, IndexUrlSource::ProjectConfig),
    ];
    for (value, source) in candidates {
        if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
            return IndexUrl::parse(v)
                .map(|url| (url, source))
                .map_err(|e| IndexUrlError {
                    reason: format!("{} (from {})", e.reason, source.describe()),
                    ..e
                });
        }
    }
    Ok((
        IndexUrl::parse(DEFAULT_INDEX_URL).expect("the default index URL is valid"),
        IndexUrlSource::Default,
    ))
}

/// [`select_index_url`] with `env` read from `X07_PKG_INDEX_URL`.
pub fn select_index_url_from_env(
    flag: Option<&str>,
    project: Option<&str>,
) -> Result<(IndexUrl, IndexUrlSource), IndexUrlError> {
    let env = std::env::var(INDEX_URL_ENV).ok();
    select_index_url(flag, env.as_deref(), project)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_https_and_absolute_file_urls() {
        let u = IndexUrl::parse("sparse+HTTP://Example.COM:8080/index/").unwrap();
        assert_eq!(u.as_str(), "sparse+http://example.com:8080/index/");
        assert!(matches!(u.location(), IndexLocation::Http(_)));
        let f = IndexUrl::parse("sparse+file:///srv/mirror/index/").unwrap();
        assert_eq!(
            f.location(),
            IndexLocation::File(PathBuf::from("/srv/mirror/index/"))
        );
        assert_eq!(f.cache_key().len(), 64);
        assert_ne!(f.cache_key(), u.cache_key());
    }

    #[test]
    fn rejects_what_the_contract_excludes() {
        for bad in [
            "https://registry.x07.io/index/",
            "sparse+https://registry.x07.io/index",
            "sparse+ftp://host/index/",
            "sparse+file://host/srv/index/",
            "sparse+https://user:pw@host/index/",
            "sparse+https://host/index/?x=1",
            "sparse+",
        ] {
            assert!(IndexUrl::parse(bad).is_err(), "{bad}");
        }
        let err = IndexUrl::parse("sparse+https://h/index").unwrap_err();
        assert!(err.to_string().contains("must end with `/`"), "{err}");
    }

    #[test]
    fn origin_is_scheme_host_and_port() {
        let u = IndexUrl::parse("sparse+http://127.0.0.1:8080/index/").unwrap();
        assert!(u.same_origin(&Url::parse("http://127.0.0.1:8080/v1/packages/x").unwrap()));
        assert!(!u.same_origin(&Url::parse("http://127.0.0.1:8081/v1/").unwrap()));
        assert!(!u.same_origin(&Url::parse("https://127.0.0.1:8080/v1/").unwrap()));
        assert!(!u.same_origin(&Url::parse("http://localhost:8080/v1/").unwrap()));
    }

    #[test]
    fn selection_order_is_flag_env_project_default() {
        let a = "sparse+http://a/index/";
        let b = "sparse+http://b/index/";
        let c = "sparse+http://c/index/";
        assert_eq!(
            select_index_url(Some(a), Some(b), Some(c)).unwrap().1,
            IndexUrlSource::Flag
        );
        assert_eq!(
            select_index_url(None, Some(b), Some(c)).unwrap().0.as_str(),
            b
        );
        assert_eq!(
            select_index_url(None, Some(""), Some(c)).unwrap().1,
            IndexUrlSource::ProjectConfig
        );
        let (url, source) = select_index_url(None, None, None).unwrap();
        assert_eq!(
            (url.as_str(), source),
            (DEFAULT_INDEX_URL, IndexUrlSource::Default)
        );
        let err = select_index_url(None, Some("http://x/"), None).unwrap_err();
        assert!(err.to_string().contains("X07_PKG_INDEX_URL"), "{err}");
    }
}
