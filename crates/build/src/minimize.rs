//! Config minimisation before a bisection, at its bad end: a pure state
//! machine. [`Minimizer::next_step`] asks for a candidate config to be
//! built and its reproducer run `runs` times, [`Minimizer::observe`] takes
//! the answer; the driver ([`crate::minimize_driver`]) does the builds and
//! runs, tests drive it with a fake predicate.
//!
//! # Order of the candidates
//! 1. **The crash's files** (when a baseline is given): the baseline plus
//!    the options that compile the files the crash went through (and what
//!    they depend on), first without the instrumentation the crash's kind
//!    does not need, then with it. When one reproduces, the full config is
//!    never built; in the second case each unneeded group is then dropped
//!    in turn.
//! 2. **The full config**, measured first when its crash rate is not known.
//! 3. **Instrumentation**: the full config without every group the crash
//!    kind does not need, at once; when that loses the bug, one group at a
//!    time. A group stays dropped only if the bug still reproduces.
//! 4. **Baseline**: the options on in the full config and off in the
//!    baseline are the candidates; their Kconfig leaves (options no other
//!    candidate depends on) are searched by halving: keep one half of a
//!    chunk (with what it depends on), else the other, else both halves go
//!    on being searched. The baseline with the needed instrumentation and
//!    the file options is tried alone first.
//! 5. **Confirm**: the final config is built and run once more when no
//!    test has seen exactly it.
//!
//! # The predicate
//! A candidate reproduces when at least one run crashed and its crash rate
//! is at least `rate_factor` times the reference rate (the full config's,
//! given or measured). Before any reference is known (the crash's files
//! come first, to avoid building the full config at all), a candidate that
//! crashes at all is accepted and its rate becomes the reference. A
//! candidate that does not build does not reproduce.
//!
//! # Bound
//! At most `max_builds` builds (default 20), whatever the stages would
//! want: stage 1 takes at most 2 + G builds (G, the unneeded groups: at
//! most 11), stage 2 one, stage 3 at most 1 + G, stage 4 one plus at most
//! 2 per halving (about 2·k·log2(leaves) for k needed leaves), stage 5
//! one. When the bound stops the search, the result is the last config
//! that reproduced (or the full config).

use crate::instrumentation::{self, CrashKind, Instrumentation};
use crate::kconfig::{DependencyGraph, KernelConfig};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// How hard to try.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MinimizeSettings {
    /// Runs of the reproducer per candidate.
    pub runs: u32,
    /// The most builds the minimisation may take.
    pub max_builds: u32,
    /// A candidate reproduces at `rate_factor` times the reference rate
    /// or more.
    pub rate_factor: f64,
}

impl Default for MinimizeSettings {
    fn default() -> Self {
        MinimizeSettings {
            runs: 5,
            max_builds: 20,
            rate_factor: 0.5,
        }
    }
}

/// What the minimisation starts from.
#[derive(Debug, Clone)]
pub struct MinimizeInput {
    /// The job's config, completed by `olddefconfig` at the bad commit.
    pub full: KernelConfig,
    /// The baseline to minimise against, completed the same way.
    pub baseline: Option<KernelConfig>,
    /// The smallest bootable config (`make tinyconfig` and what booting
    /// in QEMU needs), completed the same way: tried first with the
    /// crash's files' options, before anything bigger is built.
    pub minimal: Option<KernelConfig>,
    /// Kconfig's dependencies at the bad commit.
    pub graph: DependencyGraph,
    /// The crash's kind.
    pub kind: CrashKind,
    /// The files of the crash and the options that compile each one
    /// ([`crate::kbuild::options_for_file`]).
    pub file_options: BTreeMap<String, BTreeSet<String>>,
    /// The crash rate with the full config, when known.
    pub reference_rate: Option<f64>,
    /// How hard to try.
    pub settings: MinimizeSettings,
}

/// The answer to a [`Step::Test`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// The candidate did not build.
    BuildFailed {
        /// Why, in one line.
        reason: String,
    },
    /// It built; the reproducer ran `runs` times and the bisected crash
    /// (or one of the same bug) happened in `crashes` of them.
    Ran {
        /// Runs made.
        runs: u32,
        /// Runs that showed the crash.
        crashes: u32,
    },
}

