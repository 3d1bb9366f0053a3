//! The seam between the engine and whatever builds and tests a commit: a
//! shell command ([`crate::shell::ShellExecutor`]), a kernel in QEMU, or a
//! fake in tests.

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
    /// Crashed.
    Crashed {
        /// The crash's title (`exit status N` when no report was found).
        title: String,
        /// The crash report (or the tail of the output), for the final log.
        report: String,
    },
    /// Could not test this time (exit 125, boot failure): no evidence.
    Invalid {
        /// Short description, e.g. `could not test (exit status 125)`.
        reason: String,
    },
    /// Infrastructure problem (exit >= 128, signal, QEMU died).
    Infra {
        /// Short description.
        reason: String,
    },
}

/// Builds commits and runs the test on builds.
///
/// Implementations check the commit out somewhere of their own (never in
/// the user's checkout), and keep whatever logs they like in the work
/// directory. Every call blocks until done.
pub trait Executor {
    /// What the log calls a build: `kernel` or `build` (as in
    /// `kernel signature:` / `build signature:`).
    fn kind(&self) -> &'static str;
    /// Checks out and builds `commit` (a full hash).
    fn build(&mut self, commit: &str) -> BuildOutcome;
    /// Runs the test once on `build`; `index` counts the runs of that commit
    /// from 0.
    fn run(&mut self, build: &Built, index: u32) -> RunOutcome;
    /// Who to tell about `culprit`. The default takes the commit's
    /// trailers; the kernel executor adds the maintainers from the kernel's
    /// `scripts/get_maintainer.pl`.
    fn recipients(&mut self, culprit: &culprit_git::Commit) -> crate::recipients::Recipients {
        crate::recipients::recipients(culprit)
    }
}
