//! The PolicyBlob handed to the launcher: the effective policy with its paths resolved and, for
//! backend `os`, the seccomp programs the launcher installs (docs/internals/sandbox.md).

use std::path::Path;

use x07_spec::policy::blob::{AcceptWeaker, BlobBackend, BlobError, PolicyBlob};
use x07_spec::policy::Policy;
use x07_syscall_filter::FilterNeeds;

/// Why a blob cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum EncodeBlobError {
    /// The policy itself cannot be encoded.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The seccomp programs cannot be generated for this machine.
    #[error("cannot generate the seccomp filter: {0}")]
    Filter(String),
}

/// The blob bytes for `policy` run from `project_root` (bare executables looked up on `PATH`).
pub fn encode_blob(
    policy: &Policy,
    project_root: &Path,
    backend: BlobBackend,
    accept_weaker: AcceptWeaker,
) -> Result<Vec<u8>, EncodeBlobError> {
    let path = std::env::var_os("PATH");
    let mut blob = PolicyBlob::resolve(
        policy,
        project_root,
        path.as_deref(),
        backend,
        accept_weaker,
    )?;
    if backend == BlobBackend::Os {
        let net = &blob.net;
        let needs = FilterNeeds {
            net: net.enabled,
            tcp: net.enabled && net.allow_tcp,
            udp: net.enabled && (net.allow_udp || net.allow_dns),
        };
        blob.syscall_filters = x07_syscall_filter::program_filters(&needs)
            .map_err(|e| EncodeBlobError::Filter(e.to_string()))?;
    }
    Ok(blob.to_bytes())
}
