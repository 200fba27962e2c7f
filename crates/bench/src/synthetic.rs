//! A synthetic, reproducible workload: mixed page events (creates, updates, deletes and
//! re-creates) and view tallies, published straight to the streams in the real wire format.
//!
//! For tests and benchmarks of the read side only. It bypasses the aggregate and the
//! optimistic-concurrency headers (it is the only writer, and publishes each page's commits
//! in order on one connection), so it can fill a stream at JetStream's full publish rate.
//! Otherwise every message carries the headers the event store writes (the commit's
//! [`Commit::headers`] and a message id), so readers take it for an ordinary commit.

use std::collections::HashMap;
use std::future::IntoFuture;

use async_nats::jetstream;
use async_nats::jetstream::context::PublishError;
use cqrs_es::{Aggregate, DomainEvent};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use valentine_domain::{
    EditToken, Page, PageCreated, PageDeleted, PageEvent, PageOpened, PageUpdated, TemplateId,
};
use valentine_eventstore::envelope::{Commit, EventMeta, WireEvent, header};
use valentine_eventstore::sealing::{self, Binding, DataKey};
use valentine_eventstore::tallies::{self, PageViews, TallyBatch, ViewTally};
use valentine_eventstore::{DataKeys, EventStoreError, StreamConfig, ensure_stream, subjects};

/// Why a workload could not be published.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// The stream could not be set up.
    #[error(transparent)]
    Stream(#[from] EventStoreError),
    /// A payload could not be sealed.
    #[error("sealing: {0}")]
    Sealing(String),
    /// JetStream refused a message or did not acknowledge it.
    #[error("JetStream refused a message: {0}")]
    Publish(#[from] PublishError),
    /// A message could not be encoded.
    #[error("encoding a message: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Publishes in flight before waiting for acknowledgements. Against a server that syncs every
/// write (`nats/nats-server.conf`), the last of them waits for all the disk flushes before it,
/// so this stays well below the client's 5 s acknowledgement timeout on a slow disk.
const IN_FLIGHT: usize = 256;

/// A small deterministic generator (xorshift64*), so a seed always gives the same workload.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % n as u64).unwrap_or(0)
    }
}

#[derive(Debug)]
struct SimPage {
    key: String,
    sequence: usize,
    live: bool,
}

/// The mixed page workload: `events` events over a growing set of pages; or a site's pages
/// ([`Workload::pages`]).
#[derive(Debug)]
pub struct Workload {
    rng: Rng,
    pages: Vec<SimPage>,
    remaining: usize,
    next_command: u64,
    /// `Some`: a site of live pages written as people write them.
    site: Option<Site>,
}

/// What a site workload has written so far, and is to write.
#[derive(Debug)]
struct Site {
    pages: usize,
    opened_percent: usize,
    edits: usize,
    opens: usize,
}

/// Words for synthetic pages, drawn from a seed: titles, names and messages of the lengths
/// people write (messages from a few words to the 2,000-character limit, most of them a few
/// hundred characters).
#[derive(Debug, Clone)]
pub struct Words(Rng);

const VOCABULARY: [&str; 64] = [
    "you",
    "me",
    "love",
    "always",
    "every",
    "day",
    "with",
    "heart",
    "smile",
    "morning",
    "night",
    "laugh",
    "together",
    "forever",
    "thank",
    "for",
    "the",
    "little",
    "things",
    "home",
    "coffee",
    "walks",
    "rain",
    "summer",
    "stars",
    "dance",
    "kitchen",
    "songs",
    "remember",
    "when",
    "first",
    "met",
    "still",
    "more",
    "than",
    "yesterday",
    "tomorrow",
    "hand",
    "hold",
    "mine",
    "yours",
    "sweet",
    "brave",
    "kind",
    "patient",
    "adventure",
    "wherever",
    "go",
    "and",
    "of",
    "is",
    "my",
    "favourite",
    "person",
    "thinking",
    "about",
    "all",
    "our",
    "years",
    "ahead",
    "promise",
    "be",
    "valentine",
    "?",
];
const NAMES: [&str; 24] = [
    "Sam", "Alex", "Noor", "Mia", "Leo", "Ana", "Jonas", "Priya", "Tom", "Eva", "Kai", "Lena", "Omar", "Zoe",
    "Ravi", "Ines", "Hugo", "Maya", "Finn", "Sofia", "Yuki", "Ben", "Chloé", "Mateo",
];

