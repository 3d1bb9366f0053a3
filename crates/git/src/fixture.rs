//! Throwaway git repositories for tests (cargo feature `fixture`).
//!
//! ```
//! # #[cfg(feature = "fixture")] {
//! use culprit_git::fixture::RepoBuilder;
//! let mut b = RepoBuilder::new();
//! let base = b.commit("base", &[("a.txt", "1\n")]);
//! b.tag("v1.0");
//! b.branch("topic"); // create and switch to it
//! b.commit("topic work", &[("b.txt", "2\n")]);
//! b.switch("main");
//! b.commit("main work", &[("a.txt", "3\n")]);
//! let merge = b.merge("topic", "Merge topic");
//! let repo = b.open();
//! assert!(repo.is_ancestor(&base, &merge).unwrap());
//! # }
//! ```
//!
//! Commits get deterministic authors ("Culprit Test <test@example.com>")
//! and dates (one minute apart from 2023-11-14), so hashes are stable from
//! run to run. The builder is a test helper: it panics with git's message
//! when a git command fails.

use std::cell::Cell;
use std::path::Path;
use std::process::Output;

use crate::git::Git;
use crate::repo::Repo;

/// First commit date (seconds since the epoch); each commit adds a minute.
const START_TIME: i64 = 1_700_000_000;

/// Builds a git repository in a temporary directory, removed on drop.
pub struct RepoBuilder {
    dir: tempfile::TempDir,
    clock: Cell<i64>,
}

impl Default for RepoBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RepoBuilder {
    /// An empty repository whose branch is `main`.
    pub fn new() -> RepoBuilder {
        let dir = tempfile::Builder::new()
            .prefix("culprit-fixture-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let builder = RepoBuilder {
            dir,
            clock: Cell::new(START_TIME),
        };
        builder.git(&["init", "--quiet", "--initial-branch=main"]);
        builder
    }

    /// The working tree of the repository.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Opens the repository with [`Repo::open`].
    pub fn open(&self) -> Repo {
        Repo::open(self.path())
            .unwrap_or_else(|e| panic!("cannot open the fixture repository: {e}"))
    }

    /// Writes `files` (path, content; parent directories created), commits
    /// them (an empty commit if `files` is empty) and returns the hash.
    pub fn commit(&mut self, message: &str, files: &[(&str, &str)]) -> String {
        for (path, content) in files {
            let full = self.path().join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent)
                    .unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
            }
            std::fs::write(&full, content)
                .unwrap_or_else(|e| panic!("write {}: {e}", full.display()));
        }
        if !files.is_empty() {
            self.git(&["add", "--all"]);
        }
        self.git(&[
            "commit",
            "--quiet",
            "--allow-empty",
            "--no-verify",
            "-m",
            message,
        ]);
        self.rev("HEAD")
    }

    /// Creates branch `name` at the current commit and switches to it.
    pub fn branch(&mut self, name: &str) {
        self.git(&["switch", "--quiet", "-c", name]);
    }

    /// Switches to an existing branch (or detaches at a commit hash).
    pub fn switch(&mut self, rev: &str) {
        let branch = format!("refs/heads/{rev}");
        if self
            .run(&["show-ref", "--verify", "--quiet", &branch], None)
            .status
            .success()
        {
            self.git(&["switch", "--quiet", rev]);
        } else {
            self.git(&["switch", "--quiet", "--detach", rev]);
        }
    }

    /// Merges `rev` into the current branch with a merge commit (even when
    /// a fast-forward is possible) and returns its hash. The branches must
    /// not conflict.
    pub fn merge(&mut self, rev: &str, message: &str) -> String {
        self.git(&[
            "merge",
            "--quiet",
            "--no-ff",
            "--no-verify",
            "-m",
            message,
            rev,
        ]);
        self.rev("HEAD")
    }

    /// Tags the current commit (lightweight tag).
    pub fn tag(&mut self, name: &str) {
        self.git(&["tag", name]);
    }

    /// Tags the current commit with an annotated tag.
    pub fn annotated_tag(&mut self, name: &str, message: &str) {
        self.git(&["tag", "-a", "-m", message, name]);
    }

    /// The full hash of a revision.
    pub fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", "--verify", rev]).trim().to_string()
    }

    /// Runs any git command in the repository and returns its stdout;
    /// panics if it fails.
    pub fn git(&self, args: &[&str]) -> String {
        let output = self.run(args, None);
        if !output.status.success() {
            panic!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Like [`RepoBuilder::git`] with `input` on stdin (for `fast-import`).
    pub fn git_with_input(&self, args: &[&str], input: &[u8]) -> String {
        let output = self.run(args, Some(input));
        if !output.status.success() {
            panic!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn run(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        let now = self.clock.get() + 60;
        self.clock.set(now);
        let date = format!("@{now} +0000");
        let mut identity_args: Vec<&str> = vec![
            "-c",
            "user.name=Culprit Test",
            "-c",
            "user.email=test@example.com",
        ];
        identity_args.extend(["-c", "commit.gpgSign=false", "-c", "tag.gpgSign=false"]);
        identity_args.extend(args);
        let git = Git::in_dir(self.path());
        // Dates come from the environment; the rest of the environment is
        // the one every culprit git command gets.
        let vars = [("GIT_AUTHOR_DATE", &date), ("GIT_COMMITTER_DATE", &date)];
        git.raw_with_env(&identity_args, input, &vars)
            .unwrap_or_else(|e| panic!("git {}: {e}", args.join(" ")))
    }
}
