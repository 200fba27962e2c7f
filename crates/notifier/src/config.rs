//! What a notifier needs to know. Built by the `valentine` binary from environment
//! variables; tests build it directly.

use std::time::Duration;

use secrecy::SecretString;
use valentine_eventstore::{NatsSettings, StreamConfig};

/// Settings of a notifier.
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// `NATS_URL` and its login: where the event store is.
    pub nats: NatsSettings,
    /// The event stream.
    pub events: StreamConfig,
    /// `SMTP_URL`: where mail goes, e.g. `smtp://127.0.0.1:2525` (plain, local),
    /// `smtps://user:password@mail.example:465` or
    /// `smtp://user:password@mail.example:587?tls=required`. Secret: it may hold a password.
    pub smtp_url: SecretString,
    /// `MAIL_FROM`: the sender of every mail, e.g. `Valentine <hello@valentine.example>`.
    pub mail_from: String,
    /// `FRONTEND_DOMAIN`: the public base URL, for the links in mails.
    pub frontend_domain: String,
    /// `NOTIFY_MAX_AGE_HOURS`: events older than this are not mailed about (a notifier
    /// started late, or a consumer made anew, does not send stale news).
    pub max_age: Duration,
    /// The durable consumer every notifier process shares.
    pub consumer: String,
    /// How often a notifier looks at its consumer's lag and puts its heartbeat.
    pub report_every: Duration,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            nats: NatsSettings::default(),
            events: StreamConfig::events(),
            smtp_url: SecretString::from("smtp://127.0.0.1:2525"),
            mail_from: "Valentine <valentine@localhost>".to_owned(),
            frontend_domain: "http://localhost:8000".to_owned(),
            max_age: Duration::from_secs(24 * 3600),
            consumer: "notifier".to_owned(),
            report_every: Duration::from_secs(5),
        }
    }
}
