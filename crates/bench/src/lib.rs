//! Valentine's benchmark tools, never for a real deployment: they write synthetic pages
//! straight into the streams.
//!
//! A library as well as the `valentine-bench` binary, so that the read side's tests fill
//! their streams with the very workload the benchmarks measure, while the production crates
//! ship no generator. Depends on the domain and the event store only.
//!
//! # Layout
//! - [`synthetic`]: a reproducible mixed workload of page events and view tallies, and its
//!   publishing.
//! - [`load`]: an HTTP load generator for the API's scenarios, closed- or open-loop.

pub mod load;
pub mod synthetic;
