//! Bisection strategies: pure state machines that look at what is known and
//! say how many runs the ends need and how they read, which commit to
//! evaluate next, how many runs to spend on it, or that they are done. The
//! engine (and the simulator) own builds and runs.

use culprit_git::CommitGraph;

pub mod bayes;
pub mod classic;
pub mod plain;
pub mod range;

pub use classic::Classic;

use crate::evidence::{CommitEvidence, Direction, Knowledge, RunClass};

/// What a strategy is told at each step.
pub struct Context<'a> {
    /// The suspect range: every commit that may be the culprit.
    pub graph: &'a CommitGraph,
    /// Everything learned so far.
    pub knowledge: &'a Knowledge,
    /// Cause or fix bisection.
    pub direction: Direction,
    /// How many commits may be evaluated at once (builders).
    pub parallelism: usize,
    /// How many runs may be made at once at one commit (test machines).
    pub machines: usize,
    /// What a new build has cost so far, counted in test runs (the mean
    /// build time over the mean run time); `None` until both were timed.
    pub build_cost: Option<f64>,
}

/// One evaluation the strategy asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Graph index of the commit; the graph's length (one past its last
    /// commit) means the old end, whose runs land in
    /// [`Knowledge::old_end`].
    pub commit: u32,
    /// How many more runs of the test to make there (0: only build it).
    pub runs: u32,
}

/// How a strategy ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Conclusion {
    /// One commit is the first "new" one.
    Culprit {
        /// Graph index of the culprit.
        commit: u32,
        /// Probability that this is the right answer, in [0, 1].
        confidence: f64,
    },
    /// Only commits that could not be tested remain.
    Inconclusive {
        /// Graph indices of the remaining suspects.
        candidates: Vec<u32>,
    },
    /// The evidence says the culprit is not in the range (the old end is
    /// not really old).
    NoCulprit {
        /// Probability of that conclusion.
        confidence: f64,
    },
}

/// What to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum NextStep {
    /// Evaluate these commits (at most `Context::parallelism` of them).
    Evaluate(Vec<Request>),
    /// The bisection is over.
    Done(Conclusion),
    /// The bisection cannot go on (infrastructure problems dominate).
    Abort {
        /// One line saying why.
        reason: String,
    },
}

/// A strategy's reading of one commit, for the log and the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Like the old end: good in a cause bisection, still crashing in a fix one.
    Old,
    /// Like the new end: crashing in a cause bisection, fixed in a fix one.
    New,
    /// Could not be decided from the runs made there, nor will more runs help.
    Skip,
    /// Not decided yet: more runs may come.
    Undecided,
}

/// Which end of the range is checked before bisecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The commit the user says crashes (`--bad`): its crash is bisected.
    Bad,
    /// A cause bisection's `--good` commit.
    Good,
    /// A release tag tried as a cause bisection's good end.
    Release,
    /// A fix bisection's newer end, which should not crash.
    Fixed,
    /// A commit tested to check a conclusion (the culprit reverted on an
    /// end; the fork point of a merged branch): it runs until it crashes,
    /// or until a crash would surely have shown at the rate learned.
    Check,
}

/// What a strategy is told about an end.
#[derive(Debug, Clone, Copy)]
pub struct EndContext<'a> {
    /// Which end.
    pub end: End,
    /// Cause or fix bisection.
    pub direction: Direction,
    /// The runs made at this end so far.
    pub evidence: &'a CommitEvidence,
    /// The runs made at the bad end (the same as `evidence` for [`End::Bad`]).
    pub bad_end: &'a CommitEvidence,
    /// How many runs may be made at once.
    pub machines: usize,
}

/// How an end reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReading {
    /// The crash bisected happens there.
    Crashes,
    /// It does not.
    Clean,
    /// The runs cannot tell (build failure, too many invalid runs).
    Unclear,
    /// Infrastructure problems dominate the runs.
    Infra,
}

/// What to do at an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndStep {
    /// Make this many more runs there.
    Run(u32),
    /// The runs made are enough: this is how the end reads.
    Read(EndReading),
}