/// What the minimisation wants next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Build `config` at the bad commit and run the reproducer `runs` times.
    Test {
        /// The candidate (the host completes it with `olddefconfig`).
        config: KernelConfig,
        /// What the candidate is, for the log.
        purpose: String,
        /// Runs to make.
        runs: u32,
    },
    /// Finished.
    Done(Minimized),
}

/// Dropped or kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Left out of the minimised config.
    Dropped,
    /// Kept in it.
    Kept,
}

/// One decision, for the log and the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The options or instrumentation group decided on.
    pub subject: Vec<String>,
    /// What happened to them.
    pub verdict: Verdict,
    /// Why, in words.
    pub reason: String,
}

/// The outcome of a minimisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Minimized {
    /// The config to bisect with.
    pub config: KernelConfig,
    /// How it was reached, in words (`baseline + options of the crash's
    /// files`, `full config without KASAN`...).
    pub summary: String,
    /// True when the bug reproduced with exactly this config.
    pub verified: bool,
    /// The options on top of the baseline (empty without a baseline).
    pub added_options: BTreeSet<String>,
    /// Instrumentation groups turned off.
    pub dropped_instrumentation: Vec<String>,
    /// Every decision, in order.
    pub decisions: Vec<Decision>,
    /// Builds made.
    pub builds: u32,
    /// The crash rate the candidates were held to.
    pub reference_rate: Option<f64>,
}

