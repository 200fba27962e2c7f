//! What makes a page special, on real servers: a photo (stored in the object store, served
//! with strong caching, hostile files refused), a song link, a reveal time kept on the
//! server, a PIN with budgeted guesses, and the share kit (preview image, QR code).

use std::io::Cursor;

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::app::{TestApp, answer, assert_error, spawn_app, spawn_app_with, unique_slug};

/// Creates a page with `extra` fields; returns its slug and token.
async fn page(app: &TestApp, template: &str, extra: Value) -> (String, String) {
    let slug = unique_slug("moment");
    let mut body = json!({ "slug": slug, "title": "Our day", "message": "MESSAGE-SECRET-WORDS",
        "recipient_name": "Alex", "template_id": template });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, created) = answer(app.post_json("/api/pages", &body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (slug, created["edit_token"].as_str().expect("a token").to_owned())
}

async fn read(app: &TestApp, slug: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.http.get(app.url(&format!("/api/pages/{slug}")));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("answered")
}

fn in_seconds(seconds: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::seconds(seconds)).format(&Rfc3339).expect("formats")
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image =
        image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).expect("encodes");
    out.into_inner()
}

async fn put_photo(
    app: &TestApp,
    slug: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = app
        .http
        .put(app.url(&format!("/api/pages/{slug}/photo")))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.header("x-edit-token", token);
    }
    request.send().await.expect("answered")
}

#[tokio::test]
async fn a_private_page_needs_its_pin_and_shows_nothing_without_it() {
    let app = spawn_app().await;
    let (slug, token) = page(&app, "classic", json!({ "pin": "❤ 1234" })).await;
    for headers in [&[][..], &[("x-page-pin", "1235")][..], &[("x-page-pin", "%E2%9D%A4%201235")][..]] {
        let response = read(&app, &slug, headers).await;
        let text = response.text().await.expect("a body");
        assert!(!text.contains("MESSAGE-SECRET") && !text.contains("Our day"), "{text}");
        let body: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(body["code"], "pin_required", "{body}");
    }
    let (status, shown) = answer(read(&app, &slug, &[("x-page-pin", "%E2%9D%A4%201234")]).await).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(
        (shown["message"].as_str(), shown["has_pin"].as_bool()),
        (Some("MESSAGE-SECRET-WORDS"), Some(true))
    );
    // The author sees it with the edit token alone; the PIN's hash is never shown.
    let (status, by_author) = answer(read(&app, &slug, &[("x-edit-token", &token)]).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!by_author.to_string().contains("argon2"));
    let (_, exported) = answer(app.export(&slug, Some(&token)).await).await;
    assert!(!exported.to_string().contains("argon2"), "{exported}");
    assert_eq!(exported["events"][0]["data"]["pin"], "set");
    // A reply needs the PIN too.
    let (status, body) =
        answer(app.post_json(&format!("/api/pages/{slug}/answer"), &json!({ "answer": "heart" })).await)
            .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED);
    // Too short a PIN is refused with the other rules.
    let (status, body) = answer(
        app.post_json(
            "/api/pages",
            &json!({ "slug": unique_slug("pin"), "title": "t",
        "message": "m", "pin": "123" }),
        )
        .await,
    )
    .await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "pin");
}

