//! Bisection strategies: pure state machines that look at what is known and
//! say which commit to evaluate next, how many runs to spend on it, or that
//! they are done. The engine (and the simulator) own builds and runs.

use culprit_git::CommitGraph;

pub mod bayes;
pub mod classic;
pub mod plain;
pub mod range;

pub use classic::Classic;

use crate::evidence::{Direction, Knowledge};

/// What a strategy is told at each step.
pub struct Context<'a> {
    /// The suspect range: every commit that may be the culprit.
    pub graph: &'a CommitGraph,
    /// Everything learned so far.
    pub knowledge: &'a Knowledge,
    /// Cause or fix bisection.
    pub direction: Direction,
    /// How many evaluations may run at once (free builders or VMs).
    pub parallelism: usize,
}

/// One evaluation the strategy asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Graph index of the commit.
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

/// A way of choosing commits and reading verdicts.
pub trait Strategy {
    /// The strategy's name, as given to `--strategy`.
    fn name(&self) -> &'static str;
    /// Looks at what is known and says what to do next.
    fn next_step(&mut self, ctx: &Context<'_>) -> NextStep;
    /// The strategy's reading of commit `commit` given what is known now.
    fn verdict(&self, ctx: &Context<'_>, commit: u32) -> Verdict;
}

/// The strategy called `name` on the command line, giving each commit
/// `runs` runs as its base budget (strategies that choose their own number
/// of runs ignore it); `None` for an unknown name.
pub fn by_name(name: &str, runs: u32) -> Option<Box<dyn Strategy>> {
    configured(name, runs, DEFAULT_CONFIDENCE)
}

/// Like [`by_name`], with the confidence at which a strategy that measures
/// its own certainty (bayes) stops.
pub fn configured(name: &str, runs: u32, confidence: f64) -> Option<Box<dyn Strategy>> {
    match name {
        "classic" => Some(Box::new(Classic::new(runs))),
        "plain" | "git-bisect" => Some(Box::new(plain::Plain)),
        "bayes" => Some(Box::new(bayes::Bayes::new(confidence))),
        _ => None,
    }
}

/// The default of `--confidence`.
pub const DEFAULT_CONFIDENCE: f64 = 0.99;

/// Names accepted by [`by_name`], the default first.
pub const NAMES: &[&str] = &["bayes", "classic", "plain", "git-bisect"];

/// The strategy used when `--strategy` is not given.
pub const DEFAULT: &str = "bayes";
