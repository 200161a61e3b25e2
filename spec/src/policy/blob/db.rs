//! The `db` part of a policy blob: the database drivers' switches, limits, SQLite files and
//! network destinations (docs/internals/sandbox.md, "PolicyBlob"). Absent in the policy means
//! every driver off; a limit of 0 in the policy means the public drivers' default, so the blob
//! always carries the limit that applies (and 0 there means 0).

use std::net::IpAddr;

use super::paths::{self, PathBase};
use super::wire::{BlobDecodeError, Reader, Writer};
use super::BlobError;
use crate::document::{FieldError, FieldPath};
use crate::policy::db::{Db, DbDrivers, DbNet, DbSqlite};
use crate::policy::net::MAX_HOST_BYTES;

/// The public drivers' limits when the policy gives 0 (or no `db` section): live connections,
/// queries, connect timeout, query timeout, SQL bytes, rows, response bytes.
pub const DB_DEFAULT_LIMITS: [u32; 7] = [8, 1000, 30_000, 60_000, 1 << 20, 10_000, 32 << 20];

/// `db` of a blob for `policy_db`: absent → everything off; 0 limits → the defaults; SQLite paths
/// resolved like the fs roots; host names lowercase; CIDRs checked and written canonically.
pub(super) fn resolve(policy_db: Option<&Db>, base: PathBase<'_>) -> Result<Db, BlobError> {
    let at = FieldPath::root().key("db");
    let mut db = policy_db.cloned().unwrap_or(Db {
        enabled: false,
        drivers: DbDrivers {
            sqlite: false,
            postgres: false,
            mysql: false,
            redis: false,
        },
        max_live_conns: 0,
        max_queries: 0,
        connect_timeout_ms: 0,
        query_timeout_ms: 0,
        max_sql_bytes: 0,
        max_rows: 0,
        max_resp_bytes: 0,
        sqlite: None,
        net: None,
    });
    for (cap, default) in limits_mut(&mut db).into_iter().zip(DB_DEFAULT_LIMITS) {
        if *cap == 0 {
            *cap = default;
        }
    }
    let mut sqlite = db.sqlite.take().unwrap_or(DbSqlite {
        allow_paths: Vec::new(),
        readonly_only: false,
        allow_create: false,
        allow_in_memory: false,
    });
    let sq_at = at.key("sqlite").key("allow_paths");
    sqlite.allow_paths = paths::roots(base, &sq_at, &sqlite.allow_paths)?;
    let mut net = db.net.take().unwrap_or(DbNet {
        allow_dns: Vec::new(),
        allow_cidrs: Vec::new(),
        allow_ports: Vec::new(),
        require_tls: true,
        require_verify: true,
    });
    let net_at = at.key("net");
    for (i, host) in net.allow_dns.iter_mut().enumerate() {
        host.make_ascii_lowercase();
        if !host_ok(host) {
            return Err(BlobError::Invalid(FieldError::new(
                net_at.key("allow_dns").index(i),
                format!("`{host}` is not a host name (1 to 255 bytes, no spaces or `;`)"),
            )));
        }
    }
    for (i, cidr) in net.allow_cidrs.iter_mut().enumerate() {
        *cidr = canonical_cidr(cidr).ok_or_else(|| {
            BlobError::Invalid(FieldError::new(
                net_at.key("allow_cidrs").index(i),
                format!("`{cidr}` is not a range `address/prefix` (`10.0.0.0/8`, `::1/128`)"),
            ))
        })?;
    }
    db.sqlite = Some(sqlite);
    db.net = Some(net);
    Ok(db)
}

fn limits_mut(db: &mut Db) -> [&mut u32; 7] {
    [
        &mut db.max_live_conns,
        &mut db.max_queries,
        &mut db.connect_timeout_ms,
        &mut db.query_timeout_ms,
        &mut db.max_sql_bytes,
        &mut db.max_rows,
        &mut db.max_resp_bytes,
    ]
}

/// Whether the network drivers (postgres, mysql, redis) are on: the kernel layer then opens the
/// `db.net` ports even when `net.enabled` is false.
pub fn db_net_on(db: &Db) -> bool {
    db.enabled && (db.drivers.postgres || db.drivers.mysql || db.drivers.redis)
}

/// A host of `db.net.allow_dns` as the blob carries it.
fn host_ok(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= MAX_HOST_BYTES
        && !host
            .bytes()
            .any(|b| b.is_ascii_uppercase() || b.is_ascii_whitespace() || b == b';')
}

/// `a/n` with the address's host bits cleared, or `None` when it is not a range.
pub fn canonical_cidr(text: &str) -> Option<String> {
    let (addr, prefix) = text.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
        return None;
    }
    let prefix: u32 = prefix.parse().ok()?;
    let net = match addr {
        IpAddr::V4(v4) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
        _ => return None,
    };
    Some(format!("{net}/{prefix}"))
}

