//! Bundle provenance end to end: signing (or an explicit `--no-sign`), the DSSE envelope and the
//! CycloneDX SBOM beside the executable and in its provenance note, `x07 bundle inspect`, and
//! `x07 bundle verify` refusing each tampering (launcher, program code, sealed policy, envelope,
//! a wrong key) and `--rebuild`. The note and sealed trailers are parsed here independently of
//! x07's own code (docs/bundling.md).

mod common;

use std::path::{Path, PathBuf};

use common::{app_module, expect_exit, sha256_file, stderr, stdout, stdout_json, InitProject};
use serde_json::{json, Value};
use x07_tests::registry::{write_package, PackageSpec};

/// A project with a local package dependency (so the SBOM has a component), the cli policy, and
/// a signing key in its home.
fn project_with_dependency() -> InitProject {
    let p = InitProject::new();
    write_package(
        &p.root().join("vendor"),
        &PackageSpec {
            name: "demo-local",
            version: "0.1.0",
            requires: &[],
            module: "demo.local",
            text_body: json!(["bytes.lit", "local"]),
            imports: &[],
        },
    );
    let out = p.run_x07([
        "pkg",
        "add",
        "demo-local",
        "--path",
        "vendor/demo-local-0.1.0",
        "--sync",
    ]);
    expect_exit(&out, 0);
    p.write_app(&app_module(
        &["demo.local"],
        json!(["bytes.concat", ["demo.local.text"], ["view.to_bytes", "b"]]),
    ));
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    p
}

fn keygen(p: &InitProject, out: Option<&Path>) -> (PathBuf, String) {
    let mut inv = p.x07().args(["key", "generate", "--json"]);
    if let Some(o) = out {
        inv = inv.arg("--out").arg(o);
    }
    let o = inv.run().unwrap();
    expect_exit(&o, 0);
    let r = stdout_json(&o);
    (
        PathBuf::from(r["public_key_path"].as_str().unwrap()),
        r["key_id"].as_str().unwrap().to_string(),
    )
}

fn bundle(p: &InitProject, args: &[&str], out: &Path) -> Value {
    let o = p
        .x07()
        .arg("bundle")
        .args(args)
        .arg("--out")
        .arg(out)
        .run()
        .unwrap();
    expect_exit(&o, 0);
    stdout_json(&o)
}

const SEALED: &[&str] = &[
    "--profile",
    "sandbox",
    "--sandbox-backend",
    "os",
    "--i-accept-weaker-isolation",
];

/// `(subject length, note)` from the provenance trailer: `"X07PROV1" u64 offset u64 length`.
fn note_of(bytes: &[u8]) -> (usize, Value) {
    let t = &bytes[bytes.len() - 24..];
    assert_eq!(&t[..8], b"X07PROV1", "no provenance trailer");
    let off = u64::from_le_bytes(t[8..16].try_into().unwrap()) as usize;
    let len = u64::from_le_bytes(t[16..24].try_into().unwrap()) as usize;
    assert_eq!(off + len, bytes.len() - 24);
    (off, serde_json::from_slice(&bytes[off..off + len]).unwrap())
}

/// The sealed parts' ranges `[launcher, payload, blob, json]` from the seal trailer before the note.
fn sealed_ranges(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let (end, _) = note_of(bytes);
    let t = &bytes[end - 64..end];
    assert_eq!(&t[..8], b"X07SEAL1");
    let w = |i: usize| u64::from_le_bytes(t[8 + 8 * i..16 + 8 * i].try_into().unwrap()) as usize;
    vec![
        0..w(0),
        w(0)..w(0) + w(1),
        w(2)..w(2) + w(3),
        w(4)..w(4) + w(5),
    ]
}

fn verify(p: &InitProject, bundle: &Path, extra: &[&str]) -> x07_tests::X07Output {
    p.x07()
        .args(["bundle", "verify"])
        .arg(bundle)
        .args(extra)
        .run()
        .unwrap()
}

