//! What callers ask of a page.

use time::OffsetDateTime;

use super::event::ErasedEvent;
use crate::photo::PhotoRef;
use crate::pin::PinInput;
use crate::reply::Reply;
use crate::report::ReportReason;
use crate::reveal::RevealInput;
use crate::slug::Slug;
use crate::token::{EditToken, EditTokenHash};

/// Every command of the `Page` aggregate. The aggregate id is always the slug's
/// [`Slug::key`]; [`CreatePage::aggregate_id`] gives it for creation.
#[derive(Debug, Clone)]
pub enum PageCommand {
    /// Create a page at a free slug.
    Create(CreatePage),
    /// Change some fields, with the edit token.
    Update(UpdatePage),
    /// Delete the page, with the edit token: erases it.
    Delete(DeletePage),
    /// Erase whatever the slug still holds, without a token: an operator's erasure.
    Erase(ErasePage),
    /// Record a reader's first look at the page, unless it is its author's.
    Open(OpenPage),
    /// Record the recipient's reply.
    Answer(AnswerPage),
    /// Stop mails about the page, with the key of an unsubscribe link.
    Unsubscribe(Unsubscribe),
    /// Attach, replace or remove the photo, with the edit token.
    SetPhoto(SetPhoto),
    /// Report the page to its moderators: anyone may.
    Report(ReportPage),
    /// Take the page down: a moderator's decision.
    TakeDown(ModeratePage),
    /// Put a page taken down back up: a moderator's decision.
    Reinstate(ModeratePage),
}

impl PageCommand {
    /// The command's name in metrics and spans: `create`, `update`, `delete`, `erase`, `open`,
    /// `answer`, `unsubscribe`, `photo`, `report`, `take_down` or `reinstate`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Create(_) => "create",
            Self::Update(_) => "update",
            Self::Delete(_) => "delete",
            Self::Erase(_) => "erase",
            Self::Open(_) => "open",
            Self::Answer(_) => "answer",
            Self::Unsubscribe(_) => "unsubscribe",
            Self::SetPhoto(_) => "photo",
            Self::Report(_) => "report",
            Self::TakeDown(_) => "take_down",
            Self::Reinstate(_) => "reinstate",
        }
    }
}

/// Create a page. Text fields are raw: the aggregate trims and checks them.
#[derive(Debug, Clone)]
pub struct CreatePage {
    /// Where the page lives.
    pub slug: Slug,
    /// Required, 1–100 characters after trimming.
    pub title: String,
    /// Required, 1–2000 characters after trimming.
    pub message: String,
    /// Optional, at most 50 characters.
    pub sender_name: Option<String>,
    /// Optional, at most 50 characters.
    pub recipient_name: Option<String>,
    /// One of the eight template ids; `None` means `classic`.
    pub template_id: Option<String>,
    /// Hash of the edit token the caller generated and will hand to the author.
    pub edit_token_hash: EditTokenHash,
    /// Where to send mails about the page, if anywhere.
    pub notify: Option<NotifyChange>,
    /// Its song, reveal time and PIN, if any.
    pub extras: PageExtras,
}

/// What may make a new page special beyond its words (the photo comes later, with
/// [`SetPhoto`]).
#[derive(Debug, Clone, Default)]
pub struct PageExtras {
    /// A link to its song (raw; blank is none).
    pub song_url: Option<String>,
    /// When it opens (raw; blank is at once).
    pub reveal: Option<RevealInput>,
    /// The PIN that keeps it private, hashed by the caller.
    pub pin: Option<PinInput>,
}

/// A new address for mails about a page (raw: the aggregate trims and checks it; blank
/// removes the address), with a fresh random key for its unsubscribe link.
#[derive(Debug, Clone)]
pub struct NotifyChange {
    /// The address, raw.
    pub email: String,
    /// A fresh random key (URL-safe), used if the address changes.
    pub unsubscribe_key: String,
}

impl CreatePage {
    /// The aggregate id this command must be executed against.
    pub fn aggregate_id(&self) -> String {
        self.slug.key()
    }
}

/// Change any subset of a page's fields. `None` leaves a field as it is; a blank name removes
/// it; a blank title or message is rejected.
#[derive(Debug, Clone)]
pub struct UpdatePage {
    /// The token the caller presented.
    pub edit_token: EditToken,
    /// New title.
    pub title: Option<String>,
    /// New message.
    pub message: Option<String>,
    /// New sender name; blank removes it.
    pub sender_name: Option<String>,
    /// New recipient name; blank removes it.
    pub recipient_name: Option<String>,
    /// New template id.
    pub template_id: Option<String>,
    /// A new address for mails (blank removes it).
    pub notify: Option<NotifyChange>,
    /// A new song link; blank removes it.
    pub song_url: Option<String>,
    /// A new reveal time; blank opens the page at once. Refused once the current one has
    /// come.
    pub reveal: Option<RevealInput>,
    /// A new PIN (`Some(Some(_))`), or none any more (`Some(None)`).
    pub pin: Option<Option<PinInput>>,
}

impl UpdatePage {
    /// An update that changes nothing yet; set the fields to change.
    pub fn with_token(edit_token: EditToken) -> Self {
        Self {
            edit_token,
            title: None,
            message: None,
            sender_name: None,
            recipient_name: None,
            template_id: None,
            notify: None,
            song_url: None,
            reveal: None,
            pin: None,
        }
    }
}

/// Attach a photo the caller stored, replace the one there is, or remove it.
#[derive(Debug, Clone)]
pub struct SetPhoto {
    /// The token the caller presented.
    pub edit_token: EditToken,
    /// The stored photo, or `None` to remove it.
    pub photo: Option<PhotoRef>,
}

/// Delete a page: erases it.
#[derive(Debug, Clone)]
pub struct DeletePage {
    /// The token the caller presented.
    pub edit_token: EditToken,
    /// The skeleton of the events the erasure removes, read from the stream by the caller.
    pub erasing: Vec<ErasedEvent>,
}

/// Erase a slug's pages on an operator's authority (a legal request), live or deleted.
#[derive(Debug, Clone)]
pub struct ErasePage {
    /// Why, recorded in the stream.
    pub reason: String,
    /// The skeleton of the events the erasure removes, read from the stream by the caller.
    pub erasing: Vec<ErasedEvent>,
}

/// Record that someone opened the page: the API sends it on a read of a page not yet opened.
#[derive(Debug, Clone)]
pub struct OpenPage {
    /// The edit token hash of the page that was read: an open of an earlier life of the
    /// slug does not count for a new one.
    pub life: EditTokenHash,
    /// The edit token the reader presented, if any: its author's reads are not opens.
    pub presented: Option<EditToken>,
}

/// The recipient's reply.
#[derive(Debug, Clone)]
pub struct AnswerPage {
    /// What they send back.
    pub answer: Reply,
    /// How many times "No" ran away first.
    pub dodges: u32,
    /// Now: a page that has not opened yet cannot be answered.
    pub now: OffsetDateTime,
}

/// Stop mails about a page, from its unsubscribe link.
#[derive(Debug, Clone)]
pub struct Unsubscribe {
    /// The link's key.
    pub key: String,
}

/// Report a page to its moderators.
#[derive(Debug, Clone)]
pub struct ReportPage {
    /// Why.
    pub reason: ReportReason,
    /// What the reporter adds (raw; blank is none).
    pub note: Option<String>,
}

/// A moderator's decision about a page, with the reason they give.
#[derive(Debug, Clone)]
pub struct ModeratePage {
    /// The moderator (the name their admin token was issued to).
    pub by: String,
    /// Why (raw: the aggregate trims and checks it).
    pub reason: String,
}
