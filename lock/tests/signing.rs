//! Keys (generate, save, load, ids) and lock signatures: any change to a signed lock breaks it.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use serde_json::Value;
use x07_lock::{
    sign_lock, verify_lock, KeyError, KeyFormat, KeyId, Lock, LockSignatureError, SigningKey,
    VerifyingKey,
};
use x07_spec::Sha256Digest;

#[test]
fn key_id_is_the_first_16_hex_of_the_public_key_digest() {
    let key = SigningKey::from_secret_bytes(&[9; 32]);
    let public = key.verifying_key();
    assert_eq!(
        key.key_id().as_str(),
        &Sha256Digest::of(public.as_bytes()).hex()[..16]
    );
    assert_eq!(
        VerifyingKey::from_base64(&public.to_base64()).unwrap(),
        public
    );
    assert!(KeyId::new("0123456789ABCDEF").is_err());
    assert!(VerifyingKey::from_base64("AAAA")
        .unwrap_err()
        .contains("32 bytes"));
}

#[test]
fn keys_save_with_mode_0600_and_load_back_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate();
    for (file, format, prefix) in [
        ("k.pem", KeyFormat::Pkcs8Pem, "-----BEGIN PRIVATE KEY-----"),
        ("k.b64", KeyFormat::RawBase64, ""),
    ] {
        let path = dir.path().join(file);
        key.save(&path, format).unwrap();
        assert_eq!(
            fs_err::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(fs_err::read_to_string(&path).unwrap().starts_with(prefix));
        assert_eq!(SigningKey::load(&path).unwrap().key_id(), key.key_id());
        assert!(
            matches!(key.save(&path, format), Err(KeyError::Exists { .. })),
            "never overwrites a key"
        );
    }
    assert_ne!(SigningKey::generate().key_id(), key.key_id());
}

#[test]
fn loading_refuses_shared_or_malformed_key_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.pem");
    SigningKey::generate()
        .save(&path, KeyFormat::Pkcs8Pem)
        .unwrap();
    fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = SigningKey::load(&path).unwrap_err().to_string();
    assert!(
        err.ends_with(&format!(
            "the secret key is readable by other users (mode 644); run `chmod 600 {}`",
            path.display()
        )),
        "{err}"
    );
    let err = SigningKey::from_text("bm90IGEga2V5", Path::new("bad.key"))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "bad.key: not an ed25519 secret key (9 bytes instead of 32); expected PKCS#8 PEM or base64 of the 32-byte secret");
}

#[test]
fn a_signed_lock_verifies_and_survives_reformatting() {
    let key = SigningKey::from_secret_bytes(&[5; 32]);
    let mut lock = full_lock();
    assert!(matches!(
        verify_lock(&lock, &key.verifying_key()),
        Err(LockSignatureError::Unsigned)
    ));
    sign_lock(&mut lock, &key).unwrap();
    verify_lock(&lock, &key.verifying_key()).unwrap();
    let value: Value = serde_json::from_slice(&lock.to_file_bytes().unwrap()).unwrap();
    assert_eq!(value["signature"]["kind"], "ed25519");
    assert_eq!(value["signature"]["key_id"], key.key_id().as_str());
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    let reread = Lock::from_slice(&pretty, Path::new("x07.lock.json")).unwrap();
    verify_lock(&reread, &key.verifying_key()).unwrap();

    let other = SigningKey::from_secret_bytes(&[6; 32]);
    let err = verify_lock(&reread, &other.verifying_key()).unwrap_err();
    assert!(matches!(err, LockSignatureError::OtherKey { .. }), "{err}");
}

/// Every way of changing one character of one leaf value.
fn mutations(value: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(k.clone());
                mutations(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(i.to_string());
                mutations(v, path, out);
                path.pop();
            }
        }
        Value::String(s) => {
            // Change the last character that has a same-class neighbour, so the value stays well-formed.
            let mut chars: Vec<char> = s.chars().collect();
            if let Some(i) = chars.iter().rposition(|c| c.is_ascii_alphanumeric()) {
                chars[i] = match chars[i] {
                    '9' => '8',
                    'z' => 'y',
                    'Z' => 'Y',
                    'f' => 'e',
                    c => (c as u8 + 1) as char,
                };
                out.push((path.clone(), Value::String(chars.into_iter().collect())));
            }
        }
        Value::Bool(b) => out.push((path.clone(), Value::Bool(!b))),
        Value::Number(_) | Value::Null => {}
    }
}

fn set(value: &mut Value, path: &[String], new: Value) {
    let mut cur = value;
    for key in path {
        cur = match cur {
            Value::Object(map) => map.get_mut(key).unwrap(),
            Value::Array(items) => &mut items[key.parse::<usize>().unwrap()],
            _ => unreachable!(),
        };
    }
    *cur = new;
}

#[test]
fn changing_any_field_breaks_the_signature() {
    let key = SigningKey::from_secret_bytes(&[5; 32]);
    let mut lock = full_lock();
    sign_lock(&mut lock, &key).unwrap();
    let signed: Value = serde_json::from_slice(&lock.to_file_bytes().unwrap()).unwrap();
    let mut all = Vec::new();
    mutations(&signed, &mut Vec::new(), &mut all);
    let mut still_parsed = 0;
    for (path, new) in all {
        let mut doc = signed.clone();
        set(&mut doc, &path, new);
        let Ok(tampered) = Lock::from_slice(
            &serde_json::to_vec(&doc).unwrap(),
            Path::new("x07.lock.json"),
        ) else {
            continue; // an unreadable lock is refused anyway
        };
        still_parsed += 1;
        let result = verify_lock(&tampered, &key.verifying_key());
        assert!(
            result.is_err(),
            "changing {} was not detected",
            path.join(".")
        );
    }
    // 42 leaves; only enum tags, the schema version and base64 signatures become unreadable.
    assert!(
        still_parsed >= 30,
        "only {still_parsed} mutations produced a readable lock"
    );
}
