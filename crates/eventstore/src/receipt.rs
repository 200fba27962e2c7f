//! Where an append landed, for callers that need its stream sequence.
//!
//! cqrs-es's `execute` returns nothing about storage, yet the API must know the stream
//! sequence of a new page to wait for the projector to reach it. The repository records a
//! receipt in a task-local slot that `capture` opens around one command, for
//! [`crate::cqrs::execute_with_receipt`] to return.

use std::cell::Cell;
use std::future::Future;

use time::OffsetDateTime;

/// Where a command's events were stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendReceipt {
    /// JetStream stream sequence of the message that holds the command's events.
    pub stream_sequence: u64,
    /// Whether the message was already stored by an earlier attempt of the same command.
    pub duplicate: bool,
    /// The time written into the events' metadata, when this attempt stored them (not for
    /// duplicates, whose time is the earlier attempt's).
    pub timestamp: Option<OffsetDateTime>,
}

tokio::task_local! {
    static RECEIPT: Cell<Option<AppendReceipt>>;
}

/// Runs `fut` (one command execution) and returns its output with the receipt of the append
/// it made, if it made one. Commands go through [`crate::cqrs::execute_with_receipt`]; this is
/// for appends made straight through the repository.
pub async fn capture<F: Future>(fut: F) -> (F::Output, Option<AppendReceipt>) {
    RECEIPT
        .scope(Cell::new(None), async move {
            let output = fut.await;
            (output, RECEIPT.with(Cell::get))
        })
        .await
}

/// Records a receipt for the enclosing [`capture`], if any.
pub(crate) fn record(receipt: AppendReceipt) {
    // Outside `capture` nobody is listening; that is fine.
    let _ = RECEIPT.try_with(|slot| slot.set(Some(receipt)));
}
