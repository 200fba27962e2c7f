//! The cqrs-es framework for pages, wired to JetStream.

use cqrs_es::CqrsFramework;
use cqrs_es::persist::PersistedEventStore;
use valentine_domain::Page;

use crate::repository::JetStreamEventRepository;

/// The event store for pages: pure event sourcing on JetStream.
pub type PageStore = PersistedEventStore<JetStreamEventRepository, Page>;

/// Command handling for pages. Queries are not attached: read models are built by the
/// projector from the stream, never in-process.
pub type PageCqrs = CqrsFramework<Page, PageStore>;

/// Builds [`PageCqrs`] on `repo`.
pub fn page_cqrs(repo: JetStreamEventRepository) -> PageCqrs {
    CqrsFramework::new(PersistedEventStore::new_event_store(repo), Vec::new(), ())
}
