//! The build pipeline: derivation inputs → store lookup → (on a miss) check, emit C, compile,
//! publish. A store hit costs a few digests and one `stat`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use x07_spec::{CcProfile, Sha256Digest, World};

use crate::cc::{self, CcError, CcIdentity, NativeInputs, X07Home};
use crate::emit::{self, EmitError, EmitOptions, EntryPoint};
use crate::frontend::check::{check_program, CheckOptions};
use crate::frontend::{Diagnostic, LoadedProgram};
use crate::store::{
    ArtifactName, DerivationHash, DerivationInputs, Produced, PublishError, StoreEntry, StoreError,
    StoreRoot, Substituter, Substitution, Wanted,
};

/// The version of this toolchain (part of every derivation).
pub const TOOLCHAIN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The language id reported in run reports.
pub const LANG_ID: &str = "x07-core@0.2.0";

/// Default fuel baked into binaries (overridable at run time with `--solve-fuel=N`).
pub const DEFAULT_SOLVE_FUEL: u64 = 50_000_000;

/// Default heap arena baked into binaries (overridable at run time with `--max-memory-bytes=N`).
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 64 * 1024 * 1024;

/// What to build.
#[derive(Debug)]
pub struct BuildRequest<'a> {
    /// The loaded program.
    pub program: &'a LoadedProgram,
    /// Target world.
    pub world: World,
    /// C compiler optimisation profile.
    pub cc_profile: CcProfile,
    /// Digest of the project's lockfile, if any.
    pub lock_digest: Option<Sha256Digest>,
    /// The artifact name (the entry file's stem).
    pub name: ArtifactName,
    /// The project directory to register as a GC root (none for one-off programs).
    pub gc_root: Option<&'a Path>,
    /// C sources and libraries from packages (`ffi/`), linked with the program.
    pub native: NativeInputs,
    /// The program's `main`: framed (`x07 run`, `x07 build`) or a bundle's.
    pub entry: EntryPoint,
    /// Where to look for a prebuilt entry before compiling (the binary cache), if anywhere.
    pub substituter: Option<&'a dyn Substituter>,
    /// Test-only switches; always `TestHooks::default()` outside tests.
    #[cfg(feature = "test-hooks")]
    pub insecure_test_hooks: TestHooks,
}

/// Test-only build switches. No CLI flag or environment variable reaches them (the `test-hooks`
/// feature exists for the attack suite), and they are part of the derivation hash.
#[cfg(feature = "test-hooks")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TestHooks {
    /// Compile the in-process policy checks out, to show the kernel layer holds on its own.
    pub disable_in_process_checks: bool,
}

impl<'a> BuildRequest<'a> {
    /// A request with no test hooks (the only kind the CLI makes).
    pub fn new(
        program: &'a LoadedProgram,
        world: World,
        cc_profile: CcProfile,
        lock_digest: Option<Sha256Digest>,
        name: ArtifactName,
        gc_root: Option<&'a Path>,
    ) -> Self {
        Self {
            program,
            world,
            cc_profile,
            lock_digest,
            name,
            gc_root,
            native: NativeInputs::default(),
            entry: EntryPoint::Framed,
            substituter: None,
            #[cfg(feature = "test-hooks")]
            insecure_test_hooks: TestHooks::default(),
        }
    }

    /// The emitter settings for this request.
    pub fn emit_options(&self) -> EmitOptions {
        EmitOptions {
            sandboxed: self.world == World::RunOsSandboxed,
            #[cfg(feature = "test-hooks")]
            disable_in_process_checks: self.insecure_test_hooks.disable_in_process_checks,
            #[cfg(not(feature = "test-hooks"))]
            disable_in_process_checks: false,
            links_native: !self.native.sources.is_empty(),
        }
    }
}

/// A successful build.
#[derive(Debug, Clone)]
pub struct Built {
    /// The store entry with the binary.
    pub entry: StoreEntry,
    /// The derivation hash.
    pub hash: DerivationHash,
    /// Whether the entry was already in the store.
    pub cache_hit: bool,
    /// What the substituters did: where the entry came from, or why none could be used.
    pub substitution: Option<SubstitutionNote>,
}

/// What the substituters did for one build, for the one line x07 prints about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubstitutionNote {
    /// The entry was fetched from this cache, built by this compiler.
    Fetched {
        /// The cache URL.
        from: String,
        /// The compiler that built it (from its signed record).
        compiler: String,
    },
    /// No cache had a usable entry; it was compiled here. One reason per cache.
    Missed(Vec<String>),
}

