//! Building the application from its configuration, and running it until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use cqrs_es::persist::PersistedEventStore;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use valentine_domain::page::versions;
use valentine_domain::{Page, PageRules};
use valentine_eventstore::{EventStoreError, PhotoStore, StreamConfig, ensure_stream, jetstream_cqrs};
use valentine_projections::parked::ParkedEvents;
use valentine_projections::read_connections::ReadConnections;
use valentine_projections::redis_connection::{self, RedisTarget};
use valentine_projections::{PositionWatch, ProjectionError, applied, db, page_store, workers};

use crate::caller::CallerKeys;
use crate::config::ApiConfig;
use crate::job_ledger::JobLedger;
use crate::metrics::Metrics;
use crate::openapi::ApiDoc;
use crate::rate_limit::{Budgets, Limit, RateLimiter};
use crate::redis_client::RedisClient;
use crate::routes::{self, templates};
use crate::secret::ServerSecret;
use crate::server::{self, ConnectionLimits};
use crate::state::{AppParts, AppState};
use crate::store_usage::{self, StoreUsage};
use crate::use_cases::admin_console::ConsoleParts;
use crate::use_cases::{
    AdminConsole, CommandHandles, JobTracker, PageAccess, PageCommands, PageExports, PageInsights,
    PagePhotos, PageQueries, PageShare, PageVisits, ReadPositions, ReadinessChecks, SlugChecks,
};
use crate::view_counts::{self, ViewCounter};

/// How often Redis is pinged in the background, so the breaker and `/health` follow it even
/// when no request needs it.
const REDIS_WATCH_EVERY: Duration = Duration::from_secs(2);

