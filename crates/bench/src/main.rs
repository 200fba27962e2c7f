//! `valentine-bench`: tools for benchmarks, never for a real deployment (it writes synthetic
//! pages straight into the streams).

use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use valentine_bench::synthetic::{Workload, publish_events, publish_sealed_events, publish_view_batches};
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
    Seed {
        /// Page events to publish.
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
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
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Command::Seed { events, tallies, pages_per_batch, seed, sealed } = Cli::parse().command;
    let tallies = tallies.unwrap_or(events / 10);
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
    let workload = Workload::new(events, seed);
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
    if tallies > 0 {
        let per_batch = pages_per_batch.max(1);
        let batches = tallies.div_ceil(per_batch);
        let views =
            publish_view_batches(&js, &views_config, &published.live_pages, batches, per_batch, seed).await?;
        eprintln!("seeded {batches} view tally batches of up to {per_batch} pages ({views} views)");
    }
    Ok(())
}
