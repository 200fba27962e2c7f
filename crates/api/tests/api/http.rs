//! The HTTP surface on real servers: every malformed request gets a JSON error, security
//! headers, CORS, metrics, the OpenAPI document, and serving through a Redis outage.

use crate::app::{answer, assert_error, page_body, spawn_app, spawn_app_with, unique_slug};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn malformed_bodies_get_clear_json_errors_and_store_nothing() {
    let app = spawn_app_with(|c| c.max_body_bytes = 16 * 1024).await;
    let slug = unique_slug("body");
    let valid = serde_json::to_string(&page_body(&slug)).expect("json");

    let cases: Vec<(Vec<u8>, &str, StatusCode)> = vec![
        (b"{not json".to_vec(), "application/json", StatusCode::BAD_REQUEST),
        (b"".to_vec(), "application/json", StatusCode::BAD_REQUEST),
        // A lone surrogate: the original answered 500.
        (valid.replace("Be mine", "\\ud800").into_bytes(), "application/json", StatusCode::BAD_REQUEST),
        (
            b"{\"slug\": \"abc\", \"title\": \"\xff\xfe\"}".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (b"[1, 2, 3]".to_vec(), "application/json", StatusCode::UNPROCESSABLE_ENTITY),
        (b"{\"slug\": 5}".to_vec(), "application/json", StatusCode::UNPROCESSABLE_ENTITY),
        (valid.clone().into_bytes(), "text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            format!("\"{}\"", "x".repeat(20_000)).into_bytes(),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (body, content_type, expected) in cases {
        let (status, error) = answer(app.post_raw(body, content_type).await).await;
        assert_error(status, &error, expected);
        assert!(error.to_string().len() < 600, "errors never echo big inputs: {error}");
    }
    // An oversized body sent in chunks, with no Content-Length, is refused as well.
    let chunks = futures::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])));
    let (status, error) =
        answer(app.post_raw(reqwest::Body::wrap_stream(chunks), "application/json").await).await;
    assert_error(status, &error, StatusCode::PAYLOAD_TOO_LARGE);

    let (_, check) = answer(app.get(&format!("/api/slugs/check/{slug}")).await).await;
    assert_eq!(check["available"], true, "nothing was stored");
}

#[tokio::test]
async fn a_json_array_is_not_a_body_even_when_its_items_fit_the_fields() {
    // serde read a struct from an array, item by item: `["slug", "title", "message"]`
    // created a page, and `[null, null]` was an update that changed nothing, answered 200.
    let app = spawn_app().await;
    let slug = unique_slug("arr");
    let body = serde_json::to_vec(&json!([slug, "Be mine", "Every day"])).expect("json");
    let (status, error) = answer(app.post_raw(body, "application/json").await).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, check) = answer(app.get(&format!("/api/slugs/check/{slug}")).await).await;
    assert_eq!(check["available"], true, "nothing was stored");

    let page = unique_slug("arr");
    let created = app.create(&page).await;
    let token = created["edit_token"].as_str().expect("token");
    let (status, error) = answer(app.patch(&page, Some(token), &json!([null, null])).await).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, error) = answer(app.patch(&page, Some(token), &json!(["Changed"])).await).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, read) = answer(app.get(&format!("/api/pages/{page}")).await).await;
    assert_eq!(read["title"], "Be mine", "{read}");
}

