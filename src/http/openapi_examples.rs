//! Examples in the OpenAPI document: a request for every operation that takes a body, and an
//! answer for every documented response that has one, from `openapi_examples.json`.
//!
//! The requests are written by hand; the answers are what the server really answered to them
//! (and to requests built to trigger each refusal), recorded by `tests/openapi_examples.rs` with
//! `ISSUEBOX_BLESS=1`. Without it that test sends the examples again to a fresh server and fails
//! when an answer no longer has its example's shape, status and code, so they cannot drift.
//!
//! The file holds `operations` keyed by `"METHOD /path"` (`request`, and `responses` by status,
//! then example name) and `shared` examples by dialect (`baas`, `device`, `problem`, `oauth`)
//! for the refusals every operation of a dialect documents (401, 429, and with a body 400, 408
//! and 413; 503 where documented).

use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::RefOr;
use utoipa::Modify;

const EXAMPLES: &str = include_str!("openapi_examples.json");

/// The examples file, parsed.
pub fn examples() -> Value {
    serde_json::from_str(EXAMPLES).expect("src/http/openapi_examples.json is JSON")
}

/// The shared examples' dialect of an operation's tag.
pub fn dialect(tag: &str) -> Option<&'static str> {
    match tag {
        "baas" => Some("baas"),
        "device" => Some("device"),
        "sandbox" | "events" | "webhooks" => Some("problem"),
        "authentication" => Some("oauth"),
        _ => None,
    }
}

pub struct Examples;

fn add(op: &mut Operation, mine: &Value, shared: &Value) {
    if let (Some(body), Some(request)) = (op.request_body.as_mut(), mine.get("request")) {
        for content in body.content.values_mut() {
            content.example = Some(request.clone());
        }
    }
    let has_body = op.request_body.is_some();
    for (code, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        // The body refusals (400 not JSON, 408, 413) belong to operations that take a body.
        let shared_applies = has_body || !matches!(code.as_str(), "400" | "408" | "413");
        let mut named = BTreeMap::new();
        let sources = [
            Some(&mine["responses"][code]),
            shared_applies.then(|| &shared[code]),
        ];
        for (name, value) in sources
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flatten()
        {
            let example = ExampleBuilder::new().value(Some(value.clone())).build();
            named.insert(name.clone(), RefOr::T(example));
        }
        if named.is_empty() {
            continue;
        }
        for content in response.content.values_mut() {
            content.examples = named.clone();
        }
    }
}

impl Modify for Examples {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let all = examples();
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in [
                ("GET", &mut item.get),
                ("PUT", &mut item.put),
                ("POST", &mut item.post),
                ("DELETE", &mut item.delete),
                ("PATCH", &mut item.patch),
            ] {
                let Some(op) = op else { continue };
                let mine = &all["operations"][format!("{method} {path}")];
                let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
                let shared = tag
                    .as_deref()
                    .and_then(dialect)
                    .map_or(&Value::Null, |d| &all["shared"][d]);
                add(op, mine, shared);
            }
        }
    }
}
