//! `x07 registry serve --database … --storage …`: several server processes on one real
//! PostgreSQL cluster (initdb on 127.0.0.1) and one real S3 server (s3s-fs on 127.0.0.1), with no
//! shared file between them. Publishes through either, concurrent publishes of one version,
//! servers killed mid-publish, a migration from a directory registry, and an unreachable bucket —
//! each checked by what clients of every server see and what the bucket and the database hold.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use x07_blob_store::{S3Store, StoreUrl};
use x07_tests::postgres::{Postgres, PASSWORD};
use x07_tests::registry::{write_package, LocalRegistry, PackageSpec};
use x07_tests::s3::{S3Server, ACCESS_KEY, SECRET_KEY};
use x07_tests::x07_bin;

const BUCKET: &str = "x07-registry";

/// One database and one bucket, and the servers started on them.
struct Backing {
    pg: Postgres,
    s3: S3Server,
    db: String,
}

impl Backing {
    fn start() -> Self {
        let pg = Postgres::start();
        pg.create_database("registry");
        let s3 = S3Server::start();
        s3.create_bucket(BUCKET);
        Self {
            pg,
            s3,
            db: "registry".into(),
        }
    }

    fn database(&self) -> String {
        self.pg.url(&self.db)
    }

    fn storage(&self) -> String {
        self.s3.url(BUCKET)
    }

    /// An `x07` command with the database password and the S3 credentials in its environment.
    fn x07(&self) -> Command {
        let mut cmd = Command::new(x07_bin());
        cmd.env("PGPASSWORD", PASSWORD)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE");
        cmd
    }

    fn serve(&self) -> Server {
        self.try_serve(&[])
            .unwrap_or_else(|e| panic!("x07 registry serve did not start:\n{e}"))
    }

    fn try_serve(&self, extra: &[&str]) -> Result<Server, String> {
        let mut cmd = self.x07();
        cmd.args(["registry", "serve", "--addr", "127.0.0.1:0", "--database"])
            .arg(self.database())
            .arg("--storage")
            .arg(self.storage())
            .args(extra);
        Server::spawn(cmd)
    }

    /// The bucket, read over the S3 API.
    fn bucket(&self) -> S3Store {
        let StoreUrl::S3(loc) = StoreUrl::parse(&self.storage()).expect("storage URL") else {
            panic!("not an s3 URL")
        };
        S3Store::with_keys(&loc, ACCESS_KEY, SECRET_KEY).expect("S3 client")
    }

    /// A token for `owner` created with `x07 registry token create --database`.
    fn token(&self, owner: &str) -> String {
        let out = self
            .x07()
            .args(["registry", "token", "create", "--database"])
            .arg(self.database())
            .args([
                "--owner",
                owner,
                "--scope",
                "publish",
                "--scope",
                "owner.manage",
            ])
            .output()
            .expect("run x07");
        assert!(out.status.success(), "token create: {}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
    }
}

/// A running `x07 registry serve`; killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn spawn(mut cmd: Command) -> Result<Server, String> {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn x07 registry serve");
        let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let Some(addr) = first.strip_prefix("listening on http://") else {
            let rest: Vec<String> = lines.map_while(Result::ok).collect();
            let status = child.wait().expect("wait");
            return Err(format!("{status}: {first}\n{}", rest.join("\n")));
        };
        let port = addr
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .expect("port");
        // the server logs to stderr: drain it so it never blocks on a full pipe
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Ok(Server { child, port })
    }

    fn index(&self) -> String {
        format!("sparse+http://127.0.0.1:{}/index/", self.port)
    }

    fn get(&self, path: &str) -> (u16, Vec<u8>) {
        http_get(self.port, path)
    }

    /// SIGKILL: no shutdown, no clean-up.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A plain HTTP/1.1 GET on 127.0.0.1; returns the status and body.
