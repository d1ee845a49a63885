//! TLS on the listener (`server.tls_cert_file` / `server.tls_key_file`): the real binary with a
//! self-signed certificate made at run time answers over HTTPS to a client that trusts only that
//! certificate, gives a plain-HTTP client no HTTP answer on the same port, and `check-config`
//! refuses missing, unreadable, non-PEM and mismatched files, naming the file and the reason.

mod common;
use common::baas::{assert_row, body, uuid};
use common::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A self-signed certificate for `localhost` / 127.0.0.1 and its key, as PEM files in a temp dir.
struct Pki {
    dir: tempfile::TempDir,
    cert_der: rustls::pki_types::CertificateDer<'static>,
    cert: PathBuf,
    key: PathBuf,
}

fn pki() -> Pki {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("self-signed certificate");
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("kiosk.pem");
    let key = dir.path().join("kiosk.key");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    Pki {
        cert_der: ck.cert.der().clone(),
        dir,
        cert,
        key,
    }
}

/// The `[server]` lines naming `cert` and `key` (either may be left out).
fn tls_lines(cert: Option<&Path>, key: Option<&Path>) -> String {
    let mut s = String::new();
    if let Some(c) = cert {
        s.push_str(&format!("tls_cert_file = {:?}\n", c.display().to_string()));
    }
    if let Some(k) = key {
        s.push_str(&format!("tls_key_file = {:?}\n", k.display().to_string()));
    }
    s
}

/// The config edit that puts `lines` at the end of `[server]`.
fn server_edit(lines: &str) -> (&'static str, String) {
    ("[storage]", format!("{lines}\n[storage]"))
}

/// A ureq agent whose only trusted root is `cert`.
fn trusting(cert: &rustls::pki_types::CertificateDer<'static>) -> ureq::Agent {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    ureq::AgentBuilder::new()
        .tls_config(Arc::new(config))
        .timeout(Duration::from_secs(30))
        .build()
}

fn start_tls(p: &Pki) -> (Server, String) {
    let (from, to) = server_edit(&tls_lines(Some(&p.cert), Some(&p.key)));
    let s = Server::start_with(&[(from, &to)]);
    let https = s.base.replacen("http://", "https://", 1);
    (s, https)
}

/// Status and JSON body of a ureq result, HTTP error statuses included.
fn answered(r: Result<ureq::Response, ureq::Error>) -> (u16, serde_json::Value) {
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport: {e}"),
    };
    let status = r.status();
    (status, r.into_json().unwrap_or(serde_json::Value::Null))
}

