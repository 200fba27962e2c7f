//! What a mail says and carries: pure, so every word and header is tested without a server.
//!
//! Every mail has:
//! - a `Message-ID` made of the event's stream position, so a mail sent twice (which the
//!   ledger prevents) would still be one message to the programs that read it;
//! - `List-Unsubscribe` with the one-click link and `List-Unsubscribe-Post` (RFC 8058), and
//!   the same link for people in the text;
//! - `Auto-Submitted: auto-generated` (RFC 3834), so nobody's vacation reply answers it.

use lettre::Message;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Mailboxes};
use time::OffsetDateTime;
use time::macros::format_description;
use valentine_domain::Reply;

use crate::error::NotifierError;

/// What happened to the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum News {
    /// Someone other than its author opened it for the first time.
    Opened,
    /// The recipient replied.
    Answered {
        /// What they sent back.
        answer: Reply,
        /// How many times "No" ran away first.
        dodges: u32,
    },
}

impl News {
    /// The word for it in logs and in the `Message-ID`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Answered { .. } => "answered",
        }
    }
}

/// One mail to write: the news, the page it is about, and where it goes.
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    /// What happened.
    pub news: News,
    /// When (the event's time).
    pub at: OffsetDateTime,
    /// Where the event is in the stream.
    pub stream_sequence: u64,
    /// The page's slug, in its author's casing.
    pub slug: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Who it is for, if named.
    pub recipient_name: Option<&'a str>,
    /// The author's address.
    pub to: &'a str,
    /// The key of the address's unsubscribe link.
    pub unsubscribe_key: &'a str,
}

/// The mail for `notice`, from `from`, with links under `frontend` (the public base URL).
///
/// # Errors
/// [`NotifierError::Settings`] when an address does not parse.
pub fn compose(notice: &Notice<'_>, from: &Mailbox, frontend: &str) -> Result<Message, NotifierError> {
    let to: Mailbox =
        notice.to.parse().map_err(|e| NotifierError::Settings(format!("the page's address: {e}")))?;
    let base = frontend.trim_end_matches('/');
    let page = format!("{base}/{}", notice.slug);
    let one_click = format!("{base}/api/pages/{}/unsubscribe?token={}", notice.slug, notice.unsubscribe_key);
    let for_people = format!("{page}/unsubscribe#token={}", notice.unsubscribe_key);
    let host =
        base.rsplit("//").next().unwrap_or("valentine").split(['/', ':']).next().unwrap_or("valentine");
    let title = one_line(notice.title);
    let who = notice.recipient_name.map(one_line).unwrap_or_else(|| "Someone".to_owned());
    let when = notice
        .at
        .format(format_description!("[day padding:none] [month repr:long] [year] at [hour]:[minute] UTC"))
        .unwrap_or_default();
    let (subject, news) = match notice.news {
        News::Opened => (
            format!("Your page “{title}” was opened"),
            format!("{who} opened your page “{title}” on {when}."),
        ),
        News::Answered { answer: Reply::Yes, dodges } => (
            format!("Your page “{title}” was answered: yes!"),
            format!("{who} said yes to “{title}” on {when}{}.", after_dodges(dodges)),
        ),
        News::Answered { answer: Reply::Heart, .. } => (
            format!("Your page “{title}” was answered with a heart"),
            format!("{who} sent a heart back for “{title}” on {when}."),
        ),
    };
    let text = format!(
        "{news}\n\n    {page}\n\nYour editor shows the views day by day, and the answer when it comes.\n\n\
         --\nValentine\nYou get this mail because this address was given for the page {page}.\n\
         No more mails about it: {for_people}\n"
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(format!(
            "<{}.{}.{}@{host}>",
            notice.stream_sequence,
            notice.news.kind(),
            notice.slug
        )))
        .header(ListUnsubscribe(format!("<{one_click}>")))
        .header(ListUnsubscribePost)
        .header(AutoSubmitted)
        .header(ContentType::TEXT_PLAIN)
        .body(text)
        .map_err(|e| NotifierError::Settings(e.to_string()))
}

