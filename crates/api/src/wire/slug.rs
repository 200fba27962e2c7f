//! Slugs on the wire: checks and suggestions.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /api/slugs/check/{slug}` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct SlugCheck {
    /// The slug asked about (cut short if absurdly long).
    pub slug: String,
    /// Whether a page can be created at it now.
    pub available: bool,
    /// Why not, in plain words; `null` when available.
    pub reason: Option<String>,
    /// Up to 5 available alternatives when it is taken or reserved.
    pub suggestions: Vec<String>,
}

/// `GET /api/slugs/suggest` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct Suggestions {
    /// Available slugs, best first.
    pub suggestions: Vec<String>,
}

/// Query of `GET /api/slugs/suggest`.
#[derive(Debug, Deserialize)]
pub(crate) struct SuggestQuery {
    /// What to base the suggestions on: any text.
    pub base: String,
    /// How many, 1–10 (default 5).
    pub count: Option<usize>,
}
