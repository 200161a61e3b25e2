//! Command-line surface (clap). Exit codes and diagnostic codes: docs/diagnostics.md.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    the program failed to compile or run (the JSON report is still printed)
  2    usage or setup error (bad flag, missing file, no C compiler, unsupported feature)
  3    invalid run policy
  101  internal error (a bug in x07)

Every error carries a code such as X07-TYPE-0001; see docs/diagnostics.md.";

const BUNDLE_EXIT_CODES: &str = "\
Exit codes:
  0    the bundle was written (the JSON report is on stdout)
  1    the program failed to compile (the JSON report is still printed)
  2    usage or setup error
  3    invalid run policy
  101  internal error (a bug in x07)

The bundle itself exits with the program's exit code; 70 when the program traps or its output
exceeds --max-output-bytes; a sandbox bundle exits 3 when its sandbox cannot be applied.
See docs/bundling.md.";

const TEST_EXIT_CODES: &str = "\
Exit codes:
  0    every test met its expectation
  2    usage or setup error (no manifest, an invalid manifest, an entry module that is nowhere)
  10   a test missed its expectation (failed, or expected to fail and passed)
  11   a test did not compile
  12   a test trapped, exited wrongly or printed no valid status
  101  internal error (a bug in x07)

See docs/testing.md.";

/// The whole command line, with the exit-code footer on every command that has no footer of its
/// own (`x07 --help`, `x07 store ls --help`, completions and the man page all come from here).
pub fn command() -> clap::Command {
    fn footer(cmd: clap::Command) -> clap::Command {
        let cmd = if cmd.get_after_help().is_none() {
            cmd.after_help(EXIT_CODES)
        } else {
            cmd
        };
        cmd.mut_subcommands(footer)
    }
    footer(<Cli as clap::CommandFactory>::command())
}

/// Parses a command line that shows no help. `x07 run` and `x07 build`, the hot paths, are
/// parsed against their own subcommand alone: clap's derive builds every subcommand's arguments
/// otherwise, and paging that code in costs a warm run most of a millisecond (bench (a)).
/// Everything else goes through the whole tree.
pub fn parse_fast(argv: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let first_word = argv
        .iter()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with('-'))
        .map(|w| w.to_string_lossy().into_owned());
    match first_word.as_deref() {
        Some("run") => single(argv, "run", |a: RunArgs| Command::Run(Box::new(a))),
        Some("build") => single(argv, "build", Command::Build),
        _ => {
            let m = Cli::command().try_get_matches_from(argv)?;
            Cli::from_arg_matches(&m)
        }
    }
}

/// `x07 NAME ...` parsed against a root holding only the global flags and subcommand `NAME`.
fn single<A: clap::Args + clap::FromArgMatches>(
    argv: Vec<std::ffi::OsString>,
    name: &'static str,
    wrap: impl FnOnce(A) -> Command,
) -> Result<Cli, clap::Error> {
    let root = clap::Command::new("x07")
        .version(env!("CARGO_PKG_VERSION"))
        .arg(
            clap::Arg::new("quiet")
                .short('q')
                .long("quiet")
                .global(true)
                .action(clap::ArgAction::SetTrue)
                .conflicts_with("verbose"),
        )
        .arg(
            clap::Arg::new("verbose")
                .short('v')
                .long("verbose")
                .global(true)
                .action(clap::ArgAction::Count),
        )
        .subcommand(A::augment_args(clap::Command::new(name)))
        .subcommand_required(true);
    let m = root.try_get_matches_from(argv)?;
    let (_, sub) = m.subcommand().expect("the subcommand is required");
    let args = A::from_arg_matches(sub)?;
    Ok(Cli {
        quiet: sub.get_flag("quiet") || m.get_flag("quiet"),
        verbose: sub.get_count("verbose").max(m.get_count("verbose")),
        command: wrap(args),
    })
}

