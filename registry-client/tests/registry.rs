//! The client against a real registry server on loopback: publish, verified index entries, the
//! ETag-revalidated index cache, the archive cache, pinning, yank/owners, the resolver catalog, a
//! `sparse+file://` mirror, offline use, and credentials.

mod common;

use common::*;
use serde_json::Value;
use x07_registry_client::{
    ArchiveOrigin, Credentials, IndexUrl, PublishSource, RegistryError, RegistryHome, Token,
};
use x07_spec::Sha256Digest;

#[test]
fn publish_then_fetch_verified_entries_and_the_archive() {
    let reg = Registry::start();
    let home = tempfile::tempdir().unwrap();
    let token = Token::new(&reg.token("alice")).unwrap();
    let client = client_with(home.path(), &reg.index_url(), |o| o.token = Some(token));
    let src = tempfile::tempdir().unwrap();
    let dir = write_package(src.path(), "ext-net", "0.1.0", &["ext-base@^1"]);
    let archive = pack(&dir);

    let receipt = client.publish(PublishSource::PackageDir(&dir)).unwrap();
    assert_eq!(
        (receipt.name.as_str(), receipt.version.as_str()),
        ("ext-net", "0.1.0")
    );
    assert_eq!(receipt.cksum, Sha256Digest::of(&archive));
    assert_eq!(receipt.index_path, "ex/t-/ext-net");

    // The first use pinned the key config.json offers.
    let index = reg.index_url();
    let pin_path = home
        .path()
        .join("registries")
        .join(format!("{}.json", index.cache_key()));
    let pin: Value = serde_json::from_slice(&fs_err::read(&pin_path).unwrap()).unwrap();
    let config = client.config().unwrap();
    assert_eq!(pin["index_url"], index.as_str());
    assert_eq!(pin["key_id"], config.public_keys[0].id.as_str());
    assert_eq!(
        pin["public_key"],
        config.public_keys[0].ed25519_pub.as_str()
    );

    let entries = client.index_entries(&name("ext-net")).unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(
        (e.version.as_str(), e.cksum, e.yanked),
        ("0.1.0", Sha256Digest::of(&archive), false)
    );
    assert_eq!(
        (e.deps[0].name.as_str(), e.deps[0].req.as_str()),
        ("ext-base", "^1")
    );
    assert_eq!(e.modules, ["pkgmod.ext_net"]);
    assert_eq!(e.x07c_compat, ">=0.1.0, <0.2.0");
    assert_eq!(e.signature.key_id, config.public_keys[0].id);

    let fetched = client.fetch_archive(e).unwrap();
    assert_eq!(fetched.origin, ArchiveOrigin::Downloaded);
    assert_eq!(
        fetched.path,
        archive_dir(home.path()).join(format!("{}.x07pkg", e.cksum.hex()))
    );
    assert_eq!(fs_err::read(&fetched.path).unwrap(), archive);
    assert_eq!(
        client.fetch_archive(e).unwrap().origin,
        ArchiveOrigin::Cache
    );
    assert_eq!(
        files_in(&archive_dir(home.path())),
        [format!("{}.x07pkg", e.cksum.hex())]
    );

    // Versions come back in semver order.
    let v2 = write_package(src.path(), "ext-net", "0.10.0", &[]);
    let v3 = write_package(src.path(), "ext-net", "0.9.0", &[]);
    client.publish(PublishSource::Archive(&pack(&v2))).unwrap();
    client.publish(PublishSource::PackageDir(&v3)).unwrap();
    let versions: Vec<String> = client
        .index_entries(&name("ext-net"))
        .unwrap()
        .iter()
        .map(|e| e.version.to_string())
        .collect();
    assert_eq!(versions, ["0.1.0", "0.9.0", "0.10.0"]);

    let err = client
        .index_entry(&name("ext-net"), &version("9.9.9"))
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::VersionNotFound { .. }),
        "{err}"
    );
    let err = client.index_entries(&name("ext-nope")).unwrap_err();
    assert!(err.is_not_found());
    assert!(
        err.to_string().contains("ext-nope") && err.to_string().contains(index.as_str()),
        "{err}"
    );
}

