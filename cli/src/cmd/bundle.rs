//! `x07 bundle`: prepare the target like `x07 run`, make the bundle (x07-bundler), print the
//! `x07.bundle.report@0.5.0` on stdout and a summary on stderr.

use x07_builder::build::{DEFAULT_MAX_MEMORY_BYTES, DEFAULT_SOLVE_FUEL};
use x07_builder::store::StoreRoot;
use x07_bundler::{BundleLimits, BundleOutcome, BundleRequest, Signing};
use x07_spec::bundle::{BundleAbi, BundleInfo, BundleKind, BundlePolicy, BundleReport};
use x07_spec::report::SandboxBackend;
use x07_spec::run_report::ReportRunner;
use x07_spec::World;

use crate::args::{BundleAction, BundleArgs};
use crate::compile;
use crate::error::{CliError, CliResult};
use crate::sandbox::{self, SandboxLaunch};
use crate::target::{self, Target};

fn limits(args: &BundleArgs, target: &Target) -> BundleLimits {
    let f = target::LimitFlags {
        solve_fuel: args.solve_fuel,
        max_memory_bytes: args.max_memory_bytes,
        max_output_bytes: args.max_output_bytes,
        cpu_time_limit_seconds: args.cpu_time_limit_seconds,
    }
    .or_profile(Some(target));
    BundleLimits {
        solve_fuel: f.solve_fuel.unwrap_or(DEFAULT_SOLVE_FUEL),
        max_memory_bytes: f.max_memory_bytes.unwrap_or(DEFAULT_MAX_MEMORY_BYTES),
        max_output_bytes: f
            .max_output_bytes
            .unwrap_or(x07_runner::limits::DEFAULT_MAX_OUTPUT_BYTES),
        cpu_time_limit_seconds: f.cpu_time_limit_seconds,
    }
}

/// The sandbox of a run-os-sandboxed bundle; for the vm backend also the guest image and
/// x07-vm-launcher, found before anything is built.
fn prepare_sandbox(
    args: &BundleArgs,
    target: &Target,
    root: &std::path::Path,
) -> Result<(SandboxLaunch, Option<VmInputs>), CliError> {
    let sb = sandbox::prepare(&args.sandbox, target, root, "x07 bundle")?;
    if sb.prepared.backend != SandboxBackend::Vm {
        return Ok((sb, None));
    }
    let image = sandbox::guest_image()?;
    let vm_launcher = vm_launcher_path()?;
    Ok((sb, Some(VmInputs { image, vm_launcher })))
}

/// What a VM bundle needs besides the sealed payload.
struct VmInputs {
    image: x07_vm::GuestImage,
    vm_launcher: std::path::PathBuf,
}

/// x07-vm-launcher: `X07_VM_LAUNCHER`, else beside this x07.
fn vm_launcher_path() -> Result<std::path::PathBuf, CliError> {
    let path = match std::env::var_os("X07_VM_LAUNCHER").filter(|v| !v.is_empty()) {
        Some(p) => std::path::PathBuf::from(p),
        None => std::env::current_exe()
            .map_err(|e| CliError::setup("X07-BUNDLE-0007", e.to_string()))?
            .with_file_name("x07-vm-launcher"),
    };
    if path.is_file() {
        Ok(path)
    } else {
        let e = x07_bundler::BundleError::NoVmLauncher(path);
        Err(CliError::setup(e.code(), e.to_string()).help(e.help().unwrap_or_default()))
    }
}

/// Runs `x07 bundle` (or `inspect` / `verify`).
pub fn run(args: &BundleArgs) -> CliResult {
    match &args.action {
        Some(BundleAction::Inspect { bundle, json }) => {
            return super::bundle_verify::inspect(bundle, *json)
        }
        Some(BundleAction::Verify {
            bundle,
            key,
            rebuild,
            project,
        }) => {
            return super::bundle_verify::verify(
                bundle,
                key.as_deref(),
                *rebuild,
                project.as_deref(),
            )
        }
        None => {}
    }
    match make(args, true)? {
        Made::Bundled(report) => {
            print_report(&report)?;
            Ok(0)
        }
        Made::Rejected(report) => {
            print_report(&report)?;
            Ok(1)
        }
    }
}

/// What [`make`] produced.
pub enum Made {
    /// The bundle was written.
    Bundled(Box<BundleReport>),
    /// The program did not compile (nothing written).
    Rejected(Box<BundleReport>),
}

/// The signing key: `--sign-key`, else the default key; `--no-sign` must be explicit.
fn signing(args: &BundleArgs) -> Result<Signing, CliError> {
    if args.no_sign {
        return Ok(Signing::Unsigned);
    }
    let path = match &args.sign_key {
        Some(p) => p.clone(),
        None => compile::home()?.path().join("keys/lock-signing.pem"),
    };
    if args.sign_key.is_none() && !path.exists() {
        return Err(CliError::setup(
            "X07-BUNDLE-0003",
            format!("bundles carry signed provenance, and there is no signing key at {}", path.display()),
        )
        .help("run `x07 key generate` once, pass --sign-key FILE, or pass --no-sign for an unsigned bundle"));
    }
    let key = x07_lock::SigningKey::load(&path).map_err(|e| {
        CliError::setup("X07-BUNDLE-0003", format!("--sign-key: {e}"))
            .help("use a key written by `x07 key generate` (mode 0600)")
    })?;
    Ok(Signing::Key(key))
}

