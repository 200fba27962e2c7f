//! The API on real servers, as one test binary: `app` starts it (with a projector) for each
//! test; the modules test one surface each.

mod answers;
mod app;
mod connections;
mod console;
mod docs;
mod http;
mod limits;
mod moments;
mod nodes;
mod pages;
mod read_model;
mod sharded_redis;
