//! One delivery attempt over HTTP: a `POST` of the signed event, its outcome in words.
//!
//! The client (reqwest over rustls with ring, HTTP/1.1) keeps connections to each endpoint in a
//! pool, follows no redirect (a 3xx is a failed attempt, as the specification recommends), reads
//! no proxy from the environment, and bounds each attempt as a whole, connect, request, answer
//! head and the first KiB of the answer body, by `timeout_ms`.
//!
//! Runtimes: [`Sender::send`] works on any tokio runtime with IO and time enabled, multi-thread
//! or current-thread (actix's workers). A pooled connection's driver task runs on the runtime
//! that opened it, so send from one long-lived runtime (the delivery loop's) to keep the pool
//! useful: a connection whose runtime has stopped is dropped and a new one opened.

use std::error::Error as _;
use std::time::{Duration, Instant};

/// Bytes of the answer body kept for the delivery log; reading stops there.
pub const RESPONSE_PREFIX_BYTES: usize = 1024;

/// How the attempt went. Exactly one of `status` and `error` is set: `status` once an answer
/// head arrived (the body prefix is then best effort), `error` when none did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub status: Option<u16>,
    /// What went wrong, in words: "timed out after 5000 ms", "connection refused", ...
    pub error: Option<String>,
    pub latency_ms: u32,
    /// The first [`RESPONSE_PREFIX_BYTES`] of the answer body as lossy UTF-8, cut on a char
    /// boundary.
    pub response_prefix: String,
}

impl AttemptOutcome {
    /// A 2xx answer: the event is delivered.
    pub fn delivered(&self) -> bool {
        matches!(self.status, Some(200..=299))
    }
}

/// The delivery client; cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    timeout: Duration,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A client whose attempts each get `timeout_ms` milliseconds (0 counts as 1), keeping up to
    /// 8 idle connections per endpoint host.
    pub fn new(timeout_ms: u64) -> Sender {
        Self::with_pool(timeout_ms, 8)
    }

    /// [`new`](Self::new), keeping up to `max_idle` idle connections per endpoint host: as many
    /// as attempts may run at once (`webhooks.max_in_flight`), so that a busy endpoint's
    /// connections are reused rather than opened and closed per attempt.
    pub fn with_pool(timeout_ms: u64, max_idle: usize) -> Sender {
        let timeout = Duration::from_millis(timeout_ms.max(1));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("issuebox/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(max_idle.max(1))
            .tcp_nodelay(true)
            .build()
            .expect("the webhook client's settings are valid");
        Sender { client, timeout }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `POST`s `body` to `url` with the Standard Webhooks headers. `signature` is the whole
    /// `webhook-signature` value (see [`super::signature::signature_header`]); it appears in no
    /// error.
    pub async fn send(
        &self,
        url: &str,
        msg_id: &str,
        timestamp: i64,
        signature: &str,
        body: Vec<u8>,
    ) -> AttemptOutcome {
        let started = Instant::now();
        let request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body);
        let deadline = tokio::time::Instant::from_std(started + self.timeout);
        let head = tokio::time::timeout_at(deadline, request.send()).await;
        let (status, error, prefix) = match head {
            Err(_) => (None, Some(self.timed_out()), String::new()),
            Ok(Err(e)) => (None, Some(describe(e, self.timeout)), String::new()),
            Ok(Ok(response)) => {
                let status = response.status().as_u16();
                let prefix = read_prefix(response, deadline).await;
                (Some(status), None, prefix)
            }
        };
        AttemptOutcome {
            status,
            error,
            latency_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
            response_prefix: prefix,
        }
    }

    fn timed_out(&self) -> String {
        format!("timed out after {} ms", self.timeout.as_millis())
    }
}

/// Up to [`RESPONSE_PREFIX_BYTES`] of the body, as far as it arrives before `deadline`.
async fn read_prefix(mut response: reqwest::Response, deadline: tokio::time::Instant) -> String {
    let mut kept = Vec::new();
    while kept.len() < RESPONSE_PREFIX_BYTES {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => kept.extend_from_slice(&chunk),
            _ => break,
        }
    }
    prefix_text(&kept, RESPONSE_PREFIX_BYTES)
}

