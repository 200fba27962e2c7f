//! Photos: images kept beside the event stream, in a JetStream object store, sealed with
//! their page life's data key.
//!
//! Events name a photo only by its SHA-256 (of the image as served); the object holding it
//! is named `<data key id>.<sha256>`, so the page's current life (the data key its newest
//! commit names) finds it, and destroying the key erases it like the life's events. Each
//! object holds `nonce || ciphertext` (XChaCha20-Poly1305, a random nonce each time), bound
//! to its name, so bytes moved under another name do not open.

use async_nats::jetstream::{self, object_store, stream::Stream};
use chacha20poly1305::XNonce;
use chacha20poly1305::aead::{Aead, AeadCore, OsRng, Payload};
use futures::StreamExt;
use tokio::io::AsyncReadExt;
use tracing::instrument;

use crate::error::EventStoreError;
use crate::sealing::DataKey;
use crate::stream::StreamConfig;

/// Nonce length of XChaCha20-Poly1305.
const NONCE: usize = 24;

/// The object store's bucket beside the event stream `events`.
pub fn bucket_name(events: &StreamConfig) -> String {
    format!("{}_PHOTOS", events.stream_name)
}

/// The name of the object that holds the photo `sha256` of the life whose data key is
/// `key_id`.
pub fn object_name(key_id: &str, sha256: &str) -> String {
    format!("{key_id}.{sha256}")
}

/// The photo store; cheap to clone.
#[derive(Clone)]
pub struct PhotoStore {
    store: object_store::ObjectStore,
    stream: Stream,
}

impl std::fmt::Debug for PhotoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhotoStore")
            .field("stream", &self.stream.cached_info().config.name)
            .finish_non_exhaustive()
    }
}

impl PhotoStore {
    /// The photo store beside the event stream `events`, created first if it is missing.
    ///
    /// # Errors
    /// When JetStream refuses the bucket.
    pub async fn open(js: &jetstream::Context, events: &StreamConfig) -> Result<Self, EventStoreError> {
        let bucket = bucket_name(events);
        let setup = |e: Box<dyn std::error::Error + Send + Sync>| EventStoreError::Setup {
            stream: bucket.clone(),
            source: e,
        };
        let store = match js.get_object_store(&bucket).await {
            Ok(store) => store,
            Err(_) => js
                .create_object_store(object_store::Config {
                    bucket: bucket.clone(),
                    description: Some(
                        "Valentine: page photos, sealed with their page life's data key".to_owned(),
                    ),
                    storage: jetstream::stream::StorageType::File,
                    num_replicas: events.replicas.unwrap_or(1),
                    ..Default::default()
                })
                .await
                .map_err(|e| setup(e.into()))?,
        };
        let stream = js.get_stream(format!("OBJ_{bucket}")).await.map_err(|e| setup(e.into()))?;
        Ok(Self { store, stream })
    }

    /// The bucket's stream, for backups.
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// Stores `image` (whose SHA-256 is `sha256`) sealed with the life's `key`. Storing the
    /// same photo again replaces it with an equal one.
    ///
    /// # Errors
    /// When JetStream does not take it.
    #[instrument(level = "debug", skip(self, key, image), fields(key_id = key.id(), bytes = image.len()))]
    pub async fn put(&self, key: &DataKey, sha256: &str, image: &[u8]) -> Result<(), EventStoreError> {
        let name = object_name(key.id(), sha256);
        let nonce = chacha20poly1305::XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = key
            .cipher()
            .encrypt(&nonce, Payload { msg: image, aad: name.as_bytes() })
            .map_err(|_| EventStoreError::Rejected("the cipher refused a photo".into()))?;
        let mut stored = Vec::with_capacity(NONCE + sealed.len());
        stored.extend_from_slice(&nonce);
        stored.extend_from_slice(&sealed);
        self.store.put(name.as_str(), &mut stored.as_slice()).await.map_err(EventStoreError::unavailable)?;
        Ok(())
    }

    /// The photo `sha256` of the life whose data key is `key`; `None` when there is no such
    /// object (removed, or never stored).
    ///
    /// # Errors
    /// When JetStream cannot be read, or the object does not open with the key.
    #[instrument(level = "debug", skip(self, key), fields(key_id = key.id()))]
    pub async fn get(&self, key: &DataKey, sha256: &str) -> Result<Option<Vec<u8>>, EventStoreError> {
        let name = object_name(key.id(), sha256);
        let mut object = match self.store.get(&name).await {
            Ok(object) => object,
            Err(e) if e.kind() == object_store::GetErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(EventStoreError::unavailable(e)),
        };
        let mut stored = Vec::with_capacity(object.info().size);
        object.read_to_end(&mut stored).await.map_err(EventStoreError::unavailable)?;
        if stored.len() < NONCE {
            return Err(EventStoreError::Rejected(format!("photo object {name} is truncated").into()));
        }
        let (nonce, sealed) = stored.split_at(NONCE);
        let image = key
            .cipher()
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: name.as_bytes() })
            .map_err(|_| EventStoreError::Rejected(format!("photo object {name} does not open").into()))?;
        Ok(Some(image))
    }

    /// Removes the photo `sha256` of the life whose data key is `key_id`; whether it was
    /// there.
    ///
    /// # Errors
    /// When JetStream cannot be reached.
    #[instrument(level = "debug", skip(self))]
    pub async fn delete(&self, key_id: &str, sha256: &str) -> Result<bool, EventStoreError> {
        match self.store.delete(object_name(key_id, sha256)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == object_store::DeleteErrorKind::NotFound => Ok(false),
            Err(e) => Err(EventStoreError::unavailable(e)),
        }
    }

    /// Removes every photo of the lives whose data keys are `key_ids`, by listing the bucket
    /// (an operator's erasure and a restore's; an author's deletion knows its photo). How
    /// many were removed.
    ///
    /// # Errors
    /// When JetStream cannot be reached.
    #[instrument(skip(self), fields(removed))]
    pub async fn delete_lives(&self, key_ids: &[String]) -> Result<usize, EventStoreError> {
        if key_ids.is_empty() {
            return Ok(0);
        }
        let mut list = self.store.list().await.map_err(EventStoreError::unavailable)?;
        let mut doomed = Vec::new();
        while let Some(info) = list.next().await {
            let info = info.map_err(EventStoreError::unavailable)?;
            if let Some((key_id, _)) = info.name.split_once('.')
                && key_ids.iter().any(|k| k == key_id)
            {
                doomed.push(info.name);
            }
        }
        let mut removed = 0;
        for name in doomed {
            match self.store.delete(&name).await {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == object_store::DeleteErrorKind::NotFound => {}
                Err(e) => return Err(EventStoreError::unavailable(e)),
            }
        }
        tracing::Span::current().record("removed", removed);
        Ok(removed)
    }
}
