//! Lettering: the embedded fonts, picking a font for each character, wrapping and fitting a
//! title, and drawing glyphs onto the canvas.

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};

use super::Rgb;
use super::canvas::{Canvas, Rect};

/// Characters of a title looked at; three lines at the smallest size hold far fewer.
const MAX_TITLE_CHARS: usize = 400;
const ELLIPSIS: char = '…';

/// The embedded fonts, parsed (parsing reads only the table directory, so it is cheap).
#[derive(Debug)]
pub(super) struct Fonts {
    pacifico: FontRef<'static>,
    nunito: FontRef<'static>,
    caveat: FontRef<'static>,
    fallback: FontRef<'static>,
}

/// One of the embedded fonts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Face {
    /// Pacifico Regular.
    Pacifico,
    /// Nunito ExtraBold.
    Nunito,
    /// Caveat Bold.
    Caveat,
    /// DejaVu Sans: the letters the design fonts lack, and the hearts.
    Fallback,
}

impl Fonts {
    pub(super) fn embedded() -> Self {
        let parse = |bytes: &'static [u8]| FontRef::try_from_slice(bytes).expect("embedded fonts parse");
        Self {
            pacifico: parse(include_bytes!("../../fonts/Pacifico-Regular.ttf")),
            nunito: parse(include_bytes!("../../fonts/Nunito-ExtraBold.ttf")),
            caveat: parse(include_bytes!("../../fonts/Caveat-Bold.ttf")),
            fallback: parse(include_bytes!("../../fonts/DejaVuSans.ttf")),
        }
    }

    fn get(&self, face: Face) -> &FontRef<'static> {
        match face {
            Face::Pacifico => &self.pacifico,
            Face::Nunito => &self.nunito,
            Face::Caveat => &self.caveat,
            Face::Fallback => &self.fallback,
        }
    }

    /// The scale that makes one em `em` pixels, as a CSS font size does.
    fn scale(&self, face: Face, em: f32) -> PxScale {
        let font = self.get(face);
        PxScale::from(em * font.height_unscaled() / font.units_per_em().unwrap_or(1000.0))
    }
}

/// A colour and how opaque to paint it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Ink {
    pub(super) colour: Rgb,
    pub(super) opacity: f32,
}

/// One character and the font that draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Piece {
    c: char,
    face: Face,
    glyph: GlyphId,
}

/// Text in one face, with the fallback font for what that face lacks.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lettering<'f> {
    fonts: &'f Fonts,
    face: Face,
}

/// Lines of text fitted into an area at one size.
#[derive(Debug)]
pub(super) struct Block<'f> {
    lettering: Lettering<'f>,
    em: f32,
    line_height: f32,
    lines: Vec<Vec<Piece>>,
}

/// What a title may take: the largest size is tried first.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fit {
    pub(super) min_em: f32,
    pub(super) max_em: f32,
    /// Distance between baselines, in ems.
    pub(super) line_height: f32,
    pub(super) max_lines: usize,
}

/// Whether a character is invisible or steers layout (bidi controls, zero-width characters,
/// variation selectors, tags): such characters are dropped rather than drawn as boxes.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
            | '\u{FFF0}'..='\u{FFFB}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Whether any piece draws something.
pub(super) fn is_visible(pieces: &[Piece]) -> bool {
    pieces.iter().any(|piece| piece.c != ' ')
}

impl<'f> Lettering<'f> {
    pub(super) fn new(face: Face, fonts: &'f Fonts) -> Self {
        Self { fonts, face }
    }

    /// The pieces of `text`: whitespace collapsed to single spaces, invisible characters and
    /// characters no embedded font has dropped, typewriter apostrophes made typographic, at
    /// most [`MAX_TITLE_CHARS`] looked at.
    pub(super) fn pieces(&self, text: &str) -> Vec<Piece> {
        let mut pieces: Vec<Piece> = Vec::new();
        for c in text.chars().take(MAX_TITLE_CHARS) {
            let c = if c == '\'' { '\u{2019}' } else { c };
            if c.is_whitespace() {
                if pieces.last().is_some_and(|last| last.c != ' ') {
                    pieces.extend(self.piece(' '));
                }
            } else if !is_invisible(c) {
                pieces.extend(self.piece(c));
            }
        }
        if pieces.last().is_some_and(|last| last.c == ' ') {
            pieces.pop();
        }
        pieces
    }

    fn piece(&self, c: char) -> Option<Piece> {
        [self.face, Face::Fallback].into_iter().find_map(|face| {
            let glyph = self.fonts.get(face).glyph_id(c);
            (glyph.0 != 0).then_some(Piece { c, face, glyph })
        })
    }

    /// How wide `pieces` are at `em`, with kerning between neighbours of one font.
    fn width(&self, pieces: &[Piece], em: f32) -> f32 {
        self.advances(pieces, em).last().map_or(0.0, |&(x, piece)| x + self.advance(piece, em))
    }

    fn advance(&self, piece: Piece, em: f32) -> f32 {
        let font = self.fonts.get(piece.face);
        font.as_scaled(self.fonts.scale(piece.face, em)).h_advance(piece.glyph)
    }

