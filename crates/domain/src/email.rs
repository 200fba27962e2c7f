//! The address an author may give for mails about their page: checked for shape only (the
//! mail server decides the rest), trimmed, bounded. The local part may be any text without
//! whitespace or characters that could break a mail header (at most 64 characters); the
//! domain is ASCII (an international domain in its `xn--` form), two labels or more.

use crate::content::{Field, Violation, longer_than};

/// The shape [`notify_email`] takes, as a JSON Schema pattern: blank, or an address between
/// spaces, tabs and line breaks. Whitespace and control characters are spelled out, as `\s`
/// differs from one regex engine to the next.
pub const EMAIL_PATTERN: &str = concat!(
    r#"^[ \t\r\n]*([^ @<>,;"\\()\x00-\x1f\x7f-\x9f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]{1,64}"#,
    r"@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+)?[ \t\r\n]*$",
);

/// Longest address (RFC 5321's limit on a forward path).
pub const EMAIL_MAX: usize = 254;

/// The address in `raw` after trimming; `None` when blank (no mails).
///
/// # Errors
/// [`Violation::BadEmail`] for an address that is too long, lacks a local part or a domain
/// with a dot, holds whitespace, control characters or more than one `@`, or characters that
/// could break a mail header (`<`, `>`, `,`, `;`, quotes, backslashes).
pub fn notify_email(raw: &str) -> Result<Option<String>, Violation> {
    let bad = Violation::BadEmail;
    if longer_than(raw, EMAIL_MAX) {
        return Err(bad);
    }
    // Only the blanks the schema's pattern allows around an address are trimmed; any other
    // is a character of the address, and refused below.
    let value = raw.trim_matches([' ', '\t', '\r', '\n']);
    if value.is_empty() {
        return Ok(None);
    }
    let (local, domain) = value.split_once('@').ok_or(bad)?;
    let unsafe_char = |c: char| {
        c.is_whitespace()
            || c.is_control()
            || matches!(c, '@' | '<' | '>' | ',' | ';' | '"' | '\\' | '(' | ')')
    };
    if local.is_empty() || local.chars().nth(64).is_some() || local.chars().any(unsafe_char) {
        return Err(bad);
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(bad);
    }
    Ok(Some(value.to_owned()))
}

/// The field an address belongs to.
pub const FIELD: Field = Field::NotifyEmail;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_pass_trimmed_and_blank_means_none() {
        assert_eq!(notify_email("  ana@example.com "), Ok(Some("ana@example.com".to_owned())));
        assert_eq!(
            notify_email("a.b+tag@mail.example.co.uk"),
            Ok(Some("a.b+tag@mail.example.co.uk".to_owned()))
        );
        assert_eq!(notify_email("josé@example.de"), Ok(Some("josé@example.de".to_owned())));
        assert_eq!(notify_email("ana@xn--bcher-kva.de"), Ok(Some("ana@xn--bcher-kva.de".to_owned())));
        assert_eq!(notify_email("   "), Ok(None));
        assert_eq!(notify_email("\r\n\t "), Ok(None));
    }

    #[test]
    fn what_could_break_a_header_or_is_no_address_is_refused() {
        let long = format!("{}@example.com", "a".repeat(250));
        let padded = format!("{}ana@example.com", " ".repeat(EMAIL_MAX - 14));
        for bad in [
            "\u{a0}ana@example.com",
            "ana@example.com\u{85}",
            padded.as_str(),
            "ana",
            "@example.com",
            "ana@",
            "ana@localhost",
            "ana@@example.com",
            "a@b@example.com",
            "ana smith@example.com",
            "ana@exa mple.com",
            "ana@example.com\r\nBcc: x@y.z",
            "<ana@example.com>",
            "ana@example.com, bob@example.com",
            "\"ana\"@example.com",
            "ana@-example.com",
            "ana@example..com",
            "ana@bücher.de",
            long.as_str(),
        ] {
            assert_eq!(notify_email(bad), Err(Violation::BadEmail), "{bad:?}");
        }
    }
}
