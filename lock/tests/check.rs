//! `--locked` / `--frozen`: every difference between locks (or a lock and a resolution) is named.

mod common;

use common::*;
use x07_lock::{
    check_unchanged, diff_locks, diff_resolution, resolve, LockCheckError, LockMode, LockRegistry,
    LockedEdge, RootDep,
};
use x07_spec::{PackageVersion, Sha256Digest};

#[test]
fn identical_locks_pass_every_mode() {
    let lock = full_lock();
    let mut signed = lock.clone();
    x07_lock::sign_lock(
        &mut signed,
        &x07_lock::SigningKey::from_secret_bytes(&[3; 32]),
    )
    .unwrap();
    assert!(
        diff_locks(&lock, &signed).is_empty(),
        "the signature is not a change"
    );
    for mode in [LockMode::Update, LockMode::Locked, LockMode::Frozen] {
        assert_eq!(check_unchanged(mode, Some(&lock), &signed), Ok(()));
    }
    assert_eq!(check_unchanged(LockMode::Update, None, &lock), Ok(()));
    assert_eq!(
        check_unchanged(LockMode::Frozen, None, &lock).unwrap_err().to_string(),
        "--frozen needs an existing x07.lock.json; run `x07 pkg lock` without --frozen to create it"
    );
}

#[test]
fn every_kind_of_change_is_described() {
    let old = full_lock();
    let mut new = old.clone();
    new.registry = Some(LockRegistry {
        index_url: "sparse+http://mirror/index/".into(),
        key_id: None,
    });
    new.root_deps = vec![
        RootDep {
            name: name("ext-net"),
            req: req("^0.1"),
        },
        RootDep {
            name: name("ext-log"),
            req: req("^1"),
        },
    ];
    let net = new
        .dependencies
        .iter_mut()
        .find(|d| d.name == name("ext-net"))
        .unwrap();
    net.yanked = true;
    net.archive_sha256 = Some(Sha256Digest::of(b"other archive"));
    net.deps = vec![LockedEdge {
        name: name("ext-url"),
        req: req("^0.3"),
        resolved: PackageVersion::new("0.3.0").unwrap(),
    }];
    new.dependencies.retain(|d| d.name != name("ext-url"));
    new.dependencies.push(locked_package("ext-url", "0.3.0"));
    new.dependencies.push(locked_package("ext-log", "1.4.0"));
    let err = check_unchanged(LockMode::Locked, Some(&old), &new).unwrap_err();
    let LockCheckError::Changes { changes, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(changes.len(), 7);
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn a_resolution_is_compared_without_reading_digests() {
    let c = catalog(&[
        ("ext-a", "1.0.0", &["ext-b@^1"]),
        ("ext-b", "1.0.0", &[]),
        ("ext-b", "1.1.0", &[]),
    ]);
    let tc = toolchain();
    let root = reqs(&["ext-a@^1"]);
    let first = resolve(&root, &c, &options(&tc, None)).unwrap();
    let mut lock = lock_of(&[("ext-a", "1.0.0"), ("ext-b", "1.1.0")]);
    lock.root_deps = vec![RootDep {
        name: name("ext-a"),
        req: req("^1"),
    }];
    lock.dependencies[0].deps = vec![LockedEdge {
        name: name("ext-b"),
        req: req("^1"),
        resolved: PackageVersion::new("1.1.0").unwrap(),
    }];
    assert!(diff_resolution(&lock, &root, &first).is_empty());

    // The project now asks for something the lock cannot give.
    let root = reqs(&["ext-a@^1", "ext-b@<1.1"]);
    let second = resolve(&root, &c, &options(&tc, Some(&lock))).unwrap();
    let changes: Vec<String> = diff_resolution(&lock, &root, &second)
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        changes,
        [
            "the project now requires ext-b@<1.1",
            "ext-a 1.0.0: dependencies [ext-b ^1 -> 1.1.0] -> [ext-b ^1 -> 1.0.0]",
            "ext-b: 1.1.0 -> 1.0.0",
        ]
    );
}
