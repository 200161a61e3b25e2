//! The `x07` binary: parses the command line and dispatches; exit codes in docs/diagnostics.md.

mod args;
mod cmd;
mod compile;
mod error;
mod output;
mod sandbox;
mod target;

use args::{Cli, Command};

fn main() {
    // the footers only matter when help is shown: a warm `x07 run` skips that pass
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let shows_help = argv.len() <= 2
        || argv
            .iter()
            .any(|a| a == "-h" || a == "--help" || a == "help");
    let parsed = if shows_help {
        args::command()
            .try_get_matches_from(argv)
            .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m))
    } else {
        args::parse_fast(argv)
    };
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            e.exit()
        }
        // bare `x07`, `x07 store`, `x07 pkg`...: the help, on stdout, and success
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            use std::io::IsTerminal as _;
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let text = if colour {
                e.render().ansi().to_string()
            } else {
                e.render().to_string()
            };
            print!("{text}");
            std::process::exit(0);
        }
        Err(e) => {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            eprint!("error[X07-CLI-0001]: {text}");
            std::process::exit(2);
        }
    };
    output::configure(cli.quiet, cli.verbose);
    let result = match &cli.command {
        Command::Init(a) => cmd::init::run(a),
        Command::Build(a) => cmd::build::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Bundle(a) => cmd::bundle::run(a),
        Command::Fmt(a) => cmd::fmt::run(a),
        Command::Store(c) => cmd::store::run(c),
        Command::Policy(c) => cmd::policy::run(c),
        Command::Pkg(c) => cmd::pkg::run(c),
        Command::Registry(c) => cmd::registry::run(c),
        Command::Key(c) => cmd::key::run(c),
        Command::Vm(c) => cmd::vm::run(c),
        Command::Test(a) => cmd::test::run(a),
        Command::Doctor(a) => cmd::doctor::run(a),
        Command::Completions(a) => cmd::completions::run(a),
        Command::Man => cmd::completions::man(),
    };
    match result {
        Ok(code) => std::process::exit(i32::from(code)),
        Err(e) => {
            eprintln!("{}", output::render_error(&e.to_string()));
            std::process::exit(i32::from(e.exit));
        }
    }
}
