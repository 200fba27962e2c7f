//! The pixels of a card: shapes composited in sRGB, as browsers do, then encoded as PNG.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};

use super::Rgb;

/// An axis-aligned rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Rect {
    pub(super) x: f32,
    pub(super) y: f32,
    pub(super) width: f32,
    pub(super) height: f32,
}

impl Rect {
    pub(super) fn centre_x(self) -> f32 {
        self.x + self.width / 2.0
    }

    fn centre_y(self) -> f32 {
        self.y + self.height / 2.0
    }

    /// Signed distance from `(px, py)` to the edge of this rectangle with corners rounded by
    /// `radius`: negative inside.
    fn rounded_distance(self, radius: f32, px: f32, py: f32) -> f32 {
        let qx = (px - self.centre_x()).abs() - (self.width / 2.0 - radius);
        let qy = (py - self.centre_y()).abs() - (self.height / 2.0 - radius);
        let (ox, oy) = (qx.max(0.0), qy.max(0.0));
        let outside = (ox * ox + oy * oy).sqrt();
        let inside = qx.max(qy).min(0.0);
        outside + inside - radius
    }
}

/// How much of a pixel a shape covers, from the signed distance to its edge: one pixel of
/// anti-aliasing.
fn coverage(distance: f32) -> f32 {
    (0.5 - distance).clamp(0.0, 1.0)
}

fn smoothstep(edge0: f32, edge1: f32, x: f32) -> f32 {
    let t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// A colour with channels from 0 to 1.
type Colour = [f32; 3];

fn unit(rgb: Rgb) -> Colour {
    [f32::from(rgb.r) / 255.0, f32::from(rgb.g) / 255.0, f32::from(rgb.b) / 255.0]
}

fn mix(a: Colour, b: Colour, t: f32) -> Colour {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

/// An RGB picture being painted.
#[derive(Debug)]
pub(super) struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<Colour>,
}

impl Canvas {
    pub(super) fn new(width: u32, height: u32) -> Self {
        Self { width, height, pixels: vec![[1.0; 3]; width as usize * height as usize] }
    }

    /// Paints `colour` over the pixel at `(x, y)` with `alpha`; outside the canvas, nothing.
    pub(super) fn blend(&mut self, x: i32, y: i32, colour: Rgb, alpha: f32) {
        let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y)) else { return };
        if x >= self.width || y >= self.height || alpha <= 0.0 {
            return;
        }
        let pixel = &mut self.pixels[(y * self.width + x) as usize];
        *pixel = mix(*pixel, unit(colour), alpha.min(1.0));
    }

    /// Paints every pixel inside `area` (clipped to the canvas) with the colour and opacity
    /// `paint` gives for the pixel's centre.
    fn paint(&mut self, area: Rect, mut paint: impl FnMut(f32, f32) -> (Colour, f32)) {
        let clip = |v: f32, max: u32| (v.max(0.0) as u32).min(max);
        let (x0, x1) = (clip(area.x.floor(), self.width), clip((area.x + area.width).ceil(), self.width));
        let (y0, y1) = (clip(area.y.floor(), self.height), clip((area.y + area.height).ceil(), self.height));
        for y in y0..y1 {
            for x in x0..x1 {
                let (colour, alpha) = paint(x as f32 + 0.5, y as f32 + 0.5);
                if alpha > 0.0 {
                    let pixel = &mut self.pixels[(y * self.width + x) as usize];
                    *pixel = mix(*pixel, colour, alpha.min(1.0));
                }
            }
        }
    }

    fn bounds(&self) -> Rect {
        Rect { x: 0.0, y: 0.0, width: self.width as f32, height: self.height as f32 }
    }

    /// The page background: a wash at 160° from `light` to `light` mixed with 30 % of `main`,
    /// and a soft white glow near the top left corner.
    pub(super) fn background(&mut self, light: Rgb, main: Rgb) {
        let bounds = self.bounds();
        let (from, to) = (unit(light), mix(unit(light), unit(main), 0.3));
        let angle = 160_f32.to_radians();
        let (dx, dy) = (angle.sin(), -angle.cos());
        // As CSS measures a gradient line: its ends touch the far corners.
        let length = (bounds.width * dx).abs() + (bounds.height * dy).abs();
        let (glow_x, glow_y) = (bounds.width * 0.15, bounds.height * 0.10);
        let glow_reach = 0.4 * (bounds.width - glow_x).hypot(bounds.height - glow_y);
        let white = [1.0; 3];
        self.paint(bounds, |x, y| {
            let t = ((x - bounds.centre_x()) * dx + (y - bounds.centre_y()) * dy) / length + 0.5;
            let base = mix(from, to, t.clamp(0.0, 1.0));
            let (gx, gy) = (x - glow_x, y - glow_y);
            let glow = 0.7 * (1.0 - (gx * gx + gy * gy).sqrt() / glow_reach).max(0.0);
            (mix(base, white, glow), 1.0)
        });
    }

    /// The white card: a soft shadow tinted by `main`, a faint white halo, the card itself
    /// and a thin border in a pale tint of `main`, in one pass.
    pub(super) fn card(&mut self, card: Rect, radius: f32, main: Rgb) {
        const SHADOW_OFFSET: f32 = 22.0;
        const SHADOW_BLUR: f32 = 60.0;
        const SHADOW_OPACITY: f32 = 0.28;
        const HALO: f32 = 7.0;
        const BORDER: f32 = 2.0;
        let main = unit(main);
        let white = [1.0; 3];
        let border_colour = mix(white, main, 0.3);
        // The shadow reaches furthest; the halo stays within it.
        let area = Rect {
            x: card.x - SHADOW_BLUR,
            y: card.y - SHADOW_BLUR + SHADOW_OFFSET,
            width: card.width + 2.0 * SHADOW_BLUR,
            height: card.height + 2.0 * SHADOW_BLUR,
        };
        self.paint(area, |x, y| {
            let distance = card.rounded_distance(radius, x, y);
            let shade = 1.0
                - smoothstep(-SHADOW_BLUR, SHADOW_BLUR, card.rounded_distance(radius, x, y - SHADOW_OFFSET));
            let mut colour = main;
            let mut alpha = SHADOW_OPACITY * shade;
            let halo = 0.6 * (coverage(distance - HALO) - coverage(distance));
            if halo > 0.0 {
                colour = mix(colour, white, halo / (alpha + halo - alpha * halo));
                alpha += halo - alpha * halo;
            }
            let inside = coverage(distance);
            if inside > 0.0 {
                let border = (inside - coverage(distance + BORDER)) / inside;
                let fill = 0.96 * inside;
                colour = mix(colour, mix(white, border_colour, border), fill / (alpha + fill - alpha * fill));
                alpha += fill - alpha * fill;
            }
            (colour, alpha)
        });
    }

    /// The picture as an 8-bit RGB PNG.
    pub(super) fn into_png(self) -> Vec<u8> {
        let rgb: Vec<u8> = self
            .pixels
            .iter()
            .flatten()
            .map(|channel| (channel * 255.0).round().clamp(0.0, 255.0) as u8)
            .collect();
        let mut png = Vec::with_capacity(rgb.len() / 8);
        // Writing to a Vec cannot fail and the buffer matches the dimensions.
        let _ = PngEncoder::new_with_quality(&mut png, CompressionType::Default, FilterType::Adaptive)
            .write_image(&rgb, self.width, self.height, ExtendedColorType::Rgb8);
        png
    }
}
