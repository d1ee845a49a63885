//! A real browser for the browser tests: Debian's headless Chromium driven through its
//! WebDriver (`chromedriver`, on a free loopback port) by `fantoccini`.
//!
//! Include with `#[path = "support/browser.rs"] mod browser;` and run the test on tokio:
//! `#[tokio::test(flavor = "multi_thread")]`. `.ci/run` installs `chromium` and
//! `chromium-driver` when missing; without them [`Browser::start`] answers `None` locally (the
//! test returns early, saying so) and panics under `CI=true`, so CI never skips one silently.
//!
//! The browser runs with a fresh profile, no extensions, no first-run pages, and a window of
//! `width` x `height` CSS pixels (the tests use 1280 wide for a desk, 800 for a tablet).

#![allow(dead_code)]

use fantoccini::{Client, ClientBuilder};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian puts the browser and its driver.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A running chromedriver and one browser session on it. Dropping it ends both.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// True when the tests run on CI (`CI=true`), where a missing browser is a failure.
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

impl Browser {
    /// A headless Chromium with a `width` x `height` window, or `None` (locally) when Chromium
    /// or its driver is not installed. `extra_args` are added to Chromium's command line (for
    /// example `--host-resolver-rules=...` to block the network beyond loopback).
    pub async fn start(width: u32, height: u32, extra_args: &[&str]) -> Option<Browser> {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(bin).exists() {
                let why = format!(
                    "{bin} is missing: apt-get install -y chromium chromium-driver (.ci/run does)"
                );
                assert!(!on_ci(), "{why}");
                eprintln!("SKIPPED (not on CI): {why}");
                return None;
            }
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--metrics-recording-only",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--window-size={width},{height}"));
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.extend(extra_args.iter().map(|s| s.to_string()));
        let caps = serde_json::json!({
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args }
        });
        let caps = caps.as_object().cloned().expect("an object");
        let url = format!("http://127.0.0.1:{port}");
        // fantoccini's connector is built on rustls, which wants one process-wide provider
        // (the dev build enables both ring and aws-lc): ring, as the server uses.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::rustls()
                .expect("a rustls connector")
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session on {url} after 30 s: {e}"),
            }
        };
        Some(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Ends the browser session (then the driver, on drop).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
