//! The console of auditors and moderators on real servers: admin tokens (missing, wrong,
//! right, budgeted), the stream browser and time travel, reports, and taking a page down and
//! putting it back up.

use reqwest::StatusCode;
use serde_json::{Value, json};
use valentine_api::AdminTokens;

use crate::app::{TestApp, answer, assert_error, spawn_app, spawn_app_with, unique_slug};

/// An app whose console admits `ana`, with her token.
async fn console_app(adjust: impl FnOnce(&mut valentine_api::ApiConfig)) -> (TestApp, String) {
    let issued = AdminTokens::issue("ana").expect("issued");
    let token = issued.token.expose().to_owned();
    let app = spawn_app_with(|config| {
        config.admin_tokens = AdminTokens::parse(&issued.entry).expect("parses");
        adjust(config);
    })
    .await;
    (app, token)
}

async fn admin_get(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = app.http.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.expect("answered")).await
}

async fn admin_post(app: &TestApp, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
    answer(app.http.post(app.url(path)).bearer_auth(token).json(body).send().await.expect("answered")).await
}

async fn created(app: &TestApp) -> (String, String) {
    let slug = unique_slug("console");
    let body = app.create(&slug).await;
    (slug, body["edit_token"].as_str().expect("a token").to_owned())
}

#[tokio::test]
async fn the_console_admits_only_a_right_token_and_budgets_the_wrong_ones() {
    let off = spawn_app().await;
    let (status, body) = admin_get(&off, "/api/admin/session", Some("anything")).await;
    assert_error(status, &body, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "admin_disabled");

    let (app, token) = console_app(|config| config.admin_failures_per_hour = 3).await;
    let (status, body) = admin_get(&app, "/api/admin/session", None).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "admin_token_required");
    let (status, body) = admin_get(&app, "/api/admin/session", Some("a-guess")).await;
    assert_error(status, &body, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "wrong_admin_token");
    // A right token costs nothing of the budget of failures.
    for _ in 0..5 {
        let response =
            app.http.get(app.url("/api/admin/session")).bearer_auth(&token).send().await.expect("answered");
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["x-robots-tag"], "noindex");
        let (status, body) = answer(response).await;
        assert_eq!((status, body), (StatusCode::OK, json!({ "admin": "ana" })));
    }
    for guess in ["another-guess", "a-third-guess"] {
        let (status, _) = admin_get(&app, "/api/admin/session", Some(guess)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // That was the third wrong token of the hour, the last: now even a right token waits,
    // while sending none is still only told what is missing.
    let (status, body) = admin_get(&app, "/api/admin/session", None).await;
    assert_eq!((status, &body["code"]), (StatusCode::UNAUTHORIZED, &json!("admin_token_required")));
    let (status, body) = admin_get(&app, "/api/admin/session", Some(&token)).await;
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_console_browses_a_slugs_events_and_shows_the_page_as_of_any_point_with_what_changed() {
    let (app, admin) = console_app(|_| {}).await;
    let (slug, token) = created(&app).await;
    let (status, _) =
        answer(app.patch(&slug, Some(&token), &json!({ "title": "Still mine", "pin": "2468" })).await).await;
    assert_eq!(status, StatusCode::OK);

    let (status, found) =
        admin_get(&app, &format!("/api/admin/pages?q={}", &slug[..slug.len() - 4]), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let listed = found["pages"].as_array().expect("pages");
    assert!(listed.iter().any(|p| p["slug_key"] == slug.as_str() && p["state"] == "live"), "{found}");

    let (status, history) = admin_get(&app, &format!("/api/admin/pages/{slug}/events"), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let events = history["events"].as_array().expect("events");
    let types: Vec<&str> = events.iter().filter_map(|e| e["event_type"].as_str()).collect();
    assert_eq!(types, ["PageCreated", "PageUpdated"], "{history}");
    assert!(events.iter().all(|e| e["command_id"].as_str().is_some_and(|c| c.len() == 26)));
    assert_eq!(events[1]["event_version"], "1.1");
    assert_eq!(
        events[1]["changes"],
        json!([
            { "field": "title", "before": "Be mine", "after": "Still mine" },
            { "field": "pin", "before": null, "after": "set" },
        ])
    );
    let text = history.to_string();
    assert!(text.contains("[redacted]") && !text.contains("argon2"), "no PIN hash leaves: {text}");
    let first = events[0]["stream_sequence"].as_u64().expect("a sequence");

    let (status, then) =
        admin_get(&app, &format!("/api/admin/pages/{slug}/as-of?at={first}"), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{then}");
    assert_eq!(then["page"]["title"], "Be mine");
    assert_eq!(then["page"]["pin"], false);
    assert_eq!(then["events"].as_array().map(Vec::len), Some(1));
    let (status, now) =
        admin_get(&app, &format!("/api/admin/pages/{slug}/as-of?at=2999-01-01T00:00:00Z"), Some(&admin))
            .await;
    assert_eq!((status, &now["page"]["title"]), (StatusCode::OK, &json!("Still mine")));
    let (status, body) =
        admin_get(&app, &format!("/api/admin/pages/{slug}/as-of?at=soon"), Some(&admin)).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST);

    let (status, message) = admin_get(&app, &format!("/api/admin/messages/{first}"), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{message}");
    assert_eq!((message["opened"].as_bool(), message["erased"].as_bool()), (Some(true), Some(false)));
    assert!(message.to_string().contains("Every day with you is a gift."), "opened with its key: {message}");
    assert_eq!(message["commit"]["events"][0]["payload"]["PageCreated"]["edit_token_hash"], "[redacted]");
    let (status, body) = admin_get(&app, "/api/admin/messages/999999999", Some(&admin)).await;
    assert_error(status, &body, StatusCode::NOT_FOUND);

    let (status, streams) = admin_get(&app, "/api/admin/streams", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{streams}");
    let events_stream =
        streams["streams"].as_array().and_then(|s| s.iter().find(|s| s["name"] == "EVENTS")).cloned();
    let events_stream = events_stream.expect("the EVENTS stream");
    assert!(events_stream["last_sequence"].as_u64() >= Some(first + 1));
    assert!(events_stream["consumers"].as_array().is_some_and(|c| !c.is_empty()), "{events_stream}");

    // Deleted: its words are gone from the stream; the console shows the skeleton.
    assert_eq!(app.delete(&slug, Some(&token)).await.status(), StatusCode::OK);
    let (_, history) = admin_get(&app, &format!("/api/admin/pages/{slug}/events"), Some(&admin)).await;
    let erased: Vec<(String, bool)> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| (e["event_type"].as_str().unwrap_or_default().to_owned(), e["erased"] == true))
        .collect();
    assert_eq!(
        erased[..2],
        [("PageCreated".to_owned(), true), ("PageUpdated".to_owned(), true)],
        "{history}"
    );
    assert!(!history.to_string().contains("Every day"), "{history}");
    let (status, _) = admin_get(&app, &format!("/api/admin/messages/{first}"), Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reports_are_budgeted_and_a_page_taken_down_answers_451_to_all_but_its_author_until_reinstated() {
    let (app, admin) = console_app(|config| config.reports_per_hour = 3).await;
    let (slug, token) = created(&app).await;
    let report = |body: Value| {
        let app = &app;
        let slug = slug.clone();
        async move { answer(app.post_json(&format!("/api/pages/{slug}/report"), &body).await).await }
    };
    let (status, body) = report(json!({ "reason": "spam", "note": "  links to a shop  " })).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, json!({ "status": "received" })));
    let (status, body) = report(json!({ "reason": "because" })).await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    // 501 characters as sent, 500 once trimmed (U+0085 is whitespace): the schema's maxLength
    // counts as sent, and so does the API.
    let long = format!("\u{85}\u{ec}{}", "*".repeat(499));
    let (status, body) = report(json!({ "reason": "other", "note": long })).await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "note");
    // The refused note spent one of the three reports of the hour: this is the last.
    let (status, body) = report(json!({ "reason": "hate" })).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = report(json!({ "reason": "hate" })).await;
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS);
    let (status, body) =
        answer(app.post_json("/api/pages/nobody-here-at-all/report", &json!({ "reason": "spam" })).await)
            .await;
    assert_error(status, &body, StatusCode::NOT_FOUND);

    app.eventually("the reports to reach the console", || async {
        let (_, listed) = admin_get(&app, "/api/admin/reports", Some(&admin)).await;
        listed["pages"].as_array().is_some_and(|pages| {
            pages.iter().any(|p| p["slug_key"] == slug.as_str() && p["reports"] == 2 && p["open"] == true)
        })
    })
    .await;
    let (status, reports) = admin_get(&app, &format!("/api/admin/pages/{slug}/reports"), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{reports}");
    let notes: Vec<&Value> =
        reports["reports"].as_array().expect("reports").iter().map(|r| &r["note"]).collect();
    assert!(notes.contains(&&json!("links to a shop")), "{reports}");

    let (status, body) =
        admin_post(&app, &format!("/api/admin/pages/{slug}/take-down"), &admin, &json!({ "reason": "  " }))
            .await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    for decision in ["take-down", "reinstate"] {
        let path = format!("/api/admin/pages/nobody-at-{decision}/{decision}");
        let (status, body) = admin_post(&app, &path, &admin, &json!({ "reason": "spam" })).await;
        assert_error(status, &body, StatusCode::NOT_FOUND);
    }
    let (status, body) = admin_get(&app, "/api/admin/pages/nobody-reported-here/reports", Some(&admin)).await;
    assert_error(status, &body, StatusCode::NOT_FOUND);
    let (status, decided) = admin_post(
        &app,
        &format!("/api/admin/pages/{slug}/take-down"),
        &admin,
        &json!({ "reason": "Spam links, reports 1-2" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!((decided["taken_down"].as_bool(), decided["by"].as_str()), (Some(true), Some("ana")));

    // At once, for everyone but the author: the cached answer is gone too.
    let (status, body) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
    assert_error(status, &body, StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS);
    assert_eq!(body["code"], "taken_down");
    assert!(!body.to_string().contains("Every day"), "{body}");
    let og = app.get(&format!("/{slug}/og.png")).await;
    assert_eq!(og.status(), StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS);
    let (status, body) =
        answer(app.post_json(&format!("/api/pages/{slug}/answer"), &json!({ "answer": "heart" })).await)
            .await;
    assert_error(status, &body, StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS);
    let (status, body) = report(json!({ "reason": "spam" })).await;
    assert_error(status, &body, StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS);
    let authors =
        app.http.get(app.url(&format!("/api/pages/{slug}"))).header("x-edit-token", &token).send().await;
    let (status, page) = answer(authors.expect("answered")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["taken_down"]["reason"], "Spam links, reports 1-2");
    assert!(page["taken_down"]["at"].is_string());
    let (status, body) = admin_post(
        &app,
        &format!("/api/admin/pages/{slug}/take-down"),
        &admin,
        &json!({ "reason": "again" }),
    )
    .await;
    assert_error(status, &body, StatusCode::CONFLICT);
    assert_eq!(body["code"], "already_taken_down");

    let (status, decided) = admin_post(
        &app,
        &format!("/api/admin/pages/{slug}/reinstate"),
        &admin,
        &json!({ "reason": "Appeal upheld" }),
    )
    .await;
    assert_eq!((status, decided["taken_down"].as_bool()), (StatusCode::OK, Some(false)), "{decided}");
    let (status, page) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.get("taken_down").is_none(), "{page}");
    let (status, body) = admin_post(
        &app,
        &format!("/api/admin/pages/{slug}/reinstate"),
        &admin,
        &json!({ "reason": "twice" }),
    )
    .await;
    assert_error(status, &body, StatusCode::CONFLICT);
    assert_eq!(body["code"], "not_taken_down");

    // The author's history shows the decisions; never the reports.
    let (status, history) = answer(app.history(&slug, Some(&token)).await).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let types: Vec<&str> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event_type"].as_str())
        .filter(|t| *t != "PageOpened")
        .collect();
    assert_eq!(types, ["PageCreated", "PageTakenDown", "PageReinstated"], "{history}");
    let (_, listed) = admin_get(&app, "/api/admin/reports", Some(&admin)).await;
    let entry =
        listed["pages"].as_array().and_then(|p| p.iter().find(|p| p["slug_key"] == slug.as_str())).cloned();
    assert_eq!(entry.map(|e| e["open"].clone()), Some(json!(false)), "decided: {listed}");
}

#[tokio::test]
async fn the_author_sees_what_each_change_did_and_restores_an_earlier_version_as_a_new_change() {
    let app = spawn_app().await;
    let (slug, token) = created(&app).await;
    let song = "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC";
    let (status, _) = answer(
        app.patch(
            &slug,
            Some(&token),
            &json!({ "title": "Still mine", "sender_name": null, "song_url": song }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let report = json!({ "reason": "other", "note": "REPORTER-NOTE" });
    assert_eq!(
        app.post_json(&format!("/api/pages/{slug}/report"), &report).await.status(),
        StatusCode::ACCEPTED
    );

    let (status, history) = answer(app.history(&slug, Some(&token)).await).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let events = history["events"].as_array().expect("events");
    assert_eq!(events.len(), 2, "reports stay with the moderators: {history}");
    assert_eq!(events[0]["changes"][1], json!({ "field": "title", "before": null, "after": "Be mine" }));
    assert_eq!(
        events[1]["changes"],
        json!([
            { "field": "title", "before": "Be mine", "after": "Still mine" },
            { "field": "sender_name", "before": "Sam", "after": null },
            { "field": "song_url", "before": null, "after": song },
        ])
    );
    let (_, export) = answer(app.export(&slug, Some(&token)).await).await;
    assert!(!export.to_string().contains("REPORTER-NOTE"), "{export}");

    let first = events[0]["stream_sequence"].as_u64().expect("a sequence");
    let restore = |token: &str, body: Value| {
        let request =
            app.http.post(app.url(&format!("/api/pages/{slug}/restore"))).header("x-edit-token", token);
        async move { answer(request.json(&body).send().await.expect("answered")).await }
    };
    let (status, body) = restore("not-the-token", json!({ "stream_sequence": first })).await;
    assert_error(status, &body, StatusCode::FORBIDDEN);
    let (status, body) = restore(&token, json!({ "stream_sequence": 999_999 })).await;
    assert_error(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = restore(&token, json!({ "sequence": first })).await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, page) = restore(&token, json!({ "stream_sequence": first })).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!((page["title"].as_str(), page["sender_name"].as_str()), (Some("Be mine"), Some("Sam")));
    assert!(page["song"].is_null(), "{page}");

    let (_, history) = answer(app.history(&slug, Some(&token)).await).await;
    let events = history["events"].as_array().expect("events");
    let restored = events.last().expect("a new event");
    assert_eq!(restored["event_type"], "PageUpdated", "history stays append-only: {history}");
    assert_eq!(
        restored["changes"][0],
        json!({ "field": "title", "before": "Still mine", "after": "Be mine" })
    );
    assert_eq!(events.len(), 3);
}

#[tokio::test]
async fn a_failing_read_model_is_a_503_for_the_consoles_lists_and_for_reports() {
    use sqlx::Connection;
    let (app, admin) = console_app(|c| c.redis_url = None).await;
    let (slug, _) = created(&app).await;
    let url = format!("sqlite://{}", app.database().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.expect("the read model opens");
    for table in ["page_reports", "page_events", "pages"] {
        sqlx::query(&format!("DROP TABLE {table}")).execute(&mut db).await.expect("dropped");
    }
    for path in [
        "/api/admin/pages?q=a".to_owned(),
        "/api/admin/reports".to_owned(),
        format!("/api/admin/pages/{slug}/reports"),
    ] {
        let (status, error) = admin_get(&app, &path, Some(&admin)).await;
        assert_error(status, &error, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error["detail"], "The read model is unavailable; try again shortly", "{path}");
    }
    let (status, error) =
        answer(app.post_json(&format!("/api/pages/{slug}/report"), &json!({ "reason": "spam" })).await).await;
    assert_error(status, &error, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_restore_counts_as_a_change_against_the_pages_limit() {
    let app = spawn_app_with(|c| c.max_events_per_page = 2).await;
    let (slug, token) = created(&app).await;
    let (status, _) = answer(app.patch(&slug, Some(&token), &json!({ "title": "Second" })).await).await;
    assert_eq!(status, StatusCode::OK);
    let (_, history) = answer(app.history(&slug, Some(&token)).await).await;
    let first = history["events"][0]["stream_sequence"].as_u64().expect("a sequence");
    let response = app
        .http
        .post(app.url(&format!("/api/pages/{slug}/restore")))
        .header("x-edit-token", &token)
        .json(&json!({ "stream_sequence": first }))
        .send()
        .await
        .expect("answered");
    let (status, body) = answer(response).await;
    assert_error(status, &body, StatusCode::CONFLICT);
    assert_eq!(body["code"], "too_many_changes");
}

#[tokio::test]
async fn the_console_shows_lag_rising_while_no_projector_runs_and_decides_about_parked_events() {
    let (mut app, admin) =
        console_app(|config| config.sync_wait = std::time::Duration::from_millis(50)).await;
    app.stop_projector().await;
    let slug = unique_slug("behind");
    let stored = app.post_json("/api/pages", &crate::app::page_body(&slug)).await;
    assert_eq!(stored.status(), StatusCode::ACCEPTED, "stored, not projected");
    // The create was stored, not projected: the stream says how far behind the read model is.
    let (status, lag) = admin_get(&app, "/api/admin/lag", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{lag}");
    let events_lag = |lag: &Value| {
        lag["consumers"]
            .as_array()
            .and_then(|c| {
                c.iter().find(|c| {
                    c["stream"] == "EVENTS"
                        && c["consumer"].as_str().is_some_and(|n| n.starts_with("projector"))
                })
            })
            .cloned()
            .unwrap_or_default()
    };
    let behind = events_lag(&lag);
    assert!(behind["lag_events"].as_u64() >= Some(1), "{lag}");
    assert!(behind["oldest_unapplied_at"].is_string(), "{lag}");

    // A message no projector can read: parked after its deliveries, the rest projected.
    let js =
        async_nats::jetstream::new(async_nats::connect(app.config.nats.url.as_str()).await.expect("nats"));
    let subject = format!("{}.Page.{}", app.config.events.subject_prefix, unique_slug("poison"));
    let mut garbage = Vec::new();
    for payload in ["not an event", "nor this"] {
        let sent = js.publish(subject.clone(), payload.into()).await.expect("sent");
        garbage.push(sent.await.expect("stored").sequence);
    }
    let (poison, again) = (garbage[0], garbage[1]);
    app.start_projector_with(|config| {
        config.max_deliveries = 2;
        config.report_every = std::time::Duration::from_millis(200);
    })
    .await;
    app.eventually("the page to be projected and the garbage parked", || async {
        let (_, parked) = admin_get(&app, "/api/admin/parked", Some(&admin)).await;
        let read = app.get(&format!("/api/pages/{slug}")).await.status();
        read == StatusCode::OK
            && parked["parked"].as_array().is_some_and(|p| {
                let parked_now =
                    |seq: u64| p.iter().any(|e| e["stream_sequence"] == seq && e["state"] == "parked");
                parked_now(poison) && parked_now(again)
            })
    })
    .await;
    app.eventually("the lag to fall and a worker to beat", || async {
        let (_, lag) = admin_get(&app, "/api/admin/lag", Some(&admin)).await;
        let workers = lag["workers"].as_array().cloned().unwrap_or_default();
        events_lag(&lag)["lag_events"] == 0
            && workers
                .iter()
                .any(|w| w["role"] == "projector" && w["heartbeat_age_seconds"].as_f64() < Some(30.0))
    })
    .await;

    let (_, parked) = admin_get(&app, "/api/admin/parked", Some(&admin)).await;
    let record =
        parked["parked"].as_array().and_then(|p| p.iter().find(|e| e["stream_sequence"] == poison)).cloned();
    let consumer = record.expect("the record")["consumer"].as_str().expect("a consumer").to_owned();
    let skip = format!("/api/admin/parked/{consumer}/{poison}/skip");
    let (status, body) = admin_post(&app, &skip, &admin, &json!({ "reason": " " })).await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = admin_post(
        &app,
        &format!("/api/admin/parked/{consumer}/999999/skip"),
        &admin,
        &json!({ "reason": "x" }),
    )
    .await;
    assert_error(status, &body, StatusCode::NOT_FOUND);
    let (status, decided) =
        admin_post(&app, &skip, &admin, &json!({ "reason": "garbage, not an event" })).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!((decided["state"].as_str(), decided["decided_by"].as_str()), (Some("skipped"), Some("ana")));
    let retry = format!("/api/admin/parked/{consumer}/{poison}/retry");
    let (status, body) = admin_post(&app, &retry, &admin, &json!({ "reason": "once more" })).await;
    assert_error(status, &body, StatusCode::CONFLICT);
    assert_eq!(body["code"], "not_parked");
    let retry = format!("/api/admin/parked/{consumer}/{again}/retry");
    let (status, decided) = admin_post(&app, &retry, &admin, &json!({ "reason": "after the fix" })).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["state"], "retry");
    // A projector tries it once more; still garbage, it is parked again, one attempt up.
    app.eventually("the retry to be tried and parked again", || async {
        let (_, parked) = admin_get(&app, "/api/admin/parked", Some(&admin)).await;
        parked["parked"].as_array().is_some_and(|p| {
            p.iter().any(|e| {
                e["stream_sequence"] == again && e["state"] == "parked" && e["attempts"].as_u64() > Some(2)
            })
        })
    })
    .await;
}

#[tokio::test]
async fn the_consoles_decisions_restores_and_reports_refuse_malformed_and_oversized_bodies() {
    let (app, admin) = console_app(|_| {}).await;
    let (slug, token) = created(&app).await;
    let targets = [
        format!("/api/admin/pages/{slug}/take-down"),
        format!("/api/admin/pages/{slug}/reinstate"),
        "/api/admin/parked/projector-main/7/retry".to_owned(),
        "/api/admin/parked/projector-main/7/skip".to_owned(),
        format!("/api/pages/{slug}/restore"),
        format!("/api/pages/{slug}/report"),
    ];
    let huge = format!("{{\"reason\": \"{}\"}}", "x".repeat(70 * 1024));
    for path in &targets {
        for (body, expected) in
            [("{,".to_owned(), StatusCode::BAD_REQUEST), (huge.clone(), StatusCode::PAYLOAD_TOO_LARGE)]
        {
            let response = app
                .http
                .post(app.url(path))
                .bearer_auth(&admin)
                .header("x-edit-token", &token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("answered");
            let (status, error) = answer(response).await;
            assert_error(status, &error, expected);
        }
    }
    // Nothing was decided, restored or reported.
    let (_, page) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
    assert!(page.get("taken_down").is_none(), "{page}");
}

#[tokio::test]
async fn the_authors_history_shows_only_the_current_life_of_a_reused_slug() {
    let app = spawn_app().await;
    let (slug, token) = created(&app).await;
    let (status, _) =
        answer(app.patch(&slug, Some(&token), &json!({ "title": "FIRST-LIFE-TITLE" })).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.delete(&slug, Some(&token)).await.status(), StatusCode::OK);
    let again = app.create(&slug).await;
    let token = again["edit_token"].as_str().expect("a token");

    let (status, history) = answer(app.history(&slug, Some(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let events = history["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{history}");
    assert_eq!(events[0]["event_type"], "PageCreated");
    assert_eq!(events[0]["changes"][1], json!({ "field": "title", "before": null, "after": "Be mine" }));
    assert!(!history.to_string().contains("FIRST-LIFE-TITLE"), "{history}");
}
