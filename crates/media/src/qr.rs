//! QR codes of links, as standalone SVG.
//!
//! The SVG is drawn here from the code's modules rather than by the `qrcode` renderer, so that
//! it carries a `<title>` and a `viewBox` in modules with a default display size apart.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

/// Dark modules: a deep rose that still reads as dark to scanners.
pub const DARK: &str = "#9d174d";
/// Light modules and the quiet zone.
pub const LIGHT: &str = "#ffffff";
/// Light modules around the code on each side, as the QR standard asks.
pub const QUIET_ZONE: usize = 4;
/// Width and height the SVG asks for when its container does not size it.
pub const DEFAULT_SIZE_PX: u32 = 256;

/// Why a link has no QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// More than a QR code holds (about 2300 bytes at the error correction used).
    #[error("The link is too long for a QR code")]
    TooLong,
}

/// A QR code of `url` as a standalone SVG document.
///
/// Error correction is level M (15 %), which survives a smudge and keeps codes small. The
/// `<title>` reads "QR code of the link …", with the link escaped for XML.
///
/// # Errors
/// [`QrError::TooLong`] when `url` does not fit in a QR code.
pub fn svg(url: &str) -> Result<String, QrError> {
    let code =
        QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M).map_err(|_| QrError::TooLong)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = modules + 2 * QUIET_ZONE;

    let mut out = String::with_capacity(256 + modules * modules * 4);
    let _ = write!(
        out,
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1""#,
            r#" width="{size}" height="{size}" viewBox="0 0 {side} {side}""#,
            r#" role="img" aria-labelledby="qr-title" shape-rendering="crispEdges">"#,
            r#"<title id="qr-title">QR code of the link {title}</title>"#,
            r#"<rect width="{side}" height="{side}" fill="{light}"/>"#,
            r#"<path fill="{dark}" d=""#,
        ),
        size = DEFAULT_SIZE_PX,
        side = side,
        title = Escaped(url),
        light = LIGHT,
        dark = DARK,
    );
    // One horizontal run of dark modules per subpath keeps the path short.
    for (y, row) in colors.chunks(modules).enumerate() {
        let mut x = 0;
        while x < modules {
            if row[x] == Color::Dark {
                let start = x;
                while x < modules && row[x] == Color::Dark {
                    x += 1;
                }
                let _ =
                    write!(out, "M{} {}h{}v1h-{}z", start + QUIET_ZONE, y + QUIET_ZONE, x - start, x - start);
            } else {
                x += 1;
            }
        }
    }
    out.push_str(r#""/></svg>"#);
    Ok(out)
}

/// Text made safe inside an XML element or attribute. Characters XML 1.0 forbids even as
/// references (most C0 controls) become U+FFFD.
struct Escaped<'a>(&'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&apos;")?,
                '\t' | '\n' | '\r' => f.write_char(c)?,
                c if c < ' ' || ('\u{FFFE}'..='\u{FFFF}').contains(&c) => f.write_char('\u{FFFD}')?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}
