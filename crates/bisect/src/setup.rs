//! One way into a bisection, for the command-line flags and for job files
//! alike: the repository and its ends, the strategy with its settings, the
//! work directory and the journal's key, and the JSON result.
//!
//! Work directory layout (the executor adds its own files):
//! - `lock`: held by the culprit process using the directory;
//! - `bisections/<key>/journal.jsonl`: one journal per bisection, keyed by
//!   everything that makes two invocations the same bisection; the
//!   executor keeps that bisection's run logs beside it.
//!
//! A work directory can serve several bisections one after the other (a
//! cause and a fix bisection share checkouts and builds), never two at
//! once, and never inside the user's repository.

use std::fs::File;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use culprit_git::Repo;

use crate::engine::Bisection;
use crate::event::{Event, EventSink};
use crate::evidence::Direction;
use crate::exec::Executor;
use crate::journal::{Journal, JournalError};
use crate::outcome::Outcome;
use crate::strategy::{Strategy, StrategyConfig};

/// Exit status for bad input (see the README's table).
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit status for a bisection that failed.
pub const EXIT_FAILED: i32 = 3;

/// What the user asked for, from the flags or from a job file.
#[derive(Debug, Clone)]
pub struct SetupRequest {
    /// The git repository (never modified).
    pub repo: PathBuf,
    /// Cause or fix.
    pub direction: Direction,
    /// The crashing commit, as written.
    pub bad: String,
    /// Cause: good commits (may be empty). Fix: the newer good end (none:
    /// HEAD).
    pub good: Vec<String>,
    /// The crash to bisect, by title.
    pub crash: Option<String>,
    /// The strategy and its settings.
    pub strategy: StrategyConfig,
    /// The work directory; `None`: one per bisection in `cache`.
    pub workdir: Option<PathBuf>,
    /// culprit's cache directory, where work directories go by default.
    pub cache: Option<PathBuf>,
    /// Where to write the outcome as JSON.
    pub json: Option<PathBuf>,
    /// What else makes two invocations the same bisection: the executor's
    /// build and test settings.
    pub executor_params: serde_json::Value,
    /// Print the culprit's patch after its diff stat (`--show-diff`).
    pub show_diff: bool,
    /// Check the culprit by its revert before reporting it (on unless
    /// `--no-verify`).
    pub verify: bool,
    /// Only commits touching these paths are suspects (`--paths`).
    pub paths: Vec<String>,
    /// What earlier bisections of the same reproducer learned of its rate
    /// (the service knows them): bayes starts from it.
    pub rate_prior: Option<crate::strategy::bayes::RatePrior>,
}

