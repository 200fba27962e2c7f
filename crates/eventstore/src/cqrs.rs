//! The cqrs-es framework wired to JetStream, for any aggregate.
//!
//! Generic on purpose: the event store knows aggregates only through cqrs-es's `Aggregate`,
//! and the application names its own (`JetStreamCqrs<Page>`).

use std::collections::HashMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{EventStoreAggregateContext, EventUpcaster, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, CqrsFramework, EventStore};

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

/// Runs `command` on the aggregate `aggregate_id` as if it had no events yet, without reading
/// its stream first, and tells where its events were stored.
///
/// The append expects the aggregate's subject to be empty, and JetStream checks that
/// atomically with the write: if the subject has events after all (a slug taken, or freed by
/// a deletion), nothing is stored and the answer is `AggregateConflict`; the caller then
/// runs the command the usual way, which reads the aggregate and decides. A command that is
/// meant for a new aggregate (a page's creation) saves one read of the stream this way.
pub async fn execute_new_with_receipt<A: Aggregate>(
    store: &JetStreamStore<A>,
    services: &A::Services,
    aggregate_id: &str,
    command: A::Command,
    metadata: HashMap<String, String>,
) -> (Result<(), AggregateError<A::Error>>, Option<AppendReceipt>) {
    receipt::capture(async {
        let mut aggregate = A::default();
        let sink = EventSink::default();
        aggregate.handle(command, services, &sink).await.map_err(AggregateError::UserError)?;
        let context = EventStoreAggregateContext {
            aggregate_id: aggregate_id.to_owned(),
            aggregate,
            current_sequence: 0,
            current_snapshot: None,
        };
        store.commit(sink.collect().await, context, metadata).await.map(|_| ())
    })
    .await
}
