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

pub mod content;
pub mod page;
pub mod slug;
pub mod template;
pub mod token;

pub use content::{Field, Violation, Violations};
pub use page::{
    CreatePage, DeletePage, ErasePage, ErasedBy, ErasedEvent, LivePage, Page, PageCommand, PageCreated,
    PageDeleted, PageErased, PageError, PageEvent, PageRules, PageUpdated, UpdatePage,
};
pub use slug::{Slug, SlugError, suggestions};
pub use template::{TEMPLATES, Template, TemplateId};
pub use token::{EditToken, EditTokenHash};