/// A way of choosing commits and reading verdicts.
pub trait Strategy {
    /// The strategy's name, as given to `--strategy`.
    fn name(&self) -> &'static str;
    /// The same strategy with the same settings, knowing nothing yet (for
    /// a bisection inside a merged branch).
    fn fresh(&self) -> Box<dyn Strategy>;
    /// The probability at which it stops, for strategies that measure
    /// their own certainty.
    fn target_confidence(&self) -> Option<f64> {
        None
    }
    /// How many runs an end of the range needs, and how it reads once
    /// they are made.
    fn check_end(&mut self, ctx: &EndContext<'_>) -> EndStep;
    /// Takes in what was learned since the last call (runs just made), so
    /// that [`Strategy::verdict`] reflects them.
    fn observe(&mut self, _ctx: &Context<'_>) {}
    /// Looks at what is known and says what to do next.
    fn next_step(&mut self, ctx: &Context<'_>) -> NextStep;
    /// The strategy's reading of commit `commit` given what is known now.
    fn verdict(&self, ctx: &Context<'_>, commit: u32) -> Verdict;
    /// The `n` likeliest culprits with their probabilities, for strategies
    /// that keep them (the dashboard draws how they moved).
    fn top_suspects(&self, _ctx: &Context<'_>, _n: usize) -> Vec<(u32, f64)> {
        Vec::new()
    }
}

/// Which strategy to use and how: the same settings come from the flags
/// (`--strategy`, `--runs`, `--confidence`) and from job files.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyConfig {
    /// The name given to `--strategy`.
    pub name: String,
    /// Runs per commit, for the strategies with a fixed budget (classic;
    /// plain's ends).
    pub runs: u32,
    /// Where a strategy that measures its own certainty (bayes) stops.
    pub confidence: f64,
    /// The lowest reproduction rate worth bisecting (bayes): a bad end
    /// that never crashes is given up once its rate is surely below it.
    pub min_rate: f64,
}

/// A strategy name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown strategy {0:?} (known: {known})", known = NAMES.join(", "))]
pub struct UnknownStrategy(pub String);

impl StrategyConfig {
    /// The default strategy with `runs` runs per commit and the default
    /// confidence.
    pub fn new(name: &str, runs: u32) -> Self {
        StrategyConfig {
            name: name.to_owned(),
            runs,
            confidence: DEFAULT_CONFIDENCE,
            min_rate: bayes::DEFAULT_MIN_RATE,
        }
    }

    /// A fresh strategy with these settings.
    pub fn build(&self) -> Result<Box<dyn Strategy>, UnknownStrategy> {
        self.build_with_rate_prior(None)
    }

    /// A fresh strategy with these settings that starts, where it learns
    /// the rate (bayes), from what earlier bisections of the same
    /// reproducer saw of it.
    pub fn build_with_rate_prior(
        &self,
        prior: Option<bayes::RatePrior>,
    ) -> Result<Box<dyn Strategy>, UnknownStrategy> {
        let runs = self.runs.max(1);
        match self.name.as_str() {
            "classic" => Ok(Box::new(Classic::new(runs))),
            "plain" | "git-bisect" => Ok(Box::new(plain::Plain::new(runs))),
            "bayes" => {
                let mut b = bayes::Bayes::new(self.confidence).with_min_rate(self.min_rate);
                if let Some(prior) = prior {
                    b = b.with_rate_prior(prior);
                }
                Ok(Box::new(b))
            }
            other => Err(UnknownStrategy(other.to_owned())),
        }
    }
}

/// The default of `--confidence`: accuracy first (issue 20; the
/// per-seed figures are in BENCHMARKS.md, "Accuracy first").
pub const DEFAULT_CONFIDENCE: f64 = 0.997;

/// A commit whose runs showed another crash (one that is not the bug
/// bisected) this many times, in three runs of four or more, is skipped
/// by every strategy: another bug hides this one there, and more runs
/// would only show it again. syzbot's figure: its 10 runs per commit.
pub const OTHER_CRASH_LIMIT: usize = 10;

/// Whether another crash hides the bug at a commit: at least
/// [`OTHER_CRASH_LIMIT`] of its runs showed another crash, and they are
/// three quarters of its runs or more. Such a commit is a skip, as one
/// whose build failed is, and the search goes on around it.
pub fn masked(e: &CommitEvidence) -> bool {
    let other = e.count(RunClass::OtherCrash);
    other >= OTHER_CRASH_LIMIT && other * 4 >= e.runs.len() * 3
}

/// Names accepted by [`StrategyConfig::build`], the default first.
pub const NAMES: &[&str] = &["bayes", "classic", "plain", "git-bisect"];

/// The strategy used when `--strategy` is not given.
pub const DEFAULT: &str = "bayes";
