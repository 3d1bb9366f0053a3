//! What the engine knows of every tested commit, kept up to date as builds
//! and runs arrive: each is journaled first, then remembered, then folded
//! into the strategies' knowledge.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::ops::Range;
use std::sync::Arc;

use culprit_git::CommitGraph;

use crate::evidence::{CommitEvidence, Knowledge, RunClass};
use crate::exec::{
    BuildOutcome, Built, CrashSeen, Evaluation, EvaluationSink, RunOutcome, SameBug,
};
use crate::journal::{Journal, Record};
use crate::outcome::Times;

/// One tested commit.
#[derive(Debug, Clone)]
pub(super) struct Tested {
    /// The build, or why it failed.
    pub build: Result<Built, String>,
    /// Run outcomes in index order (runs that ended early wait in
    /// [`Ledger::early`] until the runs before them are in).
    pub runs: Vec<RunOutcome>,
    /// Set when the runs were copied from an identical build.
    pub reused_from: Option<String>,
    /// Seconds the build took.
    pub build_secs: f64,
    /// Seconds each run took, in index order.
    pub run_secs: Vec<f64>,
}

/// The suspect range once the ends are known: where each commit's runs go
/// in the strategies' knowledge.
struct InRange {
    index: HashMap<String, u32>,
    olds: Vec<String>,
    knowledge: Knowledge,
}

/// Builds and runs as recorded, and the knowledge derived from them.
pub(super) struct Ledger<'a> {
    journal: &'a mut Journal,
    /// Every commit tested, by full hash.
    pub tested: HashMap<String, Tested>,
    /// The first commit tested with each build signature.
    by_signature: HashMap<String, String>,
    /// Time spent.
    pub times: Times,
    /// The title of the crash bisected, once known.
    pub target: Option<String>,
    /// One report of the crash bisected (from the bad end).
    target_report: String,
    /// Tells crashes of other titles that are the same bug.
    same_bug: Arc<dyn SameBug>,
    /// Why crashes of other titles were found to be the bisected bug (or
    /// not: `None`), by title and report.
    relations: RefCell<HashMap<(String, u64), Option<String>>>,
    range: Option<InRange>,
    /// Runs wanted per commit in the evaluation under way.
    wanted: HashMap<String, Range<u32>>,
    /// Runs that ended before a run with a lower index.
    early: HashMap<String, BTreeMap<u32, (RunOutcome, f64)>>,
    /// Why the evaluation under way had to stop (journal or build
    /// infrastructure failure).
    pub failure: Option<String>,
    /// Runs in a row that ended in an infrastructure problem.
    infra_streak: u32,
    /// Commits that reached [`RUN_CAP`], in the order they did.
    pub capped: Vec<String>,
}

/// The most runs one commit gets, whatever a strategy asks: a commit whose
/// runs never settle it (another crash hiding the bug every time, say) is
/// skipped then, as a commit that cannot be tested.
pub const RUN_CAP: u32 = 200;

impl<'a> Ledger<'a> {
    pub fn new(journal: &'a mut Journal, same_bug: Arc<dyn SameBug>) -> Self {
        Ledger {
            journal,
            tested: HashMap::new(),
            by_signature: HashMap::new(),
            times: Times::default(),
            target: None,
            target_report: String::new(),
            same_bug,
            relations: RefCell::new(HashMap::new()),
            range: None,
            wanted: HashMap::new(),
            early: HashMap::new(),
            failure: None,
            infra_streak: 0,
            capped: Vec::new(),
        }
    }

    /// A run against the crash being bisected: the same bug (by title,
    /// or by what its report shows) is evidence; another crash is none.
    pub fn classify(&self, run: &RunOutcome) -> RunClass {
        match run {
            RunOutcome::Ok => RunClass::Ok,
            RunOutcome::Crashed { .. } | RunOutcome::Failed { .. } => {
                let title = run.crash_title().unwrap_or_default();
                match self.relation(&title, run.report().unwrap_or_default()) {
                    Some(_) => RunClass::Crash,
                    None => RunClass::OtherCrash,
                }
            }
            RunOutcome::Invalid { .. } => RunClass::Invalid,
            RunOutcome::Infra { .. } => RunClass::Infra,
        }
    }

    /// Sets the crash bisected: its title and one report of it.
    pub fn set_target(&mut self, target: Option<(String, String)>) {
        let (title, report) = target.unzip();
        if title != self.target {
            self.relations.borrow_mut().clear();
        }
        self.target = title;
        self.target_report = report.unwrap_or_default();
    }

    /// Why a crash is the bug bisected: `same title`, what relates it, or
    /// `None` for another crash.
    pub fn relation(&self, title: &str, report: &str) -> Option<String> {
        let target = self.target.as_deref()?;
        if title == target {
            return Some("same title".into());
        }
        let key = (title.to_owned(), digest(report));
        if let Some(known) = self.relations.borrow().get(&key) {
            return known.clone();
        }
        let target = CrashSeen {
            title: target,
            report: &self.target_report,
        };
        let found = self.same_bug.relate(target, CrashSeen { title, report });
        self.relations.borrow_mut().insert(key, found.clone());
        found
    }

