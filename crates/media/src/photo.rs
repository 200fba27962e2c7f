//! Uploaded photos, made safe to store and serve.
//!
//! [`normalize`] refuses what it cannot handle before decoding anything: an unsupported declared
//! type, too many bytes, contents of another format than declared, or more pixels than allowed
//! (read from the header, so a small file claiming a huge picture costs nothing). It then
//! decodes, turns the picture upright by its EXIF orientation, shrinks it to fit
//! [`MAX_OUTPUT_SIDE`] and encodes it anew. Only pixels make it through: EXIF (GPS included),
//! XMP, ICC profiles, comments and whatever was appended after the image are gone, because no
//! byte of the input is copied to the output.

use std::fmt::{self, Write as _};
use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::{
    DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageError, ImageFormat, ImageReader,
    Limits, metadata::Orientation,
};
use sha2::{Digest, Sha256};

/// Largest upload accepted, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;
/// Widest or tallest picture accepted, in pixels.
pub const MAX_SIDE: u32 = 8192;
/// Most pixels a picture may have (24 megapixels).
pub const MAX_PIXELS: u64 = 24_000_000;
/// The output fits in a square of this many pixels a side; smaller pictures keep their size.
pub const MAX_OUTPUT_SIDE: u32 = 1600;
/// Quality of the JPEG written for pictures without transparency.
pub const JPEG_QUALITY: u8 = 85;
/// What a decoder may allocate at once: a 24 MP picture with alpha at 8 bits a channel fits,
/// the same at 16 bits does not.
const MAX_DECODER_ALLOC: u64 = 160 * 1024 * 1024;

/// A photo ready to store and serve: freshly encoded, upright, without metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct Photo {
    /// The encoded picture.
    pub bytes: Vec<u8>,
    /// `image/jpeg`, or `image/png` for a picture that uses transparency.
    pub content_type: &'static str,
    /// Width in pixels, after orientation and shrinking.
    pub width: u32,
    /// Height in pixels, after orientation and shrinking.
    pub height: u32,
    /// SHA-256 of [`Photo::bytes`], lowercase hex.
    pub sha256: String,
}

impl fmt::Debug for Photo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Photo")
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("content_type", &self.content_type)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("sha256", &self.sha256)
            .finish()
    }
}

/// Why an upload is not taken. The messages are shown to people as they are and never repeat
/// anything of the upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// The declared content type is not JPEG, PNG, WebP or GIF. 415.
    #[error("Photos must be JPEG, PNG, WebP or GIF images")]
    UnsupportedType,
    /// More than [`MAX_UPLOAD_BYTES`]. 413.
    #[error("Photos can be at most 8 MB")]
    TooLarge,
    /// The contents are an image of another format than the declared one. 415.
    #[error("The file is not the kind of image it was sent as")]
    TypeMismatch,
    /// Wider or taller than [`MAX_SIDE`], or more than [`MAX_PIXELS`] in all. 422.
    #[error("Photos can be at most 8192 pixels wide or tall and 24 megapixels in all")]
    TooManyPixels,
    /// Not an image, or a damaged or incomplete one. 422.
    #[error("The photo could not be read; it may be damaged or incomplete")]
    Undecodable,
}

impl PhotoError {
    /// A stable machine-readable code for API clients.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnsupportedType => "unsupported_media_type",
            Self::TooLarge => "payload_too_large",
            Self::TypeMismatch => "type_mismatch",
            Self::TooManyPixels => "too_many_pixels",
            Self::Undecodable => "undecodable",
        }
    }

    /// The HTTP status that fits.
    pub fn status(self) -> u16 {
        match self {
            Self::UnsupportedType | Self::TypeMismatch => 415,
            Self::TooLarge => 413,
            Self::TooManyPixels | Self::Undecodable => 422,
        }
    }
}

/// Makes an uploaded photo safe to store and serve.
///
/// `declared_content_type` is the type the client sent (`image/jpeg`, `image/jpg`, `image/png`,
/// `image/webp` or `image/gif`, in any casing, parameters after `;` ignored). The output is a
/// JPEG (quality [`JPEG_QUALITY`]), or a PNG when the picture uses transparency; a GIF gives
/// its first frame.
///
/// CPU-bound: a 12 MP photo takes a good part of a second even in an optimised build, so async
/// callers run this on a blocking thread.
///
/// # Errors
/// In this order: [`PhotoError::UnsupportedType`], [`PhotoError::TooLarge`],
/// [`PhotoError::Undecodable`] for contents that are no image at all,
/// [`PhotoError::TypeMismatch`], [`PhotoError::TooManyPixels`] (from the header, before
/// decoding), then [`PhotoError::Undecodable`] for a damaged image.
pub fn normalize(bytes: &[u8], declared_content_type: &str) -> Result<Photo, PhotoError> {
    let declared = Kind::from_content_type(declared_content_type).ok_or(PhotoError::UnsupportedType)?;
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let actual = Kind::sniff(bytes).ok_or(PhotoError::Undecodable)?;
    if actual != declared {
        return Err(PhotoError::TypeMismatch);
    }
    let (image, orientation) = decode(bytes, actual)?;
    let mut image = shrink(image);
    image.apply_orientation(orientation);
    encode(&image)
}

