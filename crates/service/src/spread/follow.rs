//! The owner's side of handed-out evaluations: reading the helpers'
//! task events into the engine's sink as they arrive, taking back tasks
//! nobody took, and making again the tasks of workers that died.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use culprit_bisect::Evaluation;

use crate::db::{Db, DbError};

use super::tasks::{abandon, finish_task, insert_tasks, PREFER_GRACE};
use super::{Batch, Handed, LocalMsg, TaskEvent, POLL};

/// The owner following its handed-out evaluations.
pub(super) struct Follow<'d> {
    pub(super) db: &'d mut Db,
    pub(super) me: &'d str,
    pub(super) lease: Duration,
    pub(super) handed: Vec<Handed>,
    pub(super) local_busy: bool,
    pub(super) work: Option<Sender<Evaluation>>,
    pub(super) rx: Receiver<LocalMsg>,
    /// The last task taken back and evaluated here.
    pub(super) local_last: Option<String>,
}

impl Follow<'_> {
    pub(super) fn answer(&mut self, message: LocalMsg, batch: &mut Batch<'_>) {
        match message {
            LocalMsg::Built(commit, outcome, secs, reply) => {
                let _ = reply.send(batch.built(&commit, outcome, secs));
            }
            LocalMsg::Ran(commit, index, outcome, secs, reply) => {
                let _ = reply.send(batch.ran(&commit, index, outcome, secs));
            }
            LocalMsg::Finished(going) => {
                self.local_busy = false;
                if !going {
                    batch.stopping = true;
                }
                let mut done = Vec::new();
                for h in self.handed.iter_mut().filter(|h| h.here && !h.finished) {
                    h.finished = true;
                    done.push(h.id);
                }
                // Taken back and made here: done, as a helper would say.
                for id in done {
                    let _ = finish_task(self.db, id);
                }
            }
        }
    }

    pub(super) fn until_done(&mut self, batch: &mut Batch<'_>) -> Result<(), DbError> {
        let mut last_look = Instant::now() - POLL;
        loop {
            match self.rx.recv_timeout(POLL) {
                Ok(message) => self.answer(message, batch),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.local_busy = false,
            }
            if batch.worker_stop.load(std::sync::atomic::Ordering::SeqCst) {
                batch.stopping = true;
            }
            if batch.stopping {
                let ids: Vec<i64> = self
                    .handed
                    .iter()
                    .filter(|h| !h.finished)
                    .map(|h| h.id)
                    .collect();
                abandon(self.db, &ids)?;
                return Ok(());
            }
            if last_look.elapsed() < POLL {
                continue;
            }
            last_look = Instant::now();
            if let Err(e) = self.look(batch) {
                batch.stopping = true;
                let ids: Vec<i64> = self
                    .handed
                    .iter()
                    .filter(|h| !h.finished)
                    .map(|h| h.id)
                    .collect();
                let _ = abandon(self.db, &ids);
                return Err(e);
            }
            if !self.local_busy && self.handed.iter().all(|h| h.finished) {
                return Ok(());
            }
        }
    }

    /// Reads the helpers' new events, takes back tasks nobody took, and
    /// makes again those whose helper died.
    fn look(&mut self, batch: &mut Batch<'_>) -> Result<(), DbError> {
        let open: Vec<usize> = (0..self.handed.len())
            .filter(|&i| !self.handed[i].finished && !self.handed[i].here)
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = open.iter().map(|&i| self.handed[i].id).collect();
        let seen: Vec<i32> = open.iter().map(|&i| self.handed[i].seen).collect();
        let events = self.db.run(|c| {
            c.query(
                "SELECT e.task_id, e.n, e.event FROM task_events e
                 JOIN unnest($1::bigint[], $2::int[]) AS s(id, seen)
                   ON e.task_id = s.id AND e.n > s.seen
                 ORDER BY e.task_id, e.n",
                &[&ids, &seen],
            )
        })?;
        for row in &events {
            let (task, n, event): (i64, i32, serde_json::Value) =
                (row.get(0), row.get(1), row.get(2));
            let Some(h) = self.handed.iter_mut().find(|h| h.id == task) else {
                continue;
            };
            if n != h.seen + 1 {
                continue;
            }
            h.seen = n;
            let Ok(event) = serde_json::from_value::<TaskEvent>(event) else {
                continue;
            };
            match event {
                TaskEvent::Built { build, secs } => {
                    let runs = batch.built(&h.evaluation.commit, build.into(), secs);
                    h.wanted = Some(runs.clone());
                    let (from, to) = (runs.start as i32, runs.end as i32);
                    let id = h.id;
                    self.db.run(|c| {
                        c.execute(
                            "UPDATE tasks SET wanted_from = $2, wanted_to = $3 WHERE id = $1",
                            &[&id, &from, &to],
                        )
                    })?;
                }
                TaskEvent::Ran {
                    index,
                    outcome,
                    secs,
                } => {
                    let commit = h.evaluation.commit.clone();
                    batch.ran(&commit, index, outcome, secs);
                }
                TaskEvent::Done => h.finished = true,
            }
            if batch.stopping {
                return Ok(());
            }
        }
        self.take_back_or_redo(batch)
    }

    fn take_back_or_redo(&mut self, batch: &mut Batch<'_>) -> Result<(), DbError> {
        let ids: Vec<i64> = self
            .handed
            .iter()
            .filter(|h| !h.finished && !h.here)
            .map(|h| h.id)
            .collect();
        let me = self.me.to_owned();
        let lease_secs = self.lease.as_secs_f64();
        let states = self.db.run(|c| {
            c.query(
                "SELECT id, state, coalesce(lease_until < now(), false),
                        prefer IS NULL OR created_at < now() - make_interval(secs => $2)
                 FROM tasks WHERE id = ANY($1)",
                &[&ids, &PREFER_GRACE.as_secs_f64()],
            )
        })?;
        for row in &states {
            let (id, state, expired): (i64, String, bool) = (row.get(0), row.get(1), row.get(2));
            let free: bool = row.get(3);
            let Some(index) = self.handed.iter().position(|h| h.id == id) else {
                continue;
            };
            if state == "queued" && !self.local_busy && free {
                // Nobody took it: evaluate it here.
                let taken = self.db.run(|c| {
                    c.execute(
                        "UPDATE tasks SET state = 'running', owner = $2,
                             lease_until = now() + make_interval(secs => $3)
                         WHERE id = $1 AND state = 'queued'",
                        &[&id, &me, &lease_secs],
                    )
                })?;
                if taken == 1 {
                    let h = &mut self.handed[index];
                    h.here = true;
                    self.local_busy = true;
                    self.local_last = Some(h.evaluation.commit.clone());
                    if let Some(work) = &self.work {
                        let _ = work.send(h.evaluation.clone());
                    }
                }
            } else if state == "running" && expired {
                self.redo(index, batch)?;
            }
        }
        Ok(())
    }

    /// The helper of task `index` died: hand out what is left of it again.
    fn redo(&mut self, index: usize, batch: &mut Batch<'_>) -> Result<(), DbError> {
        let old = self.handed[index].id;
        let gone = self.db.run(|c| {
            c.execute(
                "UPDATE tasks SET state = 'abandoned' WHERE id = $1 AND state = 'running'",
                &[&old],
            )
        })?;
        if gone != 1 {
            return Ok(());
        }
        let h = &self.handed[index];
        let commit = h.evaluation.commit.clone();
        let mut evaluation = h.evaluation.clone();
        if let Some(wanted) = h.wanted.clone() {
            // The build was reported: only the runs not yet given remain.
            let Some(built) = batch.built.get(&commit).cloned() else {
                self.handed[index].finished = true;
                return Ok(());
            };
            let start = wanted
                .clone()
                .find(|i| !batch.given.contains(&(commit.clone(), *i)))
                .unwrap_or(wanted.end);
            evaluation = Evaluation {
                commit: commit.clone(),
                build: Some(built),
                runs: start..wanted.end,
            };
        }
        self.handed[index].finished = true;
        if evaluation.build.is_some() && evaluation.runs.is_empty() {
            return Ok(());
        }
        let job_token = self.db.run(|c| {
            c.query_one("SELECT job_id, token FROM tasks WHERE id = $1", &[&old])
                .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1)))
        })?;
        let Some(mut again) = insert_tasks(
            self.db,
            job_token.0,
            job_token.1,
            std::slice::from_ref(&evaluation),
        )?
        else {
            batch.stopping = true;
            return Ok(());
        };
        if let Some(wanted) = self.handed[index].wanted.clone() {
            for h in &mut again {
                h.wanted = Some(wanted.clone());
            }
        }
        self.handed.extend(again);
        Ok(())
    }
}
