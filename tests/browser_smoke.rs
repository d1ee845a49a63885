//! The browser harness itself (tests/support/browser.rs): headless Chromium through its WebDriver
//! opens a page the server serves.

#[path = "support/browser.rs"]
mod browser;
mod common;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn headless_chromium_reads_a_page_the_server_serves() {
    let Some(b) = browser::Browser::start(1280, 800, &[]).await else {
        return;
    };
    let mut s = Server::start();
    b.client
        .goto(&s.url("/health"))
        .await
        .expect("open /health");
    let text = b.client.source().await.expect("the page's source");
    assert!(text.contains("\"status\":\"ok\""), "{text}");
    b.close().await;
    assert_eq!(s.stop(), 0);
}
