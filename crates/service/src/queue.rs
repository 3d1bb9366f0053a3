//! The queue in PostgreSQL: jobs are claimed with `FOR UPDATE SKIP
//! LOCKED`, held by a lease that the owner's heartbeat renews, and taken
//! over by another worker once the lease has passed. Every claim bumps the
//! job's fencing token.

use std::time::Duration;

use postgres::Row;

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

/// A job as the API and the dashboard show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobStatus {
    /// The job's number.
    pub id: i64,
    /// `generic` or `kernel`.
    pub kind: String,
    /// A short description.
    pub title: String,
    /// `queued`, `running`, `done` or `cancelled`.
    pub state: String,
    /// The worker holding it.
    pub owner: Option<String>,
    /// Claims so far.
    pub attempts: i32,
    /// The current fencing token.
    pub token: i64,
    /// Whether a cancel was asked for.
    pub cancel_requested: bool,
    /// The exit status `culprit bisect` would give.
    pub exit_code: Option<i32>,
    /// `culprit`, `inconclusive`, `always-bad` or `error` once done.
    pub outcome: Option<String>,
    /// The culprit's hash, once found.
    pub culprit: Option<String>,
    /// When it was submitted, started and finished (RFC 3339).
    pub submitted_at: String,
    /// When its last claim started.
    pub started_at: Option<String>,
    /// When it finished.
    pub finished_at: Option<String>,
    /// The job as submitted (checked).
    pub spec: serde_json::Value,
}

/// A worker as the dashboard shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkerStatus {
    /// Its name.
    pub id: String,
    /// Its host.
    pub host: String,
    /// Its process id.
    pub pid: i32,
    /// Seconds since its last heartbeat.
    pub silent_secs: f64,
    /// The job it owns.
    pub job_id: Option<i64>,
    /// The evaluation task it runs for another worker's job.
    pub task_id: Option<i64>,
    /// What it is doing.
    pub step: String,
    /// Whether it said it stopped.
    pub stopped: bool,
}

/// Stores a checked job; returns its number. One statement: nothing
/// half-made is stored.
pub fn submit(db: &mut Db, spec: &JobSpec) -> Result<i64, DbError> {
    let value = serde_json::to_value(spec).unwrap_or_default();
    let (kind, title) = (spec.kind(), spec.title());
    db.run(|c| {
        let row = c.query_one(
            "INSERT INTO jobs (kind, spec, title) VALUES ($1, $2, $3) RETURNING id",
            &[&kind, &value, &title],
        )?;
        Ok(row.get(0))
    })
}

