//! The recipient's reply, the author's insights (once, or live as server-sent events), and
//! the unsubscribe link of notification mails.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use valentine_domain::Reply;
use valentine_domain::reply::DODGES_MAX;

use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{EditTokenHeader, Json, MinPosition, PageAuthor, PagePin, PageSlug, Query};
use crate::routes::pages::json;
use crate::routes::positions::with_position;
use crate::routes::refusals::{AuthorRefusals, BadPosition, BodyRefusals, RateLimited, Unavailable};
use crate::use_cases::{Insights, PageAccess, PageCommands, PageInsights};
use crate::wire::insights::{AnswerRequest, AnswerResponse, InsightsResponse, UnsubscribedResponse};

/// How often a live stream says it is still there when nothing changes.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Send the recipient's reply: `yes` to a proposal, a `heart` back on every other design.
///
/// The first reply wins, exactly once however many race; any later one is `409`.
#[utoipa::path(post, path = "/api/pages/{slug}/answer", tag = "answers", params(PageSlug, PagePin),
    request_body = AnswerRequest,
    responses(
        (status = 201, description = "Recorded", body = AnswerResponse, headers(("Valentine-Position" = u64, description = "The stream position of the event recorded: send it as Valentine-Min-Position on later reads"))),
        (status = 401, description = "The page is private: its PIN is missing or wrong (`pin_required`)", body = ErrorBody),
        (status = 404, description = "No such page", body = ErrorBody),
        (status = 409, description = "The page has its reply already (`already_answered`), takes another reply (`wrong_answer`: its design changed since it was read), or has not opened yet (`not_revealed`)", body = ErrorBody),
        BodyRefusals, RateLimited, Unavailable))]
pub(crate) async fn answer_page(
    State(commands): State<PageCommands>,
    State(access): State<PageAccess>,
    caller: Caller,
    page: Result<PageSlug, ApiError>,
    PagePin { pin }: PagePin,
    Json(body): Json<AnswerRequest>,
) -> Result<Response, ApiError> {
    let page = page?;
    let answer = Reply::parse(&body.answer)
        .ok_or_else(|| ApiError::invalid_field("answer", "answer must be \"yes\" or \"heart\""))?;
    if body.dodges > DODGES_MAX {
        return Err(ApiError::invalid_field("dodges", format!("dodges must be at most {DODGES_MAX}")));
    }
    access.unlock(&page.key, pin.as_deref(), &caller.key).await?;
    let answered = commands.answer(&page.key, answer, body.dodges, &caller.key).await?;
    let body = AnswerResponse {
        answer: answered.answer.as_str().to_owned(),
        dodges: i64::from(answered.dodges),
        answered_at: answered.answered_at,
    };
    Ok(with_position(json(StatusCode::CREATED, &body)?, answered.position))
}

/// What happened to the page: its first open, views per day and the recipient's reply, for
/// its author.
#[utoipa::path(get, path = "/api/pages/{slug}/insights", tag = "answers", params(PageSlug, EditTokenHeader, MinPosition),
    responses((status = 200, description = "The page's insights", body = InsightsResponse), AuthorRefusals, BadPosition, RateLimited, Unavailable))]
pub(crate) async fn page_insights(
    State(insights): State<PageInsights>,
    caller: Caller,
    author: PageAuthor,
    MinPosition { position }: MinPosition,
) -> Result<Response, ApiError> {
    let found = insights.read(&author.key, &author.token, &caller.key, position).await?;
    json(StatusCode::OK, &response(&found))
}

/// The page's insights as server-sent events, for its author's open editor: an `insights`
/// event at once and again whenever they change, a comment every 15 s meanwhile. A stream
/// lasts up to five minutes; reconnect then. Read it with a request that carries the token
/// in `X-Edit-Token` (never in the URL).
#[utoipa::path(get, path = "/api/pages/{slug}/insights/stream", tag = "answers", params(PageSlug, EditTokenHeader),
    responses(
        (status = 200, description = "`text/event-stream` of `insights` events, each carrying the insights as JSON", content_type = "text/event-stream", body = InsightsResponse),
        AuthorRefusals, RateLimited, Unavailable))]
pub(crate) async fn insights_stream(
    State(insights): State<PageInsights>,
    caller: Caller,
    author: PageAuthor,
) -> Result<Response, ApiError> {
    let feed = insights.follow(&author.key, author.token, &caller.key).await?;
    let events = futures::stream::unfold(feed, |mut feed| async move {
        let found = feed.next().await?;
        let event = Event::default().event("insights").json_data(response(&found));
        Some((event.map_err(ApiError::internal), feed))
    });
    let events = futures::StreamExt::filter_map(events, |e| async move {
        match e {
            Ok(event) => Some(Ok::<Event, Infallible>(event)),
            Err(e) => {
                tracing::error!(error = %e, "an insights event was not written");
                None
            }
        }
    });
    let mut answer = Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response();
    // Proxies must pass each event on as it comes.
    answer.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(answer)
}

/// The query of an unsubscribe link.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UnsubscribeQuery {
    /// The key the mail's link carries.
    #[param(min_length = 1, max_length = 128)]
    token: String,
}

/// Stop mails about a page: the one-click unsubscribe link of every notification mail
/// (RFC 8058; any body is accepted). Doing it twice is fine.
#[utoipa::path(post, path = "/api/pages/{slug}/unsubscribe", tag = "answers", params(PageSlug, UnsubscribeQuery),
    responses(
        (status = 200, description = "No more mails about this page", body = UnsubscribedResponse),
        (status = 400, description = "No key in the query", body = ErrorBody),
        (status = 403, description = "Not (or no longer) this page's link", body = ErrorBody),
        (status = 404, description = "No such page", body = ErrorBody),
        RateLimited, Unavailable))]
pub(crate) async fn unsubscribe(
    State(commands): State<PageCommands>,
    caller: Caller,
    page: PageSlug,
    Query(query): Query<UnsubscribeQuery>,
) -> Result<Response, ApiError> {
    if query.token.is_empty() || query.token.len() > 128 {
        return Err(ApiError::WrongUnsubscribeLink);
    }
    let position = commands.unsubscribe(&page.key, query.token, &caller.key).await?;
    let answer = json(
        StatusCode::OK,
        &UnsubscribedResponse { message: "You will get no more e-mails about this page".to_owned() },
    )?;
    Ok(match position {
        Some(position) => with_position(answer, position),
        None => answer,
    })
}

fn response(found: &Insights) -> InsightsResponse {
    InsightsResponse::of(&found.row, found.by_day.clone())
}
