//! Provenance of a bundle: the in-toto statement with its SLSA predicate, the CycloneDX SBOM made
//! from the lock, the DSSE signature, and the note appended to the executable
//! (formats: x07_spec::bundle::provenance).

use std::collections::BTreeMap;

use serde_json::{json, Value};
use x07_builder::project::Target;
use x07_lock::{LockedPackage, SigningKey};
use x07_spec::bundle::provenance::{
    digest_set, BuildDefinition, DsseEnvelope, DsseSignature, Provenance, ProvenanceNote,
    ResourceDescriptor, RunDetails, Statement, Subject, SLSA_PROVENANCE_V1, STATEMENT_TYPE,
    X07_BUNDLE_BUILD_TYPE,
};
use x07_spec::{to_canonical_vec, Sha256Digest};

/// How the statement is signed.
#[derive(Debug)]
pub enum Signing {
    /// With this ed25519 key.
    Key(SigningKey),
    /// Not at all (`--no-sign`); `verify` then says "unsigned".
    Unsigned,
}

/// What the statement records besides the target.
#[derive(Debug)]
pub struct BuildFacts<'a> {
    /// argv_v1 token 0 and the subject's name.
    pub name: &'a str,
    /// sha256 of the executable without its note.
    pub subject: Sha256Digest,
    /// Flags and settings the bundle was made with (profile, world, kind, backend, policy
    /// digest, limits, cc profile).
    pub external: Value,
    /// The store entries (the bundle's, the program's, the launcher's).
    pub internal: Value,
    /// The C compiler: path and digest of its `--version`.
    pub cc: (String, Sha256Digest),
    /// The derivation hash (the invocation id: no timestamps).
    pub derivation: String,
}

/// The digest a package is pinned by: its archive, or for a local package the canonical map of
/// its files' digests.
pub fn package_digest(pkg: &LockedPackage) -> Sha256Digest {
    pkg.archive_sha256.unwrap_or_else(|| {
        let files: BTreeMap<String, String> = pkg
            .files_sha256
            .iter()
            .map(|(p, d)| (p.to_string(), d.to_string()))
            .collect();
        Sha256Digest::of(&to_canonical_vec(&files).expect("a string map serializes"))
    })
}

fn purl(pkg: &LockedPackage) -> String {
    format!("pkg:x07/{}@{}", pkg.name, pkg.version)
}

/// The in-toto statement.
pub fn statement(target: &Target, facts: &BuildFacts<'_>) -> Statement {
    let mut deps: Vec<ResourceDescriptor> = target
        .lock
        .iter()
        .flat_map(|l| &l.dependencies)
        .map(|pkg| ResourceDescriptor {
            name: pkg.name.to_string(),
            uri: Some(purl(pkg)),
            digest: digest_set(&package_digest(pkg)),
        })
        .collect();
    let embedded: Sha256Digest = x07_builder::runtime::embedded_digest()
        .parse()
        .expect("build.rs writes a valid digest");
    deps.push(ResourceDescriptor {
        name: "x07-runtime-and-stdlib".to_string(),
        uri: None,
        digest: digest_set(&embedded),
    });
    deps.push(ResourceDescriptor {
        name: "cc".to_string(),
        uri: Some(format!("file://{}", facts.cc.0)),
        digest: digest_set(&facts.cc.1),
    });
    if let Some(lock) = &target.lock_digest {
        deps.push(ResourceDescriptor {
            name: "x07.lock.json".to_string(),
            uri: None,
            digest: digest_set(lock),
        });
    }
    Statement {
        statement_type: STATEMENT_TYPE.to_string(),
        subject: vec![Subject {
            name: facts.name.to_string(),
            digest: digest_set(&facts.subject),
        }],
        predicate_type: SLSA_PROVENANCE_V1.to_string(),
        predicate: Provenance {
            build_definition: BuildDefinition {
                build_type: X07_BUNDLE_BUILD_TYPE.to_string(),
                external_parameters: facts.external.clone(),
                internal_parameters: facts.internal.clone(),
                resolved_dependencies: deps,
            },
            run_details: RunDetails {
                builder: json!({
                    "id": format!("https://x07.dev/x07@{}", x07_builder::build::TOOLCHAIN_VERSION),
                    "version": {"x07": x07_builder::build::TOOLCHAIN_VERSION},
                }),
                metadata: json!({"invocationId": facts.derivation}),
            },
        },
    }
}

/// The CycloneDX 1.5 SBOM of the bundle: one component per locked package.
pub fn sbom(target: &Target, facts: &BuildFacts<'_>) -> Value {
    let components: Vec<Value> = target
        .lock
        .iter()
        .flat_map(|l| &l.dependencies)
        .map(|pkg| {
            json!({
                "type": "library",
                "bom-ref": purl(pkg),
                "name": pkg.name.to_string(),
                "version": pkg.version.to_string(),
                "purl": purl(pkg),
                "hashes": [{"alg": "SHA-256", "content": package_digest(pkg).hex()}],
            })
        })
        .collect();
    // a UUID derived from the subject: the same bundle has the same serial number
    let h = facts.subject.hex();
    let uuid = format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    );
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{uuid}"),
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "x07", "version": x07_builder::build::TOOLCHAIN_VERSION}]},
            "component": {"type": "application", "bom-ref": facts.name, "name": facts.name,
                          "hashes": [{"alg": "SHA-256", "content": h}]},
        },
        "components": components,
    })
}

/// The note: the statement signed (or not) in a DSSE envelope, the public key, the SBOM.
pub fn note(statement: &Statement, sbom: Value, signing: &Signing) -> ProvenanceNote {
    let payload = to_canonical_vec(statement).expect("a statement serializes");
    let mut envelope = DsseEnvelope::unsigned(&payload);
    let mut public_key = None;
    if let Signing::Key(key) = signing {
        let signed = envelope
            .signed_bytes()
            .expect("the payload was just encoded");
        envelope.signatures.push(DsseSignature {
            keyid: key.key_id().to_string(),
            sig: key.sign(&signed).to_string(),
        });
        public_key = Some(key.verifying_key().to_base64());
    }
    ProvenanceNote {
        schema_version: Default::default(),
        envelope,
        public_key,
        sbom,
    }
}
