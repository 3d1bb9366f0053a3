//! One bisection on several workers. When the strategy asks for several
//! commits at once, the owner of the job evaluates the first itself and
//! hands the others to idle workers as tasks in the database; each result
//! (the build, then every run) comes back as a task event and goes to the
//! engine as it arrives, so the engine journals it as if it had been made
//! here. A task nobody took is taken back; a task whose worker died is
//! made again (without the runs already reported).
//!
//! The helper's side ([`Helper`]) builds the commit, waits for the owner
//! to say which runs it still wants (an identical build may make them
//! unnecessary), and makes them, checking before each that the task is
//! still wanted.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use culprit_bisect::exec::evaluate_here;
use culprit_bisect::{
    BuildOutcome, Built, Capacity, Evaluation, EvaluationSink, Executor, RunOutcome,
};

use crate::db::{Db, DbError};
use crate::spec::JobSpec;
use crate::worker::Shared;

/// How often the owner looks for results, and a helper for the owner's
/// answer.
const POLL: Duration = Duration::from_millis(20);

/// A build, as a task event carries it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum BuildReport {
    Built { built: Built },
    Failed { reason: String },
    Infra { reason: String },
}

impl From<BuildOutcome> for BuildReport {
    fn from(outcome: BuildOutcome) -> Self {
        match outcome {
            BuildOutcome::Built(built) => BuildReport::Built { built },
            BuildOutcome::Failed { reason } => BuildReport::Failed { reason },
            BuildOutcome::Infra { reason } => BuildReport::Infra { reason },
        }
    }
}

impl From<BuildReport> for BuildOutcome {
    fn from(report: BuildReport) -> Self {
        match report {
            BuildReport::Built { built } => BuildOutcome::Built(built),
            BuildReport::Failed { reason } => BuildOutcome::Failed { reason },
            BuildReport::Infra { reason } => BuildOutcome::Infra { reason },
        }
    }
}

/// What a helper reports, in order.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
enum TaskEvent {
    Built {
        build: BuildReport,
        secs: f64,
    },
    Ran {
        index: u32,
        outcome: RunOutcome,
        secs: f64,
    },
    Done,
}

/// The owner's executor: the job's own executor, plus idle workers.
pub struct Spread {
    local: Box<dyn Executor + Send>,
    db: Option<Db>,
    shared: Arc<Shared>,
    job: i64,
    token: i64,
    helpers: usize,
    /// The good end, handed to a helper while the bad end is checked here.
    prefetch: Vec<Prefetch>,
    /// Reverts made in the local checkout (to verify a culprit).
    reverts: HashSet<String>,
    /// The commit the local executor evaluated last (its checkout holds
    /// that build: more runs there need no rebuild).
    local_head: Option<String>,
}

/// An end evaluated ahead of the engine's asking (ends are checked one
/// after the other; with idle workers they need not wait for each other).
struct Prefetch {
    task: i64,
    commit: String,
}

impl Spread {
    /// `local` evaluates here; up to `helpers` more evaluations at once go
    /// to other workers through `db`.
    pub(crate) fn new(
        local: Box<dyn Executor + Send>,
        db: Option<Db>,
        shared: Arc<Shared>,
        job: i64,
        token: i64,
        helpers: usize,
    ) -> Self {
        Spread {
            local,
            db,
            shared,
            job,
            token,
            helpers,
            prefetch: Vec::new(),
            reverts: HashSet::new(),
            local_head: None,
        }
    }

