//! Link-preview cards: always a 1200×630 PNG, one look per design, no title where none is
//! given, and no panic whatever the title holds.

use valentine_media::og::{self, Design, HEIGHT, OgCard, WIDTH};

/// One design for each lettering: what differs between designs beyond colour.
const ONE_PER_TYPEFACE: [Design; 3] = [Design::Classic, Design::Modern, Design::Playful];

fn decode(png: &[u8]) -> image::RgbImage {
    assert_eq!(image::guess_format(png).unwrap(), image::ImageFormat::Png);
    image::load_from_memory(png).unwrap().to_rgb8()
}

#[test]
fn every_design_gives_its_own_1200_by_630_png_with_and_without_a_title() {
    let mut generic_cards = Vec::new();
    for design in Design::ALL {
        for title in [Some("Happy Valentine's Day, Alex"), None] {
            let png = og::render(&OgCard { design, title });
            let image = decode(&png);
            assert_eq!(image.dimensions(), (WIDTH, HEIGHT), "{design:?} {title:?}");
            if title.is_none() {
                generic_cards.push(png);
            }
        }
    }
    for (i, card) in generic_cards.iter().enumerate() {
        assert!(
            generic_cards[i + 1..].iter().all(|other| other != card),
            "{:?} looks like another",
            Design::ALL[i]
        );
    }
}

#[test]
fn the_title_is_drawn_in_the_design_colour() {
    let design = Design::Modern;
    let image = decode(&og::render(&OgCard { design, title: Some("WWWWWWWW") }));
    let primary = design.primary();
    let near = |p: &image::Rgb<u8>| {
        p.0.iter().zip([primary.r, primary.g, primary.b]).all(|(a, b)| a.abs_diff(b) < 12)
    };
    let inked = (160..460)
        .flat_map(|y| (200..1000).map(move |x| (x, y)))
        .filter(|&(x, y)| near(image.get_pixel(x, y)));
    assert!(inked.count() > 2000);
}

#[test]
fn another_title_gives_another_card() {
    let card = |title| og::render(&OgCard { design: Design::Classic, title: Some(title) });
    assert_ne!(card("For Alex"), card("For Sam"));
}

#[test]
fn the_generic_card_shows_nothing_of_any_title() {
    for design in ONE_PER_TYPEFACE {
        let generic = og::render(&OgCard { design, title: None });
        let _ = og::render(&OgCard { design, title: Some("A secret only the link should tell") });
        assert_eq!(og::render(&OgCard { design, title: None }), generic, "{design:?}");
    }
}

#[test]
fn a_title_with_nothing_to_show_gets_the_generic_card() {
    for design in ONE_PER_TYPEFACE {
        let generic = og::render(&OgCard { design, title: None });
        for invisible in ["", "\u{200B}\u{202E}\n\t \u{0}\u{7}"] {
            assert_eq!(og::render(&OgCard { design, title: Some(invisible) }), generic, "{invisible:?}");
        }
    }
}

#[test]
fn hostile_titles_never_panic() {
    let long = "love ".repeat(2000);
    let no_spaces = "x".repeat(10_000);
    let zalgo = format!("Z{}", "\u{0301}\u{0336}\u{0489}".repeat(3000));
    let titles = [
        long.as_str(),
        no_spaces.as_str(),
        zalgo.as_str(),
        "\u{0}\u{1}\u{7}\u{8}\u{1b}[31mred\u{7f}\u{9f}",
        "שלום עליכם, حبيبي",
        "\u{202E}txet desrever\u{202C} and \u{2066}isolates\u{2069}",
        "😍👩‍❤️‍💋‍👨🏳️‍🌈 ❤️ 💖",
        "你好，我爱你 사랑해 愛してる",
        "Привет, любимая! Γειά σου",
        "\u{FEFF}\u{FFFD}\u{FFFF}\u{E000}\u{10FFFF}\u{E0041}",
        "e\u{301}\u{302}\u{303}\u{304} n\u{303} Å",
        "\n\n\n\n\r\n\t\t",
        "a\u{2028}b\u{2029}c\u{85}d",
        "…",
        "🩷",
    ];
    // Each title in one lettering; the layout's own tests take long titles through all three.
    for (title, design) in titles.into_iter().zip(ONE_PER_TYPEFACE.into_iter().cycle()) {
        let image = decode(&og::render(&OgCard { design, title: Some(title) }));
        assert_eq!(image.dimensions(), (WIDTH, HEIGHT), "{title:?}");
    }
}

#[test]
fn designs_are_found_by_their_template_ids() {
    for design in Design::ALL {
        assert_eq!(Design::from_id(design.id()), Some(design));
    }
    for unknown in ["", "Classic", "classic ", "unknown"] {
        assert_eq!(Design::from_id(unknown), None);
    }
}

/// The web app's list of designs is the reference: same ids, colours and fonts.
#[test]
fn designs_match_the_web_app() {
    let source = include_str!("../../../web/src/config/designs.ts");
    for design in Design::ALL {
        let line = source
            .lines()
            .find(|line| {
                line.trim_start().starts_with(&format!("{}: {{ id: \"{}\"", design.id(), design.id()))
            })
            .unwrap_or_else(|| panic!("{} is missing from designs.ts", design.id()));
        assert!(line.contains(&format!("primary: \"{}\"", design.primary())), "{line}");
        assert!(line.contains(&format!("secondary: \"{}\"", design.secondary())), "{line}");
        assert!(line.contains(&format!("font: \"{}\"", design.typeface().name())), "{line}");
    }
    let listed = source.matches(" { id: \"").count();
    assert_eq!(listed, Design::ALL.len());
}
