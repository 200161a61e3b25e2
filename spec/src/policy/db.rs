//! `db`: database drivers and their own limits and allowlists (optional section).

use crate::policy::decode::policy_section;

policy_section! {
    /// `db`: which drivers may be used, with what limits.
    pub struct Db {
        /// Master switch; when true at least one driver must be allowed.
        enabled: bool,
        /// The drivers allowed.
        drivers: DbDrivers,
        /// Open connections at once.
        max_live_conns: u32 = 0,
        /// Queries per run.
        max_queries: u32 = 0,
        /// Connect timeout in milliseconds.
        connect_timeout_ms: u32 = 0,
        /// Query timeout in milliseconds.
        query_timeout_ms: u32 = 0,
        /// Longest SQL text in bytes.
        max_sql_bytes: u32 = 0,
        /// Most rows one query returns.
        max_rows: u32 = 0,
        /// Largest response in bytes.
        max_resp_bytes: u32 = 0,
        /// SQLite files.
        #[serde(skip_serializing_if = "Option::is_none")]
        sqlite: Option<DbSqlite> = None,
        /// Network databases (postgres, mysql, redis).
        #[serde(skip_serializing_if = "Option::is_none")]
        net: Option<DbNet> = None,
    }
}

policy_section! {
    /// `db.drivers`.
    pub struct DbDrivers {
        /// SQLite.
        sqlite: bool,
        /// PostgreSQL.
        postgres: bool,
        /// MySQL.
        mysql: bool,
        /// Redis.
        redis: bool = false,
    }
}

policy_section! {
    /// `db.sqlite`: which database files may be opened.
    pub struct DbSqlite {
        /// Database files (project-relative or absolute).
        allow_paths: Vec<String> = Vec::new(),
        /// Open read-only only.
        readonly_only: bool = false,
        /// Create a database file that does not exist.
        allow_create: bool = false,
        /// Open `:memory:` databases.
        allow_in_memory: bool = false,
    }
}

policy_section! {
    /// `db.net`: where network databases may be.
    pub struct DbNet {
        /// Host names.
        allow_dns: Vec<String> = Vec::new(),
        /// Address ranges `a/n`.
        allow_cidrs: Vec<String> = Vec::new(),
        /// Ports 1..=65535.
        allow_ports: Vec<u16> = Vec::new(),
        /// Require TLS.
        require_tls: bool = true,
        /// Require certificate verification.
        require_verify: bool = true,
    }
}