/// Makes the bundle `args` describe; `announce` prints the summary line on stderr.
pub fn make(args: &BundleArgs, announce: bool) -> Result<Made, CliError> {
    let Some(out_flag) = &args.out else {
        return Err(CliError::setup(
            "X07-CLI-0001",
            "x07 bundle needs --out PATH",
        ));
    };
    if args.debug_borrow_checks {
        return Err(CliError::setup(
            "X07-CLI-0001",
            "--debug-borrow-checks is not supported yet (x07 checks ownership at compile time)",
        ));
    }
    let signing = signing(args)?;
    let mut request = target::request(&args.target);
    request.world = args.world.as_deref().map(|w| match w {
        "run-os-sandboxed" => World::RunOsSandboxed,
        _ => World::RunOs,
    });
    let target = x07_builder::project::resolve_target(&request)?;
    compile::require_supported_world(&target)?;
    sandbox::reject_outside_sandbox(&args.sandbox, &target, target.world)?;
    let root = target::work_root(&target)?;
    let (sandbox, vm_inputs) = if target.world == World::RunOsSandboxed {
        let (sb, vm) = prepare_sandbox(args, &target, &root)?;
        (Some(sb), vm)
    } else {
        (None, None)
    };
    let (loaded, _repair) = compile::load_and_repair(&target, args.repair)?;
    let out = x07_bundler::out_path(out_flag, &target.display_name());
    let info = |policy_digest: Option<String>| BundleInfo {
        out: out.display().to_string(),
        name: out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        abi: BundleAbi {
            kind: "argv_v1".to_string(),
        },
        policy: sandbox
            .as_ref()
            .zip(policy_digest)
            .map(|(s, digest)| BundlePolicy {
                base_policy: s.prepared.base_path.display().to_string(),
                effective_policy: s
                    .prepared
                    .derived_path
                    .as_ref()
                    .unwrap_or(&s.prepared.base_path)
                    .display()
                    .to_string(),
                embedded_env_keys: Vec::new(),
                digest,
                sealed: true,
            }),
        emit_dir: args.emit_dir.as_ref().map(|d| d.display().to_string()),
        kind: if vm_inputs.is_some() {
            BundleKind::Vm
        } else {
            BundleKind::Native
        },
        guest: None,
        sandbox_backend: sandbox.as_ref().map(|s| s.prepared.backend),
        store_path: String::new(),
        sha256: String::new(),
        size: 0,
        subject_sha256: String::new(),
        signer_key_id: None,
        provenance: String::new(),
        sbom: String::new(),
        static_link: args.static_link,
        closure: Vec::new(),
    };
    let rejected = |diags: Vec<x07_builder::frontend::Diagnostic>| {
        compile::print_diagnostics(&diags);
        let mut c = compile::compile_section(false, target.world);
        c.compile_error = diags
            .first()
            .map(|d| format!("{}: {}", d.code.0, d.message));
        c.diagnostics = Some(compile::report_diagnostics(&diags));
        Ok(Made::Rejected(Box::new(BundleReport {
            schema_version: Default::default(),
            runner: ReportRunner::Host,
            world: target.world,
            target: target::report_target(&target),
            bundle: info(None),
            compile: c,
        })))
    };
    let program = match loaded {
        Ok(p) => p,
        Err(diags) => return rejected(diags),
    };
    if let Some(sb) = &sandbox {
        let gate = sb.gate().check(&program, target.uses_package_native());
        if !gate.is_empty() {
            return rejected(gate);
        }
    }
    let home = compile::home()?;
    let store = StoreRoot::new(&home);
    let req = BundleRequest {
        target: &target,
        program: &program,
        out: &out,
        cc_profile: target.cc_profile(target::cc_profile_flag(args.cc_profile)),
        limits: limits(args, &target),
        sandbox: sandbox
            .as_ref()
            .map(|s| (&s.prepared, s.launcher.as_deref())),
        signing: &signing,
        static_musl: args.static_link,
        max_c_bytes: args.max_c_bytes,
        vm: match (&vm_inputs, &sandbox) {
            (Some(v), Some(sb)) => Some(x07_bundler::vm::VmParts {
                image: &v.image,
                vm_launcher: &v.vm_launcher,
                trusted_launcher: sb
                    .launcher
                    .as_deref()
                    .expect("the vm backend resolves the launcher"),
            }),
            _ => None,
        },
    };
    let bundled = match x07_bundler::bundle(&home, &store, &req).map_err(|e| CliError {
        code: e.code(),
        message: e.to_string(),
        help: e.help().map(str::to_string),
        exit: e.exit_code(),
    })? {
        BundleOutcome::Bundled(b) => b,
        BundleOutcome::Rejected(diags) => return rejected(diags),
    };
    if let Some(path) = &args.emit_attestation {
        let envelope = fs_err::read(&bundled.envelope_path)
            .map_err(|e| CliError::setup("X07-BUNDLE-0001", e.to_string()))?;
        x07_spec::write_atomic(path, &envelope).map_err(|e| {
            CliError::setup(
                "X07-BUNDLE-0001",
                format!("--emit-attestation {}: {e}", path.display()),
            )
        })?;
    }
    let mut c = compile::compile_section(true, target.world);
    c.c_source_size = bundled.c_source_size;
    c.compiled_exe = Some(bundled.out.display().to_string());
    c.compiled_exe_size = Some(bundled.size);
    let mut bundle = info(sandbox.as_ref().map(|s| s.prepared.digest.to_string()));
    bundle.store_path = bundled.entry.binary_path().display().to_string();
    bundle.sha256 = bundled.sha256.to_string();
    bundle.size = bundled.size;
    bundle.subject_sha256 = bundled.subject.to_string();
    bundle.signer_key_id = bundled.signer.clone();
    bundle.provenance = bundled.envelope_path.display().to_string();
    bundle.sbom = bundled.sbom_path.display().to_string();
    bundle.static_link = bundled.closure.is_static();
    bundle.closure = bundled.closure.display_paths();
    if let (Some(side), Some(v)) = (&bundled.sidecar, &vm_inputs) {
        bundle.guest = Some(serde_json::json!({
            "sidecar": side.dir.display().to_string(),
            "manifest_schema": x07_spec::bundle::vm::VmManifestVersion::VALUE,
            "manifest_sha256": side.pins.manifest_sha256,
            "signed": side.pins.public_key.is_some(),
            "backend": side.manifest.backend,
            "guest_digest": side.manifest.guest_digest,
            "kernel_release": v.image.manifest.kernel_release,
            "payload_sha256": side.manifest.payload_file.sha256,
        }));
    }
    let report = BundleReport {
        schema_version: Default::default(),
        runner: ReportRunner::Host,
        world: target.world,
        target: target::report_target(&target),
        bundle,
        compile: c,
    };
    if let Some(dir) = &args.emit_dir {
        emit(dir, &report, &bundled)?;
    }
    if announce {
        crate::output::note!(
            "x07 bundle: wrote {} ({} bytes, {}{}; provenance {})",
            bundled.out.display(),
            bundled.size,
            match sandbox.as_ref().map(|s| s.prepared.backend) {
                Some(SandboxBackend::Os) => "policy-sealed, backend os",
                Some(SandboxBackend::Vm) => "VM bundle: launcher plus <out>.vm sidecar, backend vm",
                Some(_) => "policy embedded, backend none (in-process checks only)",
                None => "native",
            },
            sandbox
                .as_ref()
                .map(|s| format!(", policy {}", s.prepared.digest))
                .unwrap_or_default(),
            bundled
                .signer
                .as_deref()
                .map(|k| format!("signed by {k}"))
                .unwrap_or_else(|| "unsigned".to_string())
        );
    }
    Ok(Made::Bundled(Box::new(report)))
}

