//! The eight page designs. Their ids are part of stored events: never rename one.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::content::Violation;

/// Which design a page uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateId {
    /// Classic Love.
    #[default]
    Classic,
    /// Modern Romance.
    Modern,
    /// Playful Hearts.
    Playful,
    /// Elegant Script.
    Elegant,
    /// Will You Be Mine? (interactive).
    Proposal,
    /// Love Letter (interactive).
    Envelope,
    /// Scratch Card (interactive).
    Scratch,
    /// Countdown Reveal (interactive).
    Countdown,
}

/// A design as the API lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Template {
    /// Stable id, stored in events.
    pub id: TemplateId,
    /// Display name.
    pub name: &'static str,
    /// One line on what it looks like or does.
    pub description: &'static str,
    /// Main colour, `#rrggbb`.
    pub primary_color: &'static str,
    /// Background colour, `#rrggbb`.
    pub secondary_color: &'static str,
    /// Font family of the lettering.
    pub font: &'static str,
    /// Whether visitors interact with it before the message shows.
    pub interactive: bool,
}

/// All templates, in the order the API lists them.
pub const TEMPLATES: [Template; 8] = [
    Template {
        id: TemplateId::Classic,
        name: "Classic Love",
        description: "A timeless card with elegant lettering",
        primary_color: "#e91e63",
        secondary_color: "#fce4ec",
        font: "Pacifico",
        interactive: false,
    },
    Template {
        id: TemplateId::Modern,
        name: "Modern Romance",
        description: "A clean card with soft gradients",
        primary_color: "#9c27b0",
        secondary_color: "#f3e5f5",
        font: "Nunito",
        interactive: false,
    },
    Template {
        id: TemplateId::Playful,
        name: "Playful Hearts",
        description: "Bright and cheerful, with animated hearts",
        primary_color: "#f44336",
        secondary_color: "#ffebee",
        font: "Caveat",
        interactive: false,
    },
    Template {
        id: TemplateId::Elegant,
        name: "Elegant Script",
        description: "A refined script design",
        primary_color: "#880e4f",
        secondary_color: "#fce4ec",
        font: "Pacifico",
        interactive: false,
    },
    Template {
        id: TemplateId::Proposal,
        name: "Will You Be Mine?",
        description: "Ask the question: \"No\" runs away, \"Yes\" grows, and yes ends in a celebration",
        primary_color: "#ec4899",
        secondary_color: "#fdf2f8",
        font: "Pacifico",
        interactive: true,
    },
    Template {
        id: TemplateId::Envelope,
        name: "Love Letter",
        description: "A 3D envelope that opens on click to reveal the letter",
        primary_color: "#be185d",
        secondary_color: "#fff1f2",
        font: "Caveat",
        interactive: true,
    },
    Template {
        id: TemplateId::Scratch,
        name: "Scratch Card",
        description: "Scratch away a layer of hearts to reveal the message",
        primary_color: "#db2777",
        secondary_color: "#fce7f3",
        font: "Nunito",
        interactive: true,
    },
    Template {
        id: TemplateId::Countdown,
        name: "Countdown Reveal",
        description: "A 10-second countdown, skippable, that reveals the message with confetti",
        primary_color: "#e11d48",
        secondary_color: "#ffe4e6",
        font: "Pacifico",
        interactive: true,
    },
];

impl TemplateId {
    /// The id as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Classic => "classic",
            Self::Modern => "modern",
            Self::Playful => "playful",
            Self::Elegant => "elegant",
            Self::Proposal => "proposal",
            Self::Envelope => "envelope",
            Self::Scratch => "scratch",
            Self::Countdown => "countdown",
        }
    }

    /// Looks an id up exactly (ids are lowercase; nothing is trimmed or folded).
    ///
    /// # Errors
    /// [`Violation::UnknownTemplate`] for anything that is not one of the eight ids.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        TEMPLATES.iter().map(|t| t.id).find(|id| id.as_str() == raw).ok_or(Violation::UnknownTemplate)
    }

    /// The full description of this design.
    pub fn template(self) -> &'static Template {
        TEMPLATES.iter().find(|t| t.id == self).unwrap_or(&TEMPLATES[0])
    }
}

impl fmt::Display for TemplateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_eight_templates_in_the_original_order_with_four_interactive() {
        let ids: Vec<_> = TEMPLATES.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            ["classic", "modern", "playful", "elegant", "proposal", "envelope", "scratch", "countdown"]
        );
        let interactive: Vec<_> = TEMPLATES.iter().filter(|t| t.interactive).map(|t| t.id.as_str()).collect();
        assert_eq!(interactive, ["proposal", "envelope", "scratch", "countdown"]);
    }

    #[test]
    fn every_id_parses_back_and_serializes_as_itself() {
        for t in &TEMPLATES {
            assert_eq!(TemplateId::parse(t.id.as_str()), Ok(t.id));
            assert_eq!(t.id.template(), t);
            let json = serde_json::to_string(&t.id).expect("serializes");
            assert_eq!(json, format!("\"{}\"", t.id.as_str()));
        }
    }

    #[test]
    fn unknown_ids_are_rejected_not_defaulted() {
        for bad in ["", "Classic", " classic", "classic\n", "rainbow", "0"] {
            assert_eq!(TemplateId::parse(bad), Err(Violation::UnknownTemplate), "{bad:?}");
        }
    }
}
