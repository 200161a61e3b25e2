//! Compiling one C translation unit into a native binary, reproducibly.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use x07_spec::CcProfile;

use super::{BuildSandbox, CcError, CcIdentity};

/// Flags shared by every profile. `-fwrapv` and `-fno-strict-aliasing` pin the semantics the
/// emitter relies on; nothing machine-specific (`-march=native`) so binaries are portable and
/// the same on every host with the same compiler.
/// gnu11, not c11: package C (`ffi/*.c`) is written against POSIX and GNU interfaces
/// (getaddrinfo, struct addrinfo, ...) that strict ISO mode hides, and is compiled in the same
/// command as the generated C.
const COMMON_FLAGS: &[&str] = &["-std=gnu11", "-fno-strict-aliasing", "-fwrapv"];

/// Environment variables that change what gcc/clang/ld produce without appearing on the command
/// line; they are removed so the derivation hash covers every input.
const SCRUBBED_ENV: &[&str] = &[
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "LIBRARY_PATH",
    "COMPILER_PATH",
    "GCC_EXEC_PREFIX",
    "GCC_COMPARE_DEBUG",
    "DEPENDENCIES_OUTPUT",
    "SUNPRO_DEPENDENCIES",
    "LD_RUN_PATH",
    "CCC_OVERRIDE_OPTIONS",
];

/// Lines of compiler diagnostics kept in a [`CcError::CompileFailed`] message.
const MAX_ERROR_LINES: usize = 60;

/// The exact compiler flags of `profile`, in order; part of the derivation hash.
pub fn profile_flags(profile: CcProfile) -> Vec<String> {
    let opt = match profile {
        CcProfile::Default => "-O2",
        CcProfile::Size => "-Os",
    };
    COMMON_FLAGS
        .iter()
        .copied()
        .chain([opt])
        .map(str::to_string)
        .collect()
}

/// What a successful compilation reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileOutput {
    /// The flags passed to the compiler (the same as [`profile_flags`]).
    pub flags: Vec<String>,
    /// Anything the compiler printed on stderr although it succeeded.
    pub warnings: String,
}

/// Compiles `c_source` into the executable `out` with `cc` and `profile`.
///
/// The source goes in on stdin (`-x c -`) and the compiler runs in `/`, so neither the source's
/// location nor the caller's directory can end up in the binary: the same source gives the same
/// bytes wherever the project or the output lives. On failure `out` does not exist.
pub fn compile_c(
    cc: &CcIdentity,
    c_source: &str,
    out: &Path,
    profile: CcProfile,
) -> Result<CompileOutput, CcError> {
    compile_c_native(cc, c_source, &NativeInputs::default(), out, profile, None)
}

/// C sources and libraries that packages bring (`ffi/*.c`, `meta.ffi_libs`), linked with the program.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NativeInputs {
    /// Absolute paths of extra C sources, in a deterministic order.
    pub sources: Vec<PathBuf>,
    /// Libraries to link (`-l<name>`), in order.
    pub libs: Vec<String>,
    /// Link statically (`-static`): the trusted launcher loads no shared library.
    pub static_link: bool,
    /// Build against musl instead of the system libc, statically (`--static` bundles): the
    /// musl-gcc specs file (from [`musl_specs`]).
    pub musl_specs: Option<PathBuf>,
}

/// `dir/{linux,asm,asm-generic}` linked to the system's kernel UAPI headers.
fn kernel_header_links(dir: &Path) -> Result<(), CcError> {
    let io = |source| CcError::Io {
        action: "create",
        path: dir.to_path_buf(),
        source,
    };
    fs_err::create_dir_all(dir).map_err(io)?;
    let arch = [
        "/usr/include/x86_64-linux-gnu/asm",
        "/usr/include/aarch64-linux-gnu/asm",
    ]
    .into_iter()
    .find(|p| Path::new(p).is_dir())
    .unwrap_or("/usr/include/asm");
    for (name, target) in [
        ("linux", "/usr/include/linux"),
        ("asm-generic", "/usr/include/asm-generic"),
        ("asm", arch),
    ] {
        let link = dir.join(name);
        if !link.exists() {
            std::os::unix::fs::symlink(target, &link).map_err(io)?;
        }
    }
    Ok(())
}

