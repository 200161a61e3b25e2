//! Running the `x07` binary with a controlled environment and collecting what it printed.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::report::{ReportError, RunReport};
use crate::workdir::X07Home;

/// One planned run of `x07`: arguments, working directory, extra environment, time limit.
///
/// Inherited `X07_*` variables are removed so that the caller's shell cannot change results;
/// set what a test needs with [`X07Invocation::env`] or [`X07Invocation::home`].
#[derive(Debug, Clone)]
pub struct X07Invocation {
    bin: PathBuf,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    timeout: Duration,
}

/// What a finished (or killed) `x07` run printed and how it ended.
#[derive(Debug, Clone)]
pub struct X07Output {
    /// The command line, for messages.
    pub command: String,
    /// The exit code; `None` when killed by a signal or by the time limit.
    pub exit_code: Option<i32>,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
    /// Whether the run was killed because it exceeded the time limit.
    pub timed_out: bool,
}

/// `x07` could not be started or waited for.
#[derive(Debug, thiserror::Error)]
#[error("cannot run {command}: {source}")]
pub struct CommandError {
    command: String,
    source: std::io::Error,
}

impl X07Invocation {
    /// Default time limit of one run; generous because the first build of a program runs cc.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);

    /// A run of the binary at `bin` with no arguments yet.
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        Self {
            bin: bin.into(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Appends several arguments.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Runs in `dir` instead of the test's working directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Sets one environment variable for the run.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Sets `X07_HOME` to `home`.
    pub fn home(self, home: &X07Home) -> Self {
        self.env("X07_HOME", home.path())
    }

    /// Replaces the time limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The command line as text (for failure messages).
    pub fn command_line(&self) -> String {
        let mut line = shell_word(self.bin.as_os_str());
        for arg in &self.args {
            line.push(' ');
            line.push_str(&shell_word(arg));
        }
        if let Some(cwd) = &self.cwd {
            line.push_str(&format!("   (in {})", cwd.display()));
        }
        line
    }

    /// Runs `x07` to completion (or until the time limit, then kills it).
    pub fn run(&self) -> Result<X07Output, CommandError> {
        let command_line = self.command_line();
        let fail = |source| CommandError {
            command: command_line.clone(),
            source,
        };
        let mut command = Command::new(&self.bin);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("X07_") {
                command.env_remove(&key);
            }
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        let mut child = command.spawn().map_err(fail)?;
        let stdout = drain(child.stdout.take().expect("stdout is piped"));
        let stderr = drain(child.stderr.take().expect("stderr is piped"));
        let started = Instant::now();
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(fail)? {
                break status;
            }
            if started.elapsed() > self.timeout {
                timed_out = true;
                // Only the child we started; it is ours to end.
                let _ = child.kill();
                break child.wait().map_err(fail)?;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Ok(X07Output {
            command: command_line,
            exit_code: if timed_out { None } else { status.code() },
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
            timed_out,
        })
    }
}

impl X07Output {
    /// Parses stdout as the JSON run report.
    pub fn report(&self) -> Result<RunReport, ReportError> {
        RunReport::parse(&self.stdout)
    }

    /// Command, exit status, stdout and stderr as text, for failure messages.
    pub fn describe(&self) -> String {
        let status = match (self.timed_out, self.exit_code) {
            (true, _) => "killed after the time limit".to_owned(),
            (false, Some(code)) => format!("exit code {code}"),
            (false, None) => "killed by a signal".to_owned(),
        };
        format!(
            "command: {}\nstatus: {status}\nstdout:\n{}\nstderr:\n{}",
            self.command,
            String::from_utf8_lossy(&self.stdout),
            String::from_utf8_lossy(&self.stderr)
        )
    }
}

fn drain<R: Read + Send + 'static>(mut pipe: R) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn shell_word(word: &OsStr) -> String {
    let text = word.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c));
    if plain {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_words_with_spaces_and_quotes() {
        assert_eq!(shell_word(OsStr::new("a b")), "'a b'");
        assert_eq!(shell_word(OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(shell_word(OsStr::new("--solve-fuel=5")), "--solve-fuel=5");
    }

    #[test]
    fn collects_output_and_exit_code_of_a_real_process() {
        let out = X07Invocation::new("/bin/sh")
            .args(["-c", "printf out; printf err >&2; exit 3"])
            .run()
            .unwrap();
        assert_eq!(out.stdout, b"out");
        assert_eq!(out.stderr, b"err");
        assert_eq!(out.exit_code, Some(3));
        assert!(!out.timed_out);
    }

    #[test]
    fn kills_a_run_past_its_time_limit() {
        let out = X07Invocation::new("/bin/sh")
            .args(["-c", "exec sleep 30"])
            .timeout(Duration::from_millis(200))
            .run()
            .unwrap();
        assert!(out.timed_out);
        assert_eq!(out.exit_code, None);
    }
}
