//! Pages through the HTTP API on real servers: create, read, update, delete, history, jobs,
//! idempotency, views and cache freshness.

use std::time::Duration;

use crate::app::{
    answer, assert_error, page_body, spawn_app, spawn_app_with, spawn_app_without_projector, unique_slug,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn a_created_page_is_readable_at_once_in_any_casing() {
    let app = spawn_app().await;
    let slug = unique_slug("Alice");
    let created = app.create(&slug).await;

    let page = &created["page"];
    assert_eq!(page["slug"], slug.as_str(), "the author's casing is kept");
    assert_eq!(page["title"], "Be mine");
    assert_eq!(page["template_id"], "envelope");
    assert_eq!(page["view_count"], 0);
    assert!(page["id"].as_i64().is_some_and(|id| id > 0));
    assert_eq!(created["url"], format!("https://valentine.example/{slug}"));
    let token = created["edit_token"].as_str().expect("a token");
    assert_eq!(token.len(), 43, "256 bits, URL-safe base64");

    // The answer is exactly what reads show, and the first read's count includes itself.
    let (_, first) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
    let mut read_back = page.clone();
    read_back["view_count"] = 1.into();
    assert_eq!(first, read_back);

    for path in [slug.clone(), slug.to_ascii_lowercase(), slug.to_ascii_uppercase()] {
        let (status, body) = answer(app.get(&format!("/api/pages/{path}")).await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["id"], page["id"]);
        assert_eq!(body["message"], "Every day with you is a gift.");
    }
}

#[tokio::test]
async fn text_is_trimmed_and_the_template_defaults_to_classic() {
    let app = spawn_app().await;
    let slug = unique_slug("trim");
    let body = json!({ "slug": slug, "title": "  Hi  ", "message": "\n Love \t", "sender_name": "   " });
    let (status, created) = answer(app.post_json("/api/pages", &body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["page"]["title"], "Hi");
    assert_eq!(created["page"]["message"], "Love");
    assert_eq!(created["page"]["sender_name"], Value::Null, "blank counts as missing");
    assert_eq!(created["page"]["template_id"], "classic");
}

#[tokio::test]
async fn invalid_content_is_a_422_naming_every_broken_rule_without_echoing_it() {
    let app = spawn_app().await;
    let huge = "x".repeat(2001);
    let body = json!({ "slug": unique_slug("bad"), "title": "", "message": huge, "template_id": "rainbow" });
    let (status, error) = answer(app.post_json("/api/pages", &body).await).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        error["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["title", "message", "template_id"]);
    assert!(!error.to_string().contains("xxxxxxxxxx"), "the input is never echoed");

    for (slug, reason) in
        [("ab", "at least 3"), ("a_b_c", "letters, numbers and hyphens"), ("-abc", "start and end")]
    {
        let (status, error) = answer(app.post_json("/api/pages", &page_body(slug)).await).await;
        assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(error["detail"].as_str().is_some_and(|d| d.contains(reason)), "{error}");
    }
    let (status, error) =
        answer(app.post_json("/api/pages", &json!({ "title": "t", "message": "m" })).await).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["errors"][0]["field"], "slug");
}

#[tokio::test]
async fn taken_and_reserved_slugs_are_409_in_any_casing() {
    let app = spawn_app().await;
    let slug = unique_slug("taken");
    app.create(&slug).await;
    let (status, error) =
        answer(app.post_json("/api/pages", &page_body(&slug.to_ascii_uppercase())).await).await;
    assert_error(status, &error, StatusCode::CONFLICT);
    assert_eq!(error["detail"], "This slug is already taken");
    assert_eq!(error["code"], "slug_taken");

    for reserved in ["admin", "API", "Health", "404"] {
        let (status, error) = answer(app.post_json("/api/pages", &page_body(reserved)).await).await;
        assert_error(status, &error, StatusCode::CONFLICT);
        assert_eq!(error["detail"], "This slug is reserved");
    }
}

#[tokio::test]
async fn an_update_needs_the_token_and_changes_only_what_it_names() {
    let app = spawn_app_with(|c| c.page_cache = true).await;
    let slug = unique_slug("edit");
    let created = app.create(&slug).await;
    let token = created["edit_token"].as_str().expect("token");

    let (status, error) = answer(app.patch(&slug, None, &json!({ "title": "x" })).await).await;
    assert_error(status, &error, StatusCode::UNAUTHORIZED);
    let (status, error) =
        answer(app.patch(&slug, Some("not-the-token"), &json!({ "title": "x" })).await).await;
    assert_error(status, &error, StatusCode::FORBIDDEN);
    let (status, error) =
        answer(app.patch(&unique_slug("nobody"), Some(token), &json!({ "title": "x" })).await).await;
    assert_error(status, &error, StatusCode::NOT_FOUND);
    let (status, error) =
        answer(app.patch(&slug, Some(token), &json!({ "title": " ", "template_id": "nope" })).await).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY);

    let change = json!({ "title": "Still mine", "sender_name": null, "template_id": "scratch" });
    let (status, page) = answer(app.patch(&slug, Some(token), &change).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["title"], "Still mine");
    assert_eq!(page["sender_name"], Value::Null, "null removes a name");
    assert_eq!(page["recipient_name"], "Alex", "untouched fields stay");
    assert_eq!(page["template_id"], "scratch");
    assert_eq!(page["id"], created["page"]["id"]);

    // The change shows in reads at once: the projector invalidated the cached answer.
    let (_, read) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
    assert_eq!(read["title"], "Still mine");

    // An update that changes nothing is fine and records nothing.
    let (status, same) = answer(app.patch(&slug, Some(token), &json!({ "title": "Still mine" })).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["title"], "Still mine");
    let (_, history) = answer(app.history(&slug, Some(token)).await).await;
    let changes: Vec<&Value> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event_type"] != "PageOpened")
        .collect();
    assert_eq!(changes.len(), 2, "{history}");
}

#[tokio::test]
async fn a_deleted_page_is_gone_and_its_slug_free_for_a_new_page() {
    let app = spawn_app_with(|c| c.page_cache = true).await;
    let slug = unique_slug("gone");
    let created = app.create(&slug).await;
    let token = created["edit_token"].as_str().expect("token");
    // Read it once so an answer is cached.
    assert_eq!(app.get(&format!("/api/pages/{slug}")).await.status(), StatusCode::OK);

    let (status, error) = answer(app.delete(&slug, None).await).await;
    assert_error(status, &error, StatusCode::UNAUTHORIZED);
    let (status, error) = answer(app.delete(&slug, Some("wrong")).await).await;
    assert_error(status, &error, StatusCode::FORBIDDEN);
    let (status, body) = answer(app.delete(&slug, Some(token)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["message"].is_string());

    let (status, error) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
    assert_error(status, &error, StatusCode::NOT_FOUND);
    let (_, check) = answer(app.get(&format!("/api/slugs/check/{slug}")).await).await;
    assert_eq!(check["available"], true, "{check}");
    let (status, error) = answer(app.delete(&slug, Some(token)).await).await;
    assert_error(status, &error, StatusCode::NOT_FOUND);

    // The original answered 500 here; the slug is simply free again, for a new page.
    let again = app.create(&slug).await;
    assert_ne!(again["page"]["id"], created["page"]["id"]);
    let (status, _) = answer(app.patch(&slug, Some(token), &json!({ "title": "hijack" })).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the old page's token has no power over the new one");
}

#[tokio::test]
async fn the_author_sees_the_history_of_the_current_page() {
    let app = spawn_app().await;
    let slug = unique_slug("hist");
    let created = app.create(&slug).await;
    let token = created["edit_token"].as_str().expect("token");
    let (status, _) = answer(app.patch(&slug, Some(token), &json!({ "message": "More" })).await).await;
    assert_eq!(status, StatusCode::OK);

    let (status, error) = answer(app.history(&slug, None).await).await;
    assert_error(status, &error, StatusCode::UNAUTHORIZED);
    let (status, error) = answer(app.history(&slug, Some("wrong")).await).await;
    assert_error(status, &error, StatusCode::FORBIDDEN);
    let (status, error) = answer(app.history(&unique_slug("none"), Some(token)).await).await;
    assert_error(status, &error, StatusCode::NOT_FOUND);

    let (status, history) = answer(app.history(&slug, Some(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let events = history["events"].as_array().expect("events");
    let types: Vec<&str> = events.iter().filter_map(|e| e["event_type"].as_str()).collect();
    assert_eq!(types, ["PageCreated", "PageUpdated"]);
    assert_eq!(events[0]["sequence"], 1);
    assert_eq!(events[1]["sequence"], 2);
    assert_eq!(events[1]["changed_fields"], json!(["message"]));
    assert!(events[0]["occurred_at"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[tokio::test]
async fn a_slow_projection_gets_202_with_a_token_and_a_job_that_finishes() {
    // The original's create timed out into a queue while the first attempt still committed:
    // the job failed and the author never got a token. Here the page is stored once, the
    // answer always carries the token, and the job resolves from the stream.
    let mut app = spawn_app_without_projector(|c| c.sync_wait = Duration::from_millis(200)).await;
    let slug = unique_slug("slow");
    let (status, queued) = answer(app.post_json("/api/pages", &page_body(&slug)).await).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(queued["status"], "queued");
    let job_id = queued["job_id"].as_str().expect("a job id").to_owned();
    assert_eq!(job_id.len(), 26, "a ULID");
    let token = queued["edit_token"].as_str().expect("a token").to_owned();

    let (status, job) = answer(app.get(&format!("/api/pages/job/{job_id}")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["status"], "queued", "{job}");
    let (status, _) = answer(app.post_json("/api/pages", &page_body(&slug)).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "stored means taken, projected or not");

    // Any instance, after a restart, answers from the stream.
    app.stop_api().await;
    app.start_projector().await;
    app.start_api().await;
    let path = format!("/api/pages/job/{job_id}");
    app.eventually("the job to finish", || async {
        let (_, job) = answer(app.get(&path).await).await;
        job["status"] == "finished"
    })
    .await;
    let (_, job) = answer(app.get(&path).await).await;
    assert_eq!(job["result"]["page"]["slug"], slug.as_str());
    assert_eq!(job["result"]["url"], format!("https://valentine.example/{slug}"));
    let (status, _) = answer(app.patch(&slug, Some(&token), &json!({ "title": "Mine" })).await).await;
    assert_eq!(status, StatusCode::OK, "the token from the 202 works");
}

#[tokio::test]
async fn a_page_can_be_edited_before_it_is_projected() {
    let mut app = spawn_app_without_projector(|c| c.sync_wait = Duration::from_millis(100)).await;
    let slug = unique_slug("early");
    let (status, queued) = answer(app.post_json("/api/pages", &page_body(&slug)).await).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let token = queued["edit_token"].as_str().expect("a token").to_owned();

    let (status, page) =
        answer(app.patch(&slug, Some(&token), &json!({ "title": "Early edit" })).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["title"], "Early edit");
    assert_eq!(page["message"], "Every day with you is a gift.");
    assert!(page["id"].as_i64().is_some_and(|id| id > 0));
    let (status, _) = answer(app.patch(&slug, Some("wrong"), &json!({ "title": "x" })).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    app.start_projector().await;
    let path = format!("/api/pages/{slug}");
    app.eventually("the edited page to be readable", || async {
        let response = app.get(&path).await;
        response.status() == StatusCode::OK
            && response
                .json::<Value>()
                .await
                .is_ok_and(|p| p["title"] == "Early edit" && p["id"] == page["id"])
    })
    .await;
}

#[tokio::test]
async fn unknown_jobs_are_404_and_cost_no_consumer() {
    let app = spawn_app().await;
    let js = app.nats.jetstream().await;
    let consumers = || async {
        let mut events = js.get_stream("EVENTS").await.expect("the events stream");
        events.info().await.expect("stream info").state.consumer_count
    };
    let before = consumers().await;
    for id in (0..50).map(|_| ulid::Ulid::new().to_string()).chain(["not-a-ulid".to_owned()]) {
        let (status, error) = answer(app.get(&format!("/api/pages/job/{id}")).await).await;
        assert_error(status, &error, StatusCode::NOT_FOUND);
    }
    // A lookup is two key lookups (the read model, the job ledger): it never creates a
    // consumer on the stream, nor scans it.
    assert_eq!(consumers().await, before);
}

/// Idempotency keys as clients draw them: 128 bits or more.
const KEY_ONE: &str = "9b2f6c1e-4d7a-4e3b-8f10-6a5c2d9e7b41";
const KEY_TWO: &str = "Zq8vT3mN1xK7pR4wY6bH2c";

#[tokio::test]
async fn a_retried_create_with_the_same_idempotency_key_returns_the_first_answer() {
    let app = spawn_app().await;
    let slug = unique_slug("idem");
    let send = |key: &'static str, body: Value| {
        let request = app.http.post(app.url("/api/pages")).header("idempotency-key", key).json(&body);
        async move { answer(request.send().await.expect("answered")).await }
    };
    let (status, first) = send(KEY_ONE, page_body(&slug)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = send(KEY_ONE, page_body(&slug)).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again, first, "same page, same token, same URL");

    // Another key (or none) for the same slug is a different request: the slug is taken.
    let (status, _) = send(KEY_TWO, page_body(&slug)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = answer(app.post_json("/api/pages", &page_body(&slug)).await).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, error) = send("has space", page_body(&unique_slug("x"))).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST);
    // A guessable key would make the edit token guessable: refused, saying why.
    let (status, error) = send("1", page_body(&unique_slug("x"))).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error["detail"].as_str().unwrap_or_default().contains("128"), "{error}");
}

#[tokio::test]
async fn a_keyed_create_is_replayed_only_within_its_window() {
    let app = spawn_app_with(|c| c.idempotency_window = Duration::ZERO).await;
    let slug = unique_slug("window");
    let send = || {
        let request =
            app.http.post(app.url("/api/pages")).header("idempotency-key", KEY_ONE).json(&page_body(&slug));
        async move { answer(request.send().await.expect("answered")).await }
    };
    let (status, first) = send().await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, late) = send().await;
    assert_error(status, &late, StatusCode::CONFLICT);
    assert_eq!(late["code"], "idempotency_key_expired");
    assert!(late.get("edit_token").is_none(), "no token after the window: {late}");
}

#[tokio::test]
async fn parallel_retries_under_one_idempotency_key_create_one_page() {
    let app = spawn_app().await;
    let slug = unique_slug("burst");
    let body = page_body(&slug);
    let requests = (0..20).map(|_| {
        let request = app.http.post(app.url("/api/pages")).header("idempotency-key", KEY_ONE).json(&body);
        async move { answer(request.send().await.expect("answered")).await }
    });
    let answers = futures::future::join_all(requests).await;
    let tokens: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, StatusCode::CREATED, "{body}");
            body["edit_token"].as_str().expect("token").to_owned()
        })
        .collect();
    assert_eq!(tokens.len(), 1, "every retry got the same token");
    let token = tokens.first().expect("one");
    let (_, history) = answer(app.history(&slug, Some(token)).await).await;
    assert_eq!(history["events"].as_array().map(Vec::len), Some(1), "one PageCreated");
}

#[tokio::test]
async fn views_are_counted_once_each_and_never_ahead() {
    let app = spawn_app().await;
    let slug = unique_slug("seen");
    app.create(&slug).await;
    let path = format!("/api/pages/{slug}");
    let mut shown = 0;
    for read in 1..=25 {
        let (status, page) = answer(app.get(&path).await).await;
        assert_eq!(status, StatusCode::OK);
        let count = page["view_count"].as_i64().expect("a count");
        assert!(count >= shown.max(1), "counts never go back, and each includes its own view");
        assert!(count <= read, "a count never runs ahead of the views received");
        shown = count;
    }
    // Watch the read model itself, so watching counts no views.
    let pool = valentine_projections::db::reader_pool(&app.database(), 1, Duration::from_secs(60))
        .await
        .expect("pool");
    let key = slug.to_ascii_lowercase();
    app.eventually("the 25 views to be counted", || async {
        let row = valentine_projections::pages::row(&pool, &key).await.expect("row").expect("a page");
        assert!(row.view_count <= 25, "counted {} of 25 views", row.view_count);
        row.view_count == 25
    })
    .await;
}

#[tokio::test]
async fn slug_checks_follow_creates_at_once_despite_the_cache() {
    let app = spawn_app().await;
    let slug = unique_slug("fresh");
    let path = format!("/api/slugs/check/{slug}");
    let (status, check) = answer(app.get(&path).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(check, json!({ "slug": slug, "available": true, "reason": null, "suggestions": [] }));
    app.create(&slug).await;
    let (_, check) = answer(app.get(&path).await).await;
    assert_eq!(check["available"], false, "the cached 'available' was invalidated");
    assert_eq!(check["reason"], "This slug is already taken");
    let suggestions = check["suggestions"].as_array().expect("suggestions");
    assert_eq!(suggestions.len(), 5);
    for s in suggestions {
        let (_, other) =
            answer(app.get(&format!("/api/slugs/check/{}", s.as_str().expect("a slug"))).await).await;
        assert_eq!(other["available"], true, "suggested {s} is free");
    }
}

#[tokio::test]
async fn slug_checks_explain_invalid_and_reserved_slugs() {
    let app = spawn_app().await;
    for (slug, reason, suggests) in [
        ("ab", "Slug must be at least 3 characters", false),
        ("alice%0A", "Slug can only contain letters, numbers and hyphens", false),
        ("-alice-", "Slug must start and end with a letter or number", false),
        ("ADMIN", "This slug is reserved", true),
    ] {
        let (status, check) = answer(app.get(&format!("/api/slugs/check/{slug}")).await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(check["available"], false);
        assert_eq!(check["reason"], reason, "{slug}");
        assert_eq!(check["suggestions"].as_array().is_some_and(|s| !s.is_empty()), suggests, "{check}");
    }
}

#[tokio::test]
async fn suggestions_for_any_input_come_back_quickly_and_valid() {
    // The original looped forever on long or hyphen-edged slugs.
    let app = spawn_app().await;
    let long = "a-".repeat(2000);
    for base in ["--love--", long.as_str(), "ÄÖÜ ♥", "x"] {
        let response = app
            .http
            .get(app.url("/api/slugs/suggest"))
            .query(&[("base", base), ("count", "10")])
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("answered in time");
        let (status, body) = answer(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let suggestions = body["suggestions"].as_array().expect("suggestions");
        assert!(!suggestions.is_empty() && suggestions.len() <= 10);
    }
    // Asking for more than ten gets ten, as the original answered; none at all is a 400.
    let (status, body) = answer(app.get("/api/slugs/suggest?base=love&count=50").await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["suggestions"].as_array().map(Vec::len), Some(10), "{body}");
    let check = app
        .http
        .get(app.url(&format!("/api/slugs/check/{}", "-".repeat(3000))))
        .send()
        .await
        .expect("answered");
    assert_eq!(check.status(), StatusCode::OK);
    for count in ["0", "-1", "many"] {
        let response = app
            .http
            .get(app.url("/api/slugs/suggest"))
            .query(&[("base", "x"), ("count", count)])
            .send()
            .await;
        let (status, error) = answer(response.expect("answered")).await;
        assert_error(status, &error, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn a_suggestion_count_too_big_for_a_number_is_capped_like_any_count_above_ten() {
    // It was refused as a 400 ("number too large to fit in target type").
    let app = spawn_app().await;
    for count in ["11", "18446744073709551616", "1753342343199437763639079075840"] {
        let (status, body) =
            answer(app.get(&format!("/api/slugs/suggest?base=love&count={count}")).await).await;
        assert_eq!(status, StatusCode::OK, "{count}: {body}");
        assert_eq!(body["suggestions"].as_array().map(Vec::len), Some(10), "{count}: {body}");
    }
    for count in ["", "+5", "1e3", "١٢"] {
        let response = app.http.get(app.url("/api/slugs/suggest")).query(&[("base", "x"), ("count", count)]);
        let (status, error) = answer(response.send().await.expect("answered")).await;
        assert_error(status, &error, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn templates_list_the_eight_designs_in_order() {
    let app = spawn_app_with(|_| {}).await;
    let response = app.get("/api/templates").await;
    assert_eq!(response.headers()["cache-control"], "public, max-age=86400");
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::OK);
    let templates = body["templates"].as_array().expect("templates");
    let ids: Vec<&str> = templates.iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(
        ids,
        ["classic", "modern", "playful", "elegant", "proposal", "envelope", "scratch", "countdown"]
    );
    for t in templates {
        for field in ["name", "description", "primary_color", "secondary_color", "font"] {
            assert!(t[field].is_string(), "{field} in {t}");
        }
    }
    let (status, one) = answer(app.get("/api/templates/scratch").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["name"], "Scratch Card");
    assert_eq!(one["interactive"], true);
    let (status, error) = answer(app.get("/api/templates/rainbow").await).await;
    assert_error(status, &error, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn edit_tokens_are_stored_only_as_hashes() {
    let app = spawn_app().await;
    let slug = unique_slug("hash");
    let created = app.create(&slug).await;
    let token = created["edit_token"].as_str().expect("token");

    let js = app.nats.jetstream().await;
    let stream = js.get_stream("EVENTS").await.expect("the stream");
    let message = stream
        .direct_get_last_for_subject(format!("events.page.{}", slug.to_ascii_lowercase()))
        .await
        .expect("the event");
    let stored = String::from_utf8_lossy(&message.payload);
    assert!(!stored.contains(token), "the event holds no token");
    assert!(!stored.contains("edit_token_hash"), "the hash is sealed with the rest of the page");
    let opened = valentine_projections::page_store::open(&js, &valentine_eventstore::StreamConfig::events())
        .await
        .expect("the store")
        .load_history::<valentine_domain::Page>(&slug.to_ascii_lowercase())
        .await
        .expect("loads");
    let opened = opened[0].commit.events[0].payload.to_string();
    assert!(opened.contains("edit_token_hash") && !opened.contains(token), "{opened}");

    let bytes = std::fs::read(std::fs::canonicalize(app.database()).expect("the file")).expect("read");
    let wal =
        std::fs::read(format!("{}-wal", std::fs::canonicalize(app.database()).expect("file").display()))
            .unwrap_or_default();
    let needle = token.as_bytes();
    for haystack in [&bytes, &wal] {
        assert!(!haystack.windows(needle.len()).any(|w| w == needle), "the read model holds no token");
    }
}

#[tokio::test]
async fn a_wrong_token_is_refused_from_the_read_model_but_a_trailing_read_model_does_not_refuse_a_new_author()
{
    let mut app = spawn_app_with(|c| c.sync_wait = Duration::from_millis(300)).await;
    let slug = unique_slug("lives");
    let first = app.create(&slug).await;
    let first_token = first["edit_token"].as_str().expect("a token").to_owned();
    let (status, error) = answer(app.patch(&slug, Some("not-the-token"), &json!({"title": "x"})).await).await;
    assert_error(status, &error, StatusCode::FORBIDDEN);
    assert_eq!(error["code"], "wrong_token");

    // The read model stops following: the first page is deleted and a second created at the
    // slug, and the read model still shows the first one, live.
    app.stop_projector().await;
    let (status, _) = answer(app.delete(&slug, Some(&first_token)).await).await;
    assert_eq!(status, StatusCode::OK);
    let (status, second) = answer(app.post_json("/api/pages", &page_body(&slug)).await).await;
    assert_eq!(status, StatusCode::ACCEPTED, "not projected: {second}");
    let second_token = second["edit_token"].as_str().expect("a token");

    // The new author's token is not the row's, but the row trails the stream: the page
    // itself decides, and it is this author's page.
    let (status, page) =
        answer(app.patch(&slug, Some(second_token), &json!({"title": "Second life"})).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["title"], "Second life");
    let (status, error) = answer(app.patch(&slug, Some(&first_token), &json!({"title": "x"})).await).await;
    assert_error(status, &error, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn views_read_while_nats_is_away_are_all_counted_once_it_is_back() {
    let mut app = spawn_app().await;
    let slug = unique_slug("outage");
    app.create(&slug).await;
    let path = format!("/api/pages/{slug}");
    app.nats.stop();
    app.eventually("the API to notice NATS is gone", || async {
        answer(app.get("/health").await).await.1["nats"] == "disconnected"
    })
    .await;
    // Reads go on from the read model; their tallies wait, merged per page.
    for _ in 0..30 {
        assert_eq!(app.get(&path).await.status(), StatusCode::OK);
    }
    app.eventually("a flush to fail and leave its tally waiting", || async {
        let metrics = app.get("/metrics").await.text().await.expect("text");
        metrics.lines().any(|l| l.starts_with("valentine_view_tallies_waiting ") && !l.ends_with(" 0"))
    })
    .await;
    app.nats.restart().await;
    let pool = valentine_projections::db::reader_pool(&app.database(), 1, Duration::from_secs(60))
        .await
        .expect("pool");
    let key = slug.to_ascii_lowercase();
    app.eventually("the 30 views to be counted", || async {
        let row = valentine_projections::pages::row(&pool, &key).await.expect("row").expect("a page");
        assert!(row.view_count <= 30, "counted {} of 30 views", row.view_count);
        row.view_count == 30
    })
    .await;
}

#[tokio::test]
async fn an_acknowledged_create_survives_a_kill_of_nats_and_its_restart_on_the_same_store() {
    let mut app = spawn_app().await;
    let slug = unique_slug("survivor");
    let created = app.create(&slug).await;
    let token = created["edit_token"].as_str().expect("a token").to_owned();

    // SIGKILL right after the acknowledgement: nothing is flushed on the way out.
    app.nats.kill();
    app.nats.restart().await;

    // The event is back from the store on disk.
    let events = app.nats.jetstream().await.get_stream("EVENTS").await.expect("the EVENTS stream");
    let subject = format!("events.page.{}", slug.to_ascii_lowercase());
    let stored = events.get_last_raw_message_by_subject(&subject).await.expect("the create is stored");
    assert!(String::from_utf8_lossy(&stored.payload).contains("PageCreated"));

    // The page reads 200, and its token still edits it: the edit loads the page from the stream.
    assert_eq!(app.get(&format!("/api/pages/{slug}")).await.status(), StatusCode::OK);
    app.eventually("an edit with the token after the restart", || async {
        let (status, _) = answer(app.patch(&slug, Some(&token), &json!({"title": "Still here"})).await).await;
        status == StatusCode::OK
    })
    .await;
    app.eventually("the edit to be read", || async {
        let (status, page) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
        status == StatusCode::OK && page["title"] == "Still here"
    })
    .await;
}

#[tokio::test]
async fn the_author_exports_the_page_and_every_change_and_nobody_else_can() {
    let app = spawn_app().await;
    let slug = unique_slug("Export");
    let created = app.create(&slug).await;
    let token = created["edit_token"].as_str().expect("a token");
    let updated =
        app.patch(&slug, Some(token), &json!({ "title": "Still mine", "recipient_name": "" })).await;
    assert_eq!(updated.status(), StatusCode::OK);

    let (status, export) = answer(app.export(&slug.to_ascii_lowercase(), Some(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert_eq!(export["slug"], slug.as_str(), "the author's casing");
    assert_eq!(export["page_id"], created["page"]["id"]);
    assert_eq!(export["page"]["title"], "Still mine");
    let events = export["events"].as_array().expect("events");
    let kinds: Vec<_> = events.iter().map(|e| (e["sequence"].as_u64(), e["event_type"].as_str())).collect();
    assert_eq!(kinds, [(Some(1), Some("PageCreated")), (Some(2), Some("PageUpdated"))]);
    let mut first = page_body(&slug);
    first["template_id"] = json!("envelope");
    assert_eq!(events[0]["data"], first, "what the creation recorded, opened");
    assert_eq!(events[1]["data"], json!({ "title": "Still mine", "recipient_name": null }));
    assert!(events.iter().all(|e| e["occurred_at"].is_string() && e["event_version"] == "1.1"));
    let text = export.to_string();
    assert!(!text.contains(token) && !text.contains("edit_token_hash"), "{text}");

    let (status, error) = answer(app.export(&slug, None).await).await;
    assert_error(status, &error, StatusCode::UNAUTHORIZED);
    let (status, error) = answer(app.export(&slug, Some("someone-elses-token")).await).await;
    assert_error(status, &error, StatusCode::FORBIDDEN);
    let (status, error) = answer(app.export(&unique_slug("nobody"), Some(token)).await).await;
    assert_error(status, &error, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&slug, Some(token)).await.status(), StatusCode::OK);
    let (status, error) = answer(app.export(&slug, Some(token)).await).await;
    assert_error(status, &error, StatusCode::NOT_FOUND);
}
