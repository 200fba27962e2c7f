//! Structured logs for every subcommand.

use tracing_subscriber::EnvFilter;

use crate::settings::LogFormat;

/// Installs the global subscriber: `RUST_LOG` filters (default `info`), `format` shapes.
/// Logs go to stderr; stdout is kept for command output.
///
/// A log line that cannot be written (stderr is a file on a full disk) is dropped: reporting
/// it would go through `eprintln!`, which panics when stderr fails, so a full disk under the
/// logs would end the process.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
}
