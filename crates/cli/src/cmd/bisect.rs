//! `culprit bisect`: generic mode, with shell commands to build and test;
//! or, given a job file (`culprit bisect JOB.toml`), a kernel bisection.
//! Both go through the same setup (`culprit_bisect::setup`); this module
//! parses the flags and wires the executor.
//!
//! Exit status: 0 culprit found; 1 no culprit (inconclusive, always-bad);
//! 2 bad input; 3 the bisection failed (does not reproduce, infrastructure).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use culprit_bisect::setup::{EXIT_BAD_INPUT, EXIT_FAILED};
use culprit_bisect::{
    strategy, Direction, Executor, Setup, SetupError, SetupRequest, StrategyConfig,
};
use culprit_exec::job::Job;
use culprit_exec::progress::Progress;
use culprit_exec::shell::{ShellConfig, ShellExecutor};
use culprit_render::page::{write_standalone, Tee};
use culprit_render::TextLog;

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
    /// Write the bisection's page (steps, range, suspects, culprit, mail,
    /// log) to this file, as one self-contained HTML file.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Print the culprit's patch after its diff stat.
    #[arg(long)]
    show_diff: bool,
    /// Only commits that touch these paths (files, or directories above
    /// them) are suspects, as with `git bisect start -- PATH...`.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    paths: Vec<String>,
    /// Report the culprit without checking it by its revert (by default
    /// culprit reverts it on the crashing end and tests that).
    #[arg(long)]
    no_verify: bool,
    /// How to choose commits and read verdicts: classic, bayes, plain.
    #[arg(long, value_name = "NAME", default_value = strategy::DEFAULT, overrides_with = "strategy")]
    strategy: String,
    /// With bayes: stop when the top suspect is this likely (0.5 to 0.999999).
    #[arg(long, value_name = "P", default_value_t = strategy::DEFAULT_CONFIDENCE, value_parser = confidence)]
    confidence: f64,
    /// With bayes: the lowest reproduction rate worth bisecting. The bad end
    /// runs until it crashes, or until the evidence says (at --confidence)
    /// that the crash shows less often than this.
    #[arg(long, value_name = "RATE", default_value_t = strategy::bayes::DEFAULT_MIN_RATE, value_parser = rate)]
    min_rate: f64,
    /// Time limit of one build, in seconds (1 to a year).
    #[arg(long, value_name = "SECS", default_value_t = 4 * 3600)]
    build_timeout: u64,
    /// Time limit of one run of the test, in seconds (1 to a year).
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

    /// The setup request of generic mode (clap made sure the flags it
    /// needs are there, unless a job file was given).
    fn setup_request(&self, shell: &ShellConfig) -> SetupRequest {
        SetupRequest {
            repo: self.repo.clone().unwrap_or_default(),
            direction: self.direction(),
            bad: self.bad.clone().unwrap_or_default(),
            good: self.good.clone(),
            crash: self.crash.clone(),
            strategy: StrategyConfig {
                name: self.strategy.clone(),
                runs: self.runs,
                confidence: self.confidence,
                min_rate: self.min_rate,
            },
            workdir: self.workdir.clone(),
            json: self.json.clone(),
            show_diff: self.show_diff,
            verify: !self.no_verify,
            paths: self.paths.clone(),
            executor_params: serde_json::json!({
                "build": shell.build,
                "test": shell.test,
                "artifact": shell.artifact,
            }),
        }
    }

    fn shell_config(&self) -> ShellConfig {
        ShellConfig {
            build: self.build.clone().unwrap_or_default(),
            test: self.test.clone().unwrap_or_default(),
            artifact: self.artifact.clone(),
            build_timeout: Duration::from_secs(self.build_timeout),
            test_timeout: Duration::from_secs(self.test_timeout),
        }
    }
}

/// Runs `culprit bisect`; returns the exit code.
pub fn run(args: Args) -> i32 {
    if let Some(file) = &args.job {
        return match Job::load(file) {
            Ok(job) => bisect(&job.setup_request(), args.html.as_deref(), |setup| {
                kernel_executor(&job, setup)
            }),
            Err(e) => {
                eprintln!("culprit bisect: {e}");
                EXIT_BAD_INPUT
            }
        };
    }
    let shell = args.shell_config();
    let request = args.setup_request(&shell);
    if let Err(message) = args.check_limits() {
        eprintln!("culprit bisect: {message}");
        return request.finish(
            &request.failed(&message),
            EXIT_BAD_INPUT,
            &mut std::io::stderr(),
        );
    }
    bisect(&request, args.html.as_deref(), |setup| {
        let exec = ShellExecutor::new(&setup.repo, &setup.workdir, &setup.bisection_dir, shell)
            .map_err(|e| e.to_string())?;
        Ok(Box::new(exec))
    })
}

