//! What the API does, apart from HTTP: each use case is a struct that owns the handles it
//! needs, takes parsed input and returns domain or read-model types (or [`ApiError`] for the
//! ways it can fail). Handlers in `routes` parse, call one of these, and render.
//!
//! # Layout
//! - [`admin_console`]: [`AdminConsole`]: the console of auditors and moderators: admin
//!   tokens, the stream browser, time travel, reports and decisions.
//! - [`page_queries`]: [`PageQueries`]: pages and slugs from the read model, through the cache.
//! - [`cpu_bound`]: CPU-bound work (PIN hashes, images) on blocking threads, bounded.
//! - [`page_access`]: [`PageAccess`]: who sees what of a page: PINs, reveal times, authors.
//! - [`page_commands`]: [`PageCommands`]: create, update and delete, then wait for the projection.
//! - [`page_exports`]: [`PageExports`]: a page's complete history from the stream, for its author.
//! - [`page_photos`]: [`PagePhotos`]: a page's photo: uploaded, made safe, stored, served.
//! - [`page_share`]: [`PageShare`]: the link-preview image and the QR code of a page.
//! - [`page_visits`]: [`PageVisits`]: what a page read records: its view and its first open.
//! - [`page_insights`]: [`PageInsights`]: opens, views per day and the reply, for the author,
//!   once or followed live.
//! - [`job_tracker`]: [`JobTracker`]: where a create answered with `202` stands.
//! - [`slug_checks`]: [`SlugChecks`]: whether a slug is free, and what else would be.
//! - [`readiness_checks`]: [`ReadinessChecks`]: liveness, readiness and the projection's lag.
//! - [`read_positions`]: [`ReadPositions`]: waiting for the local read model to reach a
//!   position a client names.
//!
//! [`ApiError`]: crate::error::ApiError

pub(crate) mod admin_console;
pub(crate) mod cpu_bound;
pub(crate) mod job_tracker;
pub(crate) mod page_access;
pub(crate) mod page_commands;
pub(crate) mod page_exports;
pub(crate) mod page_insights;
pub(crate) mod page_photos;
pub(crate) mod page_queries;
pub(crate) mod page_share;
pub(crate) mod page_visits;
pub(crate) mod read_positions;
pub(crate) mod readiness_checks;
pub(crate) mod slug_checks;

pub(crate) use admin_console::AdminConsole;
pub(crate) use job_tracker::{JobState, JobTracker};
pub(crate) use page_access::PageAccess;
pub(crate) use page_commands::{CommandHandles, CreateOutcome, PageCommands};
pub(crate) use page_exports::PageExports;
pub(crate) use page_insights::{Insights, PageInsights};
pub(crate) use page_photos::PagePhotos;
pub(crate) use page_queries::PageQueries;
pub(crate) use page_share::PageShare;
pub(crate) use page_visits::PageVisits;
pub(crate) use read_positions::ReadPositions;
pub(crate) use readiness_checks::ReadinessChecks;
pub(crate) use slug_checks::SlugChecks;