    /// Hands the evaluation of `commit` (build, then `runs` runs) to an idle
    /// worker now; when the engine asks for it, the results are given as
    /// they were made. Only with helpers, and only for a commit the
    /// journal does not have yet.
    pub(crate) fn prefetch(&mut self, commit: &str, runs: u32) {
        let (Some(db), true) = (self.db.as_mut(), self.helpers > 0) else {
            return;
        };
        let evaluation = Evaluation {
            commit: commit.to_owned(),
            build: None,
            runs: 0..runs,
        };
        let inserted = insert_tasks(db, self.job, self.token, std::slice::from_ref(&evaluation));
        let Ok(Some(handed)) = inserted else { return };
        let Some(task) = handed.first().map(|h| h.id) else {
            return;
        };
        let (from, to) = (0i32, runs as i32);
        // The runs are wanted whatever the build: the helper need not wait.
        let preset = db.run(|c| {
            c.execute(
                "UPDATE tasks SET wanted_from = $2, wanted_to = $3 WHERE id = $1",
                &[&task, &from, &to],
            )
        });
        if preset.is_err() {
            let _ = abandon(db, &[task]);
            return;
        }
        self.prefetch.push(Prefetch {
            task,
            commit: commit.to_owned(),
        });
    }

    /// Stops the prefetches of commits asked for with others: they are
    /// handed out with the rest.
    fn drop_prefetches(&mut self, evaluations: &[Evaluation]) {
        let asked: HashSet<&str> = evaluations.iter().map(|e| e.commit.as_str()).collect();
        let (gone, kept): (Vec<Prefetch>, Vec<Prefetch>) = std::mem::take(&mut self.prefetch)
            .into_iter()
            .partition(|p| asked.contains(p.commit.as_str()));
        self.prefetch = kept;
        let ids: Vec<i64> = gone.iter().map(|p| p.task).collect();
        if let Some(db) = self.db.as_mut() {
            let _ = abandon(db, &ids);
        }
    }

    /// Gives the engine the prefetched evaluation of `evaluation`'s
    /// commit, making here whatever the helper did not.
    fn evaluate_prefetched(
        &mut self,
        prefetch: Prefetch,
        evaluation: Evaluation,
        sink: &mut dyn EvaluationSink,
    ) {
        let Some(mut db) = self.db.take() else {
            evaluate_local(self.local.as_mut(), evaluation, sink);
            return;
        };
        let left = follow_prefetch(&mut db, &prefetch, &evaluation, sink);
        let _ = abandon(&mut db, &[prefetch.task]);
        self.db = Some(db);
        if let Some(rest) = left {
            evaluate_local(self.local.as_mut(), rest, sink);
        }
    }
}

impl Drop for Spread {
    fn drop(&mut self) {
        let ids: Vec<i64> = self.prefetch.drain(..).map(|p| p.task).collect();
        if let Some(db) = self.db.as_mut() {
            let _ = abandon(db, &ids);
        }
    }
}

