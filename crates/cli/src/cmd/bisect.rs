//! `culprit bisect`: generic mode, with shell commands to build and test;
//! or, given a job file (`culprit bisect JOB.toml`), a kernel bisection
//! (see `bisect_job.rs`).
//!
//! Exit status: 0 culprit found; 1 no culprit (inconclusive, always-bad);
//! 2 bad input; 3 the bisection failed (does not reproduce, infrastructure).

use std::path::{Path, PathBuf};
use std::time::Duration;

use culprit_bisect::shell::{ShellConfig, ShellExecutor};
use culprit_bisect::{input, strategy, Direction, Journal, Outcome};
use culprit_git::Repo;

/// Exit status for bad input.
const BAD_INPUT: i32 = 2;
/// Exit status when the bisection failed.
const FAILED: i32 = 3;

// Declared here rather than in `cmd/mod.rs`: it is a form of this command.
#[path = "bisect_job.rs"]
mod job_file;

/// Arguments of `culprit bisect`.
#[derive(clap::Args)]
pub struct Args {
    /// A kernel bisection job file (TOML); the flags below are for generic
    /// mode and are not used with it.
    #[arg(value_name = "JOB.toml", conflicts_with_all = ["repo", "bad", "good", "fix", "build", "test", "crash"])]
    job: Option<PathBuf>,
    /// The git repository (never modified: builds happen in a private clone).
    #[arg(long, value_name = "PATH", required_unless_present = "job")]
    repo: Option<PathBuf>,
    /// A commit where the crash happens.
    #[arg(long, value_name = "REV", required_unless_present = "job")]
    bad: Option<String>,
    /// A commit where it does not (cause: older, repeatable; fix: the newer
    /// end, default HEAD). Without it a cause bisection tests releases.
    #[arg(long, value_name = "REV")]
    good: Vec<String>,
    /// Look for the commit that fixed the crash instead of the one that
    /// introduced it.
    #[arg(long)]
    fix: bool,
    /// The title of the crash to bisect, as culprit names it (e.g. "WARNING
    /// in foo"); runs with another crash are no evidence. Default: the most
    /// common crash at --bad.
    #[arg(long, value_name = "TITLE")]
    crash: Option<String>,
    /// Build command, run with `sh -c` in the checkout: exit 0 means built.
    #[arg(long, value_name = "CMD", required_unless_present = "job")]
    build: Option<String>,
    /// Test command, run with `sh -c` in the checkout with CULPRIT_RUN set:
    /// 0 OK, 125 could not test, 1-127 crashed, 128+ or a signal: trouble.
    #[arg(long, value_name = "CMD", required_unless_present = "job")]
    test: Option<String>,
    /// Runs of the test per commit.
    #[arg(long, value_name = "N", default_value_t = 10)]
    runs: u32,
    /// The build output whose bytes make the build signature (default: the
    /// commit's tree).
    #[arg(long, value_name = "PATH")]
    artifact: Option<PathBuf>,
    /// Where the checkout, logs and journal go (default: a directory per
    /// bisection under $XDG_CACHE_HOME/culprit or ~/.cache/culprit).
    #[arg(long, value_name = "DIR")]
    workdir: Option<PathBuf>,
    /// Write the outcome as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// How to choose commits and read verdicts: classic, bayes, plain.
    #[arg(long, value_name = "NAME", default_value = strategy::DEFAULT, overrides_with = "strategy")]
    strategy: String,
    /// With bayes: stop when the top suspect is this likely (0.5 to 0.999999).
    #[arg(long, value_name = "P", default_value_t = strategy::DEFAULT_CONFIDENCE, value_parser = confidence)]
    confidence: f64,
    /// Time limit of one build, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 4 * 3600)]
    build_timeout: u64,
    /// Time limit of one run of the test, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    test_timeout: u64,
}

impl Args {
    fn direction(&self) -> Direction {
        if self.fix {
            Direction::Fix
        } else {
            Direction::Cause
        }
    }
}

/// The generic-mode arguments clap made sure are there.
struct Generic<'a> {
    repo: &'a Path,
    bad: &'a str,
    build: &'a str,
    test: &'a str,
}

impl Args {
    fn generic(&self) -> Option<Generic<'_>> {
        Some(Generic {
            repo: self.repo.as_deref()?,
            bad: self.bad.as_deref()?,
            build: self.build.as_deref()?,
            test: self.test.as_deref()?,
        })
    }
}

