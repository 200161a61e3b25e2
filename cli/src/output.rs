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
    let _ = tracing::subscriber::set_global_default(StderrLog {
        max: level,
        ansi: colour(),
    });
}

/// The libraries' tracing events on stderr, one line each: `LEVEL message key=value...`.
///
/// x07 records no spans, so this replaces tracing-subscriber's registry, whose start-up
/// (sharded slabs zeroed for 4096 threads) cost a warm `x07 run` about 30 page faults.
struct StderrLog {
    max: tracing::Level,
    ansi: bool,
}

impl tracing::Subscriber for StderrLog {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::from_level(self.max))
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let level = *event.metadata().level();
        let mut line = EventLine::default();
        event.record(&mut line);
        let name = format!("{level:>5}");
        let name = match (self.ansi, level) {
            (false, _) => name,
            (true, tracing::Level::ERROR) => format!("\u{1b}[31m{name}\u{1b}[0m"),
            (true, tracing::Level::WARN) => format!("\u{1b}[33m{name}\u{1b}[0m"),
            (true, tracing::Level::INFO) => format!("\u{1b}[32m{name}\u{1b}[0m"),
            (true, _) => format!("\u{1b}[34m{name}\u{1b}[0m"),
        };
        eprintln!("{name} {}{}", line.message, line.fields);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// One event's message and its other fields as ` key=value`.
#[derive(Default)]
struct EventLine {
    message: String,
    fields: String,
}

impl tracing::field::Visit for EventLine {
    // str fields come here too (Debug, so quoted), as tracing-subscriber wrote them
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
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
