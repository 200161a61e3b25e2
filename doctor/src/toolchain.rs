//! The C toolchain: the compiler, the libc headers, musl.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use x07_builder::cc::{musl_specs, CcLocator};
use x07_spec::doctor::DoctorCheck;

use crate::check;
use crate::needs::Needs;

/// Compiles and links `source` with `cc` (extra `args` after the output); `Err` holds the first
/// lines the compiler printed.
pub(crate) fn try_compile(cc: &Path, source: &str, args: &[String]) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut child = Command::new(cc)
        .args(["-x", "c", "-", "-o"])
        .arg(dir.path().join("a.out"))
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", cc.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(source.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let first: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("error") || l.contains("cannot find"))
        .take(2)
        .collect();
    Err(if first.is_empty() {
        format!("{} exited with {}", cc.display(), out.status)
    } else {
        first.join("; ")
    })
}

/// The C compiler and the libc headers; the compiler's path when it was found.
pub(crate) fn check_cc(checks: &mut Vec<DoctorCheck>, _needs: &Needs) -> Option<PathBuf> {
    // every profile compiles the program's C
    let found = CcLocator::from_env().locate().map(|(p, _)| p);
    let cc = match found {
        Ok(path) => {
            let version = Command::new(&path)
                .arg("--version")
                .stderr(Stdio::null())
                .output()
                .ok()
                .and_then(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .next()
                        .map(str::to_string)
                })
                .unwrap_or_default();
            checks.push(check(
                "cc",
                "C compiler",
                Ok(format!("{} ({version})", path.display())),
                true,
            ));
            path
        }
        Err(e) => {
            checks.push(check(
                "cc",
                "C compiler",
                Err((
                    e.to_string(),
                    "apt-get install gcc libc6-dev (Debian), or set X07_CC to a C compiler".into(),
                )),
                true,
            ));
            checks.push(skipped(
                "libc-headers",
                "libc headers and C runtime",
                "no C compiler",
            ));
            return None;
        }
    };
    let probe = "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\nint main(void) { puts(\"x07\"); return 0; }\n";
    checks.push(check(
        "libc-headers",
        "libc headers and C runtime",
        try_compile(&cc, probe, &[])
            .map(|()| "a program using stdio.h compiles and links".to_string())
            .map_err(|e| (e, "apt-get install libc6-dev".to_string())),
        true,
    ));
    Some(cc)
}

/// musl, for `x07 bundle --static`, the vm backend's static programs, and the sandbox's trusted
/// launcher (static glibc without it: it starts ~0.4 ms slower before every sandboxed run).
pub(crate) fn check_musl(checks: &mut Vec<DoctorCheck>, needs: &Needs) {
    let outcome = match musl_specs() {
        Some(specs) => Ok(format!("musl-gcc specs at {}", specs.display())),
        None => Err((
            "musl is not installed (x07 bundle --static and programs of x07 code only on the vm backend build against it; without it the sandbox launcher is static glibc, ~0.4 ms slower to start)".to_string(),
            "apt-get install musl-tools".to_string(),
        )),
    };
    checks.push(check(
        "musl",
        "musl (static builds)",
        outcome,
        needs.vm() && !needs.native_code,
    ));
}

/// A check that did not run.
pub(crate) fn skipped(id: &str, title: &str, why: &str) -> DoctorCheck {
    DoctorCheck {
        id: id.to_string(),
        title: title.to_string(),
        status: x07_spec::doctor::CheckStatus::Skipped,
        detail: why.to_string(),
        fix: None,
        blocks: false,
    }
}
