//! Slugs on the wire: checks and suggestions.

use std::borrow::Cow;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
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
    #[serde(default, deserialize_with = "whole_number")]
    pub count: Option<usize>,
}

/// A count in decimal digits; one too large for a `usize` is `usize::MAX`, since any count
/// above the maximum is capped, never refused.
fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    let raw = Cow::<str>::deserialize(deserializer)?;
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(D::Error::custom("count must be a whole number"));
    }
    Ok(Some(raw.parse().unwrap_or(usize::MAX)))
}
