//! The registry's tables, as numbered migrations. A migration is never edited once released:
//! changes are new migrations. They run at start under a PostgreSQL advisory lock, so any number
//! of servers starting at once apply each exactly once.

/// `(version, SQL)`, in order.
pub(crate) const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    r#"
CREATE TABLE x07_settings (
    key text PRIMARY KEY,
    value bytea NOT NULL
);
CREATE TABLE x07_packages (
    name text PRIMARY KEY,
    canonical text NOT NULL UNIQUE,
    -- index lines this registry cannot read, kept verbatim after the entries (from a migration)
    unreadable text[] NOT NULL DEFAULT '{}',
    -- the rendered, signed index file, and its generation (bumped on every change)
    index_body bytea NOT NULL,
    index_generation bigint NOT NULL,
    -- the generation last written to the object store
    bucket_generation bigint NOT NULL DEFAULT 0
);
CREATE TABLE x07_owners (
    package text NOT NULL REFERENCES x07_packages (name),
    owner text NOT NULL,
    PRIMARY KEY (package, owner)
);
CREATE TABLE x07_versions (
    package text NOT NULL REFERENCES x07_packages (name),
    -- the version without build metadata: what identifies it
    version_key text NOT NULL,
    version text NOT NULL,
    cksum text NOT NULL,
    yanked boolean NOT NULL,
    -- the signed index line, byte for byte as served
    line text NOT NULL,
    published_by text,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (package, version_key)
);
CREATE TABLE x07_modules (
    module text NOT NULL,
    package text NOT NULL REFERENCES x07_packages (name),
    PRIMARY KEY (module, package)
);
CREATE TABLE x07_tokens (
    hash text PRIMARY KEY,
    owner text NOT NULL,
    scopes text[] NOT NULL,
    created bigint NOT NULL
);
"#,
)];

/// The advisory lock key migrations and first-start initialisation run under ("x07 mig").
pub(crate) const MIGRATION_LOCK: i64 = 0x7830_3720_6d69_6700;
/// The advisory lock key every publish commits under ("x07 pub"): names and module ids are
/// checked against all packages, so commits are serialised across all servers.
pub(crate) const PUBLISH_LOCK: i64 = 0x7830_3720_7075_6200;
/// The channel a committed change of a package's index is announced on (payload: the name).
pub(crate) const INDEX_CHANNEL: &str = "x07_index";
