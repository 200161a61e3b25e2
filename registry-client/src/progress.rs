//! Download progress bars, drawn only when stderr is a terminal.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar for one download (hidden unless enabled and stderr is a terminal).
pub(crate) struct DownloadProgress {
    bar: ProgressBar,
}

impl DownloadProgress {
    /// A bar labelled `label`; `enabled` is the caller's wish, a terminal is also required.
    pub(crate) fn new(label: &str, enabled: bool) -> Self {
        let bar = if enabled && std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{msg:>24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(label.to_string());
            bar
        } else {
            ProgressBar::hidden()
        };
        Self { bar }
    }

    /// Starts (or restarts, on a retry) with the expected size when known.
    pub(crate) fn start(&self, total: Option<u64>) {
        self.bar.set_length(total.unwrap_or(0));
        self.bar.set_position(0);
    }

    /// Records `n` more bytes.
    pub(crate) fn advance(&self, n: usize) {
        self.bar.inc(n as u64);
    }
}

impl Drop for DownloadProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
