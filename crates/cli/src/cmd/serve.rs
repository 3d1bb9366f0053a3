//! `culprit serve`: the bisection service's HTTP API and dashboard, over
//! the queue in PostgreSQL. With `--local DIR`, one command runs the whole
//! service on this machine: a locked-down PostgreSQL (Debian's) in DIR,
//! workers, and the dashboard; stopped (SIGTERM, SIGINT), the workers
//! finish what they were doing and PostgreSQL shuts down cleanly.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use culprit_service::api::{self, ServeConfig};
use culprit_service::local::{self, LocalPostgres};
use culprit_service::worker::{self, WorkerConfig};
use culprit_service::{logging, secrets, shutdown};

/// Arguments of `culprit serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The service's database (postgres://user:password@host:port/db;
    /// default: $CULPRIT_DB, which keeps the password off the command
    /// line). Not with --local.
    #[arg(long, value_name = "URL", conflicts_with = "local")]
    db: Option<String>,
    /// Run everything here: PostgreSQL with its data in DIR/postgres
    /// (only culprit's role may connect, with the password in
    /// DIR/postgres/password), --workers workers with their work in
    /// DIR/workers, the token in DIR/token.
    #[arg(long, value_name = "DIR")]
    local: Option<PathBuf>,
    /// Workers to run with --local.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "local")]
    workers: usize,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// File holding the API token that submitting and cancelling need
    /// (default: $CULPRIT_TOKEN; with --local, DIR/token, made once; else
    /// a new one, printed).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Reading (pages, results, logs, metrics) needs the token too.
    #[arg(long)]
    private: bool,
    /// Where relative paths in submitted jobs start (default: the current
    /// directory).
    #[arg(long, value_name = "DIR")]
    base: Option<PathBuf>,
    /// The URL the dashboard is reached at, for the links in mails.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Who the mails' Reported-by: line names.
    #[arg(
        long,
        value_name = "WHO",
        default_value = "culprit <culprit@localhost>"
    )]
    reported_by: String,
    /// Delete finished jobs this many days after they end (0: keep them).
    #[arg(long, value_name = "DAYS", default_value_t = 30.0, value_parser = days)]
    keep_days: f64,
    /// Connections one client address may hold at once.
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_per_client: usize,
    /// Log JSON objects, one per line, instead of text.
    #[arg(long)]
    log_json: bool,
}

/// Runs `culprit serve`; returns the exit code.
pub fn run(args: Args) -> i32 {
    // First, before any thread: no command culprit starts may see these.
    let secrets = secrets::take();
    logging::init(args.log_json);
    let stop = Arc::new(AtomicBool::new(false));
    if let Err(e) = shutdown::on_signals(stop.clone(), "culprit serve") {
        eprintln!("culprit serve: cannot handle signals: {e}");
        return 3;
    }
    // One `serve --local` per DIR: a second would share the first one's
    // PostgreSQL, then stop it.
    let _lock = match args.local.as_deref().map(local::DirLock::take).transpose() {
        Ok(lock) => lock,
        Err(e) => {
            eprintln!("culprit serve: {e}");
            return 3;
        }
    };
    let token = match token(&args, secrets.token) {
        Ok(token) => token,
        Err(e) => {
            eprintln!("culprit serve: {e}");
            return 2;
        }
    };
    // Kept alive while serving: dropping it stops PostgreSQL.
    let mut postgres = None;
    let (db_url, shown_url) = match (&args.local, args.db.clone().or(secrets.db)) {
        (Some(dir), _) => match LocalPostgres::start(&dir.join("postgres")) {
            Ok(pg) => {
                let urls = (
                    pg.url(),
                    format!(
                        "{} (password in {})",
                        pg.shown_url(),
                        pg.password_file().display()
                    ),
                );
                postgres = Some(pg);
                urls
            }
            Err(e) => {
                eprintln!("culprit serve: cannot start PostgreSQL: {e}");
                return 3;
            }
        },
        (None, Some(url)) => (url.clone(), culprit_service::db::without_password(&url)),
        (None, None) => {
            eprintln!(
                "culprit serve: give the database with --db URL (or CULPRIT_DB), or --local DIR"
            );
            return 2;
        }
    };
    let base = args
        .base
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("/"));
    let mut config = ServeConfig::new(&db_url, &token.value, base);
    config.listen = args.listen.clone();
    config.private = args.private;
    config.public_url = args.public_url.clone();
    config.reported_by = args.reported_by.clone();
    config.keep = (args.keep_days > 0.0).then(|| Duration::from_secs_f64(args.keep_days * 86400.0));
    config.limits.per_client = args.max_per_client.max(1);
    let bound = match api::bind(config) {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("culprit serve: {e}");
            return 3;
        }
    };
    let workers = match &args.local {
        Some(dir) => start_local_workers(dir, &db_url, args.workers, &stop),
        None => Vec::new(),
    };
    if let Some(addr) = bound.addr() {
        println!("dashboard: http://{addr}/");
    }
    println!("database: {shown_url}");
    println!("API token: {}", token.shown);
    bound.serve(stop);
    // Stopped: the workers finish their build or run and put their jobs
    // back; then PostgreSQL shuts down.
    for worker in workers {
        let _ = worker.join();
    }
    drop(postgres);
    0
}

