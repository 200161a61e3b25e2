//! x07-runner: runs built x07 artifacts — framed I/O, limits, and the solve section of the run report.

pub mod argv_v1;
mod launcher_end;
pub mod limits;
pub mod output_frame;
pub mod policy;
pub mod prepare;
pub mod run;
pub mod stderr_lines;
mod supervised_child;
pub mod trap_help;

pub use limits::{default_wall_time, EnvMode, RunLimits};
pub use run::{
    launched_from_output, run_framed, run_framed_in_dir, run_launch, EarlyLaunch, Launch, Launched,
    LauncherExit, RemoteEnd, RunError,
};
