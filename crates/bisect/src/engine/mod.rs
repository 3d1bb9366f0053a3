//! The bisection loop: check the ends, load the suspect range, ask the
//! strategy what to evaluate until it is done, then report.
//!
//! Every build and run goes through the journal as it ends: on a re-run
//! the same decisions are replayed from it without building or running
//! again, so the log and the outcome come out the same.

mod ends;
mod evaluate;
mod finish;
mod ledger;
mod merges;
mod prune;
mod verify;

use std::collections::HashMap;

use culprit_git::{CommitGraph, Repo};

use self::ledger::Ledger;
pub use self::ledger::RUN_CAP;
use crate::event::{self, Event, EventSink};
use crate::evidence::Direction;
use crate::exec::{Capacity, Executor};
use crate::journal::Journal;
use crate::outcome::{Outcome, OutcomeKind, Step, StepKind, StepVerdict, Suspect};
use crate::strategy::range::{estimate_steps, suspects};
use crate::strategy::{Conclusion, Context, NextStep, Request, Strategy, Verdict};

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
    /// The title of the crash to bisect; `None`: the most common crash at
    /// the bad end (a reproducer that also hits another crash needs it).
    pub crash: Option<String>,
    /// Print the culprit's patch after its diff stat.
    pub show_diff: bool,
    /// Check the culprit by its revert before reporting it.
    pub verify: bool,
    /// Only commits that touch these paths are suspects (`--paths`).
    pub paths: Vec<String>,
}

/// How many likely culprits each step records.
const TOP_SUSPECTS: usize = 5;

/// Why the bisection stopped early.
#[derive(Debug)]
enum Stop {
    /// Outcome `error`.
    Error(String),
    /// Outcome `always-bad`.
    AlwaysBad(event::AlwaysBad),
    /// Outcome `no-suspects`: why.
    NoSuspects(String),
}

/// Runs a bisection to its end and returns what it found. What happens
/// goes to `events` as it happens, ending with [`Event::Finished`]; builds
/// and runs go through `exec`, each journaled in `journal` as it ends.
pub fn run(
    repo: &Repo,
    bisection: &Bisection,
    strategy: &mut dyn Strategy,
    exec: &mut dyn Executor,
    journal: &mut Journal,
    events: &mut dyn EventSink,
) -> Outcome {
    let capacity = exec.capacity();
    let same_bug = exec.same_bug();
    let mut engine = Engine {
        repo,
        exec,
        events,
        bisection,
        strategy_name: strategy.name(),
        capacity,
        ledger: Ledger::new(journal, same_bug),
        steps: Vec::new(),
        good: bisection.good.clone(),
        logged: HashMap::new(),
        shown_left: None,
        target_follows_bad: false,
        olds: Vec::new(),
        fix_from: Vec::new(),
        pruned: Vec::new(),
        outside_paths: Default::default(),
        capped_told: 0,
        unread_by_build: Default::default(),
    };
    let result = engine.bisect(strategy);
    let outcome = engine.conclude(result);
    engine.emit(Event::Finished(Box::new(outcome.clone())));
    outcome
}

struct Engine<'a> {
    repo: &'a Repo,
    exec: &'a mut dyn Executor,
    events: &'a mut dyn EventSink,
    bisection: &'a Bisection,
    strategy_name: &'static str,
    capacity: Capacity,
    ledger: Ledger<'a>,
    /// Steps in test order, for the JSON.
    steps: Vec<Step>,
    /// The good end(s) used.
    good: Vec<String>,
    /// The verdict last logged (`# git bisect ...`) per commit.
    logged: HashMap<String, Verdict>,
    /// The last `Bisecting: N revisions left` count and step estimate.
    shown_left: Option<(usize, usize)>,
    /// While the bad end is checked, the crash bisected is whichever its
    /// runs show most.
    target_follows_bad: bool,
    /// The old end(s) of the range, once known.
    olds: Vec<String>,
    /// The commits a fix came in with, when it is a merge of a branch that
    /// never had the bug.
    fix_from: Vec<String>,
    /// Commits left out of the range as unable to matter.
    pruned: Vec<String>,
    /// Commits of the range that change nothing under `--paths`.
    outside_paths: std::collections::HashSet<String>,
    /// How many of the ledger's capped commits were told.
    capped_told: usize,
    /// Commits of the range that change no file the build reads: each
    /// builds what its first parent builds.
    unread_by_build: std::collections::HashSet<String>,
}

