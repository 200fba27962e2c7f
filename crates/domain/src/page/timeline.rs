//! Time travel: what a page was at each point of its history, and what each event changed
//! (before → after). Auditors browse it, the author's editor shows it and restores from it.
//!
//! A [`PageVersion`] is what the page showed and how it was set up, never a secret: a PIN is
//! only "set", and no hash or key appears. Folding a slug's events in order gives a version
//! after each; [`changes`] compares two of them field by field.

use serde::Serialize;

use super::event::PageEvent;
use crate::photo::PhotoRef;
use crate::reply::Reply;
use crate::template::TemplateId;

/// A page as it stood after some event of its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageVersion {
    /// The slug in its author's casing.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Message.
    pub message: String,
    /// Who it is from.
    pub sender_name: Option<String>,
    /// Who it is for.
    pub recipient_name: Option<String>,
    /// The design.
    pub template_id: TemplateId,
    /// The song's link.
    pub song_url: Option<String>,
    /// When it opens (RFC 3339, UTC).
    pub reveal_at: Option<String>,
    /// Whether a PIN keeps it private.
    pub pin: bool,
    /// The photo.
    pub photo: Option<PhotoRef>,
    /// Where mails about it go.
    pub notify_email: Option<String>,
    /// Whether someone other than its author opened it.
    pub opened: bool,
    /// The recipient's reply.
    pub answer: Option<Reply>,
    /// Reports recorded.
    pub reports: u32,
    /// Why a moderator took it down, while it is down.
    pub taken_down: Option<String>,
}

/// One field an event changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The field's name, as the API names it.
    pub field: &'static str,
    /// Its value before, fit to show (`None`: it had none).
    pub before: Option<String>,
    /// Its value after (`None`: it has none any more).
    pub after: Option<String>,
}

impl PageVersion {
    /// The page after `event`, given the page before it (`None`: there was no live page).
    /// Events that end a life give `None`.
    pub fn after(before: Option<&Self>, event: &PageEvent) -> Option<Self> {
        if let PageEvent::PageCreated(e) = event {
            return Some(Self {
                slug: e.slug.clone(),
                title: e.title.clone(),
                message: e.message.clone(),
                sender_name: e.sender_name.clone(),
                recipient_name: e.recipient_name.clone(),
                template_id: e.template_id,
                song_url: e.song_url.clone(),
                reveal_at: e.reveal_at.clone(),
                pin: e.pin_hash.is_some(),
                photo: None,
                notify_email: None,
                opened: false,
                answer: None,
                reports: 0,
                taken_down: None,
            });
        }
        let mut page = before?.clone();
        match event {
            PageEvent::PageCreated(_) => {}
            PageEvent::PageDeleted(_) | PageEvent::PageErased(_) => return None,
            PageEvent::PageUpdated(e) => {
                let e = e.clone();
                set(&mut page.title, e.title);
                set(&mut page.message, e.message);
                set(&mut page.sender_name, e.sender_name);
                set(&mut page.recipient_name, e.recipient_name);
                set(&mut page.template_id, e.template_id);
                set(&mut page.song_url, e.song_url);
                set(&mut page.reveal_at, e.reveal_at);
                set(&mut page.pin, e.pin_hash.map(|p| p.is_some()));
            }
            PageEvent::PageOpened(_) => page.opened = true,
            PageEvent::PageAnswered(e) => {
                page.opened = true;
                page.answer = Some(e.answer);
            }
            PageEvent::NotificationsSet(e) => page.notify_email.clone_from(&e.email),
            PageEvent::PhotoSet(e) => page.photo.clone_from(&e.photo),
            PageEvent::PageReported(_) => page.reports = page.reports.saturating_add(1),
            PageEvent::PageTakenDown(e) => page.taken_down = Some(e.reason.clone()),
            PageEvent::PageReinstated(_) => page.taken_down = None,
        }
        Some(page)
    }

