//! `GET /docs` renders the API reference offline: headless Chromium, with every host but
//! loopback unreachable (a dead proxy for everything but loopback, and no name resolves), loads
//! the page and sees the operations of `/openapi.json` listed.

#[path = "support/browser.rs"]
mod browser;
mod common;

use common::*;
use std::time::{Duration, Instant};

/// Chromium sends everything but loopback to a proxy on the discard port (nothing listens: the
/// connection is refused), and resolves no name but 127.0.0.1: nothing leaves the machine.
const OFFLINE: [&str; 2] = [
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
];

#[tokio::test(flavor = "multi_thread")]
async fn the_api_reference_renders_with_no_network() {
    let Some(b) = browser::Browser::start(1280, 900, &OFFLINE).await else {
        return;
    };
    let mut s = Server::start();

    // The page and its files come from the binary, with a policy that allows only this origin.
    let page = send("GET", &s.url("/docs"), &[], None);
    assert_eq!(page.status, 200);
    let csp = page.header("Content-Security-Policy").expect("a CSP");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    for asset in [
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
        "/docs/init.js",
    ] {
        assert_eq!(send("GET", &s.url(asset), &[], None).status, 200, "{asset}");
    }
    // /docs is a page, not an API operation.
    let doc = send("GET", &s.url("/openapi.json"), &[], None).body;
    assert!(doc["paths"]["/docs"].is_null());

    b.client.goto(&s.url("/docs")).await.expect("open /docs");

    // The network beyond loopback really is out of reach from this page.
    let outside = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('https://example.com/', {mode: 'no-cors'})
               .then(() => done('reached'), e => done('blocked: ' + e));",
            vec![],
        )
        .await
        .expect("run a fetch in the page");
    assert!(
        outside.as_str().is_some_and(|r| r.starts_with("blocked")),
        "a fetch beyond loopback was not blocked: {outside}"
    );

    // Every operation's summary is listed once Swagger UI has read /openapi.json.
    let summaries: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["summary"].as_str().map(str::to_string))
        .collect();
    assert!(summaries.len() > 20, "{summaries:?}");
    let started = Instant::now();
    let text = loop {
        let text = b
            .client
            .execute("return document.body.innerText;", vec![])
            .await
            .expect("read the page")
            .as_str()
            .unwrap_or("")
            .to_string();
        if text.contains("Enrolls a user into a product") {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the operations never showed:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!text.contains("Failed to load API definition"), "{text}");
    // A summary shows as its first sentence's words (Markdown rendered, lines joined).
    let words = |s: &str| {
        s.replace('`', "")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let shown = words(&text);
    let missing: Vec<String> = summaries
        .iter()
        .map(|s| words(s.split(['.', ':', '(']).next().unwrap_or(s)))
        .filter(|s| !shown.contains(s.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "operations not listed: {missing:?}\n{text}"
    );
    for tag in ["baas", "device", "sandbox", "events", "webhooks"] {
        assert!(text.contains(tag), "tag {tag} not listed");
    }
    b.close().await;
    assert_eq!(s.stop(), 0);
}
