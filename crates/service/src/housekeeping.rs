//! The server's housekeeping, a thread of its own: it reports workers
//! that went silent (gone: killed, their host lost) once, and deletes
//! finished jobs, and workers not heard from, older than the age kept.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::pool::Pool;
use crate::queue;

/// How often the thread looks.
const EVERY: Duration = Duration::from_secs(5);
/// How often old jobs are looked for.
const DELETE_EVERY: Duration = Duration::from_secs(600);

/// Starts the thread; it ends with `stop`. `keep`: how long finished
/// jobs are kept (`None`: for ever).
pub fn start(pool: Arc<Pool>, keep: Option<Duration>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let mut last_delete: Option<Instant> = None;
        while !stop.load(Ordering::SeqCst) {
            report_gone(&pool);
            if let Some(keep) = keep {
                if last_delete.is_none_or(|at| at.elapsed() >= DELETE_EVERY) {
                    delete_old(&pool, keep);
                    last_delete = Some(Instant::now());
                }
            }
            let until = Instant::now() + EVERY;
            while !stop.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
}

fn report_gone(pool: &Pool) {
    match pool.run_here(queue::newly_gone_workers) {
        Ok(gone) => {
            for (worker, job, silent) in gone {
                tracing::warn!(
                    worker = %worker,
                    job,
                    silent_secs = silent.round(),
                    "worker lost: silent for three leases (its job goes to another once its lease passed)"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot look for lost workers"),
    }
}

fn delete_old(pool: &Pool, keep: Duration) {
    let deleted = pool.run_here(|db| {
        Ok((
            queue::delete_old_jobs(db, keep)?,
            queue::delete_old_workers(db, keep)?,
        ))
    });
    match deleted {
        Ok((0, 0)) => {}
        Ok((jobs, workers)) => tracing::info!(
            jobs,
            workers,
            kept_days = keep.as_secs_f64() / 86400.0,
            "old jobs and workers deleted"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot delete old jobs"),
    }
}
