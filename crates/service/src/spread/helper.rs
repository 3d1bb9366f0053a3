//! The helper's side of a spread bisection: a worker takes a task of
//! another worker's job, builds the commit, waits for the owner to say
//! which runs it still wants, and makes them, posting each result as a
//! task event. It goes on only while the task is live ([`LIVE_TASK`]):
//! when the owner dies, its lease passes and the helper lets go, so the
//! job can be claimed again. A helper asked to stop finishes the build or
//! run in progress, posts it, and ends the task.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use culprit_bisect::{BuildOutcome, Built, Executor};

use crate::db::{Db, DbError};
use crate::lease::LIVE_TASK;
use crate::shared::Shared;
use crate::spec::JobSpec;
use crate::{shutdown, workdir};

use super::tasks::{abandon, finish_task, PREFER_GRACE};
use super::{BuildReport, TaskEvent, POLL};

/// A task taken from another worker's bisection.
struct Task {
    id: i64,
    job: i64,
    token: i64,
    commit: String,
    build: Option<Built>,
    runs: Range<u32>,
}

/// A worker's side of the tasks: the executors it keeps per job.
#[derive(Default)]
pub(crate) struct Helper {
    executors: HashMap<i64, Box<dyn Executor + Send>>,
}

impl Helper {
    /// Takes one task of another worker's job and does it; `false` when
    /// there was none.
    pub(crate) fn help(&mut self, db: &mut Db, shared: &Arc<Shared>) -> Result<bool, DbError> {
        if shared.stopping() {
            return Ok(false);
        }
        let Some((task, spec)) = claim_task(db, &shared.config.id, shared.config.lease)? else {
            return Ok(false);
        };
        tracing::debug!(job = task.job, task = task.id, commit = %task.commit, "task taken");
        if let Ok(mut status) = shared.status.lock() {
            status.task = Some(task.id);
        }
        shared.set_step(format!(
            "job {}: evaluating commit {} (task {})",
            task.job, task.commit, task.id
        ));
        let result = self.evaluate(db, shared, &task, &spec);
        if let Ok(mut status) = shared.status.lock() {
            status.task = None;
        }
        shared.set_step("idle");
        result.map(|()| true)
    }

    /// Forgets the executors of jobs other than `jobs` (their directories
    /// are gone).
    pub(crate) fn keep_only(&mut self, jobs: &HashSet<i64>) {
        self.executors.retain(|job, _| jobs.contains(job));
    }

    fn executor(
        &mut self,
        shared: &Shared,
        task: &Task,
        spec: &JobSpec,
    ) -> Result<&mut Box<dyn Executor + Send>, String> {
        if !self.executors.contains_key(&task.job) {
            // A few jobs' executors at most: their checkouts stay on disk.
            if self.executors.len() >= 4 {
                self.executors.clear();
            }
            let settings = spec.settings().map_err(|e| e.to_string())?;
            if settings.kernel().is_some() {
                workdir::link_kernel_store(&shared.config, task.job)
                    .map_err(|e| format!("kernel store: {e}"))?;
            }
            let dir = workdir::help_dir(&shared.config, task.job);
            let repo = culprit_git::Repo::open(&settings.repo).map_err(|e| e.to_string())?;
            // The bad end as the owner resolved it: a kernel job's
            // minimised config is the owner's, from the cache.
            let bad = repo.resolve(&settings.bad).map_err(|e| e.to_string())?;
            let made = culprit_exec::run::executor(
                &settings,
                &repo,
                &dir,
                &dir.join("runs"),
                &bad,
                &|| Box::new(std::io::sink()),
            )?;
            self.executors.insert(task.job, made.exec);
        }
        self.executors
            .get_mut(&task.job)
            .ok_or_else(|| "no executor".to_string())
    }

    fn evaluate(
        &mut self,
        db: &mut Db,
        shared: &Shared,
        task: &Task,
        spec: &JobSpec,
    ) -> Result<(), DbError> {
        let mut events = Events {
            db,
            task: task.id,
            n: 0,
        };
        let exec = match self.executor(shared, task, spec) {
            Ok(exec) => exec,
            Err(reason) => {
                let build = BuildReport::Infra { reason };
                events.post(&TaskEvent::Built { build, secs: 0.0 })?;
                events.post(&TaskEvent::Done)?;
                return finish_task(events.db, task.id);
            }
        };
        let built = match &task.build {
            Some(built) => {
                // A kernel must be there to boot: built (or found) here.
                if exec.capabilities().runs_need_local_build {
                    let _ = exec.build(&task.commit);
                }
                built.clone()
            }
            None => {
                let start = Instant::now();
                let outcome = exec.build(&task.commit);
                let secs = start.elapsed().as_secs_f64();
                let built = match &outcome {
                    BuildOutcome::Built(b) => Some(b.clone()),
                    _ => None,
                };
                events.post(&TaskEvent::Built {
                    build: outcome.into(),
                    secs,
                })?;
                match built {
                    Some(b) => b,
                    None => {
                        events.post(&TaskEvent::Done)?;
                        return finish_task(events.db, task.id);
                    }
                }
            }
        };
        let runs = match &task.build {
            Some(_) => Some(task.runs.clone()),
            None if shared.stopping() => None,
            None => wanted(events.db, shared, task)?,
        };
        if let Some(runs) = runs.filter(|r| !r.is_empty()) {
            let mut failure = None;
            exec.run(&built, runs, &mut |index, outcome, secs| {
                if let Err(e) = events.post(&TaskEvent::Ran {
                    index,
                    outcome,
                    secs,
                }) {
                    failure = Some(e);
                    return false;
                }
                !shared.stopping() && still_wanted(events.db, task).unwrap_or(false)
            });
            if let Some(e) = failure {
                return Err(e);
            }
        }
        events.post(&TaskEvent::Done)?;
        finish_task(events.db, task.id)
    }
}

