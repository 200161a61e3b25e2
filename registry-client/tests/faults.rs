//! Tampering and faults between the client and a real registry: a modified cached archive, a
//! modified index cksum, wrong, foreign and missing signatures, a swapped server key, truncated
//! downloads, 500-then-success, two concurrent fetches, a process killed mid-download, and tokens
//! kept away from other origins. The faults are injected by a std::net responder in front of the
//! server (or standing alone).

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use x07_registry_client::{
    ArchiveOrigin, IndexUrl, LineProblem, PublishSource, RegistryError, RegistryHome, Token,
    TrustStore, DOWNLOAD_TEMP_PREFIX,
};
use x07_spec::Sha256Digest;

const INDEX_FILE: &str = "/index/ex/t-/ext-net";
const DOWNLOAD: &str = "/v1/packages/ext-net/0.1.0/download";

/// A registry behind `handler` holding ext-net 0.1.0; returns it with the archive bytes.
fn registry_with_ext_net(
    handler: impl Fn(&Request, &Upstream) -> Reply + Send + Sync + 'static,
) -> (Registry, Vec<u8>) {
    let reg = Registry::start_behind(handler);
    let src = tempfile::tempdir().unwrap();
    let archive = pack(&write_package(src.path(), "ext-net", "0.1.0", &[]));
    reg.publish_direct(&reg.token("alice"), &archive);
    (reg, archive)
}

/// Asserts a [`RegistryError::BadIndexLine`] with `problem`.
#[track_caller]
fn assert_bad_line(err: RegistryError, expected: LineProblem) {
    match &err {
        RegistryError::BadIndexLine { problem, .. } => assert_eq!(problem, &expected, "{err}"),
        other => panic!("expected a refused index line, got: {other}"),
    }
    assert!(err.to_string().contains("refusing to use it"), "{err}");
}

#[test]
fn a_modified_archive_in_the_cache_is_replaced() {
    let (reg, archive) = registry_with_ext_net(|r, up| up.forward(r));
    let home = tempfile::tempdir().unwrap();
    let client = client(home.path(), &reg.index_url());
    let entry = client
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    let path = client.download(&entry).unwrap();
    fs_err::write(&path, b"evil bytes").unwrap();

    let fetched = client.fetch_archive(&entry).unwrap();
    assert_eq!(
        fetched.origin,
        ArchiveOrigin::Replaced {
            found: Sha256Digest::of(b"evil bytes")
        }
    );
    assert_eq!(fs_err::read(&fetched.path).unwrap(), archive);
    assert_eq!(reg.front().statuses(DOWNLOAD), [200, 200]);

    // Offline, a modified archive is removed and reported missing rather than used.
    fs_err::write(&path, b"evil again").unwrap();
    let offline = client_with(home.path(), &reg.index_url(), |o| o.offline = true);
    let err = offline.fetch_archive(&entry).unwrap_err();
    assert!(
        matches!(err, RegistryError::OfflineArchiveNotCached { .. }),
        "{err}"
    );
    assert!(!path.exists());
}

#[test]
fn a_modified_index_cksum_is_refused_signed_or_not() {
    // mode 0: cksum changed, signature kept; 1: re-signed by a foreign key; 2: signature removed;
    // 3: another line's (valid) signature.
    let mode = Arc::new(AtomicUsize::new(0));
    let m = mode.clone();
    let (reg, archive) = registry_with_ext_net(move |r, up| {
        let mut reply = up.forward(r);
        if r.path == INDEX_FILE && reply.status == 200 {
            let evil = Sha256Digest::of(b"evil archive").to_string();
            let mode = m.load(Ordering::SeqCst);
            reply.body = map_lines(&reply.body, |line| {
                let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
                v["cksum"] = json!(evil);
                match mode {
                    0 => {}
                    1 => return resign_line(&v.to_string(), &foreign_key(7)),
                    2 => {
                        v.as_object_mut().unwrap().remove("signature");
                    }
                    3 => v["signature"]["sig"] = json!(signature_of_another_message()),
                    _ => return line.to_string(),
                }
                v.to_string()
            });
        }
        reply
    });
    let home = tempfile::tempdir().unwrap();
    let index = reg.index_url();
    let client = client(home.path(), &index);
    assert_bad_line(
        client.index_entries(&name("ext-net")).unwrap_err(),
        LineProblem::BadSignature,
    );
    mode.store(1, Ordering::SeqCst);
    let foreign_id = x07_registry_client::key_id_of(&foreign_key(7).verifying_key());
    assert_bad_line(
        client.index_entries(&name("ext-net")).unwrap_err(),
        LineProblem::OtherKey(foreign_id),
    );
    mode.store(2, Ordering::SeqCst);
    assert_bad_line(
        client.index_entries(&name("ext-net")).unwrap_err(),
        LineProblem::Unsigned,
    );
    mode.store(3, Ordering::SeqCst);
    assert_bad_line(
        client.index_entries(&name("ext-net")).unwrap_err(),
        LineProblem::BadSignature,
    );

    // Nothing refused was cached; once the index is honest again everything works.
    assert!(!home
        .path()
        .join("cache/index")
        .join(index.cache_key())
        .join("ex/t-/ext-net")
        .exists());
    mode.store(99, Ordering::SeqCst);
    let entry = client
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    assert_eq!(entry.cksum, Sha256Digest::of(&archive));
}

