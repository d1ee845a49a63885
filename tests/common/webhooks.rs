//! A webhook endpoint for integration tests, and a Standard Webhooks verifier.
//!
//! [`Receiver`] is a plain HTTP/1.1 server on 127.0.0.1 (std threads, one per connection,
//! keep-alive, `Content-Length` bodies only) that records every request and answers as its
//! [`Behaviour`] says; the behaviour can change while it runs. [`verify`] checks a delivery's
//! signature from the specification alone, with hmac, sha2 and base64 directly, so that it does
//! not share a mistake with `issuebox::webhooks::signature`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// How the receiver answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// 200 `ok`.
    Ok,
    /// 500 for the first n requests since this behaviour was set, then 200.
    FailFirst(usize),
    /// This status; a 3xx also carries `location: /redirected`, so a client that followed it
    /// would show up in [`Receiver::requests`] with that path.
    Status(u16),
    /// Never answers; the connection stays open until the receiver is dropped.
    Hang,
    /// This status and body.
    Reply(u16, String),
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Names in lowercase, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
    /// Which TCP connection it came on (0, 1, ... in accept order): equal ids mean a reused
    /// connection.
    pub connection: usize,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// [`verify`] against the current time with the specification's 5 minutes of tolerance.
    pub fn verify(&self, secret_whsec: &str) -> Result<(), String> {
        verify(secret_whsec, &self.headers, &self.body, unix_now(), 300)
    }
}

struct State {
    behaviour: Behaviour,
    /// Requests answered since the behaviour was last set.
    answered: usize,
    requests: Vec<Request>,
}

struct Shared {
    state: Mutex<State>,
    arrived: Condvar,
    stop: AtomicBool,
    connections: AtomicUsize,
}

/// A running endpoint; dropping it stops it and closes every connection.
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Receiver {
    pub fn start(behaviour: Behaviour) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                behaviour,
                answered: 0,
                requests: Vec::new(),
            }),
            arrived: Condvar::new(),
            stop: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let id = accepting.connections.fetch_add(1, Ordering::SeqCst);
                let shared = accepting.clone();
                std::thread::spawn(move || serve(stream, id, &shared));
            }
        });
        Receiver { addr, shared }
    }

    /// The endpoint URL to register: `http://127.0.0.1:<port>/webhook`.
    pub fn url(&self) -> String {
        format!("http://{}/webhook", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers from now on as `behaviour` says (a `FailFirst` counts from here).
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        let mut state = self.shared.state.lock().unwrap();
        state.behaviour = behaviour;
        state.answered = 0;
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.state.lock().unwrap().requests.clone()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Waits until `count` requests have arrived and returns them all; panics after `timeout`.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Request> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state.lock().unwrap();
        while state.requests.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "receiver got {} of {count} requests in {timeout:?}",
                    state.requests.len()
                );
            }
            state = self.shared.arrived.wait_timeout(state, left).unwrap().0;
        }
        state.requests.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees `stop`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// Reads requests off one connection and answers them until the peer closes or the receiver
/// stops.
fn serve(mut stream: TcpStream, connection: usize, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    while let Some(mut request) = read_request(&mut stream, &mut buf, shared) {
        request.connection = connection;
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let answer = {
            let mut state = shared.state.lock().unwrap();
            state.requests.push(request);
            shared.arrived.notify_all();
            let n = state.answered;
            state.answered += 1;
            match &state.behaviour {
                Behaviour::Ok => Some((200, "ok".to_string())),
                Behaviour::FailFirst(k) if n < *k => Some((500, "failing on purpose".into())),
                Behaviour::FailFirst(_) => Some((200, "ok".into())),
                Behaviour::Status(s) => Some((*s, format!("status {s}"))),
                Behaviour::Reply(s, body) => Some((*s, body.clone())),
                Behaviour::Hang => None,
            }
        };
        let Some((status, body)) = answer else {
            while !shared.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
            return;
        };
        let location = if (300..400).contains(&status) {
            "location: /redirected\r\n"
        } else {
            ""
        };
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: text/plain; charset=utf-8\r\n{location}\
             content-length: {}\r\n\r\n",
            if status < 400 { "OK" } else { "Error" },
            body.len()
        );
        if stream.write_all(head.as_bytes()).is_err()
            || stream.write_all(body.as_bytes()).is_err()
            || close
        {
            return;
        }
    }
}

/// The next request on the connection: its head up to the blank line, then `Content-Length`
/// bytes of body. `None` at end of stream, on a malformed request or when the receiver stops.
fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>, shared: &Shared) -> Option<Request> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        fill(stream, buf, shared)?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let find = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    if find("transfer-encoding").is_some() {
        return None; // chunked bodies are not spoken here
    }
    let len: usize = match find("content-length") {
        Some(v) => v.parse().ok()?,
        None => 0,
    };
    while buf.len() < len {
        fill(stream, buf, shared)?;
    }
    let body = buf.drain(..len).collect();
    Some(Request {
        method,
        path,
        headers,
        body,
        at: Instant::now(),
        connection: 0,
    })
}

/// Reads what is there into `buf`, waiting as long as it takes unless the receiver stops.
fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, shared: &Shared) -> Option<()> {
    let mut chunk = [0u8; 8192];
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return None;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Some(());
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Verifies a delivery as a receiver following the Standard Webhooks specification would:
/// `webhook-id`, `webhook-timestamp` and `webhook-signature` present (names matched without
/// regard to case); the timestamp within `tolerance_secs` of `now_unix` either way; and one of
/// the space-separated `v1,<base64>` signatures equal, in constant time, to HMAC-SHA256 keyed by
/// the base64 after `whsec_` over `{id}.{timestamp}.{body}`. Other signature versions are
/// skipped.
pub fn verify(
    secret_whsec: &str,
    headers: &[(String, String)],
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), String> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("missing header {name}"))
    };
    let id = get("webhook-id")?;
    let timestamp = get("webhook-timestamp")?;
    let signatures = get("webhook-signature")?;
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| format!("webhook-timestamp {timestamp:?} is not Unix seconds"))?;
    if (now_unix - ts).abs() > tolerance_secs {
        return Err(format!(
            "webhook-timestamp {ts} is {} s from now, over the {tolerance_secs} s tolerance",
            now_unix - ts
        ));
    }
    let key = STANDARD
        .decode(secret_whsec.strip_prefix("whsec_").unwrap_or(secret_whsec))
        .map_err(|_| "the secret is not whsec_<base64>".to_string())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    let matched = signatures
        .split(' ')
        .filter_map(|s| s.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, b64)| STANDARD.decode(b64).ok())
        .any(|sig| bool::from(sig.as_slice().ct_eq(expected.as_slice())));
    if matched {
        Ok(())
    } else {
        Err("no v1 signature in webhook-signature matches".into())
    }
}
