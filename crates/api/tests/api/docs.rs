//! `docs/api.md` agrees with the OpenAPI document generated from the code.

use std::collections::BTreeSet;
use std::path::PathBuf;

use utoipa::OpenApi;
use valentine_api::ApiDoc;

fn repo_file(path: &str) -> String {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

#[test]
fn docs_api_md_documents_exactly_the_endpoints_of_the_openapi_document() {
    let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
    let mut generated = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("operations").keys() {
            generated.insert(format!("{} {path}", method.to_ascii_uppercase()));
        }
    }
    let documented: BTreeSet<String> = repo_file("docs/api.md")
        .lines()
        .filter_map(|line| line.strip_prefix("### `").and_then(|rest| rest.strip_suffix('`')))
        .map(str::to_owned)
        .collect();
    assert_eq!(documented, generated);
}

#[test]
fn every_test_named_in_the_defects_table_exists() {
    let api = repo_file("docs/api.md");
    let table = api.split("## Known defects of the original").nth(1).expect("the defects table");
    let sources: String = ["pages", "limits", "http"]
        .iter()
        .map(|name| repo_file(&format!("crates/api/tests/api/{name}.rs")))
        .chain([repo_file("crates/domain/src/slug.rs")])
        .collect();
    let mut named = 0;
    for cell in table.split('`').skip(1).step_by(2) {
        let Some((_, test)) = cell.rsplit_once("::").filter(|(_, t)| !t.ends_with('…')) else { continue };
        if test.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
            && test.contains('_')
        {
            assert!(
                sources.contains(&format!("fn {test}(")),
                "{test} is named in docs/api.md but does not exist"
            );
            named += 1;
        }
    }
    assert!(named >= 14, "only {named} tests named");
}
