//! Testing commits: plan what the journal and identical builds cannot
//! answer, hand the rest to the executor, then tell each commit's build
//! and runs and record its step.

use std::time::Instant;

use super::{Engine, Stop};
use crate::event::Event;
use crate::evidence::RunClass;
use crate::exec::{Built, Evaluation, RunOutcome};
use crate::outcome::{Relation, RunLine, Step, StepKind, StepTime, StepVerdict};

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
        let started = std::time::SystemTime::now();
        let mut evaluations = Vec::new();
        let mut firsts = Vec::new();
        for (hash, runs) in wanted {
            let from = self.ledger.tested.get(hash).map(|t| t.runs.len() as u32);
            firsts.push(from);
            if let Some(event) = header(hash, from.is_none()).filter(|_| live) {
                self.emit(event);
            }
            if let Some(e) = self.ledger.plan(hash, *runs).map_err(Stop::Error)? {
                evaluations.push(e);
            }
        }
        if !evaluations.is_empty() {
            let besides_builds = self.evaluate_timed(evaluations);
            self.ledger.times.test += besides_builds;
        }
        if let Some(why) = self.ledger.failure.take() {
            return Err(Stop::Error(why));
        }
        self.announce_capped();
        if self.target_follows_bad {
            let target = self.bad_end_target();
            self.ledger.set_target(target);
        }
        for ((hash, _), first) in wanted.iter().zip(firsts) {
            if let Some(event) = header(hash, first.is_none()).filter(|_| !live) {
                self.emit(event);
            }
            if first.is_none() {
                self.log_build(hash);
            }
            let from = first.unwrap_or(0);
            self.log_runs(hash, from);
            self.push_step(hash, kind, release, from, started);
        }
        Ok(())
    }

    /// Tells of commits that reached the cap on runs, once each.
    fn announce_capped(&mut self) {
        while self.capped_told < self.ledger.capped.len() {
            let commit = self.ledger.capped[self.capped_told].clone();
            self.capped_told += 1;
            self.emit(Event::RunCapReached {
                commit,
                cap: super::ledger::RUN_CAP,
            });
        }
    }

    /// Hands `evaluations` to the executor and adds their wall time to
    /// the total (builds on other machines may overlap it: the longer of
    /// the two counts); returns the wall time not spent building.
    fn evaluate_timed(&mut self, evaluations: Vec<Evaluation>) -> f64 {
        let start = Instant::now();
        let builds_before = self.ledger.times.build;
        self.exec.evaluate(evaluations, &mut self.ledger);
        let wall = start.elapsed().as_secs_f64();
        let building = self.ledger.times.build - builds_before;
        self.ledger.times.total += wall.max(building);
        (wall - building).max(0.0)
    }

    /// Builds `hash` without running it (the culprit's parent, for its
    /// signature).
    pub(super) fn build_only(&mut self, hash: &str) -> Result<Result<Built, String>, Stop> {
        if !self.ledger.tested.contains_key(hash) {
            if let Some(e) = self.ledger.plan(hash, 0).map_err(Stop::Error)? {
                self.evaluate_timed(vec![e]);
            }
            if let Some(why) = self.ledger.failure.take() {
                return Err(Stop::Error(why));
            }
        }
        let tested = self.ledger.tested.get(hash);
        Ok(tested.map_or_else(|| Err("not built".into()), |t| t.build.clone()))
    }

    /// Tells how the build of `hash` went: its signature (noting an
    /// identical earlier build whose runs are reused), or why it failed.
    fn log_build(&mut self, hash: &str) {
        let Some(tested) = self.ledger.tested.get(hash) else {
            return;
        };
        let event = match &tested.build {
            Ok(built) => Event::Built {
                commit: hash.to_owned(),
                kind: self.exec.capabilities().builds,
                compiler: built.compiler.clone(),
                signature: built.signature.clone(),
                reused_from: tested.reused_from.clone(),
            },
            Err(reason) => Event::BuildFailed {
                commit: hash.to_owned(),
                reason: reason.clone(),
            },
        };
        self.emit(event);
    }

    /// What one run showed, against the crash bisected. A failure with no
    /// crash report (a test's exit status) is `failed`, not `crashed`.
    pub(super) fn run_line(&self, run: &RunOutcome) -> RunLine {
        let class = self.ledger.classify(run);
        let (title, report, failed) = match run {
            RunOutcome::Ok => return RunLine::Ok,
            RunOutcome::Invalid { reason } | RunOutcome::Infra { reason } => {
                return RunLine::NoVerdict {
                    reason: reason.clone(),
                }
            }
            RunOutcome::Crashed { title, report } => (title.clone(), report.as_str(), false),
            RunOutcome::Failed { status, output } => {
                (format!("exit status {status}"), output.as_str(), true)
            }
        };
        let target = self.ledger.target.as_deref().unwrap_or_default();
        let relation = match class {
            RunClass::Crash if title == target => Relation::Target,
            RunClass::Crash => Relation::SameBug {
                target: target.to_owned(),
                why: self.ledger.relation(&title, report).unwrap_or_default(),
            },
            _ => Relation::Other,
        };
        RunLine::Crash {
            title,
            failed,
            relation,
        }
    }

    /// The runs of `hash` from `from` on, as lines.
    fn run_lines(&self, hash: &str, from: u32) -> Vec<RunLine> {
        let runs = self.ledger.tested.get(hash).map_or(&[][..], |t| &t.runs);
        let later = runs.get(from as usize..).unwrap_or_default();
        later.iter().map(|r| self.run_line(r)).collect()
    }

    /// Tells the runs of `hash` from `from` on.
    pub(super) fn log_runs(&mut self, hash: &str, from: u32) {
        let runs = self.run_lines(hash, from);
        if runs.is_empty() {
            return;
        }
        self.emit(Event::Runs {
            commit: hash.to_owned(),
            from,
            runs,
        });
    }

    /// Records the runs from `from` on as a step, or adds them to the step
    /// the commit already has.
    pub(super) fn push_step(
        &mut self,
        hash: &str,
        kind: StepKind,
        release: Option<&str>,
        from: u32,
        started: std::time::SystemTime,
    ) {
        let runs = self.run_lines(hash, from);
        let Some(tested) = self.ledger.tested.get(hash) else {
            return;
        };
        let test_secs: f64 = tested
            .run_secs
            .get(from as usize..)
            .unwrap_or_default()
            .iter()
            .sum();
        let earlier = self
            .steps
            .iter()
            .position(|s| s.commit == hash && s.kind != StepKind::Parent);
        if let Some(i) = earlier {
            self.steps[i].runs.extend(runs);
            self.steps[i].time.test += test_secs;
            return;
        }
        let time = StepTime {
            started: crate::clock::utc_timestamp(started),
            build: tested.build_secs,
            test: test_secs,
        };
        let step = Step {
            commit: hash.to_owned(),
            title: self.title_of(hash).unwrap_or_default(),
            time,
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

/// What is told before a commit's runs: only a commit's first test says
/// so (later batches say their commit on their own).
fn header(hash: &str, first_time: bool) -> Option<Event> {
    first_time.then(|| Event::Testing {
        commit: hash.to_owned(),
    })
}
