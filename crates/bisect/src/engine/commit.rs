//! Testing one commit: build it (or recall the build), run the test (or
//! recall the runs, or reuse those of an identical build), log it.

use std::time::Instant;

use super::{Engine, Stop, Tested};
use crate::evidence::RunClass;
use crate::exec::{BuildOutcome, Built, RunOutcome};
use crate::journal::Record;
use crate::outcome::Step;

impl Engine<'_> {
    /// Tests `hash` with `runs` more runs, logging it the syzbot way.
    pub(super) fn test_commit(
        &mut self,
        hash: &str,
        runs: u32,
        kind: &str,
        release: Option<&str>,
    ) -> Result<(), Stop> {
        let from = self.build_and_run(hash, runs)?;
        self.log_runs(hash, from);
        self.push_step(hash, kind, release, from);
        Ok(())
    }

    /// Builds `hash` and makes `runs` more runs; logs all but the runs.
    /// Returns the index of the first new run.
    pub(super) fn build_and_run(&mut self, hash: &str, runs: u32) -> Result<u32, Stop> {
        let first_time = !self.tested.contains_key(hash);
        if first_time {
            self.say(&format!("testing commit {hash}"));
        } else {
            // A strategy that spends runs one at a time comes back here.
            self.say(&format!("more runs on commit {hash}"));
        }
        let build = self.ensure_built(hash)?;
        let reused_from = match &build {
            Ok(_) if !first_time => None,
            Ok(built) => self.signature_line(hash, built),
            Err(reason) => {
                self.say(&format!("build failed: {reason}"));
                None
            }
        };
        let tested = self
            .tested
            .entry(hash.to_owned())
            .or_insert_with(|| Tested {
                build: build.clone(),
                runs: Vec::new(),
                reused_from: None,
            });
        if tested.reused_from.is_none() {
            tested.reused_from = reused_from;
        }
        let from = tested.runs.len() as u32;
        let Ok(built) = build else { return Ok(from) };
        for index in from..from + runs {
            let outcome = self.one_run(&built, index)?;
            if let Some(t) = self.tested.get_mut(hash) {
                t.runs.push(outcome);
            }
        }
        self.by_signature
            .entry(built.signature.clone())
            .or_insert_with(|| hash.to_owned());
        Ok(from)
    }

    /// `build signature: X`, noting an identical earlier build whose runs
    /// will be reused.
    fn signature_line(&mut self, hash: &str, built: &Built) -> Option<String> {
        if let Some(compiler) = &built.compiler {
            self.say(&format!("compiler: {compiler}"));
        }
        let kind = self.exec.kind();
        let donor = self
            .by_signature
            .get(&built.signature)
            .filter(|d| d.as_str() != hash)
            .cloned();
        match &donor {
            Some(d) => self.say(&format!(
                "{kind} signature: {} (same as {d}, reusing its results)",
                built.signature
            )),
            None => self.say(&format!("{kind} signature: {}", built.signature)),
        }
        donor.or_else(|| self.tested.get(hash).and_then(|t| t.reused_from.clone()))
    }

    /// The build of `hash`: recalled from the engine or the journal, or
    /// made now and journaled.
    pub(super) fn ensure_built(&mut self, hash: &str) -> Result<Result<Built, String>, Stop> {
        if let Some(t) = self.tested.get(hash) {
            return Ok(t.build.clone());
        }
        if let Some(record) = self.journal.build(hash) {
            self.times.build += record.secs;
            self.times.total += record.secs;
            return Ok(record
                .built
                .clone()
                .ok_or_else(|| record.failure.clone().unwrap_or_default()));
        }
        let start = Instant::now();
        let outcome = self.exec.build(hash);
        let secs = start.elapsed().as_secs_f64();
        let (built, failure) = match outcome {
            BuildOutcome::Built(b) => (Some(b), None),
            BuildOutcome::Failed { reason } => (None, Some(reason)),
            BuildOutcome::Infra { reason } => {
                return Err(Stop::Error(format!("cannot build {hash}: {reason}")))
            }
        };
        let record = Record::Build {
            commit: hash.to_owned(),
            built: built.clone(),
            failure: failure.clone(),
            secs,
        };
        self.journal
            .append(record)
            .map_err(|e| Stop::Error(e.to_string()))?;
        self.times.build += secs;
        self.times.total += secs;
        Ok(built.ok_or_else(|| failure.unwrap_or_default()))
    }

    /// Run `index` of a build: recalled, reused from an identical build, or
    /// made now and journaled.
    fn one_run(&mut self, built: &Built, index: u32) -> Result<RunOutcome, Stop> {
        let hash = built.commit.as_str();
        if let Some(record) = self.journal.runs(hash).get(index as usize) {
            self.times.test += record.secs;
            self.times.total += record.secs;
            return Ok(record.outcome.clone());
        }
        let donor = self.tested.get(hash).and_then(|t| t.reused_from.clone());
        let donated = donor
            .as_ref()
            .and_then(|d| self.tested.get(d))
            .and_then(|t| t.runs.get(index as usize))
            .cloned();
        let (outcome, secs, reused_from) = match donated {
            Some(outcome) => (outcome, 0.0, donor),
            None => {
                let start = Instant::now();
                let outcome = self.exec.run(built, index);
                (outcome, start.elapsed().as_secs_f64(), None)
            }
        };
        let record = Record::Run {
            commit: hash.to_owned(),
            index,
            outcome: outcome.clone(),
            secs,
            reused_from,
        };
        self.journal
            .append(record)
            .map_err(|e| Stop::Error(e.to_string()))?;
        self.times.test += secs;
        self.times.total += secs;
        Ok(outcome)
    }

    /// One short line per run, against the crash bisected.
    pub(super) fn describe(&self, run: &RunOutcome) -> String {
        match (run, self.classify(run)) {
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
        let lines: Vec<String> = self.tested[hash].runs[from as usize..]
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

    pub(super) fn push_step(&mut self, hash: &str, kind: &str, release: Option<&str>, from: u32) {
        let tested = &self.tested[hash];
        let runs = tested.runs[from as usize..]
            .iter()
            .map(|r| self.describe(r))
            .collect();
        // More runs of a commit already tested extend its step.
        let earlier = self
            .steps
            .iter()
            .position(|s| s.commit == hash && s.kind != "parent");
        if let Some(i) = earlier {
            self.steps[i].runs.extend(runs);
            return;
        }
        let step = Step {
            commit: hash.to_owned(),
            kind: kind.to_owned(),
            release: release.map(str::to_owned),
            verdict: "undecided".to_owned(),
            signature: tested.build.as_ref().ok().map(|b| b.signature.clone()),
            build_failure: tested.build.as_ref().err().cloned(),
            reused_from: tested.reused_from.clone(),
            runs,
        };
        self.steps.push(step);
    }
}
