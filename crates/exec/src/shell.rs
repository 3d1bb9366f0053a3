//! The generic executor: `--build` and `--test` are shell commands run in a
//! private checkout under the work directory.
//!
//! The test's exit status says what happened: 0 ran without crashing, 125
//! could not test, 1..=127 crashed (named by the crash report in its output,
//! or `exit status N`), 128 and above or a signal: infrastructure problem.

use std::ops::Range;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use culprit_bisect::{BuildOutcome, Built, Executor, RevertOutcome, RunOutcome};
use culprit_build::run::RunError;
use culprit_build::{ShellBuildError, ShellRecipe};
use culprit_git::{Repo, Worktree, WorktreeError};

use crate::capture::{self, Captured};
/// Why the shell executor could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// The private checkout could not be made.
    #[error("cannot make the worktree: {0}")]
    Worktree(#[from] WorktreeError),
    /// A directory of the work directory could not be made.
    #[error("cannot create {}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What the shell executor runs.
#[derive(Debug, Clone)]
pub struct ShellConfig {
    /// `--build`.
    pub build: String,
    /// `--test`.
    pub test: String,
    /// `--artifact`: the output file whose bytes make the build signature.
    pub artifact: Option<PathBuf>,
    /// Time limit of one build.
    pub build_timeout: Duration,
    /// Time limit of one run of the test.
    pub test_timeout: Duration,
}

/// Builds and tests with shell commands in `WORKDIR/worktree`; build logs
/// go to `WORKDIR/builds/HASH.log`, run output to `RUNS/HASH/I.log` (the
/// bisection's own directory).
pub struct ShellExecutor {
    worktree: Worktree,
    recipe: ShellRecipe,
    config: ShellConfig,
    workdir: PathBuf,
    runs_dir: PathBuf,
}

impl ShellExecutor {
    /// Sets up the worktree in `workdir` (reusing one an earlier run left);
    /// run logs go under `runs_dir`.
    pub fn new(
        repo: &Repo,
        workdir: &Path,
        runs_dir: &Path,
        config: ShellConfig,
    ) -> Result<Self, ShellError> {
        for path in [workdir.join("builds"), runs_dir.to_owned()] {
            std::fs::create_dir_all(&path).map_err(|source| ShellError::Io { path, source })?;
        }
        let worktree = Worktree::create(repo, &workdir.join("worktree"))?;
        let recipe = ShellRecipe {
            command: config.build.clone(),
            artifact: config.artifact.clone(),
            timeout: config.build_timeout,
        };
        Ok(ShellExecutor {
            worktree,
            recipe,
            config,
            workdir: workdir.to_owned(),
            runs_dir: runs_dir.to_owned(),
        })
    }

    fn build_log(&self, commit: &str) -> PathBuf {
        self.workdir.join("builds").join(format!("{commit}.log"))
    }

    fn signature(
        &self,
        commit: &str,
        artifact_signature: Option<String>,
    ) -> Result<String, String> {
        match artifact_signature {
            Some(s) => Ok(s),
            // The worktree knows the user's commits and its own reverts.
            None => self.worktree.tree_of(commit).map_err(|e| e.to_string()),
        }
    }

    /// Makes sure the worktree holds `built`: a resumed run finds it there;
    /// a strategy coming back to an earlier commit needs it rebuilt.
    fn ensure_checked_out(&mut self, built: &Built) -> Result<(), String> {
        if self.worktree.head().ok().flatten().as_deref() == Some(built.commit.as_str()) {
            return Ok(());
        }
        match self.build(&built.commit) {
            BuildOutcome::Built(_) => Ok(()),
            BuildOutcome::Failed { reason } | BuildOutcome::Infra { reason } => {
                Err(format!("cannot rebuild {}: {reason}", built.commit))
            }
        }
    }
}

impl Executor for ShellExecutor {
    fn same_bug(&self) -> std::sync::Arc<dyn culprit_bisect::SameBug> {
        std::sync::Arc::new(crate::identity::ReportRelations)
    }

    fn revert(&mut self, base: &str, commit: &str) -> RevertOutcome {
        revert_in(&self.worktree, base, commit)
    }

    fn build(&mut self, commit: &str) -> BuildOutcome {
        // A build that exits 0 without writing the artifact must not be
        // signed with the previous commit's: remove it first (a tracked
        // artifact comes back with the checkout).
        // Only inside the worktree: culprit deletes nothing of the user's.
        if let Some(artifact) = self.config.artifact.as_ref().filter(|a| a.is_relative()) {
            let _ = std::fs::remove_file(self.worktree.path().join(artifact));
        }
        if let Err(e) = self.worktree.checkout(commit) {
            return BuildOutcome::Infra {
                reason: format!("checkout failed: {e}"),
            };
        }
        let log = self.build_log(commit);
        match self.recipe.build(self.worktree.path(), &log) {
            Ok(b) => match self.signature(commit, b.signature) {
                Ok(signature) => BuildOutcome::Built(Built {
                    commit: commit.to_owned(),
                    signature,
                    compiler: None,
                }),
                Err(e) => BuildOutcome::Infra { reason: e },
            },
            Err(ShellBuildError::Run(RunError::Spawn { source, .. })) => BuildOutcome::Infra {
                reason: format!("cannot run the build command: {source}"),
            },
            Err(ShellBuildError::Run(RunError::Failed { status, .. })) => {
                // sh exits 127 (126) when the command is missing (not executable).
                let missing = status.ends_with(" 127") || status.ends_with(" 126");
                let what = if missing {
                    "command not found or not executable, "
                } else {
                    ""
                };
                BuildOutcome::Failed {
                    reason: format!("{what}{status} (output in {})", log.display()),
                }
            }
            Err(ShellBuildError::Run(RunError::TimedOut { limit, .. })) => BuildOutcome::Failed {
                reason: format!(
                    "timed out after {}s (output in {})",
                    limit.as_secs(),
                    log.display()
                ),
            },
            Err(e @ ShellBuildError::Artifact(_)) => BuildOutcome::Failed {
                reason: e.to_string(),
            },
        }
    }

    fn run(
        &mut self,
        built: &Built,
        runs: Range<u32>,
        done: &mut dyn FnMut(u32, RunOutcome, f64) -> bool,
    ) {
        for index in runs {
            let start = Instant::now();
            let outcome = self.run_once(built, index);
            if !done(index, outcome, start.elapsed().as_secs_f64()) {
                return;
            }
        }
    }
}

impl ShellExecutor {
    /// Run `index` of the test on `built`.
    fn run_once(&mut self, built: &Built, index: u32) -> RunOutcome {
        if let Err(reason) = self.ensure_checked_out(built) {
            return RunOutcome::Infra { reason };
        }
        let dir = self.runs_dir.join(&built.commit);
        let log = dir.join(format!("{index}.log"));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return RunOutcome::Infra {
                reason: format!("cannot create {}: {e}", dir.display()),
            };
        }
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(&self.config.test)
            .current_dir(self.worktree.path())
            .env("CULPRIT_RUN", index.to_string())
            .env("CULPRIT_COMMIT", &built.commit);
        match capture::run(command, &log, self.config.test_timeout) {
            Ok(Captured { status: None, .. }) => RunOutcome::Infra {
                reason: format!(
                    "test timed out after {}s",
                    self.config.test_timeout.as_secs()
                ),
            },
            Ok(captured) => classify_exit(captured),
            Err(e) => RunOutcome::Infra {
                reason: e.to_string(),
            },
        }
    }
}