/// Prepares the bisection `request` describes, makes its executor with
/// `executor`, and runs it; bad input is one line and exit status 2 (with
/// the error in the JSON, when asked for).
fn bisect(
    request: &SetupRequest,
    html: Option<&std::path::Path>,
    executor: impl FnOnce(&Setup) -> Result<Box<dyn Executor>, String>,
) -> i32 {
    let mut stderr = std::io::stderr();
    let bad_input = |message: String, stderr: &mut dyn Write| {
        let _ = writeln!(stderr, "culprit bisect: {message}");
        request.finish(&request.failed(&message), EXIT_BAD_INPUT, stderr)
    };
    // Found out now, not after hours of bisection.
    let unwritable = |p: &&std::path::Path| {
        p.is_dir()
            || p.parent()
                .is_some_and(|d| !d.as_os_str().is_empty() && !d.is_dir())
    };
    if let Some(path) = html.filter(unwritable) {
        let message = format!("--html {}: cannot be written", path.display());
        return bad_input(message, &mut stderr);
    }
    let setup = match request.prepare() {
        Ok(setup) => setup,
        // The JSON file is the problem: no use trying to write it.
        Err(e @ SetupError::Json { .. }) => {
            eprintln!("culprit bisect: {e}");
            return EXIT_BAD_INPUT;
        }
        Err(e) => return bad_input(e.to_string(), &mut stderr),
    };
    let (builds, runs) = setup.resumed;
    if builds + runs > 0 {
        eprintln!(
            "culprit bisect: resuming from {} ({builds} builds, {runs} runs done)",
            setup.workdir.display()
        );
    }
    let mut inner = match executor(&setup) {
        Ok(exec) => exec,
        Err(e) => return bad_input(e, &mut stderr),
    };
    let mut exec = Progress::new(inner.as_mut());
    let repo = setup.repo.clone();
    let mut text = TextLog::new(Tee::new(std::io::stdout().lock(), html.is_some()));
    let (outcome, code) = setup.run(&mut exec, &mut text, &mut stderr);
    let stdout = text.into_inner();
    let Some(path) = html else { return code };
    let tree = request.repo.display().to_string();
    match write_standalone(path, &outcome, stdout.copy(), Some(&repo), &tree) {
        Ok(()) => code,
        Err(e) => {
            eprintln!("culprit bisect: --html {}: {e}", path.display());
            if code == 0 {
                EXIT_FAILED
            } else {
                code
            }
        }
    }
}

/// The kernel executor of a job, with its own lines (reproducer,
/// accelerator) in the log.
fn kernel_executor(job: &Job, setup: &Setup) -> Result<Box<dyn Executor>, String> {
    Ok(Box::new(job.executor(setup, Box::new(std::io::stdout()))))
}

/// `--confidence`: a probability strictly between 0.5 and 1.
fn confidence(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.5..1.0).contains(&p) => Ok(p),
        _ => Err(format!("{text:?} is not a probability in [0.5, 1)")),
    }
}

/// `--min-rate`: a rate in (0, 1].
fn rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 1.0 => Ok(p),
        _ => Err(format!("{text:?} is not a rate in (0, 1]")),
    }
}

/// The longest time limit accepted: a year.
const MAX_LIMIT_SECS: u64 = 365 * 24 * 3600;

impl Args {
    /// `--build-timeout`, `--test-timeout`: whole seconds, from 1 to a year.
    fn check_limits(&self) -> Result<(), String> {
        for (flag, secs) in [
            ("--build-timeout", self.build_timeout),
            ("--test-timeout", self.test_timeout),
        ] {
            if !(1..=MAX_LIMIT_SECS).contains(&secs) {
                return Err(format!(
                    "{flag} {secs}: give a number of seconds from 1 to {MAX_LIMIT_SECS} (a year)"
                ));
            }
        }
        Ok(())
    }
}
