//! Store URLs: `s3://BUCKET[/PREFIX]?endpoint=URL&region=NAME`, `file:///DIR`, `https://HOST/PATH`.

use std::fmt;
use std::path::PathBuf;

use url::Url;

use crate::BlobError;

/// Where an S3 store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket name.
    pub bucket: String,
    /// A key prefix inside the bucket (no leading or trailing `/`; empty for none).
    pub prefix: String,
    /// `endpoint=`: an S3-compatible server (path-style addressing); `None` for AWS itself.
    pub endpoint: Option<Url>,
    /// `region=`, else `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: String,
}

/// A parsed store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// An S3 bucket.
    S3(S3Location),
    /// A local directory.
    File(PathBuf),
    /// A static HTTP(S) server, the URL ending in `/`.
    Http(Url),
}

impl StoreUrl {
    /// Parses a store URL; credentials may not be part of it.
    pub fn parse(text: &str) -> Result<Self, BlobError> {
        let bad = |why: &str| BlobError::BadUrl {
            url: redact(text),
            why: why.to_string(),
        };
        let url = Url::parse(text).map_err(|e| {
            bad(&format!(
                "{e}; write s3://BUCKET?endpoint=…&region=…, file:///DIR or https://HOST/PATH"
            ))
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("credentials may not be part of a store URL (they would end up in logs and shell history); set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or use a credentials file"));
        }
        match url.scheme() {
            "s3" => parse_s3(&url).map_err(|why| bad(&why)),
            "file" => {
                if url.query().is_some() {
                    return Err(bad("a file:// store takes no options"));
                }
                let path = url.to_file_path().map_err(|()| {
                    bad("a file:// URL needs an absolute local path (file:///DIR)")
                })?;
                Ok(Self::File(path))
            }
            "http" | "https" => {
                let mut url = url;
                if !url.path().ends_with('/') {
                    let path = format!("{}/", url.path());
                    url.set_path(&path);
                }
                Ok(Self::Http(url))
            }
            other => Err(bad(&format!(
                "unknown scheme `{other}`; use s3://, file:// or https://"
            ))),
        }
    }
}

fn parse_s3(url: &Url) -> Result<StoreUrl, String> {
    let bucket = url
        .host_str()
        .filter(|b| !b.is_empty())
        .ok_or("no bucket: write s3://BUCKET")?
        .to_string();
    let valid_bucket = bucket.len() >= 3
        && bucket.len() <= 63
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !valid_bucket {
        return Err(format!(
            "bucket `{bucket}` is not a valid S3 bucket name (3-63 of a-z, 0-9, `-`, `.`)"
        ));
    }
    if url.port().is_some() {
        return Err("a port belongs in endpoint=, not after the bucket".into());
    }
    let prefix = url.path().trim_matches('/').to_string();
    let mut endpoint = None;
    let mut region = None;
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "endpoint" => {
                let e = Url::parse(&value).map_err(|e| format!("endpoint=`{value}`: {e}"))?;
                if !matches!(e.scheme(), "http" | "https") || e.host_str().is_none() {
                    return Err(format!(
                        "endpoint=`{value}` must be an http:// or https:// URL with a host"
                    ));
                }
                if !e.username().is_empty() || e.password().is_some() {
                    return Err("credentials may not be part of endpoint=".into());
                }
                endpoint = Some(e);
            }
            "region" => region = Some(value.to_string()),
            other => {
                return Err(format!(
                    "unknown option `{other}`; an s3:// URL takes endpoint= and region="
                ))
            }
        }
    }
    let region = region
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".to_string());
    Ok(StoreUrl::S3(S3Location {
        bucket,
        prefix,
        endpoint,
        region,
    }))
}

/// The URL without anything after `@` in its authority, for messages.
fn redact(text: &str) -> String {
    match (text.find("://"), text.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &text[..s], &text[at + 1..]),
        _ => text.to_string(),
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::S3(l) => {
                write!(f, "s3://{}", l.bucket)?;
                if !l.prefix.is_empty() {
                    write!(f, "/{}", l.prefix)?;
                }
                Ok(())
            }
            Self::File(p) => write!(f, "file://{}", p.display()),
            Self::Http(u) => write!(f, "{u}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_carry_bucket_prefix_endpoint_and_region() {
        let u = StoreUrl::parse("s3://x07-cache/a/b/?endpoint=http://127.0.0.1:9000&region=eu-1")
            .unwrap();
        let StoreUrl::S3(l) = u else { panic!() };
        assert_eq!(l.bucket, "x07-cache");
        assert_eq!(l.prefix, "a/b");
        assert_eq!(l.endpoint.unwrap().as_str(), "http://127.0.0.1:9000/");
        assert_eq!(l.region, "eu-1");
    }

    #[test]
    fn credentials_and_unknown_options_are_refused_by_name() {
        let e = StoreUrl::parse("s3://key:secret@bucket")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("credentials may not") && !e.contains("secret"),
            "{e}"
        );
        let e = StoreUrl::parse("s3://bucket?acl=public")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown option `acl`"), "{e}");
        let e = StoreUrl::parse("s3://B?endpoint=x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a valid S3 bucket name"), "{e}");
        let e = StoreUrl::parse("ftp://h/x").unwrap_err().to_string();
        assert!(e.contains("unknown scheme `ftp`"), "{e}");
    }

    #[test]
    fn file_and_http_urls() {
        assert_eq!(
            StoreUrl::parse("file:///srv/cache").unwrap(),
            StoreUrl::File(PathBuf::from("/srv/cache"))
        );
        let StoreUrl::Http(u) = StoreUrl::parse("https://cache.example/x07").unwrap() else {
            panic!()
        };
        assert_eq!(u.as_str(), "https://cache.example/x07/");
    }
}
