//! A running worker's settings and the state its threads share: the job
//! it owns, the task it runs for another worker, what it is doing, and
//! whether it was asked to stop. The worker's loop, its heartbeat and the
//! spreading of evaluations all read it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::joblog::Step;
use crate::store::Stops;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The database.
    pub db_url: String,
    /// The worker's name (unique among workers).
    pub id: String,
    /// Where its checkouts, builds and run logs go (one directory per job,
    /// removed when the job ends).
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
    /// (linked into each job's directory); `None`: in each
    /// worker's work directory.
    pub kernel_store: Option<PathBuf>,
    /// A build that takes longer than this is logged as slow.
    pub slow_build: Duration,
}

impl WorkerConfig {
    /// The settings `culprit worker` and `serve --local` start from: a
    /// lease of 30 s, a look at the queue every 200 ms, 8 evaluations at
    /// once, two minutes' patience with the database, builds slow after
    /// 30 minutes.
    pub fn new(db_url: &str, id: &str, workdir: PathBuf) -> WorkerConfig {
        WorkerConfig {
            db_url: db_url.to_owned(),
            id: id.to_owned(),
            workdir,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(200),
            spread: 8,
            patience: Duration::from_secs(120),
            max_jobs: None,
            kernel_store: None,
            slow_build: Duration::from_secs(1800),
        }
    }
}

/// What the heartbeat reports and watches, shared with the job's threads.
#[derive(Default)]
pub(crate) struct Status {
    /// The job owned, with its token and what stops it.
    pub job: Option<(i64, i64, Arc<Stops>)>,
    /// The task run for another worker's job.
    pub task: Option<i64>,
    /// The disk the work directory uses, measured since the last beat.
    pub disk_bytes: Option<i64>,
}

/// A running worker's shared state.
pub(crate) struct Shared {
    pub config: WorkerConfig,
    pub status: Mutex<Status>,
    pub step: Step,
    /// Set when the worker is asked to stop: it finishes the build or run
    /// in progress, records it, puts its job back and exits.
    pub stop: Arc<AtomicBool>,
}

impl Shared {
    pub(crate) fn set_step(&self, step: impl Into<String>) {
        if let Ok(mut s) = self.step.lock() {
            *s = step.into();
        }
    }

    /// Whether the worker was asked to stop.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The owned job's engine stops because the worker does: the job goes
    /// back to the queue.
    pub(crate) fn stop_job(&self) {
        if let Ok(status) = self.status.lock() {
            if let Some((_, _, stops)) = &status.job {
                stops.stopping.store(true, Ordering::SeqCst);
            }
        }
    }
}
