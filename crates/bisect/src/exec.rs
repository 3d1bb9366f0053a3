//! The seam between the engine and whatever builds and tests commits: a
//! shell command, a kernel in QEMU (both in `culprit-exec`), a fake in
//! tests, or remote workers.
//!
//! The engine hands the executor evaluations (a commit to build, runs to
//! make there) and gets every build and every run back through an
//! [`EvaluationSink`] as it finishes, so it can journal each one before the
//! next one ends.

use std::ops::Range;

/// A successful build of one commit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Built {
    /// Full hash of the commit built.
    pub commit: String,
    /// Identifies the build output: equal signatures mean equal programs.
    pub signature: String,
    /// The compiler used, when the executor knows it (logged as `compiler:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiler: Option<String>,
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOutcome {
    /// Built; ready to run.
    Built(Built),
    /// The commit does not build: it can only be skipped.
    Failed {
        /// One line saying why (e.g. `build failed (exit status 2)`).
        reason: String,
    },
    /// The build could not be attempted (checkout failed, disk full...):
    /// the bisection stops.
    Infra {
        /// One line saying why.
        reason: String,
    },
}

/// How one run of the test ended, before it is compared with the crash
/// being bisected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RunOutcome {
    /// Ran to the end without crashing.
    Ok,
    /// Crashed, with a crash report.
    Crashed {
        /// The crash's title.
        title: String,
        /// The crash report, for the final log.
        report: String,
    },
    /// Failed without a crash report: the test's exit status says so.
    Failed {
        /// The exit status (1 to 127).
        status: i32,
        /// The tail of the output, for the final log.
        output: String,
    },
    /// Could not test this time (exit 125, boot failure): no evidence.
    Invalid {
        /// Short description, e.g. `could not test (exit status 125)`.
        reason: String,
    },
    /// Infrastructure problem (exit >= 128, signal, QEMU died, a log that
    /// could not be written whole).
    Infra {
        /// Short description.
        reason: String,
    },
}

impl RunOutcome {
    /// The title of the crash this run showed: a report's title, or
    /// `exit status N` for a failure without one; `None` when it did not
    /// crash.
    pub fn crash_title(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            RunOutcome::Crashed { title, .. } => Some(title.as_str().into()),
            RunOutcome::Failed { status, .. } => Some(format!("exit status {status}").into()),
            _ => None,
        }
    }

    /// The report of a crash (the output's tail for a failure).
    pub fn report(&self) -> Option<&str> {
        match self {
            RunOutcome::Crashed { report, .. } => Some(report),
            RunOutcome::Failed { output, .. } => Some(output),
            _ => None,
        }
    }

    /// Whether the test could not be started at all: the shell's statuses
    /// for a command not found (127) or not executable (126).
    pub fn command_not_runnable(&self) -> bool {
        matches!(
            self,
            RunOutcome::Failed {
                status: 126 | 127,
                ..
            }
        )
    }
}

/// What an executor can do, for the engine and the service to decide by
/// (never by comparing names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// What its builds make, as the log names it.
    pub builds: crate::event::BuildKind,
    /// Whether a build made elsewhere (another worker, an earlier owner)
    /// must be made or fetched here before it can be run.
    pub runs_need_local_build: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            builds: crate::event::BuildKind::Build,
            runs_need_local_build: false,
        }
    }
}

/// What became of reverting a commit on top of another, to verify a
/// culprit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevertOutcome {
    /// The revert applied; this commit (in the executor's own checkout,
    /// never in the user's repository) holds it.
    Applied {
        /// Full hash of the revert commit.
        commit: String,
    },
    /// The revert does not apply cleanly.
    Conflicts,
    /// This executor cannot make reverts.
    Unsupported,
    /// The revert could not be attempted (checkout failed...).
    Infra {
        /// One line saying why.
        reason: String,
    },
}

/// What a build reads: whether a commit's changes can change what is
/// built (and so the test's outcome).
pub trait BuildInputs {
    /// Whether a commit changing `paths` can change the build; `true`
    /// when unsure.
    fn relevant(&self, paths: &[String]) -> bool;
}

/// A crash as the engine knows it: its title and its report.
#[derive(Debug, Clone, Copy)]
pub struct CrashSeen<'a> {
    /// The title.
    pub title: &'a str,
    /// The report text.
    pub report: &'a str,
}

/// Tells whether a crash with another title is the bug being bisected.
pub trait SameBug: Send + Sync {
    /// Why `crash` is the same bug as `target` (a short phrase such as
    /// `same call stack`), or `None` when nothing says so.
    fn relate(&self, target: CrashSeen<'_>, crash: CrashSeen<'_>) -> Option<String>;

    /// Why `crash` is the crash a title given by the user names (syzbot's
    /// title of it, say, where culprit names the report otherwise), or
    /// `None`. The default knows titles only.
    fn recognise(&self, _asked: &str, _crash: CrashSeen<'_>) -> Option<String> {
        None
    }
}

/// Knows titles only: a crash with another title is another bug.
#[derive(Debug, Clone, Copy, Default)]
pub struct TitlesOnly;

