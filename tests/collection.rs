//! The Bruno collection in docs/collection/ is generated from the OpenAPI document: one request
//! per operation (with the document's example body), in a folder per tag, and an environment
//! with the sandbox's credentials. This test generates it in memory and fails when the files
//! differ (an operation without its request, a request that is no operation, a stale body);
//! `ISSUEBOX_BLESS=1 cargo test --test collection` writes them.

use issuebox::http::openapi::ApiDoc;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use utoipa::OpenApi;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/collection");

/// `{name}` path parameters as Bruno variables `{{name}}`.
fn bruno_url(path: &str) -> String {
    format!(
        "{{{{baseUrl}}}}{}",
        path.replace('{', "{{").replace('}', "}}")
    )
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{by}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every file of the collection (path under docs/collection → content).
fn generate() -> BTreeMap<String, String> {
    let doc: Value = serde_json::from_str(&ApiDoc::openapi().to_json().unwrap()).unwrap();
    let mut files = BTreeMap::new();
    files.insert(
        "bruno.json".to_string(),
        "{\n  \"version\": \"1\",\n  \"name\": \"issuebox\",\n  \"type\": \"collection\"\n}\n"
            .to_string(),
    );
    let mut variables = BTreeSet::new();
    let mut seq: BTreeMap<String, usize> = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap_or("operations").to_string();
            let n = seq.entry(tag.clone()).or_default();
            *n += 1;
            let id = op["operationId"].as_str().unwrap();
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    variables.insert(p["name"].as_str().unwrap().to_string());
                }
            }
            let token_endpoint = path.starts_with("/authentication");
            let auth = if token_endpoint {
                "basic"
            } else if tag == "operations" {
                "none"
            } else {
                "bearer"
            };
            let example = &op["requestBody"]["content"]["application/json"]["example"];
            let mut bru = format!(
                "meta {{\n  name: {} {path}\n  type: http\n  seq: {n}\n}}\n\n\
                 {method} {{\n  url: {}\n  body: {}\n  auth: {auth}\n}}\n",
                method.to_uppercase(),
                bruno_url(path),
                if example.is_null() { "none" } else { "json" },
            );
            let headers: Vec<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "header")
                .filter_map(|p| p["name"].as_str())
                .collect();
            if !headers.is_empty() {
                bru.push_str("\nheaders {\n");
                // X-GD-RequestId and Correlation-ID: a new UUID on every send.
                for h in headers {
                    bru.push_str(&format!("  {h}: {{{{$randomUUID}}}}\n"));
                }
                bru.push_str("}\n");
            }
            match auth {
                "basic" => bru.push_str(
                    "\nauth:basic {\n  username: {{clientId}}\n  password: {{clientSecret}}\n}\n",
                ),
                "bearer" => bru.push_str("\nauth:bearer {\n  token: {{token}}\n}\n"),
                _ => {}
            }
            if !example.is_null() {
                let body = serde_json::to_string_pretty(example).unwrap();
                bru.push_str(&format!("\nbody:json {{\n{}\n}}\n", indent(&body, "  ")));
            }
            if path == "/authentication" {
                bru.push_str(
                    "\nscript:post-response {\n  if (res.status === 200) {\n    \
                     bru.setEnvVar(\"token\", res.body.access_token);\n  }\n}\n",
                );
            }
            let summary = op["summary"].as_str().or(op["description"].as_str());
            if let Some(summary) = summary {
                bru.push_str(&format!("\ndocs {{\n{}\n}}\n", indent(summary, "  ")));
            }
            files.insert(format!("{tag}/{id}.bru"), bru);
        }
    }
    let mut env = String::from(
        "vars {\n  baseUrl: http://127.0.0.1:8080\n  clientId: sandbox\n  \
         clientSecret: sandbox-secret\n  token: \n",
    );
    for v in &variables {
        let value = if v == "programCode" { "SANDBOX" } else { "" };
        env.push_str(&format!("  {v}: {value}\n"));
    }
    env.push_str("}\n");
    files.insert("environments/sandbox.bru".to_string(), env);
    files
}

/// The collection's files on disk, README.md aside.
fn on_disk() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![Path::new(DIR).to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel = path.strip_prefix(DIR).unwrap().display().to_string();
            if rel != "README.md" {
                files.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn the_collection_has_every_operation_and_only_those() {
    let want = generate();
    if std::env::var("ISSUEBOX_BLESS").is_ok_and(|v| v == "1") {
        for stale in on_disk().keys().filter(|k| !want.contains_key(*k)) {
            std::fs::remove_file(Path::new(DIR).join(stale)).unwrap();
        }
        for (rel, text) in &want {
            let path = Path::new(DIR).join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        eprintln!("wrote {} files under {DIR}", want.len());
        return;
    }
    let have = on_disk();
    let mut problems = Vec::new();
    for (rel, text) in &want {
        match have.get(rel) {
            None => problems.push(format!("{rel}: missing (an operation without its request)")),
            Some(t) if t != text => problems.push(format!("{rel}: differs from the document")),
            Some(_) => {}
        }
    }
    for rel in have.keys().filter(|k| !want.contains_key(*k)) {
        problems.push(format!("{rel}: no operation of /openapi.json"));
    }
    assert!(
        problems.is_empty(),
        "docs/collection is out of step with the OpenAPI document \
         (ISSUEBOX_BLESS=1 cargo test --test collection regenerates it):\n{}",
        problems.join("\n")
    );
    // Every operation is a request: as many .bru files as operations, plus the environment.
    let operations = want.keys().filter(|k| k.ends_with(".bru")).count() - 1;
    assert!(operations >= 30, "{operations} operations");
}
