//! The generic recipe: a shell command run in the worktree; the build
//! signature comes from one output file (`--artifact`).

use crate::run::{self, RunError};
use crate::signature::{self, SignatureError};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A build done by `sh -c COMMAND` in the worktree.
#[derive(Debug, Clone)]
pub struct ShellRecipe {
    /// The shell command.
    pub command: String,
    /// The output file (relative to the worktree, or absolute) whose
    /// signature identifies the build; `None` for no signature.
    pub artifact: Option<PathBuf>,
    /// How long the command may run.
    pub timeout: Duration,
}

/// What a successful shell build produced.
#[derive(Debug, Clone)]
pub struct ShellBuild {
    /// Signature of the artifact, if the recipe names one.
    pub signature: Option<String>,
    /// The artifact's path (inside the worktree: the next checkout may
    /// change it).
    pub artifact_path: Option<PathBuf>,
    /// The command's combined output.
    pub log: PathBuf,
    /// How long the build took.
    pub duration: Duration,
}

/// Why a shell build did not produce a usable result.
#[derive(Debug, thiserror::Error)]
pub enum ShellBuildError {
    /// The command failed or timed out (the tail of its output is kept).
    #[error(transparent)]
    Run(#[from] RunError),
    /// The command succeeded but the artifact is missing or unreadable.
    #[error("build artifact: {0}")]
    Artifact(#[from] SignatureError),
}

impl ShellBuildError {
    /// The last lines of the build output, when the command itself failed.
    pub fn output_tail(&self) -> Option<&str> {
        match self {
            ShellBuildError::Run(error) => error.tail(),
            ShellBuildError::Artifact(_) => None,
        }
    }
}

impl ShellRecipe {
    /// Runs the command in `worktree`, writing its output to `log` (replaced).
    pub fn build(&self, worktree: &Path, log: &Path) -> Result<ShellBuild, ShellBuildError> {
        let start = Instant::now();
        // A fresh log per build: a failure's tail must be this build's.
        let _ = std::fs::remove_file(log);
        let mut command = Command::new("sh");
        command.arg("-c").arg(&self.command).current_dir(worktree);
        run::run_logged(
            command,
            log,
            culprit_proc::deadline_after(self.timeout),
            self.timeout,
        )?;
        let artifact_path = self.artifact.as_ref().map(|a| worktree.join(a));
        let signature = match &artifact_path {
            Some(path) => Some(signature::file_signature(path)?),
            None => None,
        };
        Ok(ShellBuild {
            signature,
            artifact_path,
            log: log.to_path_buf(),
            duration: start.elapsed(),
        })
    }

    /// A short string that changes whenever the recipe would build
    /// something else from the same tree (for [`crate::cache::BuildCache`]).
    pub fn fingerprint(&self) -> String {
        let artifact = self
            .artifact
            .as_ref()
            .map(|a| a.display().to_string())
            .unwrap_or_default();
        signature::bytes_signature(format!("shell\0{}\0{}", self.command, artifact).as_bytes())
    }
}
