//! Shared by `build`, `run` and `store path`: load the program, repair it, build it.

use std::sync::OnceLock;

use x07_builder::build::{self, BuildOutcome, BuildRequest, SubstitutionNote};
use x07_builder::cc::X07Home;
use x07_builder::frontend::resolve::{load_program, ModuleOrigin};
use x07_builder::frontend::{Diagnostic, LoadedProgram};
use x07_builder::store::{StoreRoot, Substituter};
use x07_spec::{CcProfile, WriteOutcome};
use x07_store_cache::{BinaryCaches, CacheSettings};

use crate::args::{CacheArgs, RepairMode};
use crate::error::CliError;
use crate::target::Target;

/// What the repair step did.
#[derive(Debug, Clone, Copy)]
pub struct RepairDone {
    /// The mode.
    pub mode: RepairMode,
    /// Files rewritten (write) or that would be (memory).
    pub files_changed: u32,
}

/// The program loaded, or the diagnostics that stopped it.
pub type Loaded = Result<LoadedProgram, Vec<Diagnostic>>;

/// Loads the target's program and applies the repair mode to its own files (never the stdlib or
/// locked dependencies, whose bytes the lock pins).
pub fn load_and_repair(
    target: &Target,
    repair: RepairMode,
) -> Result<(Loaded, RepairDone), CliError> {
    let loaded = load_program(&target.entry, &target.entry_display, &target.roots);
    let mut done = RepairDone {
        mode: repair,
        files_changed: 0,
    };
    if let (Ok(program), true) = (&loaded, repair != RepairMode::Off) {
        for m in program.all() {
            let own = match &m.origin {
                ModuleOrigin::Entry => true,
                ModuleOrigin::Root(dir) => {
                    target.roots.dirs().take(target.own_roots).any(|d| d == dir)
                }
                _ => false,
            };
            let (true, Some(path)) = (own, &m.fs_path) else {
                continue;
            };
            let canonical = m.canonical_file_bytes();
            if canonical == m.raw {
                continue;
            }
            done.files_changed += 1;
            if repair == RepairMode::Write {
                match x07_spec::write_if_changed(path, &canonical) {
                    Ok(WriteOutcome::Unchanged) | Ok(_) => {}
                    Err(e) => {
                        return Err(CliError::setup(
                            "X07-FMT-0001",
                            format!("cannot rewrite {} in canonical form: {e}", path.display()),
                        )
                        .help("make the file writable, or pass --repair memory / --repair off"))
                    }
                }
            }
        }
    }
    Ok((loaded, done))
}

/// The binary caches `x07 build`, `x07 run` and `x07 test` consult, resolved once by
/// [`configure_substituters`]; other commands never substitute.
static CACHES: OnceLock<Option<BinaryCaches>> = OnceLock::new();

/// Resolves the substituters and trusted keys from the flags, `X07_SUBSTITUTERS` /
/// `X07_TRUSTED_PUBLIC_KEYS` and `$X07_HOME/substituters.json`. A bad URL, key or config file is
/// an error (exit 2); an unreachable or untrusted cache is not (the build compiles instead).
pub fn configure_substituters(args: &CacheArgs) -> Result<(), CliError> {
    let home = home()?;
    let settings = CacheSettings::resolve(&home, &args.substituters, &args.trusted_keys)
        .map_err(cache_error)?;
    let _ = CACHES.set(BinaryCaches::new(&home, &settings));
    Ok(())
}

/// The configured substituters, if any.
pub(crate) fn substituter() -> Option<&'static dyn Substituter> {
    CACHES
        .get()
        .and_then(Option::as_ref)
        .map(|c| c as &dyn Substituter)
}

/// A binary cache error as a CLI error (exit 2).
pub fn cache_error(e: x07_store_cache::CacheError) -> CliError {
    let help = match e.code() {
        "X07-CACHE-0002" => Some("check the URL, the network and the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the shared credentials file)"),
        _ => None,
    };
    let err = CliError::setup(e.code(), e.to_string());
    match help {
        Some(h) => err.help(h),
        None => err,
    }
}

/// Says on stderr, in one line, what the substituters did for `entry`.
fn say_substitution(what: &str, note: Option<&SubstitutionNote>) {
    if let Some(note) = note {
        crate::output::note!("x07: {what}: {note}");
    }
}

/// Builds a loaded program for the target into the user's store.
pub fn build_target(
    target: &Target,
    program: &LoadedProgram,
    cc_profile: CcProfile,
) -> Result<BuildOutcome, CliError> {
    let home = home()?;
    let store = StoreRoot::new(&home);
    let gc_root = gc_root_of(target);
    build_with(
        &home,
        &store,
        target,
        program,
        cc_profile,
        gc_root.as_deref(),
        None,
        substituter(),
    )
}

/// The project directory a build registers as its GC root.
fn gc_root_of(target: &Target) -> Option<std::path::PathBuf> {
    target
        .project_root()
        .map(|r| std::path::absolute(r).unwrap_or_else(|_| r.to_path_buf()))
}

