//! The API and its projector on a three-master Redis Cluster (`REDIS_CLUSTER=true`): rate
//! limits and the page cache work as on one server, with keys spread over every master.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use valentine_api::{Application, ServerSecret};
use valentine_eventstore::Password;
use valentine_testkit::RedisCluster;
use valentine_testkit::redis_cluster::MASTERS;

use crate::app::{answer, page_body, spawn_app_on_redis_cluster, unique_slug};
use crate::nodes::{get_with, position_of};

/// The client address whose rate-limit key of `bucket` the master `node` serves, one per
/// master: clients 192.0.2.<n>, from `from` up.
async fn clients_on_every_master(cluster: &RedisCluster, bucket: &str, from: u8) -> Vec<(String, String)> {
    let secret = ServerSecret::new(Some("test secret")).expect("secret");
    let mut found: Vec<Option<(String, String)>> = vec![None; MASTERS];
    for n in from..=u8::MAX {
        let key = format!("valentine:rl:{bucket}:{}", secret.client_key(&[192, 0, 2, n]));
        let node = cluster.node_of(&key).await;
        found[node].get_or_insert((format!("192.0.2.{n}"), key));
        if found.iter().all(Option::is_some) {
            return found.into_iter().flatten().collect();
        }
    }
    panic!("no client addresses cover every master")
}

/// Attempts recorded in the window at `key`, asked of master `node` itself (any other would
/// answer with a redirection).
async fn recorded_on(cluster: &RedisCluster, node: usize, key: &str) -> u64 {
    let mut master = cluster.node_client(node).get_multiplexed_async_connection().await.expect("a master");
    redis::cmd("ZCARD").arg(key).query_async(&mut master).await.expect("the master serves the key")
}

