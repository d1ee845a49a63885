//! Abuse of the authentication endpoints, against the real binary: wrong secrets are slowed and
//! then locked out (even the right secret waits), token requests are rate limited per address and
//! per client id, tokens can be revoked (RFC 7009) and then fail in every dialect, a changed
//! secret kills the client's tokens, a client holds at most `max_live_tokens` tokens, expired
//! tokens are swept from the store, and two `Authorization` headers are refused.

mod common;
use common::baas::uuid;
use common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// `POST /authentication` with Basic `id:secret` at `base` (a form body).
fn ask_token_at(base: &str, id: &str, secret: &str) -> Answer {
    send(
        "POST",
        &format!("{base}/authentication"),
        &[
            ("Authorization", &basic(id, secret)),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some("grant_type=client_credentials"),
    )
}

fn ask_token(s: &Server, id: &str, secret: &str) -> Answer {
    ask_token_at(&s.base, id, secret)
}

/// Asserts a 429 `slow_down` answer with `Retry-After` and `Cache-Control: no-store`; answers
/// the Retry-After seconds.
fn assert_slow_down(a: &Answer) -> u64 {
    assert_eq!(a.status, 429, "{}", a.text);
    assert_eq!(a.body, json!({"error": "slow_down"}));
    assert_eq!(a.header("Cache-Control"), Some("no-store"));
    retry_after(a)
}

/// `POST /authentication/revoke` with Basic `id:secret` and a raw body of `content_type`.
fn revoke(s: &Server, id: &str, secret: &str, content_type: &str, body: &str) -> Answer {
    let r = ureq::post(&s.url("/authentication/revoke"))
        .set("Authorization", &basic(id, secret))
        .set("Content-Type", content_type)
        .send_string(body);
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("revoke: {e}"),
    };
    let status = r.status();
    let cache = r.header("Cache-Control").map(str::to_string);
    let text = r.into_string().unwrap_or_default();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
        headers: cache
            .map(|c| vec![("Cache-Control".to_string(), c)])
            .unwrap_or_default(),
    }
}

/// The status of one call of each dialect with `token`: BaaS, device, sandbox.
fn dialect_statuses(s: &Server, token: &str) -> [u16; 3] {
    let auth = format!("Bearer {token}");
    let baas = send(
        "GET",
        &s.url("/programs/SANDBOX/accounts/nope"),
        &[("Authorization", &auth), ("X-GD-RequestId", &uuid())],
        None,
    );
    let device = send(
        "POST",
        &s.url("/deviceapi/apis/v1/services/wallet/fetchwallet"),
        &[("Authorization", &auth)],
        Some(r#"{"device":{"identifier":"NoSuchCard0000000001"}}"#),
    );
    let sandbox = s.faults(&auth, "GET", None);
    [baas.status, device.status, sandbox.status]
}

// ------------------------------------------------------------------ rate limit and lockout

#[test]
fn wrong_secrets_lock_out_then_even_the_right_secret_waits_for_the_window() {
    let s = Server::start_with(&[
        (
            "auth_failures_before_lockout = 10",
            "auth_failures_before_lockout = 3",
        ),
        (
            "auth_lockout_max_seconds = 300",
            "auth_lockout_max_seconds = 4",
        ),
    ]);
    for _ in 0..3 {
        let a = ask_token(&s, "sandbox", "wrong-secret");
        assert_eq!(a.status, 401, "{}", a.text);
        assert_eq!(a.body, json!({"error": "invalid_client"}));
    }
    // Locked: the right secret waits too, and so does any client from this address.
    let a = ask_token(&s, "sandbox", "sandbox-secret");
    assert!((1..=2).contains(&assert_slow_down(&a)), "{:?}", a.headers);
    assert_slow_down(&ask_token(&s, "branch", "branch-secret"));
    // Revocation takes the same credentials and is locked alike.
    let r = revoke(
        &s,
        "sandbox",
        "sandbox-secret",
        "application/x-www-form-urlencoded",
        "token=x",
    );
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.body, json!({"error": "slow_down"}));

    // After the window one more try; a wrong one locks again for twice as long.
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(ask_token(&s, "sandbox", "wrong-secret").status, 401);
    let a = ask_token(&s, "sandbox", "sandbox-secret");
    assert!((3..=4).contains(&assert_slow_down(&a)), "{:?}", a.headers);

    // Once it passes, the right secret gets a token, and the success resets the streak.
    std::thread::sleep(Duration::from_millis(4100));
    let a = ask_token(&s, "sandbox", "sandbox-secret");
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(ask_token(&s, "sandbox", "wrong-secret").status, 401);
    assert_eq!(ask_token(&s, "sandbox", "sandbox-secret").status, 200);
}

