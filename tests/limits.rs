//! Request limits over the real binary: bodies over `max_body_bytes` answer 413 in every
//! dialect's envelope; oversized request heads are refused; a client that sends its head or its
//! body too slowly is cut off; the per-client rate limit answers 429 with `Retry-After` in every
//! dialect's envelope, and is off in the shipped config.

mod common;
use common::baas::uuid;
use common::*;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn host_port(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_string()
}

/// Reads what the server sends until it closes the connection (or `limit` passes); answers the
/// bytes and how long the close took. A reset counts as a close.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<Duration>) {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return (got, Some(started.elapsed())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (got, Some(started.elapsed())),
        }
    }
    (got, None)
}

// --------------------------------------------------------------------------------- 413

#[test]
fn bodies_over_max_body_bytes_get_413_in_every_dialect() {
    let s = Server::start_with(&[("max_body_bytes = 65536", "max_body_bytes = 1024")]);
    let bearer = format!("Bearer {}", s.token());
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(2000));
    let id = uuid();

    let r = send(
        "POST",
        &s.url("/authentication"),
        &[("Authorization", &basic("sandbox", "sandbox-secret"))],
        Some(&big),
    );
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.body, json!({"error": "invalid_request"}));

    let r = send(
        "POST",
        &s.url("/programs/SANDBOX/enrollments"),
        &[("Authorization", &bearer), ("X-GD-RequestId", &id)],
        Some(&big),
    );
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.body["responseDetails"][0]["code"], 413, "{}", r.text);
    assert_eq!(r.body["responseDetails"][0]["subCode"], 0, "{}", r.text);
    assert_eq!(r.header("X-GD-RequestId"), Some(id.as_str()));

    for path in [
        "/deviceapi/apis/v1/services/cardholder/accounts",
        "/deviceapi/apis/v1/services/wallet/fetchwallet",
    ] {
        let r = send(
            "POST",
            &s.url(path),
            &[("Authorization", &bearer)],
            Some(&big),
        );
        assert_eq!(r.status, 413, "{path}: {}", r.text);
        assert_eq!(r.body["code"], "PAYLOAD_TOO_LARGE", "{}", r.text);
        assert!(r.body["message"].is_string());
    }

    for (method, path) in [
        ("POST", "/sandbox/programs/SANDBOX/packages"),
        ("POST", "/sandbox/programs/SANDBOX/devices"),
        ("PUT", "/sandbox/devices/whatever-card-id/status"),
        ("PUT", "/sandbox/wallets/whatever-wallet-id/status"),
        ("PUT", "/sandbox/faults"),
        ("POST", "/sandbox/ofac/reviews/someone"),
        ("POST", "/sandbox/ofac/screen"),
    ] {
        let r = send(
            method,
            &s.url(path),
            &[("Authorization", &bearer)],
            Some(&big),
        );
        assert_eq!(r.status, 413, "{path}: {}", r.text);
        assert_eq!(r.header("Content-Type"), Some("application/problem+json"));
        assert_eq!(r.body["code"], "PAYLOAD_TOO_LARGE", "{}", r.text);
        assert_eq!(r.body["status"], 413);
    }

    // A chunked body (no Content-Length) is cut off while it streams in.
    let r = ureq::post(&s.url("/sandbox/ofac/screen"))
        .set("Authorization", &bearer)
        .set("Content-Type", "application/json")
        .send(std::io::Cursor::new(big.clone().into_bytes()));
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(r.status(), 413);

    // At the limit is fine.
    let name = "a".repeat(1024 - r#"{"name":""}"#.len());
    let r = send(
        "POST",
        &s.url("/sandbox/ofac/screen"),
        &[("Authorization", &bearer)],
        Some(&format!("{{\"name\":\"{name}\"}}")),
    );
    assert_ne!(r.status, 413, "{}", r.text);
}

// ------------------------------------------------------------------------------ headers