/// x07: build, run and ship X07 programs with hermetic inputs and content-addressed outputs.
#[derive(Debug, Parser)]
#[command(
    name = "x07",
    version,
    after_help = EXIT_CODES,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Print only errors and warnings on stderr (no progress or notes).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also show what x07 decides and why (-v), and debugging detail (-vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new project (x07.json, src/, x07.lock.json, .gitignore) in DIR or the current directory.
    #[command(after_help = EXIT_CODES)]
    Init(InitArgs),
    /// Build the program into the store and print the store path as the last line.
    #[command(after_help = EXIT_CODES)]
    Build(BuildArgs),
    /// Build (a store hit in the common case) and run the program; print the JSON report.
    #[command(after_help = EXIT_CODES)]
    Run(Box<RunArgs>),
    /// Build a release executable at --out: a native CLI (--profile os) or a policy-sealed sandboxed one.
    #[command(after_help = BUNDLE_EXIT_CODES)]
    Bundle(Box<BundleArgs>),
    /// Rewrite x07AST files in canonical form (JCS + newline), or check that they are.
    #[command(after_help = EXIT_CODES)]
    Fmt(FmtArgs),
    /// Inspect and maintain the content-addressed store ($X07_HOME/store).
    #[command(subcommand, arg_required_else_help = true, after_help = EXIT_CODES)]
    Store(StoreCommand),
    /// Create run-os-sandboxed base policies (x07 policy init --template T).
    #[command(subcommand, arg_required_else_help = true, after_help = EXIT_CODES)]
    Policy(crate::cmd::policy::PolicyCommand),
    /// Packages: add, remove, lock, sync, tree, verify; pack, publish, yank, owner; info, versions, search, provides.
    #[command(subcommand, arg_required_else_help = true, after_help = EXIT_CODES)]
    Pkg(crate::cmd::pkg::PkgCommand),
    /// Run a package registry from a directory (x07 registry serve), create its API tokens, pin its key (trust).
    #[command(subcommand, arg_required_else_help = true, after_help = EXIT_CODES)]
    Registry(crate::cmd::registry::RegistryCommand),
    /// Signing keys for lockfiles and bundle provenance.
    #[command(subcommand, arg_required_else_help = true, after_help = EXIT_CODES)]
    Key(crate::cmd::key::KeyCommand),
    /// The VM boundary: build and check the pinned guest image (x07 vm image build|check).
    #[command(subcommand, arg_required_else_help = true, after_help = EXIT_CODES)]
    Vm(crate::cmd::vm::VmCommand),
    /// Build and run a package's tests (tests/tests.json): one line per test, or the x07.x07test report with --json.
    #[command(after_help = TEST_EXIT_CODES)]
    Test(crate::cmd::test::TestArgs),
    /// Check what this machine and the project need (compiler, native libraries, sandbox, qemu, registry), each problem with its fix; exit 1 when something blocks the default profile.
    #[command(after_help = EXIT_CODES)]
    Doctor(crate::cmd::doctor::DoctorArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    #[command(after_help = EXIT_CODES)]
    Completions(crate::cmd::completions::CompletionsArgs),
    /// Print the x07(1) man page (roff) on stdout.
    #[command(after_help = EXIT_CODES)]
    Man,
}

/// `x07 init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create the project in (created if missing); default: the current directory.
    pub dir: Option<PathBuf>,
}

/// Which program to build or run.
#[derive(Debug, Args, Clone, Default)]
pub struct TargetArgs {
    /// The project manifest (x07.json) or its directory; default: found by walking up from the current directory.
    #[arg(long, value_name = "PATH", conflicts_with = "program")]
    pub project: Option<PathBuf>,
    /// A single entry file instead of a project; its directory and each --module-root are the module roots.
    #[arg(long, value_name = "FILE")]
    pub program: Option<PathBuf>,
    /// Extra module root for --program (repeatable).
    #[arg(long = "module-root", value_name = "DIR", requires = "program")]
    pub module_roots: Vec<PathBuf>,
    /// Run profile from x07.json (default: default_profile, then `dev`, then `os`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Compile and link the C sources (`ffi/*.c`) and libraries of packages (the default).
    #[arg(long, conflicts_with = "no_auto_ffi")]
    pub auto_ffi: bool,
    /// Do not compile or link package C sources and libraries.
    #[arg(long)]
    pub no_auto_ffi: bool,
}

