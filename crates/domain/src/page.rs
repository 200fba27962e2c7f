//! The `Page` aggregate: one per lowercase slug, across all of that slug's lives.
//!
//! A slug's stream holds every page ever created at it: after `PageDeleted` the slug is free
//! and `CreatePage` starts a new page on the same stream. Slug uniqueness is therefore this
//! aggregate's own invariant, enforced by optimistic concurrency on its stream.

mod command;
mod error;
mod event;
pub mod timeline;
pub mod versions;

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

pub use self::command::{
    AnswerPage, CreatePage, DeletePage, ErasePage, ModeratePage, NotifyChange, OpenPage, PageCommand,
    PageExtras, ReportPage, SetPhoto, Unsubscribe, UpdatePage,
};
pub use self::error::PageError;
pub use self::event::{
    ErasedBy, ErasedEvent, NotificationsSet, PageAnswered, PageCreated, PageDeleted, PageErased, PageEvent,
    PageModerated, PageOpened, PageReported, PageUpdated, PhotoSet,
};

/// What an operator decides about pages, handed to the aggregate with every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRules {
    /// The most events one page's life may hold (its creation included); beyond it updates
    /// are refused, and deletion stays possible.
    pub max_events: u32,
}

impl Default for PageRules {
    fn default() -> Self {
        Self { max_events: 1_000 }
    }
}
use crate::content::Violation;
use crate::content::{self, Field, MESSAGE_MAX, TITLE_MAX, Violations};
use crate::email;
use crate::photo::PhotoRef;
use crate::pin::PinHash;
use crate::reply::{DODGES_MAX, Reply};
use crate::report::{self, REPORTS_MAX};
use crate::reveal::{RevealInput, RevealRefusal};
use crate::template::TemplateId;
use crate::token::{EditToken, EditTokenHash};
use crate::{reveal, song};

/// The write-side state of a slug: the live page, if there is one.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    live: Option<LivePage>,
    /// Whether the slug holds words not yet erased (a live page, or deleted ones from before
    /// deletion erased).
    #[serde(default)]
    unerased: bool,
}

/// What the aggregate needs to know about a live page to decide on commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivePage {
    /// Slug in the author's casing.
    pub slug: String,
    /// Current title.
    pub title: String,
    /// Current message.
    pub message: String,
    /// Current sender name.
    pub sender_name: Option<String>,
    /// Current recipient name.
    pub recipient_name: Option<String>,
    /// Current design.
    pub template_id: TemplateId,
    /// Hash of the edit token.
    pub edit_token_hash: EditTokenHash,
    /// Events in this page's life so far, its creation included (opens and replies, which
    /// come at most once each, left out).
    #[serde(default)]
    pub events: u32,
    /// Whether someone other than its author opened it.
    #[serde(default)]
    pub opened: bool,
    /// Whether the recipient replied.
    #[serde(default)]
    pub answered: bool,
    /// Where mails about it go.
    #[serde(default)]
    pub notify_email: Option<String>,
    /// The key of the address's unsubscribe link.
    #[serde(default)]
    pub unsubscribe_key: Option<String>,
    /// Its song's canonical link.
    #[serde(default)]
    pub song_url: Option<String>,
    /// When it opens (RFC 3339, UTC).
    #[serde(default)]
    pub reveal_at: Option<String>,
    /// The hash of its PIN.
    #[serde(default)]
    pub pin_hash: Option<PinHash>,
    /// Its photo.
    #[serde(default)]
    pub photo: Option<PhotoRef>,
    /// Reports recorded in this life.
    #[serde(default)]
    pub reports: u32,
    /// Why a moderator took it down, while it is down.
    #[serde(default)]
    pub taken_down: Option<String>,
}