/// Follows a prefetch task's events into the engine's sink; returns what
/// is left to evaluate here (all of it when nobody took the task).
fn follow_prefetch(
    db: &mut Db,
    prefetch: &Prefetch,
    evaluation: &Evaluation,
    sink: &mut dyn EvaluationSink,
) -> Option<Evaluation> {
    let commit = &evaluation.commit;
    let mut seen = 0i32;
    let mut built: Option<Built> = None;
    let mut wanted: Option<Range<u32>> = None;
    let mut given: HashSet<u32> = HashSet::new();
    // What is left once the helper is gone or done.
    let left = |built: &Option<Built>, wanted: &Option<Range<u32>>, given: &HashSet<u32>| match (
        built, wanted,
    ) {
        (_, None) => Some(evaluation.clone()),
        (None, Some(_)) => None,
        (Some(b), Some(w)) => {
            let start = w.clone().find(|i| !given.contains(i)).unwrap_or(w.end);
            (start < w.end).then(|| Evaluation {
                commit: commit.clone(),
                build: Some(b.clone()),
                runs: start..w.end,
            })
        }
    };
    loop {
        let task = prefetch.task;
        let rows = db.run(|c| {
            c.query(
                "SELECT n, event FROM task_events WHERE task_id = $1 AND n > $2 ORDER BY n",
                &[&task, &seen],
            )
        });
        let Ok(rows) = rows else {
            return left(&built, &wanted, &given);
        };
        for row in &rows {
            let (n, event): (i32, serde_json::Value) = (row.get(0), row.get(1));
            if n != seen + 1 {
                break;
            }
            seen = n;
            match serde_json::from_value::<TaskEvent>(event) {
                Ok(TaskEvent::Built { build, secs }) if wanted.is_none() => {
                    let outcome: BuildOutcome = build.into();
                    if let BuildOutcome::Built(b) = &outcome {
                        built = Some(b.clone());
                    }
                    let infra = matches!(outcome, BuildOutcome::Infra { .. });
                    let runs = sink.built(commit, outcome, secs);
                    if infra || built.is_none() {
                        return None;
                    }
                    // The engine's runs, within what it asked for.
                    let runs = runs.start.max(evaluation.runs.start)
                        ..runs.end.min(evaluation.runs.end).max(runs.start);
                    wanted = Some(runs);
                }
                Ok(TaskEvent::Ran {
                    index,
                    outcome,
                    secs,
                }) => {
                    let Some(w) = &wanted else { continue };
                    if w.contains(&index)
                        && given.insert(index)
                        && !sink.ran(commit, index, outcome, secs)
                    {
                        return None;
                    }
                }
                Ok(TaskEvent::Done) => return left(&built, &wanted, &given),
                _ => {}
            }
        }
        if wanted
            .as_ref()
            .is_some_and(|w| w.clone().all(|i| given.contains(&i)))
        {
            return None;
        }
        let state = db.run(|c| {
            c.query_one(
                "SELECT state, coalesce(lease_until < now(), false) FROM tasks WHERE id = $1",
                &[&task],
            )
            .map(|r| (r.get::<_, String>(0), r.get::<_, bool>(1)))
        });
        match state {
            Ok((state, _)) if state == "queued" => {
                // Nobody took it: it is faster here than waiting.
                let _ = abandon(db, &[task]);
                return left(&built, &wanted, &given);
            }
            Ok((state, expired)) if state == "running" && !expired => {}
            Ok((state, _)) if state == "done" => {}
            _ => return left(&built, &wanted, &given),
        }
        std::thread::sleep(POLL);
    }
}

impl Executor for Spread {
    fn kind(&self) -> &'static str {
        self.local.kind()
    }

    fn capacity(&self) -> Capacity {
        let local = self.local.capacity();
        Capacity {
            builders: local.builders + self.helpers,
            machines: local.machines,
        }
    }

    fn build(&mut self, commit: &str) -> BuildOutcome {
        self.local.build(commit)
    }

    fn run(
        &mut self,
        build: &Built,
        runs: Range<u32>,
        done: &mut dyn FnMut(u32, RunOutcome, f64) -> bool,
    ) {
        self.local.run(build, runs, done)
    }

    fn evaluate(&mut self, evaluations: Vec<Evaluation>, sink: &mut dyn EvaluationSink) {
        if let [only] = evaluations.as_slice() {
            let at = self
                .prefetch
                .iter()
                .position(|p| p.commit == only.commit && only.build.is_none());
            if let Some(at) = at {
                let p = self.prefetch.remove(at);
                let evaluation = only.clone();
                self.evaluate_prefetched(p, evaluation, sink);
                return;
            }
        }
        self.drop_prefetches(&evaluations);
        let revert = evaluations.iter().any(|e| self.reverts.contains(&e.commit));
        if evaluations.len() < 2 || self.helpers == 0 || self.db.is_none() || revert {
            for evaluation in evaluations {
                self.local_head = Some(evaluation.commit.clone());
                if !evaluate_local(self.local.as_mut(), evaluation, sink) {
                    return;
                }
            }
            return;
        }
        self.evaluate_spread(evaluations, sink);
    }

    fn same_bug(&self) -> Arc<dyn culprit_bisect::exec::SameBug> {
        self.local.same_bug()
    }

    fn build_inputs(&mut self) -> Option<Box<dyn culprit_bisect::BuildInputs + '_>> {
        self.local.build_inputs()
    }

    /// The revert is made in this worker's checkout: it is evaluated here
    /// (other workers do not have the commit).
    fn revert(&mut self, base: &str, commit: &str) -> culprit_bisect::exec::RevertOutcome {
        let outcome = self.local.revert(base, commit);
        if let culprit_bisect::exec::RevertOutcome::Applied { commit } = &outcome {
            self.reverts.insert(commit.clone());
        }
        outcome
    }

    fn recipients(
        &mut self,
        culprit: &culprit_git::Commit,
    ) -> culprit_bisect::recipients::Recipients {
        self.local.recipients(culprit)
    }
}

