//! Uploaded photos: what is refused, what comes out, and that nothing of the input but its
//! pixels survives. Every file is made here, by the `image` encoders or byte by byte.

use std::io::Cursor;
use std::time::{Duration, Instant};

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use sha2::{Digest, Sha256};
use valentine_media::photo::{self, MAX_UPLOAD_BYTES, Photo, PhotoError};

const MARKER: &str = "SECRET-MARKER-51.5007N-0.1246W";

/// A picture with some structure, so that encoders have real work to do.
fn picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 7 % 256) as u8, (y * 5 % 256) as u8, ((x ^ y) % 256) as u8])
    })
}

/// `image` encoded as `format` by the `image` crate's own encoder, with its defaults.
fn encoded(image: impl Into<DynamicImage>, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.into().write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn jpeg(image: &RgbImage) -> Vec<u8> {
    encoded(image.clone(), ImageFormat::Jpeg)
}

fn png_rgb(image: &RgbImage) -> Vec<u8> {
    encoded(image.clone(), ImageFormat::Png)
}

fn png_rgba(image: &RgbaImage) -> Vec<u8> {
    encoded(image.clone(), ImageFormat::Png)
}

fn gif(image: &RgbaImage) -> Vec<u8> {
    encoded(image.clone(), ImageFormat::Gif)
}

fn webp(image: &RgbaImage) -> Vec<u8> {
    encoded(image.clone(), ImageFormat::WebP)
}

/// A big-endian TIFF block as EXIF carries it: IFD0 with a description holding [`MARKER`],
/// the orientation, and a GPS IFD with a latitude.
fn exif_tiff(orientation: u16) -> Vec<u8> {
    let entry = |tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        let mut e = Vec::new();
        e.extend(tag.to_be_bytes());
        e.extend(kind.to_be_bytes());
        e.extend(count.to_be_bytes());
        e.extend(value);
        e
    };
    let (ifd0, gps, rationals, description) = (8_u32, 50_u32, 80_u32, 104_u32);
    let text_len = u32::try_from(MARKER.len() + 1).unwrap();
    let mut tiff = b"MM\0\x2a".to_vec();
    tiff.extend(ifd0.to_be_bytes());
    tiff.extend(3_u16.to_be_bytes());
    tiff.extend(entry(0x010E, 2, text_len, description.to_be_bytes()));
    let [o1, o2] = orientation.to_be_bytes();
    tiff.extend(entry(0x0112, 3, 1, [o1, o2, 0, 0]));
    tiff.extend(entry(0x8825, 4, 1, gps.to_be_bytes()));
    tiff.extend(0_u32.to_be_bytes());
    assert_eq!(tiff.len(), gps as usize);
    tiff.extend(2_u16.to_be_bytes());
    tiff.extend(entry(0x0001, 2, 2, *b"N\0\0\0"));
    tiff.extend(entry(0x0002, 5, 3, rationals.to_be_bytes()));
    tiff.extend(0_u32.to_be_bytes());
    assert_eq!(tiff.len(), rationals as usize);
    for value in [51_u32, 30, 2] {
        tiff.extend(value.to_be_bytes());
        tiff.extend(1_u32.to_be_bytes());
    }
    assert_eq!(tiff.len(), description as usize);
    tiff.extend(MARKER.as_bytes());
    tiff.push(0);
    tiff
}

fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, marker];
    out.extend(u16::try_from(body.len() + 2).unwrap().to_be_bytes());
    out.extend(body);
    out
}

