//! Noisy binary search as published (`robust`), the method robust-git-bisect
//! cites: the multiplicative weights algorithm of R. M. Karp and
//! R. Kleinberg, "Noisy binary search and its applications", SODA 2007,
//! implemented from the paper's description, on the commit graph.
//!
//! Each commit of the range is a hypothesis ("it is the first bad commit")
//! with a weight, all equal at first. Each step tests once the commit that
//! splits the weight in half (the weighted median; on a graph, the commit
//! whose ancestors carry the weight closest to one half), then multiplies
//! the weight of every hypothesis that agrees with the answer by `1 - q`
//! and of every other by `q`. That is the paper's noise model, where every
//! answer is right with the same probability `1/2 + ε` whichever the truth
//! (here `q = 1/2 - ε`), and its multiplicative update in the form that
//! is exactly Bayes's rule under that model. It stops when one hypothesis
//! holds `target` of the weight, as robust-git-bisect's `--min-likelihood`
//! does, and names it with that weight as its confidence.
//!
//! The model is symmetric; a reproducer that misses a crash is not: a good
//! commit never fails, a bad one passes with probability `1 - rate`, far
//! above `q`. Each such pass counts against the truth and for every later
//! hypothesis, so the search settles, sure of itself, on a commit after the
//! culprit, often the bad end, which it never tests.

use culprit_git::CommitGraph;

use crate::evidence::{CommitEvidence, Direction, RunClass};
use crate::strategy::{
    Conclusion, Context, EndContext, EndStep, NextStep, Request, Strategy, Verdict,
};

use super::{check_end_once, untested};

/// The error rate assumed for every answer: the 5% of the benchmark that
/// robust-git-bisect publishes.
pub const DEFAULT_ERROR: f64 = 0.05;
/// robust-git-bisect's default `--min-likelihood`.
pub const DEFAULT_TARGET: f64 = 0.99;
/// A safety stop (the paper runs a fixed number of steps, O(log n / ε²)):
/// past this many tests the heaviest hypothesis is named.
pub const MAX_TESTS: u32 = 10_000;
/// A test whose answer is this sure (either way) teaches next to nothing:
/// when the best test left is that sure, the weight is stuck among
/// hypotheses no test can tell apart.
const SETTLED: f64 = 1e-6;
/// Log weights this close are equal (hypotheses that got the same answers).
const TIE: f64 = 1e-9;

/// Karp and Kleinberg's noisy binary search with a symmetric error model.
#[derive(Debug, Clone)]
pub struct Robust {
    /// Assumed probability that an answer is wrong, in either direction.
    error: f64,
    /// Stop when one hypothesis holds this share of the weight.
    target: f64,
    /// Natural log of each hypothesis's weight, by graph index.
    log_weights: Vec<f64>,
    /// How many runs of each commit are already in the weights.
    folded: Vec<usize>,
    /// Tests asked for so far.
    tests: u32,
}

impl Default for Robust {
    fn default() -> Self {
        Robust::new(DEFAULT_ERROR, DEFAULT_TARGET)
    }
}

impl Robust {
    /// A search assuming answers wrong with probability `error` (kept in
    /// (0, 1/2)), stopping at `target` (kept in (0, 1]).
    pub fn new(error: f64, target: f64) -> Self {
        Robust {
            error: error.clamp(1e-9, 0.5 - 1e-9),
            target: target.clamp(1e-9, 1.0),
            log_weights: Vec::new(),
            folded: Vec::new(),
            tests: 0,
        }
    }

    /// Takes the runs not yet in the weights into them. The new end's runs
    /// are the user's check before starting: the tool never tests the ends.
    fn fold(&mut self, ctx: &Context<'_>) {
        let n = ctx.graph.len();
        if self.log_weights.len() != n {
            self.log_weights = vec![0.0; n];
            self.folded = vec![0; n];
        }
        for i in 0..n.saturating_sub(1) {
            let Some(e) = ctx.knowledge.get(i as u32) else {
                continue;
            };
            let answers: Vec<bool> = e.runs[self.folded[i].min(e.runs.len())..]
                .iter()
                .filter_map(|r| says_new(*r, ctx.direction))
                .collect();
            self.folded[i] = e.runs.len();
            if !answers.is_empty() {
                self.update(ctx.graph, i as u32, &answers);
            }
        }
    }

    /// Multiplies the weights by the answers `answers` ("commit is new")
    /// got at `commit`: hypotheses that are its ancestors (or itself) make
    /// it new.
    fn update(&mut self, graph: &CommitGraph, commit: u32, answers: &[bool]) {
        let (right, wrong) = ((1.0 - self.error).ln(), self.error.ln());
        let ancestors = graph.ancestors(commit);
        for (w, &makes_new) in self.log_weights.iter_mut().zip(&ancestors) {
            *w += answers
                .iter()
                .map(|&new| if new == makes_new { right } else { wrong })
                .sum::<f64>();
        }
    }

