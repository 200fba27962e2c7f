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
