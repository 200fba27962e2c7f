//! Progress of long replays: a bar with events/s on a terminal, plain log lines elsewhere.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::info;

/// Receives progress of a replay phase.
pub trait Progress: Send + Sync {
    /// A phase begins with `total` messages to read.
    fn start(&self, phase: &str, total: u64);
    /// `n` more messages were read.
    fn advance(&self, n: u64);
    /// The phase ended.
    fn finish(&self);
}

/// The right reporter for where stderr goes.
pub fn reporter() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() { Box::new(Bar::default()) } else { Box::new(LogLines::default()) }
}

/// Reports nothing.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// An indicatif bar.
#[derive(Debug, Default)]
struct Bar(Mutex<Option<ProgressBar>>);

impl Progress for Bar {
    fn start(&self, phase: &str, total: u64) {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{prefix:>8} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(phase.to_owned());
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(bar);
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref() {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            bar.finish();
        }
    }
}

/// A log line every few seconds.
#[derive(Debug, Default)]
struct LogLines(Mutex<Option<LogState>>);

#[derive(Debug)]
struct LogState {
    phase: String,
    total: u64,
    done: u64,
    started: Instant,
    last_line: Instant,
}

const LOG_EVERY: Duration = Duration::from_secs(2);

impl LogState {
    fn line(&self) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        #[allow(clippy::cast_precision_loss)] // a rate for people to read
        let rate = self.done as f64 / secs;
        info!(phase = %self.phase, done = self.done, total = self.total, per_second = rate.round(), "replaying");
    }
}

impl Progress for LogLines {
    fn start(&self, phase: &str, total: u64) {
        let now = Instant::now();
        let state = LogState { phase: phase.to_owned(), total, done: 0, started: now, last_line: now };
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(state);
    }

    fn advance(&self, n: u64) {
        if let Some(state) = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_mut() {
            state.done += n;
            if state.last_line.elapsed() >= LOG_EVERY {
                state.last_line = Instant::now();
                state.line();
            }
        }
    }

    fn finish(&self) {
        if let Some(state) = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            state.line();
        }
    }
}
