//! Prometheus's text format, for the workers' small hand-written exporters (`/metrics` of
//! the projector and the notifier).

use std::fmt::Write as _;

use crate::workers::ConsumerLag;

/// `value` fit to stand between a label's quotes.
pub fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Appends the metric `name` of type `kind` to `out`: its help, its type, and one sample per
/// `(labels, value)`, where `labels` is what goes between the braces (empty: none).
pub fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, String)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// `valentine_consumer_lag_events` and `valentine_consumer_lag_seconds` of a worker of
/// `role` (`projector`, `notifier`), one sample per consumer.
pub fn lag(role: &str, lags: &[ConsumerLag]) -> String {
    let labels = |l: &ConsumerLag| {
        format!(
            "role=\"{}\",consumer=\"{}\",stream=\"{}\"",
            escape(role),
            escape(&l.consumer),
            escape(&l.stream)
        )
    };
    let mut out = String::new();
    let events: Vec<_> = lags.iter().map(|l| (labels(l), l.lag_events.to_string())).collect();
    family(
        &mut out,
        "valentine_consumer_lag_events",
        "gauge",
        "Messages of the stream the consumer has not had acknowledged (pending plus unacknowledged)",
        &events,
    );
    let seconds: Vec<_> = lags.iter().map(|l| (labels(l), format!("{:.3}", l.lag_seconds))).collect();
    family(
        &mut out,
        "valentine_consumer_lag_seconds",
        "gauge",
        "Age of the oldest message the consumer has not had acknowledged, by the stream's time; 0 when none waits",
        &seconds,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_labelled_by_role_consumer_and_stream() {
        let lag = ConsumerLag {
            consumer: "projector-main".to_owned(),
            stream: "EVENTS".to_owned(),
            position: 10,
            last_sequence: 15,
            lag_events: 5,
            lag_seconds: 2.5,
        };
        let text = super::lag("projector", &[lag]);
        for line in [
            "# TYPE valentine_consumer_lag_events gauge",
            r#"valentine_consumer_lag_events{role="projector",consumer="projector-main",stream="EVENTS"} 5"#,
            r#"valentine_consumer_lag_seconds{role="projector",consumer="projector-main",stream="EVENTS"} 2.500"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from:\n{text}");
        }
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
    }
}
