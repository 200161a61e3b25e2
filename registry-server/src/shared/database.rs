//! Connecting to PostgreSQL: the URL (its password, if any, never logged), the connection pool,
//! and migrations at start.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::schema::{MIGRATIONS, MIGRATION_LOCK};
use super::SharedError;

/// Most pooled connections per server process.
const POOL_SIZE: usize = 16;

/// A PostgreSQL connection URL (`postgres://USER@HOST:PORT/DB`); the password comes from
/// `PGPASSWORD` or the URL and is never shown.
#[derive(Clone)]
pub struct DatabaseUrl {
    config: tokio_postgres::Config,
    shown: String,
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl DatabaseUrl {
    /// Parses a `postgres://` (or `postgresql://`) URL; `PGPASSWORD` supplies a missing password.
    pub fn parse(text: &str) -> Result<Self, SharedError> {
        let shown = redact_password(text);
        let bad = |why: String| SharedError::DatabaseUrl {
            url: shown.clone(),
            why,
        };
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Err(bad(
                "write postgres://USER@HOST:PORT/DATABASE (the password in PGPASSWORD)".into(),
            ));
        }
        let mut config: tokio_postgres::Config = text.parse().map_err(|e| bad(format!("{e}")))?;
        if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
            return Err(bad(
                "sslmode=require is not supported yet: connect over a trusted network, a unix socket, or a TLS-terminating proxy".into(),
            ));
        }
        if config.get_password().is_none() {
            if let Ok(pw) = std::env::var("PGPASSWORD") {
                config.password(pw);
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("x07-registry");
        Ok(Self { config, shown })
    }

    /// Whether the URL text itself carries a password (refused on command lines).
    pub fn text_has_password(text: &str) -> bool {
        redact_password(text) != text
    }

    /// A pool of connections.
    pub(crate) fn pool(&self) -> Result<Pool, SharedError> {
        let manager = Manager::from_config(
            self.config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| SharedError::Database {
                url: self.shown.clone(),
                what: "creating the connection pool",
                why: e.to_string(),
            })
    }

    /// One connection outside the pool (LISTEN, migrations); its driver task runs on the runtime.
    pub(crate) async fn connect(
        &self,
    ) -> Result<
        (
            tokio_postgres::Client,
            tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
        ),
        SharedError,
    > {
        self.config
            .connect(NoTls)
            .await
            .map_err(|e| self.error("connecting", e))
    }

    /// A database error naming this database and what was being done.
    pub(crate) fn error(&self, what: &'static str, e: impl std::fmt::Display) -> SharedError {
        SharedError::Database {
            url: self.shown.clone(),
            what,
            why: describe_pg_error(&e.to_string()),
        }
    }

    /// A database error with the driver's whole cause chain ("db error" alone says nothing).
    pub(crate) fn error_chain(
        &self,
        what: &'static str,
        e: &(dyn std::error::Error + 'static),
    ) -> SharedError {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            let next = s.to_string();
            if !text.contains(&next) {
                text.push_str(": ");
                text.push_str(&next);
            }
            source = s.source();
        }
        self.error(what, text)
    }
}

/// A tokio-postgres error with a hint for the usual first-start mistakes.
fn describe_pg_error(text: &str) -> String {
    let hint = if text.contains("too many clients") || text.contains("remaining connection slots") {
        "; raise the server's max_connections or run fewer registry processes (each keeps up to 16 connections)"
    } else if text.contains("password authentication failed") || text.contains("password missing") {
        "; set PGPASSWORD (or check the user in the URL)"
    } else if text.contains("Connection refused") || text.contains("error connecting") {
        "; is PostgreSQL running and listening on that host and port?"
    } else if text.contains("does not exist") && text.contains("database") {
        "; create the database first (createdb NAME)"
    } else {
        ""
    };
    format!("{text}{hint}")
}

/// The URL with the password replaced by `***`.
fn redact_password(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***@{}", &text[..scheme_end + 3], &rest[at + 1..]),
            None => text.to_string(),
        },
        None => text.to_string(),
    }
}

/// Applies the migrations this database lacks, under the migration lock; refuses a database
/// whose schema is newer than this x07.
pub(crate) async fn migrate(
    client: &mut tokio_postgres::Client,
    url: &DatabaseUrl,
) -> Result<Vec<i32>, SharedError> {
    let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| url.error("taking the migration lock", e))?;
    let result = async {
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS x07_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
            )
            .await
            .map_err(|e| url.error("creating x07_migrations", e))?;
        let row = client
            .query_one("SELECT coalesce(max(version), 0) FROM x07_migrations", &[])
            .await
            .map_err(|e| url.error("reading x07_migrations", e))?;
        let current: i32 = row.get(0);
        if current > known {
            return Err(SharedError::SchemaTooNew {
                url: url.to_string(),
                found: current,
                known,
            });
        }
        let mut applied = Vec::new();
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            let tx = client
                .transaction()
                .await
                .map_err(|e| url.error("starting a migration", e))?;
            tx.batch_execute(sql)
                .await
                .map_err(|e| url.error("applying a migration", e))?;
            tx.execute("INSERT INTO x07_migrations (version) VALUES ($1)", &[version])
                .await
                .map_err(|e| url.error("recording a migration", e))?;
            tx.commit()
                .await
                .map_err(|e| url.error("committing a migration", e))?;
            applied.push(*version);
        }
        Ok(applied)
    }
    .await;
    let unlock = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    let applied = result?;
    unlock.map_err(|e| url.error("releasing the migration lock", e))?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redact_password("postgres://reg:s3cret@db:5432/x07"),
            "postgres://reg:***@db:5432/x07"
        );
        assert_eq!(
            redact_password("postgres://reg@db/x07"),
            "postgres://reg@db/x07"
        );
        let e = DatabaseUrl::parse("mysql://a:b@h/x")
            .unwrap_err()
            .to_string();
        assert!(!e.contains(":b@"), "{e}");
        assert!(DatabaseUrl::text_has_password("postgres://a:b@h/x"));
        assert!(!DatabaseUrl::text_has_password("postgres://a@h/x"));
    }
}
