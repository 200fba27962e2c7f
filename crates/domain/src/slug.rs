//! The page address: `/<slug>`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Shortest slug, in characters.
pub const MIN_LEN: usize = 3;
/// Longest slug, in characters.
pub const MAX_LEN: usize = 50;

/// Reserved slugs kept from the original system.
pub const RESERVED_ORIGINAL: &[&str] = &[
    "admin",
    "api",
    "static",
    "assets",
    "create",
    "edit",
    "delete",
    "login",
    "logout",
    "signup",
    "settings",
    "profile",
    "dashboard",
    "help",
    "about",
    "contact",
    "terms",
    "privacy",
    "404",
    "500",
];

/// First path segments this system serves itself, so that no page can shadow a route.
pub const RESERVED_ROUTES: &[&str] = &[
    "health", "healthz", "ready", "readyz", "metrics", "fonts", "favicon", "robots", "sitemap", "manifest",
    "new",
];

/// A valid, non-reserved page slug.
///
/// Keeps the author's casing for display; [`Slug::key`] is the lowercase form that identifies
/// the page (its aggregate id), so `Alice` and `alice` are the same page.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

/// Why a string is not a usable slug. The messages are shown to people as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    /// Fewer than [`MIN_LEN`] characters.
    #[error("Slug must be at least 3 characters")]
    TooShort,
    /// More than [`MAX_LEN`] characters.
    #[error("Slug must be at most 50 characters")]
    TooLong,
    /// Something other than an ASCII letter, digit or hyphen, including any whitespace.
    #[error("Slug can only contain letters, numbers and hyphens")]
    InvalidCharacter,
    /// A hyphen at the start or the end.
    #[error("Slug must start and end with a letter or number")]
    HyphenAtEdge,
    /// One of [`reserved`], in any casing.
    #[error("This slug is reserved")]
    Reserved,
}

impl Slug {
    /// Parses a slug exactly as sent: nothing is trimmed, so `"alice\n"` is invalid.
    ///
    /// Checks run in a fixed order (characters, length, edges, reserved) so that one input
    /// always gets the same reason.
    ///
    /// # Errors
    /// The first rule the input breaks.
    pub fn parse(input: &str) -> Result<Self, SlugError> {
        if !input.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(SlugError::InvalidCharacter);
        }
        // Only ASCII is left, so bytes and characters agree from here on.
        if input.len() < MIN_LEN {
            return Err(SlugError::TooShort);
        }
        if input.len() > MAX_LEN {
            return Err(SlugError::TooLong);
        }
        if input.starts_with('-') || input.ends_with('-') {
            return Err(SlugError::HyphenAtEdge);
        }
        if is_reserved(input) {
            return Err(SlugError::Reserved);
        }
        Ok(Self(input.to_owned()))
    }

    /// The slug as the author wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lowercase form: the page's identity and aggregate id.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// Whether `candidate` is reserved, in any casing.
pub fn is_reserved(candidate: &str) -> bool {
    reserved().any(|r| r.eq_ignore_ascii_case(candidate))
}

/// Every reserved slug, lowercase.
pub fn reserved() -> impl Iterator<Item = &'static str> {
    RESERVED_ORIGINAL.iter().chain(RESERVED_ROUTES).copied()
}

/// Words a suggestion may add to a base; short, so that a base near the length limit keeps
/// most of its own characters.
const SUGGESTION_WORDS: &[&str] = &["love", "xo", "forever", "always", "mine", "sweet"];

