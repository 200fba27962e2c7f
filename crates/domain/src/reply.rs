//! What a recipient can send back: one reply per design, recorded once per page.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::template::TemplateId;

/// Most times "No" may have run away before a "Yes": more is not a person tapping.
pub const DODGES_MAX: u32 = 10_000;

/// A recipient's reply to a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// "Yes", to the proposal's question.
    Yes,
    /// A heart sent back, from every other design.
    Heart,
}

impl Reply {
    /// The reply as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::Heart => "heart",
        }
    }

    /// Looks a reply up exactly; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Yes, Self::Heart].into_iter().find(|r| r.as_str() == raw)
    }

    /// The reply a page of design `template` takes: the proposal asks a question, every
    /// other design can get a heart back.
    pub fn for_design(template: TemplateId) -> Self {
        match template {
            TemplateId::Proposal => Self::Yes,
            _ => Self::Heart,
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::TEMPLATES;

    #[test]
    fn every_design_takes_exactly_one_reply_and_only_the_proposal_a_yes() {
        for t in &TEMPLATES {
            let reply = Reply::for_design(t.id);
            assert_eq!(reply == Reply::Yes, t.id == TemplateId::Proposal, "{}", t.id);
        }
    }

    #[test]
    fn replies_parse_back_exactly() {
        for reply in [Reply::Yes, Reply::Heart] {
            assert_eq!(Reply::parse(reply.as_str()), Some(reply));
            assert_eq!(serde_json::to_string(&reply).expect("json"), format!("\"{reply}\""));
        }
        for bad in ["", "Yes", "no", "heart ", "maybe"] {
            assert_eq!(Reply::parse(bad), None, "{bad:?}");
        }
    }
}