impl Page {
    /// Events after which a slug is as if new: a command needs nothing from before the
    /// latest of them.
    pub const RESTARTS: &'static [&'static str] = &[PageEvent::DELETED, PageEvent::ERASED];

    /// Events whose payload is personal: sealed with the page life's data key.
    pub const PERSONAL: &'static [&'static str] = &[
        PageEvent::CREATED,
        PageEvent::UPDATED,
        PageEvent::ANSWERED,
        PageEvent::NOTIFICATIONS_SET,
        PageEvent::PHOTO_SET,
        PageEvent::REPORTED,
    ];

    /// Events that begin a page life (and its data key).
    pub const BEGINS_LIFE: &'static [&'static str] = &[PageEvent::CREATED];

    /// Events that erase every earlier event of the slug.
    pub const ERASES: &'static [&'static str] = &[PageEvent::ERASED];

    /// The live page, or `None` when the slug is free.
    pub fn live(&self) -> Option<&LivePage> {
        self.live.as_ref()
    }

    fn create(&self, cmd: &CreatePage) -> Result<(PageCreated, Option<NotificationsSet>), PageError> {
        if self.live.is_some() {
            return Err(PageError::SlugTaken);
        }
        let notify = cmd.notify.as_ref().map(|n| email::notify_email(&n.email)).transpose();
        let extras = &cmd.extras;
        let song = extras.song_url.as_deref().map(song::song_url).transpose();
        let (reveal, out_of_range) = checked_reveal(extras.reveal.as_ref());
        let pin = extras.pin.clone().transpose();
        let checked = Violations::collect(
            content::required(Field::Title, &cmd.title, TITLE_MAX),
            content::required(Field::Message, &cmd.message, MESSAGE_MAX),
            content::optional_name(Field::SenderName, cmd.sender_name.as_deref()),
            content::optional_name(Field::RecipientName, cmd.recipient_name.as_deref()),
            cmd.template_id.as_deref().map_or(Ok(TemplateId::default()), TemplateId::parse),
        );
        let checked = Violations::and(Violations::and(Violations::and(checked, notify), song), reveal);
        let (
            ((((title, message, sender_name, recipient_name, template_id), address), song), reveal_at),
            pin_hash,
        ) = Violations::and(checked, pin).map_err(PageError::Invalid)?;
        if let Some(refusal) = out_of_range {
            return Err(PageError::RevealOutOfRange(refusal.message()));
        }
        let notifications = address.flatten().and_then(|email| {
            let key = cmd.notify.as_ref().map(|n| n.unsubscribe_key.clone())?;
            Some(NotificationsSet { email: Some(email), unsubscribe_key: Some(key) })
        });
        let created = PageCreated {
            slug: cmd.slug.as_str().to_owned(),
            title,
            message,
            sender_name,
            recipient_name,
            template_id,
            edit_token_hash: cmd.edit_token_hash,
            song_url: song.flatten().map(|s| s.url),
            reveal_at: reveal_at.flatten(),
            pin_hash,
        };
        Ok((created, notifications))
    }

    fn authorize(&self, token: &EditToken) -> Result<&LivePage, PageError> {
        let live = self.live.as_ref().ok_or(PageError::NotFound)?;
        if live.edit_token_hash.matches(token) { Ok(live) } else { Err(PageError::WrongEditToken) }
    }

    fn update(
        &self,
        cmd: UpdatePage,
        rules: PageRules,
    ) -> Result<(PageUpdated, Option<NotificationsSet>), PageError> {
        let live = self.authorize(&cmd.edit_token)?;
        if live.events >= rules.max_events {
            return Err(PageError::TooManyChanges { limit: rules.max_events });
        }
        let notify = cmd.notify.as_ref().map(|n| email::notify_email(&n.email)).transpose();
        if cmd
            .reveal
            .as_ref()
            .is_some_and(|r| live.reveal_at.as_deref().is_some_and(|at| reveal::has_come(at, r.now)))
        {
            return Err(PageError::AlreadyRevealed);
        }
        let song = cmd.song_url.as_deref().map(song::song_url).transpose();
        let (reveal, out_of_range) = checked_reveal(cmd.reveal.as_ref());
        let pin = cmd.pin.clone().map(Option::transpose).transpose();
        let checked = Violations::collect(
            cmd.title.map(|raw| content::required(Field::Title, &raw, TITLE_MAX)).transpose(),
            cmd.message.map(|raw| content::required(Field::Message, &raw, MESSAGE_MAX)).transpose(),
            cmd.sender_name.map(|raw| content::optional_name(Field::SenderName, Some(&raw))).transpose(),
            cmd.recipient_name
                .map(|raw| content::optional_name(Field::RecipientName, Some(&raw)))
                .transpose(),
            cmd.template_id.map(|raw| TemplateId::parse(&raw)).transpose(),
        );
        let checked = Violations::and(Violations::and(Violations::and(checked, notify), song), reveal);
        let (
            ((((title, message, sender_name, recipient_name, template_id), address), song), reveal_at),
            pin_hash,
        ) = Violations::and(checked, pin).map_err(PageError::Invalid)?;
        if let Some(refusal) = out_of_range {
            return Err(PageError::RevealOutOfRange(refusal.message()));
        }
        // Keep only what differs from the current page, so the events list real changes.
        let updated = PageUpdated {
            title: title.filter(|t| *t != live.title),
            message: message.filter(|m| *m != live.message),
            sender_name: sender_name.filter(|n| *n != live.sender_name),
            recipient_name: recipient_name.filter(|n| *n != live.recipient_name),
            template_id: template_id.filter(|t| *t != live.template_id),
            song_url: song.map(|s| s.map(|s| s.url)).filter(|s| *s != live.song_url),
            reveal_at: reveal_at.filter(|r| *r != live.reveal_at),
            // A new PIN always counts as a change: its hash is salted, so equal PINs differ.
            pin_hash: pin_hash.filter(|p| p.is_some() || live.pin_hash.is_some()),
        };
        let notifications = address.filter(|a| *a != live.notify_email).map(|email| NotificationsSet {
            unsubscribe_key: email.as_ref().and(cmd.notify.map(|n| n.unsubscribe_key)),
            email,
        });
        Ok((updated, notifications))
    }

    fn open(&self, cmd: &OpenPage) -> Option<PageOpened> {
        let live = self.live.as_ref()?;
        let by_author = cmd.presented.as_ref().is_some_and(|t| live.edit_token_hash.matches(t));
        (live.edit_token_hash == cmd.life && !live.opened && !by_author).then_some(PageOpened {})
    }

    fn answer(&self, cmd: &AnswerPage) -> Result<(Option<PageOpened>, PageAnswered), PageError> {
        let live = self.live.as_ref().ok_or(PageError::NotFound)?;
        if live.taken_down.is_some() {
            return Err(PageError::TakenDown);
        }
        if live.answered {
            return Err(PageError::AlreadyAnswered);
        }
        if live.reveal_at.as_deref().is_some_and(|at| !reveal::has_come(at, cmd.now)) {
            return Err(PageError::NotRevealed);
        }
        match Reply::for_design(live.template_id) {
            expected if expected != cmd.answer => {
                return Err(PageError::BadReply(match expected {
                    Reply::Yes => "This page asks a question: its answer is \"yes\"",
                    Reply::Heart => "This page takes a heart back: its answer is \"heart\"",
                }));
            }
            Reply::Heart if cmd.dodges > 0 => {
                return Err(PageError::BadReply("Only a proposal's \"No\" runs away"));
            }
            _ if cmd.dodges > DODGES_MAX => {
                return Err(PageError::BadReply("dodges must be at most 10000"));
            }
            _ => {}
        }
        // A reply is an open too, if no read was recorded as one first.
        let opened = (!live.opened).then_some(PageOpened {});
        Ok((opened, PageAnswered { answer: cmd.answer, dodges: cmd.dodges }))
    }

    /// A report, or nothing once the page is down or has all the reports it records.
    fn report(&self, cmd: &ReportPage) -> Result<Option<PageReported>, PageError> {
        let live = self.live.as_ref().ok_or(PageError::NotFound)?;
        let note = report::note(cmd.note.as_deref()).map_err(PageError::BadModeration)?;
        let needed = live.taken_down.is_none() && live.reports < REPORTS_MAX;
        Ok(needed.then_some(PageReported { reason: cmd.reason, note }))
    }

    fn moderate(&self, cmd: ModeratePage, down: bool) -> Result<PageModerated, PageError> {
        let live = self.live.as_ref().ok_or(PageError::NotFound)?;
        let reason = report::moderation_reason(&cmd.reason).map_err(PageError::BadModeration)?;
        match (down, live.taken_down.is_some()) {
            (true, true) => Err(PageError::AlreadyTakenDown),
            (false, false) => Err(PageError::NotTakenDown),
            _ => Ok(PageModerated { by: cmd.by, reason }),
        }
    }

    fn unsubscribe(&self, cmd: &Unsubscribe) -> Result<Option<NotificationsSet>, PageError> {
        let live = self.live.as_ref().ok_or(PageError::NotFound)?;
        let Some(key) = live.unsubscribe_key.as_deref() else { return Err(PageError::WrongUnsubscribeKey) };
        if !constant_time_eq(key.as_bytes(), cmd.key.as_bytes()) {
            return Err(PageError::WrongUnsubscribeKey);
        }
        // Unsubscribing twice changes nothing the second time.
        Ok(live
            .notify_email
            .is_some()
            .then(|| NotificationsSet { email: None, unsubscribe_key: Some(key.to_owned()) }))
    }
}

