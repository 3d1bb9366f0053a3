//! `culprit worker`: pulls bisections from the service's queue in
//! PostgreSQL and runs them here, with the journal and the log in the
//! database; lends a hand to other workers' bisections when idle. SIGTERM
//! (or Ctrl-C) lets the build or run in progress end, records it, puts the
//! job back in the queue and exits; a second one stops at once.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use culprit_service::worker::{self, WorkerConfig};
use culprit_service::{logging, secrets, shutdown};

/// Arguments of `culprit worker`.
#[derive(clap::Args)]
pub struct Args {
    /// The service's database (postgres://user:password@host:port/db;
    /// default: $CULPRIT_DB, which keeps the password off the command
    /// line, where every local user can read it).
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// This worker's name (default: HOST-PID).
    #[arg(long, value_name = "NAME")]
    id: Option<String>,
    /// Where checkouts, builds and run logs go, a directory per job,
    /// removed when the job ends (default: a directory per worker under
    /// $XDG_CACHE_HOME/culprit or ~/.cache/culprit).
    #[arg(long, value_name = "DIR")]
    workdir: Option<PathBuf>,
    /// Seconds a job stays this worker's without a heartbeat; another
    /// worker resumes it after that.
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = seconds)]
    lease: f64,
    /// Evaluations one bisection may have at once, on idle workers (1:
    /// this worker only).
    #[arg(long, value_name = "N", default_value_t = 8)]
    spread: usize,
    /// ccache's remote storage shared by all workers (redis://HOST:PORT);
    /// sets CCACHE_REMOTE_STORAGE and a content-based compiler check.
    #[arg(long, value_name = "URL")]
    ccache_remote: Option<String>,
    /// Keep kernel jobs' built kernels here, shared by every worker given
    /// the same directory (a shared file system across hosts; give the
    /// workers the same --workdir path too).
    #[arg(long, value_name = "DIR")]
    kernel_store: Option<PathBuf>,
    /// Log a build that takes longer than this many seconds as slow.
    #[arg(long, value_name = "SECS", default_value_t = 1800.0, value_parser = seconds)]
    slow_build: f64,
    /// Stop after this many jobs.
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Log JSON objects, one per line, instead of text.
    #[arg(long)]
    log_json: bool,
}

/// Runs `culprit worker`; returns the exit code.
pub fn run(args: Args) -> i32 {
    // First, before any thread: no command culprit starts may see these.
    let secrets = secrets::take();
    if let Some(remote) = &args.ccache_remote {
        // Every build's ccache inherits these. Hits across hosts need the
        // compiler to be compared by content (not by path and mtime); the
        // kernel executor's wrapper already makes paths relative
        // (CCACHE_BASEDIR, CCACHE_NOHASHDIR).
        std::env::set_var("CCACHE_REMOTE_STORAGE", remote);
        std::env::set_var("CCACHE_COMPILERCHECK", "content");
    }
    logging::init(args.log_json);
    let stop = Arc::new(AtomicBool::new(false));
    if let Err(e) = shutdown::on_signals(stop.clone(), "culprit worker") {
        eprintln!("culprit worker: cannot handle signals: {e}");
        return 3;
    }
    let Some(db_url) = args.db.or(secrets.db) else {
        eprintln!("culprit worker: give the database with --db URL (or CULPRIT_DB)");
        return 2;
    };
    let id = args
        .id
        .unwrap_or_else(|| format!("{}-{}", worker::hostname(), std::process::id()));
    let Some(workdir) = args.workdir.or_else(|| default_workdir(&id)) else {
        eprintln!("culprit worker: no cache directory (set HOME or use --workdir)");
        return 2;
    };
    let mut config = WorkerConfig::new(&db_url, &id, workdir);
    config.lease = Duration::from_secs_f64(args.lease);
    config.spread = args.spread.max(1);
    config.patience = Duration::from_secs_f64((args.lease * 4.0).max(60.0));
    config.max_jobs = args.jobs;
    config.kernel_store = args.kernel_store;
    config.slow_build = Duration::from_secs_f64(args.slow_build);
    match worker::run(config, stop) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("culprit worker: {e}");
            3
        }
    }
}

/// `--lease`, `--slow-build`: from a tenth of a second to a day.
fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if (0.1..=86400.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "{text:?} is not a number of seconds from 0.1 to 86400"
        )),
    }
}

fn default_workdir(id: &str) -> Option<PathBuf> {
    Some(culprit_build::cache_dir()?.join(format!("worker-{id}")))
}
