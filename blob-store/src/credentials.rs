//! S3 credentials: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), else the
//! shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`) under the
//! profile `AWS_PROFILE` (default `default`). Never from a URL or a command-line flag.

use std::path::PathBuf;

use rusty_s3::Credentials;

use crate::BlobError;

/// Where the credentials in use came from (logged; the secret never is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// The environment variables.
    Environment,
    /// A profile of a credentials file.
    File {
        /// The file.
        path: PathBuf,
        /// The profile.
        profile: String,
    },
}

/// Finds credentials as the AWS tools do (environment first, then the shared file).
pub fn load_credentials() -> Result<(Credentials, CredentialSource), BlobError> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        let creds = match var("AWS_SESSION_TOKEN") {
            Some(token) => Credentials::new_with_token(key, secret, token),
            None => Credentials::new(key, secret),
        };
        return Ok((creds, CredentialSource::Environment));
    }
    let path = var("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".aws/credentials")));
    let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
    let none = || {
        BlobError::NoCredentials(
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write them to the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials)".into(),
        )
    };
    let Some(path) = path else {
        return Err(none());
    };
    let text = match fs_err::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(none()),
        Err(e) => return Err(BlobError::Io(e)),
    };
    let section = ini_section(&text, &profile);
    let get = |k: &str| {
        section
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        (Some(key), Some(secret)) => {
            let creds = match get("aws_session_token") {
                Some(token) => Credentials::new_with_token(key, secret, token),
                None => Credentials::new(key, secret),
            };
            Ok((creds, CredentialSource::File { path, profile }))
        }
        _ => Err(BlobError::NoCredentials(format!(
            "{}: profile [{profile}] has no aws_access_key_id and aws_secret_access_key (AWS_PROFILE picks another profile)",
            path.display()
        ))),
    }
}

/// The `key = value` lines of `[profile]` in an INI file.
fn ini_section(text: &str, profile: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim();
            inside = name == profile || name == format!("profile {profile}");
            continue;
        }
        if inside {
            if let Some((k, v)) = line.split_once('=') {
                out.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_profiles_are_read_by_name() {
        let text = "[default]\naws_access_key_id = A\n# c\n[other]\naws_access_key_id=B\naws_secret_access_key = S\n";
        assert_eq!(
            ini_section(text, "other"),
            vec![
                ("aws_access_key_id".to_string(), "B".to_string()),
                ("aws_secret_access_key".to_string(), "S".to_string())
            ]
        );
        assert_eq!(ini_section(text, "default").len(), 1);
    }
}