impl fmt::Display for SubstitutionNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubstitutionNote::Fetched { from, compiler } => {
                write!(f, "substituted from {from} (built by {compiler})")
            }
            SubstitutionNote::Missed(reasons) => {
                write!(
                    f,
                    "no usable binary cache entry ({}); built locally",
                    reasons.join("; ")
                )
            }
        }
    }
}

/// The outcome of a build that ran to completion.
#[derive(Debug)]
pub enum BuildOutcome {
    /// Built (or found) in the store.
    Built(Built),
    /// The program has compile errors; nothing was written to the store.
    Rejected(Vec<Diagnostic>),
}

/// A build that could not run: setup problems, not problems of the program.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The C compiler is missing or failed.
    #[error(transparent)]
    Cc(#[from] CcError),
    /// The store cannot be used.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Emission failed (an x07 bug).
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// The world is not supported yet.
    #[error("world `{0}` is not supported yet (its fixture builtins fs.*, rr.*, kv.* are not built): use solve-pure, run-os or run-os-sandboxed")]
    UnsupportedWorld(String),
    /// No C compiler, and no substituter had a trusted entry for the inputs (X07-CC-0001).
    #[error("{cc}; and no binary cache had a trusted entry to use instead: {}", reasons.join("; "))]
    NoCompilerNoSubstitute {
        /// Why there is no compiler.
        cc: CcError,
        /// Why each substituter could not help.
        reasons: Vec<String>,
    },
}

impl BuildError {
    /// The diagnostic code of docs/diagnostics.md.
    pub fn code(&self) -> &'static str {
        match self {
            BuildError::Cc(e) | BuildError::NoCompilerNoSubstitute { cc: e, .. } => e.code(),
            BuildError::Store(e) => e.code(),
            BuildError::Emit(_) => "X07-CC-0002",
            BuildError::UnsupportedWorld(_) => "X07-WORLD-0002",
        }
    }
}

enum ProduceError {
    Rejected(Vec<Diagnostic>),
    Emit(EmitError),
    Cc(CcError),
    Io(std::io::Error),
    /// The build sandbox's launcher could not be built.
    Launcher(Box<BuildError>),
}

/// Everything that determines the binary, for this program and build settings.
pub fn derivation_inputs(req: &BuildRequest<'_>, cc: &CcIdentity) -> DerivationInputs {
    inputs_with_cc_digest(req, cc.version_digest)
}

/// [`derivation_inputs`] on a machine without a C compiler: the compiler's digest is that of
/// nothing, so only [`DerivationInputs::hash_without_cc`] of the result means anything.
pub fn derivation_inputs_without_cc(req: &BuildRequest<'_>) -> DerivationInputs {
    inputs_with_cc_digest(req, Sha256Digest::of(b""))
}

fn inputs_with_cc_digest(
    req: &BuildRequest<'_>,
    cc_version_digest: Sha256Digest,
) -> DerivationInputs {
    let mut knobs = match &req.entry {
        EntryPoint::Framed => BTreeMap::from([
            ("main".to_string(), "framed".to_string()),
            (
                "solve_fuel_default".to_string(),
                DEFAULT_SOLVE_FUEL.to_string(),
            ),
            (
                "max_memory_bytes_default".to_string(),
                DEFAULT_MAX_MEMORY_BYTES.to_string(),
            ),
        ]),
        EntryPoint::Bundle(b) => BTreeMap::from([
            ("main".to_string(), "argv".to_string()),
            ("bundle_name".to_string(), b.name.clone()),
            ("solve_fuel".to_string(), b.solve_fuel.to_string()),
            (
                "max_memory_bytes".to_string(),
                b.max_memory_bytes.to_string(),
            ),
            (
                "max_output_bytes".to_string(),
                b.max_output_bytes.to_string(),
            ),
            (
                "cpu_time_limit_seconds".to_string(),
                b.cpu_time_limit_seconds
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
            ),
            (
                "embedded_policy".to_string(),
                b.embedded_policy
                    .as_ref()
                    .map(|p| Sha256Digest::of(p).to_string())
                    .unwrap_or_default(),
            ),
        ]),
    };
    if !req.native.sources.is_empty() || !req.native.libs.is_empty() {
        // Sources by content (their location is irrelevant), libraries by name, both in order.
        let sources: Vec<String> = req
            .native
            .sources
            .iter()
            .map(|p| {
                let digest = fs_err::read(p)
                    .map(|b| Sha256Digest::of(&b).to_string())
                    .unwrap_or_else(|e| format!("unreadable: {e}"));
                format!(
                    "{}={digest}",
                    p.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                )
            })
            .collect();
        knobs.insert("ffi_sources".to_string(), sources.join(","));
        let others = ffi_other_files(&req.native);
        if !others.is_empty() {
            knobs.insert("ffi_other_files".to_string(), others.join(","));
        }
        knobs.insert("ffi_libs".to_string(), req.native.libs.join(","));
    }
    // the consumer's budget profiles are inputs by content (where they were found is not)
    knobs.extend(req.program.budgets.derivation_lines());
    knobs.extend(req.program.rr.derivation_lines());
    if let Some(specs) = &req.native.musl_specs {
        // the libc is an input: its specs file and static archive, by content
        knobs.insert("libc".to_string(), cc::musl_knob(specs));
    }
    if req.emit_options().disable_in_process_checks {
        knobs.insert(
            "insecure_test_disable_in_process_checks".to_string(),
            "1".to_string(),
        );
    }
    DerivationInputs {
        toolchain_version: TOOLCHAIN_VERSION.to_string(),
        embedded_digest: crate::runtime::embedded_digest()
            .parse()
            .expect("build.rs writes a valid digest"),
        modules: req.program.module_digests(),
        lock_digest: req.lock_digest,
        world: req.world,
        cc_path: None,
        cc_version_digest,
        cc_flags: cc::profile_flags(req.cc_profile),
        knobs,
        name: req.name.clone(),
    }
}

