//! A page's photo: uploaded by its author, made safe (decoded, bounded, turned upright,
//! re-encoded without metadata), stored sealed beside the event stream, named in the page's
//! events by its SHA-256, and served to readers who may see the page.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Semaphore;
use tracing::instrument;
use valentine_domain::{EditToken, Page, PhotoRef};
use valentine_eventstore::{JetStreamEventRepository, PhotoStore};
use valentine_media::photo::{self, PhotoError};
use valentine_projections::PageRow;

use crate::error::ApiError;
use crate::rate_limit::{Bucket, RateLimiter};
use crate::use_cases::cpu_bound::run_bounded;
use crate::use_cases::page_access::PageAccess;
use crate::use_cases::page_commands::PageCommands;
use crate::use_cases::page_queries::PageQueries;

/// A photo ready to send, or word that the reader's copy is current.
#[derive(Debug)]
pub(crate) enum Served {
    /// The reader's copy (`If-None-Match`) is this one.
    NotModified {
        /// Its SHA-256.
        sha256: String,
        /// Whether a PIN keeps the page private (no shared caching).
        private: bool,
    },
    /// The photo.
    Photo {
        /// The image.
        bytes: Bytes,
        /// Its content type.
        content_type: String,
        /// Its SHA-256.
        sha256: String,
        /// Whether a PIN keeps the page private (no shared caching).
        private: bool,
    },
}

/// Photos of pages; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct PagePhotos {
    inner: Arc<PhotoParts>,
}

#[derive(Debug)]
struct PhotoParts {
    commands: PageCommands,
    queries: PageQueries,
    access: PageAccess,
    repo: JetStreamEventRepository,
    photos: PhotoStore,
    limiter: RateLimiter,
    /// Turns at image work (decoding uploads, drawing previews): one per core.
    media: Arc<Semaphore>,
}

impl PagePhotos {
    /// Photos through these handles; `media` bounds how much image work runs at once.
    pub(crate) fn new(
        commands: PageCommands,
        queries: PageQueries,
        access: PageAccess,
        repo: JetStreamEventRepository,
        photos: PhotoStore,
        limiter: RateLimiter,
        media: Arc<Semaphore>,
    ) -> Self {
        Self { inner: Arc::new(PhotoParts { commands, queries, access, repo, photos, limiter, media }) }
    }

    /// Whether the caller `caller_key` presenting `token` may upload a photo to the page at
    /// `slug_key`: checked before its body is read, so a stranger's upload costs nothing.
    ///
    /// # Errors
    /// `403` for a wrong token, `429` over the caller's budget, `503` when the read model or
    /// the event store is away.
    pub(crate) async fn may_upload(
        &self,
        slug_key: &str,
        token: &EditToken,
        caller_key: &str,
    ) -> Result<(), ApiError> {
        self.inner.limiter.check(Bucket::Photos, caller_key).await?;
        self.inner.commands.refuse_a_wrong_token(slug_key, token, "photo").await
    }

    /// Makes `upload` (declared as `content_type`) the photo of the page at `slug_key`, for
    /// its author presenting `token`; the page afterwards and the position of its latest event.
    ///
    /// # Errors
    /// `413`, `415` or `422` for an image refused; as [`PageCommands::set_photo`] otherwise.
    #[instrument(skip(self, token, upload), fields(bytes = upload.len()))]
    pub(crate) async fn upload(
        &self,
        slug_key: &str,
        token: EditToken,
        content_type: &str,
        upload: Bytes,
    ) -> Result<(PageRow, u64), ApiError> {
        let h = &self.inner;
        let declared = content_type.to_owned();
        let photo = self.media(move || photo::normalize(&upload, &declared)).await?.map_err(refused)?;
        let current = h.queries.live_page(slug_key)?.and_then(|row| row.photo_sha256);
        let key = h.repo.life_key::<Page>(slug_key).await?.ok_or(ApiError::NotFound("Page not found"))?;
        let reference = PhotoRef {
            sha256: photo.sha256.clone(),
            content_type: photo.content_type.to_owned(),
            width: photo.width,
            height: photo.height,
            bytes: photo.bytes.len() as u64,
        };
        if current.as_deref() != Some(photo.sha256.as_str()) {
            h.photos.put(&key, &photo.sha256, &photo.bytes).await?;
        }
        match h.commands.set_photo(slug_key, token, Some(reference)).await {
            Ok(changed) => {
                if let Some(old) = current.filter(|old| *old != photo.sha256) {
                    self.forget(key.id(), &old).await;
                }
                Ok(changed)
            }
            Err(e) => {
                if current.as_deref() != Some(photo.sha256.as_str()) {
                    self.forget(key.id(), &photo.sha256).await;
                }
                Err(e)
            }
        }
    }

