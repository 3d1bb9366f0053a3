//! The engine's sink as the owner's executor hands it results: every build
//! is logged (a slow one as a warning), and once the worker is asked to
//! stop, what ends is still recorded but nothing more starts (no runs
//! after a build, no run after a run).

use std::ops::Range;

use culprit_bisect::{BuildOutcome, EvaluationSink, RunOutcome};

use crate::shared::Shared;

/// The engine's sink, watched.
pub(super) struct Watch<'a> {
    sink: &'a mut dyn EvaluationSink,
    shared: &'a Shared,
    job: i64,
}

impl<'a> Watch<'a> {
    pub(super) fn new(sink: &'a mut dyn EvaluationSink, shared: &'a Shared, job: i64) -> Self {
        Watch { sink, shared, job }
    }
}

impl EvaluationSink for Watch<'_> {
    fn built(&mut self, commit: &str, outcome: BuildOutcome, secs: f64) -> Range<u32> {
        let result = match &outcome {
            BuildOutcome::Built(_) => "built",
            BuildOutcome::Failed { .. } => "failed",
            BuildOutcome::Infra { .. } => "infrastructure failure",
        };
        let slow = self.shared.config.slow_build;
        if secs > slow.as_secs_f64() {
            tracing::warn!(
                job = self.job,
                commit,
                secs,
                slow_after = slow.as_secs_f64(),
                result,
                "slow build"
            );
        } else {
            tracing::info!(job = self.job, commit, secs, result, "build done");
        }
        let runs = self.sink.built(commit, outcome, secs);
        if self.shared.stopping() {
            return runs.start..runs.start;
        }
        runs
    }

    fn ran(&mut self, commit: &str, index: u32, outcome: RunOutcome, secs: f64) -> bool {
        let going = self.sink.ran(commit, index, outcome, secs);
        going && !self.shared.stopping()
    }
}