/// The directories of the packages' C sources: the build's declared inputs besides the C text.
fn ffi_dirs(native: &NativeInputs) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = native
        .sources
        .iter()
        .filter_map(|s| s.parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// Every file of the ffi directories other than the C sources (headers a source may include),
/// as `name=digest`: they are readable inside the build sandbox, so they are inputs.
fn ffi_other_files(native: &NativeInputs) -> Vec<String> {
    let mut out = Vec::new();
    for dir in ffi_dirs(native) {
        let Ok(entries) = fs_err::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && !native.sources.contains(p))
            .collect();
        files.sort();
        for f in files {
            let digest = fs_err::read(&f)
                .map(|b| Sha256Digest::of(&b).to_string())
                .unwrap_or_else(|e| format!("unreadable: {e}"));
            out.push(format!(
                "{}={digest}",
                f.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
        }
    }
    out
}

/// Checks and emits the program as C (no store, no compiler).
pub fn emit_c(
    program: &LoadedProgram,
    world: World,
    entry: &EntryPoint,
    options: &EmitOptions,
) -> Result<Result<emit::EmittedC, Vec<Diagnostic>>, EmitError> {
    let typed = match check_program(
        program,
        &CheckOptions {
            os_world: world.is_os(),
            fs_world: matches!(world, World::SolveFs | World::SolveFull | World::RunOs),
            rr_world: matches!(world, World::SolveRr | World::SolveFull | World::RunOs),
        },
    ) {
        Ok(t) => t,
        Err(d) => return Ok(Err(d)),
    };
    Ok(Ok(emit::emit_program(&typed, entry, options)?))
}

/// Builds the program into `store` (or finds it there).
pub fn build(
    home: &X07Home,
    store: &StoreRoot,
    req: &BuildRequest<'_>,
) -> Result<BuildOutcome, BuildError> {
    if !matches!(
        req.world,
        World::SolvePure | World::SolveFs | World::SolveRr | World::RunOs | World::RunOsSandboxed
    ) {
        return Err(BuildError::UnsupportedWorld(req.world.as_str().to_string()));
    }
    let cc = match CcIdentity::detect(home) {
        Ok(cc) => cc,
        // no compiler at all (a broken one is an error to fix, not a reason to take any entry)
        Err(e @ CcError::NotFound { .. }) => return build_without_compiler(home, store, req, e),
        Err(e) => return Err(e.into()),
    };
    let inputs = derivation_inputs(req, &cc);
    let hash = inputs.hash()?;
    let substitution = substitute_exact(store, &inputs, &hash, req.substituter)?;
    let produce = |staging: &crate::store::Staging| -> Result<Produced, ProduceError> {
        let emitted = match emit_c(req.program, req.world, &req.entry, &req.emit_options())
            .map_err(ProduceError::Emit)?
        {
            Ok(s) => s,
            Err(d) => return Err(ProduceError::Rejected(d)),
        };
        let source = emitted.source;
        // the libraries of the runtime fragments the program uses (a database client), after
        // the packages' own: which ones is a function of the program, already in the hash
        let mut native = req.native.clone();
        for lib in emitted.libs {
            if !native.libs.contains(&lib) {
                native.libs.push(lib);
            }
        }
        fs_err::write(staging.c_source_path(), &source).map_err(ProduceError::Io)?;
        // Only a build that compiles needs the launcher: a cached one never resolves it.
        let launcher = crate::launcher::ensure_launcher_with(home, store, req.substituter)
            .map(|(path, _)| path)
            .map_err(Box::new)
            .map_err(ProduceError::Launcher)?;
        let sandbox =
            cc::BuildSandbox::new(&launcher, &ffi_dirs(&req.native)).map_err(ProduceError::Cc)?;
        cc::compile_c_native(
            &cc,
            &source,
            &native,
            &staging.binary_path(),
            req.cc_profile,
            Some(&sandbox),
        )
        .map_err(ProduceError::Cc)?;
        Ok(Produced::from_c_source(&source).with_cc_version_line(&cc.version_line))
    };
    let result = match req.gc_root {
        Some(dir) => store
            .realize_hashed(&inputs, &hash, dir, produce)
            .map(|r| (r.entry, !r.built)),
        None => match store.lookup(&hash, &inputs.name) {
            Some(e) => Ok((e, true)),
            None => store.publish(&inputs, produce).map(|e| (e, false)),
        },
    };
    match result {
        Ok((entry, cache_hit)) => {
            tracing::info!(
                derivation = hash.as_str(),
                entry = %entry.dir.display(),
                "{}",
                if cache_hit { "store hit" } else { "built into the store" }
            );
            if !cache_hit {
                store.remember_without_cc(home, &inputs, &entry);
            }
            let substituted = matches!(substitution, Some(SubstitutionNote::Fetched { .. }));
            Ok(BuildOutcome::Built(Built {
                entry,
                hash,
                cache_hit: cache_hit && !substituted,
                substitution,
            }))
        }
        Err(PublishError::Store(e)) => Err(e.into()),
        Err(PublishError::Produce(ProduceError::Rejected(d))) => Ok(BuildOutcome::Rejected(d)),
        Err(PublishError::Produce(ProduceError::Emit(e))) => Err(e.into()),
        Err(PublishError::Produce(ProduceError::Cc(e))) => Err(e.into()),
        Err(PublishError::Produce(ProduceError::Io(e))) => Err(StoreError::from(e).into()),
        Err(PublishError::Produce(ProduceError::Launcher(e))) => Err(*e),
    }
}

/// On a store miss, asks the substituter for the exact inputs; a fetched entry is then found by
/// the store lookup that follows (which also registers the GC root).
pub(crate) fn substitute_exact(
    store: &StoreRoot,
    inputs: &DerivationInputs,
    hash: &DerivationHash,
    substituter: Option<&dyn Substituter>,
) -> Result<Option<SubstitutionNote>, StoreError> {
    let Some(substituter) = substituter else {
        return Ok(None);
    };
    if store.lookup(hash, &inputs.name).is_some() {
        return Ok(None);
    }
    Ok(Some(
        match substituter.substitute(store, Wanted::Exact(inputs)) {
            Substitution::Fetched { from, compiler, .. } => {
                SubstitutionNote::Fetched { from, compiler }
            }
            Substitution::Missed(reasons) => SubstitutionNote::Missed(reasons),
        },
    ))
}

/// No C compiler: a local entry or a trusted cache entry for the same inputs built by any
/// compiler, or the compiler error with every substituter's reason.
fn build_without_compiler(
    home: &X07Home,
    store: &StoreRoot,
    req: &BuildRequest<'_>,
    cc: CcError,
) -> Result<BuildOutcome, BuildError> {
    let inputs = derivation_inputs_without_cc(req);
    let (entry, substitution) = obtain_without_compiler(home, store, &inputs, req.substituter, cc)?;
    if let Some(dir) = req.gc_root {
        store.register_root(dir, &entry)?;
    }
    Ok(BuildOutcome::Built(Built {
        hash: entry.hash.clone(),
        cache_hit: substitution.is_none(),
        entry,
        substitution,
    }))
}

/// The entry for `inputs` (compiler digest ignored) from the local index or a substituter.
pub(crate) fn obtain_without_compiler(
    home: &X07Home,
    store: &StoreRoot,
    inputs: &DerivationInputs,
    substituter: Option<&dyn Substituter>,
    cc: CcError,
) -> Result<(StoreEntry, Option<SubstitutionNote>), BuildError> {
    if let Some(entry) = store.lookup_without_cc(home, inputs) {
        return Ok((entry, None));
    }
    let Some(substituter) = substituter else {
        return Err(cc.into());
    };
    match substituter.substitute(store, Wanted::WithoutCompiler(inputs)) {
        Substitution::Fetched {
            entry,
            from,
            compiler,
        } => {
            if let Ok(record) = entry.build_record() {
                store.remember_without_cc(home, &record.inputs, &entry);
            }
            Ok((entry, Some(SubstitutionNote::Fetched { from, compiler })))
        }
        Substitution::Missed(reasons) => Err(BuildError::NoCompilerNoSubstitute { cc, reasons }),
    }
}
