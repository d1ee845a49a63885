//! A throwaway PostgreSQL for tests: a cluster of its own in a temporary directory, on a free
//! loopback port, with trust authentication on loopback (nothing else can reach it), durable
//! (`fsync`, `synchronous_commit` on) like a real one.
//!
//! - [`fresh_database`]: a new empty database on the test process's shared cluster, started on
//!   first use (starting a cluster takes seconds; creating a database, a fraction of one).
//! - [`PgCluster::new`]: a cluster of the caller's own, for a test that cuts the database
//!   ([`PgCluster::stop_immediate`], a crash as PostgreSQL sees one) and brings it back
//!   ([`PgCluster::start`]). Dropping it stops it and removes its directory.
//!
//! The server binaries are found under `/usr/lib/postgresql/*/bin` (highest version; Debian's
//! layout), else `pg_config --bindir`, else `ISSUEBOX_PG_BINDIR`. When there are none, a test
//! fails under `CI=true` (`.ci/run` installs PostgreSQL, so a missing one is a broken CI) and
//! elsewhere prints "skipped: no PostgreSQL" and gets `None`. Running the tests locally needs
//! PostgreSQL's server package (`apt-get install postgresql`); as root, the server runs as the
//! `postgres` user the package creates (PostgreSQL refuses to run as root).
//!
//! A watcher process stops every cluster and removes its directory once the test process is
//! gone, however it ended; the shared cluster, a static, is never dropped and relies on it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The database every cluster is created with.
pub const DATABASE: &str = "issuebox";

/// A PostgreSQL cluster in a temporary directory.
pub struct PgCluster {
    bindir: PathBuf,
    /// Holds `data/` (the cluster), `sock/` (its unix socket) and `server.log`.
    dir: PathBuf,
    port: u16,
    /// The user the server runs as when this process is root.
    run_as: Option<String>,
    /// The process that cleans up after this test process (see [`PgCluster::spawn_watcher`]).
    watcher: Option<Child>,
}

/// Whether a test that needs PostgreSQL must fail rather than skip.
fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The directory of PostgreSQL's server binaries, if they are installed.
pub fn find_bindir() -> Option<PathBuf> {
    let has_initdb = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Ok(d) = std::env::var("ISSUEBOX_PG_BINDIR") {
        let d = PathBuf::from(d);
        if has_initdb(&d) {
            return Some(d);
        }
    }
    // Debian: /usr/lib/postgresql/<major>/bin, several majors side by side.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_initdb(&bin).then_some((major, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && has_initdb(&d)).then_some(d)
}

/// The server binaries, or `None` after saying so; panics under `CI=true`.
fn bindir_or_skip() -> Option<PathBuf> {
    match find_bindir() {
        Some(d) => Some(d),
        None if in_ci() => panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, no pg_config): \
             under CI=true a test that needs it fails instead of skipping. .ci/run installs it \
             with `apt-get install -y postgresql`."
        ),
        None => {
            eprintln!(
                "skipped: no PostgreSQL (install Debian's `postgresql` package to run this test)"
            );
            None
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("no free loopback port")
        .port()
}