impl CreatePage {
    /// What this command records on a free slug, decided without any page: lets a caller
    /// refuse bad input before doing any I/O, and know the trimmed content it will store.
    /// The aggregate decides again when the command runs.
    ///
    /// # Errors
    /// [`PageError::Invalid`] with every broken content rule.
    pub fn check(&self) -> Result<PageCreated, PageError> {
        Page::default().create(self).map(|(created, _)| created)
    }
}

impl Aggregate for Page {
    /// Frozen: stored with every event.
    const TYPE: &'static str = "Page";
    type Command = PageCommand;
    type Event = PageEvent;
    type Error = PageError;
    type Services = PageRules;

    async fn handle(
        &mut self,
        command: PageCommand,
        rules: &PageRules,
        sink: &EventSink<Self>,
    ) -> Result<(), PageError> {
        let event = match command {
            PageCommand::Create(cmd) => {
                let (created, notifications) = self.create(&cmd)?;
                let events =
                    [Some(PageEvent::PageCreated(created)), notifications.map(PageEvent::NotificationsSet)];
                return self.write_all(events.into_iter().flatten(), sink).await;
            }
            PageCommand::Update(cmd) => {
                let (update, notifications) = self.update(cmd, *rules)?;
                // Nothing is recorded when the page already says exactly this.
                let events = [
                    (!update.is_empty()).then_some(PageEvent::PageUpdated(update)),
                    notifications.map(PageEvent::NotificationsSet),
                ];
                return self.write_all(events.into_iter().flatten(), sink).await;
            }
            PageCommand::Open(cmd) => match self.open(&cmd) {
                Some(opened) => PageEvent::PageOpened(opened),
                None => return Ok(()),
            },
            PageCommand::Answer(cmd) => {
                let (opened, answered) = self.answer(&cmd)?;
                let events = [opened.map(PageEvent::PageOpened), Some(PageEvent::PageAnswered(answered))];
                return self.write_all(events.into_iter().flatten(), sink).await;
            }
            PageCommand::SetPhoto(cmd) => {
                let live = self.authorize(&cmd.edit_token)?;
                if live.events >= rules.max_events {
                    return Err(PageError::TooManyChanges { limit: rules.max_events });
                }
                if live.photo == cmd.photo {
                    return Ok(());
                }
                PageEvent::PhotoSet(PhotoSet { photo: cmd.photo })
            }
            PageCommand::Report(cmd) => match self.report(&cmd)? {
                Some(reported) => PageEvent::PageReported(reported),
                None => return Ok(()),
            },
            PageCommand::TakeDown(cmd) => PageEvent::PageTakenDown(self.moderate(cmd, true)?),
            PageCommand::Reinstate(cmd) => PageEvent::PageReinstated(self.moderate(cmd, false)?),
            PageCommand::Unsubscribe(cmd) => match self.unsubscribe(&cmd)? {
                Some(set) => PageEvent::NotificationsSet(set),
                None => return Ok(()),
            },
            PageCommand::Delete(cmd) => {
                self.authorize(&cmd.edit_token)?;
                PageEvent::PageErased(PageErased { by: ErasedBy::Author, reason: None, erased: cmd.erasing })
            }
            PageCommand::Erase(cmd) => {
                if !self.unerased {
                    return Err(PageError::NotFound);
                }
                let reason = Some(cmd.reason.trim().to_owned()).filter(|r| !r.is_empty());
                PageEvent::PageErased(PageErased { by: ErasedBy::Operator, reason, erased: cmd.erasing })
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: PageEvent) {
        match event {
            PageEvent::PageCreated(e) => {
                self.live = Some(LivePage {
                    slug: e.slug,
                    title: e.title,
                    message: e.message,
                    sender_name: e.sender_name,
                    recipient_name: e.recipient_name,
                    template_id: e.template_id,
                    edit_token_hash: e.edit_token_hash,
                    events: 1,
                    opened: false,
                    answered: false,
                    notify_email: None,
                    unsubscribe_key: None,
                    song_url: e.song_url,
                    reveal_at: e.reveal_at,
                    pin_hash: e.pin_hash,
                    photo: None,
                    reports: 0,
                    taken_down: None,
                });
                self.unerased = true;
            }
            PageEvent::PageUpdated(e) => {
                if let Some(live) = self.live.as_mut() {
                    live.events = live.events.saturating_add(1);
                    live.apply(e);
                }
            }
            PageEvent::PageDeleted(_) => {
                self.live = None;
                self.unerased = true;
            }
            PageEvent::PageErased(_) => {
                self.live = None;
                self.unerased = false;
            }
            PageEvent::PageOpened(_) => {
                if let Some(live) = self.live.as_mut() {
                    live.opened = true;
                }
            }
            PageEvent::PageAnswered(_) => {
                if let Some(live) = self.live.as_mut() {
                    live.opened = true;
                    live.answered = true;
                }
            }
            PageEvent::NotificationsSet(e) => {
                if let Some(live) = self.live.as_mut() {
                    live.events = live.events.saturating_add(1);
                    live.notify_email = e.email;
                    live.unsubscribe_key = e.unsubscribe_key;
                }
            }
            PageEvent::PhotoSet(e) => {
                if let Some(live) = self.live.as_mut() {
                    live.events = live.events.saturating_add(1);
                    live.photo = e.photo;
                }
            }
            // Reports and moderation have limits of their own, apart from the author's changes.
            PageEvent::PageReported(_) => {
                if let Some(live) = self.live.as_mut() {
                    live.reports = live.reports.saturating_add(1);
                }
            }
            PageEvent::PageTakenDown(e) => {
                if let Some(live) = self.live.as_mut() {
                    live.taken_down = Some(e.reason);
                }
            }
            PageEvent::PageReinstated(_) => {
                if let Some(live) = self.live.as_mut() {
                    live.taken_down = None;
                }
            }
        }
    }
}

impl Page {
    /// Writes `events` in order (the sink applies each).
    async fn write_all(
        &mut self,
        events: impl IntoIterator<Item = PageEvent>,
        sink: &EventSink<Self>,
    ) -> Result<(), PageError> {
        for event in events {
            sink.write(event, self).await;
        }
        Ok(())
    }
}

/// A reveal time checked: its stored form (or the content rule it broke), and apart from
/// that whether it is out of range (a refusal the content rules cannot state: it depends on
/// the time).
fn checked_reveal(
    input: Option<&RevealInput>,
) -> (Result<Option<Option<String>>, Violation>, Option<RevealRefusal>) {
    match input.map(reveal::reveal_at).transpose() {
        Ok(at) => (Ok(at), None),
        Err(RevealRefusal::Malformed) => (Err(Violation::BadRevealAt), None),
        Err(other) => (Ok(None), Some(other)),
    }
}

/// Whether `a` and `b` are equal, in a time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl LivePage {
    fn apply(&mut self, update: PageUpdated) {
        if let Some(title) = update.title {
            self.title = title;
        }
        if let Some(message) = update.message {
            self.message = message;
        }
        if let Some(sender_name) = update.sender_name {
            self.sender_name = sender_name;
        }
        if let Some(recipient_name) = update.recipient_name {
            self.recipient_name = recipient_name;
        }
        if let Some(template_id) = update.template_id {
            self.template_id = template_id;
        }
        if let Some(song_url) = update.song_url {
            self.song_url = song_url;
        }
        if let Some(reveal_at) = update.reveal_at {
            self.reveal_at = reveal_at;
        }
        if let Some(pin_hash) = update.pin_hash {
            self.pin_hash = pin_hash;
        }
    }
}
