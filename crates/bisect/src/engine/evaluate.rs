//! Testing commits: plan what the journal and identical builds cannot
//! answer, hand the rest to the executor, then log each commit the syzbot
//! way and record its step.

use std::time::Instant;

use super::{Engine, Stop};
use crate::evidence::RunClass;
use crate::exec::{Built, RunOutcome};
use crate::outcome::{Step, StepKind, StepVerdict};

impl Engine<'_> {
    /// Makes `runs` more runs at each `(hash, runs)` of `wanted`, building
    /// first where needed, all handed to the executor at once. A single
    /// commit's first lines are printed before its build starts; several
    /// commits are logged one block each as the batch ends.
    pub(super) fn evaluate(
        &mut self,
        wanted: &[(String, u32)],
        kind: StepKind,
        release: Option<&str>,
    ) -> Result<(), Stop> {
        let live = wanted.len() == 1;
        let mut evaluations = Vec::new();
        let mut firsts = Vec::new();
        for (hash, runs) in wanted {
            let from = self.ledger.tested.get(hash).map(|t| t.runs.len() as u32);
            firsts.push(from);
            if live {
                self.say(&header(hash, from.is_none()));
            }
            if let Some(e) = self.ledger.plan(hash, *runs).map_err(Stop::Error)? {
                evaluations.push(e);
            }
        }
        if !evaluations.is_empty() {
            let start = Instant::now();
            let builds_before = self.ledger.times.build;
            self.exec.evaluate(evaluations, &mut self.ledger);
            let wall = start.elapsed().as_secs_f64();
            let building = self.ledger.times.build - builds_before;
            self.ledger.times.total += wall.max(building);
            self.ledger.times.test += (wall - building).max(0.0);
        }
        if let Some(why) = self.ledger.failure.take() {
            return Err(Stop::Error(why));
        }
        if self.target_follows_bad {
            self.ledger.target = self.bad_end_target();
        }
        for ((hash, _), first) in wanted.iter().zip(firsts) {
            if !live {
                self.say(&header(hash, first.is_none()));
            }
            if first.is_none() {
                self.log_build(hash);
            }
            let from = first.unwrap_or(0);
            self.log_runs(hash, from);
            self.push_step(hash, kind, release, from);
        }
        Ok(())
    }

    /// Builds `hash` without running it (the culprit's parent, for its
    /// signature).
    pub(super) fn build_only(&mut self, hash: &str) -> Result<Result<Built, String>, Stop> {
        if !self.ledger.tested.contains_key(hash) {
            if let Some(e) = self.ledger.plan(hash, 0).map_err(Stop::Error)? {
                self.exec.evaluate(vec![e], &mut self.ledger);
            }
            if let Some(why) = self.ledger.failure.take() {
                return Err(Stop::Error(why));
            }
        }
        let tested = self.ledger.tested.get(hash);
        Ok(tested.map_or_else(|| Err("not built".into()), |t| t.build.clone()))
    }

    /// `compiler:` and `build signature: X`, noting an identical earlier
    /// build whose runs are reused; or why the build failed.
    fn log_build(&mut self, hash: &str) {
        let Some(tested) = self.ledger.tested.get(hash) else {
            return;
        };
        let kind = self.exec.kind();
        let lines = match &tested.build {
            Ok(built) => {
                let mut lines: Vec<String> = built
                    .compiler
                    .iter()
                    .map(|c| format!("compiler: {c}"))
                    .collect();
                lines.push(match &tested.reused_from {
                    Some(d) => format!(
                        "{kind} signature: {} (same as {d}, reusing its results)",
                        built.signature
                    ),
                    None => format!("{kind} signature: {}", built.signature),
                });
                lines
            }
            Err(reason) => vec![format!("build failed: {reason}")],
        };
        for line in lines {
            self.say(&line);
        }
    }

    /// One short line per run, against the crash bisected.
    pub(super) fn describe(&self, run: &RunOutcome) -> String {
        match (run, self.ledger.classify(run)) {
            (RunOutcome::Ok, _) => "OK".into(),
            (RunOutcome::Crashed { title, .. }, RunClass::Crash) => format!("crashed: {title}"),
            (RunOutcome::Crashed { title, .. }, _) => {
                format!("crashed: {title} (another crash, not counted)")
            }
            (RunOutcome::Invalid { reason } | RunOutcome::Infra { reason }, _) => reason.clone(),
        }
    }

    /// `all runs: X` when every run says the same, else `run #i: X` lines.
    pub(super) fn log_runs(&mut self, hash: &str, from: u32) {
        let Some(tested) = self.ledger.tested.get(hash) else {
            return;
        };
        let lines: Vec<String> = tested
            .runs
            .get(from as usize..)
            .unwrap_or_default()
            .iter()
            .map(|r| self.describe(r))
            .collect();
        if lines.is_empty() {
            return;
        }
        // `all runs:` only speaks for a commit's whole first batch.
        if from == 0 && lines.iter().all(|l| *l == lines[0]) {
            self.say(&format!("all runs: {}", lines[0]));
            return;
        }
        for (i, line) in lines.iter().enumerate() {
            self.say(&format!("run #{}: {line}", from as usize + i));
        }
    }

    /// Records the runs from `from` on as a step, or adds them to the step
    /// the commit already has.
    pub(super) fn push_step(
        &mut self,
        hash: &str,
        kind: StepKind,
        release: Option<&str>,
        from: u32,
    ) {
        let Some(tested) = self.ledger.tested.get(hash) else {
            return;
        };
        let runs: Vec<String> = tested
            .runs
            .get(from as usize..)
            .unwrap_or_default()
            .iter()
            .map(|r| self.describe(r))
            .collect();
        let earlier = self
            .steps
            .iter()
            .position(|s| s.commit == hash && s.kind != StepKind::Parent);
        if let Some(i) = earlier {
            self.steps[i].runs.extend(runs);
            return;
        }
        let step = Step {
            commit: hash.to_owned(),
            kind,
            release: release.map(str::to_owned),
            verdict: StepVerdict::Undecided,
            signature: tested.build.as_ref().ok().map(|b| b.signature.clone()),
            build_failure: tested.build.as_ref().err().cloned(),
            reused_from: tested.reused_from.clone(),
            runs,
            suspects: Vec::new(),
        };
        self.steps.push(step);
    }
}

/// The first line of a commit's block.
fn header(hash: &str, first_time: bool) -> String {
    if first_time {
        format!("testing commit {hash}")
    } else {
        // A strategy that spends runs one at a time comes back here.
        format!("more runs on commit {hash}")
    }
}