/// Output of a command that must succeed, or a panic that shows what it said.
fn must(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A base directory the server's user can reach.
fn temp_base(as_other_user: bool) -> PathBuf {
    let base = std::env::temp_dir();
    if as_other_user {
        use std::os::unix::fs::PermissionsExt;
        let world_searchable = std::fs::metadata(&base)
            .map(|m| m.permissions().mode() & 0o001 != 0)
            .unwrap_or(false);
        if !world_searchable {
            return PathBuf::from("/tmp");
        }
    }
    base
}

static CLUSTERS: AtomicU32 = AtomicU32::new(0);

impl PgCluster {
    /// Starts a new cluster with an empty database [`DATABASE`]. `None` (after printing
    /// "skipped: no PostgreSQL") when PostgreSQL is not installed, outside CI; panics under
    /// `CI=true`, and on any failure to set it up.
    pub fn new() -> Option<PgCluster> {
        let bindir = bindir_or_skip()?;
        let run_as = if is_root() {
            assert!(
                user_exists("postgres"),
                "running as root, the PostgreSQL server needs an unprivileged user to run as, \
                 and there is no `postgres` user (Debian's postgresql package creates it; or \
                 `useradd --system postgres`)"
            );
            Some("postgres".to_string())
        } else {
            None
        };
        let n = CLUSTERS.fetch_add(1, Ordering::SeqCst);
        let dir = temp_base(run_as.is_some()).join(format!(
            "issuebox-pg-{}-{n}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        std::fs::create_dir(dir.join("sock")).expect("socket dir");
        let mut cluster = PgCluster {
            bindir,
            dir,
            port: 0,
            run_as,
            watcher: None,
        };
        if let Some(user) = &cluster.run_as {
            must(
                Command::new("chown")
                    .arg("-R")
                    .arg(format!("{user}:"))
                    .arg(&cluster.dir),
                "chown of the cluster directory",
            );
        }
        cluster.watcher = Some(cluster.spawn_watcher());
        must(
            cluster
                .server_cmd("initdb")
                .arg("-D")
                .arg(cluster.data_dir())
                .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
                // Skips only the fsync of initdb's own files; the server runs with fsync on.
                .arg("--no-sync"),
            "initdb",
        );
        // A port found free may be taken by the time the server binds it: try a few.
        let mut tries = 0;
        loop {
            tries += 1;
            cluster.port = free_port();
            cluster.write_config();
            if cluster.try_start() {
                break;
            }
            assert!(
                tries < 5,
                "PostgreSQL would not start; its log:\n{}",
                cluster.log()
            );
        }
        cluster.create_database(DATABASE);
        Some(cluster)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL of [`DATABASE`]: `postgres://postgres@127.0.0.1:PORT/issuebox`.
    pub fn url(&self) -> String {
        self.url_of(DATABASE)
    }

    /// A connection URL of the database `db`.
    pub fn url_of(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Creates an empty database `name` (a plain identifier) and answers its URL.
    pub fn create_database(&self, name: &str) -> String {
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "database names here are plain identifiers: {name:?}"
        );
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.url_of(name)
    }

    /// Runs `sql` in database `db` with psql; answers its unaligned, tuples-only output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = must(
            Command::new(self.bindir.join("psql"))
                .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
                .args(["-h", "127.0.0.1", "-U", "postgres"])
                .arg("-p")
                .arg(self.port.to_string())
                .arg("-d")
                .arg(db)
                .arg("-c")
                .arg(sql)
                .env_remove("PGOPTIONS")
                .stdin(Stdio::null()),
            "psql",
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Cuts the server as a crash would (`pg_ctl stop -m immediate`: no checkpoint, clients
    /// dropped); [`start`](Self::start) brings it back through crash recovery.
    pub fn stop_immediate(&self) {
        self.stop("immediate");
    }

    /// Starts the server again after [`stop_immediate`](Self::stop_immediate), on the same port.
    pub fn start(&self) {
        assert!(
            self.try_start(),
            "PostgreSQL would not start again; its log:\n{}",
            self.log()
        );
    }

    /// Whether the server is running.
    pub fn is_running(&self) -> bool {
        self.server_cmd("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(self.data_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// A command running one of the server binaries as the server's user.
    fn server_cmd(&self, bin: &str) -> Command {
        let path = self.bindir.join(bin);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        };
        // The server's user may not be able to read the caller's working directory.
        cmd.current_dir(&self.dir).stdin(Stdio::null());
        cmd
    }

    fn write_config(&self) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data_dir().join("postgresql.conf"))
            .expect("postgresql.conf");
        // Appended: the last setting of a name wins, so a retry on another port appends again.
        write!(
            f,
            "\n# issuebox test cluster\n\
             listen_addresses = '127.0.0.1'\n\
             port = {}\n\
             unix_socket_directories = '{}'\n\
             fsync = on\n\
             synchronous_commit = on\n\
             full_page_writes = on\n\
             max_connections = 200\n\
             shared_buffers = 32MB\n\
             max_wal_size = 512MB\n\
             logging_collector = off\n",
            self.port,
            self.dir.join("sock").display()
        )
        .expect("writing postgresql.conf");
    }

    fn try_start(&self) -> bool {
        self.server_cmd("pg_ctl")
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn stop(&self, mode: &str) {
        must(
            self.server_cmd("pg_ctl")
                .args(["stop", "-w", "-t", "60", "-m", mode, "-D"])
                .arg(self.data_dir()),
            "pg_ctl stop",
        );
    }

    /// Starts a process that, once this test process has exited, stops the cluster (if it
    /// runs) and removes its directory; it ends by itself when the directory is removed first.
    fn spawn_watcher(&self) -> Child {
        const SCRIPT: &str = r#"
trap '' INT TERM HUP
pid="$1"; dir="$2"; pg_ctl="$3"; user="$4"
while kill -0 "$pid" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
[ -d "$dir" ] || exit 0
if [ -f "$dir/data/postmaster.pid" ]; then
  if [ -n "$user" ]; then
    (cd "$dir" && runuser -u "$user" -- "$pg_ctl" stop -w -m immediate -D "$dir/data") >/dev/null 2>&1
  else
    (cd "$dir" && "$pg_ctl" stop -w -m immediate -D "$dir/data") >/dev/null 2>&1
  fi
fi
rm -rf "$dir"
"#;
        Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("issuebox-pg-watcher")
            .arg(std::process::id().to_string())
            .arg(&self.dir)
            .arg(self.bindir.join("pg_ctl"))
            .arg(self.run_as.clone().unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the cluster's watcher")
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.data_dir().join("postmaster.pid").exists() {
            let _ = self
                .server_cmd("pg_ctl")
                .args(["stop", "-w", "-t", "60", "-m", "fast", "-D"])
                .arg(self.data_dir())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        // Cleaned up already: the watcher has nothing left to do.
        if let Some(mut w) = self.watcher.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

/// The test process's shared cluster, started on first use; `None` when PostgreSQL is not
/// installed, outside CI (panics under `CI=true`). Not for tests that stop it.
pub fn shared() -> Option<&'static PgCluster> {
    static SHARED: OnceLock<Option<PgCluster>> = OnceLock::new();
    SHARED.get_or_init(PgCluster::new).as_ref()
}

/// A new empty database on the shared cluster: its URL. `None` when PostgreSQL is not
/// installed, outside CI (panics under `CI=true`).
pub fn fresh_database() -> Option<String> {
    static DATABASES: AtomicU32 = AtomicU32::new(0);
    let cluster = shared()?;
    let n = DATABASES.fetch_add(1, Ordering::SeqCst);
    Some(cluster.create_database(&format!("test_{n}")))
}
