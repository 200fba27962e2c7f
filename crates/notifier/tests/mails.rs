//! Notifiers against real servers: nats-server (JetStream) and an SMTP server (aiosmtpd)
//! that delivers into a Maildir. Each first open and each reply is mailed to the page's
//! address exactly once, with two notifiers running and across a restart whose consumer
//! starts over; pages without an address, or whose author unsubscribed, get no mail.

use std::time::Duration;

use secrecy::SecretString;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use valentine_domain::page::versions;
use valentine_domain::{
    AnswerPage, CreatePage, EditToken, NotifyChange, OpenPage, Page, PageCommand, PageExtras, PageRules,
    Reply, Slug, Unsubscribe,
};
use valentine_eventstore::{JetStreamCqrs, NatsSettings, StreamConfig, jetstream_cqrs};
use valentine_notifier::{Notifier, NotifierConfig};
use valentine_projections::page_store;
use valentine_testkit::smtp::Delivered;
use valentine_testkit::{NatsServer, SmtpServer, eventually, init_tracing};

const PATIENCE: Duration = Duration::from_secs(30);

struct Setup {
    nats: NatsServer,
    smtp: SmtpServer,
    cqrs: JetStreamCqrs<Page>,
}

impl Setup {
    async fn start() -> Self {
        init_tracing();
        let nats = NatsServer::start().await;
        let smtp = SmtpServer::start().await;
        let repo =
            page_store::open(&nats.jetstream().await, &StreamConfig::events()).await.expect("the store");
        let cqrs = jetstream_cqrs::<Page>(repo, PageRules::default(), versions::upcasters());
        Self { nats, smtp, cqrs }
    }

    fn config(&self) -> NotifierConfig {
        NotifierConfig {
            nats: NatsSettings::at(self.nats.url()),
            smtp_url: SecretString::from(self.smtp.url()),
            mail_from: "Valentine <hello@valentine.example>".to_owned(),
            frontend_domain: "https://valentine.example".to_owned(),
            ..NotifierConfig::default()
        }
    }

    /// A notifier running until its token is cancelled.
    async fn notifier(&self) -> (CancellationToken, JoinHandle<()>) {
        let notifier = Notifier::connect(self.config()).await.expect("the notifier starts");
        let stop = CancellationToken::new();
        let token = stop.clone();
        (stop, tokio::spawn(async move { notifier.run(token).await.expect("notifies") }))
    }

    async fn create(&self, slug: &str, template: &str, email: Option<&str>) {
        let command = PageCommand::Create(CreatePage {
            slug: Slug::parse(slug).expect("a slug"),
            title: format!("Title of {slug}"),
            message: "Be mine".to_owned(),
            sender_name: Some("Sam".to_owned()),
            recipient_name: Some("Alex".to_owned()),
            template_id: Some(template.to_owned()),
            edit_token_hash: token(slug).hash(),
            notify: email.map(|email| NotifyChange {
                email: email.to_owned(),
                unsubscribe_key: format!("key-{slug}"),
            }),
            extras: PageExtras::default(),
        });
        self.cqrs.execute(&slug.to_ascii_lowercase(), command).await.expect("created");
    }

    async fn run(&self, slug: &str, command: PageCommand) {
        self.cqrs.execute(&slug.to_ascii_lowercase(), command).await.expect("recorded");
    }

    /// Waits until every notifier has settled every event (none pending, none unacknowledged).
    async fn settled(&self) {
        eventually("the notifiers to settle every event", PATIENCE, || async {
            let js = self.nats.jetstream().await;
            let Ok(mut consumer) = js
                .get_consumer_from_stream::<async_nats::jetstream::consumer::pull::Config, _, _>(
                    "notifier", "EVENTS",
                )
                .await
            else {
                return false;
            };
            consumer.info().await.is_ok_and(|i| i.num_pending == 0 && i.num_ack_pending == 0)
        })
        .await;
    }

    fn mails_about(&self, slug: &str) -> Vec<Delivered> {
        self.smtp.delivered().into_iter().filter(|m| m.raw.contains(&format!("/{slug}"))).collect()
    }
}

fn token(slug: &str) -> EditToken {
    EditToken::presented(format!("token-of-{slug}"))
}

