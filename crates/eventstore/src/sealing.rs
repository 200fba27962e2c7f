//! Sealed events: personal payloads encrypted with their page life's data key.
//!
//! A sealed event keeps its envelope in the clear (aggregate, sequence, type, version, times:
//! the audit skeleton) and replaces its payload by
//!
//! ```text
//! {"sealed": {"key": "<data key id>", "nonce": "<24 bytes, base64>", "data": "<ciphertext, base64>"}}
//! ```
//!
//! XChaCha20-Poly1305 with a random nonce per event; the associated data binds the
//! ciphertext to its aggregate, sequence, type and version, so a sealed payload moved to
//! another event does not open. Once its key is destroyed, a sealed payload stays what it
//! is: an envelope with nothing readable inside.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ulid::Ulid;

use crate::envelope::WireEvent;

/// The payload key that marks a sealed event (event payloads are externally tagged enums,
/// whose variants are capitalized, so it cannot collide).
pub const SEALED: &str = "sealed";

/// The stored form of a sealed payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedPayload {
    /// The id of the data key that sealed it.
    pub key: String,
    /// The nonce, base64.
    pub nonce: String,
    /// Ciphertext with its tag, base64.
    pub data: String,
}

/// One page life's key, with its id. Its bytes never print.
#[derive(Clone)]
pub struct DataKey {
    id: String,
    key: Key,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl DataKey {
    /// A fresh random key with a fresh id.
    pub fn generate() -> Self {
        Self { id: Ulid::new().to_string(), key: XChaCha20Poly1305::generate_key(&mut OsRng) }
    }

    /// A key from its stored bytes; `None` unless they are 32.
    pub fn from_bytes(id: &str, bytes: &[u8]) -> Option<Self> {
        (bytes.len() == 32).then(|| Self { id: id.to_owned(), key: *Key::from_slice(bytes) })
    }

    /// Its id, as sealed events name it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The cipher this key drives.
    pub(crate) fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.key)
    }

    /// The raw bytes, for storing.
    pub(crate) fn bytes(&self) -> bytes::Bytes {
        bytes::Bytes::copy_from_slice(self.key.as_slice())
    }
}

/// Why a sealed payload did not open.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The payload is not a well-formed sealed payload.
    #[error("malformed sealed payload: {0}")]
    Malformed(String),
    /// The key does not open it: tampered with, or sealed under other associated data.
    #[error("a sealed payload does not open with its key")]
    Forged,
}

/// What a sealed payload is bound to.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// Aggregate type.
    pub aggregate_type: &'a str,
    /// Aggregate id.
    pub aggregate_id: &'a str,
    /// Aggregate sequence.
    pub sequence: usize,
    /// Event type.
    pub event_type: &'a str,
    /// Event version.
    pub event_version: &'a str,
}

impl<'a> Binding<'a> {
    /// What `event` of the aggregate `aggregate_id` of type `aggregate_type` is bound to.
    pub fn of<P, M>(aggregate_type: &'a str, aggregate_id: &'a str, event: &'a WireEvent<P, M>) -> Self {
        Self {
            aggregate_type,
            aggregate_id,
            sequence: event.sequence,
            event_type: &event.event_type,
            event_version: &event.event_version,
        }
    }

    fn associated_data(&self) -> Vec<u8> {
        format!(
            "valentine/1\n{}\n{}\n{}\n{}\n{}",
            self.aggregate_type, self.aggregate_id, self.sequence, self.event_type, self.event_version
        )
        .into_bytes()
    }
}

/// Seals `payload` with `key`.
///
/// # Errors
/// Never in practice: only if the cipher refuses a message (it takes up to 256 GiB).
pub fn seal(key: &DataKey, binding: Binding<'_>, payload: &Value) -> Result<Value, SealError> {
    let plain = serde_json::to_vec(payload).map_err(|e| SealError::Malformed(e.to_string()))?;
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let aad = binding.associated_data();
    let data = key
        .cipher()
        .encrypt(&nonce, Payload { msg: &plain, aad: &aad })
        .map_err(|_| SealError::Malformed("the cipher refused the payload".to_owned()))?;
    let sealed = SealedPayload {
        key: key.id().to_owned(),
        nonce: STANDARD.encode(nonce),
        data: STANDARD.encode(data),
    };
    Ok(serde_json::json!({ SEALED: sealed }))
}

