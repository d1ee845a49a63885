//! What a client sends cannot grow the server's metrics, memory or logs, and no path falls
//! outside a dialect's envelope.
//!
//! - A flood of requests with random methods (tokens of 1-60 characters, some of hundreds) and
//!   random paths (random segments, trailing slashes, `//`) leaves `/metrics` small, every
//!   `method` and `route` label in a closed set (the seven methods or `other`; a documented path
//!   pattern or `unmatched`), and the server's resident memory where it was after a warm-up.
//! - An unknown path (a trailing slash, `//`, a made-up segment) answers 404 in the envelope of
//!   the dialect its prefix belongs to.
//! - At `RUST_LOG=debug`, a card number sent as a method, or as a malformed header the HTTP
//!   layer refuses, appears in no log line.
//!
//! `ISSUEBOX_BOUNDED_SEED` replays a flood.

mod common;
#[path = "common/leakscan.rs"]
mod leakscan;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Characters of an HTTP method token (RFC 9110 `tchar`) that the HTTP layer accepts: it refuses
/// a method with `#$%&'` with 400 and closes the connection before any service sees it.
const TCHAR: &[u8] = b"!*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Characters of a random path segment (unreserved, so the client sends them as they are).
const SEGMENT: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~";
/// The methods that keep their own label.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

fn token(rng: &mut StdRng, len: usize, alphabet: &[u8]) -> String {
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

/// A random method: mostly 1-60 characters, one in ten 500-2,000; sometimes a real one.
fn random_method(rng: &mut StdRng) -> String {
    match rng.gen_range(0..20) {
        0 | 3 => {
            let n = rng.gen_range(500..=2_000);
            token(rng, n, TCHAR)
        }
        1 | 2 => METHODS[rng.gen_range(0..METHODS.len())].to_string(),
        _ => {
            let n = rng.gen_range(1..=60);
            token(rng, n, TCHAR)
        }
    }
}

/// A random path: a dialect prefix or a real route, random segments, sometimes a trailing slash
/// or an empty segment (`//`).
fn random_path(rng: &mut StdRng) -> String {
    const PREFIXES: [&str; 10] = [
        "/programs/",
        "/programs/SANDBOX/accounts/",
        "/deviceapi/",
        "/deviceapi/apis/v1/services/",
        "/sandbox/",
        "/sandbox/devices/",
        "/",
        "//",
        "/health",
        "/sandbox/faults",
    ];
    let mut p = PREFIXES[rng.gen_range(0..PREFIXES.len())].to_string();
    for i in 0..rng.gen_range(0..5) {
        if i > 0 || !p.ends_with('/') {
            p.push('/');
        }
        if rng.gen_range(0..8) == 0 {
            p.push('/');
        }
        let n = rng.gen_range(1..=24);
        p.push_str(&token(rng, n, SEGMENT));
    }
    if rng.gen_range(0..3) == 0 && !p.ends_with('/') {
        p.push('/');
    }
    p
}

/// Resident memory of a process, bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kb * 1024
}

/// Sends `n` random requests from `threads` threads; answers how many got an HTTP answer.
fn flood(s: &Server, seed: u64, n: usize, threads: usize) -> usize {
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let base = s.base.clone();
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed.wrapping_add(t as u64));
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(10))
                    .build();
                let mut answered = 0;
                for _ in 0..n / threads {
                    let method = random_method(&mut rng);
                    let url = format!("{base}{}", random_path(&mut rng));
                    match agent.request(&method, &url).call() {
                        Ok(_) | Err(ureq::Error::Status(..)) => answered += 1,
                        Err(e) => panic!("{method} {url}: {e}"),
                    }
                }
                answered
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

/// The values of `label="…"` in every sample line of `metric`.
fn label_values(metrics: &str, metric: &str, label: &str) -> BTreeSet<String> {
    let key = format!("{label}=\"");
    metrics
        .lines()
        .filter(|l| l.starts_with(metric) && !l.starts_with('#'))
        .filter_map(|l| {
            let start = l.find(&key)? + key.len();
            let end = l[start..].find('"')?;
            Some(l[start..start + end].to_string())
        })
        .collect()
}

