//! The sandbox of world run-os-sandboxed, attacked for real (docs/internals/sandbox.md).
//!
//! A hostile C program (`tests/sandbox_c/hostile.c`) is assembled with the runtime fragments
//! exactly as the emitter does for the sandboxed world and run with a policy blob (version 2);
//! with backend os it is started through the trusted launcher `x07-launch`, which confines it
//! before it runs (run cgroup, user/mount/pid/ipc/uts/net namespaces with a fresh root holding only
//! the policy's roots, rlimits, Landlock, no_new_privs, the policy's seccomp programs). Lower-case
//! attacks use the x07 builtins, upper-case ones call libc directly (a program that escaped the
//! language). Built with `X07_TEST_DISABLE_IN_PROCESS_CHECKS`, the builtins lose their checks too,
//! which shows the kernel layer holding on its own.
//! Needs Linux with Landlock (ABI >= 4), root (cgroups), user namespaces.

#[path = "sandbox_c/harness.rs"]
mod harness;
#[path = "sandbox_c/project.rs"]
mod project;

#[path = "sandbox_c/blob.rs"]
mod blob;
#[path = "sandbox_c/filesystem.rs"]
mod filesystem;
#[path = "sandbox_c/network.rs"]
mod network;
#[path = "sandbox_c/processes.rs"]
mod processes;
#[path = "sandbox_c/startup.rs"]
mod startup;
