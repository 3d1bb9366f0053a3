//! A worker: pulls whole jobs from the queue and runs them with the
//! existing executors, the journal and the log in the database; between
//! jobs (and while it has none), it takes evaluation tasks that other
//! workers' bisections hand out. A heartbeat thread renews the lease of
//! the job it owns and says what it is doing. Asked to stop, it finishes
//! the build or run in progress, records it, puts its job back in the
//! queue and exits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use culprit_bisect::journal::Journal;
use culprit_bisect::setup::EXIT_BAD_INPUT;
use culprit_exec::run::RunPlace;

use crate::db::{Db, DbError};
use crate::joblog::JobLog;
use crate::lease::{self, Claim};
use crate::queue;
pub use crate::shared::WorkerConfig;
use crate::shared::{Shared, Status};
use crate::spread::{self, Spread};
use crate::store::{PgJournalStore, Stops};
use crate::workdir;

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
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// How often an idle worker removes what finished jobs left and measures
/// its disk.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Runs a worker until `stop` is set (or `max_jobs` jobs are done). Once
/// `stop` is set, the build or run in progress ends and is recorded, the
/// job goes back to the queue, and the worker returns.
pub fn run(config: WorkerConfig, stop: Arc<AtomicBool>) -> Result<(), WorkerError> {
    std::fs::create_dir_all(&config.workdir).map_err(|source| WorkerError::Workdir {
        path: config.workdir.clone(),
        source,
    })?;
    let mut db = Db::connect(&config.db_url, config.patience)?;
    db.migrate()?;
    let pid = std::process::id() as i32;
    queue::register_worker(&mut db, &config.id, &hostname(), pid, config.lease)?;
    tracing::info!(
        worker = %config.id,
        workdir = %config.workdir.display(),
        lease_secs = config.lease.as_secs_f64(),
        "worker started"
    );
    let shared = Arc::new(Shared {
        config,
        status: Mutex::new(Status::default()),
        step: Arc::new(Mutex::new("idle".into())),
        stop,
    });
    let ended = Arc::new(AtomicBool::new(false));
    let beat = {
        let (shared, ended) = (shared.clone(), ended.clone());
        let db = db.another()?;
        std::thread::spawn(move || heartbeat(db, &shared, &ended))
    };
    let result = work(&mut db, &shared);
    ended.store(true, Ordering::SeqCst);
    let _ = beat.join();
    let _ = queue::worker_stopped(&mut db, &shared.config.id);
    tracing::info!(worker = %shared.config.id, "worker stopped");
    result
}

fn work(db: &mut Db, shared: &Arc<Shared>) -> Result<(), WorkerError> {
    let mut jobs_done = 0;
    let mut helper = spread::Helper::default();
    let mut last_sweep = None;
    while !shared.stopping() {
        if shared.config.max_jobs.is_some_and(|max| jobs_done >= max) {
            break;
        }
        if last_sweep.is_none_or(|at: Instant| at.elapsed() >= SWEEP_EVERY) {
            sweep(db, shared, &mut helper);
            last_sweep = Some(Instant::now());
        }
        match next(db, shared, &mut helper) {
            Ok(Some(Did::Job)) => {
                jobs_done += 1;
                last_sweep = None;
            }
            Ok(Some(Did::Task)) => {}
            Ok(None) => pause(shared, shared.config.poll),
            // The database is away longer than the patience: whatever
            // this worker held goes to another once its lease passes.
            Err(e) => {
                tracing::warn!(worker = %shared.config.id, error = %e, "trying again");
                pause(shared, shared.config.poll * 10);
            }
        }
    }
    Ok(())
}

/// Sleeps `how_long`, or less when the worker is asked to stop.
fn pause(shared: &Shared, how_long: Duration) {
    let until = Instant::now() + how_long;
    while !shared.stopping() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20).min(how_long));
    }
}