fn http_get(port: u16, path: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = text(&raw[..split]);
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(text(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

/// A home directory logged in to each server's index with `token`.
fn home_for(servers: &[&Server], token: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("home");
    for s in servers {
        let out = Command::new(x07_bin())
            .args(["pkg", "login", "--index", &s.index(), "--token", token])
            .env("X07_HOME", home.path())
            .output()
            .expect("run x07");
        assert!(out.status.success(), "login: {}", text(&out.stderr));
    }
    home
}

fn publish(server: &Server, home: &Path, package: &Path) -> Output {
    Command::new(x07_bin())
        .args(["pkg", "publish", "--index", &server.index(), "--package"])
        .arg(package)
        .env("X07_HOME", home)
        .output()
        .expect("run x07")
}

fn package(dir: &Path, name: &str, version: &str, word: &str) -> std::path::PathBuf {
    let module = format!("{}.words", name.replace('-', "_"));
    let dir = dir.join(word);
    write_package(
        &dir,
        &PackageSpec {
            name,
            version,
            requires: &[],
            module: &module,
            text_body: json!(["bytes.lit", word]),
            imports: &[],
        },
    )
}

fn shard(name: &str) -> String {
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

fn index_lines(body: &[u8]) -> Vec<Value> {
    text(body)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("an index line"))
        .collect()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Polls until `f` holds (changes reach other processes through LISTEN/NOTIFY).
#[track_caller]
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what}: not seen within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_servers_on_one_database_and_bucket_serve_one_signed_index() {
    let backing = Backing::start();
    let a = backing.serve();
    let b = backing.serve();
    let token = backing.token("alice");
    let home = home_for(&[&a, &b], &token);
    let work = tempfile::tempdir().unwrap();

    let out = publish(
        &a,
        home.path(),
        &package(work.path(), "alpha", "1.0.0", "one"),
    );
    assert!(out.status.success(), "publish via a: {}", text(&out.stderr));
    let out = publish(
        &b,
        home.path(),
        &package(work.path(), "beta", "1.0.0", "two"),
    );
    assert!(out.status.success(), "publish via b: {}", text(&out.stderr));
    let out = publish(
        &b,
        home.path(),
        &package(work.path(), "alpha", "1.1.0", "three"),
    );
    assert!(out.status.success(), "publish via b: {}", text(&out.stderr));

    // One signing key, chosen by whichever server started first.
    let key = |s: &Server| -> Value {
        let (status, body) = s.get("/index/config.json");
        assert_eq!(status, 200);
        serde_json::from_slice::<Value>(&body).unwrap()["signing"].clone()
    };
    assert_eq!(key(&a), key(&b), "both servers offer the same key");

    let bucket = backing.bucket();
    for name in ["alpha", "beta"] {
        let path = format!("/index/{}", shard(name));
        eventually(&format!("{name} on both servers"), || {
            a.get(&path) == b.get(&path) && a.get(&path).0 == 200
        });
        let (_, body) = a.get(&path);
        // The bucket holds the same file, byte for byte (a CDN can serve it).
        eventually(&format!("{name} in the bucket"), || {
            bucket
                .get(&format!("index/{}", shard(name)))
                .unwrap()
                .as_deref()
                == Some(&body[..])
        });
        // Every archive the index names is in the bucket, with the index's checksum.
        for line in index_lines(&body) {
            let version = line["version"].as_str().unwrap();
            let archive = bucket
                .get(&format!("dl/{name}/{version}/download"))
                .unwrap()
                .expect("the archive is in the bucket");
            assert_eq!(
                format!("sha256:{}", sha256_hex(&archive)),
                line["cksum"].as_str().unwrap()
            );
            // ... and either server hands it out.
            let (status, got) = b.get(&format!("/v1/packages/{name}/{version}/download"));
            assert_eq!((status, got.len()), (200, archive.len()));
            assert_eq!(got, archive);
        }
    }
    assert_eq!(
        index_lines(&a.get(&format!("/index/{}", shard("alpha"))).1).len(),
        2
    );

    // A consumer of server b resolves and fetches a package published through a.
    let project = tempfile::tempdir().unwrap();
    let out = Command::new(x07_bin())
        .args(["init"])
        .current_dir(project.path())
        .env("X07_HOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "init: {}", text(&out.stderr));
    let out = Command::new(x07_bin())
        .args(["pkg", "add", "alpha@1.0.0", "--sync", "--index", &b.index()])
        .current_dir(project.path())
        .env("X07_HOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "pkg add via b: {}", text(&out.stderr));

    // A yank through b is seen by a's clients.
    let out = Command::new(x07_bin())
        .args(["pkg", "yank", "alpha@1.0.0", "--index", &b.index()])
        .env("X07_HOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "yank via b: {}", text(&out.stderr));
    eventually("the yank on server a", || {
        let lines = index_lines(&a.get(&format!("/index/{}", shard("alpha"))).1);
        lines
            .iter()
            .any(|l| l["version"] == "1.0.0" && l["yanked"] == true)
    });
    assert_eq!(
        a.get(&format!("/index/{}", shard("alpha"))),
        b.get(&format!("/index/{}", shard("alpha")))
    );
}

#[test]
fn twenty_concurrent_publishes_of_one_version_have_one_winner() {
    let backing = Backing::start();
    let a = backing.serve();
    let b = backing.serve();
    let token = backing.token("alice");
    let home = home_for(&[&a, &b], &token);
    let work = tempfile::tempdir().unwrap();
    let packages: Vec<_> = (0..20)
        .map(|i| package(work.path(), "gamma", "1.0.0", &format!("take{i}")))
        .collect();
    let results: Vec<(usize, Output)> = std::thread::scope(|scope| {
        let handles: Vec<_> = packages
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let server = if i % 2 == 0 { &a } else { &b };
                let home = home.path();
                scope.spawn(move || (i, publish(server, home, p)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<usize> = results
        .iter()
        .filter(|(_, o)| o.status.success())
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one publish wins: {winners:?}");
    for (i, out) in &results {
        if !out.status.success() {
            let err = text(&out.stderr);
            assert!(
                err.contains("already published"),
                "publish {i} failed for another reason: {err}"
            );
        }
    }
    let path = format!("/index/{}", shard("gamma"));
    eventually("the same index on both", || a.get(&path) == b.get(&path));
    let lines = index_lines(&a.get(&path).1);
    assert_eq!(lines.len(), 1, "one line: {lines:?}");
    // The archive in the bucket is the winner's (its checksum is the line's).
    let archive = backing
        .bucket()
        .get("dl/gamma/1.0.0/download")
        .unwrap()
        .expect("archive");
    assert_eq!(
        format!("sha256:{}", sha256_hex(&archive)),
        lines[0]["cksum"].as_str().unwrap()
    );
    let count = backing.pg.psql(
        &backing.db,
        "SELECT count(*) FROM x07_versions WHERE package = 'gamma'",
    );
    assert_eq!(count, "1");
}

#[test]
fn killing_a_server_mid_publish_leaves_nothing_half_visible() {
    let backing = Backing::start();
    let survivor = backing.serve();
    let token = backing.token("alice");
    let work = tempfile::tempdir().unwrap();
    let mut published_or_not = Vec::new();
    // Kill the publishing server at a range of moments: during upload, checks, the archive
    // write, the commit, or the bucket's index write.
    for (round, delay_ms) in [5u64, 40, 120, 250, 400, 700].into_iter().enumerate() {
        let mut victim = backing.serve();
        let home = home_for(&[&victim], &token);
        let name = format!("kill{round}");
        let pkg = package(work.path(), &name, "1.0.0", &format!("round{round}"));
        let index = victim.index();
        let home_path = home.path().to_path_buf();
        let publisher = std::thread::spawn(move || {
            Command::new(x07_bin())
                .args(["pkg", "publish", "--index", &index, "--package"])
                .arg(&pkg)
                .env("X07_HOME", &home_path)
                .output()
                .expect("run x07")
        });
        std::thread::sleep(Duration::from_millis(delay_ms));
        victim.kill();
        let _ = publisher.join();
        published_or_not.push(name);
    }
    // What the surviving server shows is whole: every listed version has its archive in the
    // bucket with the listed checksum, and once the repair pass ran (a new server repairs at
    // start), the bucket's index file equals the served one; unlisted packages have neither.
    let fresh = backing.serve();
    let bucket = backing.bucket();
    for name in &published_or_not {
        let path = format!("/index/{}", shard(name));
        let (status, body) = fresh.get(&path);
        assert_eq!(
            survivor.get(&path),
            (status, body.clone()),
            "{name}: both servers agree"
        );
        let in_bucket = bucket.get(&format!("index/{}", shard(name))).unwrap();
        eprintln!(
            "{name}: {}",
            if status == 404 {
                "not published"
            } else {
                "published"
            }
        );
        if status == 404 {
            assert!(
                in_bucket.is_none(),
                "{name}: an index file without a committed version"
            );
            continue;
        }
        assert_eq!(status, 200, "{name}: {}", text(&body));
        assert_eq!(
            in_bucket.as_deref(),
            Some(&body[..]),
            "{name}: bucket index repaired"
        );
        for line in index_lines(&body) {
            let archive = bucket
                .get(&format!("dl/{name}/1.0.0/download"))
                .unwrap()
                .unwrap_or_else(|| panic!("{name}: listed but no archive"));
            assert_eq!(
                format!("sha256:{}", sha256_hex(&archive)),
                line["cksum"].as_str().unwrap()
            );
        }
    }
    drop(fresh);
    // The window between a commit and the bucket's index write, made on purpose: the bucket's
    // copy is lost and recorded as behind, as when a server dies right after its commit. The
    // next server to start writes it again.
    // (a package published in full, so the check does not depend on how the kills fell)
    let name = "whole".to_string();
    let home = home_for(&[&survivor], &token);
    let out = publish(
        &survivor,
        home.path(),
        &package(work.path(), &name, "1.0.0", "whole"),
    );
    assert!(out.status.success(), "publish: {}", text(&out.stderr));
    bucket.delete(&format!("index/{}", shard(&name))).unwrap();
    backing.pg.psql(
        &backing.db,
        &format!("UPDATE x07_packages SET bucket_generation = 0 WHERE name = '{name}'"),
    );
    let repairer = backing.serve();
    let served = repairer.get(&format!("/index/{}", shard(&name))).1;
    assert_eq!(
        bucket
            .get(&format!("index/{}", shard(&name)))
            .unwrap()
            .as_deref(),
        Some(&served[..]),
        "repaired at start"
    );
}

#[test]
fn a_directory_registry_migrates_with_every_line_byte_for_byte() {
    let dir_registry = LocalRegistry::start(&[]);
    let home = tempfile::tempdir().unwrap();
    dir_registry.login(home.path(), "alice");
    let work = tempfile::tempdir().unwrap();
    for (name, version, word) in [
        ("delta", "1.0.0", "d1"),
        ("delta", "1.2.0", "d2"),
        ("epsilon", "0.1.0", "e1"),
    ] {
        dir_registry.publish_ok(home.path(), &package(work.path(), name, version, word));
    }
    let out = Command::new(x07_bin())
        .args(["pkg", "yank", "delta@1.0.0", "--index", &dir_registry.index])
        .env("X07_HOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "yank: {}", text(&out.stderr));
    let before: Vec<(u16, Vec<u8>)> = [
        "/index/config.json",
        "/index/de/lt/delta",
        "/index/ep/si/epsilon",
    ]
    .iter()
    .map(|p| http_get(dir_registry.port, p))
    .collect();
    let archive_before = http_get(dir_registry.port, "/v1/packages/delta/1.2.0/download");
    let root = dir_registry.root().to_path_buf();
    let keep = tempfile::tempdir().unwrap();
    let copy = keep.path().join("registry");
    x07_tests::copy_tree(&root, &copy).expect("copy the registry");
    drop(dir_registry);

    let backing = Backing::start();
    let out = backing
        .x07()
        .args(["registry", "migrate", "--from"])
        .arg(&copy)
        .arg("--to-database")
        .arg(backing.database())
        .args(["--to-storage", &backing.storage()])
        .output()
        .unwrap();
    assert!(out.status.success(), "migrate: {}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(
        (report["packages"].as_u64(), report["versions"].as_u64()),
        (Some(2), Some(3))
    );

    let server = backing.serve();
    assert_eq!(server.get("/index/de/lt/delta"), before[1]);
    assert_eq!(server.get("/index/ep/si/epsilon"), before[2]);
    let key = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap()["signing"].clone();
    assert_eq!(
        key(&server.get("/index/config.json").1),
        key(&before[0].1),
        "the same signing key"
    );
    assert_eq!(
        server.get("/v1/packages/delta/1.2.0/download"),
        archive_before
    );
    // The bucket holds the same index files.
    assert_eq!(
        backing
            .bucket()
            .get("index/de/lt/delta")
            .unwrap()
            .as_deref(),
        Some(&before[1].1[..])
    );
    // The directory's token still works: publish the next version with it.
    let login_home = tempfile::tempdir().unwrap();
    let tokens = fs_err::read_to_string(copy.join("tokens.json")).unwrap();
    assert!(!tokens.contains("x07t_"), "only hashes were stored");
    let old_credentials = fs_err::read_to_string(home.path().join("credentials.json")).ok();
    let token = old_credentials
        .as_deref()
        .and_then(|c| c.split("x07t_").nth(1))
        .map(|rest| format!("x07t_{}", &rest[..64]))
        .expect("the token x07 pkg login stored");
    let home2 = home_for(&[&server], &token);
    let out = publish(
        &server,
        home2.path(),
        &package(work.path(), "delta", "1.3.0", "d3"),
    );
    assert!(
        out.status.success(),
        "publish with the migrated token: {}",
        text(&out.stderr)
    );
    drop(login_home);
    // A second migration into the same database is refused and changes nothing.
    let out = backing
        .x07()
        .args(["registry", "migrate", "--from"])
        .arg(&copy)
        .arg("--to-database")
        .arg(backing.database())
        .args(["--to-storage", &backing.storage()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already holds 2 packages"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_unreachable_bucket_gives_clear_errors_and_no_partial_state() {
    let mut backing = Backing::start();
    let server = backing.serve();
    let token = backing.token("alice");
    let home = home_for(&[&server], &token);
    let work = tempfile::tempdir().unwrap();
    backing.s3.stop();
    let out = publish(
        &server,
        home.path(),
        &package(work.path(), "zeta", "1.0.0", "z"),
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("object store") && err.contains("s3://x07-registry"),
        "the error names the store: {err}"
    );
    assert!(
        !err.contains(SECRET_KEY) && !err.contains(ACCESS_KEY),
        "{err}"
    );
    assert_eq!(server.get(&format!("/index/{}", shard("zeta"))).0, 404);
    assert_eq!(
        backing
            .pg
            .psql(&backing.db, "SELECT count(*) FROM x07_packages"),
        "0",
        "no claim, no version"
    );
    // A server cannot start without its bucket, and says which one.
    let e = backing
        .try_serve(&[])
        .err()
        .expect("no server without the bucket");
    assert!(
        e.contains("s3://x07-registry") && e.contains("X07-REGISTRY-0001"),
        "{e}"
    );
}

#[test]
fn concurrent_first_starts_agree_on_one_schema_and_key() {
    let backing = Backing::start();
    let servers: Vec<Server> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4).map(|_| scope.spawn(|| backing.serve())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let keys: Vec<Vec<u8>> = servers
        .iter()
        .map(|s| {
            let body = s.get("/index/config.json").1;
            serde_json::to_vec(&serde_json::from_slice::<Value>(&body).unwrap()["signing"]).unwrap()
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "one key for all");
    assert_eq!(
        backing
            .pg
            .psql(&backing.db, "SELECT count(*) FROM x07_migrations"),
        "1"
    );
}

#[test]
fn database_passwords_stay_off_the_command_line() {
    // `x07 registry serve --addr 127.0.0.1:0 ARGS…` refused with exit 2; its stderr.
    let refused = |args: &[&str]| -> String {
        let out = Command::new(x07_bin())
            .args(["registry", "serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        text(&out.stderr)
    };
    let storage = "s3://bucket?endpoint=http://127.0.0.1:1";
    let err = refused(&[
        "--database",
        "postgres://reg:hunter2@127.0.0.1:1/x07",
        "--storage",
        storage,
    ]);
    assert!(
        err.contains("PGPASSWORD") && !err.contains("hunter2"),
        "{err}"
    );
    let err = refused(&["--database", "postgres://reg@127.0.0.1:1/x07"]);
    assert!(err.contains("--storage"), "{err}");
    let err = refused(&[
        "--database",
        "postgres://reg@127.0.0.1:1/x07",
        "--storage",
        "s3://AK:SK@bucket",
    ]);
    assert!(
        err.contains("credentials may not") && !err.contains(":SK"),
        "{err}"
    );
}

#[test]
fn a_cdn_url_sends_downloads_to_the_bucket_layout_and_credentials_come_from_a_file() {
    let backing = Backing::start();
    let creds = tempfile::tempdir().unwrap();
    let file = creds.path().join("credentials");
    fs_err::write(
        &file,
        format!("[default]\naws_access_key_id = wrong\n\n[x07]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"),
    )
    .unwrap();
    let mut cmd = Command::new(x07_bin());
    cmd.env("PGPASSWORD", PASSWORD)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_SHARED_CREDENTIALS_FILE", &file)
        .env("AWS_PROFILE", "x07")
        .args(["registry", "serve", "--addr", "127.0.0.1:0", "--database"])
        .arg(backing.database())
        .arg("--storage")
        .arg(backing.storage())
        .args(["--cdn-url", "https://cdn.example.test/"]);
    let server = Server::spawn(cmd).unwrap_or_else(|e| panic!("serve: {e}"));
    let (status, body) = server.get("/index/config.json");
    assert_eq!(status, 200);
    let config: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(config["dl"], "https://cdn.example.test/dl/");
    assert_eq!(
        config["api"],
        format!("http://127.0.0.1:{}/v1/", server.port)
    );
    // The bucket holds the same config.json where the CDN serves the index from.
    assert_eq!(
        backing
            .bucket()
            .get("index/config.json")
            .unwrap()
            .as_deref(),
        Some(&body[..])
    );
}

#[test]
fn a_signing_key_file_from_x07_key_generate_signs_the_index() {
    let backing = Backing::start();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("index.pem");
    let out = Command::new(x07_bin())
        .args(["key", "generate", "--json", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "key generate: {}", text(&out.stderr));
    let generated: Value = serde_json::from_slice(&out.stdout).unwrap();
    let server = backing
        .try_serve(&["--signing-key", key.to_str().unwrap()])
        .unwrap_or_else(|e| panic!("serve: {e}"));
    let config: Value = serde_json::from_slice(&server.get("/index/config.json").1).unwrap();
    let offered = &config["signing"]["public_keys"][0];
    assert_eq!(offered["ed25519_pub"], generated["public_key"]);
    // A key readable by others is refused, naming the file.
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let e = backing
        .try_serve(&["--signing-key", key.to_str().unwrap()])
        .err()
        .expect("refused");
    assert!(e.contains("index.pem") && e.contains("chmod 600"), "{e}");
}

#[test]
fn a_lost_database_gives_503_naming_it_while_reads_go_on_from_memory() {
    let backing = Backing::start();
    let server = backing.serve();
    let token = backing.token("alice");
    let home = home_for(&[&server], &token);
    let work = tempfile::tempdir().unwrap();
    let out = publish(
        &server,
        home.path(),
        &package(work.path(), "eta", "1.0.0", "e"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let index_before = server.get(&format!("/index/{}", shard("eta")));
    let Backing { pg, s3, .. } = backing;
    drop(pg);
    let out = publish(
        &server,
        home.path(),
        &package(work.path(), "eta", "1.1.0", "f"),
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("X07REG_UNAVAILABLE") && err.contains("database postgres://x07@127.0.0.1"),
        "{err}"
    );
    assert!(!err.contains(PASSWORD), "{err}");
    assert_eq!(
        server.get(&format!("/index/{}", shard("eta"))),
        index_before
    );
    let (status, _) = server.get("/v1/packages/eta/1.0.0/download");
    assert_eq!(status, 200, "archives come from the bucket");
    drop(s3);
}
