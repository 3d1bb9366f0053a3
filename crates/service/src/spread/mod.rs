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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::time::Duration;

use culprit_bisect::exec::evaluate_here;
use culprit_bisect::{
    BuildOutcome, Built, Capacity, Evaluation, EvaluationSink, Executor, RunOutcome,
};

use crate::db::Db;
use crate::shared::Shared;

mod follow;
mod helper;
mod tasks;
mod watch;

use follow::Follow;
use watch::Watch;

pub(crate) use helper::Helper;
use tasks::{abandon, helper_heads, insert_tasks, insert_tasks_preferring};

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
        if let Some(rest) = left.filter(|_| !self.shared.stopping()) {
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
    fn capabilities(&self) -> culprit_bisect::Capabilities {
        self.local.capabilities()
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
        let Some(first) = evaluations.first().map(|e| e.commit.clone()) else {
            return;
        };
        if !self.shared.stopping() {
            let shared = self.shared.clone();
            let mut watched = Watch::new(sink, &shared, self.job);
            self.evaluate_watched(evaluations, &mut watched);
        }
        // Asked to stop: what ended is recorded; the engine stops here
        // rather than go on with fewer runs than it asked for.
        if self.shared.stopping() {
            self.shared.stop_job();
            let reason = "the worker is stopping".to_owned();
            sink.built(&first, BuildOutcome::Infra { reason }, 0.0);
        }
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

impl Spread {
    /// Evaluates here, on helpers, or from a prefetch, every result going
    /// through `sink` (which stops the work when the worker stops).
    fn evaluate_watched(&mut self, evaluations: Vec<Evaluation>, sink: &mut dyn EvaluationSink) {
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
                if self.shared.stopping() {
                    return;
                }
                self.local_head = Some(evaluation.commit.clone());
                if !evaluate_local(self.local.as_mut(), evaluation, sink) {
                    return;
                }
            }
            return;
        }
        self.evaluate_spread(evaluations, sink);
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
    /// Set when the worker is asked to stop: what ends is still recorded.
    worker_stop: &'s AtomicBool,
    /// Runs already given to the engine: a task made again must not give
    /// them twice.
    given: HashSet<(String, u32)>,
    built: HashMap<String, Built>,
}

impl Batch<'_> {
    /// Whether results are dropped: the engine wants no more, and the
    /// worker is not finishing what is in progress.
    fn dropping(&self) -> bool {
        self.stopping && !self.worker_stop.load(Ordering::SeqCst)
    }

    fn built(&mut self, commit: &str, outcome: BuildOutcome, secs: f64) -> Range<u32> {
        if self.dropping() {
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
        if self.dropping() {
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
                tracing::warn!(job = self.job, error = %e, "cannot hand out evaluations");
                self.db = Some(db);
                for evaluation in std::iter::once(first).chain(rest) {
                    if self.shared.stopping()
                        || !evaluate_local(self.local.as_mut(), evaluation, sink)
                    {
                        return;
                    }
                }
                return;
            }
        };
        let mut batch = Batch {
            sink,
            stopping: false,
            worker_stop: &self.shared.stop,
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
            tracing::warn!(job = self.job, error = %e, "handing out evaluations failed");
        }
        self.db = Some(db);
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
    if exec.capabilities().runs_need_local_build
        && evaluation.build.is_some()
        && !evaluation.runs.is_empty()
    {
        let _ = exec.build(&evaluation.commit);
    }
    evaluate_here(exec, evaluation, sink)
}
