//! Edit tokens: the secret that lets a page's author change or delete it.
//!
//! A token is 32 bytes from a CSPRNG (drawn by the caller: this crate does no I/O), sent to
//! the author once as 43 URL-safe base64 characters. Only its SHA-256 is ever stored. A slow
//! password hash is unnecessary here: a 256-bit random secret cannot be guessed offline.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Number of random bytes in a token (256 bits).
pub const TOKEN_BYTES: usize = 32;

/// A token as presented by a client or handed to an author. Never logged, never stored.
#[derive(Clone)]
pub struct EditToken(String);

impl EditToken {
    /// Encodes fresh random bytes as a new token.
    pub fn from_random_bytes(bytes: [u8; TOKEN_BYTES]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Wraps a token a client presented. Any string is accepted: a malformed one simply
    /// matches no page.
    pub fn presented(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The token text, for the one response that hands it to its author.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash stored in events and read models.
    pub fn hash(&self) -> EditTokenHash {
        EditTokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for EditToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EditToken(<redacted>)")
    }
}

/// SHA-256 of an edit token, stored as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EditTokenHash([u8; 32]);

impl EditTokenHash {
    /// Whether `token` is the one this hash was made from, in constant time.
    pub fn matches(&self, token: &EditToken) -> bool {
        self.0.ct_eq(&token.hash().0).into()
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        use fmt::Write;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    /// Parses 64 hex digits.
    ///
    /// # Errors
    /// When `hex` is not exactly 64 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, InvalidTokenHash> {
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(InvalidTokenHash);
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| InvalidTokenHash)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| InvalidTokenHash)?;
        }
        Ok(Self(out))
    }
}

/// A stored token hash that is not 64 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an edit token hash is 64 hex digits")]
pub struct InvalidTokenHash;

impl fmt::Debug for EditTokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EditTokenHash({})", &self.to_hex()[..12])
    }
}

impl Serialize for EditTokenHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for EditTokenHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = String::deserialize(deserializer)?;
        Self::from_hex(&hex).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_43_url_safe_characters() {
        let token = EditToken::from_random_bytes([0xfb; TOKEN_BYTES]);
        assert_eq!(token.expose().len(), 43);
        assert!(token.expose().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn only_the_same_token_matches_its_hash() {
        let token = EditToken::from_random_bytes([7; TOKEN_BYTES]);
        let hash = token.hash();
        assert!(hash.matches(&EditToken::presented(token.expose())));
        assert!(!hash.matches(&EditToken::presented("guess")));
        assert!(!hash.matches(&EditToken::from_random_bytes([8; TOKEN_BYTES])));
    }

    #[test]
    fn hash_round_trips_through_hex_and_json() {
        let hash = EditToken::presented("secret").hash();
        assert_eq!(EditTokenHash::from_hex(&hash.to_hex()), Ok(hash));
        let json = serde_json::to_string(&hash).expect("serializes");
        assert_eq!(serde_json::from_str::<EditTokenHash>(&json).expect("deserializes"), hash);
        assert!(EditTokenHash::from_hex("zz").is_err());
        assert!(EditTokenHash::from_hex(&"é".repeat(32)).is_err());
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let token = EditToken::presented("super-secret-token");
        assert!(!format!("{token:?}").contains("secret"));
    }
}
