//! QR codes: standalone, well-formed SVG with a title, the link escaped, and an error rather
//! than a panic for links too long to encode.

use valentine_media::qr::{self, DARK, QrError};

fn parse(svg: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(svg).unwrap()
}

#[test]
fn a_link_gives_a_standalone_svg_with_a_view_box_and_a_title() {
    let svg = qr::svg("https://valentine.example/alice").unwrap();
    let document = parse(&svg);
    let root = document.root_element();

    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    let view_box: Vec<u32> =
        root.attribute("viewBox").unwrap().split(' ').map(|n| n.parse().unwrap()).collect();
    // 29 modules (version 3 holds up to 42 bytes at level M) and a quiet zone of 4 on each side.
    assert_eq!(view_box, [0, 0, 37, 37]);
    let title = root.first_element_child().unwrap();
    assert_eq!(title.tag_name().name(), "title");
    assert_eq!(title.text(), Some("QR code of the link https://valentine.example/alice"));
    let path = root.descendants().find(|node| node.has_tag_name("path")).unwrap();
    assert_eq!(path.attribute("fill"), Some(DARK));
    assert!(path.attribute("d").unwrap().starts_with("M4 4h7"), "the finder pattern's top row comes first");
}

#[test]
fn the_link_is_escaped_for_xml() {
    let url = "https://valentine.example/a?x=1&y=<b>\"'";
    let svg = qr::svg(url).unwrap();

    assert!(svg.contains("&amp;y=&lt;b&gt;&quot;&apos;"));
    assert!(!svg.contains("<b>"));
    let document = parse(&svg);
    let title = document.descendants().find(|node| node.has_tag_name("title")).unwrap();
    assert_eq!(title.text(), Some(format!("QR code of the link {url}").as_str()));
}

#[test]
fn characters_xml_forbids_are_replaced_so_the_document_stays_well_formed() {
    let svg = qr::svg("https://valentine.example/\u{0}\u{1b}\u{FFFF}").unwrap();
    let document = parse(&svg);
    let title = document.descendants().find(|node| node.has_tag_name("title")).unwrap();
    assert_eq!(title.text(), Some("QR code of the link https://valentine.example/\u{FFFD}\u{FFFD}\u{FFFD}"));
}

#[test]
fn a_link_too_long_for_a_qr_code_is_an_error() {
    let url = format!("https://valentine.example/{}", "a".repeat(4000));
    assert_eq!(qr::svg(&url), Err(QrError::TooLong));
}

#[test]
fn the_same_link_gives_the_same_svg() {
    assert_eq!(qr::svg("https://valentine.example/x"), qr::svg("https://valentine.example/x"));
}
