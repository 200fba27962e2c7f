//! Reports of abuse, and the moderation they may lead to: why a page was reported, and the
//! rules for what reporters and moderators write.

use serde::{Deserialize, Serialize};

use crate::content::longer_than;

/// The most reports one page's life records; more add nothing a moderator needs.
pub const REPORTS_MAX: u32 = 50;

/// The longest note a reporter may add, in characters.
pub const NOTE_MAX: usize = 500;

/// The longest reason a moderator gives for taking a page down or reinstating it.
pub const MODERATION_REASON_MAX: usize = 500;

/// Why someone reported a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportReason {
    /// Advertising, scams, links to elsewhere.
    Spam,
    /// It bullies, threatens or harasses someone.
    Harassment,
    /// It attacks people for who they are.
    Hate,
    /// Sexual content.
    Sexual,
    /// It shares someone's private information.
    PersonalInfo,
    /// It looks illegal.
    Illegal,
    /// Something else; the note says what.
    Other,
}

impl ReportReason {
    /// Every reason, in the order a form lists them.
    pub const ALL: [Self; 7] = [
        Self::Spam,
        Self::Harassment,
        Self::Hate,
        Self::Sexual,
        Self::PersonalInfo,
        Self::Illegal,
        Self::Other,
    ];

    /// The reason's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spam => "spam",
            Self::Harassment => "harassment",
            Self::Hate => "hate",
            Self::Sexual => "sexual",
            Self::PersonalInfo => "personal_info",
            Self::Illegal => "illegal",
            Self::Other => "other",
        }
    }
}

/// A reporter's note, trimmed; blank is none.
///
/// # Errors
/// When it is longer than [`NOTE_MAX`] characters as sent (blanks around it count).
pub fn note(raw: Option<&str>) -> Result<Option<String>, &'static str> {
    let Some(raw) = raw else { return Ok(None) };
    if longer_than(raw, NOTE_MAX) {
        return Err("note must be at most 500 characters");
    }
    Ok(Some(raw.trim()).filter(|n| !n.is_empty()).map(str::to_owned))
}

/// A moderator's reason, trimmed.
///
/// # Errors
/// When it is blank, or longer than [`MODERATION_REASON_MAX`] characters as sent.
pub fn moderation_reason(raw: &str) -> Result<String, &'static str> {
    if longer_than(raw, MODERATION_REASON_MAX) {
        return Err("reason must be at most 500 characters");
    }
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("reason is required");
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_trimmed_blank_is_none_and_long_ones_are_refused() {
        assert_eq!(note(None), Ok(None));
        assert_eq!(note(Some("   ")), Ok(None));
        assert_eq!(note(Some("  spam link ")), Ok(Some("spam link".to_owned())));
        assert_eq!(
            note(Some(&"é".repeat(NOTE_MAX))).map(|n| n.map(|n| n.chars().count())),
            Ok(Some(NOTE_MAX))
        );
        assert!(note(Some(&"a".repeat(NOTE_MAX + 1))).is_err());
        // Counted as sent, as the schema counts: blanks around the text are characters too.
        assert!(note(Some(&format!("\u{85}\u{ec}{}", "*".repeat(NOTE_MAX - 1)))).is_err());
    }

    #[test]
    fn a_moderation_reason_is_required_and_bounded() {
        assert!(moderation_reason(" \n ").is_err());
        assert_eq!(moderation_reason(" ticket 9 "), Ok("ticket 9".to_owned()));
        assert!(moderation_reason(&"a".repeat(MODERATION_REASON_MAX + 1)).is_err());
        assert!(moderation_reason(&format!(" {}", "a".repeat(MODERATION_REASON_MAX))).is_err());
    }

    #[test]
    fn reasons_are_named_as_serde_names_them() {
        for reason in ReportReason::ALL {
            let json = serde_json::to_value(reason).expect("json");
            assert_eq!(json, serde_json::Value::String(reason.as_str().to_owned()));
        }
    }
}