#[tokio::test]
async fn an_update_whose_body_is_not_json_is_a_400_before_the_page_or_token_is_looked_at() {
    let app = spawn_app().await;
    for slug in ["no-such-page", "x"] {
        let response = app
            .http
            .patch(app.url(&format!("/api/pages/{slug}")))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .expect("PATCH answered");
        let (status, error) = answer(response).await;
        assert_error(status, &error, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn unknown_routes_methods_and_bad_paths_get_json_errors() {
    let app = spawn_app().await;
    for (method, path, expected) in [
        (Method::GET, "/nope", StatusCode::NOT_FOUND),
        (Method::GET, "/api/nope", StatusCode::NOT_FOUND),
        (Method::PUT, "/api/pages/alice", StatusCode::METHOD_NOT_ALLOWED),
        (Method::DELETE, "/api/templates", StatusCode::METHOD_NOT_ALLOWED),
        (Method::GET, "/api/pages/%FF%FE", StatusCode::BAD_REQUEST),
        (Method::GET, "/api/pages/no%20such", StatusCode::NOT_FOUND),
        (Method::GET, "/api/slugs/suggest", StatusCode::BAD_REQUEST),
    ] {
        let response = app.http.request(method.clone(), app.url(path)).send().await.expect("answered");
        assert_eq!(response.headers()["content-type"], "application/json", "{method} {path}");
        let (status, error) = answer(response).await;
        assert_error(status, &error, expected);
    }
}

#[tokio::test]
async fn responses_carry_security_headers_and_cors_is_narrow() {
    let app = spawn_app().await;
    let response = app.get("/api/templates").await;
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(headers["content-security-policy"].to_str().expect("ascii").contains("default-src 'none'"));

    let preflight = |origin: &'static str| {
        app.http
            .request(Method::OPTIONS, app.url("/api/pages"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, idempotency-key")
            .send()
    };
    let allowed = preflight("https://app.example").await.expect("answered");
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example");
    assert!(allowed.headers().get("access-control-allow-credentials").is_none());
    let methods = allowed.headers()["access-control-allow-methods"].to_str().expect("ascii").to_owned();
    // PUT uploads a photo; no method beyond the API's own is allowed.
    assert!(methods.contains("PATCH") && methods.contains("PUT") && !methods.contains("TRACE"), "{methods}");
    let other = preflight("https://evil.example").await.expect("answered");
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn liveness_readiness_and_metrics_report_the_dependencies() {
    // With the page cache on, so that its lookups are counted too.
    let app = spawn_app_with(|c| c.page_cache = true).await;
    let (status, health) = answer(app.get("/health").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health, json!({ "status": "healthy", "nats": "connected", "redis": "ok" }));

    let slug = unique_slug("m");
    let created = app.create(&slug).await;
    // The first read is the page's first open: projected before the lag is looked at, and
    // acknowledged once its commit is synced, a moment later.
    app.opened(&slug, created["edit_token"].as_str().expect("a token")).await;
    app.eventually("the projectors to acknowledge the open", || async {
        answer(app.get("/ready").await).await.1["projection"]["lag"] == 0
    })
    .await;
    let (status, ready) = answer(app.get("/ready").await).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["status"], "ready");
    for part in ["nats", "redis", "read_model"] {
        assert_eq!(ready[part]["status"], "ok", "{part}: {ready}");
    }
    assert_eq!(ready["projection"]["lag"], 0);

    let metrics = app.get("/metrics").await.text().await.expect("text");
    for name in [
        "valentine_http_request_duration_seconds_bucket",
        "route=\"/api/pages\"",
        "valentine_commands_total{command=\"create\",outcome=\"ok\"} 1",
        "valentine_projection_lag_events",
        "valentine_cache_requests_total",
    ] {
        assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
    }
    assert!(!metrics.contains("127.0.0.1"), "no client address in metrics");
}

#[tokio::test]
async fn with_redis_gone_reads_and_creates_still_work_and_readiness_says_degraded() {
    // The original's /health said healthy with Redis down.
    let mut app = spawn_app_with(|c| {
        c.pages_per_hour = 100;
        c.slug_checks_per_minute = 100;
        c.page_cache = true;
    })
    .await;
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(metrics.lines().any(|l| l == "valentine_redis_up 1"), "{metrics}");
    let before = unique_slug("before");
    app.create(&before).await;
    assert_eq!(app.get(&format!("/api/pages/{before}")).await.status(), StatusCode::OK);

    app.redis_mut().stop();
    let during = unique_slug("during");
    app.create(&during).await;
    for slug in [&before, &during] {
        let (status, page) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["slug"], slug.as_str());
    }
    let (_, check) = answer(app.get(&format!("/api/slugs/check/{during}")).await).await;
    assert_eq!(check["available"], false);

    let (status, ready) = answer(app.get("/ready").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["status"], "degraded");
    assert_eq!(ready["redis"]["status"], "down");
    assert!(
        ["unreachable", "timed out"].contains(&ready["redis"]["error"].as_str().unwrap_or_default()),
        "{ready}"
    );
    let (_, health) = answer(app.get("/health").await).await;
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["redis"], "down");
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(metrics.lines().any(|l| l == "valentine_redis_up 0"), "the RedisDown alert's series: {metrics}");

    // Rate limits still hold, per process, while Redis is away.
    let limited = spawn_app_with(|c| c.slug_checks_per_minute = 2).await;
    let mut limited = limited;
    limited.redis_mut().stop();
    let statuses: Vec<u16> = futures::future::join_all((0..4).map(|_| limited.get("/api/slugs/check/solo")))
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2, "{statuses:?}");

    // Redis comes back (empty): the cache fills again and answers stay right.
    app.redis_mut().restart().await;
    app.eventually("redis to be seen again", || async {
        let (_, ready): (_, Value) = answer(app.get("/ready").await).await;
        ready["status"] == "ready"
    })
    .await;
    let after = unique_slug("after");
    let created = app.create(&after).await;
    let token = created["edit_token"].as_str().expect("token");
    assert_eq!(app.get(&format!("/api/pages/{after}")).await.status(), StatusCode::OK);
    let (status, _) = answer(app.patch(&after, Some(token), &json!({ "title": "Fresh" })).await).await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = answer(app.get(&format!("/api/pages/{after}")).await).await;
    assert_eq!(page["title"], "Fresh", "the cache holds nothing stale");
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let (status, doc) = answer(app.get("/api/openapi.json").await).await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in [
        ("/api/templates", &["get"][..]),
        ("/api/templates/{id}", &["get"]),
        ("/api/slugs/check/{slug}", &["get"]),
        ("/api/slugs/suggest", &["get"]),
        ("/api/pages", &["post"]),
        ("/api/pages/job/{job_id}", &["get"]),
        ("/api/pages/{slug}", &["get", "patch", "delete"]),
        ("/api/pages/{slug}/history", &["get"]),
        ("/api/pages/{slug}/restore", &["post"]),
        ("/api/pages/{slug}/export", &["get"]),
        ("/api/pages/{slug}/answer", &["post"]),
        ("/api/pages/{slug}/insights", &["get"]),
        ("/api/pages/{slug}/insights/stream", &["get"]),
        ("/api/pages/{slug}/unsubscribe", &["post"]),
        ("/api/pages/{slug}/photo", &["get", "put", "delete"]),
        ("/api/pages/{slug}/qr.svg", &["get"]),
        ("/{slug}/og.png", &["get"]),
        ("/api/pages/{slug}/report", &["post"]),
        ("/api/admin/session", &["get"]),
        ("/api/admin/pages", &["get"]),
        ("/api/admin/pages/{slug}/events", &["get"]),
        ("/api/admin/pages/{slug}/as-of", &["get"]),
        ("/api/admin/pages/{slug}/reports", &["get"]),
        ("/api/admin/pages/{slug}/take-down", &["post"]),
        ("/api/admin/pages/{slug}/reinstate", &["post"]),
        ("/api/admin/reports", &["get"]),
        ("/api/admin/messages/{sequence}", &["get"]),
        ("/api/admin/streams", &["get"]),
        ("/api/admin/lag", &["get"]),
        ("/api/admin/parked", &["get"]),
        ("/api/admin/parked/{consumer}/{sequence}/retry", &["post"]),
        ("/api/admin/parked/{consumer}/{sequence}/skip", &["post"]),
        ("/api/openapi.json", &["get"]),
        ("/health", &["get"]),
        ("/ready", &["get"]),
        ("/metrics", &["get"]),
    ] {
        for method in methods {
            assert!(paths[path][*method].is_object(), "{method} {path} missing");
        }
    }
    assert_eq!(paths.len(), 36, "{:?}", paths.keys().collect::<Vec<_>>());
    for method in ["get", "patch", "delete"] {
        let params: Vec<(&str, &str)> = paths["/api/pages/{slug}"][method]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .map(|p| (p["name"].as_str().unwrap_or_default(), p["in"].as_str().unwrap_or_default()))
            .collect();
        assert!(params.contains(&("slug", "path")), "{method}: {params:?}");
        // A read may send the token too (its author's reads are no first open), which its
        // description says: as a parameter, fuzzers take an unknown header beside an optional
        // one for a schema violation.
        assert_eq!(params.contains(&("X-Edit-Token", "header")), method != "get", "{method}: {params:?}");
    }
    let statuses = |path: &str, method: &str| -> Vec<String> {
        paths[path][method]["responses"].as_object().expect("responses").keys().cloned().collect()
    };
    let create = statuses("/api/pages", "post");
    for status in ["201", "202", "400", "409", "413", "415", "422", "429", "503"] {
        assert!(create.contains(&status.to_owned()), "create lacks {status}: {create:?}");
    }
    let update = statuses("/api/pages/{slug}", "patch");
    for status in ["200", "401", "403", "404", "422"] {
        assert!(update.contains(&status.to_owned()), "update lacks {status}: {update:?}");
    }
    assert!(statuses("/api/slugs/check/{slug}", "get").contains(&"429".to_owned()));
    // An update or deletion needs the event store: without it, 503.
    for method in ["patch", "delete"] {
        assert!(statuses("/api/pages/{slug}", method).contains(&"503".to_owned()), "{method}");
    }
    // A client follows the create's links to the page, with its edit token.
    let links = &paths["/api/pages"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["UpdatePage"]["operationId"], "update_page", "{links}");
    assert_eq!(links["UpdatePage"]["parameters"]["header.X-Edit-Token"], "$response.body#/edit_token");
    let job = &paths["/api/pages"]["post"]["responses"]["202"]["links"]["JobStatus"];
    assert_eq!(job["operationId"], "job_status", "{job}");
}

#[tokio::test]
async fn a_slug_with_a_trailing_newline_is_refused_not_trimmed() {
    // The original accepted "alice\n": impersonation, and a way around the reserved list.
    let app = spawn_app().await;
    let slug = unique_slug("nl");
    app.create(&slug).await;
    for sneaky in [format!("{slug}\n"), "admin\n".to_owned(), format!(" {slug}")] {
        let (status, error) = answer(app.post_json("/api/pages", &page_body(&sneaky)).await).await;
        assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error["errors"][0]["field"], "slug");
    }
}

