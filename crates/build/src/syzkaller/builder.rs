//! syzkaller's syz-execprog and syz-executor: built from the user's
//! checkout at a commit (old programs need their own syzkaller's
//! descriptions), cached per commit, or taken ready-built from a directory.
//!
//! A build clones the checkout (`git clone --shared`, which only reads it)
//! into the cache's `tmp/`, checks out the commit and runs
//! `make execprog executor` (Go and a C++ compiler for real syzkaller;
//! execprog is built with `CGO_ENABLED=0` and the executor statically, so
//! both run in a guest without a C library). The binaries, the build log
//! and execprog's `-help` are published as `CACHE/<commit>/` by one rename,
//! under an exclusive lock on `CACHE/locks/<commit>.lock`: bisections that
//! need the same commit at once build it once, and a build killed half way
//! leaves only a `tmp/` directory behind.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::execprog::{help_text, ExecprogFlags, ProbeError};
use crate::run::{self, RunError};

/// Default time limit of one syzkaller build.
const BUILD_LIMIT: Duration = Duration::from_secs(3600);
const EXECPROG: &str = "syz-execprog";
const EXECUTOR: &str = "syz-executor";
const HELP_FILE: &str = "execprog-help.txt";

/// Where a job's syzkaller comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyzkallerSource {
    /// A syzkaller checkout (never modified) and the commit to build.
    Checkout {
        /// The checkout.
        repo: PathBuf,
        /// A revision in it (the crash's `syzkaller-commit`).
        commit: String,
    },
    /// A directory with built `syz-execprog` and `syz-executor` (directly
    /// in it, or in `bin/linux_amd64/` as syzkaller's build leaves them).
    Prebuilt {
        /// The directory.
        dir: PathBuf,
    },
}

/// A syz-execprog and syz-executor ready to copy into the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyzkallerBinaries {
    /// syz-execprog.
    pub execprog: PathBuf,
    /// syz-executor.
    pub executor: PathBuf,
    /// The commit they were built from (full hash); `None` for prebuilt ones.
    pub commit: Option<String>,
    /// The flags this syz-execprog takes (from its `-help`).
    pub flags: ExecprogFlags,
    /// Found in the cache: nothing was built.
    pub from_cache: bool,
}

impl SyzkallerBinaries {
    /// syzbot's log line for a built syzkaller: `building syzkaller on HASH`.
    pub fn log_line(&self) -> Option<String> {
        self.commit
            .as_ref()
            .map(|commit| format!("building syzkaller on {commit}"))
    }
}

