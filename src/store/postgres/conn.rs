//! A database connection driven by the thread that waits on it, and the pool that keeps them.
//!
//! tokio-postgres splits a connection in two: a `Client` that queues requests, and a
//! `Connection` future that writes them to the socket and reads the answers. The usual way spawns
//! that future on a runtime; a request's thread, blocked on its statement, then waited on two
//! thread hand-offs per round trip (its request queued to a runtime thread that wrote it, the
//! answer read by a runtime thread that woke it), about a third of issuebox's CPU under
//! enrollment load, most of it in the kernel. Here the `Connection` is polled by whoever waits
//! ([`Conn::drive`]): the waiting thread writes its statements itself and sleeps in `poll(2)` on
//! the socket until the answer is there. A connection is used by one thread at a time (a pool
//! object is its holder's alone), so nothing else needs to poll it; what arrives while nobody
//! waits (a notice, the server's goodbye) is read at the next use, and the pool checks that a
//! connection is still open before handing it out ([`Connector`]'s recycling).
//!
//! A future driven here may wait on more than the socket (a timer of a retry's pause): the
//! waker writes an eventfd that the sleeping thread polls beside the socket.
//!
//! Connecting follows tokio-postgres's own rules (each host of the URL in turn, `hostaddr`,
//! Unix socket directories, `connect_timeout`, keepalives, `target_session_attrs`), over a
//! socket of the standard library in non-blocking mode; TLS is not offered (as before: `NoTls`).

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use rustix::event::{PollFd, PollFlags};
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::{Host, TargetSessionAttrs};
use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::{Client, Config, Connection, NoTls, SimpleQueryMessage, Statement};

pub type Pool = deadpool::managed::Pool<Connector>;
pub type Object = deadpool::managed::Object<Connector>;

/// One connection: its client, the future that does its I/O, and its prepared statements.
pub struct Conn {
    client: Client,
    driver: Mutex<Driver>,
    statements: Mutex<FxHashMap<String, Statement>>,
}

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Conn {
    /// Runs `fut`, which uses this connection, to its end on this thread.
    pub fn drive<F: Future>(&self, fut: F) -> F::Output {
        self.driver.lock().drive(fut)
    }

    /// [`drive`](Self::drive) for a future that needs the client mutably (a transaction object).
    pub fn drive_mut<'a, F: Future>(
        &'a mut self,
        f: impl FnOnce(&'a mut Client) -> F,
    ) -> F::Output {
        let Conn { client, driver, .. } = self;
        driver.get_mut().drive(f(client))
    }

    /// The statement of `sql`, prepared once per connection.
    pub async fn prepare_cached(&self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.statements.lock().get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await?;
        self.statements.lock().insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    /// Reads what arrived while nobody waited, without blocking: false once the connection is
    /// closed (the server went away, or said goodbye).
    fn is_open(&mut self) -> bool {
        let driver = self.driver.get_mut();
        let mut cx = Context::from_waker(Waker::noop());
        driver.poll_connection(&mut cx);
        driver.connection.is_some() && !self.client.is_closed()
    }
}

/// The I/O half of a connection, and what its waiting thread sleeps on.
struct Driver {
    /// `None` once it ended (closed or failed): the client's calls then fail at once.
    connection: Option<Connection<Socket, NoTlsStream>>,
    /// The socket's descriptor (a duplicate: the socket is owned by `connection`) until the
    /// connection ends.
    fd: Option<OwnedFd>,
    io: Arc<IoState>,
    signal: Arc<Signal>,
    /// The engine's runtime, entered while driving: a retry's timer belongs to it.
    runtime: tokio::runtime::Handle,
}

impl Driver {
    fn drive<F: Future>(&mut self, fut: F) -> F::Output {
        let _context = self.runtime.enter();
        let waker = Waker::from(self.signal.clone());
        let mut cx = Context::from_waker(&waker);
        // Outside tokio's cooperative budget: the caller may be a task of another runtime (see
        // `PgStore::run`).
        let mut fut = pin!(tokio::task::unconstrained(fut));
        loop {
            self.signal.state.store(AWAKE, Ordering::Release);
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            // The connection writes what the future queued and reads what has arrived.
            let moved = self.io.moved.load(Ordering::Relaxed);
            let open = self.connection.is_some();
            self.poll_connection(&mut cx);
            if self.io.moved.load(Ordering::Relaxed) != moved || open != self.connection.is_some() {
                continue;
            }
            self.sleep();
        }
    }

    /// Polls the connection once; drops it when it ended.
    fn poll_connection(&mut self, cx: &mut Context<'_>) {
        let Some(connection) = self.connection.as_mut() else {
            return;
        };
        if let Poll::Ready(end) = Pin::new(connection).poll(cx) {
            if let Err(e) = end {
                log::warn!("postgres connection closed: {e}");
            }
            self.connection = None;
            self.fd = None;
        }
    }

    /// Waits until the socket is readable (or writable, when a write could not go out) or the
    /// waker was called.
    fn sleep(&self) {
        let signal = &self.signal;
        if signal
            .state
            .compare_exchange(AWAKE, SLEEPING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return; // woken since the last poll
        }
        let socket = if self.io.want_write.load(Ordering::Relaxed) {
            PollFlags::IN | PollFlags::OUT
        } else {
            PollFlags::IN
        };
        let mut fds = Vec::with_capacity(2);
        fds.push(PollFd::new(&signal.fd, PollFlags::IN));
        if let Some(fd) = &self.fd {
            fds.push(PollFd::new(fd, socket));
        }
        // Interrupted (a signal): simply poll again, the loop sleeps again if nothing moved.
        let _ = rustix::event::poll(&mut fds, None);
        let woken = fds[0].revents().contains(PollFlags::IN);
        signal.state.store(AWAKE, Ordering::Release);
        if woken {
            signal.drain();
        }
    }
}

const AWAKE: u8 = 0;
const NOTIFIED: u8 = 1;
const SLEEPING: u8 = 2;

/// The waker of a driven future: an eventfd, written only when its thread sleeps.
struct Signal {
    fd: OwnedFd,
    state: AtomicU8,
}

impl Signal {
    fn new() -> io::Result<Signal> {
        use rustix::event::EventfdFlags;
        Ok(Signal {
            fd: rustix::event::eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC)?,
            state: AtomicU8::new(AWAKE),
        })
    }

    fn drain(&self) {
        let _ = rustix::io::read(&self.fd, &mut [0u8; 8]);
    }
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.state.swap(NOTIFIED, Ordering::AcqRel) == SLEEPING {
            let _ = rustix::io::write(&self.fd, &1u64.to_ne_bytes());
        }
    }
}

