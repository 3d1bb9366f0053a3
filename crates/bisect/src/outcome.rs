//! The result of a bisection, as written to `--json`.

use crate::evidence::Direction;
use crate::recipients::Recipients;

/// How a bisection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeKind {
    /// A culprit was found.
    Culprit,
    /// Only skipped commits remain; `candidates` lists them.
    Inconclusive,
    /// Cause: the oldest release tested still crashes. Fix: the good end
    /// still crashes.
    AlwaysBad,
    /// No commit of the range can be the culprit: none changes anything
    /// under `--paths` (or the crash came with one that does not); `error`
    /// says which.
    NoSuspects,
    /// The bisection could not be done; `error` says why.
    Error,
}

impl OutcomeKind {
    /// The word of the JSON and the page: `culprit`, `inconclusive`,
    /// `always-bad`, `error`.
    pub fn word(self) -> &'static str {
        match self {
            OutcomeKind::Culprit => "culprit",
            OutcomeKind::Inconclusive => "inconclusive",
            OutcomeKind::AlwaysBad => "always-bad",
            OutcomeKind::NoSuspects => "no-suspects",
            OutcomeKind::Error => "error",
        }
    }

    /// The process exit code for this outcome (see the README's table).
    pub fn exit_code(self) -> i32 {
        match self {
            OutcomeKind::Culprit => 0,
            OutcomeKind::Inconclusive | OutcomeKind::AlwaysBad | OutcomeKind::NoSuspects => 1,
            OutcomeKind::Error => 3,
        }
    }
}

/// A commit as reported.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CommitSummary {
    /// Full hash.
    pub hash: String,
    /// Subject line.
    pub title: String,
    /// `Name <email>`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    /// Author date as git prints it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub date: String,
}

/// The crash being bisected.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Crash {
    /// Its title (`exit status N` for a failure without a report).
    pub title: String,
    /// One report of it (from the bad end): the output's tail for a
    /// failure without a report.
    pub report: String,
    /// A test failing with no crash report (the title is its exit status).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
}

/// Why a commit was tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// The crashing end given by the user.
    Bad,
    /// A good end given by the user (cause), or the fixed end (fix).
    Good,
    /// A release tag tried as the good end.
    Release,
    /// Chosen by the strategy.
    Bisect,
    /// The culprit's parent, built to compare signatures.
    Parent,
    /// The culprit reverted, to verify it.
    Verify,
}

impl StepKind {
    /// The word of the JSON and the page.
    pub fn word(self) -> &'static str {
        match self {
            StepKind::Bad => "bad",
            StepKind::Good => "good",
            StepKind::Release => "release",
            StepKind::Bisect => "bisect",
            StepKind::Parent => "parent",
            StepKind::Verify => "verify",
        }
    }
}

/// What a tested commit turned out to be, in git's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepVerdict {
    /// Cause bisection: no crash.
    Good,
    /// Cause bisection: the crash.
    Bad,
    /// Fix bisection: the crash is still there.
    Crashing,
    /// Fix bisection: the crash is gone.
    Fixed,
    /// Cannot be told.
    Skip,
    /// Not decided (yet).
    Undecided,
    /// Built only, not tested.
    Untested,
}

impl StepVerdict {
    /// The word of the log and the JSON.
    pub fn word(self) -> &'static str {
        match self {
            StepVerdict::Good => "good",
            StepVerdict::Bad => "bad",
            StepVerdict::Crashing => "crashing",
            StepVerdict::Fixed => "fixed",
            StepVerdict::Skip => "skip",
            StepVerdict::Undecided => "undecided",
            StepVerdict::Untested => "untested",
        }
    }

    /// The verdict a word names (`good`, `bad`, ...), as [`Self::word`]
    /// writes it.
    pub fn from_word(word: &str) -> Option<StepVerdict> {
        [
            StepVerdict::Good,
            StepVerdict::Bad,
            StepVerdict::Crashing,
            StepVerdict::Fixed,
            StepVerdict::Skip,
            StepVerdict::Undecided,
            StepVerdict::Untested,
        ]
        .into_iter()
        .find(|v| v.word() == word)
    }

    /// A commit with the crash (`crashes`) or without it, in the words of
    /// a bisection looking this `direction`.
    pub fn of_crash(direction: Direction, crashes: bool) -> StepVerdict {
        match (direction, crashes) {
            (Direction::Cause, true) => StepVerdict::Bad,
            (Direction::Cause, false) => StepVerdict::Good,
            (Direction::Fix, true) => StepVerdict::Crashing,
            (Direction::Fix, false) => StepVerdict::Fixed,
        }
    }
}

