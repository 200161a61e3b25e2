//! The binary cache library against a real store and a real `file://` cache: the records it
//! writes validate against the schemas in spec/, references are found and pushed and fetched
//! first, and hostile archives are refused before anything is written outside the staging dir.

use std::collections::BTreeMap;

use serde_json::Value;
use x07_builder::cc::X07Home;
use x07_builder::store::{
    ArtifactName, DerivationInputs, Produced, StoreEntry, StoreRoot, Substituter, Substitution,
    Wanted,
};
use x07_lock::SigningKey;
use x07_spec::store_cache::{CacheFile, SUBSTITUTERS_SCHEMA};
use x07_spec::{schema, Sha256Digest, World};
use x07_store_cache::{push, unpack_entry, BinaryCaches, CacheSettings, TrustedKeys};

fn inputs(name: &str, salt: &str) -> DerivationInputs {
    DerivationInputs {
        toolchain_version: "0.1.0-test".into(),
        embedded_digest: Sha256Digest::of(b"runtime"),
        modules: BTreeMap::from([("main".to_string(), Sha256Digest::of(salt.as_bytes()))]),
        lock_digest: None,
        world: World::SolvePure,
        cc_path: None,
        cc_version_digest: Sha256Digest::of(b"cc 1.0"),
        cc_flags: vec!["-O2".into()],
        knobs: BTreeMap::new(),
        name: ArtifactName::new(name).unwrap(),
    }
}

/// Publishes an entry whose binary is `bytes`.
fn publish(store: &StoreRoot, inputs: &DerivationInputs, bytes: &[u8]) -> StoreEntry {
    store
        .publish(inputs, |staging| {
            fs_err::write(staging.binary_path(), bytes).map_err(|e| e.to_string())?;
            Ok::<_, String>(Produced::from_c_source("int main;").with_cc_version_line("cc 1.0"))
        })
        .unwrap()
}

struct Machine {
    _dir: tempfile::TempDir,
    home: X07Home,
    store: StoreRoot,
}

fn machine() -> Machine {
    let dir = tempfile::tempdir().unwrap();
    let home = X07Home::new(dir.path().join("home")).unwrap();
    let store = StoreRoot::new(&home);
    Machine {
        _dir: dir,
        home,
        store,
    }
}

fn validator(id: &str) -> jsonschema::Validator {
    let v: Value = serde_json::from_str(schema(id).unwrap()).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&v)
        .unwrap()
}

