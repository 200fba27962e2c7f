//! Says how long [`photo::normalize`] takes on a 12 MP JPEG.
//!
//! `cargo run -p valentine-media --example normalize [-- photo.jpg]`; without a file, a
//! 4000×3000 picture with gradients and grain is made and encoded first.

use std::time::Instant;

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage};
use valentine_media::photo;

fn synthetic_photo() -> Vec<u8> {
    let mut grain = 0x2545_F491_4F6C_DD1D_u64;
    let image = RgbImage::from_fn(4000, 3000, |x, y| {
        grain ^= grain << 13;
        grain ^= grain >> 7;
        grain ^= grain << 17;
        let noise = (grain % 24) as u32;
        Rgb([
            ((x * 255 / 4000 + noise) % 256) as u8,
            ((y * 255 / 3000 + noise) % 256) as u8,
            (((x + y) / 30 + noise) % 256) as u8,
        ])
    });
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 90)
        .write_image(image.as_raw(), 4000, 3000, ExtendedColorType::Rgb8)
        .expect("encoding to memory works");
    jpeg
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let input = match std::env::args().nth(1) {
        Some(path) => std::fs::read(path)?,
        None => synthetic_photo(),
    };
    let runs = 3;
    let started = Instant::now();
    let mut output = None;
    for _ in 0..runs {
        output = Some(photo::normalize(&input, "image/jpeg")?);
    }
    let each = started.elapsed() / runs;
    let photo = output.ok_or("no run")?;
    println!(
        "{} input bytes -> {}x{} {} of {} bytes, {each:.1?} a call (mean of {runs})",
        input.len(),
        photo.width,
        photo.height,
        photo.content_type,
        photo.bytes.len()
    );
    Ok(())
}
