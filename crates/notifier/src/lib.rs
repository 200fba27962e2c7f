//! Valentine's notifier: mails a page's author when someone first opens the page and when
//! the recipient replies, once each.
//!
//! A worker reads the event stream through its own durable consumer (`notifier`), shared by
//! every notifier process the way projectors share theirs, so it scales the same way. Only
//! `PageOpened` and `PageAnswered` concern it: for each it loads the page's current life
//! from the stream (opened with its data key), and mails its author's address, if the page
//! still has one. Delivery is at least once; a ledger of mails in a JetStream key-value
//! bucket makes it once: a mail is claimed before it is sent and marked sent after, so a
//! redelivered event, a second notifier or a restart never mails twice.
//!
//! # Layout
//! - [`config`]: the settings, [`NotifierConfig`].
//! - [`mail`]: what a mail says and carries (pure).
//! - [`sent`]: the ledger of mails, [`SentMails`].
//! - [`worker`]: [`Notifier`], the worker.
//! - [`health`]: what it knows of its state, and `/health` and `/ready`.
//! - [`error`]: what stops a notifier, [`NotifierError`].

pub mod config;
pub mod error;
pub mod health;
pub mod mail;
pub mod sent;
pub mod worker;

pub use config::NotifierConfig;
pub use error::NotifierError;
pub use sent::SentMails;
pub use worker::Notifier;
