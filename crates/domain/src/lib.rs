//! Valentine's domain: the `Page` aggregate and the rules every page obeys.
//!
//! Pure logic on cqrs-es: no I/O, no clocks, no randomness, no adapters. Whatever the rules
//! need from outside (a fresh edit token's hash, say) comes in the command.
//!
//! # Layout
//! - [`page`]: the aggregate, its commands, events and errors.
//! - [`slug`]: the page address and its rules (format, length, reserved words).
//! - [`content`]: title, message and names: trimming, limits, violations.
//! - [`template`]: the eight designs, in the order the API lists them.
//! - [`token`]: edit tokens and the hashes that are stored instead of them.
//! - [`reply`]: what a recipient can send back, per design.
//! - [`email`]: the address an author may give for mails about their page.
//! - [`report`]: why a page is reported, and the rules for reports and moderators' reasons.
//! - [`photo`], [`song`], [`reveal`], [`pin`]: what makes a page special: its photo, its
//!   song, the moment it opens, the PIN that keeps it private.

pub mod content;
pub mod email;
pub mod page;
pub mod photo;
pub mod pin;
pub mod reply;
pub mod report;
pub mod reveal;
pub mod slug;
pub mod song;
pub mod template;
pub mod token;

pub use content::{Field, Violation, Violations};
pub use page::{
    AnswerPage, CreatePage, DeletePage, ErasePage, ErasedBy, ErasedEvent, LivePage, ModeratePage,
    NotificationsSet, NotifyChange, OpenPage, Page, PageAnswered, PageCommand, PageCreated, PageDeleted,
    PageErased, PageError, PageEvent, PageExtras, PageModerated, PageOpened, PageReported, PageRules,
    PageUpdated, PhotoSet, ReportPage, SetPhoto, Unsubscribe, UpdatePage,
};
pub use photo::PhotoRef;
pub use pin::{PinHash, PinInput};
pub use reply::Reply;
pub use report::ReportReason;
pub use reveal::RevealInput;
pub use slug::{Slug, SlugError, suggestions};
pub use template::{TEMPLATES, Template, TemplateId};
pub use token::{EditToken, EditTokenHash};
