//! What a page says: title, message and the two optional names.
//!
//! Leading and trailing whitespace is trimmed; a field that is empty after trimming counts as
//! missing. Lengths count Unicode scalar values (what people call characters), never bytes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest title, in characters.
pub const TITLE_MAX: usize = 100;
/// Longest message, in characters.
pub const MESSAGE_MAX: usize = 2000;
/// Longest sender or recipient name, in characters.
pub const NAME_MAX: usize = 50;

/// A field of a page's content, as named in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The page's heading.
    Title,
    /// The page's body.
    Message,
    /// Who the page is from.
    SenderName,
    /// Who the page is for.
    RecipientName,
    /// The design.
    TemplateId,
    /// The author's address for mails about the page (never shown publicly).
    NotifyEmail,
    /// The photo.
    Photo,
    /// The link to the page's song.
    SongUrl,
    /// When the page opens.
    RevealAt,
    /// The PIN that keeps it private (its hash; never shown).
    Pin,
}

impl Field {
    /// The field's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Title => "title",
            Self::Message => "message",
            Self::SenderName => "sender_name",
            Self::RecipientName => "recipient_name",
            Self::TemplateId => "template_id",
            Self::NotifyEmail => "notify_email",
            Self::Photo => "photo",
            Self::SongUrl => "song_url",
            Self::RevealAt => "reveal_at",
            Self::Pin => "pin",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken content rule. Messages never echo the input back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// A required field is absent or blank.
    #[error("{0} is required")]
    Missing(Field),
    /// A field is longer than its limit.
    #[error("{field} must be at most {max} characters")]
    TooLong {
        /// Which field.
        field: Field,
        /// Its limit, in characters.
        max: usize,
    },
    /// `template_id` names none of the eight templates.
    #[error(
        "template_id must be one of: classic, modern, playful, elegant, proposal, envelope, scratch, countdown"
    )]
    UnknownTemplate,
    /// `notify_email` is not an e-mail address.
    #[error("notify_email must be an e-mail address (its domain in ASCII), at most 254 characters")]
    BadEmail,
    /// `song_url` is not a link to a song on a service the page can play.
    #[error(
        "song_url must be a link to a song, album or playlist on Spotify, YouTube, Apple Music or SoundCloud"
    )]
    BadSong,
    /// `reveal_at` is not an RFC 3339 time with an offset.
    #[error("reveal_at must be an RFC 3339 date and time with an offset, like 2027-02-14T09:00:00+01:00")]
    BadRevealAt,
    /// `pin` breaks the PIN rules.
    #[error("pin must be 4–64 characters, not all blank")]
    BadPin,
}

impl Violation {
    /// The field the rule is about.
    pub fn field(&self) -> Field {
        match self {
            Self::Missing(field) | Self::TooLong { field, .. } => *field,
            Self::UnknownTemplate => Field::TemplateId,
            Self::BadEmail => Field::NotifyEmail,
            Self::BadSong => Field::SongUrl,
            Self::BadRevealAt => Field::RevealAt,
            Self::BadPin => Field::Pin,
        }
    }
}

/// Every rule a command's content broke, in field order. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// The violations among `found`, in order. Call it only when at least one check failed.
    pub(crate) fn of(found: impl IntoIterator<Item = Option<Violation>>) -> Self {
        let all: Vec<_> = found.into_iter().flatten().collect();
        debug_assert!(!all.is_empty(), "Violations must not be empty");
        Self(all)
    }

    /// The broken rules.
    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }

    /// The five checked values of a page's fields (title, message, sender, recipient,
    /// template), or every rule they broke, in that order.
    pub(crate) fn collect<A, B, C, D, E>(
        a: Checked<A>,
        b: Checked<B>,
        c: Checked<C>,
        d: Checked<D>,
        e: Checked<E>,
    ) -> Result<(A, B, C, D, E), Self> {
        match (a, b, c, d, e) {
            (Ok(a), Ok(b), Ok(c), Ok(d), Ok(e)) => Ok((a, b, c, d, e)),
            (a, b, c, d, e) => Err(Self::of([a.err(), b.err(), c.err(), d.err(), e.err()])),
        }
    }
}

impl Violations {
    /// Both results, or every rule either broke (`first`'s before `second`'s).
    pub(crate) fn and<A, B>(first: Result<A, Self>, second: Checked<B>) -> Result<(A, B), Self> {
        match (first, second) {
            (Ok(a), Ok(b)) => Ok((a, b)),
            (Ok(_), Err(v)) => Err(Self(vec![v])),
            (Err(Self(mut all)), second) => {
                all.extend(second.err());
                Err(Self(all))
            }
        }
    }
}

/// A field's value once its rule is checked.
pub(crate) type Checked<T> = Result<T, Violation>;

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

/// "Not blank" as a JSON Schema pattern: a character that is not whitespace, whitespace being
/// exactly what `str::trim` removes (Unicode's `White_Space`). The class is spelled out, as
/// `\s` differs from one regex engine to the next (ECMAScript's holds U+FEFF, Python's
/// U+001C–U+001F, neither U+0085), so the schema and the API agree on every character.
pub const NON_BLANK_PATTERN: &str = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// Trims `raw`; `None` when nothing is left.
fn trimmed(raw: &str) -> Option<&str> {
    let t = raw.trim();
    (!t.is_empty()).then_some(t)
}

