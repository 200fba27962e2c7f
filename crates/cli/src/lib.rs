//! The `valentine` binary: one executable for every role.
//!
//! The projector's worker and rebuild come from `valentine_projector`; the operator
//! commands that only report on or copy the streams and the read model live here.
//!
//! # Layout
//! - [`settings`]: environment variables, typed.
//! - [`telemetry`]: structured logs.
//! - [`ops`]: `replay`, `status`, `backup`, `restore`, `bootstrap`, `erase` and `parked`.
//! - subcommands are defined and run below.

pub mod ops;
pub mod settings;
pub mod telemetry;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use valentine_projector::progress::reporter;
use valentine_projector::{Projector, health, rebuild};

use valentine_projections::page_timeline::AsOf;
use valentine_projections::parked::Decision;

use crate::ops::{backup, bootstrap, erase, parked, replay, status};
use crate::settings::{LogFormat, Settings};

/// Valentine: shareable pages for loved ones, event-sourced on NATS JetStream.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (and the web app, when WEB_DIST is set) on BIND_ADDR.
    Api {
        #[command(flatten)]
        settings: Settings,
    },
    /// Run one projector worker: events and view tallies into the read model. Run several
    /// for scale; they share the work. Serves /health and /ready on PROJECTOR_HEALTH_ADDR if
    /// set.
    Projector {
        #[command(flatten)]
        settings: Settings,
    },
    /// Run one notifier worker: mails a page's author (the address given at create or in the
    /// editor) on the page's first open and on the recipient's reply, over SMTP_URL, once
    /// each. Run several for scale or safety; they share the work.
    Notifier {
        #[command(flatten)]
        settings: Settings,
    },
    /// Rebuild the read model from the whole stream and swap it in; prints its content hash.
    Rebuild {
        /// Compare a fresh build with the live read model instead; exits 1 if they differ.
        #[arg(long)]
        verify: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// Print a page's full event history from the stream, every life of the slug.
    Replay {
        /// The page's slug, in any casing.
        slug: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Under each event, what it changed: `field: before → after`.
        #[arg(long)]
        diff: bool,
        /// Stop at a point of the history, a stream sequence (e.g. 42) or an RFC 3339 time,
        /// and print the page as it stood then.
        #[arg(long, value_parser = as_of)]
        as_of: Option<AsOf>,
        #[command(flatten)]
        settings: Settings,
    },
    /// Show the event streams, the projectors' lag and the read model's counts.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// Copy the event streams (as of now) and the read model into a new folder, while the
    /// services run.
    Backup {
        /// The folder to create (or an empty one).
        dir: std::path::PathBuf,
        #[command(flatten)]
        settings: Settings,
    },
    /// Publish a backup's streams into empty streams, every message at its old sequence, and
    /// its data keys into the key store; every erasure the stream records is then carried out
    /// again. Then run `valentine rebuild`.
    Restore {
        /// The backup's folder.
        dir: std::path::PathBuf,
        /// Restore only the data keys, into the running system's key store (lost or damaged);
        /// erasures recorded since the backup are carried out again.
        #[arg(long)]
        data_keys_only: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// Make a copy of a read model (a backup's folder, or its read-model.sqlite) this node's
    /// read model, for a new node (READ_MODEL_ID of its own, no DATABASE_PATH yet): its
    /// projectors then resume right after the copy's position instead of replaying the
    /// stream.
    Bootstrap {
        /// The backup's folder, or the read model file.
        from: std::path::PathBuf,
        #[command(flatten)]
        settings: Settings,
    },
    /// Erase a slug's pages without the edit token, for a legal request: its live page and
    /// any deleted before deletion erased. Recorded in the stream with the reason. With
    /// --again (and no slug), carry out every erasure the stream records once more: after
    /// restoring the key store from a backup older than some erasures.
    Erase {
        /// The slug, in any casing.
        #[arg(required_unless_present = "again", conflicts_with = "again")]
        slug: Option<String>,
        /// Why (e.g. the request's reference); kept in the stream.
        #[arg(long, required_unless_present = "again", conflicts_with = "again")]
        reason: Option<String>,
        /// Carry out every recorded erasure again.
        #[arg(long)]
        again: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// Print a new admin token for the console (`/admin`) and the `ADMIN_TOKEN_HASH` entry
    /// that admits it. The token is shown once; only its hash is configured.
    AdminToken {
        /// Who it is for: every console action is recorded under this name (a–z, 0–9, '.',
        /// '_', '-').
        #[arg(long, default_value = "admin")]
        name: String,
    },
    /// List the events projectors parked (could not apply after PROJECTOR_MAX_DELIVERIES
    /// deliveries), or decide about one: `parked retry <seq> --reason …` has a projector try
    /// it again, `parked skip <seq> --reason …` leaves it unapplied for good.
    Parked {
        #[command(subcommand)]
        decision: Option<ParkedDecision>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// GET an HTTP URL and exit 0 if it answers 2xx, 1 otherwise: a health check for images
    /// without curl, e.g. `valentine probe http://127.0.0.1:9100/ready`.
    Probe {
        /// The URL (http only).
        url: String,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 2)]
        timeout: u64,
    },
}

/// An operator's decision about a parked event.
#[derive(Debug, Subcommand)]
enum ParkedDecision {
    /// Have a projector of the consumer apply it again (once its cause is fixed).
    Retry {
        #[command(flatten)]
        target: ParkedTarget,
    },
    /// Leave it unapplied for good; the record keeps who and why.
    Skip {
        #[command(flatten)]
        target: ParkedTarget,
    },
}

/// Which parked event, and why the decision.
#[derive(Debug, clap::Args)]
struct ParkedTarget {
    /// Its stream sequence.
    stream_sequence: u64,
    /// Why (kept in the record, with who decided and when).
    #[arg(long)]
    reason: String,
    /// The consumer that parked it; by default this read model's events consumer
    /// (projector-<READ_MODEL_ID>).
    #[arg(long)]
    consumer: Option<String>,
}

impl Command {
    /// The settings the command runs with; `probe` has none.
    fn settings(&self) -> Option<&Settings> {
        match self {
            Self::Api { settings }
            | Self::Projector { settings }
            | Self::Notifier { settings }
            | Self::Rebuild { settings, .. }
            | Self::Replay { settings, .. }
            | Self::Status { settings, .. }
            | Self::Backup { settings, .. }
            | Self::Restore { settings, .. }
            | Self::Bootstrap { settings, .. }
            | Self::Erase { settings, .. }
            | Self::Parked { settings, .. } => Some(settings),
            Self::Probe { .. } | Self::AdminToken { .. } => None,
        }
    }
}

fn as_of(raw: &str) -> Result<AsOf, String> {
    AsOf::parse(raw)
}

/// Runs `work` to its end while `serve` answers health checks on `addr` (when set; `setting`
/// names it in errors); then cancels `shutdown` and waits for the endpoint to close.
///
/// # Errors
/// When `addr` cannot be listened on, or the endpoint failed.
async fn with_health_endpoint<S, W>(
    addr: Option<std::net::SocketAddr>,
    setting: &str,
    shutdown: &CancellationToken,
    serve: impl FnOnce(tokio::net::TcpListener, CancellationToken) -> S,
    work: W,
) -> anyhow::Result<W::Output>
where
    S: Future<Output = std::io::Result<()>> + Send + 'static,
    W: Future,
{
    let endpoint = match addr {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {setting}={addr}"))?;
            Some(tokio::spawn(serve(listener, shutdown.clone())))
        }
        None => None,
    };
    let done = work.await;
    shutdown.cancel();
    if let Some(endpoint) = endpoint {
        endpoint.await.context("the health endpoint")?.context("serving the health endpoint")?;
    }
    Ok(done)
}