/// Runs `culprit bisect`; returns the exit code.
pub fn run(args: Args) -> i32 {
    if let Some(job) = &args.job {
        return job_file::run(job);
    }
    let Some(generic) = args.generic() else {
        eprintln!("culprit bisect: give a job file, or --repo, --bad, --build and --test");
        return BAD_INPUT;
    };
    match bisect(&args, &generic) {
        Ok(outcome) => finish(&args, &outcome, outcome.exit_code()),
        Err((code, message)) => {
            eprintln!("culprit bisect: {message}");
            let outcome = Outcome::failed(args.direction(), &args.strategy, generic.bad, message);
            finish(&args, &outcome, code)
        }
    }
}

/// Writes the JSON (for every outcome) and passes the exit code on.
fn finish(args: &Args, outcome: &Outcome, code: i32) -> i32 {
    let Some(path) = &args.json else { return code };
    let text = match serde_json::to_string_pretty(outcome) {
        Ok(text) => text + "\n",
        Err(e) => {
            eprintln!("culprit bisect: cannot encode the outcome: {e}");
            return FAILED;
        }
    };
    if let Err(e) = std::fs::write(path, text) {
        eprintln!("culprit bisect: cannot write {}: {e}", path.display());
        return if code == 0 { FAILED } else { code };
    }
    code
}

fn bisect(args: &Args, generic: &Generic) -> Result<Outcome, (i32, String)> {
    let bad_input = |e: &dyn std::fmt::Display| (BAD_INPUT, e.to_string());
    let repo = Repo::open(generic.repo).map_err(|e| bad_input(&e))?;
    let Some(mut strategy) = strategy::configured(&args.strategy, args.runs, args.confidence)
    else {
        let known = strategy::NAMES.join(", ");
        return Err((
            BAD_INPUT,
            format!("unknown strategy {:?} (known: {known})", args.strategy),
        ));
    };
    let mut bisection = input::check(&repo, args.direction(), generic.bad, &args.good, args.runs)
        .map_err(|e| bad_input(&e))?;
    if args.crash.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err((BAD_INPUT, "--crash: the crash title is empty".into()));
    }
    bisection.crash = args.crash.clone();
    let params = params(args, generic, &repo, &bisection);
    let workdir = match &args.workdir {
        Some(dir) => dir.clone(),
        None => default_workdir(&params).ok_or((
            BAD_INPUT,
            "no cache directory (set HOME or use --workdir)".into(),
        ))?,
    };
    let mut journal = Journal::open(&workdir, &params).map_err(|e| bad_input(&e))?;
    let (builds, runs) = journal.counts();
    if builds + runs > 0 {
        eprintln!(
            "culprit bisect: resuming from {} ({builds} builds, {runs} runs done)",
            workdir.display()
        );
    }
    let config = ShellConfig {
        build: generic.build.to_owned(),
        test: generic.test.to_owned(),
        artifact: args.artifact.clone(),
        build_timeout: Duration::from_secs(args.build_timeout),
        test_timeout: Duration::from_secs(args.test_timeout),
    };
    let mut shell = ShellExecutor::new(&repo, &workdir, config).map_err(|e| bad_input(&e))?;
    let mut exec = culprit_bisect::progress::Progress::new(&mut shell);
    let mut stdout = std::io::stdout().lock();
    Ok(culprit_bisect::run(
        &repo,
        &bisection,
        strategy.as_mut(),
        &mut exec,
        &mut journal,
        &mut stdout,
    ))
}

/// The parameters that make two invocations the same bisection.
fn params(
    args: &Args,
    generic: &Generic,
    repo: &Repo,
    bisection: &culprit_bisect::Bisection,
) -> String {
    let mut value = serde_json::json!({
        "repo": repo.common_dir(),
        "direction": bisection.direction,
        "bad": bisection.bad,
        "good": bisection.good,
        "build": generic.build,
        "test": generic.test,
        "artifact": args.artifact,
        "runs": args.runs,
        "strategy": args.strategy,
    });
    // Only when given: a bisection started before --crash existed resumes.
    if let Some(crash) = &bisection.crash {
        value["crash"] = crash.as_str().into();
    }
    value.to_string()
}

/// `$XDG_CACHE_HOME/culprit/<hash>` or `~/.cache/culprit/<hash>`: outside
/// the user's repository, one directory per bisection.
fn default_workdir(params: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| Path::new(&h).join(".cache"))
        })?;
    let hash = culprit_build::signature::bytes_signature(params.as_bytes());
    Some(cache.join("culprit").join(&hash[..16]))
}

/// `--confidence`: a probability strictly between 0.5 and 1.
fn confidence(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.5..1.0).contains(&p) => Ok(p),
        _ => Err(format!("{text:?} is not a probability in [0.5, 1)")),
    }
}