    /// Removes the photo of the page at `slug_key`, for its author presenting `token`.
    ///
    /// # Errors
    /// As [`PageCommands::set_photo`], and `429` over the caller's budget of edits.
    pub(crate) async fn remove(
        &self,
        slug_key: &str,
        token: EditToken,
        caller_key: &str,
    ) -> Result<(PageRow, u64), ApiError> {
        let h = &self.inner;
        h.limiter.check(Bucket::Edits, caller_key).await?;
        h.commands.refuse_a_wrong_token(slug_key, &token, "photo").await?;
        let current = h.queries.live_page(slug_key)?.and_then(|row| row.photo_sha256);
        let key = h.repo.life_key::<Page>(slug_key).await?;
        let changed = h.commands.set_photo(slug_key, token, None).await?;
        if let (Some(old), Some(key)) = (current, key) {
            self.forget(key.id(), &old).await;
        }
        Ok(changed)
    }

    /// The photo of the page at `slug_key` for the reader `caller_key` presenting `author`
    /// and `pin`; not sent again when `if_none_match` names it.
    ///
    /// # Errors
    /// `401` without the right PIN, `403` before the reveal time, `404` without a page or a
    /// photo, `429` over a budget, `503` when a store is away.
    pub(crate) async fn serve(
        &self,
        slug_key: &str,
        author: Option<&EditToken>,
        pin: Option<&str>,
        caller_key: &str,
        if_none_match: Option<&str>,
    ) -> Result<Served, ApiError> {
        let h = &self.inner;
        let no_photo = ApiError::NotFound("This page has no photo");
        let answer =
            h.queries.read(slug_key, caller_key, None).await?.ok_or(ApiError::NotFound("Page not found"))?;
        let admission = h.access.admit(slug_key, &answer, author, pin, caller_key).await?;
        if admission.scheduled {
            return Err(ApiError::PhotoNotRevealed);
        }
        let row = h.queries.live_page(slug_key)?.ok_or(ApiError::NotFound("Page not found"))?;
        let (Some(sha256), Some(content_type)) = (row.photo_sha256, row.photo_type) else {
            return Err(no_photo);
        };
        let private = row.pin_hash.is_some();
        if if_none_match.is_some_and(|tags| {
            tags.split(',').any(|t| t.trim().trim_start_matches("W/") == format!("\"{sha256}\""))
        }) {
            return Ok(Served::NotModified { sha256, private });
        }
        let key = h.repo.life_key::<Page>(slug_key).await?.ok_or(ApiError::NotFound("Page not found"))?;
        let bytes = h.photos.get(&key, &sha256).await?.ok_or(no_photo)?;
        Ok(Served::Photo { bytes: Bytes::from(bytes), content_type, sha256, private })
    }

    /// Removes a photo no event names any more; a failure leaves it sealed under its life's
    /// key, unreadable once the life is erased.
    async fn forget(&self, key_id: &str, sha256: &str) {
        if let Err(e) = self.inner.photos.delete(key_id, sha256).await {
            tracing::warn!(error = %e, "a replaced photo stays in the photo store");
        }
    }

    /// Runs `work` on a blocking thread once a turn at image work is free.
    async fn media<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        run_media(&self.inner.media, work).await
    }
}

/// Runs image work on a blocking thread once one of `turns` is free (`503` after waiting long).
pub(crate) async fn run_media<T: Send + 'static>(
    turns: &Semaphore,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    run_bounded(turns, "Too many images are being worked on right now; try again in a moment", work).await
}

/// The API error of a refused image.
fn refused(e: PhotoError) -> ApiError {
    ApiError::BadPhoto { status: e.status(), code: e.code(), detail: e.to_string() }
}