/// Where to look for prebuilt store entries before compiling (the binary cache, docs/store.md).
#[derive(Debug, Args, Clone, Default)]
pub struct CacheArgs {
    /// A binary cache to try before compiling: s3://BUCKET?endpoint=URL&region=R, file:///DIR or https://HOST/PATH (repeatable; replaces X07_SUBSTITUTERS and $X07_HOME/substituters.json).
    #[arg(long = "substituter", value_name = "URL")]
    pub substituters: Vec<String>,
    /// A public key whose signatures on cache entries are trusted: the `<key>.pub` file `x07 key generate` writes, or ed25519:BASE64 (repeatable; replaces X07_TRUSTED_PUBLIC_KEYS and the config file's list).
    #[arg(long = "trusted-key", value_name = "FILE")]
    pub trusted_keys: Vec<String>,
}

/// C compiler optimisation profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CcProfileArg {
    /// -O2.
    Default,
    /// -Os.
    Size,
}

/// How source files are repaired before compiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RepairMode {
    /// Rewrite files in canonical form when their bytes change.
    Write,
    /// Compile the canonical form without touching the files.
    Memory,
    /// No repair.
    Off,
}

/// `x07 build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// C compiler profile (default: the profile's cc_profile, else default).
    #[arg(long, value_enum)]
    pub cc_profile: Option<CcProfileArg>,
    /// Print a JSON build report instead of the store path.
    #[arg(long)]
    pub json: bool,
    /// Rebuild in a scratch store from a copy of the sources elsewhere and fail unless the binary is byte-for-byte identical.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Which report `x07 run` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportMode {
    /// The runner report (x07-os-runner.report@0.5.0).
    Runner,
    /// The runner report wrapped in x07.run.report@0.3.0 with target and repair details.
    Wrapped,
}

/// `x07 run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Run a precompiled framed executable (world run-os only).
    #[arg(long, value_name = "EXE", conflicts_with_all = ["project", "program"])]
    pub artifact: Option<PathBuf>,
    /// Read the input bytes from this file.
    #[arg(long, value_name = "FILE", group = "input_source")]
    pub input: Option<PathBuf>,
    /// Read the input bytes from standard input.
    #[arg(long, group = "input_source")]
    pub stdin: bool,
    /// The input bytes, base64-encoded.
    #[arg(long, value_name = "BASE64", group = "input_source")]
    pub input_b64: Option<String>,
    /// Fuel for solve (default 50000000).
    #[arg(long, value_name = "N")]
    pub solve_fuel: Option<u64>,
    /// Heap arena size in bytes (default 67108864).
    #[arg(long, value_name = "BYTES")]
    pub max_memory_bytes: Option<u64>,
    /// Maximum output size in bytes (default 1048576).
    #[arg(long, value_name = "BYTES")]
    pub max_output_bytes: Option<u64>,
    /// CPU time limit in seconds (default 30).
    #[arg(long, value_name = "SECONDS")]
    pub cpu_time_limit_seconds: Option<u64>,
    /// C compiler profile.
    #[arg(long, value_enum)]
    pub cc_profile: Option<CcProfileArg>,
    /// Also copy the built framed executable to PATH.
    #[arg(long, value_name = "PATH")]
    pub compiled_out: Option<PathBuf>,
    /// Report shape.
    #[arg(long, value_enum, default_value = "runner")]
    pub report: ReportMode,
    /// Also write the report to PATH.
    #[arg(long, value_name = "PATH")]
    pub report_out: Option<PathBuf>,
    /// Source repair before compiling.
    #[arg(long, value_enum, default_value = "write")]
    pub repair: RepairMode,
    /// Virtual CPUs of the guest on the vm backend (1 to 64).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub vm_cpus: u32,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Arguments for the program, encoded as argv_v1 input bytes.
    #[arg(last = true, value_name = "ARGS", group = "input_source")]
    pub args: Vec<String>,
}