    /// Why a crash is the one the user asked for by `asked` (a title as
    /// another tool names it), if the executor can tell.
    pub fn recognise(&self, asked: &str, title: &str, report: &str) -> Option<String> {
        self.same_bug.recognise(asked, CrashSeen { title, report })
    }

    /// The evidence of one commit as it stands.
    pub fn evidence(&self, hash: &str) -> CommitEvidence {
        match self.tested.get(hash) {
            Some(t) => CommitEvidence {
                build_failed: t.build.is_err() || self.capped.iter().any(|c| c == hash),
                runs: t
                    .runs
                    .iter()
                    .map(|r| self.classify(r))
                    .filter(|c| *c != RunClass::Infra)
                    .collect(),
            },
            None => CommitEvidence::default(),
        }
    }

    /// Starts keeping the strategies' knowledge of `graph`, whose old ends
    /// are `olds`, from everything tested so far.
    pub fn enter_range(&mut self, graph: &CommitGraph, olds: &[String]) {
        let mut knowledge = Knowledge::new(graph.len());
        let index: HashMap<String, u32> = (0..graph.len() as u32)
            .map(|i| (graph.id(i).to_owned(), i))
            .collect();
        for hash in self.tested.keys() {
            if let Some(&i) = index.get(hash) {
                knowledge.commits[i as usize] = Some(self.evidence(hash));
            }
        }
        for old in olds {
            let e = self.evidence(old);
            knowledge.old_end.build_failed |= e.build_failed;
            knowledge.old_end.runs.extend(e.runs);
        }
        self.range = Some(InRange {
            index,
            olds: olds.to_vec(),
            knowledge,
        });
    }

    /// The strategies' knowledge (empty before [`Ledger::enter_range`]).
    pub fn knowledge(&self) -> &Knowledge {
        static EMPTY: std::sync::OnceLock<Knowledge> = std::sync::OnceLock::new();
        match &self.range {
            Some(r) => &r.knowledge,
            None => EMPTY.get_or_init(Knowledge::default),
        }
    }

    /// Folds a build or a run into the knowledge of the range.
    fn learn(&mut self, hash: &str, class: Option<RunClass>) {
        let Some(range) = &mut self.range else { return };
        let evidence = match range.index.get(hash) {
            Some(&i) => range.knowledge.entry(i),
            None if range.olds.iter().any(|o| o == hash) => &mut range.knowledge.old_end,
            None => return,
        };
        match class {
            // An infrastructure problem is not evidence: the run is made
            // again, whether now or after a resume.
            Some(RunClass::Infra) => {}
            Some(class) => evidence.runs.push(class),
            None => evidence.build_failed = true,
        }
    }

    /// What a build has cost so far in test runs: the mean build time over
    /// the mean time of a run; `None` until a build and a run were timed.
    pub fn build_cost(&self) -> Option<f64> {
        let builds = self.tested.len();
        let runs: usize = self.tested.values().map(|t| t.runs.len()).sum();
        if builds == 0 || runs == 0 || self.times.test <= 0.0 {
            return None;
        }
        Some((self.times.build / builds as f64) / (self.times.test / runs as f64))
    }

    /// What remains to evaluate for `runs` more runs at `hash`, after the
    /// journal (a resumed bisection) and an identical build's runs are
    /// used; `None` when nothing remains.
    pub fn plan(&mut self, hash: &str, runs: u32) -> Result<Option<Evaluation>, String> {
        let from = self.tested.get(hash).map_or(0, |t| t.runs.len() as u32);
        if from >= RUN_CAP && runs > 0 {
            if !self.capped.iter().any(|c| c == hash) {
                self.capped.push(hash.to_owned());
                // No more runs will come: it can only be skipped.
                self.learn(hash, None);
            }
            return Ok(None);
        }
        let wanted = from..(from + runs).min(RUN_CAP);
        if !self.tested.contains_key(hash) {
            let Some(record) = self.journal.build(hash).cloned() else {
                self.wanted.insert(hash.to_owned(), wanted.clone());
                return Ok(Some(Evaluation {
                    commit: hash.to_owned(),
                    build: None,
                    runs: wanted,
                }));
            };
            self.times.add_build(record.secs);
            let build = record
                .built
                .ok_or_else(|| record.failure.unwrap_or_default());
            self.remember_build(hash, build, record.secs);
        }
        let Ok(built) = self.tested[hash].build.clone() else {
            return Ok(None);
        };
        let left = self.replay_runs(hash, wanted)?;
        if left.is_empty() {
            return Ok(None);
        }
        self.wanted.insert(hash.to_owned(), left.clone());
        Ok(Some(Evaluation {
            commit: hash.to_owned(),
            build: Some(built),
            runs: left,
        }))
    }