#[test]
fn index_files_are_revalidated_with_their_etag() {
    let reg = Registry::start_behind(|req, up| up.forward(req));
    let token = reg.token("alice");
    let src = tempfile::tempdir().unwrap();
    reg.publish_direct(
        &token,
        &pack(&write_package(src.path(), "ext-net", "0.1.0", &[])),
    );
    let home = tempfile::tempdir().unwrap();
    let index = reg.index_url();

    let first = client(home.path(), &index)
        .index_entries(&name("ext-net"))
        .unwrap();
    let cached = home
        .path()
        .join("cache/index")
        .join(index.cache_key())
        .join("ex/t-/ext-net");
    let stored = fs_err::read_to_string(&cached).unwrap();
    let etag = stored.lines().next().unwrap().to_string();
    assert!(
        etag.starts_with("\"sha256:"),
        "the ETag is stored with the body: {stored}"
    );

    // A new client (as in a new process) revalidates instead of downloading again.
    let second = client(home.path(), &index)
        .index_entries(&name("ext-net"))
        .unwrap();
    assert_eq!(first, second);
    let index_requests: Vec<_> = reg
        .front()
        .requests()
        .into_iter()
        .filter(|(r, _)| r.path == "/index/ex/t-/ext-net")
        .collect();
    assert_eq!(index_requests.len(), 2);
    assert_eq!(index_requests[0].0.header("if-none-match"), None);
    assert_eq!(
        index_requests[1].0.header("if-none-match"),
        Some(etag.as_str())
    );
    assert_eq!((index_requests[0].1, index_requests[1].1), (200, 304));
    assert_eq!(reg.front().statuses("/index/config.json"), [200, 304]);
    // auth-required is false: no token travels with index requests even when one is configured.
    assert!(reg
        .front()
        .requests()
        .iter()
        .all(|(r, _)| r.header("authorization").is_none()));

    // A change on the server is picked up.
    reg.publish_direct(
        &token,
        &pack(&write_package(src.path(), "ext-net", "0.2.0", &[])),
    );
    let third = client(home.path(), &index)
        .index_entries(&name("ext-net"))
        .unwrap();
    assert_eq!(third.len(), 2);
    assert_eq!(
        reg.front().statuses("/index/ex/t-/ext-net"),
        [200, 304, 200]
    );
}

#[test]
fn yank_and_owners_through_the_api() {
    let reg = Registry::start();
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

    client
        .yank(&name("ext-net"), &version("0.1.0"), true)
        .unwrap();
    let e = client
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    assert!(e.yanked, "the re-signed line verifies and says yanked");
    client
        .yank(&name("ext-net"), &version("0.1.0"), false)
        .unwrap();
    assert!(
        !client
            .index_entry(&name("ext-net"), &version("0.1.0"))
            .unwrap()
            .yanked
    );

    assert_eq!(client.owners(&name("ext-net")).unwrap(), ["alice"]);
    assert_eq!(
        client.change_owner(&name("ext-net"), "bob", true).unwrap(),
        ["alice", "bob"]
    );
    assert_eq!(
        client
            .change_owner(&name("ext-net"), "alice", false)
            .unwrap(),
        ["bob"]
    );
    let err = client
        .yank(&name("ext-net"), &version("0.1.0"), true)
        .unwrap_err();
    assert!(
        matches!(&err, RegistryError::Api { status: 403, code: Some(c), .. } if c == "X07REG_NOT_OWNER"),
        "{err}"
    );

    let hits = client.search("ext-", None).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].name.as_str(), hits[0].latest.as_str()),
        ("ext-net", "0.1.0")
    );
}

#[test]
fn publish_errors_name_the_cause() {
    let reg = Registry::start();
    let home = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let dir = write_package(src.path(), "ext-net", "0.1.0", &[]);

    let anonymous = client(home.path(), &reg.index_url());
    let err = anonymous
        .publish(PublishSource::PackageDir(&dir))
        .unwrap_err();
    assert!(matches!(err, RegistryError::NotLoggedIn { .. }), "{err}");
    assert!(err.to_string().contains("x07 pkg login --index"), "{err}");

    let forged = client_with(home.path(), &reg.index_url(), |o| {
        o.token = Some(Token::new("x07t_forged").unwrap())
    });
    let err = forged.publish(PublishSource::PackageDir(&dir)).unwrap_err();
    assert!(
        matches!(&err, RegistryError::Api { status: 401, code: Some(c), .. } if c == "X07REG_UNAUTHORIZED"),
        "{err}"
    );

    let alice = client_with(home.path(), &reg.index_url(), |o| {
        o.token = Some(Token::new(&reg.token("alice")).unwrap())
    });
    alice.publish(PublishSource::PackageDir(&dir)).unwrap();
    let err = alice.publish(PublishSource::PackageDir(&dir)).unwrap_err();
    assert!(
        matches!(&err, RegistryError::Api { status: 409, code: Some(c), .. } if c == "X07REG_ALREADY_PUBLISHED"),
        "{err}"
    );
    let err = alice
        .publish(PublishSource::Archive(b"not an archive"))
        .unwrap_err();
    assert!(
        matches!(&err, RegistryError::Api { status: 400, .. }),
        "{err}"
    );
}

