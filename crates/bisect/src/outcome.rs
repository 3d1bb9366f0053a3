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
    /// The bisection could not be done; `error` says why.
    Error,
}

impl OutcomeKind {
    /// The process exit code for this outcome (see the README's table).
    pub fn exit_code(self) -> i32 {
        match self {
            OutcomeKind::Culprit => 0,
            OutcomeKind::Inconclusive | OutcomeKind::AlwaysBad => 1,
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
    /// Its title.
    pub title: String,
    /// One report of it (from the bad end).
    pub report: String,
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
    pub runs: Vec<String>,
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
    /// `noop`, `merge`, `release`.
    pub flags: Vec<String>,
    /// The strategy's confidence in the culprit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The crash bisected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<Crash>,
    /// Distinct commits tested.
    pub revisions_tested: usize,
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
}

/// The check of a culprit by its revert.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verification {
    /// `revert`.
    pub kind: String,
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
    pub runs: Vec<String>,
    /// `fixes` (the crash went), `still-crashes`, `crashes` (fix: the
    /// crash came back), `still-fixed`, `conflicts`, `build-failed`, or
    /// `unclear`.
    pub verdict: String,
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
            confidence: None,
            crash: None,
            revisions_tested: 0,
            recipients: Recipients::default(),
            steps: Vec::new(),
            time: Times::default(),
            verification: None,
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        self.outcome.exit_code()
    }
}
