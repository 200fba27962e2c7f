//! Valentine's pictures: uploaded photos made safe to keep, link-preview cards and QR codes.
//!
//! Pure computation: bytes and strings in, bytes and strings out. No I/O, no async, no clocks,
//! no randomness, so the same input always gives the same output. The work is CPU-bound
//! (a large photo takes a noticeable fraction of a second), so async callers run it on a
//! blocking thread.
//!
//! # Layout
//! - [`photo`]: checks, decodes, turns upright, shrinks and re-encodes an uploaded photo.
//! - [`og`]: the 1200×630 link-preview card of a page, in the page's design.
//! - [`qr`]: a QR code of a link, as a standalone SVG.

pub mod og;
pub mod photo;
pub mod qr;

pub use og::{Design, OgCard, Rgb, Typeface};
pub use photo::{Photo, PhotoError};
pub use qr::QrError;
