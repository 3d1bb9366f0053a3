//! Testing commits: plan what the journal and identical builds cannot
//! answer, hand the rest to the executor, then log each commit the syzbot
//! way and record its step.

use std::time::Instant;

use super::{Engine, Stop};
use crate::evidence::RunClass;
use crate::exec::{Built, Evaluation, RunOutcome};
use crate::outcome::{Step, StepKind, StepTime, StepVerdict};

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
            if let Some(line) = header(hash, from.is_none()).filter(|_| live) {
                self.say(&line);
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
        if self.target_follows_bad {
            let target = self.bad_end_target();
            self.ledger.set_target(target);
        }
        for ((hash, _), first) in wanted.iter().zip(firsts) {
            if let Some(line) = header(hash, first.is_none()).filter(|_| !live) {
                self.say(&line);
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

    /// One short line per run, against the crash bisected. A failure with
    /// no crash report (a test's exit status) is `failed`, not `crashed`.
    pub(super) fn describe(&self, run: &RunOutcome) -> String {
        match (run, self.ledger.classify(run)) {
            (RunOutcome::Ok, _) => "OK".into(),
            (RunOutcome::Crashed { title, report }, class) => {
                let verb = if is_exit_status(title) {
                    "failed"
                } else {
                    "crashed"
                };
                let target = self.ledger.target.as_deref().unwrap_or_default();
                match class {
                    RunClass::Crash if title == target => format!("{verb}: {title}"),
                    RunClass::Crash => {
                        let why = self.ledger.relation(title, report).unwrap_or_default();
                        format!("{verb}: {title} (same bug as {target}: {why})")
                    }
                    _ => format!("{verb}: {title} (another crash, not counted)"),
                }
            }
            (RunOutcome::Invalid { reason } | RunOutcome::Infra { reason }, _) => reason.clone(),
        }
    }

    /// A commit's first batch as syzbot logs it (`all runs: X` when every
    /// run says the same, else one `run #i: X` line each); a later batch
    /// in one line: `runs #3-#7 on HASH: 4 OK, 1 crashed: TITLE`.
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
        let out = match (from, lines.as_slice()) {
            (_, []) => Vec::new(),
            (0, [one]) => vec![format!("run #0: {one}")],
            (0, [first, ..]) if lines.iter().all(|l| l == first) => {
                vec![format!("all runs: {first}")]
            }
            (0, _) => lines
                .iter()
                .enumerate()
                .map(|(i, l)| format!("run #{i}: {l}"))
                .collect(),
            (_, _) => {
                self.gather(hash, from, lines);
                Vec::new()
            }
        };
        for line in out {
            self.say(&line);
        }
    }

    /// Adds runs to the open batch line of `hash`, or opens one.
    fn gather(&mut self, hash: &str, from: u32, lines: Vec<String>) {
        if let Some(open) = &mut self.open_batch {
            if open.commit == hash && open.from + open.lines.len() as u32 == from {
                open.lines.extend(lines);
                return;
            }
        }
        self.flush_batch();
        self.open_batch = Some(Batch {
            commit: hash.to_owned(),
            from,
            lines,
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
            started: crate::format::utc_timestamp(started),
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

/// Whether a crash title is only a test's exit status (no crash report).
fn is_exit_status(title: &str) -> bool {
    title
        .strip_prefix("exit status ")
        .is_some_and(|n| n.parse::<u32>().is_ok())
}

/// Runs after a commit's first batch, logged as one line.
#[derive(Debug)]
pub(super) struct Batch {
    commit: String,
    from: u32,
    lines: Vec<String>,
}

impl Batch {
    /// `runs #3-#7 on HASH: 4 OK, 1 crashed: TITLE` (outcomes counted, in
    /// the order they first appear), or `run #3 on HASH: OK`.
    pub(super) fn line(&self) -> String {
        let (hash, from, lines) = (&self.commit, self.from, &self.lines);
        let short = &hash[..hash.len().min(12)];
        let last = from as usize + lines.len().max(1) - 1;
        let runs = match lines.len() {
            1 => format!("run #{from} on {short}"),
            _ => format!("runs #{from}-#{last} on {short}"),
        };
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for line in lines {
            match counts.iter_mut().find(|(l, _)| *l == line.as_str()) {
                Some((_, n)) => *n += 1,
                None => counts.push((line, 1)),
            }
        }
        let parts: Vec<String> = match counts.as_slice() {
            [(only, _)] if lines.len() == 1 => vec![only.to_string()],
            _ => counts.iter().map(|(l, n)| format!("{n} {l}")).collect(),
        };
        format!("{runs}: {}", parts.join(", "))
    }
}

/// The line before a commit's runs: only a commit's first test has one
/// (later batches say their commit on their own line).
fn header(hash: &str, first_time: bool) -> Option<String> {
    first_time.then(|| format!("testing commit {hash}"))
}