/// Where the machine is.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Minimal,
    FilesLean,
    FilesFull,
    FilesDropEach(Vec<&'static Instrumentation>),
    MeasureFull,
    DropAll,
    DropEach(Vec<&'static Instrumentation>),
    BaselineAlone,
    Leaves,
    Confirm,
    Finished,
}

/// A config that reproduced, with what it is.
#[derive(Debug, Clone)]
struct Good {
    config: KernelConfig,
    summary: String,
    added: BTreeSet<String>,
    verified: bool,
}

/// The minimisation's state (see the module documentation).
#[derive(Debug, Clone)]
pub struct Minimizer {
    input: MinimizeInput,
    phase: Phase,
    /// The test in flight.
    pending: Option<(KernelConfig, String)>,
    builds: u32,
    reference: Option<f64>,
    /// The last config that reproduced.
    good: Good,
    /// Groups off in every later candidate.
    dropped: Vec<&'static Instrumentation>,
    decisions: Vec<Decision>,
    /// Options always added to the baseline (needed groups, file options).
    fixed: BTreeSet<String>,
    /// Leaves known to be needed.
    needed: BTreeSet<String>,
    /// Leaf chunks still searched, each holding something needed.
    chunks: VecDeque<Vec<String>>,
    /// The halves of the chunk being split, and whether the second is tried.
    split: Option<(Vec<String>, Vec<String>, bool)>,
    /// The config before the baseline stage (the fallback when the
    /// search's result does not reproduce).
    reduced: Option<Good>,
    result: Option<Minimized>,
    /// Whether each config tested (by hash) reproduced.
    tested: HashMap<String, bool>,
}

impl Minimizer {
    /// A minimisation of `input`.
    pub fn new(input: MinimizeInput) -> Minimizer {
        let good = Good {
            config: input.full.clone(),
            summary: "the full config".into(),
            added: BTreeSet::new(),
            verified: input.reference_rate.is_some_and(|r| r > 0.0),
        };
        let phase = match (&input.minimal, &input.baseline) {
            (Some(_), _) => Phase::Minimal,
            (None, Some(_)) => Phase::FilesLean,
            (None, None) => Phase::MeasureFull,
        };
        Minimizer {
            reference: input.reference_rate.filter(|r| *r > 0.0),
            input,
            phase,
            pending: None,
            builds: 0,
            good,
            dropped: Vec::new(),
            decisions: Vec::new(),
            fixed: BTreeSet::new(),
            needed: BTreeSet::new(),
            chunks: VecDeque::new(),
            split: None,
            reduced: None,
            result: None,
            tested: HashMap::new(),
        }
    }

    /// Builds made so far.
    pub fn builds(&self) -> u32 {
        self.builds
    }

    /// The next test, or the result. Asking again before
    /// [`Minimizer::observe`] gives the same test.
    pub fn next_step(&mut self) -> Step {
        loop {
            if let Some(result) = &self.result {
                return Step::Done(result.clone());
            }
            if let Some((config, purpose)) = &self.pending {
                return Step::Test {
                    config: config.clone(),
                    purpose: purpose.clone(),
                    runs: self.input.settings.runs,
                };
            }
            if self.builds >= self.input.settings.max_builds && self.phase != Phase::Finished {
                self.note_bound();
                self.phase = Phase::Finished;
            }
            match self.plan() {
                Some((config, purpose)) => match self.tested.get(&config.hash()) {
                    // The same config as an earlier candidate: same answer.
                    Some(&ok) => self.advance(
                        config,
                        purpose,
                        ok,
                        "the same config as an earlier candidate",
                    ),
                    None => self.pending = Some((config, purpose)),
                },
                None => self.finish(),
            }
        }
    }

    /// The answer to the test [`Minimizer::next_step`] gave. Ignored when
    /// no test is in flight.
    pub fn observe(&mut self, observation: Observation) {
        let Some((config, purpose)) = self.pending.take() else {
            return;
        };
        self.builds += 1;
        let reproduced = self.reproduces(&observation);
        self.tested.insert(config.hash(), reproduced);
        let how = describe(&observation);
        self.advance(config, purpose, reproduced, &how);
    }

    fn reproduces(&mut self, observation: &Observation) -> bool {
        let Observation::Ran { runs, crashes } = *observation else {
            return false;
        };
        if crashes == 0 || runs == 0 {
            return false;
        }
        let rate = f64::from(crashes) / f64::from(runs);
        match self.reference {
            Some(reference) => rate >= reference * self.input.settings.rate_factor,
            None => {
                self.reference = Some(rate);
                true
            }
        }
    }
}

mod plan;

fn describe(observation: &Observation) -> String {
    match observation {
        Observation::BuildFailed { reason } => format!("build failed: {reason}"),
        Observation::Ran { runs, crashes } => format!("crashed in {crashes} of {runs} runs"),
    }
}

/// "a WARNING", "a KASAN report"..., for reasons.
fn describe_kind(kind: CrashKind) -> &'static str {
    match kind {
        CrashKind::Warning => "a WARNING",
        CrashKind::Kasan => "a KASAN report",
        CrashKind::Kmsan => "a KMSAN report",
        CrashKind::Kcsan => "a KCSAN report",
        CrashKind::Kfence => "a KFENCE report",
        CrashKind::Ubsan => "an UBSAN report",
        CrashKind::Lockdep => "a lockdep report",
        CrashKind::AtomicSleep => "a sleep in atomic context",
        CrashKind::Hang => "a hang",
        CrashKind::Leak => "a memory leak",
        CrashKind::Bug => "this crash",
        CrashKind::Unknown => "a crash of unknown kind",
    }
}

impl Decision {
    /// One log line: `dropped KASAN, lockdep: REASON`; long lists of
    /// options are cut to their first names and a count.
    pub fn describe(&self) -> String {
        let verdict = match self.verdict {
            Verdict::Dropped => "dropped",
            Verdict::Kept => "kept",
        };
        let shown: Vec<&str> = self.subject.iter().take(6).map(String::as_str).collect();
        let mut subject = shown.join(", ");
        if self.subject.len() > shown.len() {
            subject.push_str(&format!(" and {} more", self.subject.len() - shown.len()));
        }
        format!("{verdict} {subject}: {}", self.reason)
    }
}

/// The groups' names, for decisions.
fn group_names(groups: &[&Instrumentation]) -> Vec<String> {
    groups.iter().map(|g| g.name.to_string()).collect()
}

/// `config` with each group turned off.
fn without(config: &KernelConfig, groups: &[&Instrumentation]) -> KernelConfig {
    let mut config = config.clone();
    for group in groups {
        group.turn_off(&mut config);
    }
    config
}

/// The droppable groups of `config` for `kind`.
fn droppable(kind: CrashKind, config: &KernelConfig) -> Vec<&'static Instrumentation> {
    instrumentation::droppable(kind, config)
}
