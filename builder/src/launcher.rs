//! The trusted launcher, `x07-launch` (docs/internals/sandbox.md): a static binary built from the
//! runtime's start-up fragments only, kept in the store under the digest of those fragments and
//! the C compiler's identity. `x07 run` starts every backend-`os` program through it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use x07_spec::World;

use crate::build::BuildError;
use crate::cc::{self, CcIdentity, CcProfile, MuslLibc, NativeInputs, X07Home};
use crate::runtime::{self, MainKind};
use crate::store::{ArtifactName, DerivationInputs, Produced, PublishError, StoreError, StoreRoot};

/// The launcher's artifact name in the store.
pub const LAUNCHER_NAME: &str = "x07-launch";

/// The launcher's whole C source: the sandbox and launch fragments plus its `main`.
pub fn launcher_source() -> String {
    let mut out = String::from("#define X07_SANDBOXED 1\n");
    out.push_str(&runtime::assemble(&["launch_run"]).expect("the launch fragments are embedded"));
    out.push_str(runtime::main_fragment(MainKind::Launch));
    out
}

/// Everything that determines the launcher's bytes.
fn launcher_inputs(
    cc: &CcIdentity,
    musl: Option<&MuslLibc>,
) -> Result<DerivationInputs, StoreError> {
    let mut knobs = BTreeMap::from([
        ("main".to_string(), "launch".to_string()),
        ("link".to_string(), "static".to_string()),
    ]);
    if let Some(musl) = musl {
        knobs.insert("libc".to_string(), musl.knob.clone());
    }
    Ok(DerivationInputs {
        toolchain_version: crate::build::TOOLCHAIN_VERSION.to_string(),
        embedded_digest: runtime::embedded_digest()
            .parse()
            .expect("build.rs writes a valid digest"),
        modules: BTreeMap::new(),
        lock_digest: None,
        world: World::RunOsSandboxed,
        cc_path: cc.path.clone(),
        cc_version_digest: cc.version_digest,
        cc_flags: cc::profile_flags(CcProfile::Default),
        knobs,
        name: ArtifactName::new(LAUNCHER_NAME)?,
    })
}

/// The launcher's path in the store, built on first use.
pub fn ensure_launcher(home: &X07Home, store: &StoreRoot) -> Result<PathBuf, BuildError> {
    let cc = CcIdentity::detect(home)?;
    // musl when installed: the launcher starts before every sandboxed program, and a static musl
    // binary starts in about half the time of a static glibc one
    let musl = MuslLibc::detect(home);
    let inputs = launcher_inputs(&cc, musl.as_ref())?;
    let produce = |staging: &crate::store::Staging| -> Result<Produced, cc::CcError> {
        let source = launcher_source();
        let native = NativeInputs {
            static_link: true,
            musl_specs: musl.as_ref().map(|m| m.specs.clone()),
            ..NativeInputs::default()
        };
        // x07's own code, built outside the build sandbox it is part of
        cc::compile_c_native(
            &cc,
            &source,
            &native,
            &staging.binary_path(),
            CcProfile::Default,
            None,
        )?;
        Ok(Produced::from_c_source(&source))
    };
    match store.publish(&inputs, produce) {
        Ok(entry) => Ok(entry.binary_path()),
        Err(PublishError::Store(e)) => Err(e.into()),
        Err(PublishError::Produce(e)) => Err(e.into()),
    }
}
