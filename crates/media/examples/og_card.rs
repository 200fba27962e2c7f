//! Renders one link-preview card to a file and says how long rendering takes.
//!
//! `cargo run -p valentine-media --example og_card -- <design> <out.png> [title]`; without a
//! title, the generic card.

use std::time::Instant;

use valentine_media::og::{self, Design, OgCard};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: og_card <design> <out.png> [title]";
    let design = args.next().and_then(|id| Design::from_id(&id)).ok_or(usage)?;
    let out = args.next().ok_or(usage)?;
    let title = args.next();
    let card = OgCard { design, title: title.as_deref() };

    let runs = 20;
    let started = Instant::now();
    let mut png = Vec::new();
    for _ in 0..runs {
        png = og::render(&card);
    }
    let each = started.elapsed() / runs;
    std::fs::write(&out, &png)?;
    println!("{out}: {} bytes, {each:.1?} a render (mean of {runs})", png.len());
    Ok(())
}
