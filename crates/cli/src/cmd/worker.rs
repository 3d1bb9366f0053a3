//! `culprit worker`: pulls bisections from the service's queue in
//! PostgreSQL and runs them here, with the journal and the log in the
//! database; lends a hand to other workers' bisections when idle.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use culprit_service::worker::{self, WorkerConfig};

/// Arguments of `culprit worker`.
#[derive(clap::Args)]
pub struct Args {
    /// The service's database (postgres://user@host:port/db; default:
    /// $CULPRIT_DB).
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// This worker's name (default: HOST-PID).
    #[arg(long, value_name = "NAME")]
    id: Option<String>,
    /// Where checkouts, builds and run logs go (default: a directory per
    /// worker under $XDG_CACHE_HOME/culprit or ~/.cache/culprit).
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
    /// Stop after this many jobs.
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
}

/// Runs `culprit worker`; returns the exit code.
pub fn run(args: Args) -> i32 {
    if let Some(remote) = &args.ccache_remote {
        // Before any thread starts: every build's ccache inherits these.
        // Hits across hosts need the compiler to be compared by content
        // (not by path and mtime); the kernel executor's wrapper already
        // makes paths relative (CCACHE_BASEDIR, CCACHE_NOHASHDIR).
        std::env::set_var("CCACHE_REMOTE_STORAGE", remote);
        std::env::set_var("CCACHE_COMPILERCHECK", "content");
    }
    let Some(db_url) = args.db.or_else(|| std::env::var("CULPRIT_DB").ok()) else {
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
    let config = WorkerConfig {
        db_url,
        id,
        workdir,
        lease: Duration::from_secs_f64(args.lease),
        poll: Duration::from_millis(200),
        spread: args.spread.max(1),
        patience: Duration::from_secs_f64((args.lease * 4.0).max(60.0)),
        max_jobs: args.jobs,
        kernel_store: args.kernel_store,
    };
    eprintln!(
        "culprit worker {}: work directory {}",
        config.id,
        config.workdir.display()
    );
    match worker::run(config, Arc::new(AtomicBool::new(false))) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("culprit worker: {e}");
            3
        }
    }
}

/// `--lease`: from a tenth of a second to a day.
fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if (0.1..=86400.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "{text:?} is not a number of seconds from 0.1 to 86400"
        )),
    }
}

fn default_workdir(id: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(cache.join("culprit").join(format!("worker-{id}")))
}
