//! A worker: pulls whole jobs from the queue and runs them with the
//! existing executors, the journal and the log in the database; between
//! jobs (and while it has none), it takes evaluation tasks that other
//! workers' bisections hand out. A heartbeat thread renews the lease of
//! the job it owns and says what it is doing.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use culprit_bisect::journal::Journal;
use culprit_bisect::setup::EXIT_BAD_INPUT;
use culprit_exec::run::RunPlace;

use crate::db::{Db, DbError};
use crate::joblog::{JobLog, Step};
use crate::queue::{self, Claim};
use crate::spread::{self, Spread};
use crate::store::{PgJournalStore, Stops};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The database.
    pub db_url: String,
    /// The worker's name (unique among workers).
    pub id: String,
    /// Where its checkouts, builds and run logs go (one directory per job).
    pub workdir: PathBuf,
    /// How long a job stays this worker's without a heartbeat.
    pub lease: Duration,
    /// How long to wait between looks at an empty queue.
    pub poll: Duration,
    /// How many evaluations one of its bisections may hand out at once
    /// (to idle workers); 1: none.
    pub spread: usize,
    /// How long to keep trying to reach the database before giving up a
    /// job (it goes back to the queue).
    pub patience: Duration,
    /// Stop after this many jobs (tests, benchmarks); `None`: never.
    pub max_jobs: Option<usize>,
    /// Where kernel jobs keep their built kernels, shared by the workers
    /// (see [`link_kernel_store`]); `None`: in each worker's work directory.
    pub kernel_store: Option<PathBuf>,
}