/// Why a bisection cannot start: bad input, exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The repository cannot be opened.
    #[error("{0}")]
    Repo(#[from] culprit_git::OpenError),
    /// The revisions do not make a bisection.
    #[error("{0}")]
    Input(#[from] crate::input::InputError),
    /// The strategy does not exist.
    #[error("{0}")]
    Strategy(#[from] crate::strategy::UnknownStrategy),
    /// The crash title is empty.
    #[error("--crash: the crash title is empty")]
    EmptyCrash,
    /// A path of `--paths` lies outside the repository.
    #[error("--paths {path}: outside the repository {}", repo.display())]
    PathOutside {
        /// The path as given.
        path: String,
        /// The repository's top.
        repo: PathBuf,
    },
    /// No runs per commit.
    #[error("--runs must be at least 1")]
    NoRuns,
    /// No work directory was given and there is no cache directory.
    #[error("no cache directory (set HOME or use --workdir)")]
    NoCacheDir,
    /// The work directory is inside the user's repository.
    #[error("work directory {} is inside the repository {}; culprit never writes there: choose another --workdir", workdir.display(), repo.display())]
    WorkdirInRepository {
        /// The work directory.
        workdir: PathBuf,
        /// The repository's working tree or git directory.
        repo: PathBuf,
    },
    /// The work directory cannot be made or locked.
    #[error("work directory {}: {source}", path.display())]
    Workdir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another culprit process uses the work directory.
    #[error("work directory {} is in use by another culprit process", path.display())]
    Busy {
        /// The directory.
        path: PathBuf,
    },
    /// The journal cannot be used.
    #[error("{0}")]
    Journal(#[from] JournalError),
    /// The JSON file cannot be written.
    #[error("--json {}: cannot be written: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A bisection ready to run.
pub struct Setup {
    /// The repository.
    pub repo: Repo,
    /// The resolved ends.
    pub bisection: Bisection,
    /// The strategy, configured.
    pub strategy: Box<dyn Strategy>,
    /// The work directory (shared by the bisections that use it).
    pub workdir: PathBuf,
    /// This bisection's own directory: its journal and run logs.
    pub bisection_dir: PathBuf,
    /// The journal, replayed.
    pub journal: Journal,
    /// Builds and runs the journal already holds (a resumed bisection).
    pub resumed: (usize, usize),
    /// What the executor's config minimisation found, for the JSON.
    pub config_minimization: Option<serde_json::Value>,
    json: Option<PathBuf>,
    strategy_name: String,
    _lock: File,
}

impl SetupRequest {
    /// Checks everything that can be checked before the first build and
    /// opens the work directory and the journal (a file in the
    /// bisection's directory).
    pub fn prepare(&self) -> Result<Setup, SetupError> {
        self.prepare_with(Journal::open)
    }

    /// Like [`SetupRequest::prepare`] with the journal `open_journal`
    /// gives for the bisection's directory and parameters (the service
    /// keeps journals in its database).
    pub fn prepare_with(
        &self,
        open_journal: impl FnOnce(&Path, &str) -> Result<Journal, JournalError>,
    ) -> Result<Setup, SetupError> {
        let repo = Repo::open(&self.repo)?;
        let strategy = self.strategy.build_with_rate_prior(self.rate_prior)?;
        if self.strategy.runs == 0 {
            return Err(SetupError::NoRuns);
        }
        if self.crash.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(SetupError::EmptyCrash);
        }
        let mut bisection = crate::input::check(&repo, self.direction, &self.bad, &self.good)?;
        bisection.crash = self.crash.clone();
        bisection.show_diff = self.show_diff;
        bisection.verify = self.verify;
        bisection.paths = self
            .paths
            .iter()
            .map(|p| in_repository(&repo, p))
            .collect::<Result<_, _>>()?;
        let params = self.params(&repo, &bisection);
        let key = crate::journal::key(&params);
        let workdir = match &self.workdir {
            Some(dir) => std::path::absolute(dir).unwrap_or_else(|_| dir.clone()),
            None => self
                .cache
                .as_ref()
                .map(|cache| cache.join(&key))
                .ok_or(SetupError::NoCacheDir)?,
        };
        refuse_inside_repository(&repo, &workdir)?;
        if let Some(json) = &self.json {
            check_writable(json)?;
        }
        let lock = lock_workdir(&workdir)?;
        let bisection_dir = workdir.join("bisections").join(&key);
        let journal = open_journal(&bisection_dir, &params)?;
        Ok(Setup {
            resumed: journal.counts(),
            config_minimization: None,
            repo,
            bisection,
            strategy,
            workdir,
            bisection_dir,
            journal,
            json: self.json.clone(),
            strategy_name: self.strategy.name.clone(),
            _lock: lock,
        })
    }

    /// What makes two invocations the same bisection, as one string.
    fn params(&self, repo: &Repo, bisection: &Bisection) -> String {
        let mut value = serde_json::json!({
            "repo": repo.common_dir(),
            "direction": bisection.direction,
            "bad": bisection.bad,
            "good": bisection.good,
            "runs": self.strategy.runs,
            "strategy": self.strategy.name,
            "executor": self.executor_params,
        });
        // Only when they matter: a bisection started with the defaults
        // keeps its key.
        if let Some(crash) = &bisection.crash {
            value["crash"] = crash.as_str().into();
        }
        if !bisection.paths.is_empty() {
            value["paths"] = bisection.paths.clone().into();
        }
        if self.strategy.confidence != crate::strategy::DEFAULT_CONFIDENCE {
            value["confidence"] = self.strategy.confidence.into();
        }
        if self.strategy.min_rate != crate::strategy::bayes::DEFAULT_MIN_RATE {
            value["min_rate"] = self.strategy.min_rate.into();
        }
        value.to_string()
    }

    /// The outcome of a bisection that could not start: the error, and the
    /// ends as the user gave them.
    pub fn failed(&self, error: &str) -> Outcome {
        let mut outcome = Outcome::failed(
            self.direction,
            &self.strategy.name,
            &self.bad,
            error.to_owned(),
        );
        outcome.good = self.good.clone();
        outcome
    }

    /// Writes the JSON of an outcome (if asked for) and gives the exit
    /// status: `code`, or [`EXIT_FAILED`] when a culprit was found but its
    /// JSON could not be written.
    pub fn finish(&self, outcome: &Outcome, code: i32, stderr: &mut dyn Write) -> i32 {
        finish_json(self.json.as_deref(), outcome, code, stderr)
    }
}

impl Setup {
    /// Runs the bisection with `exec`, telling what happens to `events`,
    /// and writes the JSON (if asked for); returns the outcome and the exit
    /// status.
    pub fn run(
        mut self,
        exec: &mut dyn Executor,
        events: &mut dyn EventSink,
        stderr: &mut dyn Write,
    ) -> (Outcome, i32) {
        let own = self.bisection_dir.strip_prefix(&self.workdir).ok();
        events.event(&Event::WorkDir {
            workdir: self.workdir.display().to_string(),
            own: own.unwrap_or(&self.bisection_dir).display().to_string(),
        });
        let mut outcome = crate::engine::run(
            &self.repo,
            &self.bisection,
            self.strategy.as_mut(),
            exec,
            &mut self.journal,
            events,
        );
        outcome.config_minimization = self.config_minimization.take();
        let code = finish_json(self.json.as_deref(), &outcome, outcome.exit_code(), stderr);
        (outcome, code)
    }

    /// The strategy's name as asked for.
    pub fn strategy_name(&self) -> &str {
        &self.strategy_name
    }
}

/// Writes `outcome` to `json` (if given); passes `code` on, or
/// [`EXIT_FAILED`] instead of success when the file cannot be written.
fn finish_json(json: Option<&Path>, outcome: &Outcome, code: i32, stderr: &mut dyn Write) -> i32 {
    let Some(path) = json else { return code };
    let written = serde_json::to_string_pretty(outcome)
        .map_err(|e| e.to_string())
        .and_then(|text| std::fs::write(path, text + "\n").map_err(|e| e.to_string()));
    match written {
        Ok(()) => code,
        Err(e) => {
            let _ = writeln!(
                stderr,
                "culprit bisect: cannot write {}: {e}",
                path.display()
            );
            if code == 0 {
                EXIT_FAILED
            } else {
                code
            }
        }
    }
}

/// A path of `--paths` as git's pathspecs name it: relative to the
/// repository's top, without `./`, `..` resolved; an absolute path must lie
/// inside the working tree. The top itself is `.`.
fn in_repository(repo: &Repo, path: &str) -> Result<String, SetupError> {
    let outside = || SetupError::PathOutside {
        path: path.to_owned(),
        repo: repo.work_tree().unwrap_or(repo.git_dir()).to_owned(),
    };
    let given = Path::new(path);
    let relative = match (given.is_absolute(), repo.work_tree()) {
        (true, Some(top)) => {
            let top = resolved(top);
            let full = resolved(given);
            full.strip_prefix(&top).map_err(|_| outside())?.to_owned()
        }
        (true, None) => return Err(outside()),
        (false, _) => given.to_owned(),
    };
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for part in relative.components() {
        match part {
            Component::Normal(name) => parts.push(name),
            Component::ParentDir => {
                parts.pop().ok_or_else(outside)?;
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    let joined: PathBuf = parts.iter().collect();
    Ok(match joined.as_os_str().is_empty() {
        true => ".".to_owned(),
        false => joined.to_string_lossy().into_owned(),
    })
}

/// The path with symbolic links resolved as far as it exists, and `..`
/// taken literally beyond (the rest does not exist yet).
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                match part {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(name) => out.push(name),
                    _ => {}
                }
            }
            return out;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// A work directory inside the user's checkout or git directory would
/// leave culprit's files there.
fn refuse_inside_repository(repo: &Repo, workdir: &Path) -> Result<(), SetupError> {
    let workdir_real = resolved(workdir);
    let places = [
        repo.work_tree(),
        Some(repo.git_dir()),
        Some(repo.common_dir()),
    ];
    for place in places.into_iter().flatten() {
        let place_real = resolved(place);
        if workdir_real.starts_with(&place_real) {
            return Err(SetupError::WorkdirInRepository {
                workdir: workdir.to_owned(),
                repo: place.to_owned(),
            });
        }
    }
    Ok(())
}

/// The JSON file must be writable before anything is built: finding out
/// after hours of bisection would lose the result.
fn check_writable(path: &Path) -> Result<(), SetupError> {
    let error = |source| SetupError::Json {
        path: path.to_owned(),
        source,
    };
    if path.is_dir() {
        return Err(error(std::io::Error::other("it is a directory")));
    }
    if path.exists() {
        return std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .map_err(error);
    }
    // Made and removed again: only an attempt tells (permissions, a
    // read-only file system, a missing directory).
    File::create(path).map_err(error)?;
    let _ = std::fs::remove_file(path);
    Ok(())
}

/// Makes the work directory and takes its lock for this process.
fn lock_workdir(workdir: &Path) -> Result<File, SetupError> {
    let error = |source| SetupError::Workdir {
        path: workdir.to_owned(),
        source,
    };
    std::fs::create_dir_all(workdir).map_err(error)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(workdir.join("lock"))
        .map_err(error)?;
    match crate::journal::lock(&file) {
        Ok(()) => Ok(file),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(SetupError::Busy {
            path: workdir.to_owned(),
        }),
        Err(e) => Err(error(e)),
    }
}