    /// Takes runs of `wanted` from the journal, then from an identical
    /// build; returns the runs still to make.
    fn replay_runs(&mut self, hash: &str, wanted: Range<u32>) -> Result<Range<u32>, String> {
        let mut next = wanted.start;
        while next < wanted.end {
            let Some(record) = self.journal.run(hash, next).cloned() else {
                break;
            };
            self.times.add_test(record.secs);
            self.push_run(hash, next, record.outcome, record.secs);
            next += 1;
        }
        let donor = self.tested.get(hash).and_then(|t| t.reused_from.clone());
        while next < wanted.end {
            let donated = donor
                .as_ref()
                .and_then(|d| self.tested.get(d))
                .and_then(|t| t.runs.get(next as usize))
                .cloned();
            let Some(outcome) = donated else { break };
            self.journal
                .append(Record::Run {
                    commit: hash.to_owned(),
                    index: next,
                    outcome: outcome.clone(),
                    secs: 0.0,
                    reused_from: donor.clone(),
                })
                .map_err(|e| e.to_string())?;
            self.push_run(hash, next, outcome, 0.0);
            next += 1;
        }
        Ok(next..wanted.end)
    }

    fn remember_build(&mut self, hash: &str, build: Result<Built, String>, secs: f64) {
        let reused_from = build.as_ref().ok().and_then(|b| {
            let first = self
                .by_signature
                .entry(b.signature.clone())
                .or_insert_with(|| hash.to_owned());
            (first != hash).then(|| first.clone())
        });
        if build.is_err() {
            self.learn(hash, None);
        }
        self.tested.insert(
            hash.to_owned(),
            Tested {
                build,
                runs: Vec::new(),
                reused_from,
                build_secs: secs,
                run_secs: Vec::new(),
            },
        );
    }

    /// Puts run `index` in place, with any runs after it that ended early.
    fn push_run(&mut self, hash: &str, index: u32, outcome: RunOutcome, secs: f64) {
        let early = self.early.entry(hash.to_owned()).or_default();
        early.insert(index, (outcome, secs));
        loop {
            let Some(t) = self.tested.get_mut(hash) else {
                return;
            };
            let next = t.runs.len() as u32;
            let Some((outcome, secs)) = self.early.get_mut(hash).and_then(|e| e.remove(&next))
            else {
                return;
            };
            let class = self.classify(&outcome);
            if let Some(t) = self.tested.get_mut(hash) {
                t.runs.push(outcome);
                t.run_secs.push(secs);
            }
            self.learn(hash, Some(class));
        }
    }

    fn fail(&mut self, why: String) {
        self.failure.get_or_insert(why);
    }
}

impl EvaluationSink for Ledger<'_> {
    fn built(&mut self, commit: &str, outcome: BuildOutcome, secs: f64) -> Range<u32> {
        let wanted = self.wanted.remove(commit).unwrap_or(0..0);
        let (built, failure) = match outcome {
            BuildOutcome::Built(b) => (Some(b), None),
            BuildOutcome::Failed { reason } => (None, Some(reason)),
            BuildOutcome::Infra { reason } => {
                self.fail(format!("cannot build {commit}: {reason}"));
                return 0..0;
            }
        };
        let record = Record::Build {
            commit: commit.to_owned(),
            built: built.clone(),
            failure: failure.clone(),
            secs,
        };
        if let Err(e) = self.journal.append(record) {
            self.fail(e.to_string());
            return 0..0;
        }
        self.times.build += secs;
        let build = built.ok_or_else(|| failure.unwrap_or_default());
        let ok = build.is_ok();
        self.remember_build(commit, build, secs);
        if !ok {
            return 0..0;
        }
        match self.replay_runs(commit, wanted) {
            Ok(left) => left,
            Err(e) => {
                self.fail(e);
                0..0
            }
        }
    }

    fn ran(&mut self, commit: &str, index: u32, outcome: RunOutcome, secs: f64) -> bool {
        let infra = match &outcome {
            RunOutcome::Infra { reason } => Some(reason.clone()),
            _ => None,
        };
        let record = Record::Run {
            commit: commit.to_owned(),
            index,
            outcome: outcome.clone(),
            secs,
            reused_from: None,
        };
        if let Err(e) = self.journal.append(record) {
            self.fail(e.to_string());
            return false;
        }
        self.push_run(commit, index, outcome, secs);
        match infra {
            Some(reason) => {
                self.infra_streak += 1;
                if self.infra_streak >= INFRA_IN_A_ROW {
                    self.fail(format!(
                        "too many infrastructure problems at {commit}: {reason} ({} runs in a row; what was learned is kept: run the same command again once it is mended)",
                        self.infra_streak
                    ));
                    return false;
                }
            }
            None => self.infra_streak = 0,
        }
        true
    }
}

/// Infrastructure problems in a row that stop a bisection (they teach
/// nothing, and more runs would hit them too).
const INFRA_IN_A_ROW: u32 = 3;

/// A short digest of a report, to remember relations by.
fn digest(text: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}