/// `jpeg` with an EXIF APP1 (orientation, GPS, [`MARKER`]), an XMP APP1, an ICC APP2 and a
/// comment, all carrying [`MARKER`], inserted after the start of image.
fn with_metadata(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend(exif_tiff(orientation));
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend(format!("<x:xmpmeta><rdf:Description exif:GPSLatitude=\"{MARKER}\"/></x:xmpmeta>").as_bytes());
    let mut icc = b"ICC_PROFILE\0\x01\x01".to_vec();
    icc.extend(MARKER.as_bytes());

    let mut out = jpeg[..2].to_vec();
    out.extend(segment(0xE1, &exif));
    out.extend(segment(0xE1, &xmp));
    out.extend(segment(0xE2, &icc));
    out.extend(segment(0xFE, MARKER.as_bytes()));
    out.extend(&jpeg[2..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// Checks the output is a well-formed image of the type it claims, with the size it claims,
/// and that its hash is right.
fn assert_clean(photo: &Photo) {
    let format = image::guess_format(&photo.bytes).unwrap();
    let expected = if photo.content_type == "image/png" { ImageFormat::Png } else { ImageFormat::Jpeg };
    assert_eq!(format, expected);
    let decoded = image::load_from_memory(&photo.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (photo.width, photo.height));
    let hash: String = Sha256::digest(&photo.bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(photo.sha256, hash);
}

/// The markers of a JPEG up to its scan: the output holds only what a bare encoder writes.
fn jpeg_markers(bytes: &[u8]) -> Vec<u8> {
    let mut markers = Vec::new();
    let mut at = 2;
    while at + 4 <= bytes.len() && bytes[at] == 0xFF {
        let marker = bytes[at + 1];
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        at += 2 + usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
    }
    markers
}

/// A PNG chunk with its CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = 0xFFFF_FFFF_u32;
    for &byte in kind.iter().chain(data) {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    let mut out = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    out.extend(kind);
    out.extend(data);
    out.extend((!crc).to_be_bytes());
    out
}

/// A PNG whose header claims `width`×`height` with a few bytes of pixel data behind it.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    // A zlib stream of a few zero bytes: far too little for the claimed size.
    out.extend(chunk(b"IDAT", &[0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]));
    out.extend(chunk(b"IEND", &[]));
    out
}

#[test]
fn a_jpeg_loses_its_exif_gps_xmp_icc_and_comments() {
    let input = with_metadata(&jpeg(&picture(64, 48)), 1);
    assert!(contains(&input, b"Exif") && contains(&input, MARKER.as_bytes()));

    let photo = photo::normalize(&input, "image/jpeg").unwrap();

    assert_clean(&photo);
    assert_eq!(photo.content_type, "image/jpeg");
    for needle in [&b"Exif"[..], MARKER.as_bytes(), b"http://ns.adobe.com", b"ICC_PROFILE"] {
        assert!(!contains(&photo.bytes, needle), "{:?} survived", String::from_utf8_lossy(needle));
    }
    let markers = jpeg_markers(&photo.bytes);
    assert!(
        markers.iter().all(|m| [0xE0, 0xDB, 0xC0, 0xC4, 0xDA].contains(m)),
        "unexpected segments {markers:x?}"
    );
}

#[test]
fn orientation_six_stands_a_photo_upright() {
    // A 40×20 picture, red in its top left corner; orientation 6 means "turn 90° clockwise".
    let mut image = RgbImage::from_pixel(40, 20, Rgb([250, 250, 250]));
    for y in 0..10 {
        for x in 0..10 {
            image.put_pixel(x, y, Rgb([220, 0, 0]));
        }
    }
    let input = with_metadata(&jpeg(&image), 6);

    let photo = photo::normalize(&input, "image/jpeg").unwrap();

    assert_clean(&photo);
    assert_eq!((photo.width, photo.height), (20, 40));
    let out = image::load_from_memory(&photo.bytes).unwrap().to_rgb8();
    let red = |p: &Rgb<u8>| p.0[0] > 180 && p.0[1] < 80;
    assert!(red(out.get_pixel(15, 4)), "the red corner went to the top right");
    assert!(!red(out.get_pixel(4, 4)) && !red(out.get_pixel(4, 35)));
}

#[test]
fn a_tiny_png_claiming_a_huge_picture_is_refused_at_once() {
    let bomb = png_claiming(100_000, 100_000);
    assert!(bomb.len() < 100);

    let started = Instant::now();
    let result = photo::normalize(&bomb, "image/png");

    assert_eq!(result, Err(PhotoError::TooManyPixels));
    // Nothing was decoded: allocating 30 GB or inflating anything would take far longer.
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn more_than_24_megapixels_is_refused_even_with_short_sides() {
    assert_eq!(photo::normalize(&png_claiming(6000, 4001), "image/png"), Err(PhotoError::TooManyPixels));
    assert_eq!(photo::normalize(&png_claiming(8193, 10), "image/png"), Err(PhotoError::TooManyPixels));
}

#[test]
fn a_real_png_wider_than_8192_pixels_is_refused() {
    // 9000×100 RGB: 2.7 MB of pixels that compress to almost nothing.
    let input = png_rgb(&RgbImage::from_pixel(9000, 100, Rgb([255, 200, 220])));
    assert!(input.len() < 100_000);

    assert_eq!(photo::normalize(&input, "image/png"), Err(PhotoError::TooManyPixels));
}

#[test]
fn truncated_files_are_refused_or_come_out_clean_never_a_panic() {
    let image = picture(64, 48);
    for (input, declared) in [(jpeg(&image), "image/jpeg"), (png_rgb(&image), "image/png")] {
        let len = input.len();
        for cut in [1, 2, 3, 8, 12, 20, 33, 50, 100, 200, len / 3, len / 2, len - 20, len - 2, len - 1] {
            match photo::normalize(&input[..cut], declared) {
                Ok(photo) => assert_clean(&photo),
                Err(error) => assert_eq!(error, PhotoError::Undecodable, "{declared} cut at {cut}"),
            }
        }
    }
}

#[test]
fn contents_of_another_format_than_declared_are_refused() {
    let image = picture(16, 16);
    assert_eq!(photo::normalize(&png_rgb(&image), "image/jpeg"), Err(PhotoError::TypeMismatch));
    assert_eq!(photo::normalize(&jpeg(&image), "image/png"), Err(PhotoError::TypeMismatch));
    assert_eq!(photo::normalize(&jpeg(&image), "image/gif"), Err(PhotoError::TypeMismatch));
}

#[test]
fn html_sent_as_an_image_is_refused() {
    let html = b"<!doctype html><html><body><script>alert(1)</script></body></html>";
    for declared in ["image/png", "image/jpeg", "image/gif", "image/webp"] {
        let result = photo::normalize(html, declared);
        assert!(matches!(result, Err(PhotoError::TypeMismatch | PhotoError::Undecodable)), "{result:?}");
    }
}

#[test]
fn unsupported_declared_types_are_refused_before_anything_else() {
    let input = jpeg(&picture(8, 8));
    for declared in ["image/svg+xml", "text/html", "application/octet-stream", "image/tiff", "", "image/"] {
        assert_eq!(photo::normalize(&input, declared), Err(PhotoError::UnsupportedType));
    }
    for declared in ["image/jpg", "IMAGE/JPEG", "image/jpeg; charset=binary"] {
        assert!(photo::normalize(&input, declared).is_ok(), "{declared}");
    }
}

#[test]
fn one_byte_over_8_mib_is_too_large() {
    let mut input = jpeg(&picture(8, 8));
    input.resize(MAX_UPLOAD_BYTES + 1, 0);
    assert_eq!(photo::normalize(&input, "image/jpeg"), Err(PhotoError::TooLarge));
}

#[test]
fn a_gif_that_is_also_javascript_is_refused() {
    // The classic polyglot: `GIF89a/*` opens a JavaScript comment, so the width bytes are `/*`
    // and the rest of the file is script after the comment closes.
    let mut polyglot = b"GIF89a/*\x0a\x00\x00\x00\x00".to_vec();
    polyglot.extend(b"*/=1;alert(document.cookie);/*");
    polyglot.extend(b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b*/");

    let result = photo::normalize(&polyglot, "image/gif");
    assert!(matches!(result, Err(PhotoError::TooManyPixels | PhotoError::Undecodable)), "{result:?}");
}

#[test]
fn a_gif_carrying_script_comes_out_as_pixels_only() {
    let gif = gif(&RgbaImage::from_fn(24, 16, |x, _| Rgba([200, (x * 10) as u8, 120, 255])));
    // A comment extension holding script, right after the header and the global colour table.
    let table = if gif[10] & 0x80 == 0 { 0 } else { 3 << ((gif[10] & 0x07) + 1) };
    let payload = b"<script>alert(document.cookie)</script>";
    let mut input = gif[..13 + table].to_vec();
    input.extend([0x21, 0xFE, u8::try_from(payload.len()).unwrap()]);
    input.extend(payload);
    input.push(0);
    input.extend(&gif[13 + table..]);
    input.extend(b"\n;fetch('/steal?c='+document.cookie)//");

    let photo = photo::normalize(&input, "image/gif").unwrap();

    assert_clean(&photo);
    assert_eq!((photo.width, photo.height), (24, 16));
    assert!(!contains(&photo.bytes, b"<script>") && !contains(&photo.bytes, b"fetch("));
}

#[test]
fn script_and_zip_appended_to_a_jpeg_are_left_behind() {
    let mut input = jpeg(&picture(32, 32));
    input.extend(b"<html><script>alert(1)</script></html>");
    // A ZIP local file header and its name, as a JAR or DOCX appended to a picture starts.
    input.extend(b"PK\x03\x04\x14\x00\x00\x00\x08\x00payload/evil.class");

    let photo = photo::normalize(&input, "image/jpeg").unwrap();

    assert_clean(&photo);
    for needle in [&b"<script>"[..], b"PK\x03\x04", b"evil.class"] {
        assert!(!contains(&photo.bytes, needle));
    }
}

#[test]
fn a_large_photo_is_shrunk_to_fit_1600_pixels() {
    let input = jpeg(&picture(4000, 3000));

    let photo = photo::normalize(&input, "image/jpeg").unwrap();

    assert_clean(&photo);
    assert_eq!((photo.width, photo.height), (1600, 1200));
}

#[test]
fn a_small_photo_keeps_its_size() {
    let photo = photo::normalize(&jpeg(&picture(300, 200)), "image/jpeg").unwrap();
    assert_eq!((photo.width, photo.height), (300, 200));
}

#[test]
fn transparency_in_use_gives_a_png_and_an_opaque_picture_a_jpeg() {
    let see_through = RgbaImage::from_fn(20, 20, |x, _| Rgba([230, 30, 99, if x < 10 { 255 } else { 90 }]));
    let opaque = RgbaImage::from_fn(20, 20, |x, y| Rgba([(x * 12) as u8, (y * 12) as u8, 99, 255]));

    let png = photo::normalize(&png_rgba(&see_through), "image/png").unwrap();
    assert_clean(&png);
    assert_eq!(png.content_type, "image/png");
    let alpha = image::load_from_memory(&png.bytes).unwrap().to_rgba8().get_pixel(15, 5).0[3];
    assert_eq!(alpha, 90);

    // An alpha channel that is opaque everywhere is no reason for a PNG.
    let jpeg = photo::normalize(&png_rgba(&opaque), "image/png").unwrap();
    assert_clean(&jpeg);
    assert_eq!(jpeg.content_type, "image/jpeg");
}

#[test]
fn webp_and_gif_are_taken_too() {
    let image = RgbaImage::from_fn(30, 10, |x, y| Rgba([(x * 8) as u8, (y * 20) as u8, 150, 255]));
    for (input, declared) in [(webp(&image), "image/webp"), (gif(&image), "image/gif")] {
        let photo = photo::normalize(&input, declared).unwrap();
        assert_clean(&photo);
        assert_eq!((photo.width, photo.height), (30, 10));
    }
}

#[test]
fn the_same_upload_gives_the_same_bytes() {
    let input = with_metadata(&jpeg(&picture(50, 40)), 3);
    assert_eq!(photo::normalize(&input, "image/jpeg"), photo::normalize(&input, "image/jpeg"));
}

#[test]
fn error_messages_never_repeat_the_upload() {
    let declared = "image/<script>";
    let error = photo::normalize(b"<script>", declared).unwrap_err();
    assert!(!error.to_string().contains("script"));
}

/// A small deterministic generator, so that a failure shows up again on the next run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn thousands_of_mutated_and_random_files_never_panic() {
    let image = picture(24, 16);
    let rgba = RgbaImage::from_fn(24, 16, |x, y| {
        Rgba([(x * 9) as u8, (y * 13) as u8, 77, if x > 12 { 128 } else { 255 }])
    });
    let seeds = [
        (jpeg(&image), "image/jpeg"),
        (png_rgb(&image), "image/png"),
        (gif(&rgba), "image/gif"),
        (webp(&rgba), "image/webp"),
        (with_metadata(&jpeg(&image), 6), "image/jpeg"),
    ];
    let mut rng = XorShift(0x5EED_1234_ABCD_0001);
    for round in 0..3000 {
        let (seed, declared) = &seeds[round % seeds.len()];
        let mut input = seed.clone();
        match rng.below(4) {
            // Random bytes behind a valid signature.
            0 => {
                let keep = 4 + rng.below(12);
                input.truncate(keep);
                input.extend((0..rng.below(400)).map(|_| rng.next() as u8));
            }
            // A cut somewhere.
            1 => input.truncate(rng.below(input.len())),
            // A few bytes overwritten, the signature kept.
            _ => {
                for _ in 0..1 + rng.below(8) {
                    let at = 12 + rng.below(input.len() - 12);
                    input[at] = rng.next() as u8;
                }
            }
        }
        match photo::normalize(&input, declared) {
            Ok(photo) => assert_clean(&photo),
            Err(error) => assert!(
                matches!(
                    error,
                    PhotoError::Undecodable | PhotoError::TooManyPixels | PhotoError::TypeMismatch
                ),
                "round {round}: {error:?}"
            ),
        }
    }
}

#[test]
fn the_decoder_reads_what_normalize_writes() {
    let photo = photo::normalize(&jpeg(&picture(64, 64)), "image/jpeg").unwrap();
    let again = photo::normalize(&photo.bytes, photo.content_type).unwrap();
    assert_eq!((again.width, again.height), (64, 64));
    assert!(
        image::ImageReader::new(Cursor::new(&photo.bytes)).with_guessed_format().unwrap().decode().is_ok()
    );
}