/// The first `limit` bytes as lossy UTF-8: a character cut by the limit is dropped, not shown as
/// U+FFFD, and the text is at most `limit` bytes even where invalid bytes were replaced.
fn prefix_text(bytes: &[u8], limit: usize) -> String {
    let mut b = &bytes[..bytes.len().min(limit)];
    let mut start = 0;
    while let Err(e) = std::str::from_utf8(&b[start..]) {
        let at = start + e.valid_up_to();
        match e.error_len() {
            Some(n) => start = at + n,
            None => {
                b = &b[..at];
                break;
            }
        }
    }
    let mut text = String::from_utf8_lossy(b).into_owned();
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// An error in words, without the URL (reqwest's own message names it) or anything sent.
fn describe(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {} ms", timeout.as_millis());
    }
    if e.is_builder() {
        return "the endpoint URL cannot be requested".into();
    }
    let mut io_kind = None;
    let mut innermost = None;
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        innermost = Some(s.to_string());
        source = s.source();
    }
    use std::io::ErrorKind as K;
    match io_kind {
        Some(K::ConnectionRefused) => return "connection refused".into(),
        Some(K::ConnectionReset) => return "connection reset by the endpoint".into(),
        Some(K::ConnectionAborted) => return "connection aborted".into(),
        Some(K::TimedOut) => return format!("timed out after {} ms", timeout.as_millis()),
        _ => {}
    }
    let (connect, body) = (e.is_connect(), e.is_body() || e.is_decode());
    let detail = innermost.unwrap_or_else(|| e.without_url().to_string());
    if connect {
        if detail.contains("dns error") || detail.contains("lookup address") {
            format!("could not resolve the endpoint's host: {detail}")
        } else {
            format!("could not connect: {detail}")
        }
    } else if body {
        format!("failed reading the answer: {detail}")
    } else {
        format!("request failed: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc;

    /// A one-shot server: answers each connection's first request with `answer` and sends the
    /// request head and body back over the channel.
    fn serve(answer: &'static [u8]) -> (String, mpsc::Receiver<(String, Vec<u8>)>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let (head, body) = read_request(&stream);
                    let _ = tx.send((head, body));
                    if answer.is_empty() {
                        std::thread::sleep(Duration::from_secs(5));
                    } else {
                        let _ = stream.write_all(answer);
                    }
                });
            }
        });
        (url, rx)
    }

    fn read_request(stream: &TcpStream) -> (String, Vec<u8>) {
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let len = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        (head, body)
    }

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

    async fn sends_signed_post_with_the_standard_headers() {
        let (url, rx) = serve(OK);
        let out = Sender::new(2000)
            .send(
                &url,
                "evt_1",
                1700000000,
                "v1,abc= v1,def=",
                b"{\"a\":1}".to_vec(),
            )
            .await;
        assert!(out.delivered(), "{out:?}");
        assert_eq!((out.status, out.error.as_deref()), (Some(200), None));
        assert_eq!(out.response_prefix, "ok");
        let (head, body) = rx.recv().unwrap();
        let lower = head.to_ascii_lowercase();
        assert!(lower.starts_with("post /hook http/1.1\r\n"), "{head}");
        for h in [
            "content-type: application/json",
            "webhook-id: evt_1",
            "webhook-timestamp: 1700000000",
            "webhook-signature: v1,abc= v1,def=",
            concat!("user-agent: issuebox/", env!("CARGO_PKG_VERSION")),
        ] {
            assert!(lower.contains(&format!("{h}\r\n")), "{h} in {head}");
        }
        assert_eq!(body, b"{\"a\":1}");
    }

    #[tokio::test]
    async fn works_on_a_current_thread_runtime() {
        sends_signed_post_with_the_standard_headers().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn works_on_a_multi_thread_runtime() {
        sends_signed_post_with_the_standard_headers().await;
    }

    #[actix_rt::test]
    async fn works_on_an_actix_runtime() {
        sends_signed_post_with_the_standard_headers().await;
    }

    #[tokio::test]
    async fn a_redirect_is_a_failed_attempt_and_is_not_followed() {
        let (target, followed) = serve(OK);
        let answer: &'static [u8] = Box::leak(
            format!("HTTP/1.1 302 Found\r\nlocation: {target}\r\ncontent-length: 0\r\n\r\n")
                .into_bytes()
                .into_boxed_slice(),
        );
        let (url, _rx) = serve(answer);
        let out = Sender::new(2000).send(&url, "e", 1, "v1,x", vec![]).await;
        assert_eq!(out.status, Some(302));
        assert!(!out.delivered());
        assert!(followed.recv_timeout(Duration::from_millis(300)).is_err());
    }

    #[tokio::test]
    async fn failures_are_statuses_not_errors() {
        let (url, _rx) =
            serve(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy");
        let out = Sender::new(2000).send(&url, "e", 1, "v1,x", vec![]).await;
        assert_eq!((out.status, out.error.as_deref()), (Some(503), None));
        assert_eq!(out.response_prefix, "busy");
        assert!(!out.delivered());
    }

    #[tokio::test]
    async fn a_silent_endpoint_times_out() {
        let (url, _rx) = serve(b"");
        let t = Instant::now();
        let out = Sender::new(300)
            .send(&url, "e", 1, "v1,secretish", vec![])
            .await;
        assert_eq!(out.status, None);
        assert_eq!(out.error.as_deref(), Some("timed out after 300 ms"));
        assert!((300..2000).contains(&out.latency_ms), "{}", out.latency_ms);
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_closed_port_is_connection_refused() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = Sender::new(2000)
            .send(&format!("http://127.0.0.1:{port}/"), "e", 1, "v1,x", vec![])
            .await;
        assert_eq!(
            (out.status, out.error.as_deref()),
            (None, Some("connection refused"))
        );
        assert!(!out.delivered());
    }

    #[tokio::test]
    async fn errors_name_neither_url_nor_signature() {
        let out = Sender::new(1000)
            .send(
                "http://user:pw@nonexistent.invalid/tok3n",
                "e",
                1,
                "v1,SIG",
                vec![],
            )
            .await;
        let e = out.error.unwrap();
        assert!(
            e.starts_with("could not resolve the endpoint's host") || e.starts_with("timed out"),
            "{e}"
        );
        assert!(
            !e.contains("tok3n") && !e.contains("pw") && !e.contains("SIG"),
            "{e}"
        );
        let out = Sender::new(2000)
            .send("not a url", "e", 1, "v1,SIG", vec![])
            .await;
        assert_eq!(
            out.error.as_deref(),
            Some("the endpoint URL cannot be requested")
        );
    }

    #[tokio::test]
    async fn keeps_only_the_first_kib_of_a_long_answer() {
        let mut answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
            1023 + 2 + 4000
        )
        .into_bytes();
        answer.extend(std::iter::repeat_n(b'a', 1023));
        answer.extend("é".as_bytes());
        answer.extend(std::iter::repeat_n(b'b', 4000));
        let (url, _rx) = serve(Box::leak(answer.into_boxed_slice()));
        let out = Sender::new(2000).send(&url, "e", 1, "v1,x", vec![]).await;
        assert_eq!(out.status, Some(200));
        assert_eq!(
            out.response_prefix,
            "a".repeat(1023),
            "the split é is dropped"
        );
    }

    #[test]
    fn prefix_is_cut_on_a_char_boundary_and_stays_within_the_limit() {
        assert_eq!(prefix_text(b"hello", 1024), "hello");
        assert_eq!(prefix_text("aé".as_bytes(), 2), "a");
        assert_eq!(prefix_text("aé".as_bytes(), 3), "aé");
        assert_eq!(prefix_text(b"a\xffb", 1024), "a\u{fffd}b");
        assert_eq!(prefix_text(b"\xff\xff\xff\xff", 4), "\u{fffd}");
        assert_eq!(prefix_text(b"\xff\xe2\x82", 3), "\u{fffd}");
        assert_eq!(prefix_text(&[0xff; 2000], 1024).len(), 1023);
    }
}
