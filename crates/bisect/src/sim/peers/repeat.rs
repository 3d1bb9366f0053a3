//! `git bisect run` with the test wrapped in a loop (`repeat`): the
//! wrapper runs the test up to `times` times and exits 1 at the first
//! failure, 0 when every run passed. One failure reads "bad", so a flaky
//! crash is found when the loop is long enough for its rate, which the
//! person who wrote the wrapper had to know.

use crate::evidence::{CommitEvidence, Direction};
use crate::strategy::range::{bisect_choice, suspects};
use crate::strategy::{
    Conclusion, Context, EndContext, EndStep, NextStep, Request, Strategy, Verdict,
};

use super::{check_end_once, failed, untested};

/// The repeat count of the table: 13 runs miss a crash that shows
/// in 3 runs of 10 with probability 0.7^13, about 1%.
pub const DEFAULT_TIMES: u32 = 13;

/// `git bisect run` over a loop of `times` runs of the test.
#[derive(Debug, Clone)]
pub struct Repeat {
    times: u32,
}

impl Default for Repeat {
    fn default() -> Self {
        Repeat::new(DEFAULT_TIMES)
    }
}

impl Repeat {
    /// A wrapper running the test up to `times` times (at least once).
    pub fn new(times: u32) -> Self {
        Repeat {
            times: times.max(1),
        }
    }

    /// Whether the wrapper is still looping on this commit: built, no
    /// failure nor untestable run yet, fewer than `times` runs.
    fn looping(&self, e: &CommitEvidence) -> bool {
        !e.build_failed && !failed(e) && !untested(e) && (e.runs.len() as u32) < self.times
    }

    /// git's pick of the next commit, or the end of the bisection.
    fn bisect(&self, ctx: &Context<'_>) -> NextStep {
        let n = ctx.graph.len() as u32;
        let verdicts: Vec<Verdict> = (0..n).map(|i| self.verdict(ctx, i)).collect();
        let suspect = suspects(ctx.graph, &verdicts);
        let undecided: Vec<bool> = verdicts.iter().map(|v| *v == Verdict::Undecided).collect();
        if let Some((commit, _)) = bisect_choice(ctx.graph, &suspect, &undecided) {
            return NextStep::Evaluate(vec![Request { commit, runs: 1 }]);
        }
        let left: Vec<u32> = (0..n).filter(|&i| suspect[i as usize]).collect();
        NextStep::Done(match left.as_slice() {
            // git says "is the first bad commit", with no doubt.
            [one] => Conclusion::Culprit {
                commit: *one,
                confidence: 1.0,
            },
            _ => Conclusion::Inconclusive { candidates: left },
        })
    }
}

impl Strategy for Repeat {
    fn name(&self) -> &'static str {
        "repeat"
    }

    fn fresh(&self) -> Box<dyn Strategy> {
        Box::new(self.clone())
    }

    fn check_end(&mut self, ctx: &EndContext<'_>) -> EndStep {
        check_end_once(ctx, self.times)
    }

    fn next_step(&mut self, ctx: &Context<'_>) -> NextStep {
        // One run at a time, so the loop stops at the first failure as
        // the wrapper does.
        let n = ctx.graph.len() as u32;
        let looping = (0..n).find(|&i| ctx.knowledge.get(i).is_some_and(|e| self.looping(e)));
        match looping {
            Some(commit) => NextStep::Evaluate(vec![Request { commit, runs: 1 }]),
            None => self.bisect(ctx),
        }
    }

    fn verdict(&self, ctx: &Context<'_>, commit: u32) -> Verdict {
        let Some(e) = ctx.knowledge.get(commit) else {
            return Verdict::Undecided;
        };
        if e.build_failed {
            return Verdict::Skip;
        }
        let bad = failed(e);
        if !bad && untested(e) {
            return Verdict::Skip;
        }
        if !bad && (e.runs.len() as u32) < self.times {
            return Verdict::Undecided;
        }
        match (bad, ctx.direction) {
            (true, Direction::Cause) | (false, Direction::Fix) => Verdict::New,
            _ => Verdict::Old,
        }
    }
}