#[test]
fn without_a_key_bundling_is_refused_unless_no_sign_is_explicit() {
    let p = InitProject::new();
    let out_file = p.scratch().join("app");
    let o = p
        .x07()
        .args(["bundle", "--profile", "os", "--out"])
        .arg(&out_file)
        .run()
        .unwrap();
    expect_exit(&o, 2);
    assert!(
        stderr(&o).contains("X07-BUNDLE-0003") && stderr(&o).contains("x07 key generate"),
        "{}",
        o.describe()
    );
    assert!(!out_file.exists());
    let report = bundle(&p, &["--profile", "os", "--no-sign"], &out_file);
    assert_eq!(report["bundle"]["signer_key_id"], Value::Null);
    let o = verify(&p, &out_file, &[]);
    expect_exit(&o, 0);
    assert!(stdout(&o).contains("unsigned"), "{}", o.describe());
    let (public, _) = keygen(&p, None);
    let o = verify(&p, &out_file, &["--key", public.to_str().unwrap()]);
    expect_exit(&o, 1);
    assert!(stderr(&o).contains("nobody (unsigned)"), "{}", o.describe());
}

#[test]
fn a_signed_bundle_carries_its_statement_and_sbom_and_verifies() {
    let p = project_with_dependency();
    let (public, key_id) = keygen(&p, None);
    let exe = p.scratch().join("dist/app");
    let report = bundle(&p, SEALED, &exe);
    assert_eq!(report["bundle"]["signer_key_id"], key_id.as_str());
    let bytes = fs_err::read(&exe).unwrap();
    let (subject_len, note) = note_of(&bytes);
    let subject = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            &bytes[..subject_len]
        ))
    );
    assert_eq!(report["bundle"]["subject_sha256"], subject.as_str());
    // the store entry is the subject
    let store = PathBuf::from(report["bundle"]["store_path"].as_str().unwrap());
    assert_eq!(format!("sha256:{}", sha256_file(&store)), subject);

    // the envelope beside it is the embedded one; its statement names the subject and packages
    let beside: Value =
        serde_json::from_slice(&fs_err::read(p.scratch().join("dist/app.intoto.jsonl")).unwrap())
            .unwrap();
    assert_eq!(beside, note["envelope"]);
    assert_eq!(beside["payloadType"], "application/vnd.in-toto+json");
    assert_eq!(beside["signatures"][0]["keyid"], key_id.as_str());
    let statement: Value =
        serde_json::from_slice(&common::b64_decode(beside["payload"].as_str().unwrap())).unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], "https://slsa.dev/provenance/v1");
    assert_eq!(
        format!(
            "sha256:{}",
            statement["subject"][0]["digest"]["sha256"]
                .as_str()
                .unwrap()
        ),
        subject
    );
    let params = &statement["predicate"]["buildDefinition"]["externalParameters"];
    assert_eq!(params["world"], "run-os-sandboxed");
    assert_eq!(
        params["policy_digest"],
        report["bundle"]["policy"]["digest"]
    );
    let deps = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
        .as_array()
        .unwrap();
    assert!(
        deps.iter().any(|d| d["uri"] == "pkg:x07/demo-local@0.1.0"),
        "{deps:?}"
    );
    assert!(deps.iter().any(|d| d["name"] == "cc"), "{deps:?}");
    let sbom: Value =
        serde_json::from_slice(&fs_err::read(p.scratch().join("dist/app.cdx.json")).unwrap())
            .unwrap();
    assert_eq!(sbom, note["sbom"]);
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["components"][0]["purl"], "pkg:x07/demo-local@0.1.0");

    let o = verify(&p, &exe, &["--key", public.to_str().unwrap()]);
    expect_exit(&o, 0);
    assert!(
        stdout(&o).contains(&format!("signed by {key_id}")),
        "{}",
        o.describe()
    );
    assert!(
        stdout(&o).contains("SBOM matches the project's lock"),
        "{}",
        o.describe()
    );
    let o = verify(&p, &exe, &["--rebuild"]);
    expect_exit(&o, 0);
    assert!(
        stdout(&o).contains("rebuilt byte for byte"),
        "{}",
        o.describe()
    );

    let o = p
        .x07()
        .args(["bundle", "inspect", "--json"])
        .arg(&exe)
        .run()
        .unwrap();
    expect_exit(&o, 0);
    let ins = stdout_json(&o);
    assert_eq!(ins["kind"], "sealed");
    assert_eq!(ins["signer_key_id"], key_id.as_str());
    assert_eq!(ins["subject_sha256"], subject.as_str());
    assert_eq!(
        ins["policy"]["digest"],
        report["bundle"]["policy"]["digest"]
    );
    assert_eq!(ins["sbom"]["components"][0]["name"], "demo-local");

    // another key did not sign it
    let (other, _) = keygen(&p, Some(&p.scratch().join("other.pem")));
    let o = verify(&p, &exe, &["--key", other.to_str().unwrap()]);
    expect_exit(&o, 1);
    assert!(stderr(&o).contains("not by the --key"), "{}", o.describe());
}

