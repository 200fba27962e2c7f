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
    let key = format!("valentine:rl:slug_checks:{}", secret.client_key("127.0.0.1"));
    let mut redis = app.redis.client().get_multiplexed_async_connection().await.expect("redis");
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
