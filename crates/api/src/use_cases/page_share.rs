//! What helps an author hand a page over: the link-preview image messengers show, and a QR
//! code of the link. A private or not yet opened page's preview is the generic card: its
//! design, and nothing of what it says.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use valentine_media::og::{Design, OgCard};
use valentine_media::{og, qr};

use crate::error::ApiError;
use crate::use_cases::page_photos::run_media;
use crate::use_cases::page_queries::PageQueries;
use crate::wire::page::PageResponse;

/// Most preview images kept drawn.
const DRAWN_MAX: usize = 256;

/// A page's link-preview image.
#[derive(Debug, Clone)]
pub(crate) struct Preview {
    /// The PNG.
    pub png: Bytes,
    /// What it shows, as a short hash: its ETag, and the `v` of its address.
    pub version: String,
}

/// Share kits; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct PageShare {
    inner: Arc<ShareParts>,
}

#[derive(Debug)]
struct ShareParts {
    queries: PageQueries,
    media: Arc<Semaphore>,
    drawn: Mutex<HashMap<String, Bytes>>,
}

impl PageShare {
    /// Share kits of pages read through `queries`; `media` bounds image work.
    pub(crate) fn new(queries: PageQueries, media: Arc<Semaphore>) -> Self {
        Self { inner: Arc::new(ShareParts { queries, media, drawn: Mutex::new(HashMap::new()) }) }
    }

    /// The link-preview image of the page at `slug_key`, for the reader `caller_key`.
    ///
    /// # Errors
    /// `404` without a page, `429` over the reader's budget, `503` when busy or the read
    /// model is away.
    pub(crate) async fn preview(&self, slug_key: &str, caller_key: &str) -> Result<Preview, ApiError> {
        let answer = self
            .inner
            .queries
            .read(slug_key, caller_key, None)
            .await?
            .ok_or(ApiError::NotFound("Page not found"))?;
        if answer.taken_down {
            return Err(ApiError::TakenDown);
        }
        let page: PageResponse = serde_json::from_slice(&answer.json).map_err(ApiError::internal)?;
        let waiting = answer.reveal_at.is_some_and(|at| at > OffsetDateTime::now_utc().unix_timestamp());
        let title = (!answer.pin && !waiting).then_some(page.title);
        let design = Design::from_id(&page.template_id).unwrap_or(Design::Classic);
        let version = preview_version(design, title.as_deref());
        let cached = self.inner.drawn.lock().unwrap_or_else(PoisonError::into_inner).get(&version).cloned();
        if let Some(png) = cached {
            return Ok(Preview { png, version });
        }
        let png = run_media(&self.inner.media, move || {
            Bytes::from(og::render(&OgCard { design, title: title.as_deref() }))
        })
        .await?;
        let mut drawn = self.inner.drawn.lock().unwrap_or_else(PoisonError::into_inner);
        if drawn.len() >= DRAWN_MAX {
            drawn.clear();
        }
        drawn.insert(version.clone(), png.clone());
        Ok(Preview { png, version })
    }

    /// A QR code of `url`, the page at `slug_key`'s address, if the page exists.
    ///
    /// # Errors
    /// `404` without a page, `429` over the reader's budget, `503` when the read model is away.
    pub(crate) async fn qr_code(
        &self,
        slug_key: &str,
        url: &str,
        caller_key: &str,
    ) -> Result<String, ApiError> {
        self.inner
            .queries
            .read(slug_key, caller_key, None)
            .await?
            .ok_or(ApiError::NotFound("Page not found"))?;
        qr::svg(url).map_err(ApiError::internal)
    }
}

/// What identifies a preview image: its design and title (none for the generic card).
pub(crate) fn preview_version(design: Design, title: Option<&str>) -> String {
    let mut digest = Sha256::new();
    digest.update(design.id().as_bytes());
    digest.update([0]);
    if let Some(title) = title {
        digest.update(title.as_bytes());
    }
    digest.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}
