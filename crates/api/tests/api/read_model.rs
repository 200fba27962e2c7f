//! One read model per path: processes that start together on a fresh folder agree on it.

use reqwest::StatusCode;

use crate::app::{answer, spawn_servers, unique_slug};

#[tokio::test]
async fn an_api_and_a_projector_started_together_on_a_fresh_folder_share_one_read_model() {
    for round in 0..12 {
        let mut app = spawn_servers(|_| {}).await;
        app.start_api_and_projector_together().await;
        let slug = unique_slug("together");
        app.create(&slug).await;
        let (status, page) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
        assert_eq!(status, StatusCode::OK, "round {round}: a created page must read back: {page}");
        let (status, check) = answer(app.get(&format!("/api/slugs/check/{slug}")).await).await;
        assert_eq!((status, &check["available"]), (StatusCode::OK, &false.into()), "round {round}: {check}");

        let mut generations = app.database().into_os_string();
        generations.push(".generations");
        let files: Vec<_> = std::fs::read_dir(&generations)
            .expect("the generations folder")
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "sqlite"))
            .map(|e| e.file_name())
            .collect();
        assert_eq!(files.len(), 1, "round {round}: one generation, not {files:?}");
        let linked = std::fs::canonicalize(app.database()).expect("the link resolves");
        assert_eq!(linked.file_name(), Some(files[0].as_os_str()), "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_page_answered_201_during_a_rebuild_is_readable_after_the_swap() {
    let app = std::sync::Arc::new(crate::app::spawn_app().await);
    for i in 0..50 {
        app.create(&unique_slug(&format!("before-{i}"))).await;
    }
    // Creates go on, two at a time, before, during and after the rebuild.
    let rebuilding = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(0));
    let creators: Vec<_> = (0..2)
        .map(|n| {
            let (app, rebuilding) = (app.clone(), rebuilding.clone());
            tokio::spawn(async move {
                let mut during = Vec::new();
                let mut after = 0;
                // Until a few creates have gone in after the swap.
                while after < 5 {
                    let phase = rebuilding.load(std::sync::atomic::Ordering::SeqCst);
                    let slug = unique_slug(&format!("during-{n}"));
                    let response = app.post_json("/api/pages", &crate::app::page_body(&slug)).await;
                    let created = response.status() == StatusCode::CREATED;
                    let ended = rebuilding.load(std::sync::atomic::Ordering::SeqCst);
                    if created && phase == 1 && ended == 1 {
                        during.push(slug);
                    } else if ended == 2 {
                        after += 1;
                    }
                }
                during
            })
        })
        .collect();
    rebuilding.store(1, std::sync::atomic::Ordering::SeqCst);
    let report = valentine_projector::rebuild::rebuild(
        &app.projector_config(),
        &valentine_projector::progress::Silent,
    )
    .await
    .expect("rebuilt");
    rebuilding.store(2, std::sync::atomic::Ordering::SeqCst);
    let mut during = Vec::new();
    for creator in creators {
        during.extend(creator.await.expect("the creator finished"));
    }
    assert!(!during.is_empty(), "no create was answered while the rebuild ran");

    // In the generation swapped in, and served by the API.
    assert_eq!(std::fs::canonicalize(app.database()).expect("the link resolves"), report.generation);
    let generation = valentine_projections::db::reader_connection(&report.generation).expect("opens");
    for slug in &during {
        let found: bool = generation
            .query_row("SELECT count(*) = 1 FROM pages WHERE slug_key = ?1", [slug], |r| r.get(0))
            .expect("query");
        assert!(found, "{slug} answered 201 during the rebuild but is not in the new generation");
        let (status, page) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
        assert_eq!(status, StatusCode::OK, "{slug}: {page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn right_after_a_rebuild_every_read_comes_from_the_new_generation() {
    let app = crate::app::spawn_app().await;
    let first = unique_slug("first");
    app.create(&first).await;
    // Every connection of the API's reader pool opened on the first generation.
    let path = format!("/api/pages/{first}");
    let warm = (0..32).map(|_| app.get(&path));
    for response in futures::future::join_all(warm).await {
        assert_eq!(response.status(), StatusCode::OK);
    }
    valentine_projector::rebuild::rebuild(&app.projector_config(), &valentine_projector::progress::Silent)
        .await
        .expect("rebuilt");

    // A page created after the swap is only in the new generation: a read naming its
    // position must find it on whichever connection it gets.
    let slug = unique_slug("after");
    let created = app.post_json("/api/pages", &crate::app::page_body(&slug)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let position = created.headers()["valentine-position"].to_str().expect("ascii").to_owned();
    let reads = (0..32).map(|_| {
        app.http
            .get(app.url(&format!("/api/pages/{slug}")))
            .header("valentine-min-position", &position)
            .header("x-forwarded-for", "10.9.9.9")
            .send()
    });
    for response in futures::future::join_all(reads).await {
        assert_eq!(
            response.expect("answered").status(),
            StatusCode::OK,
            "a read from the replaced generation"
        );
    }
}