/// A valid base64 ed25519 signature that belongs to some other message.
fn signature_of_another_message() -> String {
    let line = resign_line(r#"{"other":"line"}"#, &foreign_key(1));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    v["signature"]["sig"].as_str().unwrap().to_string()
}

#[test]
fn a_modified_index_cache_on_disk_is_caught_online_and_offline() {
    let (reg, _) = registry_with_ext_net(|r, up| up.forward(r));
    let home = tempfile::tempdir().unwrap();
    let index = reg.index_url();
    client(home.path(), &index)
        .index_entries(&name("ext-net"))
        .unwrap();
    let cached = home
        .path()
        .join("cache/index")
        .join(index.cache_key())
        .join("ex/t-/ext-net");
    let text = fs_err::read_to_string(&cached).unwrap();
    let tampered = text.replace("\"yanked\":false", "\"yanked\":true");
    assert_ne!(text, tampered);
    fs_err::write(&cached, &tampered).unwrap();

    let offline = client_with(home.path(), &index, |o| o.offline = true);
    assert_bad_line(
        offline.index_entries(&name("ext-net")).unwrap_err(),
        LineProblem::BadSignature,
    );

    // Online, the bad copy is dropped and fetched afresh (not revalidated into a 304).
    let entries = client(home.path(), &index)
        .index_entries(&name("ext-net"))
        .unwrap();
    assert!(!entries[0].yanked);
    assert_eq!(reg.front().statuses(INDEX_FILE), [200, 200]);
    assert_eq!(fs_err::read_to_string(&cached).unwrap(), text);
}

#[test]
fn an_archive_that_does_not_match_the_cksum_is_not_stored() {
    let (reg, _) = registry_with_ext_net(|r, up| {
        let mut reply = up.forward(r);
        if r.path == DOWNLOAD {
            reply.body[10] ^= 0xff;
        }
        reply
    });
    let home = tempfile::tempdir().unwrap();
    let client = client(home.path(), &reg.index_url());
    let entry = client
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    let err = client.download(&entry).unwrap_err();
    assert!(
        matches!(&err, RegistryError::ChecksumMismatch(m) if m.expected == entry.cksum && m.actual != entry.cksum),
        "{err}"
    );
    assert!(
        files_in(&archive_dir(home.path())).is_empty(),
        "no final or partial file"
    );
}

#[test]
fn a_swapped_server_key_is_refused_until_trusted() {
    let swapped = Arc::new(AtomicUsize::new(0));
    let s = swapped.clone();
    let (reg, archive) = registry_with_ext_net(move |r, up| {
        let swapped = s.load(Ordering::SeqCst) == 1;
        let mut forwarded = r.clone();
        if swapped {
            // The impostor answers in full, whatever the client has cached.
            forwarded
                .headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("if-none-match"));
        }
        let mut reply = up.forward(&forwarded);
        if swapped && reply.status == 200 {
            if r.path == "/index/config.json" {
                reply.body = config_with_key(&reply.body, &foreign_key(42));
                reply
                    .headers
                    .retain(|(k, _)| !k.eq_ignore_ascii_case("etag"));
            } else if r.path == INDEX_FILE {
                reply.body = map_lines(&reply.body, |l| resign_line(l, &foreign_key(42)));
                reply
                    .headers
                    .retain(|(k, _)| !k.eq_ignore_ascii_case("etag"));
            }
        }
        reply
    });
    let home = tempfile::tempdir().unwrap();
    let index = reg.index_url();
    let original = client(home.path(), &index)
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();

    swapped.store(1, Ordering::SeqCst);
    let err = client(home.path(), &index)
        .index_entries(&name("ext-net"))
        .unwrap_err();
    assert!(matches!(err, RegistryError::KeyChanged { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("x07 registry trust --index") && text.contains(index.as_str()),
        "{text}"
    );
    // The pin is unchanged by the refusal.
    let pinned = TrustStore::new(RegistryHome::new(home.path()))
        .load(&index)
        .unwrap()
        .unwrap();
    assert_eq!(pinned.key_id, original.signature.key_id);

    // After an explicit trust the new key is used and the old one refused.
    let client = client(home.path(), &index);
    client.trust(&public_b64(&foreign_key(42))).unwrap();
    let entry = client
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    assert_ne!(entry.signature.key_id, original.signature.key_id);
    assert_eq!(
        fs_err::read(client.download(&entry).unwrap()).unwrap(),
        archive
    );
    let err = client.download(&original).unwrap_err();
    assert!(
        matches!(
            &err,
            RegistryError::BadIndexLine {
                problem: LineProblem::OtherKey(_),
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn trust_before_first_use_refuses_a_registry_offering_another_key() {
    let (reg, _) = registry_with_ext_net(|r, up| up.forward(r));
    let home = tempfile::tempdir().unwrap();
    let index = reg.index_url();
    let store = TrustStore::new(RegistryHome::new(home.path()));
    store.trust(&index, &public_b64(&foreign_key(3))).unwrap();
    let err = client(home.path(), &index).config().unwrap_err();
    assert!(matches!(err, RegistryError::KeyChanged { .. }), "{err}");
    assert!(store.trust(&index, "not base64!").is_err());
    assert!(store
        .trust(&index, &public_b64(&foreign_key(3))[..20])
        .is_err());
    assert!(store.forget(&index).unwrap());
    client(home.path(), &index)
        .index_entries(&name("ext-net"))
        .unwrap();
}

#[test]
fn truncated_downloads_are_retried_and_never_stored() {
    let cut = Arc::new(AtomicUsize::new(1));
    let c = cut.clone();
    let (reg, archive) = registry_with_ext_net(move |r, up| {
        let mut reply = up.forward(r);
        if r.path == DOWNLOAD && c.load(Ordering::SeqCst) > 0 {
            c.fetch_sub(1, Ordering::SeqCst);
            reply.cut_after = Some(reply.body.len() / 2);
        }
        reply
    });
    let home = tempfile::tempdir().unwrap();
    let client = client(home.path(), &reg.index_url());
    let entry = client
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    assert_eq!(
        fs_err::read(client.download(&entry).unwrap()).unwrap(),
        archive
    );
    assert_eq!(
        reg.front().statuses(DOWNLOAD).len(),
        2,
        "one cut try, one whole try"
    );

    // Cut every time: the tries run out and nothing is left in the cache.
    fs_err::remove_dir_all(archive_dir(home.path())).unwrap();
    cut.store(usize::MAX / 2, Ordering::SeqCst);
    let err = client.download(&entry).unwrap_err();
    assert!(
        matches!(&err, RegistryError::Unreachable { attempts: 3, reason, .. } if reason.contains("cut short")),
        "{err}"
    );
    assert_eq!(reg.front().statuses(DOWNLOAD).len(), 5);
    assert!(
        files_in(&archive_dir(home.path())).is_empty(),
        "{:?}",
        files_in(&archive_dir(home.path()))
    );
}

#[test]
fn a_server_failing_with_500_then_succeeding_is_retried() {
    // The first GET of every path fails.
    let seen_paths = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let sp = seen_paths.clone();
    let (reg, archive) = registry_with_ext_net(move |r, up| {
        if sp.lock().unwrap().insert(r.path.clone()) && r.method == "GET" {
            return Reply::new(500, "temporarily broken");
        }
        up.forward(r)
    });
    let home = tempfile::tempdir().unwrap();
    let client = client(home.path(), &reg.index_url());
    let entry = client
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    let path = client.download(&entry).unwrap();
    assert_eq!(fs_err::read(path).unwrap().len(), archive.len());
    assert_eq!(reg.front().statuses("/index/config.json"), [500, 200]);
    assert_eq!(reg.front().statuses(INDEX_FILE), [500, 200]);
    assert_eq!(reg.front().statuses(DOWNLOAD), [500, 200]);
}

#[test]
fn a_server_that_keeps_failing_is_tried_three_times_and_a_404_once() {
    let (reg, _) = registry_with_ext_net(|r, up| {
        if r.path == INDEX_FILE {
            Reply::new(503, "down")
        } else {
            up.forward(r)
        }
    });
    let home = tempfile::tempdir().unwrap();
    let client = client(home.path(), &reg.index_url());
    let started = Instant::now();
    let err = client.index_entries(&name("ext-net")).unwrap_err();
    assert!(
        matches!(&err, RegistryError::Unreachable { attempts: 3, reason, .. } if reason.contains("503")),
        "{err}"
    );
    assert_eq!(reg.front().statuses(INDEX_FILE), [503, 503, 503]);
    assert!(
        started.elapsed() >= Duration::from_millis(60),
        "backoff 20 ms then 40 ms"
    );

    let err = client.index_entries(&name("ext-none")).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(reg.front().statuses("/index/ex/t-/ext-none"), [404]);
}

#[test]
fn two_concurrent_fetches_both_get_the_verified_archive() {
    let (reg, archive) = registry_with_ext_net(|r, up| {
        let mut reply = up.forward(r);
        if r.path == DOWNLOAD {
            reply.pause_after = Some((reply.body.len() / 2, Duration::from_millis(400)));
        }
        reply
    });
    let home = tempfile::tempdir().unwrap();
    let index = reg.index_url();
    let entry = client(home.path(), &index)
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    let dir = archive_dir(home.path());

    let first = {
        let (home, index, entry) = (home.path().to_path_buf(), index.clone(), entry.clone());
        std::thread::spawn(move || client(&home, &index).download(&entry).unwrap())
    };
    // Wait until the first download is half done, then start a second client (whose start-up
    // cleanup must leave the live temp file alone) and a second download.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !files_in(&dir)
        .iter()
        .any(|f| f.starts_with(DOWNLOAD_TEMP_PREFIX))
    {
        assert!(
            Instant::now() < deadline,
            "the first download never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = {
        let (home, index, entry) = (home.path().to_path_buf(), index.clone(), entry.clone());
        std::thread::spawn(move || client(&home, &index).download(&entry).unwrap())
    };
    let (a, b) = (first.join().unwrap(), second.join().unwrap());
    assert_eq!(a, b);
    assert_eq!(fs_err::read(&a).unwrap(), archive);
    assert_eq!(files_in(&dir), [format!("{}.x07pkg", entry.cksum.hex())]);
    assert_eq!(reg.front().statuses(DOWNLOAD), [200, 200]);
}

/// Runs inside the child process of [`a_process_killed_mid_download_leaves_no_partial_state`].
#[test]
fn child_process_download() {
    let Ok(spec) = std::env::var("X07_REGCLIENT_TEST_CHILD") else {
        return;
    };
    let (home, index) = spec.split_once('\n').unwrap();
    let client = client(std::path::Path::new(home), &IndexUrl::parse(index).unwrap());
    let entry = client
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    client.download(&entry).unwrap();
}

#[test]
fn a_process_killed_mid_download_leaves_no_partial_state() {
    let stall = Arc::new(AtomicUsize::new(1));
    let s = stall.clone();
    let (reg, archive) = registry_with_ext_net(move |r, up| {
        let mut reply = up.forward(r);
        if r.path == DOWNLOAD && s.load(Ordering::SeqCst) == 1 {
            reply.pause_after = Some((reply.body.len() / 2, Duration::from_secs(30)));
        }
        reply
    });
    let home = tempfile::tempdir().unwrap();
    let index = reg.index_url();
    let dir = archive_dir(home.path());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_download",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            "X07_REGCLIENT_TEST_CHILD",
            format!("{}\n{}", home.path().display(), index),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the child has written part of the archive.
    let deadline = Instant::now() + Duration::from_secs(20);
    let partial = loop {
        let temp = files_in(&dir)
            .into_iter()
            .find(|f| f.starts_with(DOWNLOAD_TEMP_PREFIX));
        if let Some(t) = temp {
            let path = dir.join(t);
            if fs_err::metadata(&path)
                .map(|m| m.len() > 0)
                .unwrap_or(false)
            {
                break path;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the child never started downloading"
        );
        assert!(child.try_wait().unwrap().is_none(), "the child ended early");
        std::thread::sleep(Duration::from_millis(10));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    stall.store(0, Ordering::SeqCst);

    // The killed download left only its temp file, never a final archive.
    assert_eq!(
        files_in(&dir),
        [partial.file_name().unwrap().to_string_lossy().into_owned()]
    );
    // The next client removes it, and downloads the archive whole.
    let client = client(home.path(), &index);
    assert!(
        files_in(&dir).is_empty(),
        "the orphaned temp file is removed at start"
    );
    let entry = client
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    assert_eq!(
        fs_err::read(client.download(&entry).unwrap()).unwrap(),
        archive
    );
    assert_eq!(files_in(&dir), [format!("{}.x07pkg", entry.cksum.hex())]);
}

#[test]
fn the_token_never_leaves_the_index_origin() {
    let key = foreign_key(9);
    let archive = b"opaque archive bytes".to_vec();
    let line = resign_line(
        &json!({
            "schema_version": "x07.index-entry@0.2.0", "name": "ext-tok", "version": "1.0.0",
            "cksum": Sha256Digest::of(&archive).to_string(), "yanked": false, "deps": [],
            "x07c_compat": "", "modules": [], "ffi_libs": [], "description": "",
        })
        .to_string(),
        &key,
    );
    let archive2 = archive.clone();
    let cdn = Responder::start(move |_| Reply::new(200, archive2.clone()));
    let cdn_url = cdn.url();
    let index_server = Responder::start(move |r| match r.path.as_str() {
        "/index/config.json" => Reply::json(&json!({
            "dl": format!("{cdn_url}/dl/"), "api": format!("{cdn_url}/v1/"), "auth-required": true,
            "signing": {"kind": "ed25519", "public_keys": [{"id": x07_registry_client::key_id_of(&key.verifying_key()), "ed25519_pub": public_b64(&key)}]},
        })),
        "/index/ex/t-/ext-tok" => Reply::new(200, format!("{line}\n")),
        _ => Reply::new(404, "{}"),
    });
    let index = IndexUrl::parse(&format!("sparse+{}/index/", index_server.url())).unwrap();
    let home = tempfile::tempdir().unwrap();
    let client = client_with(home.path(), &index, |o| {
        o.token = Some(Token::new("x07t_secret").unwrap())
    });

    let entry = client
        .index_entry(&name("ext-tok"), &version("1.0.0"))
        .unwrap();
    let index_auth: Vec<_> = index_server
        .requests()
        .iter()
        .map(|(r, _)| r.header("authorization").map(str::to_string))
        .collect();
    assert_eq!(
        index_auth.last().unwrap().as_deref(),
        Some("Bearer x07t_secret"),
        "auth-required: the index origin gets the token"
    );
    assert_eq!(
        fs_err::read(client.download(&entry).unwrap()).unwrap(),
        archive
    );

    let err = client
        .publish(PublishSource::Archive(&archive))
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::CrossOriginToken { .. }),
        "{err}"
    );
    let err = client
        .yank(&name("ext-tok"), &version("1.0.0"), true)
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::CrossOriginToken { .. }),
        "{err}"
    );
    let cdn_requests = cdn.requests();
    assert_eq!(
        cdn_requests.len(),
        1,
        "only the download reached the other origin"
    );
    assert_eq!(cdn_requests[0].0.path, "/dl/ext-tok/1.0.0/download");
    assert!(cdn_requests
        .iter()
        .all(|(r, _)| r.header("authorization").is_none()));
}

#[test]
fn a_redirect_never_carries_the_token() {
    // Same origin at first, then a redirect to another origin: the authenticated client does
    // not follow it, so the token cannot travel.
    let other = Responder::start(|_| Reply::json(&json!({"ok": true, "owners": ["x"]})));
    let other_url = other.url();
    let reg = Registry::start_behind(move |r, up| {
        if r.path.ends_with("/yank") {
            let mut reply = Reply::new(307, "");
            reply
                .headers
                .push(("Location".into(), format!("{other_url}{}", r.path)));
            return reply;
        }
        up.forward(r)
    });
    let home = tempfile::tempdir().unwrap();
    let token = Token::new(&reg.token("alice")).unwrap();
    let client = client_with(home.path(), &reg.index_url(), |o| o.token = Some(token));
    let src = tempfile::tempdir().unwrap();
    client
        .publish(PublishSource::PackageDir(&write_package(
            src.path(),
            "ext-net",
            "0.1.0",
            &[],
        )))
        .unwrap();
    let err = client
        .yank(&name("ext-net"), &version("0.1.0"), true)
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::Api { status: 307, .. }),
        "{err}"
    );
    assert!(other.requests().is_empty());
}