impl SameBug for TitlesOnly {
    fn relate(&self, _target: CrashSeen<'_>, _crash: CrashSeen<'_>) -> Option<String> {
        None
    }
}

/// How much an executor can do at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Commits that can be built (and evaluated) at the same time.
    pub builders: usize,
    /// Runs that can be made at the same time at one commit (test machines).
    pub machines: usize,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            builders: 1,
            machines: 1,
        }
    }
}

/// One commit to evaluate: build it (unless its build is known) and make
/// the runs `runs` (run indices at that commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Full hash.
    pub commit: String,
    /// The build, when it is already known (journaled or made earlier).
    pub build: Option<Built>,
    /// The run indices wanted.
    pub runs: Range<u32>,
}

/// Where an executor hands back what it finished.
pub trait EvaluationSink {
    /// A build of `commit` ended after `secs` seconds. Returns the runs
    /// still to make there: the engine may take fewer than were asked for
    /// (none when an identical build's runs are reused, or when the build
    /// failed).
    fn built(&mut self, commit: &str, outcome: BuildOutcome, secs: f64) -> Range<u32>;
    /// Run `index` of `commit` ended after `secs` seconds. Returns `false`
    /// when no further run should start (the journal cannot be written,
    /// or infrastructure problems stop the bisection).
    fn ran(&mut self, commit: &str, index: u32, outcome: RunOutcome, secs: f64) -> bool;
}

/// Builds commits and runs the test on builds.
///
/// Implementations check commits out somewhere of their own (never in the
/// user's checkout), and keep whatever logs they like in the work
/// directory.
pub trait Executor {
    /// What it can do (what its builds are, whether runs need the build
    /// here).
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    /// How many commits and runs it can take at once.
    fn capacity(&self) -> Capacity {
        Capacity::default()
    }
    /// Checks out and builds `commit` (a full hash).
    fn build(&mut self, commit: &str) -> BuildOutcome;
    /// Makes the runs `runs` of `build` (up to [`Capacity::machines`] at
    /// once), handing each to `done` as it ends, in the order they end.
    /// Stops starting runs once `done` returns `false`.
    fn run(
        &mut self,
        build: &Built,
        runs: Range<u32>,
        done: &mut dyn FnMut(u32, RunOutcome, f64) -> bool,
    );
    /// Evaluates several commits (up to [`Capacity::builders`] at once),
    /// reporting every build and run to `sink` as it ends. The default
    /// evaluates them one after the other on this machine.
    fn evaluate(&mut self, evaluations: Vec<Evaluation>, sink: &mut dyn EvaluationSink) {
        for evaluation in evaluations {
            if !evaluate_here(self, evaluation, sink) {
                return;
            }
        }
    }
    /// What tells crashes of different titles apart (the executors read
    /// reports with `culprit-report`); the default knows titles only.
    fn same_bug(&self) -> std::sync::Arc<dyn SameBug> {
        std::sync::Arc::new(TitlesOnly)
    }
    /// What the builds made so far read, when the executor knows it (the
    /// kernel executor reads kbuild's dependency records): commits that
    /// change none of it are never built.
    fn build_inputs(&mut self) -> Option<Box<dyn BuildInputs + '_>> {
        None
    }
    /// Makes the commit that reverts `commit` on top of `base` (a merge
    /// against its first parent), in the executor's own checkout, so that
    /// it can be built and run like any commit.
    fn revert(&mut self, _base: &str, _commit: &str) -> RevertOutcome {
        RevertOutcome::Unsupported
    }
    /// Who to tell about `culprit`. The default takes the commit's
    /// trailers; the kernel executor adds the maintainers from the kernel's
    /// `scripts/get_maintainer.pl`.
    fn recipients(&mut self, culprit: &culprit_git::Commit) -> crate::recipients::Recipients {
        crate::recipients::recipients(culprit)
    }
}

/// Evaluates one commit with `exec`'s own [`Executor::build`] and
/// [`Executor::run`]; `false` once the sink wants no more.
pub fn evaluate_here<E: Executor + ?Sized>(
    exec: &mut E,
    evaluation: Evaluation,
    sink: &mut dyn EvaluationSink,
) -> bool {
    let (built, runs) = match evaluation.build {
        Some(built) => (built, evaluation.runs),
        None => {
            let start = std::time::Instant::now();
            let outcome = exec.build(&evaluation.commit);
            let secs = start.elapsed().as_secs_f64();
            let built = match &outcome {
                BuildOutcome::Built(b) => Some(b.clone()),
                _ => None,
            };
            let infra = matches!(outcome, BuildOutcome::Infra { .. });
            let runs = sink.built(&evaluation.commit, outcome, secs);
            match built {
                Some(b) => (b, runs),
                None => return !infra,
            }
        }
    };
    if runs.is_empty() {
        return true;
    }
    let mut going = true;
    exec.run(&built, runs, &mut |index, outcome, secs| {
        going = sink.ran(&built.commit, index, outcome, secs);
        going
    });
    going
}
