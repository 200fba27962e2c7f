//! The recipient's reply, first opens, the author's insights (once and live) and the
//! unsubscribe link, on real servers.

use std::time::Duration;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{TestApp, answer, assert_error, spawn_app, spawn_app_with, unique_slug};

/// Creates a page of design `template` with `extra` fields; returns its slug and token.
async fn page(app: &TestApp, template: &str, extra: Value) -> (String, String) {
    let slug = unique_slug(template);
    let mut body =
        json!({ "slug": slug, "title": "Will you?", "message": "Be mine", "template_id": template });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, created) = answer(app.post_json("/api/pages", &body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (slug, created["edit_token"].as_str().expect("a token").to_owned())
}

async fn reply(app: &TestApp, slug: &str, body: &Value) -> (StatusCode, Value) {
    answer(app.post_json(&format!("/api/pages/{slug}/answer"), body).await).await
}

/// `GET path` with the edit token `token`.
async fn get_as_author(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.http.get(app.url(path)).header("x-edit-token", token).send().await.expect("answered")
}

async fn insights(app: &TestApp, slug: &str, token: &str) -> (StatusCode, Value) {
    answer(get_as_author(app, &format!("/api/pages/{slug}/insights"), token).await).await
}

/// The page read as its author reads it (with the edit token).
async fn read_as_author(app: &TestApp, slug: &str, token: &str) -> StatusCode {
    get_as_author(app, &format!("/api/pages/{slug}"), token).await.status()
}

/// `valentine_first_opens_total{outcome="<outcome>"}` of the API's metrics.
async fn first_opens(app: &TestApp, outcome: &str) -> u64 {
    let text = app.get("/metrics").await.text().await.expect("metrics");
    let line = format!("valentine_first_opens_total{{outcome=\"{outcome}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(line.as_str())).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_fifty_racing_replies_exactly_one_is_recorded_and_the_rest_are_409() {
    let app = spawn_app().await;
    let (slug, token) = page(&app, "proposal", json!({})).await;
    let racers = (0..50).map(|dodges| {
        let (app, slug) = (&app, &slug);
        async move { reply(app, slug, &json!({ "answer": "yes", "dodges": dodges })).await }
    });
    let answers = futures::future::join_all(racers).await;
    let won: Vec<&Value> =
        answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).map(|(_, b)| b).collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_error(*status, body, StatusCode::CONFLICT);
        assert_eq!(body["code"], "already_answered");
    }
    let winner = won[0].clone();
    assert_eq!(winner["answer"], "yes");
    app.eventually("the reply to be projected", || async {
        insights(&app, &slug, &token).await.1["answer"] == winner
    })
    .await;
    let (_, seen) = insights(&app, &slug, &token).await;
    assert!(seen["first_opened_at"].is_string(), "a reply opens the page too: {seen}");
    // One reply and one open in the page's history, whoever raced.
    let history: Value = app.history(&slug, Some(&token)).await.json().await.expect("JSON");
    let kinds: Vec<&str> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event_type"].as_str())
        .collect();
    assert_eq!(kinds, ["PageCreated", "PageOpened", "PageAnswered"]);
}