/// Removes the directories of jobs that ended (dropping the helper's
/// executors for them) and measures the disk the worker uses.
fn sweep(db: &mut Db, shared: &Shared, helper: &mut spread::Helper) {
    match workdir::sweep(&shared.config, db) {
        Ok(kept) => helper.keep_only(&kept),
        Err(e) => tracing::warn!(error = %e, "cannot look for finished jobs' directories"),
    }
    let bytes = workdir::disk_usage(&shared.config.workdir);
    if let Ok(mut status) = shared.status.lock() {
        status.disk_bytes = Some(bytes as i64);
    }
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
    if shared.stopping() {
        return Ok(None);
    }
    match lease::claim_job(db, &shared.config.id, shared.config.lease)? {
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
    let started = Instant::now();
    let stops = Arc::new(Stops::default());
    // Without a connection for the log the job is not started: its lease
    // passes and it goes to another worker (or to this one, later).
    let log_db = db.another()?;
    if let Ok(mut status) = shared.status.lock() {
        status.job = Some((id, token, stops.clone()));
    }
    shared.set_step(format!("job {id}: starting"));
    let (log, log_thread) = JobLog::start(log_db, id, token, shared.step.clone());
    let workdir = workdir::job_dir(&shared.config, id);
    if spec.kind() == "kernel" {
        if let Err(e) = workdir::link_kernel_store(&shared.config, id) {
            tracing::warn!(job = id, error = %e, "kernel store not shared");
        }
    }
    let outcome = bisect(db, shared, &spec, id, token, &workdir, &stops, log);
    log_thread.finish();
    if let Ok(mut status) = shared.status.lock() {
        status.job = None;
    }
    shared.set_step("idle");
    let ended = record(db, id, token, &stops, outcome, started);
    // A job that ended, or went to another worker, needs nothing here.
    if !matches!(ended, Ok(Ended::Released)) {
        workdir::remove_job(&shared.config, id);
    }
    ended.map(|_| ())
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
    // Earlier bisections of the same reproducer tell its rate.
    let rate_prior = queue::rate_prior(db, id).ok().flatten();
    if let Some(prior) = rate_prior {
        let mut say = log.clone();
        let _ = std::io::Write::write_all(
            &mut say,
            format!(
                "rate learned from earlier bisections of this reproducer: {} crashes in {} runs\n",
                prior.crashes, prior.runs
            )
            .as_bytes(),
        );
    }
    let log_for = log.clone();
    let place = RunPlace {
        log: Box::new(move || Box::new(log_for.clone())),
        errors: Box::new(log),
        journal: Some(Box::new(|_, params| {
            Journal::with_store(Box::new(store), params)
        })),
        wrap: Some(Box::new(wrap)),
        rate_prior,
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

/// How a job left this worker.
enum Ended {
    /// Finished or cancelled, recorded.
    Recorded,
    /// Back in the queue (the worker stops, or the database was away).
    Released,
    /// Another worker holds it.
    Lost,
}

/// Records how the job ended: its result, its cancellation, or (the
/// worker stops, or the database was gone too long) puts it back in the
/// queue. A job that is no longer ours is left to its new owner.
fn record(
    db: &mut Db,
    id: i64,
    token: i64,
    stops: &Stops,
    outcome: Option<(serde_json::Value, i32)>,
    started: Instant,
) -> Result<Ended, WorkerError> {
    let secs = started.elapsed().as_secs_f64();
    if stops.lost.load(Ordering::SeqCst) {
        tracing::warn!(
            job = id,
            secs,
            "job taken over by another worker; its result is theirs"
        );
        return Ok(Ended::Lost);
    }
    if stops.cancel.load(Ordering::SeqCst) {
        lease::finish(db, id, token, "cancelled", None, None)?;
        tracing::info!(job = id, secs, "job cancelled");
        return Ok(Ended::Recorded);
    }
    match outcome {
        Some((result, code)) => {
            if lease::finish(db, id, token, "done", Some(&result), Some(code))? {
                let kind = result["outcome"].as_str().unwrap_or("");
                let culprit = result["culprit"]["hash"].as_str().unwrap_or("");
                tracing::info!(
                    job = id,
                    outcome = kind,
                    culprit,
                    exit_code = code,
                    secs,
                    "job finished"
                );
                Ok(Ended::Recorded)
            } else {
                tracing::warn!(job = id, "job taken over before its result was recorded");
                Ok(Ended::Lost)
            }
        }
        None => {
            let why = if stops.stopping.load(Ordering::SeqCst) {
                "the worker is stopping"
            } else {
                "the database was unreachable"
            };
            lease::release(db, id, token)?;
            tracing::info!(job = id, secs, why, "job put back in the queue");
            Ok(Ended::Released)
        }
    }
}

/// Renews the lease of the job owned, watches for cancels, and says what
/// the worker does, a few times per lease, until the worker has `ended`.
fn heartbeat(mut db: Db, shared: &Shared, ended: &AtomicBool) {
    let every = shared.config.lease / 4;
    let mut next = Instant::now();
    while !ended.load(Ordering::SeqCst) {
        if Instant::now() >= next {
            next = Instant::now() + every;
            beat_once(&mut db, shared);
        }
        std::thread::sleep(Duration::from_millis(50).min(every));
    }
}

fn beat_once(db: &mut Db, shared: &Shared) {
    let (job, task, disk) = match shared.status.lock() {
        Ok(mut s) => (s.job.clone(), s.task, s.disk_bytes.take()),
        Err(_) => return,
    };
    let step = shared.step.lock().map(|s| s.clone()).unwrap_or_default();
    let _ = queue::beat(
        db,
        &shared.config.id,
        job.as_ref().map(|j| j.0),
        task,
        &step,
        disk,
    );
    if let Some((id, token, stops)) = job {
        // The database away: the journal's appends wait for it.
        if let Ok(renewal) = lease::renew(db, id, token, shared.config.lease) {
            if !renewal.ours && !stops.lost.swap(true, Ordering::SeqCst) {
                tracing::warn!(job = id, "lease lost: another worker took the job over");
            }
            if renewal.cancel && !stops.cancel.swap(true, Ordering::SeqCst) {
                tracing::info!(
                    job = id,
                    "cancel asked for: stopping at the next build or run"
                );
            }
        }
    }
    if let Some(task) = task {
        let _ = lease::renew_task(db, task, &shared.config.id, shared.config.lease);
    }
}

/// This host's name, for the dashboard.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
