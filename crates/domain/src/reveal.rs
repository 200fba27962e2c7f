//! A moment to open: a page may stay closed until a time its author chose. The time comes as
//! RFC 3339 with an offset, must lie ahead and within [`REVEAL_HORIZON_DAYS`], and is stored
//! in UTC to the second. Whether it has passed is always decided against a clock reading the
//! caller hands in: this crate reads no clock.

use std::sync::LazyLock;

use regex::Regex;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// The shape of a reveal time, as a regular expression that reads the same in ECMAScript (the
/// API's JSON Schema states it) and in Rust: blank, or RFC 3339 with an offset. Whether the
/// day exists, and whether the time lies ahead, the shape cannot say.
pub const REVEAL_AT_PATTERN: &str = concat!(
    r"^[ \t\r\n]*([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]",
    r"(\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?[ \t\r\n]*$",
);

static REVEAL_AT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(REVEAL_AT_PATTERN).unwrap_or_else(|e| unreachable!("the pattern is valid: {e}"))
});

/// Why a reveal time is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevealRefusal {
    /// Not RFC 3339 with an offset: a content rule.
    Malformed,
    /// Of the right shape, but not a time ahead (a day that does not exist, or the past).
    NotAhead,
    /// More than [`REVEAL_HORIZON_DAYS`] ahead.
    TooFar,
}

impl RevealRefusal {
    /// In plain words.
    pub fn message(self) -> &'static str {
        match self {
            Self::Malformed => "reveal_at must be an RFC 3339 date and time with an offset",
            Self::NotAhead => "reveal_at must be a time in the future",
            Self::TooFar => "reveal_at must be within 366 days",
        }
    }
}

/// How far ahead a page may be set to open.
pub const REVEAL_HORIZON_DAYS: i64 = 366;

/// A reveal time as the caller gave it, with the clock reading it is judged against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevealInput {
    /// RFC 3339 with an offset; blank means none.
    pub raw: String,
    /// Now.
    pub now: OffsetDateTime,
}

/// The reveal time in `input` in its stored form (RFC 3339, UTC, whole seconds); `None` when
/// blank.
///
/// # Errors
/// [`RevealRefusal::Malformed`] when it is not RFC 3339 with an offset (at most 64
/// characters), [`RevealRefusal::NotAhead`] when it is no time ahead of `now`,
/// [`RevealRefusal::TooFar`] when it is more than [`REVEAL_HORIZON_DAYS`] ahead.
pub fn reveal_at(input: &RevealInput) -> Result<Option<String>, RevealRefusal> {
    if input.raw.chars().nth(64).is_some() || !REVEAL_AT.is_match(&input.raw) {
        return Err(RevealRefusal::Malformed);
    }
    let value = input.raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let at = OffsetDateTime::parse(value, &Rfc3339).map_err(|_| RevealRefusal::NotAhead)?;
    let at = at.to_offset(UtcOffset::UTC).replace_nanosecond(0).map_err(|_| RevealRefusal::NotAhead)?;
    if at <= input.now {
        return Err(RevealRefusal::NotAhead);
    }
    if at > input.now + Duration::days(REVEAL_HORIZON_DAYS) {
        return Err(RevealRefusal::TooFar);
    }
    at.format(&Rfc3339).map(Some).map_err(|_| RevealRefusal::NotAhead)
}

/// Whether a stored reveal time has come by `now` (an unreadable one counts as come: a page
/// is never closed by a time nobody can read).
pub fn has_come(stored: &str, now: OffsetDateTime) -> bool {
    OffsetDateTime::parse(stored, &Rfc3339).ok().is_none_or(|at| at <= now)
}

/// A stored reveal time as seconds since the epoch (`None` if unreadable).
pub fn unix_seconds(stored: &str) -> Option<i64> {
    OffsetDateTime::parse(stored, &Rfc3339).ok().map(OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2027-02-13 20:00 UTC);

    fn at(raw: &str) -> Result<Option<String>, RevealRefusal> {
        reveal_at(&RevealInput { raw: raw.to_owned(), now: NOW })
    }

    #[test]
    fn times_with_an_offset_are_stored_in_utc_to_the_second() {
        assert_eq!(at("2027-02-14T09:00:00+01:00"), Ok(Some("2027-02-14T08:00:00Z".to_owned())));
        assert_eq!(at(" 2027-02-14T08:00:00.987Z "), Ok(Some("2027-02-14T08:00:00Z".to_owned())));
        assert_eq!(at(""), Ok(None));
    }

    #[test]
    fn times_without_an_offset_in_the_past_or_too_far_are_refused() {
        assert_eq!(at("2027-02-14T09:00:00"), Err(RevealRefusal::Malformed));
        assert_eq!(at("tomorrow"), Err(RevealRefusal::Malformed));
        assert_eq!(at("2027-02-14t09:00:00z"), Err(RevealRefusal::Malformed));
        assert_eq!(at("2027-02-13T20:00:00Z"), Err(RevealRefusal::NotAhead));
        assert_eq!(at("2026-02-14T09:00:00Z"), Err(RevealRefusal::NotAhead));
        assert_eq!(at("2027-02-30T09:00:00Z"), Err(RevealRefusal::NotAhead));
        assert_eq!(at("2028-02-15T09:00:00Z"), Err(RevealRefusal::TooFar));
        assert_eq!(at(&"9".repeat(10_000)), Err(RevealRefusal::Malformed));
    }

    #[test]
    fn a_time_has_come_once_reached() {
        assert!(!has_come("2027-02-13T20:00:01Z", NOW));
        assert!(has_come("2027-02-13T20:00:00Z", NOW));
        assert!(has_come("garbage", NOW));
        assert_eq!(unix_seconds("1970-01-01T00:01:00Z"), Some(60));
    }
}
