//! The page's photo, as its events name it: the server decodes, bounds, cleans and
//! re-encodes the author's file, stores the result outside the event stream (sealed like
//! the page's words), and the events carry only what identifies and describes it.

use serde::{Deserialize, Serialize};

/// A stored photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRef {
    /// SHA-256 of the stored (re-encoded) image, lowercase hex: its name and its ETag.
    pub sha256: String,
    /// `image/jpeg` or `image/png`.
    pub content_type: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size in bytes.
    pub bytes: u64,
}
