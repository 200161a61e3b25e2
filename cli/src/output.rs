//! How x07 talks to people on stderr: `-q` silences the informational lines (errors and
//! warnings stay), `-v`/`-vv` show the libraries' decisions (tracing at info/debug), and the
//! `error` of a diagnostic is red on a terminal unless NO_COLOR is set.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);

/// Applies `-q` and `-v` (a count) for the rest of the process.
pub fn configure(quiet: bool, verbose: u8) {
    QUIET.store(quiet, Ordering::Relaxed);
    let level = match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, _) => tracing::Level::DEBUG,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(colour())
        .without_time()
        .with_target(false)
        .try_init();
}

/// Whether informational lines are silenced (`-q`).
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Whether stderr gets colour: a terminal, and NO_COLOR unset.
pub fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Whether stdout gets colour: a terminal, and NO_COLOR unset.
pub fn stdout_colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// How a word reads at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Succeeded (green).
    Good,
    /// Failed (bold red).
    Bad,
    /// Neither (yellow), e.g. skipped.
    Neutral,
}

/// `text` in its tone's colour when `on` (a terminal without NO_COLOR), else unchanged.
pub fn tint(text: &str, tone: Tone, on: bool) -> String {
    if !on {
        return text.to_string();
    }
    let code = match tone {
        Tone::Good => "32",
        Tone::Bad => "1;31",
        Tone::Neutral => "33",
    };
    format!("\u{1b}[{code}m{text}\u{1b}[0m")
}

/// An error as printed: `error[CODE]: ...`, with `error` in bold red on a terminal.
pub fn render_error(text: &str) -> String {
    match text.strip_prefix("error") {
        Some(rest) if colour() => format!("\u{1b}[1;31merror\u{1b}[0m{rest}"),
        _ => text.to_string(),
    }
}

/// An informational line on stderr, silenced by `-q`.
macro_rules! note {
    ($($arg:tt)*) => {
        if !$crate::output::quiet() {
            eprintln!($($arg)*);
        }
    };
}
pub(crate) use note;