/// Writes `db` in layout order.
pub(super) fn write(w: &mut Writer, db: &Db) {
    let d = &db.drivers;
    for flag in [db.enabled, d.sqlite, d.postgres, d.mysql, d.redis] {
        w.bool(flag);
    }
    for cap in [
        db.max_live_conns,
        db.max_queries,
        db.connect_timeout_ms,
        db.query_timeout_ms,
        db.max_sql_bytes,
        db.max_rows,
        db.max_resp_bytes,
    ] {
        w.u32(cap);
    }
    let empty_sqlite = DbSqlite {
        allow_paths: Vec::new(),
        readonly_only: false,
        allow_create: false,
        allow_in_memory: false,
    };
    let s = db.sqlite.as_ref().unwrap_or(&empty_sqlite);
    for flag in [s.readonly_only, s.allow_create, s.allow_in_memory] {
        w.bool(flag);
    }
    w.strs(&s.allow_paths);
    let empty_net = DbNet {
        allow_dns: Vec::new(),
        allow_cidrs: Vec::new(),
        allow_ports: Vec::new(),
        require_tls: true,
        require_verify: true,
    };
    let n = db.net.as_ref().unwrap_or(&empty_net);
    w.strs(&n.allow_dns);
    w.strs(&n.allow_cidrs);
    w.len(n.allow_ports.len());
    for port in &n.allow_ports {
        w.u32(u32::from(*port));
    }
    w.bool(n.require_tls);
    w.bool(n.require_verify);
}

/// Reads `db` with the same strictness as the runtime.
pub(super) fn read(
    r: &mut Reader<'_>,
    paths_ok: fn(&mut Reader<'_>, &str) -> Result<Vec<String>, BlobDecodeError>,
) -> Result<Db, BlobDecodeError> {
    let enabled = r.bool("db.enabled")?;
    let drivers = DbDrivers {
        sqlite: r.bool("db.drivers.sqlite")?,
        postgres: r.bool("db.drivers.postgres")?,
        mysql: r.bool("db.drivers.mysql")?,
        redis: r.bool("db.drivers.redis")?,
    };
    let mut caps = [0u32; 7];
    for cap in &mut caps {
        *cap = r.u32("db.limits")?;
    }
    let readonly_only = r.bool("db.sqlite.readonly_only")?;
    let allow_create = r.bool("db.sqlite.allow_create")?;
    let allow_in_memory = r.bool("db.sqlite.allow_in_memory")?;
    let allow_paths = paths_ok(r, "db.sqlite.allow_paths")?;
    let start = r.pos();
    let allow_dns = r.strs("db.net.allow_dns")?;
    if let Some(i) = allow_dns.iter().position(|h| !host_ok(h)) {
        return Err(BlobDecodeError {
            field: format!("db.net.allow_dns[{i}]"),
            offset: start,
            problem: "a host must be 1 to 255 bytes, lowercase, without spaces or `;`".into(),
        });
    }
    let start = r.pos();
    let allow_cidrs = r.strs("db.net.allow_cidrs")?;
    if let Some(i) = allow_cidrs
        .iter()
        .position(|c| canonical_cidr(c).as_deref() != Some(c.as_str()))
    {
        return Err(BlobDecodeError {
            field: format!("db.net.allow_cidrs[{i}]"),
            offset: start,
            problem: "not a canonical range `address/prefix`".into(),
        });
    }
    let count = r.count("db.net.allow_ports", 4)?;
    let mut allow_ports = Vec::with_capacity(count);
    for j in 0..count {
        let at = format!("db.net.allow_ports[{j}]");
        let port = r.u32(&at)?;
        match u16::try_from(port) {
            Ok(p) if p != 0 => allow_ports.push(p),
            _ => return Err(r.error(&at, format!("{port} is not a port (1..65535)"))),
        }
    }
    let require_tls = r.bool("db.net.require_tls")?;
    let require_verify = r.bool("db.net.require_verify")?;
    let [max_live_conns, max_queries, connect_timeout_ms, query_timeout_ms, max_sql_bytes, max_rows, max_resp_bytes] =
        caps;
    Ok(Db {
        enabled,
        drivers,
        max_live_conns,
        max_queries,
        connect_timeout_ms,
        query_timeout_ms,
        max_sql_bytes,
        max_rows,
        max_resp_bytes,
        sqlite: Some(DbSqlite {
            allow_paths,
            readonly_only,
            allow_create,
            allow_in_memory,
        }),
        net: Some(DbNet {
            allow_dns,
            allow_cidrs,
            allow_ports,
            require_tls,
            require_verify,
        }),
    })
}