/// The formats accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Jpeg,
    Png,
    WebP,
    Gif,
}

impl Kind {
    fn from_content_type(declared: &str) -> Option<Self> {
        let essence = declared.split(';').next().unwrap_or_default().trim();
        [
            ("image/jpeg", Self::Jpeg),
            ("image/jpg", Self::Jpeg),
            ("image/png", Self::Png),
            ("image/webp", Self::WebP),
            ("image/gif", Self::Gif),
        ]
        .into_iter()
        .find_map(|(name, kind)| essence.eq_ignore_ascii_case(name).then_some(kind))
    }

    /// The format the contents really are, from their first bytes.
    fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(Self::WebP)
        } else {
            None
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::WebP => ImageFormat::WebP,
            Self::Gif => ImageFormat::Gif,
        }
    }
}

/// Decodes after checking the header's dimensions; the decoder's own limits are a second guard.
fn decode(bytes: &[u8], kind: Kind) -> Result<(DynamicImage, Orientation), PhotoError> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODER_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    reader.limits(limits);

    // Building the decoder reads the header only.
    let mut decoder = reader.into_decoder().map_err(|error| refusal(&error))?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height)?;
    // A broken EXIF block costs the photo its orientation, not its upload.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(|error| refusal(&error))?;
    Ok((image, orientation))
}

fn check_pixels(width: u32, height: u32) -> Result<(), PhotoError> {
    if width == 0 || height == 0 {
        return Err(PhotoError::Undecodable);
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PhotoError::TooManyPixels);
    }
    Ok(())
}

/// A decoder that hits its limits was asked for too many pixels; any other failure means the
/// contents are not a readable image.
fn refusal(error: &ImageError) -> PhotoError {
    match error {
        ImageError::Limits(_) => PhotoError::TooManyPixels,
        _ => PhotoError::Undecodable,
    }
}

/// Scales down (never up) to fit [`MAX_OUTPUT_SIDE`], keeping the aspect ratio. The box is
/// square, so shrinking before turning upright gives the same size for less work.
fn shrink(image: DynamicImage) -> DynamicImage {
    if image.width() <= MAX_OUTPUT_SIDE && image.height() <= MAX_OUTPUT_SIDE {
        image
    } else {
        image.thumbnail(MAX_OUTPUT_SIDE, MAX_OUTPUT_SIDE)
    }
}

fn encode(image: &DynamicImage) -> Result<Photo, PhotoError> {
    let (width, height) = (image.width(), image.height());
    let mut bytes = Vec::new();
    let rgba = image.color().has_alpha().then(|| image.to_rgba8());
    let content_type = match rgba {
        Some(rgba) if rgba.pixels().any(|p| p.0[3] < u8::MAX) => {
            PngEncoder::new_with_quality(&mut bytes, CompressionType::Default, PngFilter::Adaptive)
                .write_image(rgba.as_raw(), width, height, ExtendedColorType::Rgba8)
                .map_err(|_| PhotoError::Undecodable)?;
            "image/png"
        }
        _ => {
            let rgb = image.to_rgb8();
            JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
                .write_image(rgb.as_raw(), width, height, ExtendedColorType::Rgb8)
                .map_err(|_| PhotoError::Undecodable)?;
            "image/jpeg"
        }
    };
    let sha256 = Sha256::digest(&bytes).iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    });
    Ok(Photo { bytes, content_type, width, height, sha256 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_ignore_case_and_parameters() {
        assert_eq!(Kind::from_content_type("IMAGE/JPG; charset=binary"), Some(Kind::Jpeg));
        assert_eq!(Kind::from_content_type(" image/webp "), Some(Kind::WebP));
        assert_eq!(Kind::from_content_type("image/svg+xml"), None);
        assert_eq!(Kind::from_content_type(""), None);
    }

    #[test]
    fn every_error_has_its_code_and_status() {
        let all = [
            (PhotoError::UnsupportedType, "unsupported_media_type", 415),
            (PhotoError::TooLarge, "payload_too_large", 413),
            (PhotoError::TypeMismatch, "type_mismatch", 415),
            (PhotoError::TooManyPixels, "too_many_pixels", 422),
            (PhotoError::Undecodable, "undecodable", 422),
        ];
        for (error, code, status) in all {
            assert_eq!((error.code(), error.status()), (code, status));
        }
    }
}