/// The sealed payload `payload` holds, if it is one.
pub fn sealed(payload: &Value) -> Option<SealedPayload> {
    payload.get(SEALED).and_then(|s| SealedPayload::deserialize(s).ok())
}

/// The id of the data key that sealed `payload`, if it is sealed.
pub fn sealed_key_id(payload: &Value) -> Option<&str> {
    payload.get(SEALED)?.get("key")?.as_str()
}

/// Whether `payload` is sealed.
pub fn is_sealed(payload: &Value) -> bool {
    payload.get(SEALED).is_some()
}

/// Opens `sealed` with `key`.
///
/// # Errors
/// When the payload is malformed or does not open with `key` under `binding`.
pub fn open(key: &DataKey, binding: Binding<'_>, sealed: &SealedPayload) -> Result<Value, SealError> {
    let malformed = |what: &str| SealError::Malformed(what.to_owned());
    let nonce = STANDARD.decode(&sealed.nonce).map_err(|_| malformed("nonce is not base64"))?;
    if nonce.len() != 24 {
        return Err(malformed("nonce is not 24 bytes"));
    }
    let data = STANDARD.decode(&sealed.data).map_err(|_| malformed("data is not base64"))?;
    let aad = binding.associated_data();
    let plain = key
        .cipher()
        .decrypt(XNonce::from_slice(&nonce), Payload { msg: &data, aad: &aad })
        .map_err(|_| SealError::Forged)?;
    serde_json::from_slice(&plain).map_err(|e| SealError::Malformed(e.to_string()))
}

/// An event's body as a reader decodes it: the event, or nothing left to read because its
/// key was destroyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<E> {
    /// The event, readable.
    Open(E),
    /// Sealed under a destroyed key: erased.
    Erased,
}

impl<E: DeserializeOwned> Body<E> {
    /// Decodes a stored payload: the event, or [`Body::Erased`] when it is still sealed.
    ///
    /// # Errors
    /// When an open payload is not an `E`.
    pub fn decode(payload: Value) -> serde_json::Result<Self> {
        if is_sealed(&payload) { Ok(Self::Erased) } else { serde_json::from_value(payload).map(Self::Open) }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn binding(sequence: usize) -> Binding<'static> {
        Binding {
            aggregate_type: "Page",
            aggregate_id: "alice",
            sequence,
            event_type: "PageCreated",
            event_version: "1.0",
        }
    }

    #[test]
    fn a_sealed_payload_opens_with_its_key_and_binding_only() {
        let key = DataKey::generate();
        let payload = json!({ "PageCreated": { "title": "For you, Ana ❤" } });
        let stored = seal(&key, binding(1), &payload).expect("seals");
        let text = stored.to_string();
        assert!(!text.contains("Ana"), "the plain text shows through: {text}");
        let sealed = sealed(&stored).expect("a sealed payload");
        assert_eq!(sealed.key, key.id());
        assert_eq!(open(&key, binding(1), &sealed).expect("opens"), payload);
        assert!(matches!(open(&key, binding(2), &sealed), Err(SealError::Forged)));
        assert!(matches!(open(&DataKey::generate(), binding(1), &sealed), Err(SealError::Forged)));
    }

    #[test]
    fn two_seals_of_one_payload_differ() {
        let key = DataKey::generate();
        let payload = json!({ "PageUpdated": { "message": "again" } });
        assert_ne!(seal(&key, binding(1), &payload).ok(), seal(&key, binding(1), &payload).ok());
    }

    #[test]
    fn a_body_is_erased_when_it_is_still_sealed() {
        let key = DataKey::generate();
        let stored = seal(&key, binding(1), &json!({ "X": 1 })).expect("seals");
        assert_eq!(Body::<Value>::decode(stored).expect("decodes"), Body::Erased);
        assert_eq!(Body::<Value>::decode(json!({ "X": 1 })).expect("decodes"), Body::Open(json!({ "X": 1 })));
    }
}
