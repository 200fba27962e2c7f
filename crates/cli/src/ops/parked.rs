//! `valentine parked`: the event messages projectors could not apply and set aside, and an
//! operator's decision about one: retry it, or skip it for good.

use std::io::Write;

use async_nats::jetstream;
use valentine_projections::parked::{DecideError, Decision, ParkedEvent, ParkedEvents};
use valentine_projector::ReadSideConfig;

use super::OpsError;

async fn open(config: &ReadSideConfig) -> Result<ParkedEvents, OpsError> {
    let client = config.nats.connect("valentine-parked").await.map_err(OpsError::nats)?;
    Ok(ParkedEvents::open(&jetstream::new(client), &config.events).await?)
}

/// Every record, newest first.
///
/// # Errors
/// When NATS is unreachable or refuses.
pub async fn list(config: &ReadSideConfig) -> Result<Vec<ParkedEvent>, OpsError> {
    Ok(open(config).await?.list().await?)
}

/// Who decides: `$USER`, else `operator@<hostname>`.
pub fn operator() -> String {
    match std::env::var("USER") {
        Ok(user) if !user.trim().is_empty() => user,
        _ => {
            let host = nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "localhost".to_owned());
            format!("operator@{host}")
        }
    }
}

/// Records `decision` about the parked message at `stream_sequence` of `consumer` (by
/// default this read model's events consumer), made by `by` for `reason`, and logs it.
///
/// # Errors
/// When there is no such record, it is not parked (decided already), or NATS fails.
pub async fn decide(
    config: &ReadSideConfig,
    consumer: Option<&str>,
    stream_sequence: u64,
    decision: Decision,
    by: &str,
    reason: &str,
) -> Result<ParkedEvent, OpsError> {
    let consumer = consumer.map_or_else(|| config.read_model.events_consumer(), str::to_owned);
    let decided = open(config).await?.decide(&consumer, stream_sequence, decision, by, reason).await;
    let what = match decision {
        Decision::Retry => "retry",
        Decision::Skip => "skip",
    };
    match decided {
        Ok(event) => {
            tracing::info!(by, decision = what, consumer, stream_sequence, reason, "parked event decided");
            Ok(event)
        }
        Err(DecideError::Store(e)) => Err(e.into()),
        Err(e) => Err(OpsError::Refused(format!("{consumer} at stream sequence {stream_sequence}: {e}"))),
    }
}

/// Writes `events` as a table for people.
///
/// # Errors
/// When writing fails.
pub fn write_table(events: &[ParkedEvent], out: &mut impl Write) -> std::io::Result<()> {
    if events.is_empty() {
        return writeln!(out, "no parked events");
    }
    writeln!(
        out,
        "{:>10}  {:<9}  {:<22}  {:>8}  {:<30}  {:<24}  error / decision",
        "sequence", "state", "consumer", "attempts", "parked at", "subject"
    )?;
    for e in events {
        let state = serde_json::to_value(e.state).ok().and_then(|v| v.as_str().map(str::to_owned));
        writeln!(
            out,
            "{:>10}  {:<9}  {:<22}  {:>8}  {:<30}  {:<24}  {}",
            e.stream_sequence,
            state.unwrap_or_default(),
            e.consumer,
            e.attempts,
            e.parked_at,
            e.subject,
            e.error
        )?;
        if let (Some(by), Some(at)) = (&e.decided_by, &e.decided_at) {
            writeln!(
                out,
                "{:>10}  decided by {by} at {at}: {}",
                "",
                e.decision_reason.as_deref().unwrap_or("")
            )?;
        }
    }
    Ok(())
}
