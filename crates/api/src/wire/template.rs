//! Templates on the wire: the eight designs.

use serde::Serialize;
use utoipa::ToSchema;
use valentine_domain::{TEMPLATES, Template};

/// A design as the API lists it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Template)]
pub(crate) struct TemplateResponse {
    /// Stable id: classic, modern, playful, elegant, proposal, envelope, scratch, countdown.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// What it looks like or does.
    pub description: &'static str,
    /// Main colour, `#rrggbb`.
    pub primary_color: &'static str,
    /// Background colour, `#rrggbb`.
    pub secondary_color: &'static str,
    /// Font family of its lettering.
    pub font: &'static str,
    /// Whether visitors interact with it before the message shows.
    pub interactive: bool,
}

impl From<&Template> for TemplateResponse {
    fn from(t: &Template) -> Self {
        Self {
            id: t.id.as_str(),
            name: t.name,
            description: t.description,
            primary_color: t.primary_color,
            secondary_color: t.secondary_color,
            font: t.font,
            interactive: t.interactive,
        }
    }
}

/// `GET /api/templates` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TemplateList {
    /// All eight, in a fixed order.
    pub templates: Vec<TemplateResponse>,
}

impl TemplateList {
    /// All eight designs.
    pub(crate) fn all() -> Self {
        Self { templates: TEMPLATES.iter().map(TemplateResponse::from).collect() }
    }
}