/// Why a worker stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The database could not be used.
    #[error("{0}")]
    Db(#[from] DbError),
    /// The work directory cannot be made.
    #[error("work directory {}: {source}", path.display())]
    Workdir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What the heartbeat reports and watches, shared with the job's threads.
#[derive(Default)]
pub(crate) struct Status {
    /// The job owned, with its token and what stops it.
    pub job: Option<(i64, i64, Arc<Stops>)>,
    /// The task run for another worker's job.
    pub task: Option<i64>,
}

/// A running worker's shared state.
pub(crate) struct Shared {
    pub config: WorkerConfig,
    pub status: Mutex<Status>,
    pub step: Step,
    pub stop: Arc<AtomicBool>,
}

impl Shared {
    pub(crate) fn set_step(&self, step: impl Into<String>) {
        if let Ok(mut s) = self.step.lock() {
            *s = step.into();
        }
    }
}

/// Runs a worker until `stop` is set (or `max_jobs` jobs are done).
pub fn run(config: WorkerConfig, stop: Arc<AtomicBool>) -> Result<(), WorkerError> {
    std::fs::create_dir_all(&config.workdir).map_err(|source| WorkerError::Workdir {
        path: config.workdir.clone(),
        source,
    })?;
    let mut db = Db::connect(&config.db_url, config.patience)?;
    db.migrate()?;
    queue::register_worker(&mut db, &config.id, &hostname(), std::process::id() as i32)?;
    let shared = Arc::new(Shared {
        config,
        status: Mutex::new(Status::default()),
        step: Arc::new(Mutex::new("idle".into())),
        stop,
    });
    let beat = {
        let shared = shared.clone();
        let db = db.another()?;
        std::thread::spawn(move || heartbeat(db, &shared))
    };
    let result = work(&mut db, &shared);
    shared.stop.store(true, Ordering::SeqCst);
    let _ = beat.join();
    let _ = queue::worker_stopped(&mut db, &shared.config.id);
    result
}

fn work(db: &mut Db, shared: &Arc<Shared>) -> Result<(), WorkerError> {
    let mut jobs_done = 0;
    let mut helper = spread::Helper::default();
    while !shared.stop.load(Ordering::SeqCst) {
        if shared.config.max_jobs.is_some_and(|max| jobs_done >= max) {
            break;
        }
        match next(db, shared, &mut helper) {
            Ok(Some(Did::Job)) => jobs_done += 1,
            Ok(Some(Did::Task)) => {}
            Ok(None) => std::thread::sleep(shared.config.poll),
            // The database is away longer than the patience: whatever
            // this worker held goes to another once its lease passes.
            Err(e) => {
                eprintln!("culprit worker {}: {e}; trying again", shared.config.id);
                std::thread::sleep(shared.config.poll * 10);
            }
        }
    }
    Ok(())
}

/// What one look at the queue led to.
enum Did {
    Job,
    Task,
}

/// Does one task of another worker's bisection, or else one job.
fn next(
    db: &mut Db,
    shared: &Arc<Shared>,
    helper: &mut spread::Helper,
) -> Result<Option<Did>, WorkerError> {
    // Tasks first: they belong to bisections already running.
    if helper.help(db, shared)? {
        return Ok(Some(Did::Task));
    }
    match queue::claim_job(db, &shared.config.id, shared.config.lease)? {
        Some(claim) => {
            run_job(db, shared, claim)?;
            Ok(Some(Did::Job))
        }
        None => Ok(None),
    }
}

/// Runs one claimed job to its end (or until it is no longer ours), then
/// records the result with the claim's token.
fn run_job(db: &mut Db, shared: &Arc<Shared>, claim: Claim) -> Result<(), WorkerError> {
    let Claim {
        id, token, spec, ..
    } = claim;
    let stops = Arc::new(Stops::default());
    // Without a connection for the log the job is not started: its lease
    // passes and it goes to another worker (or to this one, later).
    let log_db = db.another()?;
    if let Ok(mut status) = shared.status.lock() {
        status.job = Some((id, token, stops.clone()));
    }
    shared.set_step(format!("job {id}: starting"));
    let (log, log_thread) = JobLog::start(log_db, id, token, shared.step.clone());
    let workdir = shared.config.workdir.join("jobs").join(id.to_string());
    if spec.kind() == "kernel" {
        if let Err(e) = link_kernel_store(&shared.config, id) {
            eprintln!("culprit worker: job {id}: kernel store not shared: {e}");
        }
    }
    let outcome = bisect(db, shared, &spec, id, token, &workdir, &stops, log);
    log_thread.finish();
    if let Ok(mut status) = shared.status.lock() {
        status.job = None;
    }
    shared.set_step("idle");
    record(db, id, token, &stops, outcome)
}

/// Runs the bisection of a job through the one run path; `None` when it
/// stopped without a result of its own (see [`Stops`]).
#[allow(clippy::too_many_arguments)]
fn bisect(
    db: &mut Db,
    shared: &Arc<Shared>,
    spec: &crate::spec::JobSpec,
    id: i64,
    token: i64,
    workdir: &std::path::Path,
    stops: &Arc<Stops>,
    log: JobLog,
) -> Option<(serde_json::Value, i32)> {
    let settings = match spec.settings_at(workdir) {
        Ok(settings) => settings,
        Err(e) => return Some(failed(&format!("{e}"))),
    };
    let store_db = match db.another() {
        Ok(d) => d,
        Err(_) => {
            stops.unreachable.store(true, Ordering::SeqCst);
            return None;
        }
    };
    let store = PgJournalStore::new(store_db, id, token, stops.clone());
    let helpers = match shared.config.spread {
        0 | 1 => 0,
        n => queue::idle_workers(db, &shared.config.id, shared.config.lease)
            .map_or(0, |idle| (idle as usize).min(n - 1)),
    };
    let spread_db = db.another().ok();
    let runs = settings.strategy.runs;
    let wrap =
        move |setup: &culprit_bisect::Setup, local| -> Box<dyn culprit_bisect::Executor + Send> {
            let mut exec = Spread::new(local, spread_db, shared.clone(), id, token, helpers);
            // The good end is checked after the bad end: an idle worker can
            // make it meanwhile, with the runs the engine asks of an end.
            let good_end = match setup.bisection.direction {
                culprit_bisect::Direction::Cause => setup.bisection.good.first().cloned(),
                culprit_bisect::Direction::Fix => None,
            };
            if let Some(good) = good_end.filter(|g| setup.journal.build(g).is_none()) {
                exec.prefetch(&good, runs);
            }
            Box::new(exec)
        };
    let log_for = log.clone();
    let place = RunPlace {
        log: Box::new(move || Box::new(log_for.clone())),
        errors: Box::new(log),
        journal: Some(Box::new(|_, params| {
            Journal::with_store(Box::new(store), params)
        })),
        wrap: Some(Box::new(wrap)),
    };
    let ran = culprit_exec::run::bisect(&settings, place);
    if stops.any() {
        return None;
    }
    Some((outcome_json(&ran.outcome), ran.code))
}

fn failed(message: &str) -> (serde_json::Value, i32) {
    let outcome = culprit_bisect::Outcome::failed(
        culprit_bisect::Direction::Cause,
        "",
        "",
        message.to_owned(),
    );
    (outcome_json(&outcome), EXIT_BAD_INPUT)
}

fn outcome_json(outcome: &culprit_bisect::Outcome) -> serde_json::Value {
    serde_json::to_value(outcome).unwrap_or_default()
}

/// Records how the job ended: its result, its cancellation, or (the
/// database was gone too long) puts it back in the queue. A job that is no
/// longer ours is left to its new owner.
fn record(
    db: &mut Db,
    id: i64,
    token: i64,
    stops: &Stops,
    outcome: Option<(serde_json::Value, i32)>,
) -> Result<(), WorkerError> {
    if stops.lost.load(Ordering::SeqCst) {
        eprintln!(
            "culprit worker: job {id} was taken over by another worker; its result is theirs"
        );
        return Ok(());
    }
    if stops.cancel.load(Ordering::SeqCst) {
        queue::finish(db, id, token, "cancelled", None, None)?;
        return Ok(());
    }
    match outcome {
        Some((result, code)) => {
            if !queue::finish(db, id, token, "done", Some(&result), Some(code))? {
                eprintln!("culprit worker: job {id} was taken over before its result was recorded");
            }
        }
        None => queue::release(db, id, token)?,
    }
    Ok(())
}

/// Renews the lease of the job owned, watches for cancels, and says what
/// the worker does, a few times per lease.
fn heartbeat(mut db: Db, shared: &Shared) {
    let every = shared.config.lease / 4;
    let mut next = std::time::Instant::now();
    while !shared.stop.load(Ordering::SeqCst) {
        if std::time::Instant::now() >= next {
            next = std::time::Instant::now() + every;
            beat_once(&mut db, shared);
        }
        std::thread::sleep(Duration::from_millis(50).min(every));
    }
}

fn beat_once(db: &mut Db, shared: &Shared) {
    let (job, task) = match shared.status.lock() {
        Ok(s) => (s.job.clone(), s.task),
        Err(_) => return,
    };
    let step = shared.step.lock().map(|s| s.clone()).unwrap_or_default();
    let _ = queue::beat(
        db,
        &shared.config.id,
        job.as_ref().map(|j| j.0),
        task,
        &step,
    );
    if let Some((id, token, stops)) = job {
        // The database away: the journal's appends wait for it.
        if let Ok(renewal) = queue::renew(db, id, token, shared.config.lease) {
            if !renewal.ours {
                stops.lost.store(true, Ordering::SeqCst);
            }
            if renewal.cancel {
                stops.cancel.store(true, Ordering::SeqCst);
            }
        }
    }
    if let Some(task) = task {
        let _ = spread::renew_task(db, task, &shared.config.id, shared.config.lease);
    }
}

/// Puts a kernel job's built kernels in the shared kernel store: the
/// job's `builds` directory (the executor's cache of built kernels, keyed
/// by tree and recipe) is `STORE/jobs/ID` for every worker, as owner and as
/// helper. A cache entry names its files by the path of the worker that
/// wrote it: workers on other hosts find them when their work directories
/// have the same path (and STORE is on a file system they share).
pub fn link_kernel_store(config: &WorkerConfig, job: i64) -> std::io::Result<()> {
    let Some(store) = &config.kernel_store else {
        return Ok(());
    };
    let shared = store.join("jobs").join(job.to_string());
    std::fs::create_dir_all(&shared)?;
    for place in ["jobs", "help"] {
        let dir = config.workdir.join(place).join(job.to_string());
        std::fs::create_dir_all(&dir)?;
        let link = dir.join("builds");
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(&shared, &link)?;
        }
    }
    Ok(())
}

/// This host's name, for the dashboard.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