/// How long read connections live before reconnecting. (A rebuilt read model is read at
/// once: the pool closes connections opened before the swap instead of handing them out.)
const READ_CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// NATS is unreachable.
    #[error("cannot connect to NATS: {0}")]
    Nats(#[from] valentine_eventstore::NatsConnectError),
    /// Projection announcements cannot be subscribed to.
    #[error("cannot subscribe to projection announcements: {0}")]
    Subscribe(#[from] async_nats::SubscribeError),
    /// The streams cannot be set up.
    #[error(transparent)]
    EventStore(#[from] EventStoreError),
    /// The read model cannot be opened.
    #[error(transparent)]
    ReadModel(#[from] ProjectionError),
    /// `REDIS_URL` is malformed.
    #[error("invalid REDIS_URL: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis refuses the login: `REDIS_PASSWORD` is wrong, or missing.
    #[error("Redis refuses the login (check REDIS_PASSWORD): {0}")]
    RedisLogin(#[source] redis::RedisError),
    /// The operating system's random source failed.
    #[error("no randomness: {0}")]
    Random(#[from] getrandom::Error),
    /// The address cannot be bound.
    #[error("cannot listen on the bind address: {0}")]
    Bind(#[from] std::io::Error),
}

/// A built API, listening, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
    background: Background,
}

/// What runs beside the requests: publishing view tallies, watching Redis and the event
/// store's size.
#[derive(Debug)]
struct Background {
    js: jetstream::Context,
    tallies: StreamConfig,
    redis: RedisClient,
    store: StoreUsage,
}

impl Application {
    /// Connects to everything, makes sure the streams and the read model schema exist, and
    /// binds the listener.
    ///
    /// # Errors
    /// When a dependency is unreachable or refuses.
    pub async fn build(config: ApiConfig) -> Result<Self, StartupError> {
        let metrics = Metrics::new();
        if config.ip_hash_secret.is_none() {
            warn!(
                "IP_HASH_SECRET is not set: using a random secret for this process; set one shared by all instances"
            );
        }
        let secret = ServerSecret::new(config.ip_hash_secret.as_ref().map(ExposeSecret::expose_secret))?;
        let nats = config.nats.connect("valentine-api").await?;
        let js = jetstream::new(nats.clone());
        let repo = page_store::open(&js, &config.events).await?;
        ensure_stream(&js, &config.tallies).await?;
        let database = &config.read_model.database_path;
        db::prepare(database).await?;
        let pool = db::reader_pool(database, config.read_connections, READ_CONNECTION_LIFETIME).await?;
        let console_pool = pool.clone();
        let redis = RedisTarget::from_settings(
            config.redis_url.as_deref(),
            config.redis_cluster,
            config.redis_password.as_ref(),
        )?;
        if let Some(redis) = &redis {
            redis
                .check_login(redis_connection::LOGIN_CHECK_TIMEOUT)
                .await
                .map_err(StartupError::RedisLogin)?;
        }
        let redis = RedisClient::new(redis.as_ref(), metrics.clone())?;
        let limiter = RateLimiter::new(redis.clone(), budgets(&config), metrics.clone());
        let position = PositionWatch::start(&nats, config.read_model.announcements()).await?;
        let listener = TcpListener::bind(config.bind_addr).await?;

        let consumer = config.read_model.events_consumer();
        let events = repo.stream().clone();
        let store = StoreUsage::new(events.clone(), metrics.clone());
        let ledger = JobLedger::open(&js, &config.events).await?;
        // Where the read model stands now: reads asking for an older position answer at once.
        position.reached(applied::positions(&pool).await?.0);
        let read_positions =
            ReadPositions::new(position.clone(), pool.clone(), repo.stream().clone(), config.sync_wait);
        let queries = PageQueries::new(
            pool,
            ReadConnections::new(&config.read_model.database_path),
            read_positions,
            config.page_cache.then(|| redis.clone()),
            config.read_model.cache_keys(),
            limiter.clone(),
        );
        let exports = PageExports::new(repo.clone(), queries.clone(), limiter.clone());
        let insights = PageInsights::new(queries.clone(), position.clone(), config.max_insight_streams);
        let access = PageAccess::new(queries.clone(), limiter.clone());
        let photo_store = PhotoStore::open(&js, &config.events).await?;
        // Image work (uploads, previews) takes at most one turn per core at once.
        let media = Arc::new(Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from)));
        let photo_repo = repo.clone();
        let console_repo = repo.clone();
        let rules = PageRules { max_events: config.max_events_per_page };
        let commands = PageCommands::new(CommandHandles {
            cqrs: jetstream_cqrs::<Page>(repo.clone(), rules, versions::upcasters()),
            fresh: PersistedEventStore::new_event_store(repo.clone()),
            rules,
            repo,
            photos: photo_store.clone(),
            position,
            queries: queries.clone(),
            access: access.clone(),
            limiter: limiter.clone(),
            ledger: ledger.clone(),
            secret: secret.clone(),
            store: store.clone(),
            sync_wait: config.sync_wait,
            idempotency_window: config.idempotency_window,
            metrics: metrics.clone(),
        });
        let photos = PagePhotos::new(
            commands.clone(),
            queries.clone(),
            access.clone(),
            photo_repo,
            photo_store,
            limiter.clone(),
            Arc::clone(&media),
        );
        let share = PageShare::new(queries.clone(), media);
        let console = AdminConsole::new(ConsoleParts {
            tokens: config.admin_tokens.clone(),
            limiter: limiter.clone(),
            js: js.clone(),
            repo: console_repo,
            consumed: vec![config.events.stream_name.clone(), config.tallies.stream_name.clone()],
            workers: workers::open(&js, &config.events).await?,
            parked: ParkedEvents::open(&js, &config.events).await?,
            db: console_pool,
            commands: commands.clone(),
        });
        let view_counts = ViewCounter::default();
        let visits = PageVisits::new(view_counts.clone(), metrics.clone(), commands.clone(), queries.clone());
        let state = AppState::new(AppParts {
            commands,
            access,
            photos,
            share,
            visits,
            insights,
            exports,
            jobs: JobTracker::new(events.clone(), consumer.clone(), queries.clone(), ledger, limiter.clone()),
            slugs: SlugChecks::new(queries.clone(), limiter),
            readiness: ReadinessChecks::new(
                nats,
                redis.clone(),
                queries.clone(),
                events.clone(),
                consumer,
                metrics.clone(),
            ),
            console,
            queries,
            view_counts,
            metrics,
            caller_keys: CallerKeys::new(secret, &config.trusted_proxies, config.ipv6_prefix),
            templates_json: templates::list_json(),
            openapi_json: ApiDoc::json(),
            config: Arc::new(config.clone()),
        });
        let background = Background { js, tallies: config.tallies.clone(), redis, store };
        Ok(Self { listener, state, background })
    }

    /// The address it listens on (useful with port 0).
    ///
    /// # Errors
    /// When the socket has no address, which a bound one always has.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` is cancelled; then finishes in-flight requests and publishes
    /// the views counted so far.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let Self { listener, state, background: Background { js, tallies, redis, store } } = self;
        let stop = CancellationToken::new();
        let flusher = tokio::spawn(view_counts::flush_loop(
            state.view_counts.clone(),
            js,
            tallies,
            state.metrics.clone(),
            stop.clone(),
        ));
        let watcher = tokio::spawn(watch_redis(redis, stop.clone()));
        let sizer = tokio::spawn(store_usage::watch(store, stop.clone()));
        info!(address = %listener.local_addr()?, "serving the API");
        let limits = ConnectionLimits {
            header_read: state.config.header_read_timeout,
            idle: state.config.idle_timeout,
            max_connections: state.config.max_connections,
        };
        let metrics = state.metrics.clone();
        // Live streams end when the server begins to close, so they never hold it open.
        let closing = state.insights.closing();
        let streams_end = shutdown.clone();
        tokio::spawn(async move {
            streams_end.cancelled().await;
            closing.cancel();
        });
        server::serve(listener, routes::router(state), limits, metrics, shutdown).await;
        stop.cancel();
        let _ = tokio::join!(flusher, watcher, sizer);
        Ok(())
    }
}

async fn watch_redis(redis: RedisClient, stop: CancellationToken) {
    if !redis.is_configured() {
        return;
    }
    let mut was_up = true;
    loop {
        let up = redis.ping().await.is_ok();
        if up != was_up {
            if up {
                info!("redis is back");
            } else {
                warn!("redis is unreachable; serving without the cache, rate limits per process");
            }
            was_up = up;
        }
        tokio::select! {
            () = tokio::time::sleep(REDIS_WATCH_EVERY) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// The budget of every route, from the configuration.
fn budgets(config: &ApiConfig) -> Budgets {
    Budgets {
        pages: Limit::per_hour(config.pages_per_hour),
        slug_checks: Limit::per_minute(config.slug_checks_per_minute),
        edits: Limit::per_minute(config.edits_per_minute),
        page_edits: Limit::per_hour(config.page_edits_per_hour),
        job_polls: Limit::per_minute(config.job_polls_per_minute),
        reads: Limit::per_minute(config.reads_per_minute),
        answers: Limit::per_minute(config.answers_per_minute),
        photos: Limit::per_hour(config.photos_per_hour),
        pin_guesses: Limit::per_hour(config.pin_guesses_per_hour),
        page_pin_guesses: Limit::per_hour(config.page_pin_guesses_per_hour),
        page_pin_guesses_monthly: Limit::per_month(config.page_pin_guesses_per_month),
        reports: Limit::per_hour(config.reports_per_hour),
        admin: Limit::per_minute(config.admin_per_minute),
        admin_failures: Limit::per_hour(config.admin_failures_per_hour),
    }
}
