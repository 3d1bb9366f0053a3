//! Leases and fencing, in one place. A worker claims a job (the oldest
//! queued one, or one whose owner's lease has passed): the claim bumps the
//! job's fencing token and sets its lease, which the owner's heartbeat
//! renews. Whatever the owner writes afterwards (journal records, tasks
//! for helpers, the result) is written only while the job still has the
//! claim's token, checked by [`holds`] inside the writing transaction; a
//! helper works on a task only while the task's job keeps the token the
//! task was made with and its owner's lease has not passed
//! ([`LIVE_TASK`]).

use std::time::Duration;

use postgres::Transaction;

use crate::counters;
use crate::db::{Db, DbError};
use crate::spec::JobSpec;

/// A job claimed by a worker.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The job.
    pub id: i64,
    /// The fencing token of this claim.
    pub token: i64,
    /// What to bisect.
    pub spec: JobSpec,
    /// How many times the job was claimed, this claim included.
    pub attempts: i32,
}

/// The condition (on `tasks t JOIN jobs j`) under which a helper goes on
/// with a task: the task is running, its job still has the token the task
/// was made with, and the job's owner is alive (its lease has not passed).
/// A helper whose owner died lets go within a lease.
pub const LIVE_TASK: &str = "t.state = 'running' AND j.state = 'running' AND j.token = t.token
     AND j.lease_until > now()";

/// Whether `job` is still held with `token`, checked inside `tx`: the
/// row is share-locked, so a claim (which updates it) waits for `tx`, and
/// `tx` sees a claim that committed first. Every write of an owner goes
/// through here.
pub fn holds(tx: &mut Transaction<'_>, job: i64, token: i64) -> Result<bool, postgres::Error> {
    let row = tx.query_opt(
        "SELECT 1 FROM jobs WHERE id = $1 AND token = $2 AND state = 'running' FOR SHARE",
        &[&job, &token],
    )?;
    Ok(row.is_some())
}

/// Claims the oldest job that is queued or whose owner's lease has
/// passed. Jobs whose spec cannot be read are skipped (and marked done
/// with an error).
pub fn claim_job(db: &mut Db, worker: &str, lease: Duration) -> Result<Option<Claim>, DbError> {
    let lease_secs = lease.as_secs_f64();
    // A cancelled job whose worker died is not resumed: it is cancelled.
    db.run(|c| {
        let mut tx = c.transaction()?;
        let ended = tx.query(
            "UPDATE jobs SET state = 'cancelled', finished_at = now(), lease_until = NULL
             WHERE state = 'running' AND cancel_requested AND lease_until < now()
             RETURNING id",
            &[],
        )?;
        for _ in &ended {
            counters::job_finished(&mut tx, "cancelled", None)?;
        }
        tx.commit()
    })?;
    let row = db.run(|c| {
        c.query_opt(
            "WITH picked AS (
                 SELECT id, owner, state FROM jobs
                 WHERE (state = 'queued' AND NOT cancel_requested)
                    OR (state = 'running' AND lease_until < now() AND NOT cancel_requested)
                 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
             UPDATE jobs SET state = 'running', owner = $1, token = token + 1,
                 attempts = attempts + 1, started_at = now(),
                 lease_until = now() + make_interval(secs => $2)
             FROM picked WHERE jobs.id = picked.id
             RETURNING jobs.id, jobs.token, jobs.spec, jobs.attempts, picked.owner, picked.state",
            &[&worker, &lease_secs],
        )
    })?;
    let Some(row) = row else { return Ok(None) };
    let (id, token): (i64, i64) = (row.get(0), row.get(1));
    let attempts: i32 = row.get(3);
    let (previous, was): (Option<String>, String) = (row.get(4), row.get(5));
    if was == "running" {
        tracing::warn!(
            job = id,
            worker,
            lost_owner = previous.as_deref().unwrap_or(""),
            "job reclaimed: its owner's lease passed"
        );
    }
    let spec: serde_json::Value = row.get(2);
    match serde_json::from_value(spec) {
        Ok(spec) => {
            tracing::info!(job = id, worker, token, attempts, "job claimed");
            Ok(Some(Claim {
                id,
                token,
                spec,
                attempts,
            }))
        }
        Err(e) => {
            tracing::error!(job = id, error = %e, "job unreadable: finished with an error");
            let outcome = culprit_bisect::Outcome::failed(
                culprit_bisect::Direction::Cause,
                "",
                "",
                format!("unreadable job: {e}"),
            );
            let result = serde_json::to_value(outcome).unwrap_or_default();
            finish(db, id, token, "done", Some(&result), Some(2))?;
            Ok(None)
        }
    }
}

/// What the owner's heartbeat learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewal {
    /// The lease was renewed: the job is still ours.
    pub ours: bool,
    /// A cancel was asked for.
    pub cancel: bool,
}

/// Renews the lease of `job` held with `token`.
pub fn renew(db: &mut Db, job: i64, token: i64, lease: Duration) -> Result<Renewal, DbError> {
    let lease_secs = lease.as_secs_f64();
    let row = db.run(|c| {
        c.query_opt(
            "UPDATE jobs SET lease_until = now() + make_interval(secs => $3)
             WHERE id = $1 AND token = $2 AND state = 'running'
             RETURNING cancel_requested",
            &[&job, &token, &lease_secs],
        )
    })?;
    Ok(match row {
        Some(row) => Renewal {
            ours: true,
            cancel: row.get(0),
        },
        None => Renewal {
            ours: false,
            cancel: false,
        },
    })
}

/// Records the end of a job held with `token`: `state` `done` (with the
/// outcome and exit status) or `cancelled`. `false` when the job is no
/// longer ours (the result is not recorded).
pub fn finish(
    db: &mut Db,
    job: i64,
    token: i64,
    state: &str,
    result: Option<&serde_json::Value>,
    exit_code: Option<i32>,
) -> Result<bool, DbError> {
    db.run(|c| {
        let mut tx = c.transaction()?;
        let row = tx.query_opt(
            "UPDATE jobs SET state = $3, result = $4, exit_code = $5, finished_at = now(),
                 lease_until = NULL
             WHERE id = $1 AND token = $2 AND state = 'running'
             RETURNING extract(epoch FROM finished_at - started_at)::float8,
                       coalesce(result->>'outcome', state)",
            &[&job, &token, &state, &result, &exit_code],
        )?;
        let Some(row) = row else {
            return Ok(false);
        };
        counters::job_finished(&mut tx, &row.get::<_, String>(1), row.get(0))?;
        tx.commit()?;
        Ok(true)
    })
}

/// Puts a job held with `token` back in the queue at once (its worker is
/// stopping, or cannot reach the database); the next claim resumes it.
pub fn release(db: &mut Db, job: i64, token: i64) -> Result<bool, DbError> {
    db.run(|c| {
        let n = c.execute(
            "UPDATE jobs SET state = 'queued', owner = NULL, lease_until = NULL
             WHERE id = $1 AND token = $2 AND state = 'running'",
            &[&job, &token],
        )?;
        Ok(n == 1)
    })
}

/// Renews the lease of a task this worker runs.
pub fn renew_task(db: &mut Db, task: i64, worker: &str, lease: Duration) -> Result<(), DbError> {
    let secs = lease.as_secs_f64();
    db.run(|c| {
        c.execute(
            "UPDATE tasks SET lease_until = now() + make_interval(secs => $3)
             WHERE id = $1 AND owner = $2 AND state = 'running'",
            &[&task, &worker, &secs],
        )
    })?;
    Ok(())
}
