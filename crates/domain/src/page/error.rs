//! Why the aggregate refused a command. Messages are fit to show to people.

use crate::content::Violations;

/// A command the `Page` aggregate refused. Only domain reasons: storage failures live in the
/// event store's errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// The content broke one or more rules.
    #[error("{0}")]
    Invalid(Violations),
    /// A live page already has this slug (in any casing).
    #[error("This slug is already taken")]
    SlugTaken,
    /// No live page has this slug.
    #[error("Page not found")]
    NotFound,
    /// The presented edit token is not this page's.
    #[error("Invalid edit token")]
    WrongEditToken,
    /// The page has recorded as many changes as one page may; it can still be deleted.
    #[error("This page has reached its limit of {limit} changes; it can still be deleted")]
    TooManyChanges {
        /// The most events one page's life may hold.
        limit: u32,
    },
    /// The page has its reply already: a page takes one.
    #[error("This page has already been answered")]
    AlreadyAnswered,
    /// The reply does not fit the page's design, or its dodges are out of bounds.
    #[error("{0}")]
    BadReply(&'static str),
    /// A reveal time of the right shape that is no time ahead, or too far ahead.
    #[error("{0}")]
    RevealOutOfRange(&'static str),
    /// The reveal time has come: it can no longer change.
    #[error("This page has opened already: its reveal time can no longer change")]
    AlreadyRevealed,
    /// The page has not opened yet: it cannot be answered.
    #[error("This page has not opened yet: it can be answered once it opens")]
    NotRevealed,
    /// A report or a moderator's reason breaks its rule (the message names the field).
    #[error("{0}")]
    BadModeration(&'static str),
    /// The page is taken down already.
    #[error("This page is taken down already")]
    AlreadyTakenDown,
    /// The page is not taken down: there is nothing to reinstate.
    #[error("This page is not taken down")]
    NotTakenDown,
    /// A moderator took the page down: it takes no replies.
    #[error("This page was taken down by its moderators")]
    TakenDown,
    /// The unsubscribe link's key is not the page's current one.
    #[error("This unsubscribe link is not valid for this page")]
    WrongUnsubscribeKey,
}
