//! `x07 test`: the tests of a package's manifest (`tests/tests.json`), each built into the store
//! for its world with a generated entry that calls the test function, run, and judged by the
//! status bytes it prints (`std.test.status_*`).

mod driver;
mod plan;
mod run;
mod status;

pub use plan::{plan, Plan, PlanError, TestOptions, DEFAULT_MANIFEST};
pub use run::{exit_code, run_plan};
pub use status::{parse_status, TestStatusBytes};