    /// The weights normalized to sum to one.
    fn probabilities(&self) -> Vec<f64> {
        let top = self
            .log_weights
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = self.log_weights.iter().map(|l| (l - top).exp()).collect();
        let sum: f64 = w.iter().sum();
        w.iter().map(|x| x / sum).collect()
    }

    /// The commit to test: the one whose chance of being new is closest to
    /// one half, among those that can be tested (not the new end, which
    /// the tool takes as given, nor a commit that failed to build or
    /// could not test), unless every one of them is already all but
    /// settled. Ties go to the oldest.
    fn pick(&self, ctx: &Context<'_>, p: &[f64]) -> Option<u32> {
        let new = ctx.graph.ancestor_weights(p);
        let last = ctx.graph.len().saturating_sub(1) as u32;
        let gap = |i: u32| (new[i as usize] - 0.5).abs();
        let best = (0..last)
            .filter(|&i| ctx.knowledge.get(i).is_none_or(testable))
            .min_by(|&a, &b| gap(a).total_cmp(&gap(b)).then(a.cmp(&b)))?;
        (0.5 - gap(best) >= SETTLED).then_some(best)
    }

    /// How the search ends when no test can move the weights: the
    /// hypotheses as heavy as the heaviest, which have had the same answers
    /// all along since no testable commit tells them apart (commits that
    /// failed to build between them).
    fn stuck(&self, top: u32, confidence: f64) -> Conclusion {
        let heaviest = self.log_weights[top as usize];
        let tied: Vec<u32> = (0..self.log_weights.len() as u32)
            .filter(|&i| self.log_weights[i as usize] >= heaviest - TIE)
            .collect();
        match tied.as_slice() {
            [_] => Conclusion::Culprit {
                commit: top,
                confidence,
            },
            _ => Conclusion::Inconclusive { candidates: tied },
        }
    }
}

/// What one run says: `Some(true)` when it reads the commit as new.
fn says_new(run: RunClass, direction: Direction) -> Option<bool> {
    let failed = match run {
        RunClass::Ok => false,
        RunClass::Crash | RunClass::OtherCrash => true,
        RunClass::Invalid | RunClass::Infra => return None,
    };
    Some(failed == (direction == Direction::Cause))
}

/// Whether a commit can be tested again.
fn testable(e: &CommitEvidence) -> bool {
    !e.build_failed && !untested(e)
}

/// The heaviest hypothesis and its probability (the oldest on a tie).
fn heaviest(p: &[f64]) -> (u32, f64) {
    p.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &x)| {
            if x > best.1 {
                (i as u32, x)
            } else {
                best
            }
        })
}

impl Strategy for Robust {
    fn name(&self) -> &'static str {
        "robust"
    }

    fn fresh(&self) -> Box<dyn Strategy> {
        Box::new(Robust::new(self.error, self.target))
    }

    fn target_confidence(&self) -> Option<f64> {
        Some(self.target)
    }

    fn check_end(&mut self, ctx: &EndContext<'_>) -> EndStep {
        check_end_once(ctx, 1)
    }

    fn observe(&mut self, ctx: &Context<'_>) {
        self.fold(ctx);
    }

    fn next_step(&mut self, ctx: &Context<'_>) -> NextStep {
        if ctx.graph.is_empty() {
            return NextStep::Done(Conclusion::Inconclusive { candidates: vec![] });
        }
        self.fold(ctx);
        let p = self.probabilities();
        let (top, confidence) = heaviest(&p);
        let done = Conclusion::Culprit {
            commit: top,
            confidence,
        };
        if confidence >= self.target || self.tests >= MAX_TESTS {
            return NextStep::Done(done);
        }
        match self.pick(ctx, &p) {
            Some(commit) => {
                self.tests += 1;
                NextStep::Evaluate(vec![Request { commit, runs: 1 }])
            }
            None => NextStep::Done(self.stuck(top, confidence)),
        }
    }

    /// New once the weight of the hypotheses that make the commit new
    /// reaches the target, old once it is below its complement; undecided
    /// in between.
    fn verdict(&self, ctx: &Context<'_>, commit: u32) -> Verdict {
        if ctx.knowledge.get(commit).is_some_and(|e| !testable(e)) {
            return Verdict::Skip;
        }
        if self.log_weights.len() != ctx.graph.len() || commit as usize >= ctx.graph.len() {
            return Verdict::Undecided;
        }
        let p = self.probabilities();
        let new: f64 = ctx
            .graph
            .ancestors(commit)
            .iter()
            .zip(&p)
            .filter(|(a, _)| **a)
            .map(|(_, x)| x)
            .sum();
        if new >= self.target {
            Verdict::New
        } else if new <= 1.0 - self.target {
            Verdict::Old
        } else {
            Verdict::Undecided
        }
    }
}