    /// Each field by name with its value fit to show, in API order.
    fn fields(&self) -> [(&'static str, Option<String>); 15] {
        let yes = |flag: bool| flag.then(|| "yes".to_owned());
        [
            ("slug", Some(self.slug.clone())),
            ("title", Some(self.title.clone())),
            ("message", Some(self.message.clone())),
            ("sender_name", self.sender_name.clone()),
            ("recipient_name", self.recipient_name.clone()),
            ("template_id", Some(self.template_id.as_str().to_owned())),
            ("song_url", self.song_url.clone()),
            ("reveal_at", self.reveal_at.clone()),
            ("pin", self.pin.then(|| "set".to_owned())),
            ("photo", self.photo.as_ref().map(describe_photo)),
            ("notify_email", self.notify_email.clone()),
            ("opened", yes(self.opened)),
            ("answer", self.answer.map(|a| a.as_str().to_owned())),
            ("reports", (self.reports > 0).then(|| self.reports.to_string())),
            ("taken_down", self.taken_down.clone()),
        ]
    }
}

fn set<T>(field: &mut T, change: Option<T>) {
    if let Some(value) = change {
        *field = value;
    }
}

/// `image/jpeg 1600×1200, 245 kB (sha256 ab12cd34…)`: enough to tell two photos apart.
fn describe_photo(photo: &PhotoRef) -> String {
    let short: String = photo.sha256.chars().take(8).collect();
    let kb = photo.bytes.div_ceil(1000);
    format!("{} {}×{}, {kb} kB (sha256 {short}…)", photo.content_type, photo.width, photo.height)
}

/// The fields that differ between `before` and `after`, in API order. A page coming into
/// being changes every field it has; a page ending changes every field it had.
pub fn changes(before: Option<&PageVersion>, after: Option<&PageVersion>) -> Vec<FieldChange> {
    let none = || std::array::from_fn::<_, 15, _>(|_| ("", None));
    let old = before.map_or_else(none, PageVersion::fields);
    let new = after.map_or_else(none, PageVersion::fields);
    old.into_iter()
        .zip(new)
        .filter(|((_, b), (_, a))| b != a)
        .map(|((old_name, before), (new_name, after))| FieldChange {
            field: if new_name.is_empty() { old_name } else { new_name },
            before,
            after,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::{
        NotificationsSet, PageCreated, PageDeleted, PageModerated, PageReported, PageUpdated, PhotoSet,
    };
    use crate::pin::PinHash;
    use crate::report::ReportReason;
    use crate::token::EditToken;

    fn created() -> PageEvent {
        PageEvent::PageCreated(PageCreated {
            slug: "Mia".to_owned(),
            title: "Be mine".to_owned(),
            message: "Every day".to_owned(),
            sender_name: None,
            recipient_name: Some("Alex".to_owned()),
            template_id: TemplateId::Classic,
            edit_token_hash: EditToken::from_random_bytes([1; 32]).hash(),
            song_url: None,
            reveal_at: None,
            pin_hash: Some(PinHash::new("$argon2id$secret")),
        })
    }

    fn change(field: &'static str, before: Option<&str>, after: Option<&str>) -> FieldChange {
        FieldChange { field, before: before.map(str::to_owned), after: after.map(str::to_owned) }
    }

    #[test]
    fn a_creation_sets_every_field_it_has_and_no_secret_shows() {
        let v1 = PageVersion::after(None, &created()).expect("a page");
        assert_eq!(
            changes(None, Some(&v1)),
            [
                change("slug", None, Some("Mia")),
                change("title", None, Some("Be mine")),
                change("message", None, Some("Every day")),
                change("recipient_name", None, Some("Alex")),
                change("template_id", None, Some("classic")),
                change("pin", None, Some("set")),
            ]
        );
        let json = serde_json::to_string(&v1).expect("json");
        assert!(!json.contains("argon2") && !json.contains("edit_token"), "{json}");
    }

    #[test]
    fn an_update_changes_only_what_it_names_and_a_removed_name_becomes_none() {
        let v1 = PageVersion::after(None, &created()).expect("a page");
        let update = PageEvent::PageUpdated(PageUpdated {
            title: Some("Still mine".to_owned()),
            recipient_name: Some(None),
            pin_hash: Some(None),
            template_id: Some(TemplateId::Proposal),
            ..PageUpdated::default()
        });
        let v2 = PageVersion::after(Some(&v1), &update).expect("still a page");
        assert_eq!(
            changes(Some(&v1), Some(&v2)),
            [
                change("title", Some("Be mine"), Some("Still mine")),
                change("recipient_name", Some("Alex"), None),
                change("template_id", Some("classic"), Some("proposal")),
                change("pin", Some("set"), None),
            ]
        );
        assert_eq!(v2.message, "Every day");
    }

    #[test]
    fn photos_mails_reports_and_moderation_show_as_fields_and_an_end_clears_them_all() {
        let v1 = PageVersion::after(None, &created()).expect("a page");
        let photo = PageEvent::PhotoSet(PhotoSet {
            photo: Some(PhotoRef {
                sha256: "ab12cd34ef".to_owned(),
                content_type: "image/jpeg".to_owned(),
                width: 1600,
                height: 1200,
                bytes: 244_500,
            }),
        });
        let v2 = PageVersion::after(Some(&v1), &photo).expect("a page");
        assert_eq!(
            changes(Some(&v1), Some(&v2)),
            [change("photo", None, Some("image/jpeg 1600×1200, 245 kB (sha256 ab12cd34…)"))]
        );
        let mail = PageEvent::NotificationsSet(NotificationsSet {
            email: Some("a@example.com".to_owned()),
            unsubscribe_key: Some("k".to_owned()),
        });
        let v3 = PageVersion::after(Some(&v2), &mail).expect("a page");
        assert_eq!(changes(Some(&v2), Some(&v3)), [change("notify_email", None, Some("a@example.com"))]);
        let report = PageEvent::PageReported(PageReported { reason: ReportReason::Spam, note: None });
        let v4 = PageVersion::after(Some(&v3), &report).expect("a page");
        assert_eq!(changes(Some(&v3), Some(&v4)), [change("reports", None, Some("1"))]);
        let down =
            PageEvent::PageTakenDown(PageModerated { by: "ana".to_owned(), reason: "spam".to_owned() });
        let v5 = PageVersion::after(Some(&v4), &down).expect("a page");
        assert_eq!(changes(Some(&v4), Some(&v5)), [change("taken_down", None, Some("spam"))]);
        let up = PageEvent::PageReinstated(PageModerated { by: "ana".to_owned(), reason: "ok".to_owned() });
        let v6 = PageVersion::after(Some(&v5), &up).expect("a page");
        assert_eq!(changes(Some(&v5), Some(&v6)), [change("taken_down", Some("spam"), None)]);

        let gone = PageVersion::after(Some(&v6), &PageEvent::PageDeleted(PageDeleted {}));
        assert_eq!(gone, None);
        let cleared = changes(Some(&v6), None);
        assert_eq!(cleared.first(), Some(&change("slug", Some("Mia"), None)));
        assert!(cleared.iter().all(|c| c.after.is_none() && c.before.is_some()));
        assert_eq!(cleared.len(), 9);
    }

    #[test]
    fn an_event_without_a_live_page_before_it_leaves_none() {
        let update =
            PageEvent::PageUpdated(PageUpdated { title: Some("x".to_owned()), ..PageUpdated::default() });
        assert_eq!(PageVersion::after(None, &update), None);
    }
}