#[tokio::test]
async fn reads_never_write_so_they_never_meet_a_locked_database() {
    // The original wrote every view to SQLite, and reads failed with "database is locked".
    let app = spawn_app().await;
    let slug = unique_slug("hot");
    app.create(&slug).await;
    let path = format!("/api/pages/{slug}");
    let reads = (0..300).map(|_| async { app.get(&path).await.status() });
    let writes =
        (0..20).map(|_| async { app.post_json("/api/pages", &page_body(&unique_slug("w"))).await.status() });
    let (reads, writes) = tokio::join!(futures::future::join_all(reads), futures::future::join_all(writes));
    assert!(reads.iter().all(|s| *s == StatusCode::OK), "{reads:?}");
    assert!(writes.iter().all(|s| *s == StatusCode::CREATED), "{writes:?}");
}

#[tokio::test]
async fn an_unreachable_event_store_is_a_503_that_reveals_nothing_and_passes() {
    // The original leaked internal error text to clients.
    let mut app = spawn_app().await;
    let slug = unique_slug("down");
    app.nats.stop();
    let (status, error) = answer(app.post_json("/api/pages", &page_body(&slug)).await).await;
    assert_error(status, &error, StatusCode::SERVICE_UNAVAILABLE);
    let text = error.to_string().to_ascii_lowercase();
    for secret in ["nats", "127.0.0.1", "connection", "jetstream", "io error"] {
        assert!(!text.contains(secret), "{secret} leaked in {error}");
    }
    let (status, ready) = answer(app.get("/ready").await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["status"], "unready");
    let text = ready.to_string().to_ascii_lowercase();
    for secret in ["127.0.0.1", "connection", "io error", "os error"] {
        assert!(!text.contains(secret), "{secret} leaked in {ready}");
    }

    // Back on the same store: the client reconnects and the retried create goes through.
    app.nats.restart().await;
    app.eventually("the API to reach NATS again", || async {
        app.get("/ready").await.status() == StatusCode::OK
    })
    .await;
    app.eventually("a create to go through", || async {
        app.post_json("/api/pages", &page_body(&slug)).await.status() == StatusCode::CREATED
    })
    .await;
}