#[test]
fn oversized_request_heads_are_refused() {
    let s = Server::start();
    // Over actix's fixed 128 KiB request head: 431, never served.
    let mut c = TcpStream::connect(host_port(&s)).unwrap();
    let head = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(140 * 1024)
    );
    let _ = c.write_all(head.as_bytes());
    let (got, closed) = read_until_closed(&mut c, Duration::from_secs(10));
    let text = String::from_utf8_lossy(&got);
    assert!(closed.is_some(), "connection left open");
    assert!(!text.contains(" 200 "), "served: {text}");
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "{text}"
    );

    // More than 96 headers: 431 too.
    let mut c = TcpStream::connect(host_port(&s)).unwrap();
    let mut head = String::from("GET /health HTTP/1.1\r\nHost: x\r\n");
    for i in 0..120 {
        head.push_str(&format!("X-H{i}: v\r\n"));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes()).unwrap();
    let (got, _) = read_until_closed(&mut c, Duration::from_secs(10));
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");

    // The server still serves.
    assert_eq!(send("GET", &s.url("/health"), &[], None).status, 200);
}

#[test]
fn a_slow_request_head_is_cut_off_within_header_timeout_ms() {
    let s = Server::start_with(&[("header_timeout_ms = 5000", "header_timeout_ms = 1000")]);
    // Part of a request line, then nothing.
    let mut c = TcpStream::connect(host_port(&s)).unwrap();
    c.write_all(b"GET /hea").unwrap();
    let (got, closed) = read_until_closed(&mut c, Duration::from_secs(10));
    let closed = closed.expect("a silent client is never cut off");
    assert!(closed < Duration::from_secs(4), "cut off after {closed:?}");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );

    // A trickle of header bytes does not keep the connection open past the timeout either.
    let mut c = TcpStream::connect(host_port(&s)).unwrap();
    let started = Instant::now();
    let mut cut = false;
    for b in b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        if c.write_all(&[*b]).is_err() {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        let mut probe = [0u8; 512];
        c.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
        match c.read(&mut probe) {
            Ok(0) => {
                cut = true;
                break;
            }
            Ok(n) => {
                assert!(probe[..n].starts_with(b"HTTP/1.1 408"));
                cut = true;
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                cut = true;
                break;
            }
        }
    }
    assert!(cut, "a trickling client was never cut off");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // A prompt client is served (a loaded test machine may delay a worker past the short
    // timeout once, so one retry).
    let ok = (0..2).any(|_| send("GET", &s.url("/health"), &[], None).status == 200);
    assert!(ok, "a prompt client was not served");
}

#[test]
fn a_slow_body_answers_408_in_the_dialect_envelope() {
    let s = Server::start_with(&[("body_timeout_ms = 30000", "body_timeout_ms = 400")]);
    let token = s.token();
    for (path, extra, check) in [
        (
            "/sandbox/ofac/screen",
            String::new(),
            "\"code\":\"REQUEST_TIMEOUT\"",
        ),
        (
            "/deviceapi/apis/v1/services/wallet/fetchwallet",
            String::new(),
            "\"code\":\"REQUEST_TIMEOUT\"",
        ),
        (
            "/programs/SANDBOX/enrollments",
            format!("X-GD-RequestId: {}\r\n", uuid()),
            "\"code\":408",
        ),
    ] {
        let mut c = TcpStream::connect(host_port(&s)).unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n{extra}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\":"
        );
        c.write_all(head.as_bytes()).unwrap();
        let started = Instant::now();
        let (got, _) = read_until_closed(&mut c, Duration::from_secs(5));
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 408"), "{path}: {text}");
        assert!(text.contains(check), "{path}: {text}");
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}

// ---------------------------------------------------------------------------- rate limit

fn limited() -> Server {
    Server::start_with(&[
        ("rate_limit_per_second = 0", "rate_limit_per_second = 1"),
        ("rate_limit_burst = 0", "rate_limit_burst = 3"),
    ])
}

/// Sends `req` until it answers 429 (at most 10 times); answers that answer.
fn until_429(mut req: impl FnMut() -> Answer) -> Answer {
    for _ in 0..10 {
        let a = req();
        if a.status == 429 {
            return a;
        }
        assert!(a.status < 500, "{}", a.text);
    }
    panic!("never limited");
}

