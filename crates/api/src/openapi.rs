//! The OpenAPI document, generated from the handlers and types themselves.

use serde_json::Value;
use utoipa::OpenApi;

use crate::error::{ErrorBody, FieldError};
use crate::routes::{admin, health, insights, jobs, pages, photos, reports, share, slugs, templates};
use crate::wire::page::LockedPageResponse;

/// Valentine's HTTP API.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Valentine",
        description = "Shareable pages for loved ones. Every error answers `{\"detail\": …, \"code\": …}`."
    ),
    paths(
        templates::list_templates,
        templates::get_template,
        slugs::check_slug,
        slugs::suggest_slugs,
        pages::create_page,
        jobs::job_status,
        pages::get_page,
        pages::update_page,
        pages::delete_page,
        pages::page_history,
        pages::restore_page,
        pages::export_page,
        insights::answer_page,
        insights::page_insights,
        insights::insights_stream,
        insights::unsubscribe,
        photos::put_photo,
        photos::get_photo,
        photos::delete_photo,
        share::qr_code,
        share::og_image,
        reports::report_page,
        admin::session,
        admin::search_pages,
        admin::page_events,
        admin::page_as_of,
        admin::page_reports,
        admin::take_down,
        admin::reinstate,
        admin::reports,
        admin::message,
        admin::streams,
        admin::lag,
        admin::parked,
        admin::retry_parked,
        admin::skip_parked,
        health::health,
        health::ready,
        health::metrics,
        health::openapi_json,
    ),
    components(schemas(ErrorBody, FieldError, LockedPageResponse)),
    modifiers(&AdminSecurity),
    tags(
        (name = "pages", description = "Create, read, change and delete pages"),
        (name = "answers", description = "The recipient's reply, the author's insights, and unsubscribing from mails"),
        (name = "share", description = "A page's link-preview image and QR code"),
        (name = "slugs", description = "Slug availability and suggestions"),
        (name = "templates", description = "The eight designs"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
        (name = "admin", description = "The console of auditors and moderators: `Authorization: Bearer <admin token>`"),
    )
)]
pub struct ApiDoc;

/// The console's bearer token, as a security scheme named `admin`.
struct AdminSecurity;

impl utoipa::Modify for AdminSecurity {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("admin", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

impl ApiDoc {
    /// The document as JSON bytes, built once at start.
    pub(crate) fn json() -> bytes::Bytes {
        let mut doc = serde_json::to_value(Self::openapi()).unwrap_or_default();
        name_link_fields(&mut doc);
        bytes::Bytes::from(serde_json::to_vec(&doc).unwrap_or_default())
    }
}

/// utoipa writes a Link Object's fields in snake case (`operation_id`); OpenAPI names them in
/// camel case (`operationId`), and clients following links read only those names.
fn name_link_fields(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    let operations = paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut());
    let responses = operations.filter_map(|op| op.get_mut("responses")).filter_map(Value::as_object_mut);
    let links = responses.flat_map(|r| r.values_mut()).filter_map(|r| r.get_mut("links"));
    for link in links.filter_map(Value::as_object_mut).flat_map(|l| l.values_mut()) {
        let Some(link) = link.as_object_mut() else { continue };
        for (snake, camel) in [
            ("operation_id", "operationId"),
            ("operation_ref", "operationRef"),
            ("request_body", "requestBody"),
        ] {
            if let Some(value) = link.remove(snake) {
                link.insert(camel.to_owned(), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_their_target_operation_in_camel_case() {
        let doc: Value = serde_json::from_slice(&ApiDoc::json()).expect("JSON");
        let links = &doc["paths"]["/api/pages"]["post"]["responses"]["201"]["links"];
        assert_eq!(links["UpdatePage"]["operationId"], "update_page", "{links}");
        assert!(links["UpdatePage"].get("operation_id").is_none(), "{links}");
    }

    /// Every `pattern` in the document, wherever it sits.
    fn patterns<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(p) = map.get("pattern").and_then(Value::as_str) {
                    out.push(p);
                }
                map.values().for_each(|v| patterns(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| patterns(v, out)),
            _ => {}
        }
    }

    #[test]
    fn text_patterns_are_the_domains_and_name_no_engine_dependent_class() {
        use valentine_domain::content::NON_BLANK_PATTERN;
        use valentine_domain::email::EMAIL_PATTERN;
        let doc: Value = serde_json::from_slice(&ApiDoc::json()).expect("JSON");
        let mut found = Vec::new();
        patterns(&doc, &mut found);
        let non_blank = found.iter().filter(|p| p.starts_with("[^")).collect::<Vec<_>>();
        let email = found.iter().filter(|p| p.contains('@')).collect::<Vec<_>>();
        assert_eq!(
            non_blank.len(),
            7,
            "title, message, PIN in creates and updates, moderation reason: {non_blank:?}"
        );
        assert!(non_blank.iter().all(|p| **p == NON_BLANK_PATTERN), "{non_blank:?}");
        assert_eq!(email.len(), 2, "{email:?}");
        assert!(email.iter().all(|p| **p == EMAIL_PATTERN), "{email:?}");
        // `\s` means other characters to Python, ECMAScript and Rust: the schema would refuse
        // what the API takes, or the other way round.
        assert!(found.iter().all(|p| !p.contains(r"\s")), "{found:?}");
    }
}