/// One tested commit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Step {
    /// Full hash.
    pub commit: String,
    /// The commit's subject line.
    #[serde(default)]
    pub title: String,
    /// When this step began (UTC, RFC 3339), and the seconds its build and
    /// its runs took.
    #[serde(default)]
    pub time: StepTime,
    /// Why it was tested.
    pub kind: StepKind,
    /// The release tag, for `release` steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// `good`, `bad`, `skip` (fix bisection: `fixed`, `crashing`, `skip`),
    /// `undecided`, or `untested` (a parent only built).
    pub verdict: StepVerdict,
    /// Build signature; `None` when the build failed.
    pub signature: Option<String>,
    /// Why the build failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_failure: Option<String>,
    /// Commit whose identical build's results were reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
    /// One line per run, e.g. `OK`, `crashed: WARNING in foo`.
    pub runs: Vec<RunLine>,
    /// The strategy's likeliest culprits once this step's runs were in
    /// (strategies that keep probabilities only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suspects: Vec<Suspect>,
}

/// When a step began and what it took.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepTime {
    /// UTC, RFC 3339 (`2026-12-01T08:06:32Z`).
    pub started: String,
    /// Seconds the build took (0 when recalled from an identical build).
    pub build: f64,
    /// Seconds the runs took, added up.
    pub test: f64,
}

/// A likely culprit and its probability.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Suspect {
    /// Full hash.
    pub commit: String,
    /// Probability that it is the culprit.
    pub probability: f64,
}

/// Time spent, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Times {
    /// Builds plus runs.
    pub total: f64,
    /// Builds.
    pub build: f64,
    /// Runs.
    pub test: f64,
}

impl Times {
    /// Counts a build that took `secs` (made earlier, or recalled).
    pub fn add_build(&mut self, secs: f64) {
        self.build += secs;
        self.total += secs;
    }

    /// Counts a run that took `secs` (recalled from the journal).
    pub fn add_test(&mut self, secs: f64) {
        self.test += secs;
        self.total += secs;
    }
}

/// Everything a bisection found out.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    /// How it ended.
    pub outcome: OutcomeKind,
    /// Cause or fix bisection.
    pub direction: Direction,
    /// The strategy's name.
    pub strategy: String,
    /// Why it failed, for `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The commit given as `--bad` (full hash).
    pub bad: String,
    /// The good end(s) used (given or found), full hashes.
    pub good: Vec<String>,
    /// The culprit, for `culprit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub culprit: Option<CommitSummary>,
    /// Remaining suspects, for `inconclusive`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<CommitSummary>,
    /// `noop`, `merge`, `release`, `title-changed`, and the verification's
    /// (`revert-fixes`, ...).
    pub flags: Vec<Flag>,
    /// Fix bisection, a merge of a branch that never had the bug: the
    /// branch's commits, where the fix came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fix_from: Vec<CommitSummary>,
    /// The strategy's confidence in the culprit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The crash bisected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<Crash>,
    /// Distinct commits tested.
    pub revisions_tested: usize,
    /// Commits left out of the range because they cannot change what is
    /// built (kernel dependency records) or touch nothing under `--paths`:
    /// never built, tested, nor named.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pruned: usize,
    /// Who to tell, for `culprit`.
    pub recipients: Recipients,
    /// Every tested commit, in order.
    pub steps: Vec<Step>,
    /// Time spent.
    pub time: Times,
    /// How the culprit was checked by reverting it (absent when not
    /// verified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// Kernel jobs: the config minimisation made before bisecting (the
    /// config found, what was dropped and kept and why, the builds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_minimization: Option<serde_json::Value>,
}

/// The check of a culprit by its revert.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verification {
    /// How the culprit was checked.
    pub kind: VerificationKind,
    /// The commit the culprit was reverted on: the crashing end (cause) or
    /// the good end (fix).
    pub base: String,
    /// The revert commit made in culprit's own checkout, when it applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Whether the revert applied cleanly.
    pub applied: bool,
    /// Whether the revert built.
    pub built: bool,
    /// One line per run of the revert.
    pub runs: Vec<RunLine>,
    /// What the check showed.
    pub verdict: VerificationVerdict,
}