/// Statuses of `requests` sent all at once, counted.
async fn burst(requests: Vec<reqwest::RequestBuilder>) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for response in futures::future::join_all(requests.into_iter().map(reqwest::RequestBuilder::send)).await {
        *counts.entry(response.expect("answered").status().as_u16()).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_exactly_with_their_windows_on_every_master() {
    let cluster = RedisCluster::start().await;
    let app = spawn_app_on_redis_cluster(cluster, |c| {
        c.pages_per_hour = 3;
        c.slug_checks_per_minute = 4;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
    })
    .await;
    let cluster = app.redis_cluster();
    let creators = clients_on_every_master(cluster, "pages", 1).await;
    let checkers = clients_on_every_master(cluster, "slug_checks", 100).await;
    let taken = unique_slug("taken");
    let owner = app.http.post(app.url("/api/pages")).header("x-forwarded-for", "198.51.100.1");
    assert_eq!(owner.json(&page_body(&taken)).send().await.expect("answered").status(), StatusCode::CREATED);

    for (node, (address, key)) in creators.iter().enumerate() {
        // A create refused for a taken slug is taken back from the window (on its master).
        let conflict = app.http.post(app.url("/api/pages")).header("x-forwarded-for", address);
        let status = conflict.json(&page_body(&taken)).send().await.expect("answered").status();
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(recorded_on(cluster, node, key).await, 0, "{address}: the refused create was taken back");
        let creates = (0..6)
            .map(|_| {
                let create = app.http.post(app.url("/api/pages")).header("x-forwarded-for", address);
                create.json(&page_body(&unique_slug("limited")))
            })
            .collect();
        assert_eq!(burst(creates).await, BTreeMap::from([(201, 3), (429, 3)]), "{address} (node {node})");
        assert_eq!(recorded_on(cluster, node, key).await, 3, "{address}: the window is on node {node}");
    }
    for (node, (address, key)) in checkers.iter().enumerate() {
        let checks = (0..7)
            .map(|_| app.http.get(app.url("/api/slugs/check/some-slug")).header("x-forwarded-for", address))
            .collect();
        assert_eq!(burst(checks).await, BTreeMap::from([(200, 4), (429, 3)]), "{address} (node {node})");
        assert_eq!(recorded_on(cluster, node, key).await, 4, "{address}: the window is on node {node}");
    }
}

/// What master `node` holds at `key`, asked of it directly.
async fn held_by(cluster: &RedisCluster, node: usize, key: &str) -> Option<String> {
    let mut master = cluster.node_client(node).get_multiplexed_async_connection().await.expect("a master");
    redis::cmd("GET").arg(key).query_async(&mut master).await.expect("the master serves the key")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_cache_fills_invalidates_and_reads_its_writes_on_every_master() {
    const PASSWORD: &str = "cluster-hunter2";
    let cluster = RedisCluster::start_with_password(PASSWORD).await;
    let app = spawn_app_on_redis_cluster(cluster, |c| {
        c.redis_password = Some(Password::new(PASSWORD));
        c.page_cache = true;
    })
    .await;
    let cluster = app.redis_cluster();

    // The password is checked on the cluster's nodes at start, as on one server.
    let wrong =
        valentine_api::ApiConfig { redis_password: Some(Password::new("wrong")), ..app.config.clone() };
    let refused = Application::build(wrong).await.expect_err("a wrong REDIS_PASSWORD stops the start");
    assert!(refused.to_string().contains("REDIS_PASSWORD"), "{refused}");
    let (_, ready) = answer(app.get("/ready").await).await;
    assert_eq!((&ready["status"], &ready["redis"]["status"]), (&json!("ready"), &json!("ok")), "{ready}");
    let (_, health) = answer(app.get("/health").await).await;
    assert_eq!(health["redis"], "ok");

    // A page on every master.
    let keys = app.config.read_model.cache_keys();
    let mut slugs: Vec<Option<String>> = vec![None; MASTERS];
    for i in 0.. {
        let slug = unique_slug(&format!("spread{i}"));
        slugs[cluster.node_of(&keys.version(&slug)).await].get_or_insert(slug);
        if slugs.iter().all(Option::is_some) {
            break;
        }
    }
    let slugs: Vec<String> = slugs.into_iter().flatten().collect();
    let mut tokens = Vec::new();
    for (node, slug) in slugs.iter().enumerate() {
        tokens.push(app.create(slug).await["edit_token"].as_str().expect("a token").to_owned());
        app.opened(slug, &tokens[node]).await;
        let (status, page) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
        assert_eq!((status, &page["title"]), (StatusCode::OK, &json!("Be mine")));
        let (_, check) = answer(app.get(&format!("/api/slugs/check/{slug}")).await).await;
        assert_eq!(check["available"], false);
        let cached = held_by(cluster, node, &keys.page(slug)).await.expect("the read filled the cache");
        assert!(cached.contains("Be mine"), "{cached}");
        assert!(held_by(cluster, node, &keys.slug_check(slug)).await.is_none(), "checks are never cached");
    }

    // Every master forgets its scripts (as after a restart or failover): fills load them again.
    for node in 0..MASTERS {
        let mut master =
            cluster.node_client(node).get_multiplexed_async_connection().await.expect("a master");
        redis::cmd("SCRIPT").arg("FLUSH").query_async::<()>(&mut master).await.expect("scripts flushed");
    }

    for (node, (slug, token)) in slugs.iter().zip(&tokens).enumerate() {
        let page = format!("/api/pages/{slug}");
        let changed = app.patch(slug, Some(token), &json!({ "title": "Changed" })).await;
        assert_eq!(changed.status(), StatusCode::OK);
        let at = position_of(&changed);
        // Read-your-writes: a read naming the change's position sees it.
        let (_, fresh) = answer(get_with(&app, &page, at).await).await;
        assert_eq!(fresh["title"], "Changed", "node {node}");
        // The projector invalidated the old answer before announcing the change, so a plain
        // read sees it too, and refills the cache with it.
        let (_, plain) = answer(app.get(&page).await).await;
        assert_eq!(plain["title"], "Changed", "node {node}");
        let cached = held_by(cluster, node, &keys.page(slug)).await.expect("refilled");
        assert!(cached.contains("Changed"), "node {node}: {cached}");

        // Reads are served from the cluster: an answer older than the position a read names
        // is passed over, and refreshed.
        let stale = format!("{} 0 1 - 0 0\n{}", fresh["id"], json!({ "id": fresh["id"], "title": "Stale" }));
        let mut master =
            cluster.node_client(node).get_multiplexed_async_connection().await.expect("a master");
        redis::cmd("SET").arg(keys.page(slug)).arg(&stale).query_async::<()>(&mut master).await.expect("set");
        let (_, served): (_, Value) = answer(app.get(&page).await).await;
        assert_eq!(served["title"], "Stale", "node {node}: without a position, the cache answers");
        let (_, served) = answer(get_with(&app, &page, at).await).await;
        assert_eq!(served["title"], "Changed", "node {node}: a later position reads the read model");
        let (_, served) = answer(app.get(&page).await).await;
        assert_eq!(served["title"], "Changed", "node {node}: and refreshes the entry");

        let deleted = app.delete(slug, Some(token)).await;
        assert_eq!(deleted.status(), StatusCode::OK);
        let check = format!("/api/slugs/check/{slug}");
        let (_, check) = answer(get_with(&app, &check, position_of(&deleted)).await).await;
        assert_eq!(check["available"], true, "node {node}: the deletion is read back");
        assert_eq!(app.get(&page).await.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_cluster_the_api_answers_and_it_uses_the_cluster_again_once_back() {
    let cluster = RedisCluster::start().await;
    let mut app = spawn_app_on_redis_cluster(cluster, |c| c.page_cache = true).await;
    let keys = app.config.read_model.cache_keys();
    let before = unique_slug("before");
    app.create(&before).await;

    // Every master goes away, and an API starts meanwhile: it starts, and answers without it.
    for node in 0..MASTERS {
        app.redis_cluster_mut().stop(node);
    }
    app.stop_api().await;
    app.start_api().await;
    let during = unique_slug("during");
    app.create(&during).await;
    for slug in [&before, &during] {
        let (status, page) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
        assert_eq!((status, &page["slug"]), (StatusCode::OK, &json!(slug)), "{page}");
    }
    let (status, ready) = answer(app.get("/ready").await).await;
    assert_eq!(
        (status, &ready["status"], &ready["redis"]["status"]),
        (StatusCode::OK, &json!("degraded"), &json!("down"))
    );

    // The masters come back (empty, on their slots): the API reaches them again and caches.
    for node in 0..MASTERS {
        app.redis_cluster_mut().restart(node).await;
    }
    app.redis_cluster_mut().wait_until_whole().await;
    app.eventually("the cluster to be seen again", || async {
        let (_, ready): (_, Value) = answer(app.get("/ready").await).await;
        ready["redis"]["status"] == "ok"
    })
    .await;
    let node = app.redis_cluster().node_of(&keys.page(&during)).await;
    app.eventually("a read to fill the cache again", || async {
        assert_eq!(app.get(&format!("/api/pages/{during}")).await.status(), StatusCode::OK);
        held_by(app.redis_cluster(), node, &keys.page(&during)).await.is_some()
    })
    .await;
}