#[test]
fn token_requests_are_limited_per_source_address() {
    let s = Server::start_with(&[
        ("auth_rate_per_second = 20", "auth_rate_per_second = 1"),
        ("auth_burst = 40", "auth_burst = 3"),
    ]);
    // Three requests from one address, two client ids: each id is within its own burst of 3.
    assert_eq!(ask_token(&s, "sandbox", "sandbox-secret").status, 200);
    assert_eq!(ask_token(&s, "sandbox", "sandbox-secret").status, 200);
    assert_eq!(ask_token(&s, "branch", "branch-secret").status, 200);
    // The address has spent its burst: `branch`, with one request behind it, is refused.
    let a = ask_token(&s, "branch", "branch-secret");
    assert_eq!(assert_slow_down(&a), 1);
    // A second later one more passes.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(ask_token(&s, "branch", "branch-secret").status, 200);
    // Bearer endpoints are not limited by it (their own limit is off in the shipped config).
    let token = wait_for_token(&s);
    for _ in 0..10 {
        assert_eq!(dialect_statuses(&s, &token)[2], 200);
    }
}

/// A `sandbox` token, waiting out the rate limit if need be.
fn wait_for_token(s: &Server) -> String {
    for _ in 0..50 {
        let a = ask_token(s, "sandbox", "sandbox-secret");
        if a.status == 200 {
            return a.body["access_token"].as_str().unwrap().to_string();
        }
        assert_eq!(a.status, 429, "{}", a.text);
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("no token");
}

#[test]
fn token_requests_are_limited_per_client_id_across_addresses() {
    // Two source addresses on one machine: 127.0.0.1 and ::1, to a dual-stack listener.
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here: the per-id limit is covered by the unit tests only");
        return;
    }
    let s = Server::start_with(&[
        ("bind = \"127.0.0.1:0\"", "bind = \"[::]:0\""),
        ("auth_rate_per_second = 20", "auth_rate_per_second = 1"),
        ("auth_burst = 40", "auth_burst = 3"),
    ]);
    let port = s.base.rsplit(':').next().unwrap().to_string();
    let v4 = format!("http://127.0.0.1:{port}");
    let v6 = format!("http://[::1]:{port}");
    assert_eq!(ask_token_at(&v4, "sandbox", "sandbox-secret").status, 200);
    assert_eq!(ask_token_at(&v4, "sandbox", "sandbox-secret").status, 200);
    assert_eq!(ask_token_at(&v6, "sandbox", "sandbox-secret").status, 200);
    // `sandbox` has spent its burst; the IPv6 address has spent one of three.
    assert_slow_down(&ask_token_at(&v6, "sandbox", "sandbox-secret"));
    assert_eq!(ask_token_at(&v6, "branch", "branch-secret").status, 200);
}

// ----------------------------------------------------------------------------- revocation