#[test]
fn https_health_token_and_enrollment_with_a_trusted_certificate() {
    let p = pki();
    let (s, https) = start_tls(&p);
    let agent = trusting(&p.cert_der);

    let (status, health) = answered(agent.get(&format!("{https}/health")).call());
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");

    let (status, tok) = answered(
        agent
            .post(&format!("{https}/authentication"))
            .set("Authorization", &basic("sandbox", "sandbox-secret"))
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string("grant_type=client_credentials"),
    );
    assert_eq!(status, 200, "{tok}");
    let token = tok["access_token"].as_str().expect("access_token");

    let r = agent
        .post(&format!("{https}/programs/SANDBOX/enrollments"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("X-GD-RequestId", &uuid())
        .set("Content-Type", "application/json")
        .send_string(&body().to_string());
    let (status, enrolled) = answered(r);
    let a = Answer {
        status,
        text: enrolled.to_string(),
        body: enrolled,
        headers: vec![],
    };
    assert_row(&a, 200, 0, 0, Some("Success"));
    assert_eq!(a.body["account"]["programCode"], "SANDBOX");

    // A client that does not trust the certificate (ureq's web roots) is refused in the handshake.
    let untrusted = ureq::get(&format!("{https}/health")).call();
    assert!(
        matches!(untrusted, Err(ureq::Error::Transport(_))),
        "{untrusted:?}"
    );
    assert!(s.log().contains("serving https only"), "{}", s.log());
}

#[test]
fn plain_http_on_the_tls_port_gets_no_http_answer() {
    let p = pki();
    let (s, https) = start_tls(&p);
    let addr = s.base.strip_prefix("http://").unwrap().to_string();

    let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    tcp.write_all(
        format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let mut got = Vec::new();
    let _ = tcp.read_to_end(&mut got); // closed (or reset) by the server
    assert!(
        !got.starts_with(b"HTTP/"),
        "plain HTTP answered: {}",
        String::from_utf8_lossy(&got)
    );
    assert!(
        !String::from_utf8_lossy(&got).contains("\"status\""),
        "plain HTTP reached a handler: {}",
        String::from_utf8_lossy(&got)
    );

    // An HTTP client gets a transport error, not a status.
    let plain = ureq::get(&s.url("/health"))
        .timeout(Duration::from_secs(15))
        .call();
    assert!(matches!(plain, Err(ureq::Error::Transport(_))), "{plain:?}");

    // The server is still up for HTTPS.
    let (status, _) = answered(trusting(&p.cert_der).get(&format!("{https}/health")).call());
    assert_eq!(status, 200);
}

/// Writes the shipped config with `lines` in `[server]`; answers `check-config`'s exit and output.
fn check_config(dir: &Path, lines: &str) -> (i32, String) {
    let (from, to) = server_edit(lines);
    let path = dir.join(format!("config-{}.toml", uuid()));
    std::fs::write(&path, config_text(&dir.join("db"), &[(from, &to)])).unwrap();
    run_cli(&["check-config", "--config", path.to_str().unwrap()])
}

#[test]
fn check_config_names_the_tls_file_and_the_reason() {
    let p = pki();
    let d = p.dir.path();

    let (code, out) = check_config(d, &tls_lines(Some(&p.cert), Some(&p.key)));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("config ok"), "{out}");

    let missing = d.join("nope.pem");
    let garbage = d.join("garbage.pem");
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    let truncated = d.join("truncated.pem");
    let pem = std::fs::read_to_string(&p.cert).unwrap();
    std::fs::write(&truncated, &pem[..pem.len() / 2]).unwrap();
    let other_key = d.join("other.key");
    std::fs::write(
        &other_key,
        rcgen::KeyPair::generate().unwrap().serialize_pem(),
    )
    .unwrap();
    let a_directory = d.to_path_buf();

    let cases: Vec<(&str, String, Vec<String>)> = vec![
        (
            "missing cert file",
            tls_lines(Some(&missing), Some(&p.key)),
            vec![
                "server.tls_cert_file".into(),
                missing.display().to_string(),
                "cannot read".into(),
                "No such file".into(),
            ],
        ),
        (
            "missing key file",
            tls_lines(Some(&p.cert), Some(&missing)),
            vec![
                "server.tls_key_file".into(),
                missing.display().to_string(),
                "No such file".into(),
            ],
        ),
        (
            "unreadable cert (a directory)",
            tls_lines(Some(&a_directory), Some(&p.key)),
            vec![
                "server.tls_cert_file".into(),
                a_directory.display().to_string(),
                "cannot read".into(),
            ],
        ),
        (
            "key without cert",
            tls_lines(None, Some(&p.key)),
            vec!["server.tls_cert_file is missing".into()],
        ),
        (
            "cert without key",
            tls_lines(Some(&p.cert), None),
            vec!["server.tls_key_file is missing".into()],
        ),
        (
            "garbage cert",
            tls_lines(Some(&garbage), Some(&p.key)),
            vec![
                "server.tls_cert_file".into(),
                garbage.display().to_string(),
                "not a PEM certificate".into(),
            ],
        ),
        (
            "garbage key",
            tls_lines(Some(&p.cert), Some(&garbage)),
            vec![
                "server.tls_key_file".into(),
                garbage.display().to_string(),
                "not a PEM private key".into(),
            ],
        ),
        (
            "certificate as the key",
            tls_lines(Some(&p.cert), Some(&p.cert)),
            vec!["server.tls_key_file".into(), "not a PEM private key".into()],
        ),
        (
            "truncated cert",
            tls_lines(Some(&truncated), Some(&p.key)),
            vec![
                truncated.display().to_string(),
                "-----END CERTIFICATE-----".into(),
            ],
        ),
        (
            "mismatched key",
            tls_lines(Some(&p.cert), Some(&other_key)),
            vec![
                "server.tls_key_file".into(),
                other_key.display().to_string(),
                "does not match the certificate".into(),
                p.cert.display().to_string(),
            ],
        ),
    ];
    for (what, lines, needles) in cases {
        let (code, out) = check_config(d, &lines);
        assert_eq!(code, 1, "{what}: {out}");
        assert!(out.contains("config invalid"), "{what}: {out}");
        for n in needles {
            assert!(out.contains(&n), "{what}: `{n}` not in {out}");
        }
    }

    // `serve` refuses the same way, before binding.
    let (from, to) = server_edit(&tls_lines(Some(&p.cert), Some(&other_key)));
    let path = d.join("serve.toml");
    std::fs::write(&path, config_text(&d.join("db"), &[(from, &to)])).unwrap();
    let (code, out) = run_cli(&["--config", path.to_str().unwrap(), "serve"]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("listening on"), "{out}");
    assert!(out.contains("does not match the certificate"), "{out}");
}
