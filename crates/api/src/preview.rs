//! Link previews: `/{slug}` is the web app's `index.html` with the page's title and message
//! in Open Graph and Twitter meta tags, rendered here because crawlers run no JavaScript.
//!
//! Every value is HTML-escaped; the page's text never becomes markup.

use std::fmt::Write;

use crate::wire::page::PageResponse;

/// Longest description in a preview, in characters.
const EXCERPT_CHARS: usize = 160;

/// What a preview says about a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Preview {
    /// The page's title.
    pub title: String,
    /// The beginning of its message.
    pub description: String,
    /// Its public URL.
    pub url: String,
    /// Its preview image's URL.
    pub image: String,
}

impl Preview {
    /// The preview of `page`, shared at `url`, with the image at `image`.
    pub(crate) fn of(page: &PageResponse, url: String, image: String) -> Self {
        let title = match &page.recipient_name {
            Some(to) => format!("{} — for {to}", page.title),
            None => page.title.clone(),
        };
        Self { title, description: excerpt(&page.message), url, image }
    }

    /// The preview of a private page, or one not yet opened: nothing of what it says.
    pub(crate) fn generic(url: String, image: String) -> Self {
        Self {
            title: "A page made for you".to_owned(),
            description: "Someone made you something on Valentine. Open the link to see it.".to_owned(),
            url,
            image,
        }
    }
}

/// The first [`EXCERPT_CHARS`] characters of `text` on one line, cut at a word when it can
/// be, with an ellipsis when cut.
fn excerpt(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= EXCERPT_CHARS {
        return flat;
    }
    let cut: String = flat.chars().take(EXCERPT_CHARS).collect();
    let at_word = cut.rfind(' ').filter(|i| *i > EXCERPT_CHARS / 2).map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", at_word.trim_end())
}

/// Escapes text for an HTML attribute value or element content.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `index` with the preview's tags before `</head>` and its title as the document title.
/// An `index` without `</head>` is returned unchanged.
pub(crate) fn render(index: &str, preview: &Preview) -> String {
    let title = escape(&preview.title);
    let description = escape(&preview.description);
    let url = escape(&preview.url);
    let image = escape(&preview.image);
    let mut tags = String::new();
    let _ = write!(
        tags,
        "<meta name=\"description\" content=\"{description}\">\
         <meta property=\"og:type\" content=\"website\">\
         <meta property=\"og:site_name\" content=\"Valentine\">\
         <meta property=\"og:title\" content=\"{title}\">\
         <meta property=\"og:description\" content=\"{description}\">\
         <meta property=\"og:url\" content=\"{url}\">\
         <meta property=\"og:image\" content=\"{image}\">\
         <meta property=\"og:image:width\" content=\"1200\">\
         <meta property=\"og:image:height\" content=\"630\">\
         <meta name=\"twitter:card\" content=\"summary_large_image\">\
         <meta name=\"twitter:image\" content=\"{image}\">\
         <meta name=\"twitter:title\" content=\"{title}\">\
         <meta name=\"twitter:description\" content=\"{description}\">"
    );
    let with_title = replace_title(index, &title);
    match with_title.find("</head>") {
        Some(at) => format!("{}{tags}{}", &with_title[..at], &with_title[at..]),
        None => with_title,
    }
}

/// `index` marked as not to be indexed (the editor's pages).
pub(crate) fn no_index(index: &str) -> String {
    match index.find("</head>") {
        Some(at) => format!("{}<meta name=\"robots\" content=\"noindex\">{}", &index[..at], &index[at..]),
        None => index.to_owned(),
    }
}

fn replace_title(index: &str, escaped_title: &str) -> String {
    if let (Some(start), Some(end)) = (index.find("<title>"), index.find("</title>"))
        && start < end
    {
        return format!("{}<title>{escaped_title} · Valentine</title>{}", &index[..start], &index[end + 8..]);
    }
    index.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Valentine</title></head><body><div id=\"root\"></div></body></html>";

    fn page(title: &str, message: &str) -> PageResponse {
        PageResponse {
            id: 1,
            slug: "alice".to_owned(),
            title: title.to_owned(),
            message: message.to_owned(),
            sender_name: None,
            recipient_name: Some("Alice".to_owned()),
            template_id: "classic".to_owned(),
            created_at: String::new(),
            updated_at: String::new(),
            photo: None,
            song: None,
            reveal_at: None,
            has_pin: false,
            locked: None,
            taken_down: None,
            view_count: 0,
        }
    }

    #[test]
    fn tags_carry_the_escaped_title_and_excerpt() {
        let preview = Preview::of(
            &page("<script>alert(1)</script> & \"you\"", "Hi"),
            "https://v.example/alice".to_owned(),
            "https://v.example/alice/og.png?v=1".to_owned(),
        );
        let html = render(INDEX, &preview);
        assert!(html.contains("<meta property=\"og:image\" content=\"https://v.example/alice/og.png?v=1\">"));
        assert!(html.contains("<meta name=\"twitter:card\" content=\"summary_large_image\">"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;you&quot; — for Alice"));
        assert!(html.contains("<meta property=\"og:url\" content=\"https://v.example/alice\">"));
        assert!(html.contains("<title>&lt;script&gt;"));
        assert_eq!(html.matches("<title>").count(), 1);
        assert!(html.ends_with("</head><body><div id=\"root\"></div></body></html>"));
    }

    #[test]
    fn a_generic_preview_says_nothing_of_the_page() {
        let html = render(INDEX, &Preview::generic("https://v.example/alice".to_owned(), "i".to_owned()));
        assert!(html.contains("A page made for you"));
        assert!(!html.contains("Alice"));
    }

    #[test]
    fn long_messages_are_cut_at_a_word_on_one_line() {
        let message = format!("{}\n\nend", "word ".repeat(100));
        let text = excerpt(&message);
        assert!(text.chars().count() <= EXCERPT_CHARS + 1);
        assert!(text.ends_with("word…"));
        assert!(!text.contains('\n'));
        assert_eq!(excerpt("  short\tone "), "short one");
    }

    #[test]
    fn an_index_without_a_head_is_left_alone() {
        let preview = Preview::of(&page("t", "m"), "u".to_owned(), "i".to_owned());
        assert_eq!(render("<p>x</p>", &preview), "<p>x</p>");
    }
}
