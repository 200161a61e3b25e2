//! `x07 completions <shell>` (clap_complete) and `x07 man` (clap_mangen): generated from the one
//! command-line definition, so they never drift from it.

use clap::Args;

use crate::error::{CliError, CliResult};

/// `x07 completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Prints the completion script for `args.shell`.
pub fn run(args: &CompletionsArgs) -> CliResult {
    let mut cmd = crate::args::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "x07", &mut script);
    use std::io::Write as _;
    // a closed pipe (`| head`) is the reader's choice, not an error
    let _ = std::io::stdout().write_all(&script);
    Ok(0)
}

/// Prints the man page.
pub fn man() -> CliResult {
    let page = clap_mangen::Man::new(crate::args::command());
    let mut out = Vec::new();
    page.render(&mut out)
        .map_err(|e| CliError::setup("X07-CLI-0001", format!("cannot render the man page: {e}")))?;
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(&out);
    Ok(0)
}
