//! The task table from the owner's side: handing evaluations to other
//! workers, taking them back, and the lease and end of a task.

use std::time::Duration;

use culprit_bisect::Evaluation;

use crate::db::{Db, DbError};
use crate::lease;

use super::Handed;

/// How long a task waits for the worker it prefers before anyone may take
/// it (that worker has the build checked out; another would rebuild).
pub(super) const PREFER_GRACE: Duration = Duration::from_secs(3);

/// The commit each other worker evaluated last for `job` (what its
/// checkout holds).
pub(super) fn helper_heads(
    db: &mut Db,
    job: i64,
    me: &str,
) -> Result<Vec<(String, String)>, DbError> {
    let rows = db.run(|c| {
        c.query(
            "SELECT DISTINCT ON (owner) owner, commit_hash FROM tasks
             WHERE job_id = $1 AND owner IS NOT NULL AND owner <> $2
               AND state IN ('running', 'done')
             ORDER BY owner, id DESC",
            &[&job, &me],
        )
    })?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Stores `evaluations` as tasks of `job` (checking in the same
/// transaction that the job is still held with `token`); `None` when it is
/// not.
pub(super) fn insert_tasks(
    db: &mut Db,
    job: i64,
    token: i64,
    evaluations: &[Evaluation],
) -> Result<Option<Vec<Handed>>, DbError> {
    insert_tasks_preferring(db, job, token, evaluations, &[])
}

/// [`insert_tasks`], each task for the worker `prefer` names first.
pub(super) fn insert_tasks_preferring(
    db: &mut Db,
    job: i64,
    token: i64,
    evaluations: &[Evaluation],
    prefer: &[Option<String>],
) -> Result<Option<Vec<Handed>>, DbError> {
    let ids = db.run(|c| {
        let mut tx = c.transaction()?;
        if !lease::holds(&mut tx, job, token)? {
            return Ok(None);
        }
        let mut ids = Vec::new();
        for (i, e) in evaluations.iter().enumerate() {
            let preferred = prefer.get(i).cloned().flatten();
            let build = e.build.as_ref().and_then(|b| serde_json::to_value(b).ok());
            // A known build: the runs are wanted as they are.
            let wanted = e
                .build
                .as_ref()
                .map(|_| (e.runs.start as i32, e.runs.end as i32));
            let row = tx.query_one(
                "INSERT INTO tasks (job_id, token, commit_hash, build, runs_from, runs_to,
                                    wanted_from, wanted_to, prefer)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                &[
                    &job,
                    &token,
                    &e.commit,
                    &build,
                    &(e.runs.start as i32),
                    &(e.runs.end as i32),
                    &wanted.map(|w| w.0),
                    &wanted.map(|w| w.1),
                    &preferred,
                ],
            )?;
            ids.push(row.get::<_, i64>(0));
        }
        tx.commit()?;
        Ok(Some(ids))
    })?;
    let Some(ids) = ids else {
        return Ok(None);
    };
    Ok(Some(
        ids.into_iter()
            .zip(evaluations)
            .map(|(id, e)| Handed {
                id,
                evaluation: e.clone(),
                seen: 0,
                wanted: e.build.as_ref().map(|_| e.runs.clone()),
                here: false,
                finished: false,
            })
            .collect(),
    ))
}

/// Takes back tasks nobody finished: queued or running ones stop.
pub(super) fn abandon(db: &mut Db, ids: &[i64]) -> Result<(), DbError> {
    if ids.is_empty() {
        return Ok(());
    }
    db.run(|c| {
        c.execute(
            "UPDATE tasks SET state = 'abandoned' WHERE id = ANY($1) AND state IN ('queued', 'running')",
            &[&ids],
        )
    })?;
    Ok(())
}

/// Marks a task done (its last event is posted).
pub(super) fn finish_task(db: &mut Db, task: i64) -> Result<(), DbError> {
    db.run(|c| {
        c.execute(
            "UPDATE tasks SET state = 'done' WHERE id = $1 AND state = 'running'",
            &[&task],
        )
    })?;
    Ok(())
}