/// `x07 bundle`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BundleArgs {
    #[command(subcommand)]
    pub action: Option<BundleAction>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// The executable to write; a directory or a path ending in `/` gets `<dir>/<project name>`.
    #[arg(long, value_name = "PATH", required = true)]
    pub out: Option<PathBuf>,
    /// Sign the provenance with this ed25519 key (default: $X07_HOME/keys/lock-signing.pem, as `x07 key generate` writes it).
    #[arg(long, value_name = "FILE", conflicts_with = "no_sign")]
    pub sign_key: Option<PathBuf>,
    /// Leave the provenance unsigned (`x07 bundle verify` then says "unsigned").
    #[arg(long)]
    pub no_sign: bool,
    /// A fully static executable built against musl (Debian: musl-tools), for programs without native libraries.
    #[arg(long = "static")]
    pub static_link: bool,
    /// Fuel for one run of the bundle (default: the profile's, else 50000000).
    #[arg(long, value_name = "N")]
    pub solve_fuel: Option<u64>,
    /// Heap arena size in bytes (default: the profile's, else 67108864).
    #[arg(long, value_name = "BYTES")]
    pub max_memory_bytes: Option<u64>,
    /// Largest output the bundle writes; more ends it with exit 70 (default 1048576).
    #[arg(long, value_name = "BYTES")]
    pub max_output_bytes: Option<u64>,
    /// CPU time limit of an os bundle in seconds (a sandbox bundle uses policy.limits.cpu_ms).
    #[arg(long, value_name = "SECONDS")]
    pub cpu_time_limit_seconds: Option<u64>,
    /// C compiler profile.
    #[arg(long, value_enum)]
    pub cc_profile: Option<CcProfileArg>,
    /// Also write report.json, program.c and (sandbox) policy.used.json to DIR.
    #[arg(long, value_name = "DIR")]
    pub emit_dir: Option<PathBuf>,
    /// Also write the signed provenance (the DSSE envelope of `<out>.intoto.jsonl`) to FILE.
    #[arg(long, value_name = "FILE")]
    pub emit_attestation: Option<PathBuf>,
    /// Refuse programs whose emitted C is larger than BYTES.
    #[arg(long, value_name = "BYTES")]
    pub max_c_bytes: Option<u64>,
    /// Runtime borrow checks in debug builds (not supported yet).
    #[arg(long)]
    pub debug_borrow_checks: bool,
    /// The world, overriding the profile's (run-os or run-os-sandboxed).
    #[arg(long, hide = true, value_name = "WORLD", value_parser = ["run-os", "run-os-sandboxed"])]
    pub world: Option<String>,
    /// Source repair before compiling.
    #[arg(long, value_enum, default_value = "write")]
    pub repair: RepairMode,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