/// A message from the thread evaluating here, with the channel for the
/// engine's answer.
enum LocalMsg {
    Built(String, BuildOutcome, f64, Sender<Range<u32>>),
    Ran(String, u32, RunOutcome, f64, Sender<bool>),
    Finished(bool),
}

/// The local thread's sink: asks the owner's loop, which holds the engine's.
struct Proxy {
    tx: Sender<LocalMsg>,
}

impl EvaluationSink for Proxy {
    fn built(&mut self, commit: &str, outcome: BuildOutcome, secs: f64) -> Range<u32> {
        let (reply, answer) = channel();
        let _ = self
            .tx
            .send(LocalMsg::Built(commit.to_owned(), outcome, secs, reply));
        answer.recv().unwrap_or(0..0)
    }

    fn ran(&mut self, commit: &str, index: u32, outcome: RunOutcome, secs: f64) -> bool {
        let (reply, answer) = channel();
        let _ = self.tx.send(LocalMsg::Ran(
            commit.to_owned(),
            index,
            outcome,
            secs,
            reply,
        ));
        answer.recv().unwrap_or(false)
    }
}

/// One evaluation handed out, as the owner follows it.
struct Handed {
    id: i64,
    evaluation: Evaluation,
    /// Events read so far.
    seen: i32,
    /// The runs the engine wanted after the build, once it was reported.
    wanted: Option<Range<u32>>,
    /// Taken back to be evaluated here.
    here: bool,
    finished: bool,
}

/// The owner's loop over one batch of evaluations.
struct Batch<'s> {
    sink: &'s mut dyn EvaluationSink,
    stopping: bool,
    /// Runs already given to the engine: a task made again must not give
    /// them twice.
    given: HashSet<(String, u32)>,
    built: HashMap<String, Built>,
}

impl Batch<'_> {
    fn built(&mut self, commit: &str, outcome: BuildOutcome, secs: f64) -> Range<u32> {
        if self.stopping {
            return 0..0;
        }
        if let BuildOutcome::Built(b) = &outcome {
            self.built.insert(commit.to_owned(), b.clone());
        }
        let infra = matches!(outcome, BuildOutcome::Infra { .. });
        let runs = self.sink.built(commit, outcome, secs);
        if infra {
            self.stopping = true;
        }
        runs
    }

    fn ran(&mut self, commit: &str, index: u32, outcome: RunOutcome, secs: f64) -> bool {
        if self.stopping {
            return false;
        }
        if !self.given.insert((commit.to_owned(), index)) {
            return true;
        }
        if !self.sink.ran(commit, index, outcome, secs) {
            self.stopping = true;
        }
        !self.stopping
    }
}

