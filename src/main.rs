//! The `issuebox` command: `serve` (default), `verify`, `copy`, `check-config`.

use clap::{Parser, Subcommand};
use issuebox::config::{Config, Durability};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of glibc malloc: request handling allocates many small short-lived values
/// from several threads, where glibc's arenas spent a sixth of the server's CPU (perf, enrollment
/// load).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "issuebox",
    version,
    about = "Single-binary card-issuing server"
)]
struct Cli {
    /// Configuration file.
    #[arg(long, global = true, default_value = "config.toml")]
    config: PathBuf,
    /// Address to listen on, over `server.bind`.
    #[arg(long, global = true)]
    bind: Option<String>,
    /// Store directory, over `storage.data_dir`.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Check a store offline: every entity has its index entries, every index entry its entity,
    /// every count matches. Exit 0 clean, 1 damaged.
    Verify,
    /// Copy every record of one store into an empty other one (a store is `sled:DIR` or
    /// `postgres:URL`), then verify the copy. Exit 0 when it is clean and holds what the source
    /// holds, 1 otherwise.
    Copy {
        /// The store to copy: `sled:DIR` or `postgres:URL`.
        #[arg(long)]
        from: String,
        /// The empty store to copy into (created if missing): `sled:DIR` or `postgres:URL`.
        #[arg(long)]
        to: String,
        /// Records written per transaction of the target.
        #[arg(long, default_value_t = issuebox::store::copy::BATCH)]
        batch: usize,
    },
    /// Load and validate a configuration. Exit 0 valid, 1 invalid.
    CheckConfig,
}

fn load(cli: &Cli) -> Result<Config, String> {
    let mut c = Config::load(&cli.config).map_err(|e| e.to_string())?;
    if let Some(b) = &cli.bind {
        c.server.bind = b.clone();
    }
    if let Some(d) = &cli.data_dir {
        c.storage.data_dir = d.clone();
    }
    Ok(c)
}

fn verify(cli: &Cli) -> ExitCode {
    let store = match open_for_verify(cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("verify: {e}");
            return ExitCode::from(1);
        }
    };
    match store.verify() {
        Ok(report) => {
            print!("{report}");
            if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("verify: {e}");
            ExitCode::from(1)
        }
    }
}

fn copy(from: &str, to: &str, batch: usize) -> ExitCode {
    match issuebox::store::copy::copy(from, to, batch) {
        Ok(copied) => {
            print!("{copied}");
            if copied.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("copy: {e}");
            ExitCode::from(1)
        }
    }
}

/// The store `verify` walks: the config's (either engine), or the sled store at `--data-dir`.
fn open_for_verify(cli: &Cli) -> Result<issuebox::store::Store, String> {
    let config = match (&cli.data_dir, Config::load(&cli.config)) {
        (Some(_), Err(_)) => None,
        (_, Ok(c)) => Some(c),
        (None, Err(e)) => return Err(format!("{e} (or pass --data-dir)")),
    };
    let postgres = config.as_ref().filter(|c| {
        cli.data_dir.is_none() && c.storage.engine == issuebox::config::Engine::Postgres
    });
    if let Some(c) = postgres {
        return issuebox::store::Store::open_config(&c.storage)
            .map_err(|e| format!("cannot open the database: {e}"));
    }
    let Some(dir) = cli.data_dir.clone().or(config.map(|c| c.storage.data_dir)) else {
        return Err("no store named (pass --config or --data-dir)".into());
    };
    if !dir.exists() {
        return Err(format!("no store at {}", dir.display()));
    }
    issuebox::store::Store::open(&dir, Durability::Os)
        .map_err(|e| format!("cannot open store at {}: {e}", dir.display()))
}

/// `RUST_LOG` (default `info`), with actix-http and tokio-postgres held at info and above: their
/// debug lines quote values, actix-http's the header values it refuses (`illegal
/// Content-Length: "…"`) and tokio-postgres's every statement's parameters (a client-chosen pack
/// ID or alias looked up may hold a card number), and either may hold a card number.
struct CappedLogger(env_logger::Logger);

impl CappedLogger {
    fn allowed(m: &log::Metadata) -> bool {
        let quotes_values =
            m.target().starts_with("actix_http") || m.target().starts_with("tokio_postgres");
        !(quotes_values && m.level() > log::Level::Info)
    }
}

impl log::Log for CappedLogger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        Self::allowed(m) && self.0.enabled(m)
    }
    fn log(&self, r: &log::Record) {
        if Self::allowed(r.metadata()) {
            self.0.log(r);
        }
    }
    fn flush(&self) {
        self.0.flush();
    }
}

fn init_logging() {
    let logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).build();
    let max = logger.filter();
    if log::set_boxed_logger(Box::new(CappedLogger(logger))).is_ok() {
        log::set_max_level(max);
    }
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Verify) => verify(&cli),
        Some(Command::Copy { from, to, batch }) => copy(from, to, *batch),
        Some(Command::CheckConfig) => match load(&cli) {
            Ok(c) => {
                println!(
                    "config ok: {} program(s), {} client(s)",
                    c.programs.len(),
                    c.clients.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("config invalid: {e}");
                ExitCode::from(1)
            }
        },
        None | Some(Command::Serve) => {
            let config = match load(&cli) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("config invalid: {e}");
                    return ExitCode::from(1);
                }
            };
            let sys = actix_web::rt::System::new();
            match sys.block_on(issuebox::server::serve(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("issuebox: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
