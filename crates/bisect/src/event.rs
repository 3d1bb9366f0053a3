//! What the engine tells as a bisection goes: typed events, in the order
//! they happen. The engine formats nothing; renderers (the text log, the
//! page, the mail, in `culprit-render`) turn events into words.

use crate::evidence::Direction;
use crate::outcome::{Crash, Outcome, RunLine, StepVerdict, Times, VerificationVerdict};
use crate::recipients::Recipients;

/// What a build makes, as the log names it: `kernel signature:` or
/// `build signature:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildKind {
    /// A Linux kernel.
    Kernel,
    /// Whatever a build command makes.
    Build,
}

impl BuildKind {
    /// The word of the log: `kernel` or `build`.
    pub fn word(self) -> &'static str {
        match self {
            BuildKind::Kernel => "kernel",
            BuildKind::Build => "build",
        }
    }
}

/// Why commits left the range before the bisection started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PruneReason {
    /// They change no file the build reads.
    NotBuiltFrom(BuildKind),
    /// They change nothing under `--paths`.
    OutsidePaths,
}

/// Why a bisection ended `always-bad`.
#[derive(Debug, Clone, PartialEq)]
pub enum AlwaysBad {
    /// Cause: a `--good` commit crashes.
    AtGood(String),
    /// Fix: the good end still crashes.
    AtGoodEnd(String),
    /// Cause: the oldest release tested crashes.
    OldestRelease(String),
    /// The strategy found the crash at the old end(s) too.
    AtOldEnd {
        /// The old end(s).
        olds: Vec<String>,
        /// How sure the strategy is.
        confidence: f64,
    },
}

/// The parent's side of the signature comparison at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParentBuild {
    /// The parent built with this signature.
    Signature(String),
    /// The parent's build failed.
    Failed(String),
}

/// What a fix merged from a branch showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergedFix {
    /// The fix came in with a merge whose branch forked at `base`.
    Found {
        /// The merge.
        merge: String,
        /// The merged branch's tip.
        side: String,
        /// Where the branch forked.
        base: String,
    },
    /// The branch's tip still crashes: the merge itself fixed it.
    MergeItself,
    /// The branch forked before the bug came in: the fix came with its
    /// commits.
    FromBranch {
        /// The fork point, which does not crash.
        base: String,
        /// The branch's commits (hash, title), newest first.
        commits: Vec<(String, String)>,
    },
    /// The branch carried the bug: the bisection goes on inside it.
    Inside,
}

