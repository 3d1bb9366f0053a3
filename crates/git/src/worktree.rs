//! A private checkout for builds, separate from the user's.
//!
//! The worktree is a `git clone --shared` of the user's repository made
//! inside culprit's work directory. Compared with `git worktree add`, which
//! registers the new tree in the user's `.git/worktrees`, a shared clone
//! writes nothing at all into the user's repository: its objects are read
//! through `objects/info/alternates`, so the clone costs no copying, and its
//! HEAD, index and refs are its own. (The one caveat of shared clones, that
//! `git gc` in the user's repository could prune objects the clone needs,
//! does not apply: the clone never creates commits, it only checks out
//! commits that exist in the user's repository.)

use std::path::{Path, PathBuf};

use crate::git::{is_object_id, Git, GitError};
use crate::repo::Repo;

/// Why a worktree could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    /// The directory exists and is not a worktree culprit made for this
    /// repository; culprit will not delete it.
    #[error("{} exists and is not a culprit worktree of {}; remove it or choose another work directory", path.display(), repo.display())]
    Occupied {
        /// The worktree directory.
        path: PathBuf,
        /// The user's repository.
        repo: PathBuf,
    },
    /// [`Worktree::checkout`] takes full commit hashes only.
    #[error("{0:?} is not a full commit hash")]
    NotAHash(String),
    /// The commit uses git submodules and they could not be checked out.
    #[error("the commit uses git submodules, which could not be checked out in culprit's clone ({0}); clone them in your repository first (git submodule update --init)")]
    Submodules(String),
    /// A file system operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// git failed.
    #[error(transparent)]
    Git(#[from] GitError),
}

/// A checkout of the user's repository under culprit's work directory.
#[derive(Debug, Clone)]
pub struct Worktree {
    path: PathBuf,
    git: Git,
    /// The user's repository (shared objects, submodule clones).
    source: PathBuf,
}

