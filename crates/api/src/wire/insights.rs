//! The recipient's reply, and what the author sees of the page's life: opens, views per day,
//! the reply, where mails go.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use valentine_projections::PageRow;

/// `POST /api/pages/{slug}/answer` body.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerRequest {
    /// The reply: `yes` to a proposal, `heart` on every other design.
    #[schema(value_type = String, pattern = "^(yes|heart)$", example = "yes")]
    pub answer: String,
    /// How many times "No" ran away first (proposals only; 0 otherwise).
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 0, maximum = 10000)]
    pub dodges: u32,
}

/// A whole number, written as JSON Schema counts integers: `2` and `2.0` alike; anything
/// negative, fractional or beyond `u32` is refused.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    let whole = number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|x| x.fract() == 0.0 && *x >= 0.0 && *x <= f64::from(u32::MAX))
            .map(|x| x as u64)
    });
    whole.and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
        serde::de::Error::custom(format!("dodges must be a whole number from 0, not {number}"))
    })
}

/// The recipient's reply.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub(crate) struct AnswerResponse {
    /// `yes` or `heart`.
    pub answer: String,
    /// How many times "No" ran away first.
    pub dodges: i64,
    /// When it was given (RFC 3339, UTC).
    pub answered_at: String,
}

impl AnswerResponse {
    /// The reply a row holds, if any.
    pub(crate) fn of(row: &PageRow) -> Option<Self> {
        Some(Self {
            answer: row.answer.clone()?,
            dodges: row.answer_dodges.unwrap_or(0),
            answered_at: row.answered_at.clone()?,
        })
    }
}

/// Views on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub(crate) struct ViewsOnDay {
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Views counted on it.
    pub views: i64,
}

/// `GET /api/pages/{slug}/insights`: what happened to the page, for its author only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub(crate) struct InsightsResponse {
    /// When someone other than the author first opened it; `null` while nobody has.
    pub first_opened_at: Option<String>,
    /// Views counted so far (the author's own included).
    pub views_total: i64,
    /// Views per UTC day, oldest first; only days with views.
    pub views_by_day: Vec<ViewsOnDay>,
    /// The recipient's reply, once given.
    pub answer: Option<AnswerResponse>,
    /// Where mails about the page go; `null` for none.
    pub notify_email: Option<String>,
}

impl InsightsResponse {
    /// The insights of `row`, with its views per day.
    pub(crate) fn of(row: &PageRow, by_day: Vec<(String, i64)>) -> Self {
        Self {
            first_opened_at: row.first_opened_at.clone(),
            views_total: row.view_count,
            views_by_day: by_day.into_iter().map(|(day, views)| ViewsOnDay { day, views }).collect(),
            answer: AnswerResponse::of(row),
            notify_email: row.notify_email.clone(),
        }
    }
}

/// `POST /api/pages/{slug}/unsubscribe` answer.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub(crate) struct UnsubscribedResponse {
    /// Confirmation.
    pub message: String,
}
