//! A moment to open: a page may stay closed until a time its author chose. The time comes as
//! RFC 3339 with an offset, must lie ahead and within [`REVEAL_HORIZON_DAYS`], and is stored
//! in UTC to the second. Whether it has passed is always decided against a clock reading the
//! caller hands in: this crate reads no clock.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::content::Violation;

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
/// [`Violation::BadRevealAt`] when it is not RFC 3339 with an offset,
/// [`Violation::RevealInPast`] when it is not ahead of `now`, [`Violation::RevealTooFar`]
/// when it is more than [`REVEAL_HORIZON_DAYS`] ahead.
pub fn reveal_at(input: &RevealInput) -> Result<Option<String>, Violation> {
    let value = input.raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > 64 {
        return Err(Violation::BadRevealAt);
    }
    let at = OffsetDateTime::parse(value, &Rfc3339).map_err(|_| Violation::BadRevealAt)?;
    let at = at.to_offset(UtcOffset::UTC).replace_nanosecond(0).map_err(|_| Violation::BadRevealAt)?;
    if at <= input.now {
        return Err(Violation::RevealInPast);
    }
    if at > input.now + Duration::days(REVEAL_HORIZON_DAYS) {
        return Err(Violation::RevealTooFar);
    }
    at.format(&Rfc3339).map(Some).map_err(|_| Violation::BadRevealAt)
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

    fn at(raw: &str) -> Result<Option<String>, Violation> {
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
        assert_eq!(at("2027-02-14T09:00:00"), Err(Violation::BadRevealAt));
        assert_eq!(at("tomorrow"), Err(Violation::BadRevealAt));
        assert_eq!(at("2027-02-13T20:00:00Z"), Err(Violation::RevealInPast));
        assert_eq!(at("2026-02-14T09:00:00Z"), Err(Violation::RevealInPast));
        assert_eq!(at("2028-02-15T09:00:00Z"), Err(Violation::RevealTooFar));
        assert_eq!(at(&"9".repeat(10_000)), Err(Violation::BadRevealAt));
    }

    #[test]
    fn a_time_has_come_once_reached() {
        assert!(!has_come("2027-02-13T20:00:01Z", NOW));
        assert!(has_come("2027-02-13T20:00:00Z", NOW));
        assert!(has_come("garbage", NOW));
        assert_eq!(unix_seconds("1970-01-01T00:01:00Z"), Some(60));
    }
}
