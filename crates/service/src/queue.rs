//! The queue in PostgreSQL as the API and the dashboard see it: jobs
//! submitted, cancelled, listed (paged and filtered) and read; the
//! workers' roster and heartbeats; old jobs deleted. Claims, leases and
//! fencing are in `lease`.

use std::time::Duration;

use postgres::Row;

use crate::counters;
use crate::db::{Db, DbError};
use crate::spec::JobSpec;

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
    /// `alive`, `gone` (silent for [`GONE_AFTER_LEASES`] leases: killed,
    /// its host lost) or `stopped` (it said so).
    pub status: String,
    /// Whether it said it stopped.
    pub stopped: bool,
    /// The disk its work directory uses, as it last measured.
    pub disk_bytes: Option<i64>,
}

/// A worker silent for this many of its leases is shown as gone.
pub const GONE_AFTER_LEASES: f64 = 3.0;

/// A worker's status as SQL over the `workers` table: `stopped`, `gone`
/// or `alive`.
pub const WORKER_STATUS: &str = "CASE WHEN stopped THEN 'stopped'
     WHEN heartbeat < now() - make_interval(secs => 3.0 * lease_secs) THEN 'gone'
     ELSE 'alive' END";

/// Stores a checked job; returns its number. One statement: nothing
/// half-made is stored.
pub fn submit(db: &mut Db, spec: &JobSpec) -> Result<i64, DbError> {
    let value = serde_json::to_value(spec).unwrap_or_default();
    let (kind, title) = (spec.kind(), spec.title());
    let key = spec.settings().ok().and_then(|s| s.reproducer_key());
    db.run(|c| {
        let row = c.query_one(
            "INSERT INTO jobs (kind, spec, title, reproducer_key) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&kind, &value, &title, &key],
        )?;
        Ok(row.get(0))
    })
}