impl Spread {
    fn evaluate_spread(&mut self, mut evaluations: Vec<Evaluation>, sink: &mut dyn EvaluationSink) {
        // Here: more runs where this checkout already is, else a commit to
        // build anyway; more runs elsewhere go to whoever built it last.
        let here = evaluations
            .iter()
            .position(|e| e.build.is_some() && self.local_head.as_ref() == Some(&e.commit))
            .or_else(|| evaluations.iter().position(|e| e.build.is_none()))
            .unwrap_or(0);
        let first = evaluations.remove(here);
        let rest = evaluations;
        let Some(mut db) = self.db.take() else { return };
        let heads = helper_heads(&mut db, self.job, &self.shared.config.id).unwrap_or_default();
        let prefer: Vec<Option<String>> = rest
            .iter()
            .map(|e| {
                e.build.as_ref()?;
                heads
                    .iter()
                    .find(|(_, c)| *c == e.commit)
                    .map(|(w, _)| w.clone())
            })
            .collect();
        self.local_head = Some(first.commit.clone());
        let handed = match insert_tasks_preferring(&mut db, self.job, self.token, &rest, &prefer) {
            Ok(Some(handed)) => handed,
            Ok(None) => {
                // No longer ours: the journal refuses what comes next.
                self.db = Some(db);
                let _ = evaluate_local(self.local.as_mut(), first, sink);
                return;
            }
            Err(e) => {
                // No tasks: everything here, one after the other.
                eprintln!(
                    "culprit worker: job {}: cannot hand out evaluations: {e}",
                    self.job
                );
                self.db = Some(db);
                for evaluation in std::iter::once(first).chain(rest) {
                    if !evaluate_local(self.local.as_mut(), evaluation, sink) {
                        return;
                    }
                }
                return;
            }
        };
        let mut batch = Batch {
            sink,
            stopping: false,
            given: HashSet::new(),
            built: HashMap::new(),
        };
        let local = self.local.as_mut();
        let me = self.shared.config.id.clone();
        let lease = self.shared.config.lease;
        let result = std::thread::scope(|scope| {
            let (tx, rx) = channel();
            let (work, todo) = channel::<Evaluation>();
            scope.spawn(move || {
                for evaluation in todo {
                    let mut proxy = Proxy { tx: tx.clone() };
                    let going = evaluate_local(local, evaluation, &mut proxy);
                    let _ = tx.send(LocalMsg::Finished(going));
                }
            });
            let _ = work.send(first);
            let mut follow = Follow {
                db: &mut db,
                me: &me,
                lease,
                handed,
                local_busy: true,
                work: Some(work),
                rx,
                local_last: None,
            };
            let result = follow.until_done(&mut batch);
            follow.work = None;
            // Drain the local thread: it may still be asking.
            while follow.local_busy {
                match follow.rx.recv() {
                    Ok(message) => follow.answer(message, &mut batch),
                    Err(_) => break,
                }
            }
            (result, follow.local_last)
        });
        let (result, stolen) = result;
        if let Some(commit) = stolen {
            self.local_head = Some(commit);
        }
        if let Err(e) = result {
            eprintln!(
                "culprit worker: job {}: handing out evaluations: {e}",
                self.job
            );
        }
        self.db = Some(db);
    }
}

/// The owner following its handed-out evaluations.
struct Follow<'d> {
    db: &'d mut Db,
    me: &'d str,
    lease: Duration,
    handed: Vec<Handed>,
    local_busy: bool,
    work: Option<Sender<Evaluation>>,
    rx: Receiver<LocalMsg>,
    /// The last task taken back and evaluated here.
    local_last: Option<String>,
}