#[tokio::test]
async fn a_reply_fits_its_design_and_anything_else_is_refused_with_its_reason() {
    let app = spawn_app().await;
    let (proposal, _) = page(&app, "proposal", json!({})).await;
    let (letter, letter_token) = page(&app, "envelope", json!({})).await;
    for (slug, body, status, code) in [
        (&proposal, json!({ "answer": "heart" }), StatusCode::CONFLICT, "wrong_answer"),
        (&letter, json!({ "answer": "yes" }), StatusCode::CONFLICT, "wrong_answer"),
        (&letter, json!({ "answer": "heart", "dodges": 2 }), StatusCode::CONFLICT, "wrong_answer"),
        (
            &proposal,
            json!({ "answer": "yes", "dodges": 10_001 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (&proposal, json!({ "answer": "maybe" }), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (&proposal, json!({ "answer": "yes", "dodges": -1 }), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (&proposal, json!({ "answer": "yes", "note": "hi" }), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
    ] {
        let (got, error) = reply(&app, slug, &body).await;
        assert_error(got, &error, status);
        assert_eq!(error["code"], code, "{body}: {error}");
    }
    let (status, error) = reply(&app, &unique_slug("nobody"), &json!({ "answer": "yes" })).await;
    assert_error(status, &error, StatusCode::NOT_FOUND);
    let (status, error) = answer(app.post_raw("not json", "application/json").await).await;
    assert!(status.is_client_error(), "{error}");
    let huge = json!({ "answer": "yes", "dodges": 0, "padding": "x".repeat(70_000) });
    let (status, error) = reply(&app, &proposal, &huge).await;
    assert_error(status, &error, StatusCode::PAYLOAD_TOO_LARGE);

    let (status, sent) = reply(&app, &letter, &json!({ "answer": "heart" })).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!((sent["answer"].as_str(), sent["dodges"].as_i64()), (Some("heart"), Some(0)));
    app.eventually("the heart to reach the author", || async {
        insights(&app, &letter, &letter_token).await.1["answer"]["answer"] == "heart"
    })
    .await;
    // The public page shows nothing of it.
    let (_, public) = answer(app.get(&format!("/api/pages/{letter}")).await).await;
    let keys: Vec<&String> = public.as_object().expect("an object").keys().collect();
    assert!(
        !keys.iter().any(|k| k.contains("answer") || k.contains("open") || k.contains("email")),
        "{public}"
    );
}

#[tokio::test]
async fn replies_are_budgeted_per_client() {
    let app = spawn_app_with(|c| c.answers_per_minute = 2).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (slug, _) = page(&app, "proposal", json!({})).await;
        let response = app.post_json(&format!("/api/pages/{slug}/answer"), &json!({ "answer": "yes" })).await;
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().get("retry-after").is_some());
        }
    }
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CREATED, StatusCode::TOO_MANY_REQUESTS]);
}

#[tokio::test]
async fn the_first_read_by_someone_else_is_the_open_and_the_authors_reads_never_are() {
    let app = spawn_app().await;
    let (slug, token) = page(&app, "classic", json!({})).await;
    let (_, before) = insights(&app, &slug, &token).await;
    assert_eq!(before["first_opened_at"], Value::Null, "{before}");

    assert_eq!(read_as_author(&app, &slug, &token).await, StatusCode::OK);
    app.eventually("the author's read to be told apart", || async { first_opens(&app, "author").await == 1 })
        .await;
    let (_, after_author) = insights(&app, &slug, &token).await;
    assert_eq!(after_author["first_opened_at"], Value::Null, "the author's read is no open: {after_author}");

    let opened_after = time::OffsetDateTime::now_utc();
    for _ in 0..5 {
        assert_eq!(app.get(&format!("/api/pages/{slug}")).await.status(), StatusCode::OK);
    }
    app.eventually("the open to be projected", || async {
        insights(&app, &slug, &token).await.1["first_opened_at"].is_string()
    })
    .await;
    let (_, opened) = insights(&app, &slug, &token).await;
    let at = time::OffsetDateTime::parse(
        opened["first_opened_at"].as_str().expect("a time"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    assert!(at >= opened_after - Duration::from_millis(5), "{at} is after the stranger's first read");
    assert_eq!(first_opens(&app, "recorded").await, 1, "one open, however many reads raced");
    let history: Value = app.history(&slug, Some(&token)).await.json().await.expect("JSON");
    let opens = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event_type"] == "PageOpened")
        .count();
    assert_eq!(opens, 1);
}

#[tokio::test]
async fn insights_are_the_authors_alone_and_count_views_per_day_the_same_after_a_rebuild() {
    let app = spawn_app().await;
    let (slug, token) = page(&app, "proposal", json!({ "notify_email": " ana@example.com " })).await;
    for (who, expected) in [(None, StatusCode::UNAUTHORIZED), (Some("not-the-token"), StatusCode::FORBIDDEN)]
    {
        let mut request = app.http.get(app.url(&format!("/api/pages/{slug}/insights")));
        if let Some(who) = who {
            request = request.header("x-edit-token", who);
        }
        let (status, body) = answer(request.send().await.expect("answered")).await;
        assert_error(status, &body, expected);
    }
    for _ in 0..3 {
        app.get(&format!("/api/pages/{slug}")).await;
    }
    let (status, _) = reply(&app, &slug, &json!({ "answer": "yes", "dodges": 2 })).await;
    assert_eq!(status, StatusCode::CREATED);
    app.eventually("three views and the reply", || async {
        let (_, seen) = insights(&app, &slug, &token).await;
        seen["views_total"] == 3 && seen["answer"].is_object()
    })
    .await;
    let (status, live) = insights(&app, &slug, &token).await;
    assert_eq!(status, StatusCode::OK);
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert_eq!(live["views_by_day"], json!([{ "day": today, "views": 3 }]), "{live}");
    assert_eq!(live["notify_email"], "ana@example.com");
    assert_eq!(
        (live["answer"]["answer"].as_str(), live["answer"]["dodges"].as_i64()),
        (Some("yes"), Some(2))
    );

    valentine_projector::rebuild::rebuild(&app.projector_config(), &valentine_projector::progress::Silent)
        .await
        .expect("rebuilt");
    let (_, rebuilt) = insights(&app, &slug, &token).await;
    assert_eq!(rebuilt, live, "a rebuild gives the same insights");
}

#[tokio::test]
async fn an_open_and_a_reply_reach_the_authors_live_stream_at_once() {
    let app = spawn_app().await;
    let (slug, token) = page(&app, "proposal", json!({})).await;
    let path = format!("/api/pages/{slug}/insights/stream");
    let refused =
        app.http.get(app.url(&path)).header("x-edit-token", "wrong").send().await.expect("answered");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let response =
        app.http.get(app.url(&path)).header("x-edit-token", &token).send().await.expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut events = Box::pin(sse_events(response));
    let first = next_insights(&mut events).await;
    assert_eq!(first["first_opened_at"], Value::Null);

    app.get(&format!("/api/pages/{slug}")).await;
    let opened = next_insights(&mut events).await;
    assert!(opened["first_opened_at"].is_string(), "{opened}");
    let started = std::time::Instant::now();
    let (status, _) = reply(&app, &slug, &json!({ "answer": "yes", "dodges": 1 })).await;
    assert_eq!(status, StatusCode::CREATED);
    let mut latest = next_insights(&mut events).await;
    while latest["answer"].is_null() {
        latest = next_insights(&mut events).await;
    }
    assert_eq!(latest["answer"]["dodges"], 1);
    // Not a timing test: a bound far above what it takes, that a poll every few seconds
    // would not meet reliably.
    assert!(started.elapsed() < Duration::from_secs(2), "the reply took {:?} to arrive", started.elapsed());
}

/// The `data` of each `insights` event of a server-sent event stream.
fn sse_events(response: reqwest::Response) -> impl futures::Stream<Item = Value> {
    let bytes = response.bytes_stream();
    futures::stream::unfold((bytes, String::new()), |(mut bytes, mut buffer)| async move {
        loop {
            if let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let data: String =
                    event.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
                if event.lines().any(|l| l == "event: insights") {
                    let value = serde_json::from_str(&data).expect("JSON data");
                    return Some((value, (bytes, buffer)));
                }
                continue;
            }
            let chunk = bytes.next().await?.expect("the stream goes on");
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
}

async fn next_insights(events: &mut (impl futures::Stream<Item = Value> + Unpin)) -> Value {
    tokio::time::timeout(Duration::from_secs(30), events.next())
        .await
        .expect("an insights event in time")
        .expect("the stream goes on")
}

#[tokio::test]
async fn an_address_is_set_changed_and_unsubscribed_by_its_link_and_never_shown_publicly() {
    let app = spawn_app().await;
    let (status, error) = answer(
        app.post_json(
            "/api/pages",
            &json!({ "slug": unique_slug("mail"), "title": "T", "message": "M", "notify_email": "not-an-address" }),
        )
        .await,
    )
    .await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["errors"][0]["field"], "notify_email");

    let (slug, token) = page(&app, "classic", json!({ "notify_email": "ana@example.com" })).await;
    let (status, public) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!public.to_string().contains("ana@example.com"), "{public}");
    let (status, updated) =
        answer(app.patch(&slug, Some(&token), &json!({ "notify_email": "bo@example.org" })).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!updated.to_string().contains("bo@example.org"), "{updated}");
    let (_, seen) = insights(&app, &slug, &token).await;
    assert_eq!(seen["notify_email"], "bo@example.org");

    // The unsubscribe link's key is in the stream only (sealed); the wrong one is refused.
    let wrong = app
        .http
        .post(app.url(&format!("/api/pages/{slug}/unsubscribe?token=nope")))
        .send()
        .await
        .expect("answered");
    let (status, body) = answer(wrong).await;
    assert_error(status, &body, StatusCode::FORBIDDEN);
    let missing =
        app.http.post(app.url(&format!("/api/pages/{slug}/unsubscribe"))).send().await.expect("answered");
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);

    // The link's key, as the notifier reads it: from the page's sealed events.
    let key = unsubscribe_key(&app, &slug).await;
    for _ in 0..2 {
        let link = app.url(&format!("/api/pages/{slug}/unsubscribe?token={key}"));
        let (status, body) =
            answer(app.http.post(link).body("List-Unsubscribe=One-Click").send().await.expect("answered"))
                .await;
        assert_eq!(status, StatusCode::OK, "a second click is fine too: {body}");
    }
    app.eventually("the address to be gone", || async {
        insights(&app, &slug, &token).await.1["notify_email"].is_null()
    })
    .await;

    // The author gives one again, and removes it.
    let (status, _) =
        answer(app.patch(&slug, Some(&token), &json!({ "notify_email": "cy@example.net" })).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(unsubscribe_key(&app, &slug).await, key, "a new address gets a new link");
    let (status, _) = answer(app.patch(&slug, Some(&token), &json!({ "notify_email": null })).await).await;
    assert_eq!(status, StatusCode::OK);
    app.eventually("the address to be removed", || async {
        insights(&app, &slug, &token).await.1["notify_email"].is_null()
    })
    .await;
}

/// The key of the page's current unsubscribe link, read from its sealed events.
async fn unsubscribe_key(app: &TestApp, slug: &str) -> String {
    let repo = valentine_projections::page_store::open(&app.nats.jetstream().await, &app.config.events)
        .await
        .expect("the store");
    let life =
        valentine_projections::page_store::load_life(&repo, &slug.to_ascii_lowercase()).await.expect("read");
    life.iter()
        .flat_map(|c| &c.commit.events)
        .filter_map(|e| match &e.payload {
            valentine_eventstore::sealing::Body::Open(valentine_domain::PageEvent::NotificationsSet(set)) => {
                set.unsubscribe_key.clone()
            }
            _ => None,
        })
        .next_back()
        .expect("an unsubscribe key")
}

/// Opens the live insights of `slug` with `token`.
async fn follow(app: &TestApp, slug: &str, token: &str) -> reqwest::Response {
    get_as_author(app, &format!("/api/pages/{slug}/insights/stream"), token).await
}

#[tokio::test]
async fn live_streams_are_bounded_per_process_and_a_closed_one_frees_its_place() {
    let app = spawn_app_with(|c| c.max_insight_streams = 1).await;
    let (slug, token) = page(&app, "classic", json!({})).await;
    let first = follow(&app, &slug, &token).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = follow(&app, &slug, &token).await;
    assert_eq!(second.headers()["retry-after"], "10");
    let (status, error) = answer(second).await;
    assert_error(status, &error, StatusCode::SERVICE_UNAVAILABLE);
    // A client that goes away frees its place, at the latest with the next keep-alive.
    drop(first);
    app.eventually("the first stream's place to be free", || async {
        follow(&app, &slug, &token).await.status() == StatusCode::OK
    })
    .await;
}

#[tokio::test]
async fn one_client_holds_at_most_four_live_streams_and_gets_its_place_back_when_one_ends() {
    let app = spawn_app().await;
    let (slug, token) = page(&app, "classic", json!({})).await;
    let mut held: Vec<reqwest::Response> = Vec::new();
    for _ in 0..4 {
        let stream = follow(&app, &slug, &token).await;
        assert_eq!(stream.status(), StatusCode::OK);
        held.push(stream);
    }
    let fifth = follow(&app, &slug, &token).await;
    assert_eq!(fifth.headers()["retry-after"], "10");
    let (status, error) = answer(fifth).await;
    assert_error(status, &error, StatusCode::TOO_MANY_REQUESTS);
    held.pop();
    app.eventually("a place to come back", || async {
        follow(&app, &slug, &token).await.status() == StatusCode::OK
    })
    .await;
}

#[tokio::test]
async fn live_streams_are_budgeted_per_client_like_reads() {
    let app = spawn_app_with(|c| c.reads_per_minute = 2).await;
    let (slug, token) = page(&app, "classic", json!({})).await;
    let kept: Vec<reqwest::Response> =
        futures::future::join_all([follow(&app, &slug, &token), follow(&app, &slug, &token)]).await;
    assert!(kept.iter().all(|r| r.status() == StatusCode::OK));
    let (status, error) = answer(follow(&app, &slug, &token).await).await;
    assert_error(status, &error, StatusCode::TOO_MANY_REQUESTS);
}
