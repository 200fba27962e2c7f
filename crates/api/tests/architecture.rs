//! The crate's module dependency rules, checked on every test run: routes → use cases →
//! adapters → leaves, never back up, and no cycle anywhere.
//!
//! Every `crate::…` and `super::…` path in `src/` is an edge from the file's module to the
//! module that path names; a parent that uses its child by name (`child::…`) is an edge too.
//! Each top-level module sits in one layer of [`LAYERS`]; a module may use modules of lower
//! layers and its own top-level module's parts, nothing else, and its own parts must not
//! form a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level modules from the top of the crate down. A module uses only layers below its own
/// (and its own parts); modules side by side in one layer never use each other.
const LAYERS: &[&[&str]] = &[
    &["startup"],
    &["openapi"],
    &["routes"],
    &["state"],
    &["use_cases"],
    &["preview", "rate_limit", "view_counts", "caller", "extract", "job_ledger", "server", "store_usage"],
    &["redis_client"],
    &["wire", "error", "metrics", "secret", "config"],
    &["admin_tokens"],
];

/// Modules that must know nothing of HTTP handling.
const NO_AXUM: &[&str] = &["use_cases", "wire"];

/// A source file: its module path (`routes::pages`) and text.
struct Module {
    path: String,
    text: String,
}

fn modules_in(src: &Path) -> Vec<Module> {
    let mut found = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(src).expect("under src").with_extension("");
                let name = relative.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "::");
                let name = if name == "lib" { String::new() } else { name };
                found.push(Module { path: name, text: std::fs::read_to_string(&path).expect("readable") });
            }
        }
    }
    found
}

/// The code of `text` without comments (line comments and doc comments), so prose that
/// mentions a path is no dependency.
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths that follow `prefix` (`crate::`, `super::`) in `code`, expanding `{a, b::c}`
/// groups: each as its segments.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().last();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| is_ident(c) || c == ':') {
            continue;
        }
        collect_paths(rest, Vec::new(), &mut paths);
    }
    paths
}

fn collect_paths(text: &str, base: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut segments = base;
    let mut rest = text.trim_start();
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' | ',' if depth == 1 => {
                        let item = &group[start..i];
                        if !item.trim().is_empty() {
                            collect_paths(item, segments.clone(), out);
                        }
                        start = i + 1;
                        if c == '}' {
                            return;
                        }
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            return;
        }
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segments.push(rest[..end].to_owned());
        rest = &rest[end..];
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    if !segments.is_empty() {
        out.push(segments);
    }
}

/// The longest known module that `segments` (from the crate root) starts with.
fn resolve(segments: &[String], known: &BTreeSet<String>) -> Option<String> {
    (1..=segments.len()).rev().map(|n| segments[..n].join("::")).find(|m| known.contains(m))
}

/// Edges between modules, from each module to the modules it uses.
fn dependencies(modules: &[Module]) -> BTreeMap<String, BTreeSet<String>> {
    let known: BTreeSet<String> = modules.iter().map(|m| m.path.clone()).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for module in modules {
        let code = code(&module.text);
        let own: Vec<String> = module.path.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
        let mut targets = BTreeSet::new();
        for path in paths_after(&code, "crate::") {
            targets.extend(resolve(&path, &known));
        }
        if let Some((_, parent)) = own.split_last() {
            for path in paths_after(&code, "super::") {
                let absolute: Vec<String> = parent.iter().cloned().chain(path).collect();
                targets.extend(resolve(&absolute, &known));
            }
        }
        // A parent naming its child: `child::Item` or `use child::…`.
        for child in known.iter().filter(|k| is_child_of(k, &module.path)) {
            let name = child.rsplit("::").next().unwrap_or_default();
            if !paths_after(&code, &format!("{name}::")).is_empty() {
                targets.insert(child.clone());
            }
        }
        targets.remove(&module.path);
        edges.insert(module.path.clone(), targets);
    }
    edges
}

fn is_child_of(candidate: &str, parent: &str) -> bool {
    match candidate.rsplit_once("::") {
        Some((head, _)) => head == parent,
        None => parent.is_empty() && !candidate.is_empty(),
    }
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or_default()
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&top(module)))
}

/// Every breach of the layering, as `from → to: why`.
fn layering_breaches(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut breaches = Vec::new();
    for (from, targets) in edges.iter().filter(|(m, _)| !m.is_empty()) {
        let Some(own) = layer_of(from) else {
            breaches.push(format!("{from}: not placed in a layer of LAYERS"));
            continue;
        };
        for to in targets.iter().filter(|t| !t.is_empty() && top(t) != top(from)) {
            match layer_of(to) {
                Some(theirs) if theirs > own => {}
                Some(_) => breaches.push(format!("{from} → {to}: uses a module of its own layer or above")),
                None => breaches.push(format!("{to}: not placed in a layer of LAYERS")),
            }
        }
    }
    breaches
}

/// One cycle among `edges`, if there is any.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        trail: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = trail.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = trail[start..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        trail.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, marks, trail) {
                return Some(cycle);
            }
        }
        trail.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    edges.keys().find_map(|node| visit(node, edges, &mut marks, &mut Vec::new()))
}

fn crate_edges() -> BTreeMap<String, BTreeSet<String>> {
    dependencies(&modules_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")))
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let breaches = layering_breaches(&crate_edges());
    assert!(breaches.is_empty(), "layering broken:\n{}", breaches.join("\n"));
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let mut edges = crate_edges();
    // The crate root declares every module; it is the composition of the whole.
    edges.remove("");
    assert_eq!(find_cycle(&edges), None);
}

#[test]
fn use_cases_and_bodies_know_nothing_of_http_handling() {
    let offenders: Vec<String> = modules_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
        .into_iter()
        .filter(|m| NO_AXUM.contains(&top(&m.path)) && code(&m.text).contains("axum"))
        .map(|m| m.path)
        .collect();
    assert!(offenders.is_empty(), "these use axum: {offenders:?}");
}

#[test]
fn the_checks_catch_a_cycle_and_a_call_back_up() {
    let module = |path: &str, text: &str| Module { path: path.to_owned(), text: text.to_owned() };
    let modules = [
        module("routes", "mod pages;\nuse crate::use_cases::{PageQueries, page_commands::Create};"),
        module("routes::pages", "use super::json;"),
        module("use_cases", "pub(crate) use page_queries::PageQueries;"),
        module("use_cases::page_queries", "use crate::use_cases::page_commands::X;"),
        module(
            "use_cases::page_commands",
            "use crate::{error::ApiError, use_cases::page_queries::Q};\n// crate::state is prose",
        ),
        module("error", "use crate::routes::pages::PageResponse;"),
    ];
    let edges = dependencies(&modules);
    assert!(edges["routes"].contains("use_cases::page_commands"), "{edges:?}");
    assert!(edges["routes::pages"].contains("routes"));
    assert!(edges["use_cases"].contains("use_cases::page_queries"));
    assert!(!edges["use_cases::page_commands"].contains("state"), "comments are not code");
    let cycle = find_cycle(&edges).expect("a cycle");
    assert!(cycle.contains(&"use_cases::page_queries".to_owned()), "{cycle:?}");
    let breaches = layering_breaches(&edges);
    assert_eq!(breaches, ["error → routes::pages: uses a module of its own layer or above"]);
}