/// Parses the command line (and the settings from the environment) and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Probe { url, timeout } = &cli.command {
        // Needs no settings: it runs where they may be incomplete.
        return probe(url, Duration::from_secs(*timeout));
    }
    if let Command::AdminToken { name } = &cli.command {
        let issued = match valentine_api::AdminTokens::issue(name) {
            Ok(issued) => issued,
            Err(e) => {
                eprintln!("valentine admin-token: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("token: {}", issued.token.expose());
        println!("ADMIN_TOKEN_HASH={}", issued.entry);
        eprintln!(
            "Keep the token secret; it is not stored anywhere. Add the entry to ADMIN_TOKEN_HASH \
             (comma separated, one per admin) and restart the API."
        );
        return ExitCode::SUCCESS;
    }
    if let Some(Err(why)) = cli.command.settings().map(Settings::check) {
        // Exits 2, as for any unusable setting.
        Cli::command().error(clap::error::ErrorKind::ValueValidation, why).exit();
    }
    telemetry::init(cli.command.settings().map_or(LogFormat::Text, |s| s.log_format));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("valentine: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "failed");
            eprintln!("valentine: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    survive_file_size_limit()?;
    match command {
        Command::Api { settings } => {
            // Listening before anything else: a SIGTERM while starting stops it cleanly too.
            let shutdown = CancellationToken::new();
            cancel_on_signal(shutdown.clone());
            let app = tokio::select! {
                app = valentine_api::Application::build(settings.api()) => app.context("starting the API")?,
                () = shutdown.cancelled() => return Ok(ExitCode::SUCCESS),
            };
            app.run(shutdown).await.context("serving")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Projector { settings } => {
            let shutdown = CancellationToken::new();
            cancel_on_signal(shutdown.clone());
            let projector = tokio::select! {
                projector = Projector::connect(settings.read_side()) => projector.context("starting the projector")?,
                () = shutdown.cancelled() => return Ok(ExitCode::SUCCESS),
            };
            let health = projector.health();
            let projected = with_health_endpoint(
                settings.projector_health_addr.0,
                "PROJECTOR_HEALTH_ADDR",
                &shutdown,
                |listener, stop| health::serve(listener, health, stop),
                projector.run(shutdown.clone()),
            )
            .await?;
            projected.context("projecting")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Notifier { settings } => {
            let config =
                settings.notifier().context("SMTP_URL is not set: the notifier has nowhere to send mail")?;
            let shutdown = CancellationToken::new();
            cancel_on_signal(shutdown.clone());
            let notifier = tokio::select! {
                notifier = valentine_notifier::Notifier::connect(config) => notifier.context("starting the notifier")?,
                () = shutdown.cancelled() => return Ok(ExitCode::SUCCESS),
            };
            let health = notifier.health();
            let notified = with_health_endpoint(
                settings.notifier_health_addr.0,
                "NOTIFIER_HEALTH_ADDR",
                &shutdown,
                |listener, stop| valentine_notifier::health::serve(listener, health, stop),
                notifier.run(shutdown.clone()),
            )
            .await?;
            notified.context("notifying")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rebuild { verify: false, json, settings } => {
            let report =
                rebuild::rebuild(&settings.read_side(), reporter().as_ref()).await.context("rebuilding")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                let secs = report.elapsed.as_secs_f64().max(1e-9);
                #[allow(clippy::cast_precision_loss)] // a rate for people to read
                let rate = report.events as f64 / secs;
                let peak =
                    report.peak_rss_bytes.map_or_else(String::new, |b| format!(", peak RSS {} MiB", b >> 20));
                eprintln!(
                    "rebuilt {} events ({} commits) and {} view tallies in {secs:.2}s ({rate:.0} events/s{peak})",
                    report.events, report.commits, report.tallies
                );
                println!("{}", report.content_hash);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Rebuild { verify: true, json, settings } => {
            let verification =
                rebuild::verify(&settings.read_side(), reporter().as_ref()).await.context("verifying")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&verification)?);
            } else {
                println!("live  {}\nfresh {}", verification.live, verification.fresh);
                let verdict =
                    if verification.matches() { "the read model matches the stream" } else { "MISMATCH" };
                eprintln!("{verdict}");
            }
            Ok(if verification.matches() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Replay { slug, json, diff, as_of, settings } => {
            let events =
                replay::history(&settings.read_side(), &slug).await.context("reading the history")?;
            let mut out = std::io::stdout().lock();
            match (as_of, json) {
                (None, true) => replay::write_json(&events, &mut out)?,
                (None, false) => replay::write_table(&slug, &events, diff, &mut out)?,
                (Some(at), true) => {
                    serde_json::to_writer_pretty(&mut out, &replay::as_of(&events, at))?;
                    writeln!(out)?;
                }
                (Some(at), false) => replay::write_as_of(&slug, &replay::as_of(&events, at), diff, &mut out)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { json, settings } => {
            let status = status::status(&settings.read_side()).await.context("reading the status")?;
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &status)?;
                writeln!(out)?;
            } else {
                status::write_text(&status, &mut out)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { dir, settings } => {
            let manifest = backup::backup(&settings.read_side(), &dir).await.context("backing up")?;
            for s in &manifest.streams {
                eprintln!("{}: {} messages, up to sequence {}", s.name, s.messages, s.last_sequence);
            }
            if manifest.read_model.is_some() {
                eprintln!("read model: copied");
            }
            println!("{}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { dir, data_keys_only, settings } => {
            let what =
                if data_keys_only { backup::Restoring::DataKeys } else { backup::Restoring::Everything };
            let (manifest, erased) =
                backup::restore(&settings.read_side(), &dir, what).await.context("restoring")?;
            if what == backup::Restoring::Everything {
                for s in &manifest.streams {
                    eprintln!("{}: {} messages restored", s.name, s.messages);
                }
            }
            if let Some(keys) = &manifest.data_keys {
                eprintln!("data keys: {} messages restored", keys.messages);
            }
            eprintln!("{} erasure(s) recorded since the backup carried out again", erased.len());
            if what == backup::Restoring::Everything {
                eprintln!("now run `valentine rebuild` to build the read model from them");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bootstrap { from, settings } => {
            let done = bootstrap::bootstrap(&settings.read_side(), &from).await.context("bootstrapping")?;
            eprintln!(
                "read model {}: a copy at events {} and views {}, with {} erasure(s) recorded since applied; \
                 `valentine projector` now creates {} and {} and catches up from there",
                settings.read_model_id,
                done.events_through,
                done.views_through,
                done.erased,
                done.consumers[0],
                done.consumers[1]
            );
            println!("{}", done.file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Erase { slug, reason, again, json, settings } => {
            let config = settings.read_side();
            let erasures = match (slug, again) {
                (Some(slug), false) => {
                    let reason = reason.unwrap_or_default();
                    vec![erase::erase(&config, &slug, &reason).await.context("erasing")?]
                }
                _ => erase::erase_again(&config).await.context("carrying out the erasures again")?,
            };
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &erasures)?;
                writeln!(out)?;
            } else {
                for e in &erasures {
                    writeln!(
                        out,
                        "{}: erased at stream sequence {}; {} data key(s) destroyed, {} message(s) removed",
                        e.slug, e.stream_sequence, e.keys_destroyed, e.messages_removed
                    )?;
                }
                if again {
                    writeln!(out, "{} erasure(s) carried out again", erasures.len())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Parked { decision, json, settings } => {
            let config = settings.read_side();
            let mut out = std::io::stdout().lock();
            let (decision, target) = match decision {
                None => {
                    let events = parked::list(&config).await.context("listing the parked events")?;
                    if json {
                        serde_json::to_writer_pretty(&mut out, &events)?;
                        writeln!(out)?;
                    } else {
                        parked::write_table(&events, &mut out)?;
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                Some(ParkedDecision::Retry { target }) => (Decision::Retry, target),
                Some(ParkedDecision::Skip { target }) => (Decision::Skip, target),
            };
            let by = parked::operator();
            let event = parked::decide(
                &config,
                target.consumer.as_deref(),
                target.stream_sequence,
                decision,
                &by,
                &target.reason,
            )
            .await
            .context("deciding")?;
            if json {
                serde_json::to_writer_pretty(&mut out, &event)?;
                writeln!(out)?;
            } else {
                parked::write_table(std::slice::from_ref(&event), &mut out)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Probe { .. } | Command::AdminToken { .. } => {
            unreachable!("answered before the settings are read")
        }
    }
}

/// `valentine probe`: one GET, its status and body on stdout; 0 for a 2xx answer, else 1.
fn probe(url: &str, timeout: Duration) -> ExitCode {
    let answer = async {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        let response = client.get(url).send().await?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        Ok::<_, reqwest::Error>((status, body))
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    match runtime.map(|r| r.block_on(answer)) {
        Ok(Ok((status, body))) => {
            println!("{} {}", status.as_u16(), body.trim_end());
            if status.is_success() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Ok(Err(e)) => {
            eprintln!("valentine probe: {url}: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("valentine probe: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A write past the process's file size limit (`RLIMIT_FSIZE`) raises SIGXFSZ, which would
/// end the process. Handling it turns such a write into a failed write instead: a projector's
/// SQLite then refuses the batch as on a full disk and the worker retries until the limit is
/// raised or space is freed; a log line is dropped.
fn survive_file_size_limit() -> anyhow::Result<()> {
    let mut signals =
        signal(SignalKind::from_raw(nix::sys::signal::Signal::SIGXFSZ as i32)).context("handling SIGXFSZ")?;
    tokio::spawn(async move {
        while signals.recv().await.is_some() {
            tracing::warn!("a write went past the file size limit (SIGXFSZ); it fails instead");
        }
    });
    Ok(())
}

/// Cancels `token` on Ctrl-C or SIGTERM: SIGTERM is handled from when this returns.
fn cancel_on_signal(token: CancellationToken) {
    let mut term = signal(SignalKind::terminate()).ok();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::select! {
            _ = ctrl_c => {}
            () = async {
                match term.as_mut() {
                    Some(t) => { t.recv().await; }
                    None => std::future::pending().await,
                }
            } => {}
        }
        tracing::info!("stopping");
        token.cancel();
    });
}