#[test]
fn random_methods_and_paths_leave_metrics_and_memory_bounded() {
    let s = Server::start();
    let pid = s.child.id();
    let seed = std::env::var("ISSUEBOX_BOUNDED_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("ISSUEBOX_BOUNDED_SEED={seed}");
    let started = Instant::now();

    // Warm-up: every worker has served connections and every bounded label exists.
    assert_eq!(flood(&s, seed, 2_000, 4), 2_000);
    let warm_metrics = send("GET", &s.url("/metrics"), &[], None);
    assert_eq!(warm_metrics.status, 200);
    std::thread::sleep(Duration::from_millis(200));
    let before = rss(pid);

    assert_eq!(
        flood(&s, seed.wrapping_mul(31).wrapping_add(7), 10_000, 4),
        10_000
    );
    std::thread::sleep(Duration::from_millis(200));
    let after = rss(pid);
    let m = send("GET", &s.url("/metrics"), &[], None);
    assert_eq!(m.status, 200);
    let elapsed = started.elapsed();

    let doc = send("GET", &s.url("/openapi.json"), &[], None);
    let mut routes: BTreeSet<String> = doc.body["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    routes.insert("unmatched".to_string());
    let methods: BTreeSet<String> = METHODS
        .iter()
        .map(|m| m.to_string())
        .chain(["other".to_string()])
        .collect();

    eprintln!(
        "RSS {} -> {} KiB over 10,000 requests after warm-up; /metrics {} -> {} bytes",
        before >> 10,
        after >> 10,
        warm_metrics.text.len(),
        m.text.len()
    );
    let mut failures = Vec::new();
    let grown = after.saturating_sub(before);
    if grown >= 16 << 20 {
        failures.push(format!(
            "RSS grew by {} KiB ({} -> {} KiB) over 10,000 requests after warm-up",
            grown >> 10,
            before >> 10,
            after >> 10
        ));
    }
    if m.text.len() >= 64 << 10 {
        failures.push(format!(
            "/metrics is {} KiB after the flood ({} KiB after warm-up)",
            m.text.len() >> 10,
            warm_metrics.text.len() >> 10
        ));
    }
    let seen_methods = label_values(&m.text, "issuebox_http_", "method");
    let stray: Vec<_> = seen_methods
        .difference(&methods)
        .take(5)
        .map(|v| v.chars().take(40).collect::<String>())
        .collect();
    if !stray.is_empty() {
        failures.push(format!(
            "{} method label values outside the closed set, e.g. {stray:?}",
            seen_methods.difference(&methods).count()
        ));
    }
    let seen_routes = label_values(&m.text, "issuebox_http_", "route");
    let stray: Vec<_> = seen_routes.difference(&routes).take(5).collect();
    if !stray.is_empty() {
        failures.push(format!(
            "{} route label values outside the closed set, e.g. {stray:?}",
            seen_routes.difference(&routes).count()
        ));
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        seen_routes.contains("unmatched") && seen_methods.contains("other"),
        "the flood was not counted: {seen_routes:?} {seen_methods:?}"
    );
    eprintln!("flood of 12,000 requests in {elapsed:?}");
}

/// The exact 404 answer of an unknown path under each dialect's prefix.
#[test]
fn unknown_paths_answer_404_in_their_dialect_envelope() {
    let s = Server::start();
    let baas = json!({"responseDetails": [{"code": 404, "subCode": 0, "description": "No such endpoint"}]});
    let device = json!({"code": "NOT_FOUND", "message": "No such endpoint."});
    let problem = json!({"type": "about:blank", "title": "Not Found", "status": 404,
        "detail": "no such endpoint", "code": "NOT_FOUND"});
    let cases: Vec<(&str, &Value, &str)> = vec![
        (
            "/programs/SANDBOX/accounts/abcdefghijklmnop/",
            &baas,
            "application/json",
        ),
        (
            "/programs/SANDBOX//accounts/abcdefghijklmnop",
            &baas,
            "application/json",
        ),
        ("/programs/SANDBOX/enrollments/", &baas, "application/json"),
        ("/programs/SANDBOX/nothing", &baas, "application/json"),
        ("/programs/", &baas, "application/json"),
        ("/programs", &baas, "application/json"),
        (
            "/deviceapi/apis/v1/services/wallet/fetchwallet/",
            &device,
            "application/json",
        ),
        (
            "/deviceapi//apis/v1/services/cardholder/accounts",
            &device,
            "application/json",
        ),
        ("/deviceapi/nothing", &device, "application/json"),
        ("/sandbox/faults/", &problem, "application/problem+json"),
        ("/sandbox//faults", &problem, "application/problem+json"),
        (
            "/sandbox/devices/abcdefghijklmnop/status/",
            &problem,
            "application/problem+json",
        ),
        ("/sandbox/nothing", &problem, "application/problem+json"),
        ("/", &problem, "application/problem+json"),
        ("//health", &problem, "application/problem+json"),
        ("/health/", &problem, "application/problem+json"),
        ("/metrics/", &problem, "application/problem+json"),
        ("/authentication/", &problem, "application/problem+json"),
        ("/nothing/at/all", &problem, "application/problem+json"),
    ];
    let rid = "7f1c2a3e-5b6d-4e8f-9a0b-1c2d3e4f5a6b";
    for (path, want, ct) in cases {
        for method in ["GET", "POST", "PUT", "DELETE", "FROB"] {
            let a = send(method, &s.url(path), &[("X-GD-RequestId", rid)], None);
            assert_eq!(a.status, 404, "{method} {path}: {}", a.text);
            assert_eq!(&a.body, want, "{method} {path}: {}", a.text);
            assert_eq!(a.header("content-type"), Some(ct), "{method} {path}");
        }
    }
    // The BaaS request id is echoed on a 404 as on every BaaS answer.
    let a = send(
        "GET",
        &s.url("/programs/SANDBOX/accounts/x/"),
        &[("X-GD-RequestId", rid)],
        None,
    );
    assert_eq!(a.header("x-gd-requestid"), Some(rid));
    // A known path still answers 405 with Allow for a method it does not have.
    let a = send("DELETE", &s.url("/sandbox/faults"), &[], None);
    assert_eq!(a.status, 405, "{}", a.text);
    assert_eq!(a.body["code"], "METHOD_NOT_ALLOWED");
    // The 404s are counted under the one fixed route value.
    let m = send("GET", &s.url("/metrics"), &[], None);
    assert!(
        m.text
            .contains(r#"route="unmatched",method="GET",status="404""#)
            || m.text
                .contains(r#"method="GET",route="unmatched",status="404""#),
        "{}",
        m.text
    );
}

/// Writes one raw HTTP/1.1 request and reads until the server closes or a full answer arrived.
fn raw_request(s: &Server, head: &str) -> String {
    let addr = s.base.trim_start_matches("http://");
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(head.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if String::from_utf8_lossy(&out).contains("\r\n\r\n") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_card_number_sent_as_a_method_or_a_bad_header_is_never_logged() {
    let s = Server::start_env(&[], &[("RUST_LOG", "debug")]);
    let number = leakscan::luhn_number("400000", 16, 0x5eed);
    assert!(leakscan::luhn(&number) && number.len() == 16);
    let dashed = format!(
        "{}-{}-{}-{}",
        &number[0..4],
        &number[4..8],
        &number[8..12],
        &number[12..16]
    );
    for path in [
        "/health",
        "/nothing",
        "/programs/SANDBOX/accounts/abcdefghijklmnop",
        "/sandbox/faults/",
    ] {
        let a = send(&number, &s.url(path), &[], None);
        assert!([404, 405].contains(&a.status), "{path}: {}", a.status);
    }
    // Headers the HTTP layer refuses before any handler runs (it answers 400).
    let plus = format!("+{number}");
    for (header, value) in [
        ("Content-Length", dashed.as_str()),
        ("Content-Length", plus.as_str()),
        ("Transfer-Encoding", number.as_str()),
    ] {
        let answer = raw_request(
            &s,
            &format!("POST /health HTTP/1.1\r\nHost: x\r\n{header}: {value}\r\n\r\n"),
        );
        assert!(answer.starts_with("HTTP/1.1 400"), "{header}: {answer}");
    }
    // The per-request debug line is there, with the bounded values only.
    let a = send("GET", &s.url("/health"), &[], None);
    assert_eq!(a.status, 200);
    std::thread::sleep(Duration::from_millis(300));
    let log = s.log();
    assert!(
        log.contains("GET /health 200"),
        "no request line in:\n{log}"
    );
    let digits: String = number.clone();
    let leaked: Vec<&str> = log
        .lines()
        .filter(|l| {
            let only: String = l.chars().filter(char::is_ascii_digit).collect();
            l.contains(&digits) || l.contains(&dashed) || only.contains(&digits)
        })
        .collect();
    assert!(
        leaked.is_empty(),
        "the number {number} is logged: {leaked:#?}"
    );
    assert!(
        log.contains("other /health 405") || log.contains("other unmatched 404"),
        "the requests with a number as method were not logged with the bounded method:\n{log}"
    );
}
