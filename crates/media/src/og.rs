//! Link-preview cards: the `og:image` of a page, a 1200×630 PNG in the page's design.
//!
//! The card echoes the page itself: a soft diagonal wash from the design's light colour
//! towards its main colour, scattered hearts, a white rounded card with a shadow tinted by the
//! main colour, three small hearts, the title in the design's lettering, and a small
//! "Valentine" wordmark below. A page that must not show its title (private, or not yet
//! revealed) gets the generic card: the same design, warm words, nothing of the page.

mod canvas;
mod text;

use std::fmt;

use canvas::{Canvas, Rect};
use text::{Face, Fit, Fonts, Ink, Lettering};

/// Width of the card in pixels.
pub const WIDTH: u32 = 1200;
/// Height of the card in pixels.
pub const HEIGHT: u32 = 630;
/// The words of the generic card, shown where the title would be.
pub const GENERIC_TITLE: &str = "Someone made you something";
/// The line under the generic card's words.
pub const GENERIC_SUBTITLE: &str = "Open the link to see it";

/// What a link-preview card shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OgCard<'a> {
    /// The page's design: colours and lettering.
    pub design: Design,
    /// The page's title, or `None` for the generic card (private or scheduled pages).
    pub title: Option<&'a str>,
}

/// The eight page designs, with the colours and lettering of the web app's designs.
///
/// The ids are the domain's template ids; this crate does not depend on the domain, so callers
/// map with [`Design::from_id`], and a test holds the colours and fonts to the web app's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Design {
    /// Classic Love.
    Classic,
    /// Modern Romance.
    Modern,
    /// Playful Hearts.
    Playful,
    /// Elegant Script.
    Elegant,
    /// Will You Be Mine?
    Proposal,
    /// Love Letter.
    Envelope,
    /// Scratch to reveal.
    Scratch,
    /// Countdown.
    Countdown,
}

/// The lettering of a design's titles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Typeface {
    /// Pacifico, a round brush script.
    Pacifico,
    /// Nunito, a rounded sans, extra bold.
    Nunito,
    /// Caveat, handwriting, bold.
    Caveat,
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
}

impl Rgb {
    /// The colour written `#rrggbb` as `0xrrggbb`.
    pub const fn hex(rgb: u32) -> Self {
        let [_, r, g, b] = rgb.to_be_bytes();
        Self { r, g, b }
    }
}

/// `#rrggbb`, as in CSS.
impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

impl Design {
    /// Every design, in the order the API lists them.
    pub const ALL: [Self; 8] = [
        Self::Classic,
        Self::Modern,
        Self::Playful,
        Self::Elegant,
        Self::Proposal,
        Self::Envelope,
        Self::Scratch,
        Self::Countdown,
    ];

    /// The design with this template id (`classic`, `modern`, …), exactly as stored.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|design| design.id() == id)
    }

    /// The template id.
    pub fn id(self) -> &'static str {
        match self {
            Self::Classic => "classic",
            Self::Modern => "modern",
            Self::Playful => "playful",
            Self::Elegant => "elegant",
            Self::Proposal => "proposal",
            Self::Envelope => "envelope",
            Self::Scratch => "scratch",
            Self::Countdown => "countdown",
        }
    }

    /// The main colour: title, hearts, the tint of the shadow.
    pub fn primary(self) -> Rgb {
        Rgb::hex(match self {
            Self::Classic => 0xe9_1e_63,
            Self::Modern => 0x9c_27_b0,
            Self::Playful => 0xf4_43_36,
            Self::Elegant => 0x88_0e_4f,
            Self::Proposal => 0xec_48_99,
            Self::Envelope => 0xbe_18_5d,
            Self::Scratch => 0xdb_27_77,
            Self::Countdown => 0xe1_1d_48,
        })
    }

    /// The light colour the background starts from.
    pub fn secondary(self) -> Rgb {
        Rgb::hex(match self {
            Self::Classic | Self::Elegant => 0xfc_e4_ec,
            Self::Modern => 0xf3_e5_f5,
            Self::Playful => 0xff_eb_ee,
            Self::Proposal => 0xfd_f2_f8,
            Self::Envelope => 0xff_f1_f2,
            Self::Scratch => 0xfc_e7_f3,
            Self::Countdown => 0xff_e4_e6,
        })
    }

    /// The lettering of titles.
    pub fn typeface(self) -> Typeface {
        match self {
            Self::Classic | Self::Elegant | Self::Proposal | Self::Countdown => Typeface::Pacifico,
            Self::Modern | Self::Scratch => Typeface::Nunito,
            Self::Playful | Self::Envelope => Typeface::Caveat,
        }
    }
}

impl Typeface {
    /// The font family's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pacifico => "Pacifico",
            Self::Nunito => "Nunito",
            Self::Caveat => "Caveat",
        }
    }

    fn face(self) -> Face {
        match self {
            Self::Pacifico => Face::Pacifico,
            Self::Nunito => Face::Nunito,
            Self::Caveat => Face::Caveat,
        }
    }

    /// Caveat runs small; the web app evens it out the same way.
    fn scale(self) -> f32 {
        match self {
            Self::Pacifico | Self::Nunito => 1.0,
            Self::Caveat => 1.3,
        }
    }

    fn line_height(self) -> f32 {
        match self {
            Self::Pacifico => 1.3,
            Self::Nunito => 1.15,
            Self::Caveat => 1.1,
        }
    }
}