/// Where Debian's musl-tools (or a musl install) keeps the gcc specs file, if it is installed.
pub fn musl_specs() -> Option<PathBuf> {
    [
        "/usr/lib/x86_64-linux-musl/musl-gcc.specs",
        "/usr/lib/aarch64-linux-musl/musl-gcc.specs",
        "/usr/lib/musl/lib/musl-gcc.specs",
        "/usr/local/musl/lib/musl-gcc.specs",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// [`compile_c`] plus native inputs. Each source's directory is mapped to `ffi` in debug and
/// `__FILE__` paths (`-ffile-prefix-map`), so where the package lives never reaches the binary.
pub fn compile_c_native(
    cc: &CcIdentity,
    c_source: &str,
    native: &NativeInputs,
    out: &Path,
    profile: CcProfile,
    sandbox: Option<&BuildSandbox>,
) -> Result<CompileOutput, CcError> {
    let out = std::path::absolute(out).map_err(|source| CcError::Io {
        action: "resolve",
        path: out.to_path_buf(),
        source,
    })?;
    // In the build sandbox the compiler writes into its own directory; the result is moved out.
    let cc_out = sandbox.map_or_else(|| out.clone(), |sb| sb.output("a.out"));
    let flags = profile_flags(profile);
    let mut cmd = match sandbox {
        None => Command::new(&cc.path),
        Some(sb) => {
            let policy = sb.output(".x07-build-policy");
            fs_err::write(&policy, &sb.blob).map_err(|source| CcError::Io {
                action: "write",
                path: policy.clone(),
                source,
            })?;
            let mut cmd = Command::new(&sb.launcher);
            cmd.arg(format!("--x07-policy-file={}", policy.display()))
                .arg("--plain-exec")
                .arg("--")
                .arg(&cc.path);
            cmd.env("TMPDIR", sb.dir.path())
                .env("PATH", "/usr/bin:/bin");
            cmd
        }
    };
    cmd.args(&flags);
    for src in &native.sources {
        if let Some(dir) = src.parent() {
            cmd.arg(format!("-ffile-prefix-map={}=ffi", dir.display()));
        }
    }
    cmd.args(["-x", "c", "-"]);
    for src in &native.sources {
        cmd.arg(src);
    }
    cmd.arg("-o").arg(&cc_out);
    for lib in &native.libs {
        cmd.arg(format!("-l{lib}"));
    }
    // the math.f64 builtins call libm (with musl it is part of libc.a)
    cmd.arg("-lm");
    // kept alive until the compiler has run
    let mut _kernel_headers_dir = None;
    if let Some(specs) = &native.musl_specs {
        cmd.arg("-specs").arg(specs);
        // musl's headers have no kernel UAPI headers (linux/, asm/), which the sandbox runtime
        // includes: a directory of links to the system's, searched after musl's own
        let dir = match sandbox {
            Some(sb) => sb.output("kernel-headers"),
            None => {
                let tmp = tempfile::tempdir().map_err(|source| CcError::Io {
                    action: "create",
                    path: std::env::temp_dir(),
                    source,
                })?;
                let p = tmp.path().join("kernel-headers");
                _kernel_headers_dir = Some(tmp);
                p
            }
        };
        kernel_header_links(&dir)?;
        cmd.arg("-idirafter").arg(&dir);
        // the directory's random name must not reach the binary (reproducible bundles)
        cmd.arg(format!(
            "-ffile-prefix-map={}=kernel-headers",
            dir.display()
        ));
    }
    if native.static_link || native.musl_specs.is_some() {
        cmd.arg("-static");
    }
    cmd.current_dir("/")
        .env("LC_ALL", "C")
        // Pins __DATE__/__TIME__ should any code use them.
        .env("SOURCE_DATE_EPOCH", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in SCRUBBED_ENV {
        cmd.env_remove(var);
    }
    let mut child = cmd.spawn().map_err(|source| CcError::Spawn {
        path: cc.path.clone(),
        source,
    })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // Feed stdin from another thread: the compiler may fill its stderr pipe before reading all input.
    let output = std::thread::scope(|scope| {
        let feeder = scope.spawn(move || stdin.write_all(c_source.as_bytes()));
        let output = child.wait_with_output();
        // A write error (broken pipe) only matters if the compiler then claims success.
        let fed = feeder
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("stdin writer panicked")));
        output.map(|o| (o, fed))
    });
    let (output, fed) = output.map_err(|source| CcError::Spawn {
        path: cc.path.clone(),
        source,
    })?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() || fed.is_err() {
        remove_partial(&out)?;
        let mut shown: String = stderr
            .lines()
            .take(MAX_ERROR_LINES)
            .collect::<Vec<_>>()
            .join("\n");
        if let Err(e) = fed {
            shown.push_str(&format!(
                "\n(x07 could not write the source to the compiler's stdin: {e})"
            ));
        }
        if sandbox.is_some() {
            shown.push_str(SANDBOX_NOTE);
        }
        if let Some((missing, fix)) = super::packages::missing_dev_files(&stderr) {
            return Err(CcError::MissingDevFiles {
                path: cc.path.clone(),
                missing,
                fix,
                stderr: shown,
            });
        }
        let symbols = undefined_symbols(&stderr);
        if !symbols.is_empty() {
            return Err(CcError::UndefinedSymbols {
                symbols,
                stderr: shown,
            });
        }
        return Err(CcError::CompileFailed {
            path: cc.path.clone(),
            status: output.status.to_string(),
            stderr: shown,
        });
    }
    if sandbox.is_some() {
        move_out(&cc_out, &out)?;
    }
    Ok(CompileOutput {
        flags,
        warnings: stderr,
    })
}

/// Said after the compiler's own messages when a sandboxed build fails.
const SANDBOX_NOTE: &str = "\n(the C compiler ran in x07's build sandbox: it reads only the toolchain, the system \
     headers and libraries, and the packages' ffi/ directories, which are the build's declared inputs; an \
     #include or .incbin of any other path is refused: copy the file into the package's ffi/ directory)";

/// Moves the sandboxed compiler's output to `out` (copying across filesystems).
fn move_out(from: &Path, out: &Path) -> Result<(), CcError> {
    if fs_err::rename(from, out).is_ok() {
        return Ok(());
    }
    fs_err::copy(from, out).map_err(|source| CcError::Io {
        action: "copy",
        path: out.to_path_buf(),
        source,
    })?;
    Ok(())
}

/// Removes a half-written output so a failed compilation leaves nothing behind.
fn remove_partial(out: &PathBuf) -> Result<(), CcError> {
    match fs_err::remove_file(out) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CcError::Io {
            action: "remove",
            path: out.clone(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// The symbols a linker reported as undefined (`undefined reference to `x'`), deduplicated.
fn undefined_symbols(stderr: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in stderr.lines() {
        let Some(rest) = line.split("undefined reference to ").nth(1) else {
            continue;
        };
        let sym = rest
            .trim_matches(|c| c == '`' || c == '\'' || c == '\u{2018}' || c == '\u{2019}')
            .to_string();
        if !sym.is_empty() && !out.contains(&sym) {
            out.push(sym);
        }
    }
    out
}

#[cfg(test)]
mod undefined_tests {
    use super::undefined_symbols;

    #[test]
    fn linker_undefined_references_are_collected_once_each() {
        let err = "ld: a.o: in function `f':\n<stdin>:(.text+0x1): undefined reference to `x07_ext_a'\n<stdin>:(.text+0x9): undefined reference to `x07_ext_b'\n<stdin>:(.text+0xf): undefined reference to `x07_ext_a'\ncollect2: error: ld returned 1 exit status";
        assert_eq!(undefined_symbols(err), ["x07_ext_a", "x07_ext_b"]);
        assert!(undefined_symbols("<stdin>:3:1: error: expected ';'").is_empty());
    }
}
