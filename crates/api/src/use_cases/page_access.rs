//! Who sees what of a page. A PIN keeps a page private: a read must bring it in
//! `X-Page-Pin`. A reveal time keeps its words, photo and song back until the moment comes.
//! Its author, presenting the edit token, sees everything, always.
//!
//! PINs are kept only as Argon2id hashes. Checking a guess costs tens of milliseconds of CPU
//! and 19 MiB, so guesses are budgeted before any is checked: per client, and per page and
//! PIN (per hour and per 30 days, from anyone). A right guess gives its budget back and is
//! remembered for a while, so the recipient's later reads cost a SHA-256, not a hash.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tracing::instrument;
use valentine_domain::{EditToken, EditTokenHash, PinHash};
use valentine_projections::PageRow;

use crate::error::ApiError;
use crate::rate_limit::{Attempt, Bucket, RateLimiter};
use crate::use_cases::cpu_bound::run_bounded;
use crate::use_cases::page_queries::{PageAnswer, PageQueries};

/// Argon2id's cost: 19 MiB, two passes, one lane (OWASP's first recommended setting).
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;

/// How many PINs are hashed or checked at once; more wait their turn.
const HASHING_AT_ONCE: usize = 2;

/// How long a right PIN is remembered.
const REMEMBERED_FOR: Duration = Duration::from_secs(600);

/// Most PINs remembered at once.
const REMEMBERED_MAX: usize = 10_000;

/// What a reader sees of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admission {
    /// The reader presented the page's edit token: they see everything.
    pub(crate) by_author: bool,
    /// The page waits for its reveal time: the reader sees its design and names only.
    pub(crate) scheduled: bool,
}

/// Guarding pages' PINs and reveal times; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct PageAccess {
    inner: Arc<AccessParts>,
}

#[derive(Debug)]
struct AccessParts {
    queries: PageQueries,
    limiter: RateLimiter,
    hashing: Semaphore,
    remembered: Mutex<HashMap<[u8; 32], Instant>>,
}

