//! `valentine-bench`: tools for benchmarks, never for a real deployment (it writes synthetic
//! pages straight into the streams).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use valentine_bench::load::{self, Plan, Scenario, Zipf};
use valentine_bench::synthetic::{
    Rng, Workload, publish_events, publish_sealed_events, publish_view_batches,
};
use valentine_eventstore::{DataKeys, StreamConfig, ensure_stream};

/// mimalloc instead of the system allocator: the seeder allocates and frees a few small
/// strings per message, and glibc's allocator took about a quarter of its time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Benchmark tools for Valentine.
#[derive(Debug, Parser)]
#[command(about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Publish a mixed workload of page events (and view tallies) to the streams at NATS_URL.
    Seed(SeedArgs),
    /// Send HTTP load to the API at ADDR and print one `result key=value ...` line.
    Load(LoadArgs),
}

#[derive(Debug, Args)]
struct SeedArgs {
    /// Page events to publish.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Instead of the mixed workload: a site of this many live pages, written with the
    /// lengths people write, one in five edited once (`--events` is then ignored).
    #[arg(long)]
    pages: Option<usize>,
    /// With `--pages`: the share of pages opened by their recipient, in percent.
    #[arg(long, default_value_t = 90)]
    opened_percent: usize,
    /// Write the live pages' slugs to this file, one per line, in a random order (the
    /// load generator's popularity order).
    #[arg(long)]
    live_slugs: Option<PathBuf>,
    /// Page views tallied after them, one entry per page per flush (default: a tenth of
    /// the events).
    #[arg(long)]
    tallies: Option<usize>,
    /// Pages per tally batch: how many distinct pages an API process saw viewed in one
    /// flush.
    #[arg(long, default_value_t = 100)]
    pages_per_batch: usize,
    /// Seed of the workload; the same seed gives the same events.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seal personal events with a data key per page life, as the event store writes them
    /// (without it: in the clear, as versions before sealing wrote them).
    #[arg(long)]
    sealed: bool,
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// `host:port` of the API.
    #[arg(long)]
    addr: String,
    /// page-get, og-png, slug-check, create or templates.
    #[arg(long)]
    scenario: String,
    /// Connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds to send for.
    #[arg(long, default_value_t = 15.0)]
    seconds: f64,
    /// Offered requests per second over all connections (open loop); without it, each
    /// connection sends its next request when the last is answered (closed loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Live slugs, one per line, the most popular first (page-get, slug-check).
    #[arg(long)]
    slugs: Option<PathBuf>,
    /// Only the first N slugs of the file (page-get over a hot set).
    #[arg(long)]
    hot: Option<usize>,
    /// The popularity's exponent (page-get).
    #[arg(long, default_value_t = 1.0)]
    zipf: f64,
    /// Share of slug checks asking for a taken slug.
    #[arg(long, default_value_t = 0.5)]
    taken_share: f64,
    /// Creates: read one in this many back at once (0: none).
    #[arg(long, default_value_t = 64)]
    read_back: u64,
    /// Sent as `X-Page-Pin` with each page read.
    #[arg(long)]
    pin: Option<String>,
    /// Tokio worker threads of the generator.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Seed(args) => tokio::runtime::Runtime::new()?.block_on(seed_streams(args)),
        Command::Load(args) => send_load(args),
    }
}

