//! A job's journal in PostgreSQL. Every append checks, in the same
//! transaction, that the job is still this worker's (its fencing token,
//! [`lease::holds`]): a worker whose lease passed to another can no longer
//! write, so its engine stops, and the new owner replays everything that
//! was written. Builds and runs are counted for `/metrics` in the same
//! transaction.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use culprit_bisect::journal::{JournalError, JournalStore, Record};
use culprit_bisect::RunOutcome;

use crate::db::Db;
use crate::{counters, lease, shutdown};

/// Why a job's engine stopped without a result of its own, set by the
/// journal store and the heartbeat.
#[derive(Debug, Default)]
pub struct Stops {
    /// The job is no longer ours: another worker holds its lease.
    pub lost: AtomicBool,
    /// The database could not be reached long enough.
    pub unreachable: AtomicBool,
    /// Somebody asked to cancel the job.
    pub cancel: AtomicBool,
    /// The worker is stopping: the job goes back to the queue.
    pub stopping: AtomicBool,
}

impl Stops {
    /// Whether the engine must stop.
    pub fn any(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
            || self.unreachable.load(Ordering::SeqCst)
            || self.cancel.load(Ordering::SeqCst)
            || self.stopping.load(Ordering::SeqCst)
    }
}

/// The journal of job `job`, written with fencing token `token`.
pub struct PgJournalStore {
    db: Db,
    job: i64,
    token: i64,
    /// Appends made by this store: with the token, it identifies a record,
    /// so an append retried after a lost connection is not doubled.
    count: i64,
    stops: Arc<Stops>,
}

impl PgJournalStore {
    /// The journal of `job` for the owner holding `token`.
    pub fn new(db: Db, job: i64, token: i64, stops: Arc<Stops>) -> Self {
        PgJournalStore {
            db,
            job,
            token,
            count: 0,
            stops,
        }
    }

    fn store_error(&self, e: impl std::fmt::Display) -> JournalError {
        JournalError::Store(format!("job {}: {e}", self.job))
    }
}

impl JournalStore for PgJournalStore {
    fn load(&mut self) -> Result<Vec<Record>, JournalError> {
        let job = self.job;
        let rows = self
            .db
            .run(|c| {
                c.query(
                    "SELECT record FROM journal WHERE job_id = $1 ORDER BY seq",
                    &[&job],
                )
            })
            .map_err(|e| self.store_error(e))?;
        rows.iter()
            .map(|row| {
                let value: serde_json::Value = row.get(0);
                serde_json::from_value(value)
                    .map_err(|e| self.store_error(format!("a damaged journal record: {e}")))
            })
            .collect()
    }

    fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        if self.stops.cancel.load(Ordering::SeqCst) {
            return Err(self.store_error("cancelled"));
        }
        // Stopping at once: what ends now was cut short (its commands were
        // killed), not a result.
        if shutdown::now() {
            self.stops.stopping.store(true, Ordering::SeqCst);
            return Err(self.store_error("the worker is stopping"));
        }
        let value = serde_json::to_value(record).map_err(|e| self.store_error(e))?;
        self.count += 1;
        let (job, token, n) = (self.job, self.token, self.count);
        let written = self.db.run(|c| {
            let mut tx = c.transaction()?;
            if !lease::holds(&mut tx, job, token)? {
                return Ok(false);
            }
            let inserted = tx.execute(
                "INSERT INTO journal (job_id, token, n, record) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (job_id, token, n) DO NOTHING",
                &[&job, &token, &n, &value],
            )?;
            // A retried append is not counted twice.
            if inserted == 1 {
                count(&mut tx, record)?;
            }
            tx.commit()?;
            Ok(true)
        });
        match written {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.stops.lost.store(true, Ordering::SeqCst);
                Err(self.store_error("no longer this worker's (another worker took it over)"))
            }
            Err(e) => {
                self.stops.unreachable.store(true, Ordering::SeqCst);
                Err(self.store_error(e))
            }
        }
    }

    fn place(&self) -> PathBuf {
        PathBuf::from(format!("job {} in {}", self.job, self.db.url()))
    }
}

/// Counts a build or a run for `/metrics`.
fn count(tx: &mut postgres::Transaction<'_>, record: &Record) -> Result<(), postgres::Error> {
    match record {
        Record::Build { built, secs, .. } => counters::build_done(tx, built.is_some(), *secs),
        Record::Run {
            outcome,
            secs,
            reused_from: None,
            ..
        } => {
            let result = match outcome {
                RunOutcome::Ok => "ok",
                RunOutcome::Crashed { .. } => "crashed",
                RunOutcome::Failed { .. } => "failed",
                RunOutcome::Invalid { .. } => "invalid",
                RunOutcome::Infra { .. } => "infra",
            };
            counters::run_done(tx, result, *secs)
        }
        _ => Ok(()),
    }
}
