//! `x07.bundle.report@0.5.0`: the public `x07.bundle.report@0.4.0` shape, plus our fields
//! (`bundle.sandbox_backend`, `bundle.store_path`, `bundle.sha256`, `bundle.size`,
//! `bundle.subject_sha256`, `bundle.signer_key_id`, `bundle.provenance`, `bundle.sbom`,
//! `bundle.static_link`, `bundle.closure`,
//! `bundle.policy.digest`, `bundle.policy.sealed`) under a bumped minor version.

use serde::{Deserialize, Serialize};

use crate::report::{CompileSection, SandboxBackend};
use crate::run_report::{ReportRunner, RunTarget};
use crate::schema_tag::schema_tag;
use crate::World;

schema_tag!(
    /// `x07.bundle.report@0.5.0`.
    BundleReportVersion = "x07.bundle.report@0.5.0"
);

/// What `x07 bundle` printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleReport {
    /// Always [`BundleReportVersion`].
    pub schema_version: BundleReportVersion,
    /// Where the bundle was built (always the host).
    pub runner: ReportRunner,
    /// The world the program was built for.
    pub world: World,
    /// The target and what it resolved to.
    pub target: RunTarget,
    /// The bundle.
    pub bundle: BundleInfo,
    /// The compile step.
    pub compile: CompileSection,
}

/// What kind of bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleKind {
    /// One native executable (os, or sandbox sealed with the os/none backend).
    Native,
    /// A launcher plus a VM sidecar directory.
    Vm,
}

/// The bundle's argument ABI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleAbi {
    /// Always `argv_v1`.
    pub kind: String,
}

/// The sealed policy of a sandbox bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundlePolicy {
    /// The base policy file.
    pub base_policy: String,
    /// The effective (derived, when overrides were given) policy file.
    pub effective_policy: String,
    /// Environment keys the public toolchain embeds; empty: the policy is sealed instead.
    pub embedded_env_keys: Vec<String>,
    /// sha256 of the effective policy's canonical JSON.
    pub digest: String,
    /// Whether the policy is sealed in the executable (always true).
    pub sealed: bool,
}

/// The bundle itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleInfo {
    /// The executable written.
    pub out: String,
    /// argv_v1 token 0 (the output file's name).
    pub name: String,
    /// The argument ABI.
    pub abi: BundleAbi,
    /// The sealed policy (world run-os-sandboxed only).
    pub policy: Option<BundlePolicy>,
    /// `--emit-dir`, when given.
    pub emit_dir: Option<String>,
    /// Native or VM.
    pub kind: BundleKind,
    /// The VM guest (VM bundles only; not built yet).
    pub guest: Option<serde_json::Value>,
    /// The sandbox backend the sealed launcher applies (sandbox bundles only).
    pub sandbox_backend: Option<SandboxBackend>,
    /// The store entry holding the bundle.
    pub store_path: String,
    /// sha256 of the executable.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// sha256 of the executable without its provenance note: the signed statement's subject
    /// (and the store entry).
    pub subject_sha256: String,
    /// The key id that signed the provenance; `None`: unsigned (`--no-sign`).
    pub signer_key_id: Option<String>,
    /// The DSSE envelope written beside the executable.
    pub provenance: String,
    /// The CycloneDX SBOM written beside the executable.
    pub sbom: String,
    /// Whether the program is fully static (`--static`, musl): it runs with nothing installed.
    pub static_link: bool,
    /// The program's dynamic closure: its ELF interpreter and every shared library it needs,
    /// resolved on this host (empty when static).
    pub closure: Vec<String>,
}
