//! The `x07` binary: parses the command line and dispatches; exit codes in docs/diagnostics.md.

mod args;
mod cmd;
mod compile;
mod error;
mod target;

use clap::Parser;

use args::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Init(a) => cmd::init::run(a),
        Command::Build(a) => cmd::build::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Fmt(a) => cmd::fmt::run(a),
        Command::Store(c) => cmd::store::run(c),
    };
    match result {
        Ok(code) => std::process::exit(i32::from(code)),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(i32::from(e.exit));
        }
    }
}
