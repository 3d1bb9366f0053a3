//! Opening a repository and asking it about revisions.
//!
//! All queries go through `git --git-dir=<repo>`: they read objects and refs
//! only, never the user's working tree, index or HEAD.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::commit::{parse_log_records, Commit, LOG_FORMAT};
use crate::git::{bad_output, is_object_id, Git, GitError};

/// Why a repository could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The path does not exist.
    #[error("{}: no such file or directory", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The path exists but git does not see a repository there.
    #[error("{} is not a git repository ({detail})", path.display())]
    NotARepository {
        /// The path given.
        path: PathBuf,
        /// git's explanation.
        detail: String,
    },
    /// git could not be run.
    #[error(transparent)]
    Git(#[from] GitError),
}

/// Why a revision could not be resolved to a commit.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No object of that name, or it is not (and does not peel to) a commit.
    #[error("unknown revision {rev:?}: no such commit in the repository")]
    UnknownRevision {
        /// The revision as given.
        rev: String,
    },
    /// git could not be run.
    #[error(transparent)]
    Git(#[from] GitError),
}

/// A git repository, opened read-only.
#[derive(Debug, Clone)]
pub struct Repo {
    git_dir: PathBuf,
    common_dir: PathBuf,
    work_tree: Option<PathBuf>,
    git: Git,
}

impl Repo {
    /// Opens the repository at `path` (a working tree, a directory inside
    /// one, or a bare repository).
    pub fn open(path: impl AsRef<Path>) -> Result<Repo, OpenError> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(OpenError::NotFound {
                path: path.to_owned(),
            });
        }
        let args = [
            "rev-parse",
            "--path-format=absolute",
            "--git-dir",
            "--git-common-dir",
        ];
        let output = Git::in_dir(path).raw(&args, None)?;
        if !output.status.success() {
            let detail = String::from_utf8_lossy(&output.stderr);
            let detail = detail
                .lines()
                .next()
                .unwrap_or("git rev-parse failed")
                .to_string();
            return Err(OpenError::NotARepository {
                path: path.to_owned(),
                detail,
            });
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let mut lines = text.lines();
        let (Some(git_dir), Some(common_dir)) = (lines.next(), lines.next()) else {
            return Err(bad_output(&args, "expected two directories").into());
        };
        let git_dir = PathBuf::from(git_dir);
        let git = Git::at_git_dir(&git_dir);
        // A bare repository has no working tree: git says so by failing.
        let top = Git::in_dir(path).raw(&["rev-parse", "--show-toplevel"], None)?;
        let work_tree = top
            .status
            .success()
            .then(|| String::from_utf8_lossy(&top.stdout).trim().to_owned())
            .filter(|t| !t.is_empty())
            .map(PathBuf::from);
        Ok(Repo {
            git_dir,
            common_dir: PathBuf::from(common_dir),
            work_tree,
            git,
        })
    }

    /// The user's working tree (the checkout culprit never touches), or
    /// `None` for a bare repository.
    pub fn work_tree(&self) -> Option<&Path> {
        self.work_tree.as_deref()
    }

    /// The repository's git directory (`.git` of a working tree).
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// The directory holding the objects and refs shared by all worktrees of
    /// the repository (equal to [`Repo::git_dir`] except in a linked worktree).
    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    pub(crate) fn git(&self) -> &Git {
        &self.git
    }

    /// Resolves a revision (hash, abbreviated hash, branch, tag, `HEAD~3`,
    /// ...) to the full hash of a commit; tags are peeled.
    pub fn resolve(&self, rev: &str) -> Result<String, ResolveError> {
        let unknown = || ResolveError::UnknownRevision {
            rev: rev.to_string(),
        };
        if rev.trim().is_empty() {
            return Err(unknown());
        }
        let spec = format!("{rev}^{{commit}}");
        let args = [
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            spec.as_str(),
        ];
        let output = self.git.raw(&args, None)?;
        if !output.status.success() {
            return Err(unknown());
        }
        let hash = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if !is_object_id(&hash) {
            return Err(bad_output(&args, format!("not an object id: {hash:?}")).into());
        }
        Ok(hash)
    }

    /// The commit checked out in the user's repository (`HEAD`).
    pub fn head(&self) -> Result<String, ResolveError> {
        self.resolve("HEAD")
    }

    /// Metadata of one commit.
    pub fn commit(&self, rev: &str) -> Result<Commit, ResolveError> {
        let hash = self.resolve(rev)?;
        let mut commits = self.commits(&[hash])?;
        commits.pop().ok_or_else(|| ResolveError::UnknownRevision {
            rev: rev.to_string(),
        })
    }

    /// Metadata of several commits, given as full hashes, with one git
    /// process. The result is in the order of `hashes` (repeats included).
    pub fn commits(&self, hashes: &[String]) -> Result<Vec<Commit>, GitError> {
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let format = format!("--format={LOG_FORMAT}");
        let args = [
            "log",
            "--no-walk=unsorted",
            "-z",
            "--no-color",
            "--date=default",
            &format,
            "--stdin",
        ];
        let input = hashes.join("\n") + "\n";
        let out = self.git.stdout_with_input(&args, Some(input.as_bytes()))?;
        let commits = parse_log_records(&out).map_err(|detail| bad_output(&args, detail))?;
        // git shows each commit once, so map the answers back to the request.
        let by_hash: HashMap<&str, &Commit> =
            commits.iter().map(|c| (c.hash.as_str(), c)).collect();
        hashes
            .iter()
            .map(|h| {
                let commit = by_hash
                    .get(h.as_str())
                    .ok_or_else(|| bad_output(&args, format!("commit {h} missing")))?;
                Ok((*commit).clone())
            })
            .collect()
    }

    /// True when commit `ancestor` is an ancestor of (or equal to) `descendant`.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, ResolveError> {
        let a = self.resolve(ancestor)?;
        let d = self.resolve(descendant)?;
        let args = ["merge-base", "--is-ancestor", a.as_str(), d.as_str()];
        let output = self.git.raw(&args, None)?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(crate::git::failure(&args, &output).into()),
        }
    }

    /// The id of the tree of a commit: two commits with the same tree build
    /// the same thing, so it serves as a signature when no build exists.
    pub fn tree_of(&self, rev: &str) -> Result<String, ResolveError> {
        let hash = self.resolve(rev)?;
        let spec = format!("{hash}^{{tree}}");
        let tree = self.git.line(&["rev-parse", "--verify", spec.as_str()])?;
        Ok(tree)
    }

    /// The commit as `git show --stat` prints it: header, indented message
    /// and diffstat, the way syzbot prints the first bad commit.
    pub fn show_stat(&self, rev: &str) -> Result<String, ResolveError> {
        let hash = self.resolve(rev)?;
        let args = [
            "show",
            "--no-color",
            "--no-mailmap",
            "--no-decorate",
            "--no-notes",
            "--no-ext-diff",
            "--no-show-signature",
            "--format=medium",
            "--date=default",
            "--stat",
            hash.as_str(),
        ];
        let out = self.git.stdout(&args)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The patch of `rev` against its first parent (`git show --format= -p`),
    /// without color or external diff tools.
    pub fn patch(&self, rev: &str) -> Result<String, ResolveError> {
        let hash = self.resolve(rev)?;
        let args = [
            "show",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--format=",
            "--patch",
            "--first-parent",
            hash.as_str(),
        ];
        let out = self.git.stdout(&args)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}
