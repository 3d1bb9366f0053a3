//! The bisection loop: check the ends, load the suspect range, ask the
//! strategy what to evaluate until it is done, then report.
//!
//! Every build and run goes through the journal: on a re-run the same
//! decisions are replayed from it without building or running again, so
//! the log and the outcome come out the same.

mod commit;
mod ends;
mod finish;

use std::collections::HashMap;
use std::io::Write;

use culprit_git::{CommitGraph, Repo};

use crate::evidence::{CommitEvidence, Direction, Knowledge, RunClass};
use crate::exec::{Built, Executor, RunOutcome};
use crate::journal::Journal;
use crate::outcome::{Outcome, OutcomeKind, Step, Times};
use crate::strategy::range::{bisecting_line, suspects};
use crate::strategy::{Context, NextStep, Request, Strategy, Verdict};

/// What to bisect. Revisions are full hashes (see [`crate::input::check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bisection {
    /// Cause or fix.
    pub direction: Direction,
    /// The commit where the crash happens.
    pub bad: String,
    /// Cause: commits without the crash (none: test releases). Fix: the
    /// newer end without the crash (exactly one).
    pub good: Vec<String>,
    /// Runs of the test per commit (before doubling for flakiness).
    pub runs: u32,
    /// The title of the crash to bisect; `None`: the most common crash at
    /// the bad end (a reproducer that also hits another crash needs it).
    pub crash: Option<String>,
}

/// Why the bisection stopped early.
#[derive(Debug)]
enum Stop {
    /// Outcome `error`.
    Error(String),
    /// Outcome `always-bad`.
    AlwaysBad(String),
}

/// One tested commit, as far as the engine knows it.
#[derive(Debug, Clone)]
struct Tested {
    /// The build, or why it failed.
    build: Result<Built, String>,
    /// Raw run outcomes, in index order.
    runs: Vec<RunOutcome>,
    /// Set when the runs were copied from an identical build.
    reused_from: Option<String>,
}

/// Runs a bisection to its end and returns what it found. The human log
/// goes to `out`; builds and runs go through `journal` and `exec`.
pub fn run(
    repo: &Repo,
    bisection: &Bisection,
    strategy: &mut dyn Strategy,
    exec: &mut dyn Executor,
    journal: &mut Journal,
    out: &mut dyn Write,
) -> Outcome {
    let mut engine = Engine {
        repo,
        exec,
        journal,
        out,
        bisection,
        strategy_name: strategy.name(),
        target: None,
        tested: HashMap::new(),
        steps: Vec::new(),
        by_signature: HashMap::new(),
        times: Times::default(),
        good: Vec::new(),
        logged: HashMap::new(),
    };
    let result = engine.bisect(strategy);
    engine.conclude(result)
}

struct Engine<'a> {
    repo: &'a Repo,
    exec: &'a mut dyn Executor,
    journal: &'a mut Journal,
    out: &'a mut dyn Write,
    bisection: &'a Bisection,
    strategy_name: &'static str,
    /// The title of the crash bisected, once the bad end is tested.
    target: Option<String>,
    tested: HashMap<String, Tested>,
    /// Steps in test order, for the JSON.
    steps: Vec<Step>,
    /// First commit tested with each build signature.
    by_signature: HashMap<String, String>,
    times: Times,
    /// The good end(s) used.
    good: Vec<String>,
    /// The verdict last logged (`# git bisect ...`) per commit.
    logged: HashMap<String, Verdict>,
}