/// The sender `MAIL_FROM` names.
///
/// # Errors
/// [`NotifierError::Settings`] when it is not one address.
pub fn sender(mail_from: &str) -> Result<Mailbox, NotifierError> {
    let boxes: Mailboxes =
        mail_from.parse().map_err(|e| NotifierError::Settings(format!("MAIL_FROM={mail_from:?}: {e}")))?;
    let mut boxes = boxes.into_iter();
    match (boxes.next(), boxes.next()) {
        (Some(one), None) => Ok(one),
        _ => Err(NotifierError::Settings(format!("MAIL_FROM={mail_from:?} must be one address"))),
    }
}

fn after_dodges(dodges: u32) -> String {
    match dodges {
        0 => String::new(),
        1 => ", after “No” ran away once".to_owned(),
        n => format!(", after “No” ran away {n} times"),
    }
}

/// `text` on one line: a title or name never breaks a header or the text's layout.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned()
}

/// `List-Unsubscribe: <url>`.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834).
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    /// `text` with quoted-printable undone (soft breaks and `=XX` bytes).
    fn quoted_printable(text: &str) -> String {
        let joined = text.replace("=\r\n", "").replace("\r\n", "\n");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
            match (bytes[i], hex) {
                (b'=', Some(byte)) => {
                    out.push(byte);
                    i += 3;
                }
                (byte, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn notice(news: News) -> Notice<'static> {
        Notice {
            news,
            at: datetime!(2026-02-14 20:15:03 UTC),
            stream_sequence: 42,
            slug: "AliceAndBob",
            title: "Will you\nbe mine?",
            recipient_name: Some("Alice"),
            to: "sam@example.com",
            unsubscribe_key: "Hq3-key_1",
        }
    }

    fn written(news: News) -> String {
        let from = sender("Valentine <hello@valentine.example>").expect("an address");
        let message = compose(&notice(news), &from, "https://valentine.example/").expect("a mail");
        String::from_utf8(message.formatted()).expect("text")
    }

    #[test]
    fn an_open_says_who_what_and_when_and_carries_the_unsubscribe_headers() {
        let mail = written(News::Opened);
        assert!(mail.contains("To: sam@example.com"), "{mail}");
        assert!(mail.contains("From: Valentine <hello@valentine.example>"), "{mail}");
        assert!(mail.contains("Message-ID: <42.opened.AliceAndBob@valentine.example>"), "{mail}");
        assert!(
            mail.contains("List-Unsubscribe: <https://valentine.example/api/pages/AliceAndBob/unsubscribe?token=Hq3-key_1>"),
            "{mail}"
        );
        assert!(mail.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{mail}");
        assert!(mail.contains("Auto-Submitted: auto-generated"), "{mail}");
        let body = quoted_printable(&mail);
        assert!(
            body.contains("Alice opened your page “Will you be mine?” on 14 February 2026 at 20:15 UTC"),
            "{body}"
        );
        assert!(body.contains("https://valentine.example/AliceAndBob/unsubscribe#token=Hq3-key_1"), "{body}");
    }

    #[test]
    fn a_reply_says_what_came_back_and_a_title_never_breaks_a_header() {
        let yes = written(News::Answered { answer: Reply::Yes, dodges: 2 });
        let subject = yes.lines().find(|l| l.starts_with("Subject:")).expect("a subject");
        assert!(!subject.contains('\n'));
        assert!(yes.contains("Message-ID: <42.answered.AliceAndBob@valentine.example>"), "{yes}");
        let heart = written(News::Answered { answer: Reply::Heart, dodges: 0 });
        assert_ne!(yes, heart);
    }

    #[test]
    fn mail_from_must_be_one_address() {
        assert!(sender("hello@valentine.example").is_ok());
        assert!(sender("a@example.com, b@example.com").is_err());
        assert!(sender("not an address").is_err());
    }
}