impl Worktree {
    /// Makes a worktree of `repo` in the directory `dir`, or reuses the one
    /// an earlier (possibly killed) run left there. The parent directory of
    /// `dir` is created if needed. Nothing is checked out yet.
    pub fn create(repo: &Repo, dir: &Path) -> Result<Worktree, WorktreeError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| WorktreeError::Io { path, source }
        };
        let dir = &std::path::absolute(dir).map_err(io(dir))?;
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        if dir.join(".git").exists() {
            return Self::reuse(repo, dir);
        }
        let empty = match std::fs::read_dir(dir) {
            Ok(mut entries) => entries.next().is_none(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(io(dir)(e)),
        };
        if !empty {
            return Err(occupied(repo, dir));
        }
        Self::clone_into(repo, dir)
    }

    /// Clones into a temporary sibling first and renames it into place, so
    /// that a run killed while cloning leaves no half-made worktree.
    fn clone_into(repo: &Repo, dir: &Path) -> Result<Worktree, WorktreeError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| WorktreeError::Io { path, source }
        };
        let mut partial = dir.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
        }
        let args = [
            "clone".as_ref(),
            "--quiet".as_ref(),
            "--shared".as_ref(),
            "--no-checkout".as_ref(),
            "--config=gc.auto=0".as_ref(),
            repo.common_dir().as_os_str(),
            partial.as_os_str(),
        ];
        Git::in_dir(Path::new("/")).stdout(&args)?;
        if dir.exists() {
            std::fs::remove_dir(dir).map_err(io(dir))?;
        }
        std::fs::rename(&partial, dir).map_err(io(dir))?;
        Ok(Worktree {
            path: dir.to_owned(),
            git: Git::in_dir(dir),
            source: repo.common_dir().to_owned(),
        })
    }

    fn reuse(repo: &Repo, dir: &Path) -> Result<Worktree, WorktreeError> {
        let alternates = dir.join(".git/objects/info/alternates");
        let ours = std::fs::read_to_string(&alternates)
            .map(|text| {
                let objects = repo.common_dir().join("objects");
                let objects = objects.canonicalize().unwrap_or(objects);
                text.lines().any(|line| {
                    let line = Path::new(line.trim());
                    line.canonicalize()
                        .map_or(line == objects, |l| l == objects)
                })
            })
            .unwrap_or(false);
        if !ours {
            return Err(occupied(repo, dir));
        }
        // A run killed during a checkout leaves the index locked.
        let lock = dir.join(".git/index.lock");
        if lock.exists() {
            std::fs::remove_file(&lock)
                .map_err(|source| WorktreeError::Io { path: lock, source })?;
        }
        Ok(Worktree {
            path: dir.to_owned(),
            git: Git::in_dir(dir),
            source: repo.common_dir().to_owned(),
        })
    }

    /// The directory of the checkout.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks out a commit (given as a full hash), detached. Tracked files
    /// are forced to the commit's content; untracked and ignored files, such
    /// as object files of an earlier build, are kept so builds stay
    /// incremental.
    pub fn checkout(&self, hash: &str) -> Result<(), WorktreeError> {
        if !is_object_id(hash) {
            return Err(WorktreeError::NotAHash(hash.to_string()));
        }
        self.git
            .stdout(&["checkout", "--quiet", "--force", "--detach", hash])?;
        if self.path.join(".gitmodules").is_file() {
            self.update_submodules()?;
        }
        Ok(())
    }

    /// Checks out the submodules the commit records, cloned from the
    /// user's own submodule clones (`.git/modules/NAME`) where they exist,
    /// so that nothing is fetched that the user already has.
    fn update_submodules(&self) -> Result<(), WorktreeError> {
        let listed = self.git.raw(
            &[
                "config",
                "--file",
                ".gitmodules",
                "--get-regexp",
                r"^submodule\..*\.path$",
            ],
            None,
        )?;
        let text = String::from_utf8_lossy(&listed.stdout).into_owned();
        for line in text.lines() {
            let Some(key) = line.split_whitespace().next() else {
                continue;
            };
            let name = key
                .strip_prefix("submodule.")
                .and_then(|k| k.strip_suffix(".path"))
                .unwrap_or("");
            let local = self.source.join("modules").join(name);
            if !name.is_empty() && local.is_dir() {
                let url_key = format!("submodule.{name}.url");
                let url = local.display().to_string();
                self.git.stdout(&["config", &url_key, &url])?;
            }
        }
        let args = [
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "--quiet",
            "update",
            "--init",
            "--recursive",
            "--force",
        ];
        let output = self.git.raw(&args, None)?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        Err(WorktreeError::Submodules(first.trim().to_owned()))
    }

    /// The commit currently checked out, if any.
    pub fn head(&self) -> Result<Option<String>, WorktreeError> {
        // A fresh clone has a HEAD but no index: nothing is checked out.
        if !self.path.join(".git/index").exists() {
            return Ok(None);
        }
        let output = self
            .git
            .raw(&["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], None)?;
        let hash = String::from_utf8_lossy(&output.stdout).trim().to_string();
        Ok((output.status.success() && is_object_id(&hash)).then_some(hash))
    }

    /// Makes, in this checkout only, the commit that reverts `commit` on
    /// top of `base` (a merge is reverted against its first parent), and
    /// checks it out. The commit's author, committer and date are fixed,
    /// so the same revert always gets the same hash (another checkout of
    /// the same repository makes the same commit). `Ok(None)`: the revert
    /// does not apply cleanly (the checkout is left at `base`).
    pub fn revert(&self, base: &str, commit: &str) -> Result<Option<String>, WorktreeError> {
        for hash in [base, commit] {
            if !is_object_id(hash) {
                return Err(WorktreeError::NotAHash(hash.to_string()));
            }
        }
        self.checkout(base)?;
        let parents = self
            .git
            .stdout(&["rev-list", "--parents", "-n", "1", commit])?;
        let merge = String::from_utf8_lossy(&parents).split_whitespace().count() > 2;
        let mut args = vec![
            "-c",
            "user.name=culprit",
            "-c",
            "user.email=culprit@localhost",
            "revert",
            "--no-edit",
        ];
        if merge {
            args.extend(["-m", "1"]);
        }
        args.push(commit);
        let when = "1970-01-01T00:00:00Z".to_string();
        let vars = [("GIT_AUTHOR_DATE", &when), ("GIT_COMMITTER_DATE", &when)];
        let output = self.git.raw_with_env(&args, None, &vars)?;
        if !output.status.success() {
            let _ = self.git.raw(&["revert", "--abort"], None);
            self.checkout(base)?;
            return Ok(None);
        }
        let head = self.git.stdout(&["rev-parse", "HEAD"])?;
        Ok(Some(String::from_utf8_lossy(&head).trim().to_owned()))
    }

    /// The tree of `commit`, which may be a commit made in this checkout
    /// only (a revert).
    pub fn tree_of(&self, commit: &str) -> Result<String, WorktreeError> {
        let spec = format!("{commit}^{{tree}}");
        let out = self.git.stdout(&["rev-parse", "--verify", &spec])?;
        Ok(String::from_utf8_lossy(&out).trim().to_owned())
    }

    /// Removes every untracked and ignored file (build output included).
    pub fn clean(&self) -> Result<(), WorktreeError> {
        self.git.stdout(&["clean", "--quiet", "-ffdx"])?;
        Ok(())
    }
}

fn occupied(repo: &Repo, dir: &Path) -> WorktreeError {
    WorktreeError::Occupied {
        path: dir.to_owned(),
        repo: repo.common_dir().to_owned(),
    }
}
