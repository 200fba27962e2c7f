//! The cqrs-es framework wired to JetStream, for any aggregate.
//!
//! Generic on purpose: the event store knows aggregates only through cqrs-es's `Aggregate`,
//! and the application names its own (`JetStreamCqrs<Page>`).

use std::collections::HashMap;

use cqrs_es::persist::{EventUpcaster, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, CqrsFramework};

use crate::receipt::{self, AppendReceipt};
use crate::repository::JetStreamEventRepository;

/// The event store for aggregates of type `A`: pure event sourcing on JetStream.
pub type JetStreamStore<A> = PersistedEventStore<JetStreamEventRepository, A>;

/// Command handling for aggregates of type `A`. Queries are not attached: read models are
/// built by projectors from the stream, never in-process.
pub type JetStreamCqrs<A> = CqrsFramework<A, JetStreamStore<A>>;

/// Builds [`JetStreamCqrs`] on `repo`, with the aggregate's services and the upcasters that
/// bring its older event versions to the current ones (oldest first).
pub fn jetstream_cqrs<A: Aggregate>(
    repo: JetStreamEventRepository,
    services: A::Services,
    upcasters: Vec<Box<dyn EventUpcaster>>,
) -> JetStreamCqrs<A> {
    let store = PersistedEventStore::new_event_store(repo).with_upcasters(upcasters);
    CqrsFramework::new(store, Vec::new(), services)
}

/// Runs `command` on the aggregate `aggregate_id` with `metadata`, and tells where its events
/// were stored: `None` when the command produced no events.
///
/// cqrs-es's `execute` returns nothing about storage; the repository hands the receipt over
/// through a slot scoped to this call (see [`crate::receipt`]), so nothing else can see it.
pub async fn execute_with_receipt<A: Aggregate>(
    cqrs: &JetStreamCqrs<A>,
    aggregate_id: &str,
    command: A::Command,
    metadata: HashMap<String, String>,
) -> (Result<(), AggregateError<A::Error>>, Option<AppendReceipt>) {
    receipt::capture(cqrs.execute_with_metadata(aggregate_id, command, metadata)).await
}