/// The white card on the background.
const CARD: Rect = Rect { x: 110.0, y: 58.0, width: 980.0, height: 440.0 };
const CARD_RADIUS: f32 = 40.0;
/// Room for the title inside the card, below the three hearts.
const TITLE_BOX: Rect = Rect { x: 180.0, y: 156.0, width: 840.0, height: 300.0 };
/// Title sizes in pixels per em, before the typeface's own scale.
const TITLE_MAX_EM: f32 = 88.0;
const TITLE_MIN_EM: f32 = 40.0;
const TITLE_MAX_LINES: usize = 3;
/// Hearts in the background: centre x, centre y, size in pixels, white (or the main colour).
const HEARTS: [(f32, f32, f32, bool); 14] = [
    (52.0, 92.0, 46.0, true),
    (70.0, 250.0, 26.0, false),
    (40.0, 420.0, 60.0, false),
    (88.0, 560.0, 34.0, true),
    (210.0, 585.0, 24.0, false),
    (300.0, 30.0, 22.0, true),
    (930.0, 28.0, 26.0, false),
    (1000.0, 590.0, 30.0, false),
    (1140.0, 80.0, 32.0, false),
    (1160.0, 210.0, 56.0, true),
    (1128.0, 360.0, 24.0, false),
    (1150.0, 520.0, 44.0, true),
    (420.0, 600.0, 18.0, true),
    (780.0, 606.0, 20.0, true),
];
/// The page's ink colours (`--ink-soft` in the web app).
const INK_SOFT: Rgb = Rgb::hex(0x6e_4a_5b);
const WHITE: Rgb = Rgb::hex(0xff_ff_ff);
const HEART: char = '\u{2665}';

/// Renders the link-preview card as a 1200×630 PNG.
///
/// Never fails and never panics, whatever the title holds: control and invisible characters
/// are dropped, whitespace is collapsed, letters the design's font lacks come from a fallback
/// font (letters no embedded font has are left out), and a long title wraps to three lines,
/// shrinks, and ends with an ellipsis if it still does not fit. A title with nothing visible
/// gets the generic card. The same card always gives the same bytes.
///
/// CPU-bound: tens of milliseconds in an optimised build.
pub fn render(card: &OgCard<'_>) -> Vec<u8> {
    let fonts = Fonts::embedded();
    let design = card.design;
    let primary = design.primary();
    let typeface = design.typeface();
    let lettering = Lettering::new(typeface.face(), &fonts);

    let mut canvas = Canvas::new(WIDTH, HEIGHT);
    canvas.background(design.secondary(), primary);
    for (x, y, size, white) in HEARTS {
        let ink =
            if white { Ink { colour: WHITE, opacity: 0.6 } } else { Ink { colour: primary, opacity: 0.16 } };
        text::draw_centred(&mut canvas, &fonts, HEART, size, (x, y), ink);
    }
    canvas.card(CARD, CARD_RADIUS, primary);
    for dx in [-44.0, 0.0, 44.0] {
        let ink = Ink { colour: primary, opacity: 1.0 };
        text::draw_centred(&mut canvas, &fonts, HEART, 24.0, (CARD.centre_x() + dx, CARD.y + 58.0), ink);
    }

    let fit = Fit {
        min_em: TITLE_MIN_EM * typeface.scale(),
        max_em: TITLE_MAX_EM * typeface.scale(),
        line_height: typeface.line_height(),
        max_lines: TITLE_MAX_LINES,
    };
    let title_ink = Ink { colour: primary, opacity: 1.0 };
    let title = card.title.map(|title| lettering.pieces(title)).filter(|pieces| text::is_visible(pieces));
    if let Some(pieces) = title {
        lettering.fit(&pieces, TITLE_BOX, fit).draw(&mut canvas, TITLE_BOX, title_ink);
    } else {
        let words_box = Rect { height: TITLE_BOX.height - 60.0, ..TITLE_BOX };
        let generic = lettering.pieces(GENERIC_TITLE);
        let fit = Fit { max_em: fit.max_em * 0.8, max_lines: 2, ..fit };
        lettering.fit(&generic, words_box, fit).draw(&mut canvas, words_box, title_ink);
        let sub = Lettering::new(Face::Nunito, &fonts);
        let baseline = words_box.y + words_box.height + 36.0;
        let ink = Ink { colour: INK_SOFT, opacity: 1.0 };
        sub.draw_text(&mut canvas, GENERIC_SUBTITLE, 28.0, CARD.centre_x(), baseline, ink);
    }

    let wordmark = Lettering::new(Face::Pacifico, &fonts);
    let ink = Ink { colour: primary, opacity: 0.9 };
    wordmark.draw_text(&mut canvas, "Valentine \u{2665}", 34.0, WIDTH as f32 / 2.0, 580.0, ink);
    canvas.into_png()
}