    /// Each piece with the x of its origin, starting at 0.
    fn advances(&self, pieces: &[Piece], em: f32) -> Vec<(f32, Piece)> {
        let mut x = 0.0;
        let mut previous: Option<Piece> = None;
        pieces
            .iter()
            .map(|&piece| {
                if let Some(previous) = previous {
                    x += self.advance(previous, em);
                    if previous.face == piece.face {
                        let font = self.fonts.get(piece.face);
                        x += font
                            .as_scaled(self.fonts.scale(piece.face, em))
                            .kern(previous.glyph, piece.glyph);
                    }
                }
                previous = Some(piece);
                (x, piece)
            })
            .collect()
    }

    /// Wraps at spaces, and inside a word only when the word alone is too wide.
    fn wrap(&self, pieces: &[Piece], em: f32, max_width: f32, max_lines: usize) -> Vec<Vec<Piece>> {
        let mut lines: Vec<Vec<Piece>> = Vec::new();
        let mut line: Vec<Piece> = Vec::new();
        let space = pieces.iter().find(|piece| piece.c == ' ').copied();
        for word in pieces.split(|piece| piece.c == ' ') {
            let mut candidate = line.clone();
            if !candidate.is_empty() {
                candidate.extend(space);
            }
            candidate.extend_from_slice(word);
            if self.width(&candidate, em) <= max_width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            for &piece in word {
                line.push(piece);
                if line.len() > 1 && self.width(&line, em) > max_width {
                    line.pop();
                    lines.push(std::mem::replace(&mut line, vec![piece]));
                }
            }
            // Past the limit the rest is cut anyway; stop measuring it.
            if lines.len() > max_lines {
                return lines;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// The largest size, in steps of 2 px, at which `pieces` fit `area` in at most
    /// `fit.max_lines` lines; at the smallest size, the lines beyond are cut and the last one
    /// ends with an ellipsis.
    pub(super) fn fit(self, pieces: &[Piece], area: Rect, fit: Fit) -> Block<'f> {
        let mut em = fit.max_em;
        while em > fit.min_em {
            let lines = self.wrap(pieces, em, area.width, fit.max_lines);
            let height = lines.len() as f32 * em * fit.line_height;
            if lines.len() <= fit.max_lines && height <= area.height {
                return Block { lettering: self, em, line_height: fit.line_height, lines };
            }
            em -= 2.0;
        }
        let em = fit.min_em;
        let mut lines = self.wrap(pieces, em, area.width, fit.max_lines);
        if lines.len() > fit.max_lines {
            lines.truncate(fit.max_lines);
            if let Some(last) = lines.last_mut() {
                self.ellipsize(last, em, area.width);
            }
        }
        Block { lettering: self, em, line_height: fit.line_height, lines }
    }

    /// Ends `line` with an ellipsis, taking characters off until it fits `max_width`.
    fn ellipsize(&self, line: &mut Vec<Piece>, em: f32, max_width: f32) {
        let Some(ellipsis) = self.piece(ELLIPSIS).or_else(|| self.piece('.')) else { return };
        loop {
            while line.last().is_some_and(|piece| piece.c == ' ') {
                line.pop();
            }
            line.push(ellipsis);
            if line.len() == 1 || self.width(line, em) <= max_width {
                return;
            }
            line.pop();
            line.pop();
        }
    }

    /// Draws one line centred on `centre_x`, its baseline at `baseline`.
    pub(super) fn draw_line(
        &self,
        canvas: &mut Canvas,
        pieces: &[Piece],
        em: f32,
        centre_x: f32,
        baseline: f32,
        ink: Ink,
    ) {
        let left = centre_x - self.width(pieces, em) / 2.0;
        for (x, piece) in self.advances(pieces, em) {
            let font = self.fonts.get(piece.face);
            let glyph = piece
                .glyph
                .with_scale_and_position(self.fonts.scale(piece.face, em), point(left + x, baseline));
            draw_glyph(canvas, font, glyph, ink);
        }
    }

    /// Draws `text` on one line centred on `centre_x`, its baseline at `baseline`.
    pub(super) fn draw_text(
        &self,
        canvas: &mut Canvas,
        text: &str,
        em: f32,
        centre_x: f32,
        baseline: f32,
        ink: Ink,
    ) {
        let pieces = self.pieces(text);
        self.draw_line(canvas, &pieces, em, centre_x, baseline, ink);
    }
}

impl Block<'_> {
    /// Draws the lines centred in `area`, as CSS lays out a line box: the font's ascent and
    /// descent centred in each line's height.
    pub(super) fn draw(&self, canvas: &mut Canvas, area: Rect, ink: Ink) {
        let Lettering { fonts, face } = self.lettering;
        let scaled = fonts.get(face).as_scaled(fonts.scale(face, self.em));
        let line_height = self.em * self.line_height;
        let top = area.y + (area.height - line_height * self.lines.len() as f32) / 2.0;
        let half_leading = (line_height - (scaled.ascent() - scaled.descent())) / 2.0;
        for (i, line) in self.lines.iter().enumerate() {
            let baseline = top + i as f32 * line_height + half_leading + scaled.ascent();
            self.lettering.draw_line(canvas, line, self.em, area.centre_x(), baseline, ink);
        }
    }
}

/// Draws the fallback font's glyph for `c`, `size` pixels per em, its outline centred on
/// `(centre_x, centre_y)`.
pub(super) fn draw_centred(
    canvas: &mut Canvas,
    fonts: &Fonts,
    c: char,
    size: f32,
    centre: (f32, f32),
    ink: Ink,
) {
    let font = fonts.get(Face::Fallback);
    let scale = fonts.scale(Face::Fallback, size);
    let Some(outline) = font.outline_glyph(font.glyph_id(c).with_scale_and_position(scale, point(0.0, 0.0)))
    else {
        return;
    };
    let bounds = outline.px_bounds();
    let (dx, dy) =
        (centre.0 - (bounds.min.x + bounds.max.x) / 2.0, centre.1 - (bounds.min.y + bounds.max.y) / 2.0);
    let glyph = font.glyph_id(c).with_scale_and_position(scale, point(dx.round(), dy.round()));
    draw_glyph(canvas, font, glyph, ink);
}

fn draw_glyph(canvas: &mut Canvas, font: &FontRef<'static>, glyph: ab_glyph::Glyph, ink: Ink) {
    let Some(outline) = font.outline_glyph(glyph) else { return };
    let bounds = outline.px_bounds();
    let (left, top) = (bounds.min.x as i32, bounds.min.y as i32);
    outline.draw(|x, y, coverage| {
        let (Ok(x), Ok(y)) = (i32::try_from(x), i32::try_from(y)) else { return };
        canvas.blend(left + x, top + y, ink.colour, coverage * ink.opacity);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const AREA: Rect = Rect { x: 0.0, y: 0.0, width: 800.0, height: 300.0 };
    const FIT: Fit = Fit { min_em: 40.0, max_em: 88.0, line_height: 1.3, max_lines: 3 };

    fn text(pieces: &[Piece]) -> String {
        pieces.iter().map(|piece| piece.c).collect()
    }

    #[test]
    fn the_design_fonts_draw_latin_and_latin_extended_themselves() {
        let fonts = Fonts::embedded();
        for face in [Face::Pacifico, Face::Nunito, Face::Caveat] {
            for c in (' '..='~').chain("éèçñöüßłőžąęøåÆŒ’“”…".chars()) {
                assert_ne!(fonts.get(face).glyph_id(c).0, 0, "{face:?} lacks {c:?}");
            }
        }
        assert_ne!(fonts.get(Face::Fallback).glyph_id('\u{2665}').0, 0);
    }

    #[test]
    fn pieces_collapse_whitespace_and_drop_what_cannot_be_drawn() {
        let fonts = Fonts::embedded();
        let lettering = Lettering::new(Face::Pacifico, &fonts);
        let pieces = lettering.pieces("  Hi\n\n\tthere\u{200B}\u{202E}\u{7} 你好 Alex's Мир ");
        assert_eq!(text(&pieces), "Hi there Alex\u{2019}s Мир");
        let faces: Vec<Face> = pieces.iter().map(|piece| piece.face).collect();
        assert_eq!(faces[0], Face::Pacifico);
        assert_eq!(faces[faces.len() - 1], Face::Fallback);
    }

    #[test]
    fn a_short_title_takes_the_largest_size_on_one_line() {
        let fonts = Fonts::embedded();
        let lettering = Lettering::new(Face::Pacifico, &fonts);
        let block = lettering.fit(&lettering.pieces("For Alex"), AREA, FIT);
        assert_eq!((block.em, block.lines.len()), (FIT.max_em, 1));
    }

    #[test]
    fn an_endless_title_is_cut_to_three_lines_ending_in_an_ellipsis() {
        let fonts = Fonts::embedded();
        for face in [Face::Pacifico, Face::Nunito, Face::Caveat] {
            let lettering = Lettering::new(face, &fonts);
            for title in ["love ".repeat(2000), "x".repeat(10_000)] {
                let block = lettering.fit(&lettering.pieces(&title), AREA, FIT);
                assert_eq!((block.em, block.lines.len()), (FIT.min_em, 3));
                assert!(text(&block.lines[2]).ends_with(ELLIPSIS));
                for line in &block.lines {
                    assert!(lettering.width(line, block.em) <= AREA.width, "{face:?}");
                }
            }
        }
    }

    #[test]
    fn a_word_wider_than_the_line_is_broken_inside() {
        let fonts = Fonts::embedded();
        let lettering = Lettering::new(Face::Nunito, &fonts);
        let lines = lettering.wrap(&lettering.pieces(&"W".repeat(40)), 60.0, 800.0, 3);
        assert!(lines.len() > 1);
        assert_eq!(lines.iter().map(Vec::len).sum::<usize>(), 40);
    }
}
