//! Subject layout of the event stream.
//!
//! ```text
//! <prefix>.<aggregate type>.<aggregate id>      e.g. events.page.alice
//! ```
//! One subject per aggregate instance: JetStream indexes subjects, so loading one page reads
//! only its own messages, and `Nats-Expected-Last-Subject-Sequence` gives each page its own
//! optimistic lock without serializing writers of other pages.

/// The token for an aggregate type: its `TYPE`, lowercase.
fn type_token(aggregate_type: &str) -> String {
    aggregate_type.to_ascii_lowercase()
}

/// Whether `id` can be a single subject token: non-empty, no separators, wildcards or
/// whitespace. Page ids (lowercase slugs) always can.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && !id.chars().any(|c| matches!(c, '.' | '*' | '>') || c.is_whitespace() || c.is_control())
}

/// Subject of one aggregate instance's events.
pub fn aggregate(prefix: &str, aggregate_type: &str, id: &str) -> String {
    format!("{prefix}.{}.{id}", type_token(aggregate_type))
}

/// Filter matching every instance of one aggregate type.
pub fn all_of_type(prefix: &str, aggregate_type: &str) -> String {
    format!("{prefix}.{}.*", type_token(aggregate_type))
}

/// Filter matching the whole event stream.
pub fn everything(prefix: &str) -> String {
    format!("{prefix}.>")
}

#[cfg(test)]
mod tests {
    use cqrs_es::Aggregate;
    use valentine_domain::Page;

    use super::*;

    #[test]
    fn page_subjects_use_the_lowercase_type_and_the_id() {
        assert_eq!(aggregate("events", Page::TYPE, "alice-2"), "events.page.alice-2");
        assert_eq!(all_of_type("events", Page::TYPE), "events.page.*");
        assert_eq!(everything("events"), "events.>");
    }

    #[test]
    fn ids_that_would_break_the_subject_are_invalid() {
        for bad in ["", "a.b", "a*", ">", "a b", "a\n"] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
        assert!(is_valid_id("alice-and-bob"));
    }
}