/// Runs one load run and prints its result line, with the generator's own CPU time.
fn send_load(args: LoadArgs) -> anyhow::Result<()> {
    let LoadArgs {
        addr,
        scenario,
        connections,
        seconds,
        rate,
        slugs,
        hot,
        zipf,
        taken_share,
        read_back,
        pin,
        threads,
    } = args;
    let mut slugs = match slugs {
        Some(path) => std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        None => Vec::new(),
    };
    if let Some(hot) = hot {
        slugs.truncate(hot);
    }
    let slugs = Arc::new(slugs);
    let scenario = match scenario.as_str() {
        "page-get" => Scenario::PageGet { zipf: Arc::new(Zipf::new(slugs.len().max(1), zipf)), slugs, pin },
        "og-png" => Scenario::OgPng { zipf: Arc::new(Zipf::new(slugs.len().max(1), zipf)), slugs },
        "slug-check" => Scenario::SlugCheck { taken: slugs, taken_share },
        "create" => Scenario::Create { read_back },
        "templates" => Scenario::Templates,
        other => anyhow::bail!("unknown scenario {other} (page-get, og-png, slug-check, create, templates)"),
    };
    let seed = Rng::new(u64::from(std::process::id()) ^ now_nanos()).next_u64();
    let plan = Plan { addr, scenario, connections, duration: Duration::from_secs_f64(seconds), rate, seed };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads.max(1)).enable_all().build()?;
    let before = own_cpu_seconds();
    let outcome = runtime.block_on(load::run(plan))?;
    let cpu = own_cpu_seconds() - before;
    writeln!(std::io::stdout().lock(), "{} cpu_s={cpu:.3}", outcome.summary_line())?;
    Ok(())
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// This process's CPU time so far (user and system), from /proc.
fn own_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line; 12 and 13 after the name.
    let ticks: u64 = fields.get(11..13).map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
    // The clock tick is 100 per second on Linux for every architecture it supports.
    #[allow(clippy::cast_precision_loss)]
    let seconds = ticks as f64 / 100.0;
    seconds
}

async fn seed_streams(args: SeedArgs) -> anyhow::Result<()> {
    let SeedArgs { events, pages, opened_percent, live_slugs, tallies, pages_per_batch, seed, sealed } = args;
    let tallies = tallies.unwrap_or(pages.unwrap_or(events) / 10);
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let js = async_nats::jetstream::new(async_nats::connect(&url).await.context("connecting to NATS")?);
    let (events_config, views_config) = (StreamConfig::default(), StreamConfig::tallies());
    let mut events_stream = ensure_stream(&js, &events_config).await?;
    ensure_stream(&js, &views_config).await?;
    // The workload numbers its pages from zero and assumes they are new: on top of other
    // events it would write histories the aggregate could never produce.
    let existing = events_stream.info().await.context("reading the events stream")?.state.messages;
    anyhow::ensure!(
        existing == 0,
        "the events stream already holds {existing} messages: seed only an empty, throwaway server"
    );

    let started = Instant::now();
    let workload = match pages {
        Some(pages) => Workload::pages(pages, opened_percent, seed),
        None => Workload::new(events, seed),
    };
    let published = if sealed {
        let keys = DataKeys::open(&js, &events_config).await?;
        publish_sealed_events(&js, &events_config, workload, &keys).await?
    } else {
        publish_events(&js, &events_config, workload).await?
    };
    let secs = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)] // a rate for people to read
    let rate = published.messages as f64 / secs;
    eprintln!(
        "seeded {} events in {secs:.1}s ({rate:.0}/s); {} live pages",
        published.messages,
        published.live_pages.len()
    );
    if let Some(path) = live_slugs {
        let mut slugs: Vec<&String> = published.live_pages.keys().collect();
        slugs.sort();
        let mut rng = Rng::new(seed ^ 0x5eed);
        for i in (1..slugs.len()).rev() {
            slugs.swap(i, rng.below(i + 1));
        }
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
        );
        for slug in slugs {
            writeln!(file, "{slug}")?;
        }
        file.flush()?;
    }
    if tallies > 0 {
        let per_batch = pages_per_batch.max(1);
        let batches = tallies.div_ceil(per_batch);
        let views =
            publish_view_batches(&js, &views_config, &published.live_pages, batches, per_batch, seed).await?;
        eprintln!("seeded {batches} view tally batches of up to {per_batch} pages ({views} views)");
    }
    Ok(())
}