/// A revert made in `worktree`, as the engine wants it.
pub(crate) fn revert_in(worktree: &Worktree, base: &str, commit: &str) -> RevertOutcome {
    match worktree.revert(base, commit) {
        Ok(Some(commit)) => RevertOutcome::Applied { commit },
        Ok(None) => RevertOutcome::Conflicts,
        Err(e) => RevertOutcome::Infra {
            reason: e.to_string(),
        },
    }
}

/// The test's exit status, read as the README's table says.
fn classify_exit(captured: Captured) -> RunOutcome {
    let Some(status) = captured.status else {
        return RunOutcome::Infra {
            reason: "infrastructure problem (no exit status)".into(),
        };
    };
    match (status.code(), status.signal()) {
        (Some(0), _) => RunOutcome::Ok,
        (Some(125), _) => RunOutcome::Invalid {
            reason: "could not test (exit status 125)".into(),
        },
        (Some(code @ 1..=127), _) => crashed(code, captured),
        (Some(code), _) => RunOutcome::Infra {
            reason: format!("infrastructure problem (exit status {code})"),
        },
        (None, Some(signal)) => RunOutcome::Infra {
            reason: format!("infrastructure problem (killed by signal {signal})"),
        },
        (None, None) => RunOutcome::Infra {
            reason: "infrastructure problem (unknown exit)".into(),
        },
    }
}

/// A crash named by the first report in the output, else `exit status N`.
fn crashed(code: i32, captured: Captured) -> RunOutcome {
    match captured.report {
        Some(r) => RunOutcome::Crashed {
            title: r.title,
            report: r.text,
        },
        None => RunOutcome::Failed {
            status: code,
            output: captured.tail,
        },
    }
}