/// What the socket did, seen by its driver: any read or write (progress: poll again before
/// sleeping), and whether a write found the socket's buffer full (sleep until writable too).
#[derive(Default)]
struct IoState {
    moved: AtomicU64,
    want_write: AtomicBool,
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// A non-blocking socket of the standard library as tokio-postgres's transport: an operation
/// that would block answers `Pending` without registering a waker, since the driver polls the
/// descriptor itself.
pub struct Socket {
    stream: Stream,
    io: Arc<IoState>,
}

impl Socket {
    /// A duplicate of the socket's descriptor, for the driver to poll.
    fn fd(&self) -> io::Result<OwnedFd> {
        match &self.stream {
            Stream::Tcp(s) => s.as_fd().try_clone_to_owned(),
            Stream::Unix(s) => s.as_fd().try_clone_to_owned(),
        }
    }

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.stream {
            Stream::Tcp(s) => (&*s).read(buf),
            Stream::Unix(s) => (&*s).read(buf),
        }
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match &self.stream {
            Stream::Tcp(s) => (&*s).write(buf),
            Stream::Unix(s) => (&*s).write(buf),
        }
    }

    /// `op` until it is not interrupted; `Pending` when it would block.
    fn attempt<T>(&self, mut op: impl FnMut() -> io::Result<T>) -> Poll<io::Result<T>> {
        loop {
            match op() {
                Ok(v) => {
                    self.io.moved.fetch_add(1, Ordering::Relaxed);
                    return Poll::Ready(Ok(v));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let dst = buf.initialize_unfilled();
        match this.attempt(|| this.read(dst)) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let out = this.attempt(|| this.write(buf));
        this.io
            .want_write
            .store(out.is_pending(), Ordering::Relaxed);
        out
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let _ = match &self.stream {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
        };
        Poll::Ready(Ok(()))
    }
}

/// Why a connection could not be made.
#[derive(Debug)]
pub enum ConnectError {
    Io(io::Error),
    Db(tokio_postgres::Error),
    /// `target_session_attrs` asked for a server this one is not (a standby, or a primary).
    WrongSession(&'static str),
    NoHost,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Io(e) => write!(f, "error connecting to server: {e}"),
            ConnectError::Db(e) => write!(f, "{e}"),
            ConnectError::WrongSession(why) => write!(f, "{why}"),
            ConnectError::NoHost => write!(f, "the URL names no host"),
        }
    }
}

/// Makes connections for the pool, and checks a pooled one before it is handed out again.
pub struct Connector {
    config: Config,
    runtime: tokio::runtime::Handle,
}

impl Connector {
    pub fn new(config: Config, runtime: tokio::runtime::Handle) -> Connector {
        Connector { config, runtime }
    }

    /// Each host of the URL in turn, as tokio-postgres's `connect` tries them.
    fn connect(&self) -> Result<Conn, ConnectError> {
        let config = &self.config;
        let (hosts, addrs, ports) = (
            config.get_hosts(),
            config.get_hostaddrs(),
            config.get_ports(),
        );
        let mut last = ConnectError::NoHost;
        for i in 0..hosts.len().max(addrs.len()) {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            let stream = match (addrs.get(i), hosts.get(i)) {
                (Some(ip), _) => tcp(&[SocketAddr::new(*ip, port)], config),
                (None, Some(Host::Tcp(name))) => (name.as_str(), port)
                    .to_socket_addrs()
                    .and_then(|a| tcp(&a.collect::<Vec<_>>(), config)),
                (None, Some(Host::Unix(dir))) => {
                    UnixStream::connect(dir.join(format!(".s.PGSQL.{port}"))).map(Stream::Unix)
                }
                (None, None) => continue,
            };
            match stream.map_err(ConnectError::Io).and_then(|s| self.start(s)) {
                Ok(conn) => return Ok(conn),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The startup exchange on a connected socket, then the session check the URL asks for.
    fn start(&self, stream: Stream) -> Result<Conn, ConnectError> {
        match &stream {
            Stream::Tcp(s) => s.set_nonblocking(true),
            Stream::Unix(s) => s.set_nonblocking(true),
        }
        .map_err(ConnectError::Io)?;
        let io = Arc::new(IoState::default());
        let socket = Socket {
            stream,
            io: io.clone(),
        };
        let mut driver = Driver {
            connection: None,
            fd: Some(socket.fd().map_err(ConnectError::Io)?),
            io,
            signal: Arc::new(Signal::new().map_err(ConnectError::Io)?),
            runtime: self.runtime.clone(),
        };
        let (client, connection) = driver
            .drive(self.config.connect_raw(socket, NoTls))
            .map_err(ConnectError::Db)?;
        driver.connection = Some(connection);
        let wanted = self.config.get_target_session_attrs();
        if wanted != TargetSessionAttrs::Any {
            let rows = driver
                .drive(client.simple_query("SHOW transaction_read_only"))
                .map_err(ConnectError::Db)?;
            let read_only = rows.iter().find_map(|m| match m {
                SimpleQueryMessage::Row(r) => r.get(0).map(|v| v == "on"),
                _ => None,
            });
            match (wanted, read_only) {
                (TargetSessionAttrs::ReadWrite, Some(true)) => {
                    return Err(ConnectError::WrongSession("database does not allow writes"))
                }
                (TargetSessionAttrs::ReadOnly, Some(false)) => {
                    return Err(ConnectError::WrongSession("database is not read only"))
                }
                _ => {}
            }
        }
        Ok(Conn {
            client,
            driver: Mutex::new(driver),
            statements: Mutex::default(),
        })
    }
}

/// A TCP connection to the first address that answers, set up as tokio-postgres sets its own.
fn tcp(addrs: &[SocketAddr], config: &Config) -> io::Result<Stream> {
    let mut last = io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve any addresses",
    );
    for addr in addrs {
        let connected = match config.get_connect_timeout() {
            Some(t) => TcpStream::connect_timeout(addr, *t),
            None => TcpStream::connect(addr),
        };
        match connected {
            Ok(s) => {
                s.set_nodelay(true)?;
                if config.get_keepalives() {
                    let mut ka =
                        socket2::TcpKeepalive::new().with_time(config.get_keepalives_idle());
                    if let Some(i) = config.get_keepalives_interval() {
                        ka = ka.with_interval(i);
                    }
                    if let Some(r) = config.get_keepalives_retries() {
                        ka = ka.with_retries(r);
                    }
                    socket2::SockRef::from(&s).set_tcp_keepalive(&ka)?;
                }
                return Ok(Stream::Tcp(s));
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

impl deadpool::managed::Manager for Connector {
    type Type = Conn;
    type Error = ConnectError;

    /// Connects on the thread that asked the pool (it blocks there, as a statement would).
    async fn create(&self) -> Result<Conn, ConnectError> {
        self.connect()
    }

    async fn recycle(
        &self,
        conn: &mut Conn,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<ConnectError> {
        if conn.is_open() {
            Ok(())
        } else {
            Err(deadpool::managed::RecycleError::message(
                "the connection closed while in the pool",
            ))
        }
    }
}