impl Follow<'_> {
    fn answer(&mut self, message: LocalMsg, batch: &mut Batch<'_>) {
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

    fn until_done(&mut self, batch: &mut Batch<'_>) -> Result<(), DbError> {
        let mut last_look = Instant::now() - POLL;
        loop {
            match self.rx.recv_timeout(POLL) {
                Ok(message) => self.answer(message, batch),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.local_busy = false,
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

/// Evaluates here. A kernel built elsewhere (by the worker that had the
/// job before, or by a helper) must be in this worker's builds to boot:
/// its build is asked for first (found in the kernel store when workers
/// share one, else made again).
fn evaluate_local<E: Executor + ?Sized>(
    exec: &mut E,
    evaluation: Evaluation,
    sink: &mut dyn EvaluationSink,
) -> bool {
    if exec.kind() == "kernel" && evaluation.build.is_some() && !evaluation.runs.is_empty() {
        let _ = exec.build(&evaluation.commit);
    }
    evaluate_here(exec, evaluation, sink)
}

/// How long a task waits for the worker it prefers before anyone may take
/// it (that worker has the build checked out; another would rebuild).
const PREFER_GRACE: Duration = Duration::from_secs(3);

/// The commit each other worker evaluated last for `job` (what its
/// checkout holds).
fn helper_heads(db: &mut Db, job: i64, me: &str) -> Result<Vec<(String, String)>, DbError> {
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
fn insert_tasks(
    db: &mut Db,
    job: i64,
    token: i64,
    evaluations: &[Evaluation],
) -> Result<Option<Vec<Handed>>, DbError> {
    insert_tasks_preferring(db, job, token, evaluations, &[])
}

/// [`insert_tasks`], each task for the worker `prefer` names first.
fn insert_tasks_preferring(
    db: &mut Db,
    job: i64,
    token: i64,
    evaluations: &[Evaluation],
    prefer: &[Option<String>],
) -> Result<Option<Vec<Handed>>, DbError> {
    let ids = db.run(|c| {
        let mut tx = c.transaction()?;
        let ours = tx.query_opt(
            "SELECT 1 FROM jobs WHERE id = $1 AND token = $2 AND state = 'running' FOR SHARE",
            &[&job, &token],
        )?;
        if ours.is_none() {
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

fn abandon(db: &mut Db, ids: &[i64]) -> Result<(), DbError> {
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

/// Renews the lease of a task this worker runs.
pub(crate) fn renew_task(
    db: &mut Db,
    task: i64,
    worker: &str,
    lease: Duration,
) -> Result<(), DbError> {
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
        let Some((task, spec)) = claim_task(db, &shared.config.id, shared.config.lease)? else {
            return Ok(false);
        };
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
            if matches!(spec, JobSpec::Kernel(_)) {
                crate::worker::link_kernel_store(&shared.config, task.job)
                    .map_err(|e| format!("kernel store: {e}"))?;
            }
            let dir = shared
                .config
                .workdir
                .join("help")
                .join(task.job.to_string());
            let repo = culprit_git::Repo::open(spec.repo()).map_err(|e| e.to_string())?;
            let exec =
                spec.executor_at(&repo, &dir, &dir.join("runs"), Box::new(std::io::sink()))?;
            self.executors.insert(task.job, exec);
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
                if exec.kind() == "kernel" {
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
            None => wanted(events.db, task)?,
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
                still_wanted(events.db, task).unwrap_or(false)
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
                           AND j.token = t.token AND j.owner IS DISTINCT FROM $1
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
/// when the task was abandoned or the job changed hands.
fn wanted(db: &mut Db, task: &Task) -> Result<Option<Range<u32>>, DbError> {
    loop {
        let row = db.run(|c| {
            c.query_one(
                "SELECT t.wanted_from, t.wanted_to, t.state = 'running' AND j.token = t.token
                        AND j.state = 'running'
                 FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE t.id = $1",
                &[&task.id],
            )
        })?;
        let (from, to, live): (Option<i32>, Option<i32>, bool) =
            (row.get(0), row.get(1), row.get(2));
        if !live {
            return Ok(None);
        }
        if let (Some(from), Some(to)) = (from, to) {
            return Ok(Some(from.max(0) as u32..to.max(0) as u32));
        }
        std::thread::sleep(POLL);
    }
}

/// Whether the owner still wants this task's runs.
fn still_wanted(db: &mut Db, task: &Task) -> Result<bool, DbError> {
    let row = db.run(|c| {
        c.query_opt(
            "SELECT 1 FROM tasks t JOIN jobs j ON j.id = t.job_id
             WHERE t.id = $1 AND t.state = 'running' AND j.token = $2 AND j.state = 'running'",
            &[&task.id, &task.token],
        )
    })?;
    Ok(row.is_some())
}

fn finish_task(db: &mut Db, task: i64) -> Result<(), DbError> {
    db.run(|c| {
        c.execute(
            "UPDATE tasks SET state = 'done' WHERE id = $1 AND state = 'running'",
            &[&task],
        )
    })?;
    Ok(())
}