/// Alternatives to `base` for someone whose slug is taken or reserved, best first, each a
/// valid slug (not necessarily free: the caller checks availability).
///
/// `base` may be anything a person typed: characters other than letters and digits become
/// hyphens, runs of hyphens collapse, hyphens at the edges go, and the result is cut short
/// enough to leave room for a suffix. The work is bounded by the length of `base` plus a
/// constant, whatever the input, and every candidate is checked with [`Slug::parse`].
/// `numbers` adds `<base>-<n>` candidates (callers pass a few random ones for variety).
pub fn suggestions(base: &str, numbers: &[u32]) -> Vec<String> {
    let stem = suggestion_stem(base);
    let stem = if stem.len() < MIN_LEN { "our-love".to_owned() } else { stem };
    let mut candidates: Vec<String> = Vec::with_capacity(SUGGESTION_WORDS.len() * 2 + numbers.len() + 4);
    candidates.push(format!("{stem}-{}", SUGGESTION_WORDS[0]));
    candidates.extend((2..=4).map(|n| format!("{stem}-{n}")));
    candidates.push(format!("my-{stem}"));
    candidates.extend(SUGGESTION_WORDS[1..].iter().map(|w| format!("{stem}-{w}")));
    candidates.extend(numbers.iter().map(|n| format!("{stem}-{n}")));
    candidates.push(format!("{}-{stem}", SUGGESTION_WORDS[0]));
    let mut seen = std::collections::HashSet::new();
    candidates
        .into_iter()
        .filter(|c| Slug::parse(c).is_ok() && !c.eq_ignore_ascii_case(base))
        .filter(|c| seen.insert(c.to_ascii_lowercase()))
        .collect()
}

/// The part of a suggestion taken from what the person typed: lowercase letters, digits and
/// single inner hyphens, at most `MAX_LEN - 12` characters (room for `-` and a suffix).
fn suggestion_stem(base: &str) -> String {
    const STEM_MAX: usize = MAX_LEN - 12;
    let mut stem = String::with_capacity(STEM_MAX);
    // Only the first few hundred characters can matter; the rest is never looked at.
    for c in base.chars().take(MAX_LEN * 8) {
        if stem.len() >= STEM_MAX {
            break;
        }
        if c.is_ascii_alphanumeric() {
            stem.push(c.to_ascii_lowercase());
        } else if !stem.is_empty() && !stem.ends_with('-') {
            stem.push('-');
        }
    }
    while stem.ends_with('-') {
        stem.pop();
    }
    stem
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Slug({:?})", self.0)
    }
}