impl Words {
    /// Words drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(Rng::new(seed))
    }

    fn text(&mut self, chars: usize) -> String {
        let mut out = String::with_capacity(chars + 12);
        let mut capital = true;
        while out.len() < chars {
            let word = VOCABULARY[self.0.below(VOCABULARY.len())];
            if !out.is_empty() {
                out.push(' ');
            }
            if capital {
                let mut letters = word.chars();
                out.extend(letters.next().map(|c| c.to_ascii_uppercase()));
                out.push_str(letters.as_str());
            } else {
                out.push_str(word);
            }
            capital = self.0.below(9) == 0;
            if capital {
                out.push('.');
            }
        }
        out
    }

    /// A title of 8 to 60 characters.
    pub fn title(&mut self) -> String {
        let chars = 8 + self.0.below(53);
        let mut title = self.text(chars);
        // The vocabulary is ASCII: any byte is a character boundary.
        title.truncate(60);
        title.trim_end().to_owned()
    }

    /// A message: a tenth under 120 characters, most 120 to 700, a few near the limit.
    pub fn message(&mut self) -> String {
        let chars = match self.0.below(100) {
            0..10 => 40 + self.0.below(80),
            10..40 => 120 + self.0.below(180),
            40..75 => 300 + self.0.below(400),
            75..95 => 700 + self.0.below(700),
            _ => 1400 + self.0.below(550),
        };
        let mut message = self.text(chars);
        message.truncate(2000);
        message.trim_end().to_owned()
    }

    /// A first name.
    pub fn name(&mut self) -> String {
        NAMES[self.0.below(NAMES.len())].to_owned()
    }
}

const TEMPLATES: [TemplateId; 8] = [
    TemplateId::Classic,
    TemplateId::Modern,
    TemplateId::Playful,
    TemplateId::Elegant,
    TemplateId::Proposal,
    TemplateId::Envelope,
    TemplateId::Scratch,
    TemplateId::Countdown,
];

impl Workload {
    /// A workload of `events` events, reproducible from `seed`.
    pub fn new(events: usize, seed: u64) -> Self {
        Self { rng: Rng::new(seed), pages: Vec::new(), remaining: events, next_command: 0, site: None }
    }

    /// A site of `pages` live pages, reproducible from `seed`: each created with words of
    /// the lengths people write ([`Words`]); one in five edited once afterwards (its title or
    /// message); `opened_percent` of them opened by their recipient, the oldest first (a
    /// site's newest pages are the ones not opened yet); none deleted.
    pub fn pages(pages: usize, opened_percent: usize, seed: u64) -> Self {
        let opened_percent = opened_percent.min(100);
        Self {
            rng: Rng::new(seed),
            pages: Vec::with_capacity(pages),
            remaining: pages + pages / 5 + pages * opened_percent / 100,
            next_command: 0,
            site: Some(Site { pages, opened_percent, edits: 0, opens: 0 }),
        }
    }

    /// A site's next commit: an edit or an open when either trails its share of the pages
    /// created so far, otherwise a new page.
    fn next_site_commit(&mut self) -> Commit<PageEvent, EventMeta> {
        let Some(site) = self.site.as_mut() else { unreachable!("a site's commit of a site") };
        let created = self.pages.len();
        let edit_due = site.edits * 5 < created.max(1) && site.edits < site.pages / 5 && created > 0;
        let open_due = site.opens * 100 < created * site.opened_percent && site.opens < created;
        if open_due && (!edit_due || self.rng.below(2) == 0) {
            let index = site.opens;
            site.opens += 1;
            return self.commit(index, PageEvent::PageOpened(PageOpened {}));
        }
        if !edit_due && created < site.pages {
            let key = format!("page-{created}");
            self.pages.push(SimPage { key: key.clone(), sequence: 0, live: true });
            let mut words = Words::new(self.rng.next_u64());
            let n = self.rng.next_u64();
            let event = PageEvent::PageCreated(PageCreated {
                slug: key,
                title: words.title(),
                message: words.message(),
                sender_name: (!n.is_multiple_of(4)).then(|| words.name()),
                recipient_name: (!n.is_multiple_of(3)).then(|| words.name()),
                template_id: TEMPLATES[self.rng.below(TEMPLATES.len())],
                edit_token_hash: EditToken::presented(format!("token-{n}")).hash(),
                song_url: None,
                reveal_at: None,
                pin_hash: None,
            });
            return self.commit(created, event);
        }
        site.edits += 1;
        let index = self.rng.below(self.pages.len());
        let mut words = Words::new(self.rng.next_u64());
        let mut update = PageUpdated::default();
        if self.rng.below(2) == 0 {
            update.title = Some(words.title());
        } else {
            update.message = Some(words.message());
        }
        self.commit(index, PageEvent::PageUpdated(update))
    }