fn print_report(report: &BundleReport) -> Result<(), CliError> {
    let bytes = x07_spec::canonical_file_bytes(report).map_err(|e| {
        CliError::setup(
            "X07-BUNDLE-0001",
            format!("cannot serialize the report: {e}"),
        )
    })?;
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&bytes);
    let _ = stdout.flush();
    Ok(())
}

/// `--emit-dir`: report.json, program.c, and policy.used.json for a sandbox bundle.
fn emit(
    dir: &std::path::Path,
    report: &BundleReport,
    bundled: &x07_bundler::Bundled,
) -> Result<(), CliError> {
    let fail = |path: &std::path::Path, e: std::io::Error| {
        CliError::setup(
            "X07-BUNDLE-0001",
            format!("--emit-dir: cannot write {}: {e}", path.display()),
        )
    };
    fs_err::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    let report_bytes = x07_spec::canonical_file_bytes(report)
        .map_err(|e| CliError::setup("X07-BUNDLE-0001", e.to_string()))?;
    let mut files: Vec<(&str, Vec<u8>)> = vec![("report.json", report_bytes)];
    if let Ok(c) = fs_err::read(bundled.program_entry.c_source_path()) {
        files.push(("program.c", c));
    }
    if let Some(json) = &bundled.policy_json {
        files.push(("policy.used.json", json.clone()));
    }
    for (name, bytes) in files {
        let path = dir.join(name);
        x07_spec::write_atomic(&path, &bytes).map_err(|e| fail(&path, e))?;
    }
    Ok(())
}