#[tokio::test]
async fn a_full_event_store_is_a_503_with_retry_after_and_a_metric_and_loses_nothing() {
    // A full store once answered 500 to every write.
    let app = spawn_app().await;
    let slug = unique_slug("full");
    let token = app.create(&slug).await["edit_token"].as_str().expect("token").to_owned();
    // The stream takes nothing more (a limit the API does not watch for, so that JetStream
    // itself refuses: see the next test for the quota the API keeps headroom under).
    let js = app.nats.jetstream().await;
    let mut events = js.get_stream("EVENTS").await.expect("the events stream");
    let info = events.info().await.expect("stream info").clone();
    let full = async_nats::jetstream::stream::Config {
        max_messages: i64::try_from(info.state.messages).expect("messages"),
        discard: async_nats::jetstream::stream::DiscardPolicy::New,
        ..info.config.clone()
    };
    js.update_stream(full).await.expect("a quota");

    let refused = app.post_json("/api/pages", &page_body(&unique_slug("full"))).await;
    assert_eq!(refused.headers()["retry-after"], "30");
    let (status, error) = answer(refused).await;
    assert_error(status, &error, StatusCode::SERVICE_UNAVAILABLE);
    assert!(error["detail"].as_str().expect("detail").contains("not accepting new events"), "{error}");
    let (status, _) = answer(app.patch(&slug, Some(&token), &json!({ "title": "More" })).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(metrics.contains("valentine_event_store_refusals_total 2"), "{metrics}");
    // The author's read, which records no first open: the count of stored events stays exact.
    let read = app.http.get(app.url(&format!("/api/pages/{slug}"))).header("x-edit-token", &token);
    let (status, page) = answer(read.send().await.expect("answered")).await;
    assert_eq!((status, &page["title"]), (StatusCode::OK, &json!("Be mine")), "reads go on");

    // Room again: writes go through, and everything stored before is there.
    js.update_stream(info.config.clone()).await.expect("the quota lifted");
    let (status, page) = answer(app.patch(&slug, Some(&token), &json!({ "title": "More" })).await).await;
    assert_eq!((status, &page["title"]), (StatusCode::OK, &json!("More")));
    let after = events.info().await.expect("stream info").state.messages;
    assert_eq!(after, info.state.messages + 1);
}

#[tokio::test]
async fn near_its_quota_the_store_takes_no_new_content_but_deletions_go_on() {
    // EVENTS_MAX_BYTES: past 95 % of it creates and updates answer 503, and the rest is kept
    // for deletions; JetStream itself never has to refuse.
    const QUOTA: u64 = 256 * 1024;
    let app = spawn_app_with(|c| {
        c.events.max_bytes = Some(QUOTA);
        c.pages_per_hour = 100_000;
    })
    .await;
    let mut created = Vec::new();
    let refused = loop {
        assert!(created.len() < 5000, "no refusal after {} creates", created.len());
        let slug = unique_slug("quota");
        let response = app.post_json("/api/pages", &page_body(&slug)).await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            break response;
        }
        let (status, body) = answer(response).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        created.push((slug, body["edit_token"].as_str().expect("token").to_owned()));
    };
    assert!(created.len() > 50, "refused after only {} creates", created.len());
    assert_eq!(refused.headers()["retry-after"], "300");
    let (status, error) = answer(refused).await;
    assert_error(status, &error, StatusCode::SERVICE_UNAVAILABLE);
    assert!(error["detail"].as_str().expect("detail").contains("nearly full"), "{error}");

    let js = app.nats.jetstream().await;
    let mut events = js.get_stream("EVENTS").await.expect("the events stream");
    let info = events.info().await.expect("stream info").clone();
    assert_eq!(info.config.max_bytes, i64::try_from(QUOTA).expect("quota"));
    assert_eq!(info.config.discard, async_nats::jetstream::stream::DiscardPolicy::New, "never drops events");
    assert!(info.state.bytes < QUOTA, "{} bytes: the headroom held", info.state.bytes);
    assert!(info.state.bytes * 100 >= QUOTA * 95, "{} bytes: refused only near the quota", info.state.bytes);

    // Changes wait as well; a deletion goes through, and every other page is still there.
    let (slug, token) = &created[0];
    let (status, _) = answer(app.patch(slug, Some(token), &json!({ "title": "More" })).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, body) = answer(app.delete(slug, Some(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (slug, _) in &created[1..] {
        assert_eq!(app.get(&format!("/api/pages/{slug}")).await.status(), StatusCode::OK, "{slug}");
    }
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(metrics.contains(&format!("valentine_event_store_quota_bytes {QUOTA}")), "{metrics}");
    assert!(metrics.contains("valentine_event_store_refusals_total 0"), "JetStream never refused: {metrics}");
    let bytes: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("valentine_event_store_bytes "))
        .and_then(|n| n.parse().ok())
        .expect("the store's size");
    assert!(bytes * 100 >= QUOTA * 95, "{bytes}");
}

#[tokio::test]
async fn with_a_web_app_page_links_get_escaped_previews_and_api_paths_stay_json() {
    let web = web_dist();
    let dist = web.path().to_path_buf();
    let app = spawn_app_with(move |c| c.web_dist = Some(dist)).await;
    let slug = unique_slug("share");
    let mut body = page_body(&slug);
    body["title"] = "<script>alert('hi')</script> & more".into();
    let (status, _) = answer(app.post_json("/api/pages", &body).await).await;
    assert_eq!(status, StatusCode::CREATED);

    let response = app.get(&format!("/{slug}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    assert!(
        response.headers()["content-security-policy"].to_str().expect("ascii").contains("default-src 'self'")
    );
    let html = response.text().await.expect("html");
    assert!(html.contains("<meta property=\"og:title\" content=\"&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt; &amp; more — for Alex\">"), "{html}");
    assert!(html.contains("og:description\" content=\"Every day with you is a gift.\""));
    assert!(html.contains(&format!("og:url\" content=\"https://valentine.example/{slug}\"")));
    assert!(!html.contains("<script>alert"), "page text never becomes markup");
    assert!(html.contains("<div id=\"root\"></div>"));

    let missing = app.get(&format!("/{}", unique_slug("nobody"))).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.expect("html").contains("<div id=\"root\">"), "the app shows its own 404");
    for private in ["edit", "unsubscribe"] {
        let html = app.get(&format!("/{slug}/{private}")).await.text().await.expect("html");
        assert!(html.contains("noindex") && !html.contains("og:title"), "{private}");
    }
    for route in ["/", "/some/app/route"] {
        assert_eq!(app.get(route).await.text().await.expect("html"), INDEX, "{route}");
    }
    let asset = app.get("/assets/app-1234.js").await;
    assert_eq!(asset.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(asset.text().await.expect("js"), "console.log(1)");

    let (status, error) = answer(app.get("/api/nope").await).await;
    assert_error(status, &error, StatusCode::NOT_FOUND);
    let (status, error) = answer(app.http.post(app.url("/somewhere")).send().await.expect("answered")).await;
    assert_error(status, &error, StatusCode::METHOD_NOT_ALLOWED);
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(!metrics.contains("valentine_page_views_total 1"), "a preview is not a view");
}

#[tokio::test]
async fn a_failing_read_model_is_a_503_for_reads_and_history_that_reveals_nothing() {
    use sqlx::Connection;
    let app = spawn_app_with(|c| c.redis_url = None).await;
    let slug = unique_slug("broken");
    let token = app.create(&slug).await["edit_token"].as_str().expect("token").to_owned();
    // The read model breaks under the API: its tables are gone.
    let url = format!("sqlite://{}", app.database().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.expect("the read model opens");
    for table in ["page_events", "pages"] {
        sqlx::query(&format!("DROP TABLE {table}")).execute(&mut db).await.expect("dropped");
    }
    let insights = app
        .http
        .get(app.url(&format!("/api/pages/{slug}/insights")))
        .header("x-edit-token", &token)
        .send()
        .await
        .expect("answered");
    for response in [
        app.get(&format!("/api/pages/{slug}")).await,
        app.history(&slug, Some(&token)).await,
        insights,
        app.get(&format!("/api/pages/{slug}/photo")).await,
        app.get(&format!("/api/pages/{slug}/qr.svg")).await,
        app.get(&format!("/{slug}/og.png")).await,
    ] {
        assert_eq!(response.headers()["retry-after"], "1");
        let (status, error) = answer(response).await;
        assert_error(status, &error, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error["detail"], "The read model is unavailable; try again shortly");
    }
}

#[tokio::test]
async fn link_previews_count_against_the_reader_s_budget_and_assets_do_not() {
    let web = web_dist();
    let dist = web.path().to_path_buf();
    let app = spawn_app_with(move |c| {
        c.web_dist = Some(dist);
        c.reads_per_minute = 2;
    })
    .await;
    let slug = unique_slug("previewed");
    app.create(&slug).await;
    for _ in 0..5 {
        assert_eq!(app.get("/assets/app-1234.js").await.status(), StatusCode::OK, "assets spend nothing");
    }
    let mut previews = Vec::new();
    for _ in 0..3 {
        let html = app.get(&format!("/{slug}")).await.text().await.expect("html");
        previews.push(html.contains("og:title"));
    }
    // Over the budget the app still loads, without the preview; its own read gets the 429.
    assert_eq!(previews, [true, true, false]);
    let (status, _) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// The `index.html` of [`web_dist`].
const INDEX: &str =
    "<!doctype html><html><head><title>Valentine</title></head><body><div id=\"root\"></div></body></html>";

/// A built web app in a temp dir: [`INDEX`] and one asset.
fn web_dist() -> tempfile::TempDir {
    let web = tempfile::tempdir().expect("a dir");
    std::fs::write(web.path().join("index.html"), INDEX).expect("index");
    std::fs::create_dir(web.path().join("assets")).expect("assets");
    std::fs::write(web.path().join("assets/app-1234.js"), "console.log(1)").expect("asset");
    web
}

#[tokio::test]
async fn the_console_and_a_page_taken_down_are_never_previewed_or_indexed() {
    let web = web_dist();
    let dist = web.path().to_path_buf();
    let issued = valentine_api::AdminTokens::issue("ana").expect("issued");
    let entry = issued.entry.clone();
    let app = spawn_app_with(move |c| {
        c.web_dist = Some(dist);
        c.admin_tokens = valentine_api::AdminTokens::parse(&entry).expect("parses");
    })
    .await;
    for route in ["/admin", "/admin/pages/someone"] {
        let response = app.get(route).await;
        assert_eq!(response.status(), StatusCode::OK, "{route}");
        assert_eq!(response.headers()["x-robots-tag"], "noindex", "{route}");
        let html = response.text().await.expect("html");
        assert!(html.contains("<meta name=\"robots\" content=\"noindex\">"), "{route}: {html}");
    }

    let slug = unique_slug("judged");
    app.create(&slug).await;
    let before = app.get(&format!("/{slug}")).await.text().await.expect("html");
    assert!(before.contains("og:title"), "{before}");
    let decided = app
        .http
        .post(app.url(&format!("/api/admin/pages/{slug}/take-down")))
        .bearer_auth(issued.token.expose())
        .json(&serde_json::json!({ "reason": "spam" }))
        .send()
        .await
        .expect("answered");
    assert_eq!(decided.status(), StatusCode::OK);
    let after = app.get(&format!("/{slug}")).await;
    assert_eq!(after.status(), StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS);
    let html = after.text().await.expect("html");
    assert!(html.contains("noindex") && !html.contains("Be mine") && !html.contains("Every day"), "{html}");
    assert!(html.contains("<div id=\"root\"></div>"), "the app still loads and explains");
}