    fn created(&mut self, slug: &str) -> PageEvent {
        let n = self.rng.next_u64();
        PageEvent::PageCreated(PageCreated {
            slug: slug.to_owned(),
            title: format!("For you, #{n:x}"),
            message: format!("Every day with you is a gift. ({n})\nYours, always."),
            sender_name: (!n.is_multiple_of(3)).then(|| format!("Sam {}", n % 97)),
            recipient_name: (n.is_multiple_of(2)).then(|| format!("Alex {}", n % 89)),
            template_id: TEMPLATES[self.rng.below(TEMPLATES.len())],
            edit_token_hash: EditToken::presented(format!("token-{n}")).hash(),
            song_url: None,
            reveal_at: None,
            pin_hash: None,
        })
    }

    fn updated(&mut self) -> PageEvent {
        let n = self.rng.next_u64();
        let mut update = PageUpdated::default();
        match n % 4 {
            0 => update.title = Some(format!("Still you, #{n:x}")),
            1 => update.message = Some(format!("More than yesterday ({n}).")),
            2 => update.sender_name = Some((!n.is_multiple_of(8)).then(|| format!("S {n}"))),
            _ => update.template_id = Some(TEMPLATES[self.rng.below(TEMPLATES.len())]),
        }
        PageEvent::PageUpdated(update)
    }

    /// The next commit (always one event), or `None` when the workload is done.
    pub fn next_commit(&mut self) -> Option<Commit<PageEvent, EventMeta>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        if self.site.is_some() {
            return Some(self.next_site_commit());
        }
        let roll = self.rng.below(100);
        let pick_live = |rng: &mut Rng, pages: &[SimPage]| -> Option<usize> {
            // A few random probes find a live page quickly in a mostly-live population.
            (0..8).map(|_| rng.below(pages.len().max(1))).find(|&i| pages.get(i).is_some_and(|p| p.live))
        };
        let (index, event) = if self.pages.is_empty() || roll < 30 {
            let key = format!("page-{}", self.pages.len());
            self.pages.push(SimPage { key: key.clone(), sequence: 0, live: true });
            let slug = if roll.is_multiple_of(2) { key.to_ascii_uppercase() } else { key };
            (self.pages.len() - 1, self.created(&slug))
        } else if roll < 90 {
            match pick_live(&mut self.rng, &self.pages) {
                Some(i) if roll < 82 => (i, self.updated()),
                Some(i) => {
                    self.pages[i].live = false;
                    (i, PageEvent::PageDeleted(PageDeleted {}))
                }
                None => return self.recreate_or_create(),
            }
        } else {
            return self.recreate_or_create();
        };
        Some(self.commit(index, event))
    }

    fn recreate_or_create(&mut self) -> Option<Commit<PageEvent, EventMeta>> {
        let dead = (0..8).map(|_| self.rng.below(self.pages.len().max(1))).find(|&i| !self.pages[i].live);
        let index = dead.unwrap_or_else(|| {
            let key = format!("page-{}", self.pages.len());
            self.pages.push(SimPage { key, sequence: 0, live: false });
            self.pages.len() - 1
        });
        self.pages[index].live = true;
        let slug = self.pages[index].key.clone();
        let event = self.created(&slug);
        Some(self.commit(index, event))
    }

    fn commit(&mut self, index: usize, event: PageEvent) -> Commit<PageEvent, EventMeta> {
        let page = &mut self.pages[index];
        page.sequence += 1;
        self.next_command += 1;
        let id = format!("{:026}", self.next_command);
        Commit {
            aggregate_type: Page::TYPE.to_owned(),
            aggregate_id: page.key.clone(),
            command_id: id.clone(),
            events: vec![WireEvent {
                sequence: page.sequence,
                event_type: event.event_type(),
                event_version: event.event_version(),
                payload: event,
                metadata: EventMeta {
                    event_id: id,
                    timestamp: format!("2026-02-14T09:00:00.{:09}Z", self.next_command),
                },
            }],
        }
    }
}

