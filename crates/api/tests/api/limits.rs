//! Concurrency and rate limits on real servers.

use std::collections::BTreeMap;

use crate::app::{answer, page_body, spawn_app, spawn_app_with, unique_slug};
use reqwest::StatusCode;
use valentine_api::ServerSecret;

/// Sends `requests` all at once; counts the answers by status.
async fn burst(requests: Vec<reqwest::RequestBuilder>) -> BTreeMap<u16, usize> {
    let answers = futures::future::join_all(requests.into_iter().map(|r| async move {
        let response = r.send().await.expect("answered");
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("every answer is JSON");
        if status.is_client_error() || status.is_server_error() {
            assert!(body["detail"].is_string(), "{body}");
        }
        status.as_u16()
    }))
    .await;
    let mut counts = BTreeMap::new();
    for status in answers {
        *counts.entry(status).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn a_hundred_concurrent_creates_of_one_slug_give_one_page_and_99_conflicts() {
    // The original answered every loser with a 500 carrying SQL text.
    let app = spawn_app().await;
    let slug = unique_slug("race");
    let requests = (0..100)
        .map(|i| {
            let mut body = page_body(&slug);
            body["title"] = format!("Attempt {i}").into();
            app.http.post(app.url("/api/pages")).json(&body)
        })
        .collect();
    let counts = burst(requests).await;
    assert_eq!(counts, BTreeMap::from([(201, 1), (409, 99)]));
}

#[tokio::test]
async fn a_burst_of_30_creates_against_a_limit_of_10_lets_exactly_10_through() {
    // The original checked and added in two steps, so a parallel burst slipped past.
    let app = spawn_app_with(|c| c.pages_per_hour = 10).await;
    let requests =
        (0..30).map(|_| app.http.post(app.url("/api/pages")).json(&page_body(&unique_slug("rl")))).collect();
    let counts = burst(requests).await;
    assert_eq!(counts, BTreeMap::from([(201, 10), (429, 20)]));

    let response = app.post_json("/api/pages", &page_body(&unique_slug("rl"))).await;
    let retry_after: u64 =
        response.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let (status, error) = answer(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error["code"], "rate_limited");
}

#[tokio::test]
async fn refused_attempts_use_no_quota() {
    let app = spawn_app_with(|c| c.slug_checks_per_minute = 3).await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/slugs/check/some-slug").await.status(), StatusCode::OK);
    }
    for _ in 0..20 {
        assert_eq!(app.get("/api/slugs/check/some-slug").await.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    // The window holds the three allowed attempts and nothing of the twenty refused ones.
    let secret = ServerSecret::new(Some("test secret")).expect("secret");
    let key = format!("valentine:rl:slug_checks:{}", secret.client_key(&[127, 0, 0, 1]));
    let mut redis = app.redis().client().get_multiplexed_async_connection().await.expect("redis");
    let recorded: u64 = redis::cmd("ZCARD").arg(&key).query_async(&mut redis).await.expect("ZCARD");
    assert_eq!(recorded, 3);
}

#[tokio::test]
async fn a_create_refused_after_the_limit_let_it_through_uses_no_quota() {
    let app = spawn_app_with(|c| c.pages_per_hour = 2).await;
    let taken = unique_slug("taken");
    app.create(&taken).await;
    for _ in 0..3 {
        let (status, _) = answer(app.post_json("/api/pages", &page_body(&taken)).await).await;
        assert_eq!(status, StatusCode::CONFLICT, "the slug is taken");
    }
    // Three refusals later, the second of two creates is still there to use.
    app.create(&unique_slug("second")).await;
    let (status, _) = answer(app.post_json("/api/pages", &page_body(&unique_slug("third"))).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_does_not_change_the_bucket() {
    let app = spawn_app_with(|c| {
        c.slug_checks_per_minute = 5;
        c.trusted_proxies = Vec::new();
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..10 {
        let response = app
            .http
            .get(app.url("/api/slugs/check/forged"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .send()
            .await
            .expect("answered");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
}

#[tokio::test]
async fn thirty_ipv6_addresses_of_one_64_share_one_budget() {
    let app = spawn_app_with(|c| {
        c.pages_per_hour = 10;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
    })
    .await;
    let mut statuses = BTreeMap::new();
    for i in 1..=30 {
        let response = app
            .http
            .post(app.url("/api/pages"))
            .header("x-forwarded-for", format!("2001:db8:1:2::{i:x}"))
            .json(&page_body(&unique_slug("v6")))
            .send()
            .await
            .expect("answered");
        *statuses.entry(response.status().as_u16()).or_insert(0) += 1;
    }
    assert_eq!(statuses, BTreeMap::from([(201, 10), (429, 20)]));
    let elsewhere = app
        .http
        .post(app.url("/api/pages"))
        .header("x-forwarded-for", "2001:db8:1:3::1")
        .json(&page_body(&unique_slug("v6")))
        .send()
        .await
        .expect("answered");
    assert_eq!(elsewhere.status(), StatusCode::CREATED, "another /64 is another client");
}

#[tokio::test]
async fn a_trusted_proxy_s_forwarded_for_gives_each_client_its_own_bucket() {
    let app = spawn_app_with(|c| {
        c.slug_checks_per_minute = 2;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
    })
    .await;
    let check = |client: &'static str| {
        app.http.get(app.url("/api/slugs/check/proxied")).header("x-forwarded-for", client).send()
    };
    for client in ["192.0.2.1", "192.0.2.2"] {
        assert_eq!(check(client).await.expect("answered").status(), StatusCode::OK);
        assert_eq!(check(client).await.expect("answered").status(), StatusCode::OK);
        assert_eq!(check(client).await.expect("answered").status(), StatusCode::TOO_MANY_REQUESTS);
    }
    // A client forging an extra hop in front is still known by the address the proxy saw.
    let forged = app
        .http
        .get(app.url("/api/slugs/check/proxied"))
        .header("x-forwarded-for", "203.0.113.50, 192.0.2.1")
        .send()
        .await
        .expect("answered");
    assert_eq!(forged.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn concurrent_updates_of_one_page_all_land_in_order() {
    let app = spawn_app().await;
    let slug = unique_slug("busy");
    let created = app.create(&slug).await;
    let token = created["edit_token"].as_str().expect("token").to_owned();
    let requests = (0..10)
        .map(|i| {
            app.http
                .patch(app.url(&format!("/api/pages/{slug}")))
                .header("x-edit-token", &token)
                .json(&serde_json::json!({ "title": format!("Title {i}") }))
        })
        .collect();
    let counts = burst(requests).await;
    assert_eq!(counts, BTreeMap::from([(200, 10)]));
    let (_, history) = answer(app.history(&slug, Some(&token)).await).await;
    let sequences: Vec<i64> =
        history["events"].as_array().expect("events").iter().filter_map(|e| e["sequence"].as_i64()).collect();
    assert_eq!(sequences, (1..=11).collect::<Vec<_>>());
}

/// Sends `request` as the client at `address` (the test's loopback peer is a trusted proxy).
async fn as_client(request: reqwest::RequestBuilder, address: &str) -> (StatusCode, serde_json::Value) {
    let response = request.header("x-forwarded-for", address).send().await.expect("answered");
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        let retry_after: u64 =
            response.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert!(retry_after >= 1, "{retry_after}");
    }
    answer(response).await
}

#[tokio::test]
async fn reads_job_polls_and_edits_each_have_a_budget_per_client() {
    let app = spawn_app_with(|c| {
        c.reads_per_minute = 4;
        c.job_polls_per_minute = 3;
        c.edits_per_minute = 3;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
    })
    .await;
    let slug = unique_slug("budget");
    let token = app.create(&slug).await["edit_token"].as_str().expect("token").to_owned();
    let page = app.url(&format!("/api/pages/{slug}"));

    // Page reads and the author's history share the reader's budget.
    let mut reads = Vec::new();
    for _ in 0..3 {
        reads.push(as_client(app.http.get(&page), "192.0.2.10").await.0);
    }
    let history = app.http.get(format!("{page}/history")).header("x-edit-token", &token);
    reads.push(as_client(history, "192.0.2.10").await.0);
    let (refused, error) = as_client(app.http.get(&page), "192.0.2.10").await;
    assert_eq!(reads, [StatusCode::OK; 4]);
    assert_eq!(refused, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error["code"], "rate_limited");
    assert_eq!(as_client(app.http.get(&page), "192.0.2.11").await.0, StatusCode::OK, "another reader");

    // Job polls, known or not.
    let job = app.url("/api/pages/job/01JAAAAAAAAAAAAAAAAAAAAAAA");
    let mut polls = Vec::new();
    for _ in 0..4 {
        polls.push(as_client(app.http.get(&job), "192.0.2.20").await.0);
    }
    assert_eq!(
        polls,
        [StatusCode::NOT_FOUND, StatusCode::NOT_FOUND, StatusCode::NOT_FOUND, StatusCode::TOO_MANY_REQUESTS]
    );

    // Edits, right token or not: a stranger guessing tokens runs out.
    let mut guesses = Vec::new();
    for _ in 0..4 {
        let guess = app.http.delete(&page).header("x-edit-token", "guess");
        guesses.push(as_client(guess, "192.0.2.30").await.0);
    }
    assert_eq!(
        guesses,
        [StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::TOO_MANY_REQUESTS]
    );
    // The author, elsewhere, is not held back by the stranger.
    let edit = app
        .http
        .patch(&page)
        .header("x-edit-token", &token)
        .json(&serde_json::json!({"title": "Still mine"}));
    assert_eq!(as_client(edit, "192.0.2.31").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_page_has_a_budget_of_changes_that_strangers_cannot_spend_and_deletion_ignores() {
    let app = spawn_app_with(|c| {
        c.page_edits_per_hour = 2;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
    })
    .await;
    let slug = unique_slug("pagebudget");
    let token = app.create(&slug).await["edit_token"].as_str().expect("token").to_owned();
    let page = app.url(&format!("/api/pages/{slug}"));
    let retitle = |title: &str, token: &str| {
        app.http.patch(&page).header("x-edit-token", token).json(&serde_json::json!({ "title": title }))
    };
    // Wrong tokens, from many clients, spend nothing of the page's budget.
    for i in 0..5 {
        assert_eq!(
            as_client(retitle("Mine now", "guess"), &format!("198.51.100.{i}")).await.0,
            StatusCode::FORBIDDEN
        );
    }
    // Neither does a change that changes nothing (the web app checks a token this way).
    assert_eq!(
        as_client(
            app.http.patch(&page).header("x-edit-token", &token).json(&serde_json::json!({})),
            "192.0.2.1"
        )
        .await
        .0,
        StatusCode::OK
    );
    // Two changes, from any address of the author's, then the page's budget is spent.
    assert_eq!(as_client(retitle("One", &token), "192.0.2.1").await.0, StatusCode::OK);
    assert_eq!(as_client(retitle("Two", &token), "192.0.2.2").await.0, StatusCode::OK);
    let (status, error) = as_client(retitle("Three", &token), "192.0.2.3").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    // Deleting is always possible.
    let delete = app.http.delete(&page).header("x-edit-token", &token);
    assert_eq!(as_client(delete, "192.0.2.3").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_page_takes_changes_up_to_its_limit_of_events_then_only_deletion() {
    let app = spawn_app_with(|c| c.max_events_per_page = 3).await;
    let slug = unique_slug("capped");
    let token = app.create(&slug).await["edit_token"].as_str().expect("token").to_owned();
    for title in ["One", "Two"] {
        let (status, _) =
            answer(app.patch(&slug, Some(&token), &serde_json::json!({ "title": title })).await).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, error) =
        answer(app.patch(&slug, Some(&token), &serde_json::json!({ "title": "Three" })).await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["code"], "too_many_changes");
    assert!(error["detail"].as_str().expect("detail").contains("limit of 3 changes"), "{error}");
    let (_, page) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
    assert_eq!(page["title"], "Two", "the refused change was not recorded");
    // Deleting is still possible, and a new page at the slug starts afresh.
    assert_eq!(app.delete(&slug, Some(&token)).await.status(), StatusCode::OK);
    let token = app.create(&slug).await["edit_token"].as_str().expect("token").to_owned();
    let (status, _) =
        answer(app.patch(&slug, Some(&token), &serde_json::json!({ "title": "Anew" })).await).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn without_redis_each_budget_keeps_its_own_window_in_memory() {
    let app = spawn_app_with(|c| {
        c.redis_url = None;
        c.pages_per_hour = 1;
        c.slug_checks_per_minute = 2;
        c.edits_per_minute = 2;
    })
    .await;
    let slug = unique_slug("noredis");
    app.create(&slug).await;
    let (status, _) = answer(app.post_json("/api/pages", &page_body(&unique_slug("noredis"))).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "one create per hour");
    let checks: Vec<u16> = futures::future::join_all((0..3).map(|_| app.get("/api/slugs/check/free-one")))
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(checks.iter().filter(|s| **s == 429).count(), 1, "{checks:?}");
    let mut edits = Vec::new();
    for _ in 0..3 {
        edits.push(app.delete(&slug, Some("guess")).await.status().as_u16());
    }
    assert_eq!(edits, [403, 403, 429]);
}