fn open(slug: &str) -> PageCommand {
    PageCommand::Open(OpenPage { life: token(slug).hash(), presented: None })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_open_and_reply_is_mailed_once_by_two_notifiers_and_again_never_after_a_restart() {
    let setup = Setup::start().await;
    let first = setup.notifier().await;
    let second = setup.notifier().await;
    setup.create("Mia", "proposal", Some("sam@example.com")).await;
    setup.run("Mia", open("Mia")).await;
    setup
        .run(
            "Mia",
            PageCommand::Answer(AnswerPage {
                answer: Reply::Yes,
                dodges: 2,
                now: time::OffsetDateTime::now_utc(),
            }),
        )
        .await;
    setup.create("Leo", "envelope", None).await;
    setup.run("Leo", open("Leo")).await;

    eventually("a mail about the open and one about the reply", PATIENCE, || async {
        setup.mails_about("Mia").len() >= 2
    })
    .await;
    setup.settled().await;
    let mails = setup.mails_about("Mia");
    assert_eq!(mails.len(), 2, "{mails:#?}");
    let subjects: Vec<String> = mails.iter().map(|m| m.header("Subject").expect("a subject")).collect();
    assert!(subjects.iter().any(|s| s.contains("was opened")), "{subjects:?}");
    assert!(subjects.iter().any(|s| s.contains("was answered: yes!")), "{subjects:?}");
    for mail in &mails {
        assert_eq!(mail.header("To").as_deref(), Some("sam@example.com"));
        assert_eq!(mail.header("From").as_deref(), Some("Valentine <hello@valentine.example>"));
        assert_eq!(
            mail.header("List-Unsubscribe").as_deref(),
            Some("<https://valentine.example/api/pages/Mia/unsubscribe?token=key-Mia>")
        );
        assert_eq!(mail.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
        assert_eq!(mail.header("Auto-Submitted").as_deref(), Some("auto-generated"));
        assert!(mail.header("Message-ID").is_some_and(|id| id.ends_with(".Mia@valentine.example>")));
    }
    let reply = mails
        .iter()
        .find(|m| m.header("Subject").is_some_and(|s| s.contains("answered")))
        .expect("the reply");
    let text = reply.body().replace("=\n", "");
    assert!(text.contains("ran away 2 times"), "{text}");
    assert!(setup.mails_about("Leo").is_empty(), "a page without an address gets no mail");

    // Both notifiers stop, and the consumer is lost (as after restoring the stream): a new
    // one delivers every event again. The ledger keeps it to the mails already sent.
    for (stop, task) in [first, second] {
        stop.cancel();
        task.await.expect("stopped");
    }
    setup.nats.jetstream().await.delete_consumer_from_stream("notifier", "EVENTS").await.expect("deleted");
    let restarted = setup.notifier().await;
    setup.settled().await;
    assert_eq!(setup.mails_about("Mia").len(), 2, "no mail twice after a restart");
    restarted.0.cancel();
    restarted.1.await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_author_who_unsubscribed_gets_no_more_mail_and_a_heart_back_is_news_too() {
    let setup = Setup::start().await;
    let notifier = setup.notifier().await;
    setup.create("Ana", "classic", Some("ana@example.com")).await;
    setup.run("Ana", PageCommand::Unsubscribe(Unsubscribe { key: "key-Ana".to_owned() })).await;
    setup.run("Ana", open("Ana")).await;
    setup.create("Bob", "scratch", Some("bob@example.com")).await;
    setup.run("Bob", open("Bob")).await;
    setup
        .run(
            "Bob",
            PageCommand::Answer(AnswerPage {
                answer: Reply::Heart,
                dodges: 0,
                now: time::OffsetDateTime::now_utc(),
            }),
        )
        .await;

    eventually("Bob's two mails", PATIENCE, || async { setup.mails_about("Bob").len() >= 2 }).await;
    setup.settled().await;
    assert!(setup.mails_about("Ana").is_empty(), "unsubscribed");
    let subjects: Vec<String> =
        setup.mails_about("Bob").iter().map(|m| m.header("Subject").expect("a subject")).collect();
    assert!(subjects.iter().any(|s| s.contains("answered with a heart")), "{subjects:?}");
    notifier.0.cancel();
    notifier.1.await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_older_than_the_news_window_is_delivered_but_never_mailed() {
    let setup = Setup::start().await;
    setup.create("Old", "classic", Some("old@example.com")).await;
    setup.run("Old", open("Old")).await;
    let recorded = std::time::Instant::now();
    // The open ages past a one-second window before any notifier runs.
    eventually("the open to age", PATIENCE, || async { recorded.elapsed() > Duration::from_millis(1500) })
        .await;
    // A consumer that delivers every message, as one made long before the events would.
    let js = setup.nats.jetstream().await;
    let events = js.get_stream("EVENTS").await.expect("the stream");
    events
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some("notifier".to_owned()),
            deliver_policy: async_nats::jetstream::consumer::DeliverPolicy::All,
            ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .expect("a consumer");
    let config = NotifierConfig { max_age: Duration::from_secs(1), ..setup.config() };
    let notifier = Notifier::connect(config).await.expect("starts");
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let stop = stop.clone();
        async move { notifier.run(stop).await.expect("notifies") }
    });
    setup.settled().await;
    let delivered = events.consumer_info("notifier").await.expect("info").delivered.stream_sequence;
    assert_eq!(delivered, 2, "both events were delivered, and judged by their own time");
    assert!(setup.mails_about("Old").is_empty(), "no stale news");
    stop.cancel();
    task.await.expect("stopped");
}

/// `GET path` on 127.0.0.1:`port`: the status code and the body.
async fn http_get(port: u16, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}

/// A notifier running with its health endpoint on a free port.
struct Served {
    port: u16,
    stop: CancellationToken,
    task: JoinHandle<()>,
    endpoint: JoinHandle<std::io::Result<()>>,
}

impl Served {
    async fn start(config: NotifierConfig) -> Self {
        let notifier = Notifier::connect(config).await.expect("starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let port = listener.local_addr().expect("an address").port();
        let stop = CancellationToken::new();
        let endpoint =
            tokio::spawn(valentine_notifier::health::serve(listener, notifier.health(), stop.clone()));
        let task = tokio::spawn({
            let stop = stop.clone();
            async move { notifier.run(stop).await.expect("notifies") }
        });
        Self { port, stop, task, endpoint }
    }

    async fn stop(self) {
        self.stop.cancel();
        self.task.await.expect("stopped");
        self.endpoint.await.expect("joined").expect("served");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_is_not_ready_while_its_mail_does_not_go_out() {
    let mut setup = Setup::start().await;
    let served = Served::start(setup.config()).await;
    let port = served.port;
    assert_eq!(http_get(port, "/health").await.0, 200);
    assert_eq!(http_get(port, "/ready").await.0, 200, "connected, and no mail has failed");

    // The mail server goes away; an open is news to mail.
    setup.smtp.stop();
    setup.create("Kim", "classic", Some("kim@example.com")).await;
    setup.run("Kim", open("Kim")).await;
    eventually("the failed mail to show in /ready", PATIENCE, || async {
        let (status, body) = http_get(port, "/ready").await;
        status == 503 && body.contains("the last mail was not sent")
    })
    .await;
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_serves_its_lag_and_heartbeat_on_metrics_and_in_the_workers_bucket() {
    let setup = Setup::start().await;
    setup.create("Lou", "classic", None).await;
    let config = NotifierConfig { report_every: Duration::from_millis(100), ..setup.config() };
    let served = Served::start(config).await;
    let port = served.port;
    let lag = r#"valentine_consumer_lag_events{role="notifier",consumer="notifier",stream="EVENTS"} 0"#;
    eventually("/metrics to serve the lag, caught up", PATIENCE, || async {
        let (status, body) = http_get(port, "/metrics").await;
        status == 200
            && body.lines().any(|l| l == lag)
            && body.contains(r#"valentine_consumer_lag_seconds{role="notifier",consumer="notifier",stream="EVENTS"} 0.000"#)
            && body.contains("valentine_notifier_heartbeat_timestamp_seconds ")
    })
    .await;
    let beats = valentine_projections::workers::open(&setup.nats.jetstream().await, &StreamConfig::events())
        .await
        .expect("the heartbeats");
    eventually("its heartbeat to be shared", PATIENCE, || async {
        valentine_projections::workers::list(&beats).await.expect("listed").iter().any(|b| {
            b.role == "notifier"
                && b.read_model == "-"
                && b.consumers.iter().any(|c| c.consumer == "notifier")
        })
    })
    .await;
    served.stop().await;
}
