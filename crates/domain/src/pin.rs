//! A PIN or passphrase that keeps a page private: the recipient needs it to read the page.
//!
//! Only a slow, salted hash is stored (Argon2id, in its PHC string form). Hashing needs
//! randomness and a lot of CPU, so the caller hashes and hands the aggregate the result, or
//! the rule the PIN broke; this crate only states the rules.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::content::Violation;

/// Fewest characters in a PIN.
pub const PIN_MIN: usize = 4;
/// Most characters in a PIN.
pub const PIN_MAX: usize = 64;

/// The PIN in `raw`, if it keeps the rules: 4–64 characters (not bytes), not all
/// whitespace. It is not trimmed: what the author typed is the PIN.
///
/// # Errors
/// [`Violation::BadPin`].
pub fn pin(raw: &str) -> Result<&str, Violation> {
    let count = raw.chars().take(PIN_MAX + 1).count();
    if !(PIN_MIN..=PIN_MAX).contains(&count) || raw.trim().is_empty() {
        return Err(Violation::BadPin);
    }
    Ok(raw)
}

/// A PIN's Argon2id hash as a PHC string (`$argon2id$v=19$…`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PinHash(String);

impl PinHash {
    /// Wraps a PHC string made by the caller.
    pub fn new(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The PHC string, to verify a guess against.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PinHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinHash(<redacted>)")
    }
}

/// A PIN as a command brings it: its hash, or the rule its text broke (reported with the
/// command's other violations).
pub type PinInput = Result<PinHash, Violation>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_four_to_sixty_four_characters_not_all_blank() {
        assert_eq!(pin("1234"), Ok("1234"));
        assert_eq!(pin("❤❤❤❤"), Ok("❤❤❤❤"));
        assert_eq!(pin(" our secret place "), Ok(" our secret place "));
        assert_eq!(pin(&"x".repeat(PIN_MAX)).map(str::len), Ok(PIN_MAX));
        assert_eq!(pin("12\n34"), Ok("12\n34"));
        for bad in ["123", "", "    ", " \n\t "] {
            assert_eq!(pin(bad), Err(Violation::BadPin), "{bad:?}");
        }
        assert_eq!(pin(&"x".repeat(PIN_MAX + 1)), Err(Violation::BadPin));
    }

    #[test]
    fn a_hash_never_shows_in_debug_output() {
        assert_eq!(format!("{:?}", PinHash::new("$argon2id$v=19$secret")), "PinHash(<redacted>)");
    }
}
