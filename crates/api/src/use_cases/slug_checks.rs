//! Whether a slug is free, and which others would be: rate-limited per caller, answered from
//! the read model.

use valentine_domain::{PageError, Slug, SlugError, suggestions};

use crate::error::ApiError;
use crate::rate_limit::{Bucket, RateLimiter};
use crate::use_cases::page_queries::PageQueries;

/// Suggestions a taken or reserved slug comes with.
pub(crate) const CHECK_SUGGESTIONS: usize = 5;

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Availability {
    /// Whether a page can be created at the slug now.
    pub available: bool,
    /// Why not, in plain words.
    pub reason: Option<String>,
    /// Available alternatives, for a taken or reserved slug.
    pub suggestions: Vec<String>,
}

/// Slug checks and suggestions; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct SlugChecks {
    queries: PageQueries,
    limiter: RateLimiter,
}

impl SlugChecks {
    /// Checks against the read model behind `queries`, limited by `limiter`.
    pub(crate) fn new(queries: PageQueries, limiter: RateLimiter) -> Self {
        Self { queries, limiter }
    }

    /// Whether `raw`, exactly as sent, can be a new page's slug, for the caller `caller_key`,
    /// as of read model position `min_position` or later.
    ///
    /// # Errors
    /// `429` over the rate limit, `503` when the read model is away.
    pub(crate) async fn check(
        &self,
        raw: &str,
        caller_key: &str,
        min_position: Option<u64>,
    ) -> Result<Availability, ApiError> {
        self.limiter.check(Bucket::SlugChecks, caller_key).await?;
        // Waits for the position asked for; the lookup then sees it or later.
        self.queries.reach(min_position).await?;
        let refused = |reason: String, suggestions| Availability {
            available: false,
            reason: Some(reason),
            suggestions,
        };
        Ok(match Slug::parse(raw) {
            Ok(slug) if self.queries.slug_taken(&slug.key())? => {
                refused(PageError::SlugTaken.to_string(), self.available(raw, CHECK_SUGGESTIONS).await?)
            }
            Ok(_) => Availability { available: true, reason: None, suggestions: Vec::new() },
            Err(SlugError::Reserved) => {
                refused(SlugError::Reserved.to_string(), self.available(raw, CHECK_SUGGESTIONS).await?)
            }
            Err(e) => refused(e.to_string(), Vec::new()),
        })
    }

    /// Up to `count` available slugs based on any text, for the caller `caller_key`.
    ///
    /// # Errors
    /// `429` over the rate limit, `503` when the read model is away.
    pub(crate) async fn suggest(
        &self,
        base: &str,
        count: usize,
        caller_key: &str,
    ) -> Result<Vec<String>, ApiError> {
        self.limiter.check(Bucket::SlugChecks, caller_key).await?;
        self.available(base, count).await
    }

    /// Up to `count` available alternatives to `base`. Bounded work for every input: a fixed
    /// number of candidates, checked in one query (plus one more round with fresh random
    /// numbers if most of them were taken).
    async fn available(&self, base: &str, count: usize) -> Result<Vec<String>, ApiError> {
        let mut found: Vec<String> = Vec::with_capacity(count);
        for round in 0..2 {
            let numbers: Vec<u32> = (0..if round == 0 { 2 } else { 8 }).map(|_| random_number()).collect();
            let candidates = suggestions(base, &numbers);
            let keys: Vec<&str> = candidates.iter().map(String::as_str).collect();
            let taken = self.queries.taken(&keys)?;
            for candidate in candidates {
                if found.len() == count {
                    return Ok(found);
                }
                if !taken.contains(&candidate) && !found.contains(&candidate) {
                    found.push(candidate);
                }
            }
        }
        Ok(found)
    }
}

/// A number from 10 to 9999 for a suggestion suffix.
fn random_number() -> u32 {
    let mut bytes = [0u8; 4];
    // A failing random source only makes suggestions less varied.
    let _ = getrandom::fill(&mut bytes);
    10 + u32::from_le_bytes(bytes) % 9990
}