impl Engine<'_> {
    /// Writes one line of the human log. A closed stdout must not stop the
    /// bisection (the journal and the JSON still record everything).
    fn say(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    fn bisect(&mut self, strategy: &mut dyn Strategy) -> Result<Outcome, Stop> {
        self.check_bad_end()?;
        let olds = self.find_old_ends()?;
        let new = match self.bisection.direction {
            Direction::Cause => self.bisection.bad.clone(),
            Direction::Fix => self.good.first().cloned().unwrap_or_default(),
        };
        let graph = CommitGraph::load(self.repo, &new, &olds)
            .map_err(|e| Stop::Error(format!("cannot load the commits between the ends: {e}")))?;
        self.say(&self.start_line(&new, &olds));
        let conclusion = self.strategy_loop(strategy, &graph, &olds)?;
        self.finish(&graph, &olds, conclusion)
    }

    fn start_line(&self, new: &str, olds: &[String]) -> String {
        let terms = match self.bisection.direction {
            Direction::Cause => "",
            Direction::Fix => " --term-old=crashing --term-new=fixed",
        };
        format!("# git bisect start{terms} {new} {}", olds.join(" "))
    }

    fn strategy_loop(
        &mut self,
        strategy: &mut dyn Strategy,
        graph: &CommitGraph,
        olds: &[String],
    ) -> Result<crate::strategy::Conclusion, Stop> {
        let mut idle = 0;
        loop {
            let knowledge = self.knowledge(graph, olds);
            let ctx = self.context(graph, &knowledge);
            let step = strategy.next_step(&ctx);
            // Strategies that keep a posterior refresh it in `next_step`:
            // only now do their verdicts reflect the last runs.
            self.log_verdicts(strategy, graph, &knowledge);
            let requests = match step {
                NextStep::Done(conclusion) => return Ok(conclusion),
                NextStep::Abort { reason } => return Err(Stop::Error(reason)),
                NextStep::Evaluate(requests) => requests,
            };
            let before = self.progress_mark();
            for request in requests {
                self.evaluate(strategy, graph, olds, &knowledge, request)?;
            }
            // A strategy that keeps asking for nothing new would loop forever.
            idle = if self.progress_mark() == before {
                idle + 1
            } else {
                0
            };
            if idle > 3 {
                return Err(Stop::Error(format!(
                    "strategy {} made no progress",
                    strategy.name()
                )));
            }
        }
    }

    /// Tests one requested commit and logs the strategy's verdict when it
    /// changes.
    fn evaluate(
        &mut self,
        strategy: &dyn Strategy,
        graph: &CommitGraph,
        olds: &[String],
        knowledge: &Knowledge,
        request: Request,
    ) -> Result<(), Stop> {
        if request.commit as usize >= graph.len() {
            let n = request.commit;
            return Err(Stop::Error(format!(
                "strategy asked for commit #{n} outside the range"
            )));
        }
        let hash = graph.id(request.commit).to_owned();
        if knowledge.get(request.commit).is_none() {
            self.announce(strategy, graph, knowledge, request.commit)?;
        }
        self.test_commit(&hash, request.runs, "bisect", None)?;
        let knowledge = self.knowledge(graph, olds);
        let verdict = strategy.verdict(&self.context(graph, &knowledge), request.commit);
        self.set_step_verdict(&hash, self.verdict_word(verdict));
        Ok(())
    }

    /// `# git bisect good|bad|skip HASH` for every tested commit whose
    /// verdict became known or changed since it was last logged.
    fn log_verdicts(
        &mut self,
        strategy: &dyn Strategy,
        graph: &CommitGraph,
        knowledge: &Knowledge,
    ) {
        let ctx = self.context(graph, knowledge);
        let changed: Vec<(String, Verdict)> = (0..graph.len() as u32)
            .filter(|&i| knowledge.get(i).is_some())
            .map(|i| (graph.id(i).to_owned(), strategy.verdict(&ctx, i)))
            .filter(|(hash, v)| {
                *v != Verdict::Undecided
                    && self.logged.get(hash) != Some(v)
                    && self
                        .steps
                        .iter()
                        .any(|s| s.commit == *hash && s.kind == "bisect")
            })
            .collect();
        for (hash, verdict) in changed {
            let word = self.verdict_word(verdict);
            self.say(&format!("# git bisect {word} {hash}"));
            self.set_step_verdict(&hash, word);
            self.logged.insert(hash, verdict);
        }
    }

    fn progress_mark(&self) -> usize {
        self.tested.values().map(|t| t.runs.len() + 1).sum()
    }

    fn context<'g>(&self, graph: &'g CommitGraph, knowledge: &'g Knowledge) -> Context<'g> {
        Context {
            graph,
            knowledge,
            direction: self.bisection.direction,
            parallelism: 1,
        }
    }

    /// `Bisecting: N revisions left...` and `[HASH] title`, as git prints
    /// them before a new commit is tested.
    fn announce(
        &mut self,
        strategy: &dyn Strategy,
        graph: &CommitGraph,
        knowledge: &Knowledge,
        commit: u32,
    ) -> Result<(), Stop> {
        let ctx = self.context(graph, knowledge);
        let verdicts: Vec<Verdict> = (0..graph.len() as u32)
            .map(|i| strategy.verdict(&ctx, i))
            .collect();
        let suspect = suspects(graph, &verdicts);
        let all = suspect.iter().filter(|s| **s).count();
        let reaches = graph
            .ancestors(commit)
            .iter()
            .zip(&suspect)
            .filter(|(a, s)| **a && **s)
            .count();
        let hash = graph.id(commit).to_owned();
        let title = self.title_of(&hash)?;
        self.say(&bisecting_line(all, reaches));
        self.say(&format!("[{hash}] {title}"));
        self.say("");
        Ok(())
    }

    fn title_of(&self, hash: &str) -> Result<String, Stop> {
        self.repo
            .commit(hash)
            .map(|c| c.title)
            .map_err(|e| Stop::Error(format!("cannot read commit {hash}: {e}")))
    }

    /// The verdict words of the log and the JSON.
    fn verdict_word(&self, verdict: Verdict) -> &'static str {
        match (self.bisection.direction, verdict) {
            (_, Verdict::Skip) => "skip",
            (_, Verdict::Undecided) => "undecided",
            (Direction::Cause, Verdict::Old) => "good",
            (Direction::Cause, Verdict::New) => "bad",
            (Direction::Fix, Verdict::Old) => "crashing",
            (Direction::Fix, Verdict::New) => "fixed",
        }
    }

    /// Evidence of every tested commit of the graph, plus the old ends.
    fn knowledge(&self, graph: &CommitGraph, olds: &[String]) -> Knowledge {
        let mut knowledge = Knowledge::new(graph.len());
        for (hash, tested) in &self.tested {
            if let Some(i) = graph.index_of(hash) {
                knowledge.commits[i as usize] = Some(self.evidence(tested));
            }
        }
        for old in olds {
            if let Some(tested) = self.tested.get(old) {
                let e = self.evidence(tested);
                knowledge.old_end.build_failed |= e.build_failed;
                knowledge.old_end.runs.extend(e.runs);
            }
        }
        knowledge
    }

    fn evidence(&self, tested: &Tested) -> CommitEvidence {
        CommitEvidence {
            build_failed: tested.build.is_err(),
            runs: tested.runs.iter().map(|r| self.classify(r)).collect(),
        }
    }

    /// A run against the crash being bisected: another crash is no evidence.
    fn classify(&self, run: &RunOutcome) -> RunClass {
        match run {
            RunOutcome::Ok => RunClass::Ok,
            RunOutcome::Crashed { title, .. } if Some(title) == self.target.as_ref() => {
                RunClass::Crash
            }
            RunOutcome::Crashed { .. } => RunClass::OtherCrash,
            RunOutcome::Invalid { .. } => RunClass::Invalid,
            RunOutcome::Infra { .. } => RunClass::Infra,
        }
    }

    fn conclude(&mut self, result: Result<Outcome, Stop>) -> Outcome {
        let mut outcome = match result {
            Ok(outcome) => outcome,
            Err(Stop::Error(error)) => {
                self.say(&format!("bisection failed: {error}"));
                let mut o = self.base_outcome(OutcomeKind::Error);
                o.error = Some(error);
                o
            }
            Err(Stop::AlwaysBad(why)) => {
                self.say(&why);
                self.say_totals();
                let mut o = self.base_outcome(OutcomeKind::AlwaysBad);
                o.crash = self.crash();
                o
            }
        };
        outcome.steps = self.steps.clone();
        outcome.time = self.times;
        outcome
    }

    fn base_outcome(&self, kind: OutcomeKind) -> Outcome {
        let mut o = Outcome::failed(
            self.bisection.direction,
            self.strategy_name,
            &self.bisection.bad,
            String::new(),
        );
        o.outcome = kind;
        o.error = None;
        o.good = self.good.clone();
        o.revisions_tested = self.revisions_tested();
        o
    }

    fn revisions_tested(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.kind != "parent")
            .map(|s| &s.commit)
            .collect::<std::collections::HashSet<_>>()
            .len()
    }
}
