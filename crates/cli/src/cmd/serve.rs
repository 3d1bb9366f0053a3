//! `culprit serve`: the bisection service's HTTP API and dashboard, over
//! the queue in PostgreSQL. With `--local DIR`, one command runs the whole
//! service on this machine: PostgreSQL (Debian's) in DIR, workers, and the
//! dashboard.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use culprit_service::api::{self, ServeConfig};
use culprit_service::local::LocalPostgres;
use culprit_service::worker::{self, WorkerConfig};

/// Arguments of `culprit serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The service's database (postgres://user@host:port/db; default:
    /// $CULPRIT_DB). Not with --local.
    #[arg(long, value_name = "URL", conflicts_with = "local")]
    db: Option<String>,
    /// Run everything here: PostgreSQL with its data in DIR/postgres, and
    /// --workers workers with their work in DIR/workers.
    #[arg(long, value_name = "DIR")]
    local: Option<PathBuf>,
    /// Workers to run with --local.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "local")]
    workers: usize,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// File holding the API token that submitting and cancelling need
    /// (default: $CULPRIT_TOKEN, else a new one, printed).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Reading (pages, results, logs) needs the token too.
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
}

/// Runs `culprit serve`; returns the exit code.
pub fn run(args: Args) -> i32 {
    let token = match token(&args) {
        Ok(token) => token,
        Err(e) => {
            eprintln!("culprit serve: {e}");
            return 2;
        }
    };
    // Kept alive while serving: dropping it stops PostgreSQL.
    let mut _postgres = None;
    let db_url = match (
        &args.local,
        args.db.clone().or_else(|| std::env::var("CULPRIT_DB").ok()),
    ) {
        (Some(dir), _) => match LocalPostgres::start(&dir.join("postgres")) {
            Ok(pg) => {
                let url = pg.url();
                _postgres = Some(pg);
                url
            }
            Err(e) => {
                eprintln!("culprit serve: cannot start PostgreSQL: {e}");
                return 3;
            }
        },
        (None, Some(url)) => url,
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
    let config = ServeConfig {
        db_url: db_url.clone(),
        listen: args.listen.clone(),
        token: token.clone(),
        private: args.private,
        base,
        public_url: args.public_url.clone(),
        reported_by: args.reported_by.clone(),
    };
    let bound = match api::bind(config) {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("culprit serve: {e}");
            return 3;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    if let Some(dir) = &args.local {
        start_local_workers(dir, &db_url, args.workers, &stop);
    }
    if let Some(addr) = bound.addr() {
        println!("dashboard: http://{addr}/");
    }
    println!("database: {db_url}");
    if std::env::var("CULPRIT_TOKEN").is_err() && args.token_file.is_none() {
        println!("API token: {token}");
    }
    bound.serve(stop);
    0
}

/// Workers in this process, for `--local`.
fn start_local_workers(dir: &std::path::Path, db_url: &str, count: usize, stop: &Arc<AtomicBool>) {
    for i in 0..count {
        let config = WorkerConfig {
            db_url: db_url.to_owned(),
            id: format!("{}-local-{i}", worker::hostname()),
            workdir: dir.join("workers").join(i.to_string()),
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(200),
            spread: 8,
            patience: Duration::from_secs(120),
            max_jobs: None,
            kernel_store: None,
        };
        let stop = stop.clone();
        std::thread::spawn(move || {
            if let Err(e) = worker::run(config, stop) {
                eprintln!("culprit serve: worker {i}: {e}");
            }
        });
    }
}

/// The API token: from the file, the environment, or made now.
fn token(args: &Args) -> Result<String, String> {
    if let Some(file) = &args.token_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("--token-file {}: {e}", file.display()))?;
        let token = text.trim().to_owned();
        if token.len() < 8 {
            return Err(format!(
                "--token-file {}: the token is shorter than 8 characters",
                file.display()
            ));
        }
        return Ok(token);
    }
    if let Ok(token) = std::env::var("CULPRIT_TOKEN") {
        if token.trim().len() < 8 {
            return Err("CULPRIT_TOKEN is shorter than 8 characters".into());
        }
        return Ok(token.trim().to_owned());
    }
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(|e| format!("cannot make a token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