#[test]
fn verify_refuses_each_tampering_and_names_the_part() {
    let p = project_with_dependency();
    keygen(&p, None);
    let exe = p.scratch().join("dist/app");
    bundle(&p, SEALED, &exe);
    let good = fs_err::read(&exe).unwrap();
    let ranges = sealed_ranges(&good);
    let (note_at, _) = note_of(&good);
    let tampered = |name: &str, at: usize| -> x07_tests::X07Output {
        let path = p.scratch().join(format!("dist/{name}"));
        let mut bytes = good.clone();
        bytes[at] ^= 0x01;
        fs_err::write(&path, &bytes).unwrap();
        verify(&p, &path, &[])
    };
    let cases = [
        (
            "code-launcher",
            ranges[0].start + ranges[0].len() / 2,
            "launcher",
        ),
        (
            "code-payload",
            ranges[1].start + ranges[1].len() / 2,
            "program code",
        ),
        ("policy-blob", ranges[2].start + 60, "sealed policy"),
        ("policy-json", ranges[3].start + 2, "sealed policy"),
    ];
    for (name, at, part) in cases {
        let o = tampered(name, at);
        expect_exit(&o, 1);
        assert!(
            stderr(&o).contains("X07-BUNDLE-0004") && stderr(&o).contains(part),
            "{name}: {}",
            o.describe()
        );
    }
    // a byte of the envelope's base64 payload: the statement no longer matches its signature
    let payload_at = note_at
        + String::from_utf8_lossy(&good[note_at..])
            .find("\"payload\":\"")
            .unwrap()
        + 40;
    let o = tampered("envelope", payload_at);
    expect_exit(&o, 1);
    assert!(
        stderr(&o).contains("signature") || stderr(&o).contains("provenance note is damaged"),
        "{}",
        o.describe()
    );
    // the envelope beside the file changed
    let beside = p.scratch().join("dist/app.intoto.jsonl");
    let mut env: Value = serde_json::from_slice(&fs_err::read(&beside).unwrap()).unwrap();
    env["signatures"][0]["sig"] = json!("AAAA");
    fs_err::write(&beside, serde_json::to_vec(&env).unwrap()).unwrap();
    let o = verify(&p, &exe, &[]);
    expect_exit(&o, 1);
    assert!(stderr(&o).contains("app.intoto.jsonl"), "{}", o.describe());
    // a changed lock (another package digest) no longer matches the SBOM
    fs_err::remove_file(&beside).unwrap();
    let lock_path = p.root().join("x07.lock.json");
    let mut lock: Value = serde_json::from_slice(&fs_err::read(&lock_path).unwrap()).unwrap();
    let files = lock["dependencies"][0]["files_sha256"]
        .as_object_mut()
        .expect("the local package's file digests");
    let first = files.keys().next().unwrap().clone();
    files.insert(first, json!(format!("sha256:{}", "0".repeat(64))));
    fs_err::write(&lock_path, serde_json::to_vec(&lock).unwrap()).unwrap();
    let o = verify(&p, &exe, &[]);
    expect_exit(&o, 1);
    assert!(
        stderr(&o).contains("SBOM does not match the project's lock"),
        "{}",
        o.describe()
    );
}
