//! Running the `git` program with a predictable environment.
//!
//! Every call sets `LC_ALL=C` and ignores the system and global git
//! configuration, so that user settings (colours, `log.showSignature`,
//! custom date formats, diff options) cannot change the output we parse.
//! Variables that would redirect git to another repository or index are
//! removed. `GIT_OPTIONAL_LOCKS=0` keeps read-only commands from refreshing
//! the user's index.
//!
//! One consequence of ignoring the global configuration: a `safe.directory`
//! entry there is not seen, so a repository owned by another user is
//! refused with git's "dubious ownership" message (passed on in the error).
//! The repository's own configuration still applies.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A git command that could not be run or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The `git` program could not be started.
    #[error("cannot run git: {0}")]
    Spawn(#[source] std::io::Error),
    /// git exited with an error.
    #[error("`git {args}` failed ({status}): {stderr}")]
    Failed {
        /// The arguments, space separated.
        args: String,
        /// Exit status as text.
        status: String,
        /// git's error message (first lines).
        stderr: String,
    },
    /// git's output could not be understood.
    #[error("unexpected output from `git {args}`: {detail}")]
    BadOutput {
        /// The arguments, space separated.
        args: String,
        /// What was wrong.
        detail: String,
    },
}

/// Environment variables that would point git somewhere else.
const REDIRECTING_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
];

/// Where git commands run: a fixed prefix of arguments such as
/// `--git-dir=...` or `-C <dir>`.
#[derive(Debug, Clone)]
pub(crate) struct Git {
    prefix: Vec<OsString>,
}

impl Git {
    /// Commands that run in (or below) the directory `dir`.
    pub(crate) fn in_dir(dir: &Path) -> Git {
        Git {
            prefix: vec!["-C".into(), dir.as_os_str().to_owned()],
        }
    }

    /// Commands that read the repository at `git_dir` without looking at
    /// any working tree.
    pub(crate) fn at_git_dir(git_dir: &Path) -> Git {
        let mut arg = OsString::from("--git-dir=");
        arg.push(git_dir.as_os_str());
        Git { prefix: vec![arg] }
    }

    fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new("git");
        for var in REDIRECTING_VARS {
            cmd.env_remove(var);
        }
        cmd.env("LC_ALL", "C")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("GIT_TERMINAL_PROMPT", "0")
            .args(&self.prefix)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs git and returns its raw output whatever the exit status.
    pub(crate) fn raw<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        input: Option<&[u8]>,
    ) -> Result<Output, GitError> {
        self.raw_with_env(args, input, &[])
    }

    /// Like [`Git::raw`] with extra environment variables.
    pub(crate) fn raw_with_env<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        input: Option<&[u8]>,
        vars: &[(&str, &String)],
    ) -> Result<Output, GitError> {
        let mut cmd = self.command(args);
        cmd.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
        let Some(input) = input else {
            return cmd.output().map_err(GitError::Spawn);
        };
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(GitError::Spawn)?;
        if let Some(mut stdin) = child.stdin.take() {
            // Written from a thread: git may fill its stdout pipe before it
            // has read all of its input.
            let input = input.to_vec();
            let writer = std::thread::spawn(move || stdin.write_all(&input));
            let output = child.wait_with_output().map_err(GitError::Spawn)?;
            // A write error (git exiting early) shows up in the exit status.
            let _ = writer.join();
            return Ok(output);
        }
        child.wait_with_output().map_err(GitError::Spawn)
    }

    /// Runs git, fails unless it exits with 0, and returns its stdout.
    pub(crate) fn stdout<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Vec<u8>, GitError> {
        self.stdout_with_input(args, None)
    }

    /// Like [`Git::stdout`], feeding `input` to git's stdin.
    pub(crate) fn stdout_with_input<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        input: Option<&[u8]>,
    ) -> Result<Vec<u8>, GitError> {
        let output = self.raw(args, input)?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(failure(args, &output))
        }
    }

    /// Runs git and returns its stdout as one trimmed line of text.
    pub(crate) fn line<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<String, GitError> {
        let out = self.stdout(args)?;
        Ok(String::from_utf8_lossy(&out).trim().to_string())
    }
}

/// The error for a git run that exited unsuccessfully.
pub(crate) fn failure<S: AsRef<OsStr>>(args: &[S], output: &Output) -> GitError {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .collect();
    GitError::Failed {
        args: join_args(args),
        status: output.status.to_string(),
        stderr: stderr.join(" / "),
    }
}

/// An error for output that does not have the expected shape.
pub(crate) fn bad_output<S: AsRef<OsStr>>(args: &[S], detail: impl Into<String>) -> GitError {
    GitError::BadOutput {
        args: join_args(args),
        detail: detail.into(),
    }
}

fn join_args<S: AsRef<OsStr>>(args: &[S]) -> String {
    args.iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// True for a full object id (SHA-1 or SHA-256, lower-case hex).
pub(crate) fn is_object_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64)
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
