//! Helpers shared by the run-os-sandboxed end-to-end tests (`sandbox_walkthrough`,
//! `sandbox_attacks`): who may run the `os` backend, loopback listeners, a uniform view of what a
//! sandboxed run reported, the attack file format, staging an attack's directories, judging a run
//! against its expectation, and the kernel-only build (in-process checks compiled out).
//!
//! Each test binary compiles this module and uses a different subset of it.
#![allow(dead_code)]

pub mod attack;
pub mod kernel_only;
pub mod listener;
pub mod native;
pub mod privileges;
pub mod run_view;
pub mod stage;
pub mod verdict;