/// How a culprit is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerificationKind {
    /// Reverted on an end of the range, built and run.
    Revert,
}

/// What the check of a culprit by its revert showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerificationVerdict {
    /// Cause: the crash went with the revert.
    Fixes,
    /// Cause: the crash stayed.
    StillCrashes,
    /// Fix: the crash came back with the revert.
    Crashes,
    /// Fix: the crash stayed away.
    StillFixed,
    /// The revert does not apply cleanly.
    Conflicts,
    /// The revert does not build.
    BuildFailed,
    /// The runs tell nothing.
    Unclear,
}

impl VerificationVerdict {
    /// The word of the JSON and the page (`still-crashes`).
    pub fn word(self) -> &'static str {
        match self {
            VerificationVerdict::Fixes => "fixes",
            VerificationVerdict::StillCrashes => "still-crashes",
            VerificationVerdict::Crashes => "crashes",
            VerificationVerdict::StillFixed => "still-fixed",
            VerificationVerdict::Conflicts => "conflicts",
            VerificationVerdict::BuildFailed => "build-failed",
            VerificationVerdict::Unclear => "unclear",
        }
    }

    /// Whether the check speaks for the culprit (`Some(true)`), against it
    /// (`Some(false)`), or neither.
    pub fn passed(self) -> Option<bool> {
        match self {
            VerificationVerdict::Fixes | VerificationVerdict::Crashes => Some(true),
            VerificationVerdict::StillCrashes | VerificationVerdict::StillFixed => Some(false),
            _ => None,
        }
    }

    /// The flag the check gives the outcome, if any.
    pub fn flag(self) -> Option<Flag> {
        match self {
            VerificationVerdict::Fixes => Some(Flag::RevertFixes),
            VerificationVerdict::StillCrashes => Some(Flag::RevertStillCrashes),
            VerificationVerdict::Crashes => Some(Flag::RevertCrashes),
            VerificationVerdict::StillFixed => Some(Flag::RevertStillFixed),
            VerificationVerdict::Conflicts => Some(Flag::RevertConflicts),
            VerificationVerdict::BuildFailed => Some(Flag::RevertBuildFailed),
            VerificationVerdict::Unclear => None,
        }
    }
}

/// What else an answer says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// The culprit's build signature equals its parent's.
    Noop,
    /// The culprit is a merge.
    Merge,
    /// The culprit is a release.
    Release,
    /// The culprit's parent crashes in a function the culprit takes away.
    TitleChanged,
    /// Cause: reverting the culprit removes the crash.
    RevertFixes,
    /// Cause: reverting the culprit does not remove the crash.
    RevertStillCrashes,
    /// The culprit's revert does not apply.
    RevertConflicts,
    /// The culprit's revert does not build.
    RevertBuildFailed,
    /// Fix: reverting the fix brings the crash back.
    RevertCrashes,
    /// Fix: reverting the fix does not bring the crash back.
    RevertStillFixed,
}

impl Flag {
    /// The flag as the JSON writes it (`revert-fixes`).
    pub fn name(self) -> &'static str {
        match self {
            Flag::Noop => "noop",
            Flag::Merge => "merge",
            Flag::Release => "release",
            Flag::TitleChanged => "title-changed",
            Flag::RevertFixes => "revert-fixes",
            Flag::RevertStillCrashes => "revert-still-crashes",
            Flag::RevertConflicts => "revert-conflicts",
            Flag::RevertBuildFailed => "revert-build-failed",
            Flag::RevertCrashes => "revert-crashes",
            Flag::RevertStillFixed => "revert-still-fixed",
        }
    }
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What one run showed, against the crash bisected: the line the log and
/// the JSON give it (`OK`, `crashed: TITLE`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunLine {
    /// Ran without crashing.
    Ok,
    /// Crashed (or failed with no report).
    Crash {
        /// The crash's title (`exit status N` for a failure without report).
        title: String,
        /// A failure with no crash report (a test's exit status).
        failed: bool,
        /// How it relates to the crash bisected.
        relation: Relation,
    },
    /// Could not test, or an infrastructure problem: no evidence.
    NoVerdict {
        /// Why, as the executor said.
        reason: String,
    },
}