/// What earlier finished jobs of the same reproducer learned of its rate
/// (its runs at commits that had the bug), from the newest 20 of them;
/// `None` when none did.
pub fn rate_prior(
    db: &mut Db,
    job: i64,
) -> Result<Option<culprit_bisect::strategy::bayes::RatePrior>, DbError> {
    let results: Vec<serde_json::Value> = db.run(|c| {
        let rows = c.query(
            "SELECT o.result FROM jobs o, jobs j
              WHERE j.id = $1 AND o.id <> j.id AND o.state = 'done'
                AND o.reproducer_key = j.reproducer_key AND o.result IS NOT NULL
              ORDER BY o.id DESC LIMIT 20",
            &[&job],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    })?;
    let mut prior = culprit_bisect::strategy::bayes::RatePrior {
        crashes: 0,
        runs: 0,
    };
    for result in results {
        let Ok(outcome) = serde_json::from_value::<culprit_bisect::Outcome>(result) else {
            continue;
        };
        let learned = outcome.rate_evidence();
        prior.crashes += learned.crashes;
        prior.runs += learned.runs;
    }
    Ok((prior.runs > 0).then_some(prior))
}

/// Asks to cancel a job: a queued one is cancelled at once, a running one
/// by its worker at its next build or run. Returns the job's state after,
/// `None` for no such job.
pub fn cancel(db: &mut Db, job: i64) -> Result<Option<String>, DbError> {
    db.run(|c| {
        let mut tx = c.transaction()?;
        let row = tx.query_opt(
            "WITH old AS (SELECT id, state FROM jobs WHERE id = $1 FOR UPDATE)
             UPDATE jobs SET cancel_requested = (jobs.state IN ('queued', 'running')),
                 state = CASE WHEN jobs.state = 'queued' THEN 'cancelled' ELSE jobs.state END,
                 finished_at = CASE WHEN jobs.state = 'queued' THEN now() ELSE finished_at END
             FROM old WHERE jobs.id = old.id RETURNING jobs.state, old.state",
            &[&job],
        )?;
        if row
            .as_ref()
            .is_some_and(|r| r.get::<_, String>(1) == "queued")
        {
            counters::job_finished(&mut tx, "cancelled", None)?;
        }
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

/// Which jobs to list: newest first, `limit` of them (at most
/// [`MAX_PAGE`]) with a number below `before`, of one state or kind, whose
/// title or number has `text` in it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct JobFilter {
    /// `queued`, `running`, `done` or `cancelled`.
    pub state: Option<String>,
    /// `generic` or `kernel`.
    pub kind: Option<String>,
    /// Words of the title, or the job's number.
    #[serde(rename = "q")]
    pub text: Option<String>,
    /// Jobs numbered below this (the next page starts at the last job of
    /// this one).
    pub before: Option<i64>,
    /// How many (default [`PAGE`]).
    pub limit: Option<i64>,
}

/// Jobs per page unless asked otherwise.
pub const PAGE: i64 = 50;
/// The most jobs one request lists.
pub const MAX_PAGE: i64 = 1000;

/// The jobs `filter` picks, newest first.
pub fn jobs(db: &mut Db, filter: &JobFilter) -> Result<Vec<JobStatus>, DbError> {
    let sql = format!(
        "SELECT {STATUS_COLUMNS} FROM jobs
         WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR kind = $2)
           AND ($3::text IS NULL OR title ILIKE $3 ESCAPE '\\' OR id::text = $4)
           AND ($5::bigint IS NULL OR id < $5)
         ORDER BY id DESC LIMIT $6"
    );
    let text = nonempty(&filter.text);
    let pattern = text.map(|t| format!("%{}%", like_escape(t)));
    let limit = filter.limit.unwrap_or(PAGE).clamp(1, MAX_PAGE);
    let (state, kind) = (nonempty(&filter.state), nonempty(&filter.kind));
    let rows = db.run(|c| {
        c.query(
            &sql,
            &[&state, &kind, &pattern, &text, &filter.before, &limit],
        )
    })?;
    Ok(rows.iter().map(job_status).collect())
}

/// A filter's value, `None` when empty.
fn nonempty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `text` with LIKE's wildcards taken literally.
fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// How many jobs are in each state.
pub fn counts(db: &mut Db) -> Result<Vec<(String, i64)>, DbError> {
    let rows = db.run(|c| c.query("SELECT state, count(*) FROM jobs GROUP BY state", &[]))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Deletes finished jobs (with their journals, logs and tasks) that ended
/// more than `age` ago, a thousand at a time; returns how many went.
pub fn delete_old_jobs(db: &mut Db, age: Duration) -> Result<u64, DbError> {
    let secs = age.as_secs_f64();
    let mut total = 0;
    loop {
        let n = db.run(|c| {
            c.execute(
                "DELETE FROM jobs WHERE id IN (
                     SELECT id FROM jobs WHERE state IN ('done', 'cancelled')
                       AND finished_at < now() - make_interval(secs => $1)
                     LIMIT 1000)",
                &[&secs],
            )
        })?;
        total += n;
        if n < 1000 {
            return Ok(total);
        }
    }
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
    let token: Option<i64> = db
        .run(|c| c.query_one("SELECT max(token) FROM log_lines WHERE job_id = $1", &[&id]))?
        .get(0);
    match token {
        Some(token) => log_of_attempt(db, id, token, after),
        None => Ok((0, Vec::new())),
    }
}

/// Log lines of attempt `token` of a job after `after` (at most 50,000).
pub fn log_of_attempt(
    db: &mut Db,
    id: i64,
    token: i64,
    after: i64,
) -> Result<(i64, Vec<(i64, String)>), DbError> {
    let rows = db.run(|c| {
        c.query(
            "SELECT seq, line FROM log_lines WHERE job_id = $1 AND token = $2 AND seq > $3
             ORDER BY seq LIMIT 50000",
            &[&id, &token, &after],
        )
    })?;
    Ok((token, rows.iter().map(|r| (r.get(0), r.get(1))).collect()))
}

/// Registers (or re-registers) a worker, with its lease.
pub fn register_worker(
    db: &mut Db,
    id: &str,
    host: &str,
    pid: i32,
    lease: Duration,
) -> Result<(), DbError> {
    let lease_secs = lease.as_secs_f64();
    db.run(|c| {
        c.execute(
            "INSERT INTO workers (id, host, pid, lease_secs) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET host = $2, pid = $3, lease_secs = $4,
                 started_at = now(), heartbeat = now(), job_id = NULL, task_id = NULL,
                 step = '', stopped = FALSE",
            &[&id, &host, &pid, &lease_secs],
        )
    })?;
    Ok(())
}

/// A worker's heartbeat, with what it is doing and (when it measured it
/// again) the disk its work directory uses.
pub fn beat(
    db: &mut Db,
    id: &str,
    job: Option<i64>,
    task: Option<i64>,
    step: &str,
    disk_bytes: Option<i64>,
) -> Result<(), DbError> {
    db.run(|c| {
        c.execute(
            "UPDATE workers SET heartbeat = now(), job_id = $2, task_id = $3, step = $4,
                 disk_bytes = coalesce($5, disk_bytes)
             WHERE id = $1",
            &[&id, &job, &task, &step, &disk_bytes],
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

/// The workers heard from within the last hour, live ones first.
pub fn workers(db: &mut Db) -> Result<Vec<WorkerStatus>, DbError> {
    let sql = format!(
        "SELECT id, host, pid, extract(epoch FROM now() - heartbeat)::float8, job_id,
                task_id, step, {WORKER_STATUS}, stopped, disk_bytes
         FROM workers WHERE heartbeat > now() - interval '1 hour'
         ORDER BY 8, id"
    );
    let rows = db.run(|c| c.query(&sql, &[]))?;
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
            status: r.get(7),
            stopped: r.get(8),
            disk_bytes: r.get(9),
        })
        .collect())
}

/// Workers that went silent for several leases without saying they
/// stopped, and have not been reported yet: they are marked (so that the
/// next look does not report them again) and returned with the job they
/// held.
pub fn newly_gone_workers(db: &mut Db) -> Result<Vec<(String, Option<i64>, f64)>, DbError> {
    let sql = format!(
        "UPDATE workers SET step = 'gone' WHERE step <> 'gone' AND {WORKER_STATUS} = 'gone'
         RETURNING id, job_id, extract(epoch FROM now() - heartbeat)::float8"
    );
    let rows = db.run(|c| c.query(&sql, &[]))?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Forgets workers not heard from for `age`.
pub fn delete_old_workers(db: &mut Db, age: Duration) -> Result<u64, DbError> {
    let secs = age.as_secs_f64();
    db.run(|c| {
        c.execute(
            "DELETE FROM workers WHERE heartbeat < now() - make_interval(secs => $1)",
            &[&secs],
        )
    })
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