#[test]
fn catalog_follows_dependencies_and_feeds_the_resolver() {
    let reg = Registry::start();
    let token = reg.token("alice");
    let src = tempfile::tempdir().unwrap();
    for (pkg, ver, deps) in [
        ("ext-app", "1.0.0", vec!["ext-base@^1"]),
        ("ext-base", "1.0.0", vec![]),
        ("ext-base", "1.1.0", vec!["ext-gone@^1"]),
        ("ext-unrelated", "1.0.0", vec![]),
    ] {
        reg.publish_direct(&token, &pack(&write_package(src.path(), pkg, ver, &deps)));
    }
    let home = tempfile::tempdir().unwrap();
    let client = client(home.path(), &reg.index_url());
    let cat = client.catalog([&name("ext-app")]).unwrap();
    assert_eq!(
        cat.entries.keys().map(|n| n.as_str()).collect::<Vec<_>>(),
        ["ext-app", "ext-base"]
    );
    assert_eq!(
        cat.missing.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
        ["ext-gone"]
    );
    let base = cat.catalog.versions(&name("ext-base")).unwrap();
    assert_eq!(
        base.keys().map(ToString::to_string).collect::<Vec<_>>(),
        ["1.0.0", "1.1.0"]
    );
    let v11 = &base[&semver::Version::new(1, 1, 0)];
    assert_eq!(v11.deps[0].0.as_str(), "ext-gone");
    assert_eq!(
        v11.x07c_compat.as_ref().unwrap().to_string(),
        ">=0.1.0, <0.2.0"
    );
    assert_eq!(v11.modules[0].as_str(), "pkgmod.ext_base");
    assert!(cat
        .entry(&name("ext-base"), &semver::Version::new(1, 0, 0))
        .is_some());

    // The resolver backs off ext-base 1.1.0, whose dependency the registry does not have.
    let toolchain = semver::Version::new(0, 1, 5);
    let options = x07_lock::ResolveOptions {
        toolchain_version: &toolchain,
        allow_prerelease: false,
        locked: None,
    };
    let root = [x07_lock::PackageReq::parse("ext-app@^1").unwrap()];
    let resolution = x07_lock::resolve(&root, &cat.catalog, &options).unwrap();
    let chosen: Vec<String> = resolution
        .packages
        .iter()
        .map(|(n, v)| format!("{n} {v}"))
        .collect();
    assert_eq!(chosen, ["ext-app 1.0.0", "ext-base 1.0.0"]);
}

/// Copies the registry's index files into `mirror/index/`, archives under `mirror/dl/`, and writes
/// a config.json with `file://` downloads and the registry's key.
fn build_file_mirror(
    reg: &Registry,
    mirror: &std::path::Path,
    packages: &[(&str, &str)],
) -> IndexUrl {
    fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
        fs_err::create_dir_all(to).unwrap();
        for entry in fs_err::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                copy_tree(&entry.path(), &to.join(entry.file_name()));
            } else {
                fs_err::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }
    copy_tree(&reg.root().index_dir(), &mirror.join("index"));
    for (pkg, ver) in packages {
        let dest = mirror.join("dl").join(pkg).join(ver);
        fs_err::create_dir_all(&dest).unwrap();
        fs_err::copy(
            reg.root().archive_path(&name(pkg), &version(ver)),
            dest.join("download"),
        )
        .unwrap();
    }
    let served: Value = serde_json::from_slice(
        &reqwest::blocking::get(format!("{}/index/config.json", reg.base_url()))
            .unwrap()
            .bytes()
            .unwrap(),
    )
    .unwrap();
    let config = serde_json::json!({
        "dl": format!("file://{}/dl/", mirror.display()),
        "auth-required": false,
        "sparse": true,
        "signing": served["signing"],
    });
    fs_err::write(
        mirror.join("index/config.json"),
        serde_json::to_vec(&config).unwrap(),
    )
    .unwrap();
    IndexUrl::parse(&format!("sparse+file://{}/index/", mirror.display())).unwrap()
}

