//! Where the command line writes: results to stdout (scripts parse them), status and progress
//! to stderr.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tracing_subscriber::EnvFilter;

/// Routes `tracing` events of the libraries to stderr; `RUST_LOG` overrides the verbosity.
pub fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // A second initialisation can only happen in tests; keeping the first one is right.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Status messages according to `-v` / `-q`.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    verbose: u8,
    quiet: bool,
}

impl Output {
    pub fn new(verbose: u8, quiet: bool) -> Self {
        Output { verbose, quiet }
    }

    /// What happened, unless `--quiet`.
    pub fn info(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", message.as_ref());
        }
    }

    /// Details for `-v`.
    pub fn detail(&self, message: impl AsRef<str>) {
        if self.verbose > 0 {
            eprintln!("{}", message.as_ref());
        }
    }

    /// A spinner on stderr for work that takes a noticeable time (key generation, password
    /// hashing); nothing when stderr is not a terminal or with `--quiet`.
    pub fn spinner(&self, message: &'static str) -> Spinner {
        if self.quiet || !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = ProgressBar::new_spinner().with_message(message);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner(Some(bar))
    }
}

/// Clears its spinner when dropped.
pub struct Spinner(Option<ProgressBar>);

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}
