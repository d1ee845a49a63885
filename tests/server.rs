//! The real binary on a loopback port: start-up, authentication, operations endpoints, limits,
//! tokens across a restart, clean SIGTERM shutdown, and the `verify` / `check-config` commands.

mod common;
use common::*;

#[test]
fn health_metrics_and_openapi_answer_without_auth() {
    let s = Server::start();
    let h = send("GET", &s.url("/health"), &[], None);
    assert_eq!(h.status, 200);
    assert_eq!(h.body["status"], "ok");
    assert_eq!(h.body["version"], env!("CARGO_PKG_VERSION"));

    let o = send("GET", &s.url("/openapi.json"), &[], None);
    assert_eq!(o.status, 200);
    assert!(o.body["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in ["/authentication", "/health", "/metrics", "/sandbox/faults"] {
        assert!(
            o.body["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }

    let m = send("GET", &s.url("/metrics"), &[], None);
    assert_eq!(m.status, 200);
    let one_health =
        "issuebox_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1";
    assert!(m.text.lines().any(|l| l == one_health), "{}", m.text);
    assert!(m
        .text
        .contains("issuebox_http_request_duration_seconds_bucket"));
    assert_eq!(s.entity_count("accounts"), 0);
    assert!(m.text.contains("issuebox_store_bytes"));
}

#[test]
fn client_credentials_grant_issues_a_bearer_token() {
    let s = Server::start();
    // Form body.
    let a = send(
        "POST",
        &s.url("/authentication"),
        &[
            ("Authorization", &basic("sandbox", "sandbox-secret")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some("grant_type=client_credentials"),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["token_type"], "Bearer");
    assert_eq!(a.body["expires_in"], 86400);
    assert_eq!(a.body["scope"], "baas device sandbox");
    assert!(a.body["access_token"].as_str().unwrap().len() >= 40);
    // JSON body.
    let j = send(
        "POST",
        &s.url("/authentication"),
        &[("Authorization", &basic("branch", "branch-secret"))],
        Some(r#"{"grant_type":"client_credentials"}"#),
    );
    assert_eq!(j.status, 200);
    assert_eq!(j.body["scope"], "baas device");
    // The token works on an authenticated endpoint.
    let token = a.body["access_token"].as_str().unwrap();
    let f = send(
        "GET",
        &s.url("/sandbox/faults"),
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    );
    assert_eq!(f.status, 200);
    assert_eq!(f.body["walletCreate"], false);
}

#[test]
fn wrong_credentials_and_grant_types_are_refused_per_rfc_6749() {
    let s = Server::start();
    let url = s.url("/authentication");
    for auth in [
        basic("sandbox", "wrong-secret"),
        basic("nobody", "sandbox-secret"),
        "Basic not-base64!".to_string(),
        "Bearer abc".to_string(),
    ] {
        let r = send(
            "POST",
            &url,
            &[("Authorization", &auth)],
            Some(r#"{"grant_type":"client_credentials"}"#),
        );
        assert_eq!(r.status, 401, "{auth}");
        assert_eq!(r.body, serde_json::json!({"error": "invalid_client"}));
    }
    let r = send(
        "POST",
        &url,
        &[],
        Some(r#"{"grant_type":"client_credentials"}"#),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"], "invalid_client");
    let r = send(
        "POST",
        &url,
        &[("Authorization", &basic("sandbox", "sandbox-secret"))],
        Some(r#"{"grant_type":"password"}"#),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        serde_json::json!({"error": "unsupported_grant_type"})
    );
}

#[test]
fn bearer_tokens_are_checked_and_scopes_enforced() {
    let s = Server::start();
    let url = s.url("/sandbox/faults");
    for auth in ["", "Bearer ", "Bearer nonsense", "Basic abc"] {
        let r = send("GET", &url, &[("Authorization", auth)], None);
        assert_eq!(r.status, 401, "{auth:?}");
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(r.body["code"], "UNAUTHORIZED");
        assert_eq!(r.body["status"], 401);
    }
    // `branch` has no sandbox scope.
    let branch = s.token_for("branch", "branch-secret");
    let r = send(
        "GET",
        &url,
        &[("Authorization", &format!("Bearer {branch}"))],
        None,
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.body["code"], "UNAUTHORIZED");
}

#[test]
fn tokens_outlive_a_restart_and_expire() {
    let s = Server::start_with(&[("token_ttl_seconds = 86400", "token_ttl_seconds = 2")]);
    let token = s.token();
    let auth = format!("Bearer {token}");
    assert_eq!(s.faults(&auth, "GET", None).status, 200);
    let s = s.restart();
    assert_eq!(s.faults(&auth, "GET", None).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(2200));
    assert_eq!(s.faults(&auth, "GET", None).status, 401);
}

#[test]
fn oversized_and_malformed_bodies_get_the_dialect_envelope() {
    let s = Server::start_with(&[("max_body_bytes = 65536", "max_body_bytes = 1024")]);
    let auth = format!("Bearer {}", s.token());
    let big = format!("{{\"packageLookup\":true,\"x\":\"{}\"}}", "a".repeat(2000));
    let r = s.faults(&auth, "PUT", Some(&big));
    assert_eq!(r.status, 413);
    assert_eq!(r.body["code"], "PAYLOAD_TOO_LARGE");
    let r = s.faults(&auth, "PUT", Some("{nope"));
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], "INVALID_REQUEST");
    let r = s.faults(&auth, "PUT", Some(r#"{"walletCreate":"yes"}"#));
    assert_eq!(r.status, 400);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("walletCreate:"),
        "{}",
        r.text
    );
    // Faults are not stored by the embedded engine (a restart clears them); a store shared by
    // several processes keeps them for all (a restart of one must not clear the others').
    let r = s.faults(&auth, "PUT", Some(r#"{"walletCreate":true}"#));
    assert_eq!(r.body["walletCreate"], true);
    let s = s.restart();
    let r = s.faults(&auth, "GET", None);
    assert_eq!(r.body["walletCreate"], on_postgres());
}

#[test]
fn sigterm_stops_cleanly_and_verify_is_clean() {
    let mut s = Server::start();
    s.token();
    assert_eq!(s.stop(), 0);
    assert!(s.log().contains("stopped cleanly"), "{}", s.log());
    let (code, out) = s.verify();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("store is clean"), "{out}");
}

#[test]
fn check_config_accepts_the_shipped_file_and_names_bad_keys() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let (code, out) = run_cli(&["check-config", "--config", shipped]);
    assert_eq!(code, 0, "{out}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, SHIPPED_CONFIG.replace("workers = 0", "wrokers = 0")).unwrap();
    let (code, out) = run_cli(&["check-config", "--config", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("wrokers"), "{out}");
}