#[test]
fn a_file_mirror_is_verified_like_a_server() {
    let reg = Registry::start();
    let token = reg.token("alice");
    let src = tempfile::tempdir().unwrap();
    let archive = pack(&write_package(src.path(), "ext-net", "0.1.0", &[]));
    reg.publish_direct(&token, &archive);
    let mirror = tempfile::tempdir().unwrap();
    let index = build_file_mirror(&reg, mirror.path(), &[("ext-net", "0.1.0")]);

    let home = tempfile::tempdir().unwrap();
    let client = client(home.path(), &index);
    let entry = client
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    let path = client.download(&entry).unwrap();
    assert_eq!(fs_err::read(path).unwrap(), archive);
    assert!(
        client.publish(PublishSource::Archive(&archive)).is_err(),
        "a mirror without `api` cannot publish"
    );

    // A line edited in the mirror is refused.
    let line_file = mirror.path().join("index/ex/t-/ext-net");
    let edited = fs_err::read_to_string(&line_file)
        .unwrap()
        .replace("\"yanked\":false", "\"yanked\":true");
    fs_err::write(&line_file, edited).unwrap();
    let err = client.index_entries(&name("ext-net")).unwrap_err();
    assert!(matches!(err, RegistryError::BadIndexLine { .. }), "{err}");
}

#[test]
fn offline_with_a_warm_cache_needs_no_server() {
    let mut reg = Registry::start();
    let token = reg.token("alice");
    let src = tempfile::tempdir().unwrap();
    let archive = pack(&write_package(src.path(), "ext-net", "0.1.0", &[]));
    reg.publish_direct(&token, &archive);
    let home = tempfile::tempdir().unwrap();
    let index = reg.index_url();
    let online = client(home.path(), &index);
    let entry = online
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    online.download(&entry).unwrap();
    reg.stop();

    let offline = client_with(home.path(), &index, |o| o.offline = true);
    let again = offline
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    assert_eq!(again, entry);
    let fetched = offline.fetch_archive(&again).unwrap();
    assert_eq!(
        (fetched.origin, fs_err::read(&fetched.path).unwrap()),
        (ArchiveOrigin::Cache, archive)
    );
    assert_eq!(offline.config().unwrap(), online.config().unwrap());

    // Online with the server gone: a clear error that suggests --offline.
    let err = client(home.path(), &index)
        .index_entries(&name("ext-net"))
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::Unreachable { attempts: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--offline"), "{err}");
}

#[test]
fn offline_with_a_cold_cache_says_what_is_missing() {
    let reg = Registry::start();
    let token = reg.token("alice");
    let src = tempfile::tempdir().unwrap();
    reg.publish_direct(
        &token,
        &pack(&write_package(src.path(), "ext-net", "0.1.0", &[])),
    );
    reg.publish_direct(
        &token,
        &pack(&write_package(src.path(), "ext-other", "0.1.0", &[])),
    );
    let index = reg.index_url();
    let home = tempfile::tempdir().unwrap();

    let offline = client_with(home.path(), &index, |o| o.offline = true);
    let err = offline.index_entries(&name("ext-net")).unwrap_err();
    assert!(
        matches!(err, RegistryError::OfflineRegistryUnknown { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(index.as_str()), "{err}");

    // The registry is known and one package cached, the other not.
    let online = client(home.path(), &index);
    let entry = online
        .index_entry(&name("ext-net"), &version("0.1.0"))
        .unwrap();
    let offline = client_with(home.path(), &index, |o| o.offline = true);
    let err = offline.index_entries(&name("ext-other")).unwrap_err();
    assert!(
        matches!(err, RegistryError::OfflineIndexNotCached { .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("ext-other") && text.contains(index.as_str()) && text.contains("--offline"),
        "{text}"
    );
    let err = offline.download(&entry).unwrap_err();
    assert!(
        matches!(err, RegistryError::OfflineArchiveNotCached { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("ext-net 0.1.0"), "{err}");
    let err = offline.publish(PublishSource::Archive(b"x")).unwrap_err();
    assert!(matches!(err, RegistryError::Offline { .. }), "{err}");
    assert!(files_in(&archive_dir(home.path())).is_empty());
}

#[test]
fn login_stores_a_private_token_that_publish_uses() {
    use std::os::unix::fs::PermissionsExt as _;
    let reg = Registry::start();
    let home = tempfile::tempdir().unwrap();
    let rhome = RegistryHome::new(home.path());
    let index = reg.index_url();
    Credentials::login(&rhome, &index, &Token::new(&reg.token("alice")).unwrap()).unwrap();
    let mode = fs_err::metadata(rhome.credentials_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let token = Credentials::load(&rhome).unwrap().token_for(&index);
    assert!(token.is_some());
    let client = client_with(home.path(), &index, |o| o.token = token);
    let src = tempfile::tempdir().unwrap();
    client
        .publish(PublishSource::PackageDir(&write_package(
            src.path(),
            "ext-net",
            "0.1.0",
            &[],
        )))
        .unwrap();

    assert!(Credentials::logout(&rhome, &index).unwrap());
    assert!(Credentials::load(&rhome)
        .unwrap()
        .token_for(&index)
        .is_none());
}
