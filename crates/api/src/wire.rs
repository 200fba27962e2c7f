//! The JSON bodies of the API, one leaf module per resource: what requests carry and answers
//! show, with their OpenAPI schemas and the conversions from read-model rows.
//!
//! Leaves: nothing here imports another module of the crate, so every layer may use them.
//!
//! # Layout
//! - [`page`]: pages, their creation, history and deletion.
//! - [`admin`]: the console's bodies, and the public report of a page.
//! - [`insights`]: the recipient's reply, and what the author sees of the page's life.
//! - [`job`]: the status of a create answered with `202`.
//! - [`slug`]: slug checks and suggestions.
//! - [`template`]: the eight designs.
//! - [`readiness`]: `/health` and `/ready`.

pub(crate) mod admin;
pub(crate) mod insights;
pub(crate) mod job;
pub(crate) mod page;
pub(crate) mod readiness;
pub(crate) mod slug;
pub(crate) mod template;