/// [`build_target`], or for the vm backend a fully static build (musl), which the guest runs
/// without any library of the host.
pub fn build_target_for(
    static_for_vm: bool,
    target: &Target,
    program: &LoadedProgram,
    cc_profile: CcProfile,
) -> Result<BuildOutcome, CliError> {
    if !static_for_vm {
        return build_target(target, program, cc_profile);
    }
    let musl = x07_builder::cc::musl_specs().ok_or_else(|| {
        CliError::setup(
            "X07-SANDBOX-0001",
            "the vm backend runs programs built static against musl, which is not installed",
        )
        .help("install musl (Debian: apt-get install musl-tools)")
    })?;
    let home = home()?;
    let store = StoreRoot::new(&home);
    build_with(
        &home,
        &store,
        target,
        program,
        cc_profile,
        None,
        Some(musl),
        substituter(),
    )
}

/// Builds into a scratch store (`--check`): no GC root, no substitution, always compiled.
pub fn build_into(
    home: &X07Home,
    store: &StoreRoot,
    target: &Target,
    program: &LoadedProgram,
    cc_profile: CcProfile,
) -> Result<BuildOutcome, CliError> {
    build_with(home, store, target, program, cc_profile, None, None, None)
}

/// The build request of `target` (with musl for a static build) run against `store`.
#[allow(clippy::too_many_arguments)]
fn build_with(
    home: &X07Home,
    store: &StoreRoot,
    target: &Target,
    program: &LoadedProgram,
    cc_profile: CcProfile,
    gc_root: Option<&std::path::Path>,
    musl_specs: Option<std::path::PathBuf>,
    substituter: Option<&dyn Substituter>,
) -> Result<BuildOutcome, CliError> {
    let mut req = BuildRequest::new(
        program,
        target.world,
        cc_profile,
        target.lock_digest,
        target.name.clone(),
        gc_root,
    );
    // the C of the packages this program loads, not of every package the project could use
    req.native = target.native_for(program).map_err(CliError::from)?;
    req.native.musl_specs = musl_specs;
    req.substituter = substituter;
    let outcome = build::build(home, store, &req)?;
    if let BuildOutcome::Built(b) = &outcome {
        say_substitution(&b.entry.dir_name(), b.substitution.as_ref());
    }
    Ok(outcome)
}

/// The trusted launcher `x07-launch`, built into the user's store on first use (or substituted).
pub fn launcher() -> Result<std::path::PathBuf, CliError> {
    let home = home()?;
    let store = StoreRoot::new(&home);
    let (path, note) = x07_builder::launcher::ensure_launcher_with(&home, &store, substituter())?;
    say_substitution(x07_builder::launcher::LAUNCHER_NAME, note.as_ref());
    Ok(path)
}

/// `$X07_HOME` (default `~/.x07`).
pub fn home() -> Result<X07Home, CliError> {
    X07Home::from_env().map_err(|e| {
        CliError::setup("X07-STORE-0001", e.to_string())
            .help("set X07_HOME to a writable directory")
    })
}

/// Prints diagnostics human-readably on stderr.
pub fn print_diagnostics(diags: &[Diagnostic]) {
    let mut s = String::new();
    for d in diags {
        s.push_str(&d.render());
    }
    eprint!("{s}");
}

/// Converts builder diagnostics to the report type.
pub fn report_diagnostics(diags: &[Diagnostic]) -> Vec<x07_spec::Diagnostic> {
    diags
        .iter()
        .map(|d| {
            let mut r = x07_spec::Diagnostic::error(d.code.0, d.message.clone());
            if let Some(f) = &d.file {
                r = r.with_file(f.clone());
            }
            if let Some(p) = &d.ptr {
                r = r.with_ptr(p.clone());
            }
            if let (Some(l), Some(c)) = (d.line, d.column) {
                r = r.with_position(l as u32, c as u32);
            }
            if let Some(h) = &d.help {
                r = r.with_help(h.clone());
            }
            r
        })
        .collect()
}

/// Refuses worlds this build cannot run yet, with the message users need.
pub fn require_supported_world(target: &Target) -> Result<(), CliError> {
    match target.world {
        x07_spec::World::SolvePure | x07_spec::World::RunOs | x07_spec::World::RunOsSandboxed => {
            Ok(())
        }
        w => Err(CliError::setup(
            "X07-WORLD-0002",
            format!("world `{}` is not supported yet", w.as_str()),
        )
        .help("use a profile with world solve-pure, run-os or run-os-sandboxed")),
    }
}

/// The compile section of a report: `ok`, and nothing else known yet.
pub fn compile_section(ok: bool, world: x07_spec::World) -> x07_spec::CompileSection {
    use x07_spec::report::{NativeRequires, NativeRequiresVersion};
    x07_spec::CompileSection {
        ok,
        exit_status: if ok { 0 } else { 1 },
        lang_id: x07_builder::build::LANG_ID.to_string(),
        native_requires: Some(NativeRequires {
            schema_version: NativeRequiresVersion,
            world,
            requires: Vec::new(),
        }),
        c_source_size: None,
        compiled_exe: None,
        compiled_exe_size: None,
        compile_error: None,
        diagnostics: None,
        stdout_b64: String::new(),
        stderr_b64: String::new(),
        fuel_used: None,
        trap: None,
    }
}