/// Workers in this process, for `--local`.
fn start_local_workers(
    dir: &Path,
    db_url: &str,
    count: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..count)
        .map(|i| {
            let id = format!("{}-local-{i}", worker::hostname());
            let config = WorkerConfig::new(db_url, &id, dir.join("workers").join(i.to_string()));
            let stop = stop.clone();
            std::thread::spawn(move || {
                if let Err(e) = worker::run(config, stop) {
                    eprintln!("culprit serve: worker {i}: {e}");
                }
            })
        })
        .collect()
}

/// The API token, and how to show it.
struct Token {
    value: String,
    shown: String,
}

/// The API token: from the file, the environment, DIR/token with
/// `--local` (made the first time), or made now.
fn token(args: &Args, from_env: Option<String>) -> Result<Token, String> {
    if let Some(file) = &args.token_file {
        let value = read_token(file)?;
        let shown = format!("in {}", file.display());
        return Ok(Token { value, shown });
    }
    if let Some(token) = from_env {
        if token.trim().len() < 8 {
            return Err("CULPRIT_TOKEN is shorter than 8 characters".into());
        }
        let value = token.trim().to_owned();
        return Ok(Token {
            value,
            shown: "from $CULPRIT_TOKEN".into(),
        });
    }
    let made = || local::random_secret().map_err(|e| format!("cannot make a token: {e}"));
    let Some(dir) = &args.local else {
        let value = made()?;
        return Ok(Token {
            shown: value.clone(),
            value,
        });
    };
    let file = dir.join("token");
    if file.is_file() {
        let value = read_token(&file)?;
        return Ok(Token {
            value,
            shown: format!("in {}", file.display()),
        });
    }
    let value = made()?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    local::write_private(&file, &format!("{value}\n"))
        .map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(Token {
        shown: format!("{value} (kept in {})", file.display()),
        value,
    })
}

fn read_token(file: &Path) -> Result<String, String> {
    let text =
        std::fs::read_to_string(file).map_err(|e| format!("token file {}: {e}", file.display()))?;
    let token = text.trim().to_owned();
    if token.len() < 8 {
        return Err(format!(
            "token file {}: the token is shorter than 8 characters",
            file.display()
        ));
    }
    Ok(token)
}

/// `--days`: a number of days, 0 or more.
fn days(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(d) if d >= 0.0 && d.is_finite() => Ok(d),
        _ => Err(format!("{text:?} is not a number of days (0 or more)")),
    }
}
