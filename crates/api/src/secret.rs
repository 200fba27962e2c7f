//! The server secret, and what is derived from it: client keys (hashed addresses) and the
//! ids and tokens of idempotent creates.
//!
//! Everything is an HMAC-SHA256 under the secret with a distinct label per use, so one value
//! never stands in for another.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use ulid::Ulid;
use valentine_domain::EditToken;
use valentine_domain::token::TOKEN_BYTES;

type HmacSha256 = Hmac<Sha256>;

/// The secret client addresses are hashed with. Never logged; cheap to clone.
///
/// Kept as an HMAC already keyed with it: each use clones that state instead of hashing the
/// key again.
#[derive(Clone)]
pub struct ServerSecret(std::sync::Arc<HmacSha256>);

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(<redacted>)")
    }
}

/// The deterministic identity of a create retried under one `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct IdempotentCreate {
    /// Command id and job id: the same for every retry.
    pub command_id: Ulid,
    /// The edit token: the same for every retry, so whichever answer reaches the author
    /// carries a token that works.
    pub edit_token: EditToken,
}

impl ServerSecret {
    /// The configured secret, or 32 random bytes when none is configured.
    ///
    /// # Errors
    /// When the operating system's random source fails.
    pub fn new(configured: Option<&str>) -> Result<Self, getrandom::Error> {
        match configured {
            Some(text) if !text.is_empty() => Ok(Self::keyed(text.as_bytes())),
            _ => {
                let mut bytes = [0; 32];
                getrandom::fill(&mut bytes)?;
                Ok(Self::keyed(&bytes))
            }
        }
    }

    fn keyed(key: &[u8]) -> Self {
        Self(std::sync::Arc::new(HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length")))
    }

    fn mac(&self, label: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = HmacSha256::clone(&self.0);
        mac.update(label.as_bytes());
        for part in parts {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The rate-limit key of a client, from the bytes that identify it (its address, or its
    /// network): 128 bits of their HMAC, hex. The address itself is never stored or logged.
    pub fn client_key(&self, client: &[u8]) -> String {
        hex(&self.mac("valentine client address", &[client])[..16])
    }

    /// The id and token of a create sent with `Idempotency-Key: key` and body `fingerprint`.
    /// A retry with the same key and the same body gets the same ones; a different body under
    /// the same key is a different request.
    pub fn idempotent_create(&self, key: &str, fingerprint: &[u8]) -> IdempotentCreate {
        let id = self.mac("valentine create command", &[key.as_bytes(), fingerprint]);
        let token = self.mac("valentine edit token", &[key.as_bytes(), fingerprint]);
        let mut id_bytes = [0u8; 16];
        id_bytes.copy_from_slice(&id[..16]);
        let mut token_bytes = [0u8; TOKEN_BYTES];
        token_bytes.copy_from_slice(&token[..TOKEN_BYTES]);
        IdempotentCreate {
            command_id: Ulid::from_bytes(id_bytes),
            edit_token: EditToken::from_random_bytes(token_bytes),
        }
    }
}

/// A fresh edit token from the operating system's CSPRNG (256 bits).
///
/// # Errors
/// When the random source fails.
pub(crate) fn fresh_token() -> Result<EditToken, getrandom::Error> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(EditToken::from_random_bytes(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_keys_depend_on_the_secret_and_never_contain_the_address() {
        let a = ServerSecret::new(Some("one")).expect("secret");
        let b = ServerSecret::new(Some("two")).expect("secret");
        let key = a.client_key(&[203, 0, 113, 7]);
        assert_eq!(key.len(), 32);
        assert!(key.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(key, a.client_key(&[203, 0, 113, 7]));
        assert_ne!(key, b.client_key(&[203, 0, 113, 7]));
        assert_ne!(key, a.client_key(&[203, 0, 113, 8]));
    }

    #[test]
    fn an_idempotent_create_is_stable_per_key_and_body() {
        let secret = ServerSecret::new(Some("s")).expect("secret");
        let first = secret.idempotent_create("k1", b"body");
        let again = secret.idempotent_create("k1", b"body");
        assert_eq!(first.command_id, again.command_id);
        assert_eq!(first.edit_token.expose(), again.edit_token.expose());
        let other_body = secret.idempotent_create("k1", b"other");
        assert_ne!(first.command_id, other_body.command_id);
        assert_ne!(first.edit_token.expose(), other_body.edit_token.expose());
        assert_ne!(first.edit_token.expose(), secret.idempotent_create("k2", b"body").edit_token.expose());
    }

    #[test]
    fn fresh_tokens_are_256_bits_and_differ() {
        let a = fresh_token().expect("random");
        let b = fresh_token().expect("random");
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
    }
}