impl PageAccess {
    /// Access checks reading rows through `queries`, with budgets kept by `limiter`.
    pub(crate) fn new(queries: PageQueries, limiter: RateLimiter) -> Self {
        Self {
            inner: Arc::new(AccessParts {
                queries,
                limiter,
                hashing: Semaphore::new(HASHING_AT_ONCE),
                remembered: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// What the reader `caller_key`, presenting `author` and `pin`, sees of `answer` (the
    /// page at `slug_key`) now.
    ///
    /// # Errors
    /// `401` without the right PIN; `429` over a budget of guesses; `503` when the read model
    /// or the hashing is unavailable.
    pub(crate) async fn admit(
        &self,
        slug_key: &str,
        answer: &PageAnswer,
        author: Option<&EditToken>,
        pin: Option<&str>,
        caller_key: &str,
    ) -> Result<Admission, ApiError> {
        let waiting = answer.reveal_at.is_some_and(|at| at > OffsetDateTime::now_utc().unix_timestamp());
        if !answer.pin && !waiting && !answer.taken_down {
            return Ok(Admission { by_author: false, scheduled: false });
        }
        let row = self.inner.queries.live_page(slug_key)?.ok_or(ApiError::NotFound("Page not found"))?;
        if author.is_some_and(|token| is_author(&row, token)) {
            return Ok(Admission { by_author: true, scheduled: false });
        }
        if row.taken_down_at.is_some() {
            return Err(ApiError::TakenDown);
        }
        if let Some(hash) = &row.pin_hash {
            self.check_pin(&row, hash, pin, caller_key).await?;
        }
        let scheduled = row
            .reveal_at
            .as_deref()
            .is_some_and(|at| !valentine_domain::reveal::has_come(at, OffsetDateTime::now_utc()));
        Ok(Admission { by_author: false, scheduled })
    }

    /// Whether the reader `caller_key` presenting `pin` may act on the page at `slug_key`
    /// (reply to it): the right PIN, if it has one.
    ///
    /// # Errors
    /// `401` without the right PIN, `429` over a budget of guesses, `503` when the read
    /// model or the hashing is unavailable.
    pub(crate) async fn unlock(
        &self,
        slug_key: &str,
        pin: Option<&str>,
        caller_key: &str,
    ) -> Result<(), ApiError> {
        let Some(row) = self.inner.queries.live_page(slug_key)? else { return Ok(()) };
        match &row.pin_hash {
            Some(hash) => self.check_pin(&row, hash, pin, caller_key).await,
            None => Ok(()),
        }
    }

    /// Whether `pin` opens the page `row` (whose PIN hash is `hash`), within the budgets.
    #[instrument(skip_all, fields(slug = %row.slug_key, outcome))]
    async fn check_pin(
        &self,
        row: &PageRow,
        hash: &str,
        pin: Option<&str>,
        caller_key: &str,
    ) -> Result<(), ApiError> {
        let Some(pin) = pin else {
            return Err(ApiError::PinRequired("This page is private: send its PIN in X-Page-Pin"));
        };
        let memo = memo_key(row, hash, pin);
        if self.remembers(&memo) {
            return Ok(());
        }
        let h = &self.inner;
        let page = format!("{}:{}", row.slug_key, hex16(hash.as_bytes()));
        let mut attempts: Vec<Attempt> = Vec::with_capacity(3);
        for (bucket, key) in [
            (Bucket::PinGuesses, caller_key),
            (Bucket::PagePinGuesses, page.as_str()),
            (Bucket::PagePinGuessesMonthly, page.as_str()),
        ] {
            match h.limiter.check(bucket, key).await {
                Ok(attempt) => attempts.push(attempt),
                Err(refused) => {
                    for attempt in attempts {
                        h.limiter.refund(attempt).await;
                    }
                    tracing::Span::current().record("outcome", "over_budget");
                    return Err(refused);
                }
            }
        }
        let right = self.verify(hash.to_owned(), pin.to_owned()).await?;
        tracing::Span::current().record("outcome", if right { "right" } else { "wrong" });
        if !right {
            return Err(ApiError::PinRequired("That PIN is not this page's"));
        }
        for attempt in attempts {
            h.limiter.refund(attempt).await;
        }
        self.remember(memo);
        Ok(())
    }

    /// The Argon2id hash of `pin`, with a fresh salt.
    ///
    /// # Errors
    /// `503` when hashing is busy for too long.
    pub(crate) async fn hash(&self, pin: String) -> Result<PinHash, ApiError> {
        self.hashing(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon().hash_password(pin.as_bytes(), &salt).map(|h| PinHash::new(h.to_string()))
        })
        .await?
        .map_err(|e| ApiError::internal(e.to_string()))
    }

    async fn verify(&self, hash: String, pin: String) -> Result<bool, ApiError> {
        self.hashing(move || {
            PasswordHash::new(&hash)
                .is_ok_and(|parsed| argon().verify_password(pin.as_bytes(), &parsed).is_ok())
        })
        .await
    }

    /// Runs `work` on a blocking thread once a hashing slot is free.
    async fn hashing<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let busy = "Too many PINs are being checked right now; try again in a moment";
        run_bounded(&self.inner.hashing, busy, work).await
    }

    fn remembers(&self, memo: &[u8; 32]) -> bool {
        let remembered = self.inner.remembered.lock().unwrap_or_else(PoisonError::into_inner);
        remembered.get(memo).is_some_and(|at| at.elapsed() < REMEMBERED_FOR)
    }

    fn remember(&self, memo: [u8; 32]) {
        let mut remembered = self.inner.remembered.lock().unwrap_or_else(PoisonError::into_inner);
        if remembered.len() >= REMEMBERED_MAX {
            remembered.retain(|_, at| at.elapsed() < REMEMBERED_FOR);
            if remembered.len() >= REMEMBERED_MAX {
                remembered.clear();
            }
        }
        remembered.insert(memo, Instant::now());
    }
}

/// Whether `token` is the edit token of the page `row`.
pub(crate) fn is_author(row: &PageRow, token: &EditToken) -> bool {
    EditTokenHash::from_hex(&row.edit_token_hash).is_ok_and(|hash| hash.matches(token))
}

fn argon() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// What a right PIN is remembered by: the page's life, its PIN's hash and the PIN.
fn memo_key(row: &PageRow, hash: &str, pin: &str) -> [u8; 32] {
    let mut digest = Sha256::new();
    for part in [row.slug_key.as_bytes(), &row.page_id.to_be_bytes(), hash.as_bytes(), pin.as_bytes()] {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    digest.finalize().into()
}

/// The first 16 hex digits of the SHA-256 of `bytes`.
fn hex16(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_hash_is_argon2id_and_checks_only_its_pin() {
        let salt = SaltString::generate(&mut OsRng);
        let hash = argon().hash_password(b"1234", &salt).expect("hashes").to_string();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        let parsed = PasswordHash::new(&hash).expect("parses");
        assert!(argon().verify_password(b"1234", &parsed).is_ok());
        assert!(argon().verify_password(b"1235", &parsed).is_err());
    }
}