#[test]
fn rate_limit_answers_429_in_the_baas_envelope() {
    let s = limited();
    let auth = format!("Bearer {}", s.token_for("branch", "branch-secret"));
    let id = uuid();
    let get = || {
        send(
            "GET",
            &s.url("/programs/SANDBOX/accounts/nope"),
            &[("Authorization", &auth), ("X-GD-RequestId", &id)],
            None,
        )
    };
    // The burst of 3 passes.
    for _ in 0..3 {
        assert_eq!(get().status, 404);
    }
    let a = until_429(get);
    assert_eq!(
        a.body,
        json!({"responseDetails": [{"code": 429, "subCode": 0, "description": "Too many requests"}]})
    );
    assert!((1..=2).contains(&retry_after(&a)));
    assert_eq!(a.header("X-GD-RequestId"), Some(id.as_str()));
    // Another client is not limited by this one.
    let other = format!("Bearer {}", s.token());
    let r = send(
        "GET",
        &s.url("/programs/SANDBOX/accounts/nope"),
        &[("Authorization", &other), ("X-GD-RequestId", &id)],
        None,
    );
    assert_eq!(r.status, 404, "{}", r.text);
    // After Retry-After seconds the client is served again.
    std::thread::sleep(Duration::from_secs(retry_after(&a)));
    assert_eq!(get().status, 404);
}

#[test]
fn rate_limit_answers_429_in_the_device_envelope() {
    let s = limited();
    let auth = format!("Bearer {}", s.token_for("branch", "branch-secret"));
    let a = until_429(|| {
        send(
            "POST",
            &s.url("/deviceapi/apis/v1/services/wallet/fetchwallet"),
            &[("Authorization", &auth)],
            Some(r#"{"device":{"alias":"NOPE"}}"#),
        )
    });
    assert_eq!(a.body["code"], "TOO_MANY_REQUESTS", "{}", a.text);
    assert!(a.body["message"].is_string());
    assert!(retry_after(&a) >= 1);
    // Unauthenticated requests are refused with 401, and spend no client's tokens.
    let r = send(
        "POST",
        &s.url("/deviceapi/apis/v1/services/wallet/fetchwallet"),
        &[("Authorization", "Bearer nope")],
        Some("{}"),
    );
    assert_eq!(r.status, 401);
}

#[test]
fn rate_limit_answers_429_in_the_sandbox_envelope_and_nothing_is_done() {
    let s = limited();
    let auth = format!("Bearer {}", s.token());
    let put = |on: bool| {
        s.faults(
            &auth,
            "PUT",
            Some(&json!({ "walletCreate": on }).to_string()),
        )
    };
    let a = until_429(|| put(false));
    assert_eq!(a.header("Content-Type"), Some("application/problem+json"));
    assert_eq!(a.body["code"], "TOO_MANY_REQUESTS");
    assert_eq!(a.body["status"], 429);
    assert_eq!(a.body["title"], "Too Many Requests");
    // A limited request does nothing: the switch stays off.
    let a = put(true);
    assert_eq!(a.status, 429);
    std::thread::sleep(Duration::from_secs(retry_after(&a)));
    let r = s.faults(&auth, "GET", None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["walletCreate"], false);
}

#[test]
fn rate_limit_is_off_in_the_shipped_config() {
    let s = Server::start();
    let auth = format!("Bearer {}", s.token());
    for _ in 0..60 {
        let r = s.faults(&auth, "GET", None);
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

/// Contract section 7: past `storage.max_pending_writes` requests waiting for the store, one
/// more answers 503 with `Retry-After` in its dialect's envelope, and nothing of it is written.
#[test]
fn past_the_write_queue_bound_requests_answer_503_with_retry_after() {
    use common::baas::{assert_row, body, Baas};
    let b = std::sync::Arc::new(Baas::on(Server::start_with(&[(
        "max_pending_writes = 4096",
        "max_pending_writes = 1",
    )])));
    let answers: Vec<Answer> = (0..24)
        .map(|_| {
            let b = b.clone();
            std::thread::spawn(move || b.enroll(&body()))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let full: Vec<&Answer> = answers.iter().filter(|a| a.status == 503).collect();
    assert_eq!(ok + full.len(), answers.len(), "only 200 or 503");
    assert!(
        ok >= 1 && !full.is_empty(),
        "{ok} ok, {} refused",
        full.len()
    );
    for a in full {
        assert_row(a, 503, 503, 0, Some("Storage unavailable"));
        assert_eq!(a.header("retry-after"), Some("1"));
    }
    let accounts = b.s.entity_count("accounts");
    assert_eq!(accounts, ok as u64, "a refused request wrote nothing");
}
