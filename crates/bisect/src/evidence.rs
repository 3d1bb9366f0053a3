//! What the runs at a commit told us, in the terms strategies reason with.

/// Which way a bisection looks.
///
/// The suspect graph always runs from the `old` end(s) to the `new` end.
/// In a cause bisection the old end is good and the new end crashes; in a
/// fix bisection the old end crashes and the new end does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Looking for the first commit with the crash.
    Cause,
    /// Looking for the first commit without the crash.
    Fix,
}

/// How one run of the test ended, classified against the crash being bisected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunClass {
    /// Ran to the end without crashing.
    Ok,
    /// Crashed with the crash being bisected (same title as at the bad end).
    Crash,
    /// Crashed with some other crash: no evidence either way.
    OtherCrash,
    /// Could not test (exit 125, boot failure, lost output): no evidence.
    Invalid,
    /// Infrastructure problem (exit >= 128, signal, QEMU failure).
    Infra,
}

/// Everything known of one commit of the graph.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitEvidence {
    /// The build failed: the commit can only be skipped.
    pub build_failed: bool,
    /// The classified runs, in the order they happened.
    pub runs: Vec<RunClass>,
}

impl CommitEvidence {
    /// Number of runs of the given class.
    pub fn count(&self, class: RunClass) -> usize {
        self.runs.iter().filter(|r| **r == class).count()
    }
}

/// What a strategy sees: evidence per commit of the suspect graph (by
/// index), plus the evidence from the ends.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    /// Evidence per graph index; `None` where nothing was tried yet.
    pub commits: Vec<Option<CommitEvidence>>,
    /// Runs at the old end(s) of the range (they lie outside the graph).
    pub old_end: CommitEvidence,
}

impl Knowledge {
    /// Empty knowledge for a graph of `len` commits.
    pub fn new(len: usize) -> Self {
        Knowledge {
            commits: vec![None; len],
            old_end: CommitEvidence::default(),
        }
    }

    /// Evidence of commit `i`, if any.
    pub fn get(&self, i: u32) -> Option<&CommitEvidence> {
        self.commits.get(i as usize).and_then(|e| e.as_ref())
    }

    /// Evidence of commit `i`, created empty if absent.
    pub fn entry(&mut self, i: u32) -> &mut CommitEvidence {
        self.commits[i as usize].get_or_insert_with(CommitEvidence::default)
    }
}