/// What a published workload left behind: the current page id of every live page.
#[derive(Debug, Default)]
pub struct Published {
    /// Messages published.
    pub messages: u64,
    /// Live pages by slug key, with their page id (stream sequence of their creation).
    pub live_pages: HashMap<String, u64>,
}

/// Publishes `workload` to the event stream (created if missing) with acknowledgements
/// pipelined.
///
/// # Errors
/// When JetStream refuses the stream or a message.
pub async fn publish_events(
    js: &jetstream::Context,
    config: &StreamConfig,
    workload: Workload,
) -> Result<Published, WorkloadError> {
    publish_events_sealed_with(js, config, workload, None).await
}

/// [`publish_events`], with every personal event sealed under its page life's data key, as
/// the event store writes them: one key per creation, stored in `keys` first.
///
/// # Errors
/// When JetStream refuses the stream, a key or a message.
pub async fn publish_sealed_events(
    js: &jetstream::Context,
    config: &StreamConfig,
    workload: Workload,
    keys: &DataKeys,
) -> Result<Published, WorkloadError> {
    publish_events_sealed_with(js, config, workload, Some(keys)).await
}

async fn publish_events_sealed_with(
    js: &jetstream::Context,
    config: &StreamConfig,
    mut workload: Workload,
    keys: Option<&DataKeys>,
) -> Result<Published, WorkloadError> {
    ensure_stream(js, config).await?;
    let mut in_flight = FuturesUnordered::new();
    let mut published = Published::default();
    let mut latest: HashMap<String, Latest> = HashMap::new();
    let mut lives: HashMap<String, DataKey> = HashMap::new();
    while let Some(commit) = workload.next_commit() {
        let subject = subjects::aggregate(&config.subject_prefix, Page::TYPE, &commit.aggregate_id);
        let mut headers = commit.headers();
        headers.insert(header::MSG_ID, commit.command_id.as_str());
        let key = commit.aggregate_id.clone();
        let creates = matches!(commit.events[0].payload, PageEvent::PageCreated(_));
        let deletes = matches!(commit.events[0].payload, PageEvent::PageDeleted(_));
        let order = commit.first_sequence();
        let payload = match keys {
            None => serde_json::to_vec(&commit)?,
            Some(keys) => {
                if creates {
                    lives.insert(key.clone(), keys.create().await?);
                }
                let sealed = seal(commit, lives.get(&key))?;
                if let Some(life) = lives.get(&key).filter(|_| !deletes) {
                    headers.insert(header::DATA_KEY, life.id());
                }
                serde_json::to_vec(&sealed)?
            }
        };
        let ack = js.publish_with_headers(subject, headers, payload.into()).await?;
        in_flight.push(async move { (key, creates, deletes, order, ack.await) });
        while in_flight.len() >= IN_FLIGHT {
            record(in_flight.next().await, &mut published, &mut latest)?;
        }
    }
    while !in_flight.is_empty() {
        record(in_flight.next().await, &mut published, &mut latest)?;
    }
    published.live_pages =
        latest.into_iter().filter(|(_, l)| !l.deleted_last).map(|(key, l)| (key, l.creation.1)).collect();
    Ok(published)
}

/// `commit` as the event store stores it: personal events sealed with `key`.
fn seal(commit: Commit<PageEvent, EventMeta>, key: Option<&DataKey>) -> Result<Commit, WorkloadError> {
    let Commit { aggregate_type, aggregate_id, command_id, events } = commit;
    let events = events
        .into_iter()
        .map(|e| {
            let mut payload = serde_json::to_value(&e.payload)?;
            if let Some(key) = key.filter(|_| Page::PERSONAL.contains(&e.event_type.as_str())) {
                let binding = Binding::of(&aggregate_type, &aggregate_id, &e);
                payload = sealing::seal(key, binding, &payload)
                    .map_err(|err| WorkloadError::Sealing(err.to_string()))?;
            }
            Ok(WireEvent {
                sequence: e.sequence,
                event_type: e.event_type,
                event_version: e.event_version,
                payload,
                metadata: serde_json::to_value(&e.metadata)?,
            })
        })
        .collect::<Result<_, WorkloadError>>()?;
    Ok(Commit { aggregate_type, aggregate_id, command_id, events })
}

type Acked = (String, bool, bool, usize, Result<jetstream::publish::PublishAck, PublishError>);