impl Engine<'_> {
    /// Tells what happened.
    fn emit(&mut self, event: Event) {
        self.events.event(&event);
    }

    fn bisect(&mut self, strategy: &mut dyn Strategy) -> Result<Outcome, Stop> {
        self.check_bad_end(strategy)?;
        let olds = self.find_old_ends(strategy)?;
        let new = match self.bisection.direction {
            Direction::Cause => self.bisection.bad.clone(),
            Direction::Fix => self.good.first().cloned().unwrap_or_default(),
        };
        // A fix bisection's suspects contain the crashing end: a commit
        // without it only shows that the bug was never there.
        let graph = match self.bisection.direction {
            Direction::Cause => CommitGraph::load(self.repo, &new, &olds),
            Direction::Fix => CommitGraph::load_ancestry_path(self.repo, &new, &self.bisection.bad),
        }
        .map_err(|e| Stop::Error(format!("cannot load the commits between the ends: {e}")))?;
        let graph = self.prune(graph, &new, &olds)?;
        self.start_range(&graph, &new, &olds);
        let conclusion = self.strategy_loop(strategy, &graph)?;
        if let Conclusion::Culprit { commit, .. } = &conclusion {
            if self.bisection.direction == Direction::Fix {
                match self.fix_through_merge(strategy, &graph, *commit)? {
                    Some(merges::Branch::Inside(inside)) => {
                        let mut inside = *inside;
                        let inner = inside.strategy.as_mut();
                        return self.finish(inner, &inside.graph, &inside.olds, inside.conclusion);
                    }
                    Some(merges::Branch::Merged(commits)) => self.fix_from = commits,
                    None => {}
                }
            }
        }
        self.finish(strategy, &graph, &olds, conclusion)
    }

    /// Tells the range (`# git bisect start`) and starts keeping the
    /// knowledge of it.
    fn start_range(&mut self, graph: &CommitGraph, new: &str, olds: &[String]) {
        self.emit(Event::RangeStart {
            direction: self.bisection.direction,
            new: new.to_owned(),
            olds: olds.to_vec(),
        });
        self.ledger.enter_range(graph, olds);
        self.olds = olds.to_vec();
        self.shown_left = None;
    }

    fn strategy_loop(
        &mut self,
        strategy: &mut dyn Strategy,
        graph: &CommitGraph,
    ) -> Result<Conclusion, Stop> {
        let mut idle = 0;
        loop {
            let step = strategy.next_step(&self.context(graph));
            // Strategies that keep a posterior refresh it in `next_step`:
            // only now do their verdicts reflect the last runs.
            self.log_verdicts(strategy, graph);
            let requests = match step {
                NextStep::Done(conclusion) => return Ok(conclusion),
                NextStep::Abort { reason } => return Err(Stop::Error(reason)),
                NextStep::Evaluate(requests) => requests,
            };
            let before = self.progress_mark();
            self.evaluate_requests(strategy, graph, &requests)?;
            strategy.observe(&self.context(graph));
            self.log_verdicts(strategy, graph);
            self.record_suspects(strategy, graph, &requests);
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

    /// Tests the requested commits (at once, when the executor can) and
    /// records the strategy's verdict of each.
    fn evaluate_requests(
        &mut self,
        strategy: &mut dyn Strategy,
        graph: &CommitGraph,
        requests: &[Request],
    ) -> Result<(), Stop> {
        let mut wanted = Vec::new();
        for request in requests {
            let Some(hash) = self.hash_of(graph, request.commit) else {
                let n = request.commit;
                return Err(Stop::Error(format!(
                    "strategy asked for commit #{n} outside the range"
                )));
            };
            let in_graph = (request.commit as usize) < graph.len();
            let new = self.ledger.knowledge().get(request.commit).is_none();
            if in_graph && new && requests.len() == 1 {
                self.announce(strategy, graph, request.commit)?;
            }
            if !wanted.iter().any(|(h, _)| *h == hash) {
                wanted.push((hash, request.runs));
            }
        }
        self.evaluate(&wanted, StepKind::Bisect, None)?;
        let ctx = self.context(graph);
        let verdicts: Vec<(String, Verdict)> = requests
            .iter()
            .filter(|r| (r.commit as usize) < graph.len())
            .map(|r| {
                (
                    graph.id(r.commit).to_owned(),
                    strategy.verdict(&ctx, r.commit),
                )
            })
            .collect();
        for (hash, verdict) in verdicts {
            self.set_step_verdict(&hash, self.verdict_of(verdict));
        }
        Ok(())
    }

    /// `# git bisect good|bad|skip HASH` for every tested commit whose
    /// verdict became known or changed since it was last logged.
    fn log_verdicts(&mut self, strategy: &dyn Strategy, graph: &CommitGraph) {
        let ctx = self.context(graph);
        let knowledge = self.ledger.knowledge();
        let changed: Vec<(String, Verdict)> = (0..graph.len() as u32)
            .filter(|&i| knowledge.get(i).is_some())
            .map(|i| (graph.id(i).to_owned(), strategy.verdict(&ctx, i)))
            .filter(|(hash, v)| {
                *v != Verdict::Undecided
                    && self.logged.get(hash) != Some(v)
                    && self
                        .steps
                        .iter()
                        .any(|s| s.commit == *hash && s.kind == StepKind::Bisect)
            })
            .collect();
        for (hash, verdict) in changed {
            let word = self.verdict_of(verdict);
            self.emit(Event::Verdict {
                commit: hash.clone(),
                verdict: word,
            });
            self.set_step_verdict(&hash, word);
            self.logged.insert(hash, verdict);
        }
    }

    /// Notes the strategy's likeliest culprits on the steps just made.
    fn record_suspects(
        &mut self,
        strategy: &dyn Strategy,
        graph: &CommitGraph,
        requests: &[Request],
    ) {
        let top = strategy.top_suspects(&self.context(graph), TOP_SUSPECTS);
        if top.is_empty() {
            return;
        }
        let suspects: Vec<Suspect> = top
            .into_iter()
            .map(|(c, probability)| Suspect {
                commit: graph.id(c).to_owned(),
                probability,
            })
            .collect();
        for r in requests
            .iter()
            .filter(|r| (r.commit as usize) < graph.len())
        {
            let hash = graph.id(r.commit);
            if let Some(step) = self.steps.iter_mut().rev().find(|s| s.commit == hash) {
                step.suspects = suspects.clone();
            }
        }
    }

    /// The commit a strategy means by graph index `i`: one of the graph,
    /// or one past its end for the (first) old end.
    fn hash_of(&self, graph: &CommitGraph, i: u32) -> Option<String> {
        match (i as usize).cmp(&graph.len()) {
            std::cmp::Ordering::Less => Some(graph.id(i).to_owned()),
            std::cmp::Ordering::Equal => self.olds.first().cloned(),
            std::cmp::Ordering::Greater => None,
        }
    }

    fn progress_mark(&self) -> usize {
        self.ledger.tested.values().map(|t| t.runs.len() + 1).sum()
    }

    fn context<'g>(&'g self, graph: &'g CommitGraph) -> Context<'g> {
        Context {
            graph,
            knowledge: self.ledger.knowledge(),
            direction: self.bisection.direction,
            parallelism: self.capacity.builders.max(1),
            machines: self.capacity.machines.max(1),
            build_cost: self.ledger.build_cost(),
        }
    }

    /// `Bisecting: N revisions left...` and `[HASH] title`, as git prints
    /// them before a new commit is tested. Skipped commits are not left to
    /// test, and the count never goes up: a skip teaches nothing, so the
    /// estimate made before it still holds.
    fn announce(
        &mut self,
        strategy: &dyn Strategy,
        graph: &CommitGraph,
        commit: u32,
    ) -> Result<(), Stop> {
        let ctx = self.context(graph);
        let verdicts: Vec<Verdict> = (0..graph.len() as u32)
            .map(|i| strategy.verdict(&ctx, i))
            .collect();
        let suspect = suspects(graph, &verdicts);
        let countable: Vec<bool> = suspect
            .iter()
            .zip(&verdicts)
            .map(|(s, v)| *s && *v != Verdict::Skip)
            .collect();
        let all = countable.iter().filter(|s| **s).count();
        let reaches = graph
            .ancestors(commit)
            .iter()
            .zip(&countable)
            .filter(|(a, s)| **a && **s)
            .count();
        let mut shown = (all.saturating_sub(reaches + 1), estimate_steps(all));
        if let Some((left, steps)) = self.shown_left {
            shown = (shown.0.min(left), shown.1.min(steps));
        }
        self.shown_left = Some(shown);
        let hash = graph.id(commit).to_owned();
        let title = self.title_of(&hash)?;
        self.emit(Event::Next {
            left: shown.0,
            steps: shown.1,
            commit: hash,
            title,
        });
        Ok(())
    }

    fn title_of(&self, hash: &str) -> Result<String, Stop> {
        self.repo
            .commit(hash)
            .map(|c| c.title)
            .map_err(|e| Stop::Error(format!("cannot read commit {hash}: {e}")))
    }

    /// A strategy's verdict in the words of the log and the JSON.
    fn verdict_of(&self, verdict: Verdict) -> StepVerdict {
        let direction = self.bisection.direction;
        match verdict {
            Verdict::Skip => StepVerdict::Skip,
            Verdict::Undecided => StepVerdict::Undecided,
            Verdict::Old => StepVerdict::of_crash(direction, direction == Direction::Fix),
            Verdict::New => StepVerdict::of_crash(direction, direction == Direction::Cause),
        }
    }

    fn set_step_verdict(&mut self, hash: &str, verdict: StepVerdict) {
        if let Some(step) = self.steps.iter_mut().rev().find(|s| s.commit == hash) {
            step.verdict = verdict;
        }
    }

    fn conclude(&mut self, result: Result<Outcome, Stop>) -> Outcome {
        let mut outcome = match result {
            Ok(outcome) => outcome,
            Err(Stop::Error(error)) => {
                self.emit(Event::Failed {
                    error: error.clone(),
                });
                let mut o = self.base_outcome(OutcomeKind::Error);
                o.error = Some(error);
                o
            }
            Err(Stop::NoSuspects(why)) => {
                self.emit(Event::NoSuspects { why: why.clone() });
                self.say_totals();
                let mut o = self.base_outcome(OutcomeKind::NoSuspects);
                o.error = Some(why);
                o.crash = self.crash();
                o
            }
            Err(Stop::AlwaysBad(why)) => {
                self.emit(Event::AlwaysBad(why));
                self.say_totals();
                let mut o = self.base_outcome(OutcomeKind::AlwaysBad);
                o.crash = self.crash();
                o
            }
        };
        outcome.steps = self.steps.clone();
        outcome.time = self.ledger.times;
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
        o.pruned = self.pruned.len();
        o
    }

    fn revisions_tested(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| !matches!(s.kind, StepKind::Parent | StepKind::Verify))
            .map(|s| &s.commit)
            .collect::<std::collections::HashSet<_>>()
            .len()
    }
}