/// Why syzkaller cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum SyzkallerError {
    /// A file or directory of the cache cannot be used.
    #[error("syzkaller cache {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The commit is not in the checkout (or the checkout is no git repository).
    #[error("syzkaller commit {commit} in {}: {message}", repo.display())]
    Commit {
        /// The checkout.
        repo: PathBuf,
        /// The commit asked for.
        commit: String,
        /// git's message.
        message: String,
    },
    /// The build failed or timed out (the log's tail is in the message).
    #[error("building syzkaller at {commit} (log: {}): {source}", log.display())]
    Build {
        /// The commit.
        commit: String,
        /// The whole build log.
        log: PathBuf,
        /// The failure.
        source: RunError,
    },
    /// A binary is not where it should be.
    #[error("no {name} in {}", dir.display())]
    Missing {
        /// `syz-execprog` or `syz-executor`.
        name: &'static str,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// syz-execprog's flags cannot be read.
    #[error(transparent)]
    Probe(#[from] ProbeError),
}

/// Builds syzkaller per commit into a cache shared by all bisections.
#[derive(Debug, Clone)]
pub struct SyzkallerBuilder {
    cache: PathBuf,
    timeout: Duration,
}

impl SyzkallerBuilder {
    /// A builder caching under `cache`.
    pub fn new(cache: impl Into<PathBuf>) -> SyzkallerBuilder {
        SyzkallerBuilder {
            cache: cache.into(),
            timeout: BUILD_LIMIT,
        }
    }

    /// `syzkaller` in culprit's cache directory (see
    /// [`crate::store::cache_dir`]).
    pub fn default_dir() -> Option<PathBuf> {
        Some(crate::store::cache_dir()?.join("syzkaller"))
    }

    /// Sets the time limit of one build (default one hour).
    pub fn timeout(mut self, limit: Duration) -> SyzkallerBuilder {
        self.timeout = limit;
        self
    }

    /// The binaries of `source`: built (or found in the cache) for a
    /// checkout, checked for a directory.
    pub fn prepare(&self, source: &SyzkallerSource) -> Result<SyzkallerBinaries, SyzkallerError> {
        match source {
            SyzkallerSource::Checkout { repo, commit } => self.build(repo, commit),
            SyzkallerSource::Prebuilt { dir } => prebuilt(dir),
        }
    }

    /// syzkaller of `repo` at `commit`, from the cache or built now.
    pub fn build(&self, repo: &Path, commit: &str) -> Result<SyzkallerBinaries, SyzkallerError> {
        let hash = resolve(repo, commit)?;
        if let Some(hit) = self.cached(&hash)? {
            return Ok(hit);
        }
        let locks = self.cache.join("locks");
        create_dir(&locks)?;
        let lock_path = locks.join(format!("{hash}.lock"));
        let lock = File::create(&lock_path).map_err(io_error(&lock_path))?;
        lock.lock().map_err(io_error(&lock_path))?;
        // Another process may have built it while we waited for the lock.
        if let Some(hit) = self.cached(&hash)? {
            return Ok(hit);
        }
        let tmp =
            self.cache
                .join("tmp")
                .join(format!("{hash}-{}-{}", std::process::id(), unique()));
        let result = self.build_into(repo, &hash, &tmp);
        let _ = std::fs::remove_dir_all(&tmp);
        result
    }

    /// The cached build of `hash`, if there is one.
    fn cached(&self, hash: &str) -> Result<Option<SyzkallerBinaries>, SyzkallerError> {
        let entry = self.cache.join(hash);
        let help = entry.join(HELP_FILE);
        if !help.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&help).map_err(io_error(&help))?;
        Ok(Some(SyzkallerBinaries {
            execprog: entry.join(EXECPROG),
            executor: entry.join(EXECUTOR),
            commit: Some(hash.to_owned()),
            flags: ExecprogFlags::from_help(&text),
            from_cache: true,
        }))
    }

    /// Clones, builds and publishes `hash`, working in `tmp`.
    fn build_into(
        &self,
        repo: &Path,
        hash: &str,
        tmp: &Path,
    ) -> Result<SyzkallerBinaries, SyzkallerError> {
        let src = tmp.join("src");
        let out = tmp.join("out");
        create_dir(&out)?;
        let log = out.join("build.log");
        let failed = |source: RunError| {
            let kept = self.cache.join(format!("failed-{hash}.log"));
            let log_path = match std::fs::copy(&log, &kept) {
                Ok(_) => kept,
                Err(_) => log.clone(),
            };
            SyzkallerError::Build {
                commit: hash.to_owned(),
                log: log_path,
                source,
            }
        };
        let deadline = Instant::now() + self.timeout;
        let mut clone = Command::new("git");
        clone
            .args(["clone", "-q", "--shared", "--no-checkout"])
            .arg(run::absolute(repo))
            .arg(&src);
        run::run_logged(clone, &log, deadline, self.timeout).map_err(failed)?;
        let mut checkout = Command::new("git");
        checkout
            .arg("-C")
            .arg(&src)
            .args(["checkout", "-q", "--detach", hash]);
        run::run_logged(checkout, &log, deadline, self.timeout).map_err(failed)?;
        let mut make = Command::new("make");
        make.current_dir(&src)
            .args(["execprog", "executor"])
            .env("CGO_ENABLED", "0")
            .env("TARGETOS", "linux")
            .env("TARGETARCH", "amd64");
        run::run_logged(make, &log, deadline, self.timeout).map_err(failed)?;
        let (execprog, executor) = find_binaries(&src)?;
        for (from, name) in [(&execprog, EXECPROG), (&executor, EXECUTOR)] {
            let to = out.join(name);
            std::fs::copy(from, &to).map_err(io_error(&to))?;
        }
        let help = help_text(&out.join(EXECPROG))?;
        let help_path = out.join(HELP_FILE);
        std::fs::write(&help_path, &help).map_err(io_error(&help_path))?;
        let entry = self.cache.join(hash);
        std::fs::rename(&out, &entry).map_err(io_error(&entry))?;
        Ok(SyzkallerBinaries {
            execprog: entry.join(EXECPROG),
            executor: entry.join(EXECUTOR),
            commit: Some(hash.to_owned()),
            flags: ExecprogFlags::from_help(&help),
            from_cache: false,
        })
    }
}

/// Ready-built binaries in `dir` (or its `bin/linux_amd64/`).
pub fn prebuilt(dir: &Path) -> Result<SyzkallerBinaries, SyzkallerError> {
    let (execprog, executor) = find_binaries(dir)?;
    let flags = ExecprogFlags::probe(&execprog)?;
    Ok(SyzkallerBinaries {
        execprog: run::absolute(&execprog),
        executor: run::absolute(&executor),
        commit: None,
        flags,
        from_cache: false,
    })
}

/// The two binaries under `dir`: in `bin/linux_amd64/`, `bin/` or `dir`
/// itself (each looked for on its own: old syzkaller put them apart).
fn find_binaries(dir: &Path) -> Result<(PathBuf, PathBuf), SyzkallerError> {
    let find = |name: &'static str| {
        ["bin/linux_amd64", "bin", "."]
            .iter()
            .map(|sub| dir.join(sub).join(name))
            .find(|p| p.is_file())
            .ok_or_else(|| SyzkallerError::Missing {
                name,
                dir: dir.to_owned(),
            })
    };
    Ok((find(EXECPROG)?, find(EXECUTOR)?))
}

/// The full hash of `commit` in `repo`.
fn resolve(repo: &Path, commit: &str) -> Result<String, SyzkallerError> {
    let error = |message: String| SyzkallerError::Commit {
        repo: repo.to_owned(),
        commit: commit.to_owned(),
        message,
    };
    // Never an option to git.
    if commit.starts_with('-') || commit.trim().is_empty() {
        return Err(error("not a revision".into()));
    }
    let output = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("{commit}^{{commit}}"))
        .output()
        .map_err(|e| error(format!("cannot run git: {e}")))?;
    let hash = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || hash.len() < 40 {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let why = stderr.lines().next().unwrap_or("unknown revision").trim();
        return Err(error(match why.is_empty() {
            true => "unknown revision".into(),
            false => why.to_owned(),
        }));
    }
    Ok(hash)
}

fn create_dir(path: &Path) -> Result<(), SyzkallerError> {
    std::fs::create_dir_all(path).map_err(io_error(path))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SyzkallerError {
    let path = path.to_owned();
    move |source| SyzkallerError::Io { path, source }
}

/// A number that differs between calls in one process.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