/// Whether `raw` holds more than `max` characters, counted as sent: before trimming, as the
/// API's schema counts them, so no request the schema refuses is taken.
///
/// `nth(max)` stops after max + 1 characters, so a huge input costs no more than a short one.
pub(crate) fn longer_than(raw: &str, max: usize) -> bool {
    raw.chars().nth(max).is_some()
}

fn bounded(field: Field, raw: &str, max: usize) -> Result<&str, Violation> {
    if longer_than(raw, max) { Err(Violation::TooLong { field, max }) } else { Ok(raw) }
}

/// A required, bounded text field (title or message), trimmed.
pub(crate) fn required(field: Field, raw: &str, max: usize) -> Result<String, Violation> {
    let raw = bounded(field, raw, max)?;
    trimmed(raw).map(str::to_owned).ok_or(Violation::Missing(field))
}

/// An optional name, trimmed: blank becomes `None`.
pub(crate) fn optional_name(field: Field, raw: Option<&str>) -> Result<Option<String>, Violation> {
    let Some(raw) = raw else { return Ok(None) };
    Ok(trimmed(bounded(field, raw, NAME_MAX)?).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_counts_characters_not_bytes() {
        assert_eq!(required(Field::Title, "  Hi  ", TITLE_MAX), Ok("Hi".to_owned()));
        let hearts = "❤".repeat(TITLE_MAX); // 300 bytes, 100 characters
        assert_eq!(required(Field::Title, &hearts, TITLE_MAX), Ok(hearts.clone()));
        let too_many = "❤".repeat(TITLE_MAX + 1);
        assert_eq!(
            required(Field::Title, &too_many, TITLE_MAX),
            Err(Violation::TooLong { field: Field::Title, max: TITLE_MAX })
        );
    }

    #[test]
    fn lengths_count_the_text_as_sent_blanks_around_it_included() {
        let full = "a".repeat(NAME_MAX);
        assert_eq!(optional_name(Field::SenderName, Some(&full)), Ok(Some(full.clone())));
        for padded in [format!(" {full}"), format!("{full}\u{85}"), format!("\n{full}")] {
            assert_eq!(
                optional_name(Field::SenderName, Some(&padded)),
                Err(Violation::TooLong { field: Field::SenderName, max: NAME_MAX })
            );
        }
        assert_eq!(
            required(Field::Title, &format!("\u{85}{}", "*".repeat(TITLE_MAX)), TITLE_MAX),
            Err(Violation::TooLong { field: Field::Title, max: TITLE_MAX })
        );
    }

    #[test]
    fn the_non_blank_pattern_names_exactly_the_characters_trim_removes() {
        let class = NON_BLANK_PATTERN.trim_start_matches("[^").trim_end_matches(']');
        let mut blanks = Vec::new();
        let mut rest = class;
        while !rest.is_empty() {
            let (c, tail) = escaped(rest);
            if let Some(after_dash) = tail.strip_prefix('-') {
                let (last, tail) = escaped(after_dash);
                blanks.extend(c..=last);
                rest = tail;
            } else {
                blanks.push(c);
                rest = tail;
            }
        }
        let trimmed: Vec<char> =
            (char::MIN..=char::MAX).filter(|c| c.to_string().trim().is_empty()).collect();
        assert_eq!(blanks, trimmed);
    }

    /// The first character of a regex class body and what follows it.
    fn escaped(s: &str) -> (char, &str) {
        match s.strip_prefix('\\') {
            Some(r) if r.starts_with('u') => {
                (char::from_u32(u32::from_str_radix(&r[1..5], 16).unwrap()).unwrap(), &r[5..])
            }
            Some(r) if r.starts_with('t') => ('\t', &r[1..]),
            Some(r) if r.starts_with('r') => ('\r', &r[1..]),
            _ => {
                let c = s.chars().next().unwrap();
                (c, &s[c.len_utf8()..])
            }
        }
    }

    #[test]
    fn blank_required_field_is_missing() {
        assert_eq!(required(Field::Message, " \n\t ", MESSAGE_MAX), Err(Violation::Missing(Field::Message)));
    }

    #[test]
    fn blank_name_is_absent() {
        assert_eq!(optional_name(Field::SenderName, Some("   ")), Ok(None));
        assert_eq!(optional_name(Field::SenderName, None), Ok(None));
        assert_eq!(optional_name(Field::SenderName, Some(" Ana ")), Ok(Some("Ana".to_owned())));
    }

    #[test]
    fn violation_messages_do_not_echo_the_input() {
        let v = Violation::TooLong { field: Field::Message, max: MESSAGE_MAX };
        assert_eq!(v.to_string(), "message must be at most 2000 characters");
        assert_eq!(Violation::Missing(Field::Title).to_string(), "title is required");
    }
}