impl TryFrom<String> for Slug {
    type Error = SlugError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> Self {
        slug.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn accepts_letters_digits_and_inner_hyphens() {
        for ok in ["abc", "Alice-and-Bob", "a-b", "2024", "a--b", &"x".repeat(50)] {
            assert_eq!(Slug::parse(ok).map(|s| s.as_str().to_owned()), Ok(ok.to_owned()));
        }
    }

    #[test]
    fn keeps_casing_for_display_and_folds_it_for_identity() {
        let slug = Slug::parse("AliceLovesBob").expect("valid");
        assert_eq!(slug.as_str(), "AliceLovesBob");
        assert_eq!(slug.key(), "alicelovesbob");
    }

    #[test]
    fn rejects_a_trailing_newline_instead_of_trimming_it() {
        assert_eq!(Slug::parse("alice\n"), Err(SlugError::InvalidCharacter));
        assert_eq!(Slug::parse("admin\n"), Err(SlugError::InvalidCharacter));
        assert_eq!(Slug::parse(" alice"), Err(SlugError::InvalidCharacter));
        assert_eq!(Slug::parse("al ice"), Err(SlugError::InvalidCharacter));
    }

    #[test]
    fn rejects_symbols_and_non_ascii() {
        for bad in ["a_b_c", "a.b.c", "ab/c", "abc*", "ab>c", "café", "ａｂｃ", "abc\u{0}"] {
            assert_eq!(Slug::parse(bad), Err(SlugError::InvalidCharacter), "{bad:?}");
        }
    }

    #[test]
    fn enforces_length_in_characters() {
        assert_eq!(Slug::parse(""), Err(SlugError::TooShort));
        assert_eq!(Slug::parse("ab"), Err(SlugError::TooShort));
        assert_eq!(Slug::parse(&"x".repeat(51)), Err(SlugError::TooLong));
    }

    #[test]
    fn rejects_hyphens_at_either_edge() {
        for bad in ["-abc", "abc-", "-a-", "---"] {
            assert_eq!(Slug::parse(bad), Err(SlugError::HyphenAtEdge), "{bad:?}");
        }
    }

    #[test]
    fn rejects_reserved_slugs_in_any_casing() {
        for bad in ["admin", "ADMIN", "Api", "404", "health", "Metrics"] {
            assert_eq!(Slug::parse(bad), Err(SlugError::Reserved), "{bad:?}");
        }
        // Containing a reserved word is fine.
        assert!(Slug::parse("admin-page").is_ok());
    }

    #[test]
    fn deserializes_only_valid_slugs() {
        assert!(serde_json::from_str::<Slug>("\"alice\"").is_ok());
        assert!(serde_json::from_str::<Slug>("\"alice\\n\"").is_err());
    }

    #[test]
    fn suggestions_are_valid_distinct_and_avoid_the_base() {
        for base in ["alice", "Alice", "admin", "a", "", "-", "--a--", "a b c", "ÄÖÜ", "x\n", &"y".repeat(50)]
        {
            let all = suggestions(base, &[7, 7, 42]);
            assert!(all.len() >= 8, "{base:?}: {all:?}");
            let mut keys: Vec<_> = all.iter().map(|s| s.to_ascii_lowercase()).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), all.len(), "{base:?}: duplicates in {all:?}");
            for s in &all {
                assert!(Slug::parse(s).is_ok(), "{base:?} gave invalid {s:?}");
                assert!(!s.eq_ignore_ascii_case(base));
            }
        }
        assert_eq!(suggestions("Alice", &[])[0], "alice-love");
        assert_eq!(suggestions("admin", &[])[0], "admin-love");
    }

    #[test]
    fn suggestions_for_huge_and_hyphen_edged_bases_stay_bounded() {
        // The original looped forever on long or hyphen-edged slugs.
        let huge = "-".repeat(100_000) + &"ab-".repeat(100_000);
        let started = std::time::Instant::now();
        let all = suggestions(&huge, &[1, 2, 3]);
        assert!(!all.is_empty());
        assert!(all.iter().all(|s| s.len() <= MAX_LEN));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    /// The reference rule, written independently of the parser.
    fn reference_accepts(s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        let ok_char = |c: &char| c.is_ascii_alphanumeric() || *c == '-';
        (MIN_LEN..=MAX_LEN).contains(&chars.len())
            && chars.iter().all(ok_char)
            && chars.first().is_some_and(char::is_ascii_alphanumeric)
            && chars.last().is_some_and(char::is_ascii_alphanumeric)
            && !reserved().any(|r| r.eq_ignore_ascii_case(s))
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference_rule_on_any_string(s in any::<String>()) {
            prop_assert_eq!(Slug::parse(&s).is_ok(), reference_accepts(&s));
        }

        #[test]
        fn agrees_with_the_reference_rule_on_slug_like_strings(s in "[a-zA-Z0-9 \\n_-]{0,60}") {
            prop_assert_eq!(Slug::parse(&s).is_ok(), reference_accepts(&s));
        }

        #[test]
        fn every_valid_slug_round_trips_and_has_a_lowercase_key(s in "[a-zA-Z0-9][a-zA-Z0-9-]{1,48}[a-zA-Z0-9]") {
            prop_assume!(!is_reserved(&s));
            let slug = Slug::parse(&s).expect("matches the pattern");
            prop_assert_eq!(slug.as_str(), s.as_str());
            prop_assert_eq!(slug.key(), s.to_ascii_lowercase());
            let json = serde_json::to_string(&slug).expect("serializes");
            prop_assert_eq!(serde_json::from_str::<Slug>(&json).expect("deserializes"), slug);
        }

        #[test]
        fn every_suggestion_of_any_input_is_a_valid_slug(base in any::<String>(), n in any::<u32>()) {
            for s in suggestions(&base, &[n]) {
                prop_assert!(Slug::parse(&s).is_ok(), "{:?}", s);
            }
        }

        #[test]
        fn appending_whitespace_always_invalidates(s in "[a-z0-9]{3,40}", ws in "[ \\t\\r\\n]{1,3}") {
            let with_ws = format!("{s}{ws}");
            prop_assert_eq!(Slug::parse(&with_ws), Err(SlugError::InvalidCharacter));
        }
    }
}