/// One thing the engine tells.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Where the bisection keeps its files.
    WorkDir {
        /// The work directory.
        workdir: String,
        /// This bisection's own directory, relative to it when inside.
        own: String,
    },
    /// The bisection starts from the crashing end.
    Start {
        /// Cause or fix.
        direction: Direction,
        /// The crashing end.
        bad: String,
    },
    /// The crash asked for by a title culprit names otherwise (syzbot's)
    /// was recognised at the bad end: it is bisected by culprit's title.
    CrashRecognised {
        /// The title asked for.
        asked: String,
        /// culprit's title of the crash.
        title: String,
        /// Why it is that crash.
        why: String,
    },
    /// A release tag is tried as the good end.
    TestingRelease {
        /// Its name.
        name: String,
    },
    /// A commit is tested for the first time.
    Testing {
        /// Full hash.
        commit: String,
    },
    /// A commit built.
    Built {
        /// Full hash.
        commit: String,
        /// What the build makes.
        kind: BuildKind,
        /// The compiler, when the executor knows it.
        compiler: Option<String>,
        /// The build's signature.
        signature: String,
        /// An earlier commit with the same signature, whose runs are reused.
        reused_from: Option<String>,
    },
    /// A commit did not build.
    BuildFailed {
        /// Full hash.
        commit: String,
        /// Why.
        reason: String,
    },
    /// Runs ended at a commit: runs `from..` of it, in index order.
    Runs {
        /// Full hash.
        commit: String,
        /// The index of the first run in `runs`.
        from: u32,
        /// What each run showed, against the crash bisected.
        runs: Vec<RunLine>,
    },
    /// A commit reached the per-commit cap on runs.
    RunCapReached {
        /// Full hash.
        commit: String,
        /// The cap.
        cap: u32,
    },
    /// Commits left the range before the bisection started.
    Pruned {
        /// Their hashes.
        commits: Vec<String>,
        /// Why.
        reason: PruneReason,
    },
    /// The range to bisect, as `git bisect start` takes it.
    RangeStart {
        /// Cause or fix.
        direction: Direction,
        /// The new end.
        new: String,
        /// The old end(s).
        olds: Vec<String>,
    },
    /// The next commit chosen, with git's count of what is left.
    Next {
        /// Revisions left after this one.
        left: usize,
        /// Roughly how many steps.
        steps: usize,
        /// Full hash.
        commit: String,
        /// Its subject line.
        title: String,
    },
    /// A tested commit's verdict became known or changed.
    Verdict {
        /// Full hash.
        commit: String,
        /// In git's words.
        verdict: StepVerdict,
    },
    /// What a fix merged from a branch showed.
    MergedFix(MergedFix),
    /// The culprit, with `git show --stat` (and its patch when asked).
    Culprit {
        /// Cause or fix.
        direction: Direction,
        /// Full hash.
        commit: String,
        /// `git show --stat` of it.
        show: String,
        /// Its patch (`--show-diff`).
        patch: Option<String>,
    },
    /// The culprit's and its parent's signatures.
    Signatures {
        /// What the builds make.
        kind: BuildKind,
        /// The culprit's.
        own: String,
        /// The parent's, or why it did not build.
        parent: ParentBuild,
        /// The ancestor whose build the parent's is, when the parent
        /// changes no file the build reads (it was not built itself).
        parent_same_as: Option<String>,
    },
    /// The bug went by another title somewhere in the range.
    TitleAlso {
        /// The other title.
        title: String,
        /// The newest commit that showed it.
        at: String,
    },
    /// The culprit's parent crashes in a function the culprit takes away.
    TitleChangedOnly {
        /// The parent.
        parent: String,
        /// The function.
        function: String,
    },
    /// The culprit is checked by its revert.
    Verifying {
        /// Cause or fix.
        direction: Direction,
        /// The culprit.
        commit: String,
        /// The commit it is reverted on.
        base: String,
    },
    /// The executor cannot make reverts: not verified.
    RevertUnsupported,
    /// What the revert showed.
    Verified {
        /// Cause or fix.
        direction: Direction,
        /// The culprit.
        commit: String,
        /// What the check showed.
        verdict: VerificationVerdict,
        /// The confidence it leaves.
        confidence: f64,
    },
    /// Revisions tested and time spent.
    Totals {
        /// Distinct commits tested.
        revisions: usize,
        /// Time spent.
        time: Times,
    },
    /// The answer, on one line.
    Summary {
        /// Cause or fix.
        direction: Direction,
        /// The culprit.
        commit: String,
        /// Its subject line.
        title: String,
        /// How sure.
        confidence: f64,
    },
    /// Who to tell.
    Recipients(Recipients),
    /// The crash bisected and one report of it.
    Crash(Crash),
    /// Only skipped commits are left.
    Inconclusive {
        /// Cause or fix.
        direction: Direction,
        /// The candidates (hash, title).
        candidates: Vec<(String, String)>,
    },
    /// The crash is at the old end too.
    AlwaysBad(AlwaysBad),
    /// No commit of the range can be the culprit.
    NoSuspects {
        /// Why.
        why: String,
    },
    /// The bisection could not be done.
    Failed {
        /// Why.
        error: String,
    },
    /// The bisection is over: nothing follows.
    Finished(Box<Outcome>),
}

/// Where the engine's events go.
pub trait EventSink {
    /// Takes one event.
    fn event(&mut self, event: &Event);
}

impl<F: FnMut(&Event)> EventSink for F {
    fn event(&mut self, event: &Event) {
        self(event)
    }
}

/// Events dropped (a bisection nobody watches).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn event(&mut self, _event: &Event) {}
}

/// Every event, kept (tests, and renderers that need the whole story).
#[derive(Debug, Default, Clone)]
pub struct Recorded(pub Vec<Event>);

impl EventSink for Recorded {
    fn event(&mut self, event: &Event) {
        self.0.push(event.clone());
    }
}

/// Hands each event to several sinks in turn.
pub struct Fanout<'a>(pub Vec<&'a mut dyn EventSink>);

impl EventSink for Fanout<'_> {
    fn event(&mut self, event: &Event) {
        for sink in self.0.iter_mut() {
            sink.event(event);
        }
    }
}
