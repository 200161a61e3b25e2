//! The trusted launcher, `x07-launch` (docs/internals/sandbox.md): a static binary built from the
//! runtime's start-up fragments only, kept in the store under the digest of those fragments and
//! the C compiler's identity. `x07 run` starts every backend-`os` program through it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use x07_spec::{Sha256Digest, World};

use crate::build::{BuildError, SubstitutionNote};
use crate::cc::{self, CcIdentity, CcProfile, MuslLibc, NativeInputs, X07Home};
use crate::runtime::{self, MainKind};
use crate::store::{
    ArtifactName, DerivationInputs, Produced, PublishError, StoreError, StoreRoot, Substituter,
};

/// The launcher's artifact name in the store.
pub const LAUNCHER_NAME: &str = "x07-launch";

/// The launcher's whole C source: the sandbox and launch fragments plus its `main`.
pub fn launcher_source() -> String {
    let mut out = String::from("#define X07_SANDBOXED 1\n");
    out.push_str(&runtime::assemble(&["launch_run"]).expect("the launch fragments are embedded"));
    out.push_str(runtime::main_fragment(MainKind::Launch));
    out
}

/// Everything that determines the launcher's bytes (`cc_version_digest`: the compiler's).
fn launcher_inputs(
    cc_version_digest: Sha256Digest,
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
        cc_path: None,
        cc_version_digest,
        cc_flags: cc::profile_flags(CcProfile::Default),
        knobs,
        name: ArtifactName::new(LAUNCHER_NAME)?,
    })
}

/// The launcher's path in the store, built on first use.
pub fn ensure_launcher(home: &X07Home, store: &StoreRoot) -> Result<PathBuf, BuildError> {
    ensure_launcher_with(home, store, None).map(|(path, _)| path)
}

/// The launcher already in the store for this compiler and libc, without building or fetching
/// it (`None`: not there, or no compiler; [`ensure_launcher_with`] then decides).
pub fn stored_launcher(home: &X07Home, store: &StoreRoot) -> Option<PathBuf> {
    let musl = MuslLibc::detect(home);
    let cc = CcIdentity::detect(home).ok()?;
    let inputs = launcher_inputs(cc.version_digest, musl.as_ref()).ok()?;
    let hash = inputs.hash().ok()?;
    store.lookup(&hash, &inputs.name).map(|e| e.binary_path())
}

/// [`ensure_launcher`] that first asks `substituter` (the binary cache) on a store miss; without
/// a C compiler, a trusted cached launcher built by any compiler is used. Also says what the
/// substituter did.
pub fn ensure_launcher_with(
    home: &X07Home,
    store: &StoreRoot,
    substituter: Option<&dyn Substituter>,
) -> Result<(PathBuf, Option<SubstitutionNote>), BuildError> {
    // musl when installed: the launcher starts before every sandboxed program, and a static musl
    // binary starts in about half the time of a static glibc one
    let musl = MuslLibc::detect(home);
    let cc = match CcIdentity::detect(home) {
        Ok(cc) => cc,
        Err(e @ cc::CcError::NotFound { .. }) => {
            let inputs = launcher_inputs(Sha256Digest::of(b""), musl.as_ref())?;
            let (entry, note) =
                crate::build::obtain_without_compiler(home, store, &inputs, substituter, e)?;
            return Ok((entry.binary_path(), note));
        }
        Err(e) => return Err(e.into()),
    };
    let inputs = launcher_inputs(cc.version_digest, musl.as_ref())?;
    let hash = inputs.hash()?;
    if let Some(entry) = store.lookup(&hash, &inputs.name) {
        return Ok((entry.binary_path(), None));
    }
    let note = crate::build::substitute_exact(store, &inputs, &hash, substituter)?;
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
        Ok(Produced::from_c_source(&source).with_cc_version_line(&cc.version_line))
    };
    let built = store.lookup(&hash, &inputs.name).is_none();
    match store.publish(&inputs, produce) {
        Ok(entry) => {
            if built {
                store.remember_without_cc(home, &inputs, &entry);
            }
            Ok((entry.binary_path(), note))
        }
        Err(PublishError::Store(e)) => Err(e.into()),
        Err(PublishError::Produce(e)) => Err(e.into()),
    }
}