/// What the newest acknowledged events of a page say. Acknowledgements complete in any
/// order, so each fact is kept with the aggregate sequence it came from.
#[derive(Debug, Default)]
struct Latest {
    /// (aggregate sequence, stream sequence) of the newest creation.
    creation: (usize, u64),
    /// Aggregate sequence of the newest event.
    newest: usize,
    /// Whether the newest event is a deletion.
    deleted_last: bool,
}

fn record(
    acked: Option<Acked>,
    published: &mut Published,
    latest: &mut HashMap<String, Latest>,
) -> Result<(), WorkloadError> {
    let Some((key, creates, deletes, order, ack)) = acked else { return Ok(()) };
    let ack = ack?;
    published.messages += 1;
    let page = latest.entry(key).or_default();
    if creates && order > page.creation.0 {
        page.creation = (order, ack.sequence);
    }
    if order > page.newest {
        page.newest = order;
        page.deleted_last = deletes;
    }
    Ok(())
}

/// Makes sure the view stream exists, and returns page keys and ids in a fixed order, so a
/// seed always draws the same pages.
async fn view_targets<'a>(
    js: &jetstream::Context,
    config: &StreamConfig,
    pages: &'a HashMap<String, u64>,
) -> Result<Vec<(&'a String, &'a u64)>, WorkloadError> {
    ensure_stream(js, config).await?;
    let mut keys: Vec<(&String, &u64)> = pages.iter().collect();
    keys.sort();
    Ok(keys)
}

/// Publishes messages with at most [`IN_FLIGHT`] unacknowledged, and waits for the rest.
async fn publish_acked(
    js: &jetstream::Context,
    messages: impl Iterator<Item = Result<(String, String, Vec<u8>), WorkloadError>>,
) -> Result<(), WorkloadError> {
    let mut in_flight = FuturesUnordered::new();
    for message in messages {
        let (subject, id, payload) = message?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(header::MSG_ID, id.as_str());
        let ack = js.publish_with_headers(subject, headers, payload.into()).await?;
        in_flight.push(ack.into_future());
        while in_flight.len() >= IN_FLIGHT {
            if let Some(ack) = in_flight.next().await {
                ack?;
            }
        }
    }
    while let Some(ack) = in_flight.next().await {
        ack?;
    }
    Ok(())
}

/// Publishes `count` single-page view tallies (the format of streams written before batches),
/// spread over `pages` (slug key → page id), to the view stream (created if missing).
///
/// # Errors
/// When JetStream refuses the stream or a message.
pub async fn publish_tallies(
    js: &jetstream::Context,
    config: &StreamConfig,
    pages: &HashMap<String, u64>,
    count: usize,
    seed: u64,
) -> Result<u64, WorkloadError> {
    let keys = view_targets(js, config, pages).await?;
    let (mut rng, mut total) = (Rng::new(seed), 0);
    let messages = (0..if keys.is_empty() { 0 } else { count }).map(|i| {
        let (key, page_id) = keys[rng.below(keys.len())];
        let tally = ViewTally { page_id: *page_id, count: 1 + rng.next_u64() % 5 };
        total += tally.count;
        Ok((tallies::subject(config, key), format!("tally-{seed}-{i}"), serde_json::to_vec(&tally)?))
    });
    publish_acked(js, messages).await?;
    Ok(total)
}

/// Publishes `batches` view tally batches, as API processes flush them, each counting views
/// of up to `per_batch` pages drawn from `pages` (slug key → page id), to the view stream
/// (created if missing). Returns the views counted in all.
///
/// # Errors
/// When JetStream refuses the stream or a message.
pub async fn publish_view_batches(
    js: &jetstream::Context,
    config: &StreamConfig,
    pages: &HashMap<String, u64>,
    batches: usize,
    per_batch: usize,
    seed: u64,
) -> Result<u64, WorkloadError> {
    let keys = view_targets(js, config, pages).await?;
    let (mut rng, mut total) = (Rng::new(seed), 0);
    let messages = (0..if keys.is_empty() { 0 } else { batches }).map(|i| {
        let mut batch = TallyBatch::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..per_batch {
            let (key, page_id) = keys[rng.below(keys.len())];
            // One entry per page, as a flush merges a page's views.
            if seen.insert(key) {
                let count = 1 + rng.next_u64() % 5;
                total += count;
                batch.pages.push(PageViews { slug: key.clone(), page_id: *page_id, count });
            }
        }
        Ok((tallies::batch_subject(config), format!("views-{seed}-{i}"), serde_json::to_vec(&batch)?))
    });
    publish_acked(js, messages).await?;
    Ok(total)
}