#[test]
fn referenced_entries_are_pushed_first_and_fetched_with_their_referrer() {
    let src = machine();
    let base = publish(&src.store, &inputs("base", "a"), b"\x7fELF base");
    // the second binary names the first entry (as a sealed bundle names its payload)
    let top_bytes = format!("top uses {} here", base.dir.display());
    let top_inputs = inputs("top", "b");
    let top = publish(&src.store, &top_inputs, top_bytes.as_bytes());
    let key = SigningKey::generate();
    let cache = tempfile::tempdir().unwrap();
    let url = format!("file://{}", cache.path().display());
    let report = push(
        &src.home,
        &src.store,
        &url,
        std::slice::from_ref(&top),
        Some(&key),
        std::path::Path::new("/none"),
    )
    .unwrap();
    let order: Vec<&str> = report.entries.iter().map(|e| e.entry.as_str()).collect();
    assert_eq!(
        order,
        vec![base.dir_name().as_str(), top.dir_name().as_str()]
    );

    // every record validates against the schema and lists the reference
    let v = validator("x07.store.cache-entry@0.1.0");
    for e in [&base, &top] {
        let record: Value = serde_json::from_slice(
            &fs_err::read(cache.path().join(format!("entries/{}.json", e.dir_name()))).unwrap(),
        )
        .unwrap();
        let errors: Vec<String> = v.iter_errors(&record).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{record:#}");
        assert_eq!(record["compiler"]["version_line"], "cc 1.0");
        if e.dir == top.dir {
            assert_eq!(record["references"], serde_json::json!([base.dir_name()]));
        }
    }

    // fetching the top entry brings its reference along
    let dst = machine();
    let settings = CacheSettings {
        substituters: vec![url.clone()],
        substituters_from: x07_store_cache::SettingsSource::Flags,
        trusted: TrustedKeys::new([key.verifying_key()]),
        trusted_from: x07_store_cache::SettingsSource::Flags,
    };
    let caches = BinaryCaches::new(&dst.home, &settings).unwrap();
    match caches.substitute(&dst.store, Wanted::Exact(&top_inputs)) {
        Substitution::Fetched { entry, .. } => assert_eq!(entry.dir_name(), top.dir_name()),
        Substitution::Missed(r) => panic!("not substituted: {r:?}"),
    }
    let mut names: Vec<String> = dst
        .store
        .ls()
        .unwrap()
        .iter()
        .map(|e| e.dir_name())
        .collect();
    names.sort();
    let mut expected = vec![base.dir_name(), top.dir_name()];
    expected.sort();
    assert_eq!(names, expected);
    assert!(dst.store.verify().unwrap().is_empty());

    // the signatures kept for re-pushing validate too
    let sigs = dst
        .home
        .path()
        .join(format!("signatures/{}.json", top.dir_name()));
    let doc: Value = serde_json::from_slice(&fs_err::read(sigs).unwrap()).unwrap();
    assert!(
        validator("x07.store.signatures@0.1.0").is_valid(&doc),
        "{doc:#}"
    );
}

#[test]
fn the_substituters_config_schema_agrees_with_the_reader() {
    let m = machine();
    fs_err::create_dir_all(m.home.path()).unwrap();
    let key = SigningKey::generate();
    fs_err::write(m.home.path().join("k.pub"), key.verifying_key().to_base64()).unwrap();
    let good = serde_json::json!({"schema_version": SUBSTITUTERS_SCHEMA,
        "substituters": ["file:///srv/cache", "s3://bkt?endpoint=http://127.0.0.1:9000&region=r"],
        "trusted_public_keys": ["k.pub", format!("ed25519:{}", key.verifying_key().to_base64())]});
    let v = validator(SUBSTITUTERS_SCHEMA);
    assert!(v.is_valid(&good));
    fs_err::write(m.home.path().join("substituters.json"), good.to_string()).unwrap();
    let s = CacheSettings::resolve_with(&m.home, &[], &[], |_| None).unwrap();
    assert_eq!(s.substituters.len(), 2);
    assert_eq!(s.trusted.ids().count(), 1, "the same key twice");
    let bad = serde_json::json!({"schema_version": SUBSTITUTERS_SCHEMA, "trusted_keys": []});
    assert!(!v.is_valid(&bad));
    fs_err::write(m.home.path().join("substituters.json"), bad.to_string()).unwrap();
    let err = CacheSettings::resolve_with(&m.home, &[], &[], |_| None).unwrap_err();
    assert!(err.to_string().contains("trusted_keys"), "{err}");
    // an environment variable set (even empty) wins over the file
    fs_err::write(m.home.path().join("substituters.json"), good.to_string()).unwrap();
    let s = CacheSettings::resolve_with(&m.home, &["file:///x".into()], &[], |k| {
        (k == "X07_TRUSTED_PUBLIC_KEYS").then(String::new)
    })
    .unwrap();
    assert!(s.trusted.is_empty());
}

fn tar_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // set the raw name so that `..` survives (append_data would refuse it)
        let name = &mut h.as_gnu_mut().unwrap().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    zstd::bulk::compress(&b.into_inner().unwrap(), 3).unwrap()
}

fn listed(path: &str, data: &[u8]) -> CacheFile {
    CacheFile {
        path: path.into(),
        sha256: Sha256Digest::of(data),
        size: data.len() as u64,
        executable: false,
    }
}

#[test]
fn hostile_archives_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<u8>, Vec<CacheFile>, &str)> = vec![
        (
            tar_with(&[("../evil", b"x")]),
            vec![listed("../evil", b"x")],
            "not a plain relative path",
        ),
        (
            tar_with(&[("extra", b"x")]),
            vec![listed("main", b"x")],
            "does not list",
        ),
        (
            tar_with(&[("main", b"x"), ("main", b"x")]),
            vec![listed("main", b"x")],
            "twice",
        ),
        (
            tar_with(&[("main", b"y")]),
            vec![listed("main", b"x")],
            "signed record says",
        ),
        (tar_with(&[]), vec![listed("main", b"x")], "lacks"),
        (b"not zstd".to_vec(), vec![listed("main", b"x")], "corrupt"),
    ];
    for (i, (archive, files, says)) in cases.into_iter().enumerate() {
        let dest = dir.path().join(i.to_string());
        fs_err::create_dir(&dest).unwrap();
        let err = unpack_entry(&archive, &files, &dest).unwrap_err();
        assert!(err.contains(says), "case {i}: {err}");
        assert!(!dir.path().join("evil").exists());
    }
}