#[test]
fn a_revoked_token_gets_401_in_every_dialect() {
    let s = Server::start();
    let token = s.token();
    let other = s.token();
    let branch = s.token_for("branch", "branch-secret");
    // Used first, so the grant sits in the server's cache.
    assert_eq!(dialect_statuses(&s, &token), [404, 400, 200]);

    let r = revoke(
        &s,
        "sandbox",
        "sandbox-secret",
        "application/x-www-form-urlencoded",
        &format!("token={token}&token_type_hint=access_token"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, "");
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert_eq!(dialect_statuses(&s, &token), [401, 401, 401]);
    // Revoking it again, as JSON: 200 all the same.
    let r = revoke(
        &s,
        "sandbox",
        "sandbox-secret",
        "application/json",
        &json!({ "token": token }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    // The client's other token lives on.
    assert_eq!(dialect_statuses(&s, &other), [404, 400, 200]);
    // Another client's token is not this client's to revoke: 200, and it still works.
    let r = revoke(
        &s,
        "sandbox",
        "sandbox-secret",
        "application/x-www-form-urlencoded",
        &format!("token={branch}"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let fetch = send(
        "POST",
        &s.url("/deviceapi/apis/v1/services/wallet/fetchwallet"),
        &[("Authorization", &format!("Bearer {branch}"))],
        Some(r#"{"device":{"identifier":"NoSuchCard0000000001"}}"#),
    );
    assert_eq!(fetch.status, 400, "{}", fetch.text);
    // Wrong client credentials, and no token parameter.
    let r = revoke(
        &s,
        "sandbox",
        "wrong-secret",
        "application/x-www-form-urlencoded",
        &format!("token={other}"),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.body, json!({"error": "invalid_client"}));
    assert_eq!(dialect_statuses(&s, &other)[2], 200);
    for body in ["", "token_type_hint=access_token", r#"{"token": 5}"#] {
        let r = revoke(
            &s,
            "sandbox",
            "sandbox-secret",
            "application/x-www-form-urlencoded",
            body,
        );
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.body, json!({"error": "invalid_request"}));
    }
    // Revoked for good: across a restart too, and verify finds the store clean.
    let mut s = s.restart();
    assert_eq!(dialect_statuses(&s, &token), [401, 401, 401]);
    assert_eq!(dialect_statuses(&s, &other)[2], 200);
    assert_eq!(s.stop(), 0);
    let (code, out) = s.verify();
    assert_eq!(code, 0, "{out}");
}

#[test]
fn revoking_an_unknown_token_answers_200_with_an_empty_body() {
    let s = Server::start();
    for body in ["token=no-such-token", &format!("token={}", "x".repeat(500))] {
        let r = revoke(
            &s,
            "branch",
            "branch-secret",
            "application/x-www-form-urlencoded",
            body,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.text, "");
    }
    let doc = send("GET", &s.url("/openapi.json"), &[], None).body;
    let op = &doc["paths"]["/authentication/revoke"]["post"];
    assert_eq!(op["tags"][0], "authentication", "{op}");
    for code in ["200", "400", "401", "429"] {
        assert!(op["responses"][code].is_object(), "{code}: {op}");
    }
}

// ------------------------------------------------------------------ a changed secret

#[test]
fn changing_a_clients_secret_in_the_config_kills_its_old_tokens() {
    let mut s = Server::start();
    let old_branch = s.token_for("branch", "branch-secret");
    let sandbox = s.token();
    assert_eq!(dialect_statuses(&s, &old_branch)[1], 400);
    assert_eq!(s.stop(), 0);
    let text = std::fs::read_to_string(&s.config_path).unwrap();
    let changed = text.replace("secret = \"branch-secret\"", "secret = \"branch-secret-2\"");
    assert_ne!(text, changed);
    std::fs::write(&s.config_path, changed).unwrap();
    let s = s.respawn();
    // Minted under the old secret: dead in every dialect it had.
    let [baas, device, _] = dialect_statuses(&s, &old_branch);
    assert_eq!((baas, device), (401, 401));
    // Another client's token is untouched; the old secret no longer mints; the new one does.
    assert_eq!(dialect_statuses(&s, &sandbox), [404, 400, 200]);
    assert_eq!(ask_token(&s, "branch", "branch-secret").status, 401);
    let fresh = s.token_for("branch", "branch-secret-2");
    assert_eq!(dialect_statuses(&s, &fresh)[..2], [404, 400]);
}

// ------------------------------------------------------------------ bounded tokens

#[test]
fn minting_past_max_live_tokens_revokes_the_oldest() {
    let mut s = Server::start_with(&[("max_live_tokens = 100", "max_live_tokens = 3")]);
    let branch = s.token_for("branch", "branch-secret");
    let tokens: Vec<String> = (0..5).map(|_| s.token()).collect();
    // The two oldest are gone, the three newest live; the other client's token is untouched.
    for t in &tokens[..2] {
        assert_eq!(dialect_statuses(&s, t), [401, 401, 401]);
    }
    for t in &tokens[2..] {
        assert_eq!(dialect_statuses(&s, t), [404, 400, 200]);
    }
    assert_eq!(dialect_statuses(&s, &branch)[1], 400);
    // In the store too: after a restart the same, and verify counts 3 + 1 tokens.
    let mut s2 = {
        assert_eq!(s.stop(), 0);
        s.respawn()
    };
    assert_eq!(dialect_statuses(&s2, &tokens[1])[2], 401);
    assert_eq!(dialect_statuses(&s2, &tokens[4])[2], 200);
    assert_eq!(s2.stop(), 0);
    let (code, out) = s2.verify();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("tokens: 4"), "{out}");
}

// ------------------------------------------------------------------ the sweeper

#[test]
fn the_sweeper_deletes_expired_tokens_and_verify_stays_clean() {
    let mut s = Server::start_with(&[
        ("token_ttl_seconds = 86400", "token_ttl_seconds = 1"),
        (
            "sweep_interval_seconds = 3600",
            "sweep_interval_seconds = 1",
        ),
    ]);
    for _ in 0..3 {
        s.token();
    }
    s.token_for("branch", "branch-secret");
    // Expired after a second; the sweeper runs every second.
    std::thread::sleep(Duration::from_millis(3500));
    assert!(s.log().contains("expired bearer tokens"), "{}", s.log());
    assert_eq!(s.stop(), 0);
    let (code, out) = s.verify();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("store is clean"), "{out}");
    assert!(out.contains("tokens: 0"), "{out}\n{}", s.log());
}

#[test]
fn a_token_stored_by_the_previous_version_still_works_and_can_be_revoked() {
    use sha2::Digest;
    if sled_only("writes a legacy grant into the sled tree") {
        return;
    }
    let mut s = Server::start();
    s.token();
    assert_eq!(s.stop(), 0);
    // A grant of the layout before fingerprints: version byte, client id, expiry (bincode).
    let token = "legacy-token-0000000000000000000000000000000";
    let expires_at = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600) as i64;
    let mut value = vec![1u8, 7];
    value.extend_from_slice(b"sandbox");
    // bincode's varint of the zigzagged i64: 252 and 4 bytes little-endian up to 2^32, else
    // 253 and 8 bytes.
    let z = (expires_at << 1) as u64;
    match u32::try_from(z) {
        Ok(z) => {
            value.push(252);
            value.extend_from_slice(&z.to_le_bytes());
        }
        Err(_) => {
            value.push(253);
            value.extend_from_slice(&z.to_le_bytes());
        }
    }
    {
        let db = sled::open(s.data_dir()).unwrap();
        let tokens = db.open_tree("tokens").unwrap();
        tokens
            .insert(sha2::Sha256::digest(token.as_bytes()).as_slice(), value)
            .unwrap();
        db.flush().unwrap();
    }
    let mut s = s.respawn();
    assert_eq!(dialect_statuses(&s, token), [404, 400, 200]);
    // It can be revoked like any other.
    let r = revoke(
        &s,
        "sandbox",
        "sandbox-secret",
        "application/x-www-form-urlencoded",
        &format!("token={token}"),
    );
    assert_eq!(r.status, 200);
    assert_eq!(dialect_statuses(&s, token), [401, 401, 401]);
    assert_eq!(s.stop(), 0);
    let (code, out) = s.verify();
    assert_eq!(code, 0, "{out}");
}

// ------------------------------------------------------------------ two Authorization headers

/// Sends a raw HTTP/1.1 request with the given header lines; answers status and body.
fn raw(s: &Server, method: &str, path: &str, headers: &[String], body: &str) -> (u16, String) {
    let mut c = TcpStream::connect(s.base.trim_start_matches("http://")).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    c.write_all(head.as_bytes()).unwrap();
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status: {text}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn two_authorization_headers_get_400_in_every_dialect() {
    let s = Server::start();
    let a = format!("Authorization: Bearer {}", s.token());
    let b = format!("Authorization: Bearer {}", s.token());
    let two = [a.clone(), b];
    let json = |t: &str| serde_json::from_str::<Value>(t).unwrap_or(Value::Null);

    let id = format!("X-GD-RequestId: {}", uuid());
    let mut h = two.to_vec();
    h.push(id.clone());
    let (st, body) = raw(&s, "GET", "/programs/SANDBOX/accounts/nope", &h, "");
    assert_eq!(st, 400, "{body}");
    assert_eq!(json(&body)["responseDetails"][0]["code"], 100, "{body}");
    // One header: the same request is looked at (404: no such account).
    let (st, _) = raw(
        &s,
        "GET",
        "/programs/SANDBOX/accounts/nope",
        &[a.clone(), id],
        "",
    );
    assert_eq!(st, 404);

    let mut h = two.to_vec();
    h.push("Content-Type: application/json".into());
    let fetch = r#"{"device":{"identifier":"NoSuchCard0000000001"}}"#;
    let (st, body) = raw(
        &s,
        "POST",
        "/deviceapi/apis/v1/services/wallet/fetchwallet",
        &h,
        fetch,
    );
    assert_eq!(st, 400, "{body}");
    assert_eq!(json(&body)["code"], "INVALID_REQUEST", "{body}");

    let (st, body) = raw(&s, "GET", "/sandbox/faults", &two, "");
    assert_eq!(st, 400, "{body}");
    let p = json(&body);
    assert_eq!(
        (p["status"].clone(), p["code"].clone()),
        (json!(400), json!("INVALID_REQUEST")),
        "{body}"
    );
    let (st, _) = raw(&s, "GET", "/sandbox/faults", &[a], "");
    assert_eq!(st, 200);

    // A bearer and a Basic header: still two.
    let mixed = [
        two[0].clone(),
        format!("Authorization: {}", basic("sandbox", "sandbox-secret")),
    ];
    let (st, _) = raw(&s, "GET", "/sandbox/faults", &mixed, "");
    assert_eq!(st, 400);

    // The token endpoints: 400 invalid_request.
    let basics = [
        format!("Authorization: {}", basic("sandbox", "sandbox-secret")),
        format!("Authorization: {}", basic("branch", "branch-secret")),
        "Content-Type: application/x-www-form-urlencoded".to_string(),
    ];
    for path in ["/authentication", "/authentication/revoke"] {
        let (st, body) = raw(
            &s,
            "POST",
            path,
            &basics,
            "grant_type=client_credentials&token=x",
        );
        assert_eq!(st, 400, "{path}: {body}");
        assert_eq!(json(&body), json!({"error": "invalid_request"}), "{path}");
    }
}