/// `x07 bundle inspect|verify`.
#[derive(Debug, Subcommand)]
pub enum BundleAction {
    /// Show a bundle's kind, world, sealed policy, inputs, SBOM summary and signer.
    Inspect {
        /// The bundle.
        bundle: PathBuf,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Check a bundle's digests, sealed policy, SBOM and signature; exit 1 when anything differs.
    Verify {
        /// The bundle.
        bundle: PathBuf,
        /// Also require that this public key (`<key>.pub` from `x07 key generate`) signed it.
        #[arg(long, value_name = "FILE.pub")]
        key: Option<PathBuf>,
        /// Also rebuild it from the project in the current directory and compare the bytes.
        #[arg(long)]
        rebuild: bool,
        /// The project whose lock the SBOM is checked against (default: found from the current directory).
        #[arg(long, value_name = "PATH")]
        project: Option<PathBuf>,
    },
}

/// Sandbox policy and backend flags of `x07 run` (world run-os-sandboxed only).
#[derive(Debug, Args, Clone, Default)]
pub struct SandboxArgs {
    /// Base policy file (default: the profile's `policy`).
    #[arg(long, value_name = "PATH")]
    pub policy: Option<PathBuf>,
    /// Allow TCP to HOST on explicit ports: HOST:PORT[,PORT...] (repeatable; IPv6 as [::1]:443).
    #[arg(long = "allow-host", value_name = "HOST:PORTS")]
    pub allow_hosts: Vec<String>,
    /// Read --allow-host specs from a file (one per line, # comments).
    #[arg(long = "allow-host-file", value_name = "PATH")]
    pub allow_host_files: Vec<PathBuf>,
    /// Deny HOST:* or HOST:PORT[,PORT...]; denies apply after allows (repeatable).
    #[arg(long = "deny-host", value_name = "HOST:PORTS")]
    pub deny_hosts: Vec<String>,
    /// Read --deny-host specs from a file.
    #[arg(long = "deny-host-file", value_name = "PATH")]
    pub deny_host_files: Vec<PathBuf>,
    /// Add a filesystem read root (repeatable).
    #[arg(long = "allow-read-root", value_name = "PATH")]
    pub allow_read_roots: Vec<PathBuf>,
    /// Add a filesystem write root (repeatable).
    #[arg(long = "allow-write-root", value_name = "PATH")]
    pub allow_write_roots: Vec<PathBuf>,
    /// Isolation backend: auto (= vm), vm, os (kernel-enforced on this host), none (in-process checks only).
    #[arg(long, value_name = "BACKEND", value_parser = ["auto", "vm", "os", "native", "none"])]
    pub sandbox_backend: Option<String>,
    /// Required for the os and none backends, which are weaker than a VM boundary.
    #[arg(long)]
    pub i_accept_weaker_isolation: bool,
    /// Let the os backend run without a kernel mechanism this host lacks (repeatable):
    /// landlock-net (TCP port rules), pids-cgroup (RLIMIT_NPROC only), landlock (no Landlock at all),
    /// userns (no user namespace: no private root, pid, ipc or mount namespace; Landlock, seccomp and
    /// rlimits only).
    /// Without it, a missing mechanism stops the run (exit 3); the report lists what was weakened.
    #[arg(long = "sandbox-accept-weaker", value_name = "MECHANISM", value_parser = ["landlock-net", "pids-cgroup", "landlock", "userns"])]
    pub sandbox_accept_weaker: Vec<String>,
}

/// `x07 fmt`.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Files or directories (default: the project's entry and module roots).
    pub paths: Vec<PathBuf>,
    /// Do not write; exit 1 if a file is not canonical.
    #[arg(long)]
    pub check: bool,
    /// Print `{"files": N, "changed": [...], "malformed": [...]}` on stdout instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// `x07 store ...`.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Print the store path of the program's current build (without building); exit 1 if it is not built.
    Path(StorePathArgs),
    /// List store entries.
    Ls {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Re-hash every entry against its build.json; with --cache, check every record and archive of a binary cache instead; exit 1 on any problem.
    Verify {
        /// Print `{"entries": N, "problems": [{"entry", "problem"}]}` on stdout.
        #[arg(long)]
        json: bool,
        /// Verify this binary cache (s3:// or file://): trusted signatures, every archive against the signed digests.
        #[arg(long, value_name = "URL")]
        cache: Option<String>,
        /// A public key whose signatures are trusted (repeatable; default: X07_TRUSTED_PUBLIC_KEYS, then $X07_HOME/substituters.json).
        #[arg(long = "trusted-key", value_name = "FILE", requires = "cache")]
        trusted_keys: Vec<String>,
    },
    /// Upload entries (default: every entry) and the entries they refer to into a binary cache, signed.
    Push(StorePushArgs),
    /// Sign local entries (default: every entry); the signatures are kept in $X07_HOME/signatures/ and carried by `x07 store push`.
    Sign(StoreSignArgs),
    /// Remove entries no GC root refers to, and stale temporary directories.
    Gc {
        /// Only print what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Print what was (or would be) removed and kept as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// `x07 store push`.
#[derive(Debug, Args)]
pub struct StorePushArgs {
    /// The cache: s3://BUCKET[/PREFIX]?endpoint=URL&region=R (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the shared credentials file) or file:///DIR.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Sign with this ed25519 key (default: $X07_HOME/keys/lock-signing.pem when it exists).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Print a JSON report (x07.store.push.report@0.1.0) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Entries to push: entry directories (as `x07 store ls` prints) or names `<hash>-<name>`.
    #[arg(value_name = "PATHS")]
    pub paths: Vec<String>,
}

/// `x07 store sign`.
#[derive(Debug, Args)]
pub struct StoreSignArgs {
    /// The ed25519 key to sign with (default: $X07_HOME/keys/lock-signing.pem).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Print a JSON report (x07.store.sign.report@0.1.0) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Entries to sign: entry directories or names `<hash>-<name>`.
    #[arg(value_name = "PATHS")]
    pub paths: Vec<String>,
}

/// `x07 store path`.
#[derive(Debug, Args)]
pub struct StorePathArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// C compiler profile.
    #[arg(long, value_enum)]
    pub cc_profile: Option<CcProfileArg>,
}