/// Claims the oldest job that is queued or whose owner's lease has
/// passed. Jobs whose spec cannot be read are skipped (and marked done
/// with an error).
pub fn claim_job(db: &mut Db, worker: &str, lease: Duration) -> Result<Option<Claim>, DbError> {
    let lease_secs = lease.as_secs_f64();
    // A cancelled job whose worker died is not resumed: it is cancelled.
    db.run(|c| {
        c.execute(
            "UPDATE jobs SET state = 'cancelled', finished_at = now(), lease_until = NULL
             WHERE state = 'running' AND cancel_requested AND lease_until < now()",
            &[],
        )
    })?;
    let row = db.run(|c| {
        c.query_opt(
            "UPDATE jobs SET state = 'running', owner = $1, token = token + 1,
                 attempts = attempts + 1, started_at = now(),
                 lease_until = now() + make_interval(secs => $2)
             WHERE id = (SELECT id FROM jobs
                         WHERE (state = 'queued' AND NOT cancel_requested)
                            OR (state = 'running' AND lease_until < now() AND NOT cancel_requested)
                         ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id, token, spec, attempts",
            &[&worker, &lease_secs],
        )
    })?;
    let Some(row) = row else { return Ok(None) };
    let (id, token): (i64, i64) = (row.get(0), row.get(1));
    let spec: serde_json::Value = row.get(2);
    match serde_json::from_value(spec) {
        Ok(spec) => Ok(Some(Claim {
            id,
            token,
            spec,
            attempts: row.get(3),
        })),
        Err(e) => {
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
        let n = c.execute(
            "UPDATE jobs SET state = $3, result = $4, exit_code = $5, finished_at = now(),
                 lease_until = NULL
             WHERE id = $1 AND token = $2 AND state = 'running'",
            &[&job, &token, &state, &result, &exit_code],
        )?;
        Ok(n == 1)
    })
}

/// Puts a job held with `token` back in the queue (its worker cannot go
/// on, e.g. the database was gone too long); the next claim resumes it.
pub fn release(db: &mut Db, job: i64, token: i64) -> Result<(), DbError> {
    db.run(|c| {
        c.execute(
            "UPDATE jobs SET state = 'queued', owner = NULL, lease_until = NULL
             WHERE id = $1 AND token = $2 AND state = 'running'",
            &[&job, &token],
        )
    })?;
    Ok(())
}

/// Asks to cancel a job: a queued one is cancelled at once, a running one
/// by its worker at its next build or run. Returns the job's state after,
/// `None` for no such job.
pub fn cancel(db: &mut Db, job: i64) -> Result<Option<String>, DbError> {
    db.run(|c| {
        let mut tx = c.transaction()?;
        let row = tx.query_opt(
            "UPDATE jobs SET cancel_requested = (state IN ('queued', 'running')),
                 state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
                 finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END
             WHERE id = $1 RETURNING state",
            &[&job],
        )?;
        tx.commit()?;
        Ok(row.map(|r| r.get(0)))
    })
}

const STATUS_COLUMNS: &str = "id, kind, title, state, owner, attempts, token, cancel_requested,
     exit_code, result->>'outcome', result->'culprit'->>'hash',
     to_char(submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
     to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
     to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), spec";

fn job_status(row: &Row) -> JobStatus {
    JobStatus {
        id: row.get(0),
        kind: row.get(1),
        title: row.get(2),
        state: row.get(3),
        owner: row.get(4),
        attempts: row.get(5),
        token: row.get(6),
        cancel_requested: row.get(7),
        exit_code: row.get(8),
        outcome: row.get(9),
        culprit: row.get(10),
        submitted_at: row.get(11),
        started_at: row.get(12),
        finished_at: row.get(13),
        spec: row.get(14),
    }
}

/// One job's status.
pub fn job(db: &mut Db, id: i64) -> Result<Option<JobStatus>, DbError> {
    let sql = format!("SELECT {STATUS_COLUMNS} FROM jobs WHERE id = $1");
    let row = db.run(|c| c.query_opt(&sql, &[&id]))?;
    Ok(row.as_ref().map(job_status))
}

/// The jobs, newest first: those waiting or running, then up to `limit`
/// finished ones.
pub fn jobs(db: &mut Db, limit: i64) -> Result<Vec<JobStatus>, DbError> {
    let sql = format!(
        "(SELECT {STATUS_COLUMNS} FROM jobs WHERE state IN ('queued', 'running'))
         UNION ALL
         (SELECT {STATUS_COLUMNS} FROM jobs WHERE state NOT IN ('queued', 'running')
          ORDER BY id DESC LIMIT $1)
         ORDER BY 1 DESC"
    );
    let rows = db.run(|c| c.query(&sql, &[&limit]))?;
    Ok(rows.iter().map(job_status).collect())
}

/// A finished job's outcome JSON.
pub fn result(db: &mut Db, id: i64) -> Result<Option<serde_json::Value>, DbError> {
    let row = db.run(|c| c.query_opt("SELECT result FROM jobs WHERE id = $1", &[&id]))?;
    Ok(row.and_then(|r| r.get(0)))
}

/// The journal's records of a job, oldest first, with the token of the
/// owner that wrote each.
pub fn journal(db: &mut Db, id: i64) -> Result<Vec<(i64, serde_json::Value)>, DbError> {
    let rows = db.run(|c| {
        c.query(
            "SELECT token, record FROM journal WHERE job_id = $1 ORDER BY seq",
            &[&id],
        )
    })?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Log lines of the job's latest attempt after `after` (a sequence
/// number), with their sequence numbers; and that attempt's token. A
/// resumed job replays its journal and writes its log again: the latest
/// attempt's log is whole.
pub fn log_since(db: &mut Db, id: i64, after: i64) -> Result<(i64, Vec<(i64, String)>), DbError> {
    db.run(|c| {
        let token: Option<i64> = c
            .query_one("SELECT max(token) FROM log_lines WHERE job_id = $1", &[&id])?
            .get(0);
        let Some(token) = token else {
            return Ok((0, Vec::new()));
        };
        let rows = c.query(
            "SELECT seq, line FROM log_lines WHERE job_id = $1 AND token = $2 AND seq > $3
             ORDER BY seq LIMIT 50000",
            &[&id, &token, &after],
        )?;
        Ok((token, rows.iter().map(|r| (r.get(0), r.get(1))).collect()))
    })
}

/// Registers (or re-registers) a worker.
pub fn register_worker(db: &mut Db, id: &str, host: &str, pid: i32) -> Result<(), DbError> {
    db.run(|c| {
        c.execute(
            "INSERT INTO workers (id, host, pid) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET host = $2, pid = $3, started_at = now(),
                 heartbeat = now(), job_id = NULL, task_id = NULL, step = '', stopped = FALSE",
            &[&id, &host, &pid],
        )
    })?;
    Ok(())
}

/// A worker's heartbeat, with what it is doing.
pub fn beat(
    db: &mut Db,
    id: &str,
    job: Option<i64>,
    task: Option<i64>,
    step: &str,
) -> Result<(), DbError> {
    db.run(|c| {
        c.execute(
            "UPDATE workers SET heartbeat = now(), job_id = $2, task_id = $3, step = $4
             WHERE id = $1",
            &[&id, &job, &task, &step],
        )
    })?;
    Ok(())
}

/// A worker says it stopped.
pub fn worker_stopped(db: &mut Db, id: &str) -> Result<(), DbError> {
    db.run(|c| {
        c.execute(
            "UPDATE workers SET stopped = TRUE, job_id = NULL, task_id = NULL, step = 'stopped'
             WHERE id = $1",
            &[&id],
        )
    })?;
    Ok(())
}

/// The workers heard from within the last hour, busiest first.
pub fn workers(db: &mut Db) -> Result<Vec<WorkerStatus>, DbError> {
    let rows = db.run(|c| {
        c.query(
            "SELECT id, host, pid, extract(epoch FROM now() - heartbeat)::float8, job_id,
                    task_id, step, stopped
             FROM workers WHERE heartbeat > now() - interval '1 hour'
             ORDER BY stopped, id",
            &[],
        )
    })?;
    Ok(rows
        .iter()
        .map(|r| WorkerStatus {
            id: r.get(0),
            host: r.get(1),
            pid: r.get(2),
            silent_secs: r.get(3),
            job_id: r.get(4),
            task_id: r.get(5),
            step: r.get(6),
            stopped: r.get(7),
        })
        .collect())
}

/// Live workers (heard from within `lease`) that own no job and run no
/// task, other than `except`.
pub fn idle_workers(db: &mut Db, except: &str, lease: Duration) -> Result<i64, DbError> {
    let secs = lease.as_secs_f64();
    db.run(|c| {
        let row = c.query_one(
            "SELECT count(*) FROM workers
             WHERE id <> $1 AND NOT stopped AND job_id IS NULL AND task_id IS NULL
               AND heartbeat > now() - make_interval(secs => $2)",
            &[&except, &secs],
        )?;
        Ok(row.get(0))
    })
}

/// The evaluation tasks a job handed out: id, commit, the worker that took
/// it, state.
pub fn tasks(db: &mut Db, job: i64) -> Result<Vec<serde_json::Value>, DbError> {
    let rows = db.run(|c| {
        c.query(
            "SELECT id, commit_hash, owner, state, token FROM tasks WHERE job_id = $1 ORDER BY id",
            &[&job],
        )
    })?;
    Ok(rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.get::<_, i64>(0),
                "commit": r.get::<_, String>(1),
                "worker": r.get::<_, Option<String>>(2),
                "state": r.get::<_, String>(3),
                "token": r.get::<_, i64>(4),
            })
        })
        .collect())
}