/// A task's events, numbered as they are posted.
struct Events<'d> {
    db: &'d mut Db,
    task: i64,
    n: i32,
}

impl Events<'_> {
    fn post(&mut self, event: &TaskEvent) -> Result<(), DbError> {
        // Stopping at once: what ends now was cut short, not a result.
        if shutdown::now() {
            return Ok(());
        }
        self.n += 1;
        let value = serde_json::to_value(event).unwrap_or_default();
        let (task, n) = (self.task, self.n);
        self.db.run(|c| {
            c.execute(
                "INSERT INTO task_events (task_id, n, event) VALUES ($1, $2, $3)
                 ON CONFLICT (task_id, n) DO NOTHING",
                &[&task, &n, &value],
            )
        })?;
        Ok(())
    }
}

/// Takes the oldest task another worker offers (the one meant for this
/// worker first, others once their grace ran out), with its job's spec.
fn claim_task(
    db: &mut Db,
    worker: &str,
    lease: Duration,
) -> Result<Option<(Task, JobSpec)>, DbError> {
    let secs = lease.as_secs_f64();
    let row = db.run(|c| {
        c.query_opt(
            "UPDATE tasks SET state = 'running', owner = $1,
                 lease_until = now() + make_interval(secs => $2)
             WHERE id = (SELECT t.id FROM tasks t JOIN jobs j ON j.id = t.job_id
                         WHERE t.state = 'queued' AND j.state = 'running'
                           AND j.token = t.token AND j.lease_until > now()
                           AND j.owner IS DISTINCT FROM $1
                           AND (t.prefer IS NULL OR t.prefer = $1
                                OR t.created_at < now() - make_interval(secs => $3))
                         ORDER BY t.prefer IS NOT DISTINCT FROM $1 DESC, t.id
                         LIMIT 1 FOR UPDATE OF t SKIP LOCKED)
             RETURNING id, job_id, token, commit_hash, build, runs_from, runs_to,
                       (SELECT spec FROM jobs WHERE jobs.id = tasks.job_id)",
            &[&worker, &secs, &PREFER_GRACE.as_secs_f64()],
        )
    })?;
    let Some(row) = row else { return Ok(None) };
    let build: Option<serde_json::Value> = row.get(4);
    let (from, to): (i32, i32) = (row.get(5), row.get(6));
    let task = Task {
        id: row.get(0),
        job: row.get(1),
        token: row.get(2),
        commit: row.get(3),
        build: build.and_then(|b| serde_json::from_value(b).ok()),
        runs: from.max(0) as u32..to.max(0) as u32,
    };
    let spec: serde_json::Value = row.get(7);
    match serde_json::from_value(spec) {
        Ok(spec) => Ok(Some((task, spec))),
        Err(_) => {
            abandon(db, &[task.id])?;
            Ok(None)
        }
    }
}

/// Waits for the owner to say which runs it wants after the build; `None`
/// when the task is no longer live (abandoned, the job changed hands, its
/// owner died) or the worker is asked to stop.
fn wanted(db: &mut Db, shared: &Shared, task: &Task) -> Result<Option<Range<u32>>, DbError> {
    let sql = format!(
        "SELECT t.wanted_from, t.wanted_to, {LIVE_TASK}
         FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE t.id = $1"
    );
    loop {
        let row = db.run(|c| c.query_one(&sql, &[&task.id]))?;
        let (from, to, live): (Option<i32>, Option<i32>, bool) =
            (row.get(0), row.get(1), row.get(2));
        if !live {
            tracing::info!(
                job = task.job,
                task = task.id,
                "task let go: no longer wanted, or its owner is gone"
            );
            return Ok(None);
        }
        if let (Some(from), Some(to)) = (from, to) {
            return Ok(Some(from.max(0) as u32..to.max(0) as u32));
        }
        if shared.stopping() {
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}

/// Whether the owner still wants this task's runs (and is alive).
fn still_wanted(db: &mut Db, task: &Task) -> Result<bool, DbError> {
    let sql = format!(
        "SELECT 1 FROM tasks t JOIN jobs j ON j.id = t.job_id
         WHERE t.id = $1 AND j.token = $2 AND {LIVE_TASK}"
    );
    let row = db.run(|c| c.query_opt(&sql, &[&task.id, &task.token]))?;
    Ok(row.is_some())
}