/// How a crash relates to the one bisected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    /// The crash bisected, by its title.
    Target,
    /// Another title, but the same bug.
    SameBug {
        /// The title bisected.
        target: String,
        /// What shows it is the same bug.
        why: String,
    },
    /// Another crash: no evidence.
    Other,
}

impl RunLine {
    /// Whether the run showed the crash bisected.
    pub fn is_target(&self) -> bool {
        matches!(
            self,
            RunLine::Crash {
                relation: Relation::Target | Relation::SameBug { .. },
                ..
            }
        )
    }
}

impl std::fmt::Display for RunLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunLine::Ok => f.write_str("OK"),
            RunLine::Crash {
                title,
                failed,
                relation,
            } => {
                let verb = if *failed { "failed" } else { "crashed" };
                match relation {
                    Relation::Target => write!(f, "{verb}: {title}"),
                    Relation::SameBug { target, why } => {
                        write!(f, "{verb}: {title} (same bug as {target}: {why})")
                    }
                    Relation::Other => write!(f, "{verb}: {title} (another crash, not counted)"),
                }
            }
            RunLine::NoVerdict { reason } => f.write_str(reason),
        }
    }
}

impl std::str::FromStr for RunLine {
    type Err = std::convert::Infallible;

    /// Reads a line back as [`RunLine`]'s `Display` writes it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "OK" {
            return Ok(RunLine::Ok);
        }
        let (failed, rest) = match (
            text.strip_prefix("crashed: "),
            text.strip_prefix("failed: "),
        ) {
            (Some(rest), _) => (false, rest),
            (_, Some(rest)) => (true, rest),
            _ => {
                return Ok(RunLine::NoVerdict {
                    reason: text.to_owned(),
                })
            }
        };
        let crash = |title: &str, relation| RunLine::Crash {
            title: title.to_owned(),
            failed,
            relation,
        };
        if let Some(title) = rest.strip_suffix(" (another crash, not counted)") {
            return Ok(crash(title, Relation::Other));
        }
        if let Some((title, tail)) = rest.split_once(" (same bug as ") {
            if let Some((target, why)) = tail.strip_suffix(')').and_then(|t| t.rsplit_once(": ")) {
                let relation = Relation::SameBug {
                    target: target.to_owned(),
                    why: why.to_owned(),
                };
                return Ok(crash(title, relation));
            }
        }
        Ok(crash(rest, Relation::Target))
    }
}

impl serde::Serialize for RunLine {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for RunLine {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(text.parse().unwrap_or(RunLine::Ok))
    }
}

impl Outcome {
    /// An outcome saying only that the bisection failed before it began.
    pub fn failed(direction: Direction, strategy: &str, bad: &str, error: String) -> Outcome {
        Outcome {
            outcome: OutcomeKind::Error,
            direction,
            strategy: strategy.to_owned(),
            error: Some(error),
            bad: bad.to_owned(),
            good: Vec::new(),
            culprit: None,
            candidates: Vec::new(),
            flags: Vec::new(),
            fix_from: Vec::new(),
            confidence: None,
            crash: None,
            revisions_tested: 0,
            pruned: 0,
            recipients: Recipients::default(),
            steps: Vec::new(),
            time: Times::default(),
            verification: None,
            config_minimization: None,
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        self.outcome.exit_code()
    }

    /// What this bisection learned of its reproducer's rate: at the
    /// commits that had the bug, the runs that showed it and the runs that
    /// told anything (showed it or ran clean). Another crash, an invalid
    /// run or an infrastructure problem tells nothing of the rate.
    pub fn rate_evidence(&self) -> crate::strategy::bayes::RatePrior {
        let buggy = StepVerdict::of_crash(self.direction, true);
        let mut learned = crate::strategy::bayes::RatePrior {
            crashes: 0,
            runs: 0,
        };
        for step in self.steps.iter().filter(|s| s.verdict == buggy) {
            for run in &step.runs {
                match run {
                    RunLine::Ok => learned.runs += 1,
                    r if r.is_target() => {
                        learned.crashes += 1;
                        learned.runs += 1;
                    }
                    _ => {}
                }
            }
        }
        learned
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