#[tokio::test]
async fn wrong_pin_guesses_are_budgeted_per_page_and_a_new_pin_starts_afresh() {
    let app = spawn_app_with(|c| c.page_pin_guesses_per_hour = 3).await;
    let (slug, token) = page(&app, "modern", json!({ "pin": "2468" })).await;
    for guess in ["0000", "0001", "0002"] {
        assert_eq!(read(&app, &slug, &[("x-page-pin", guess)]).await.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = read(&app, &slug, &[("x-page-pin", "0003")]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    // Even the right PIN waits now: the budget is the page's, not the guesser's.
    assert_eq!(read(&app, &slug, &[("x-page-pin", "2468")]).await.status(), StatusCode::TOO_MANY_REQUESTS);
    // The author changes the PIN: a fresh budget, and the old PIN opens nothing.
    let (status, changed) = answer(app.patch(&slug, Some(&token), &json!({ "pin": "97531" })).await).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["has_pin"], true);
    app.eventually("the new PIN to be projected", || async {
        read(&app, &slug, &[("x-page-pin", "97531")]).await.status() == StatusCode::OK
    })
    .await;
    assert_eq!(read(&app, &slug, &[("x-page-pin", "2468")]).await.status(), StatusCode::UNAUTHORIZED);
    // Removing it opens the page to anyone.
    let (status, _) = answer(app.patch(&slug, Some(&token), &json!({ "pin": null })).await).await;
    assert_eq!(status, StatusCode::OK);
    app.eventually("the page to be open", || async {
        read(&app, &slug, &[]).await.status() == StatusCode::OK
    })
    .await;
}

#[tokio::test]
async fn a_page_waits_for_its_moment_on_the_server_and_then_opens() {
    let app = spawn_app().await;
    let png = png(40, 30);
    let (slug, token) = page(
        &app,
        "countdown",
        json!({ "reveal_at": in_seconds(4), "song_url": "https://youtu.be/dQw4w9WgXcQ" }),
    )
    .await;
    let response = put_photo(&app, &slug, Some(&token), "image/png", png).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = read(&app, &slug, &[]).await.text().await.expect("a body");
    let locked: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(locked["locked"], "scheduled", "{locked}");
    assert!(locked["reveal_at"].is_string() && locked["recipient_name"] == "Alex");
    for hidden in ["title", "message", "photo", "song"] {
        assert!(locked.get(hidden).is_none(), "{hidden} shows before the moment: {locked}");
    }
    assert!(!text.contains("MESSAGE-SECRET") && !text.contains("youtu"));
    let (status, body) = answer(app.get(&format!("/api/pages/{slug}/photo")).await).await;
    assert_error(status, &body, StatusCode::FORBIDDEN);
    let (status, body) =
        answer(app.post_json(&format!("/api/pages/{slug}/answer"), &json!({ "answer": "heart" })).await)
            .await;
    assert_error(status, &body, StatusCode::CONFLICT);
    assert_eq!(body["code"], "not_revealed");
    // Its author sees it whole, and may still move the moment.
    let (_, whole) = answer(read(&app, &slug, &[("x-edit-token", &token)]).await).await;
    assert_eq!(whole["message"], "MESSAGE-SECRET-WORDS");
    assert_eq!(whole["song"]["embed_url"], "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ");
    app.eventually("the moment to come", || async {
        let (_, shown) = answer(read(&app, &slug, &[]).await).await;
        shown["message"] == "MESSAGE-SECRET-WORDS" && shown["locked"].is_null() && shown["photo"].is_object()
    })
    .await;
    let (status, body) =
        answer(app.patch(&slug, Some(&token), &json!({ "reveal_at": in_seconds(3600) })).await).await;
    assert_error(status, &body, StatusCode::CONFLICT);
    assert_eq!(body["code"], "already_revealed");
    let photo = app.get(&format!("/api/pages/{slug}/photo")).await;
    assert_eq!(photo.status(), StatusCode::OK);
}

#[tokio::test]
async fn reveal_times_and_song_links_keep_their_rules() {
    let app = spawn_app().await;
    for late in [in_seconds(-60), in_seconds(400 * 86_400), "2027-02-30T09:00:00Z".to_owned()] {
        let body = json!({ "slug": unique_slug("late"), "title": "t", "message": "m", "reveal_at": late });
        let (status, refused) = answer(app.post_json("/api/pages", &body).await).await;
        assert_error(status, &refused, StatusCode::CONFLICT);
        assert_eq!(refused["code"], "reveal_out_of_range", "{late}: {refused}");
    }
    for (field, value) in [
        ("reveal_at", json!("2031-02-14T09:00:00")),
        ("song_url", json!("https://evil.example/track/4uLU6hMCjMI75M1A2tKUQC")),
        ("song_url", json!("javascript:alert(1)")),
    ] {
        let mut body = json!({ "slug": unique_slug("rule"), "title": "t", "message": "m" });
        body[field] = value.clone();
        let (status, refused) = answer(app.post_json("/api/pages", &body).await).await;
        assert_error(status, &refused, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused["errors"][0]["field"], field, "{value}: {refused}");
    }
    let (_, token) = page(
        &app,
        "classic",
        json!({ "song_url": "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=x" }),
    )
    .await;
    assert!(!token.is_empty());
}

/// An upload that is refused: its token, declared type and body, then the status and code.
type Refusal<'a> = (Option<&'a str>, &'a str, Vec<u8>, StatusCode, &'a str);

#[tokio::test]
async fn photos_are_cleaned_stored_cached_and_hostile_files_refused() {
    let app = spawn_app().await;
    let (slug, token) = page(&app, "elegant", json!({})).await;
    let path = format!("/api/pages/{slug}/photo");
    // Refusals, each with a clear status and code.
    // A PNG header claiming 100000×100000 pixels, its checksum right: a decompression bomb.
    let mut bomb = png(1, 1);
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let checksum = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&checksum.to_be_bytes());
    let truncated = png(300, 200)[..200].to_vec();
    let cases: [Refusal<'_>; 7] = [
        (None, "image/png", png(8, 8), StatusCode::UNAUTHORIZED, "missing_token"),
        (Some("not-the-token"), "image/png", png(8, 8), StatusCode::FORBIDDEN, "wrong_token"),
        (
            Some(&token),
            "text/html",
            b"<script>alert(1)</script>".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (Some(&token), "image/jpeg", png(8, 8), StatusCode::UNSUPPORTED_MEDIA_TYPE, "type_mismatch"),
        (Some(&token), "image/png", bomb, StatusCode::UNPROCESSABLE_ENTITY, "too_many_pixels"),
        (Some(&token), "image/png", truncated, StatusCode::UNPROCESSABLE_ENTITY, "undecodable"),
        (
            Some(&token),
            "image/png",
            vec![0; 8 * 1024 * 1024 + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (token, content_type, body, expected, code) in cases {
        let (status, refused) = answer(put_photo(&app, &slug, token, content_type, body).await).await;
        assert_error(status, &refused, expected);
        assert_eq!(refused["code"], code, "{refused}");
    }
    // A photo with trailing data is stored cleaned.
    let mut upload = png(2000, 1000);
    upload.extend_from_slice(b"PK\x03\x04<script>payload</script>");
    let (status, shown) = answer(put_photo(&app, &slug, Some(&token), "image/png", upload).await).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(
        (shown["photo"]["width"].as_i64(), shown["photo"]["height"].as_i64()),
        (Some(1600), Some(800))
    );
    let url = shown["photo"]["url"].as_str().expect("a url").to_owned();
    let served = app.get(&url).await;
    assert_eq!(served.status(), StatusCode::OK);
    let headers = served.headers().clone();
    assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
    let etag = headers["etag"].to_str().expect("text").to_owned();
    let bytes = served.bytes().await.expect("the image");
    assert!(!bytes.windows(7).any(|w| w == b"payload"));
    assert_eq!(image::load_from_memory(&bytes).expect("an image").width(), 1600);
    let again = app.http.get(app.url(&path)).header("if-none-match", &etag).send().await.expect("answered");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    // Removed: gone from the page and from the store.
    let removed =
        app.http.delete(app.url(&path)).header("x-edit-token", &token).send().await.expect("answered");
    let (status, page) = answer(removed).await;
    assert_eq!((status, page["photo"].is_null()), (StatusCode::OK, true), "{page}");
    app.eventually("the photo to be gone", || async {
        app.get(&path).await.status() == StatusCode::NOT_FOUND
    })
    .await;
}

#[tokio::test]
async fn the_share_kit_shows_a_public_title_and_keeps_a_private_one() {
    let app = spawn_app().await;
    let (public, _) = page(&app, "playful", json!({})).await;
    let (private, _) = page(&app, "playful", json!({ "pin": "1357" })).await;
    let (waiting, _) = page(&app, "playful", json!({ "reveal_at": in_seconds(3600) })).await;
    let mut images = Vec::new();
    for slug in [&public, &private, &waiting] {
        let response = app.get(&format!("/{slug}/og.png")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "image/png");
        let png = response.bytes().await.expect("bytes");
        let decoded = image::load_from_memory(&png).expect("a PNG");
        assert_eq!((decoded.width(), decoded.height()), (1200, 630));
        images.push(png);
    }
    assert_ne!(images[0], images[1], "a public page's card shows its title");
    assert_eq!(images[1], images[2], "private and waiting pages get the same generic card");
    let qr = app.get(&format!("/api/pages/{public}/qr.svg")).await;
    assert_eq!(qr.status(), StatusCode::OK);
    assert!(qr.headers()["content-type"].to_str().expect("text").starts_with("image/svg+xml"));
    assert!(qr.text().await.expect("svg").contains("<svg"));
    let (status, body) = answer(app.get(&format!("/api/pages/{}/qr.svg", unique_slug("none"))).await).await;
    assert_error(status, &body, StatusCode::NOT_FOUND);
}

/// CRC-32 (as PNG chunks use it) of `bytes`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[tokio::test]
async fn a_photo_counts_toward_the_pages_changes_and_waits_for_the_event_store() {
    let mut app = spawn_app_with(|c| c.max_events_per_page = 1).await;
    let (slug, token) = page(&app, "scratch", json!({})).await;
    let (status, refused) =
        answer(put_photo(&app, &slug, Some(&token), "image/png", png(10, 10)).await).await;
    assert_error(status, &refused, StatusCode::CONFLICT);
    assert_eq!(refused["code"], "too_many_changes");
    let removed = app
        .http
        .delete(app.url(&format!("/api/pages/{slug}/photo")))
        .header("x-edit-token", &token)
        .send()
        .await;
    let (status, refused) = answer(removed.expect("answered")).await;
    assert_error(status, &refused, StatusCode::CONFLICT);
    // With the event store away, an upload is answered 503 and nothing is lost.
    app.nats.stop();
    let (status, refused) =
        answer(put_photo(&app, &slug, Some(&token), "image/png", png(10, 10)).await).await;
    assert_error(status, &refused, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn photo_uploads_and_removals_have_budgets_per_client() {
    let app = spawn_app_with(|c| {
        c.photos_per_hour = 1;
        c.edits_per_minute = 1;
    })
    .await;
    let (slug, token) = page(&app, "modern", json!({})).await;
    assert_eq!(put_photo(&app, &slug, Some(&token), "image/png", png(10, 10)).await.status(), StatusCode::OK);
    let (status, refused) =
        answer(put_photo(&app, &slug, Some(&token), "image/png", png(12, 12)).await).await;
    assert_error(status, &refused, StatusCode::TOO_MANY_REQUESTS);
    let path = format!("/api/pages/{slug}/photo");
    for expected in [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS] {
        let removed =
            app.http.delete(app.url(&path)).header("x-edit-token", &token).send().await.expect("answered");
        assert_eq!(removed.status(), expected);
    }
}

#[tokio::test]
async fn songs_moments_pins_and_photos_read_the_same_after_a_rebuild() {
    let app = spawn_app().await;
    let song = "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC";
    let (waiting, waiting_token) =
        page(&app, "classic", json!({ "song_url": song, "reveal_at": in_seconds(3600), "pin": "2468" }))
            .await;
    assert_eq!(
        put_photo(&app, &waiting, Some(&waiting_token), "image/png", png(64, 48)).await.status(),
        StatusCode::OK
    );
    let (changed, changed_token) = page(&app, "modern", json!({ "song_url": song })).await;
    let (status, _) =
        answer(app.patch(&changed, Some(&changed_token), &json!({ "song_url": null, "pin": "1357" })).await)
            .await;
    assert_eq!(status, StatusCode::OK);
    // Each page as its author reads it, without the view count (every read counts one).
    let as_author = |slug: String, token: String| {
        let app = &app;
        async move {
            let (status, mut shown) = answer(read(app, &slug, &[("x-edit-token", &token)]).await).await;
            assert_eq!(status, StatusCode::OK, "{shown}");
            shown.as_object_mut().map(|page| page.remove("view_count"));
            shown
        }
    };
    app.eventually("both pages to be projected whole", || async {
        let first = as_author(waiting.clone(), waiting_token.clone()).await;
        let second = as_author(changed.clone(), changed_token.clone()).await;
        first["photo"].is_object() && second["has_pin"] == true
    })
    .await;
    let before = (
        as_author(waiting.clone(), waiting_token.clone()).await,
        as_author(changed.clone(), changed_token.clone()).await,
    );
    assert_eq!(before.1["song"], Value::Null);

    valentine_projector::rebuild::rebuild(&app.projector_config(), &valentine_projector::progress::Silent)
        .await
        .expect("rebuilt");
    let after = (
        as_author(waiting.clone(), waiting_token.clone()).await,
        as_author(changed.clone(), changed_token.clone()).await,
    );
    assert_eq!(after, before, "a rebuild gives the same pages");
    // The PINs and the moment hold after the rebuild as before it.
    assert_eq!(read(&app, &changed, &[("x-page-pin", "1357")]).await.status(), StatusCode::OK);
    assert_eq!(read(&app, &changed, &[]).await.status(), StatusCode::UNAUTHORIZED);
    let (_, locked) = answer(read(&app, &waiting, &[("x-page-pin", "2468")]).await).await;
    assert_eq!(locked["locked"], "scheduled");
}
