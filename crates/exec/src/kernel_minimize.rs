//! Config minimisation before a kernel bisection, at its bad end: the
//! kernel executor builds and boots the candidates
//! (`culprit_build::minimize_driver` decides which), and the config found
//! is the one every commit of the bisection is built with. Done when the
//! job names its crash (its kind says which instrumentation it needs) and
//! there is something to drop: instrumentation the crash does not need, or
//! options a baseline lacks.

use std::io::Write;
use std::path::{Path, PathBuf};

use culprit_bisect::{BuildOutcome, Built, CrashSeen, Executor, RunOutcome, SameBug};
use culprit_build::instrumentation::{self, CrashKind};
use culprit_build::kconfig::KernelConfig;
use culprit_build::minimize_driver::{
    self, CacheKey, CrashFacts, HostBuildError, MinimizeHost, MinimizePlaces, RunCounts,
};
use culprit_build::ReproducerSpec;

use crate::kernel_executor::KernelExecutor;

/// What a minimisation needs of the job.
#[derive(Debug, Clone)]
pub struct MinimizeJob {
    /// The job's config.
    pub config: PathBuf,
    /// The baseline to minimise against.
    pub baseline: Option<PathBuf>,
    /// The crash's title.
    pub crash: String,
    /// The reproducer's file (its bytes key the cached result).
    pub reproducer: PathBuf,
    /// The most builds.
    pub max_builds: u32,
    /// Where results are kept (`None`: not kept).
    pub cache: Option<PathBuf>,
}

impl MinimizeJob {
    /// The minimisation a kernel job asks for, if any: it needs the
    /// crash's title and something to drop.
    pub fn of(
        config: &Path,
        baseline: Option<&Path>,
        crash: Option<&str>,
        reproducer: Option<&ReproducerSpec>,
        syz: Option<&Path>,
        max_builds: u32,
        cache: Option<PathBuf>,
    ) -> Option<MinimizeJob> {
        let crash = crash?;
        let reproducer = match (reproducer, syz) {
            (_, Some(program)) => program.to_owned(),
            (
                Some(
                    ReproducerSpec::CSource(p)
                    | ReproducerSpec::Binary(p)
                    | ReproducerSpec::Script(p),
                ),
                None,
            ) => p.clone(),
            (None, None) => return None,
        };
        let full = KernelConfig::read(config).ok()?;
        let droppable = instrumentation::droppable(CrashKind::from_title(crash), &full);
        if baseline.is_none() && droppable.is_empty() {
            return None;
        }
        Some(MinimizeJob {
            config: config.to_owned(),
            baseline: baseline.map(Path::to_owned),
            crash: crash.to_owned(),
            reproducer,
            max_builds,
            cache,
        })
    }
}

/// Minimises the config at `bad` with `exec`'s builds and runs, and makes
/// `exec` build every commit with the config found. Returns the result for
/// the JSON; on failure, says why in `log` and leaves the job's config.
pub fn minimize_at(
    exec: &mut KernelExecutor,
    job: &MinimizeJob,
    bad: &str,
    work: &Path,
    log: &mut dyn Write,
) -> Option<serde_json::Value> {
    match try_minimize(exec, job, bad, work, log) {
        Ok((config, result)) => {
            exec.use_config(&config);
            Some(result)
        }
        Err(why) => {
            let _ = writeln!(log, "{why}: bisecting with the job's config");
            None
        }
    }
}

fn try_minimize(
    exec: &mut KernelExecutor,
    job: &MinimizeJob,
    bad: &str,
    work: &Path,
    log: &mut dyn Write,
) -> Result<(PathBuf, serde_json::Value), String> {
    let tree = exec.checkout_at(bad)?;
    let recipe = exec.base_recipe();
    let crash = CrashFacts {
        kind: Some(CrashKind::from_title(&job.crash)),
        title: job.crash.clone(),
        report: None,
    };
    let mut input = minimize_driver::prepare(
        &tree,
        &job.config,
        job.baseline.as_deref(),
        &crash,
        &recipe.kconfig_variables(),
        &work.join("scratch"),
    )
    .map_err(|e| format!("config minimisation: {e}"))?;
    input.settings.max_builds = job.max_builds;
    let compiler = recipe.toolchain_identity().map_err(|e| e.to_string())?;
    let key = CacheKey::of_files(
        &job.config,
        job.baseline.as_deref(),
        bad,
        &job.reproducer,
        &compiler,
    )
    .map_err(|e| format!("config minimisation: {e}"))?;
    let places = MinimizePlaces {
        work_dir: work.to_owned(),
        cache_dir: job.cache.clone(),
    };
    let mut host = Host {
        exec,
        crash: job.crash.clone(),
    };
    let outcome = minimize_driver::minimize(input, bad, &key, &places, &mut host, log)
        .map_err(|e| e.to_string())?;
    let result = serde_json::to_value(&outcome.result).map_err(|e| e.to_string())?;
    Ok((outcome.config_file, result))
}

/// The kernel executor as the minimisation's host.
struct Host<'a> {
    exec: &'a mut KernelExecutor,
    crash: String,
}

impl MinimizeHost for Host<'_> {
    type Kernel = Built;

    fn build(&mut self, commit: &str, config: &Path) -> Result<Built, HostBuildError> {
        match self.exec.build_with_config(commit, config) {
            BuildOutcome::Built(built) => Ok(built),
            BuildOutcome::Failed { reason } => Err(HostBuildError::Failed(reason)),
            BuildOutcome::Infra { reason } => Err(HostBuildError::Infra(reason)),
        }
    }

    fn run(&mut self, kernel: &Built, runs: u32) -> Result<RunCounts, String> {
        let same = crate::identity::ReportRelations;
        let mut counts = RunCounts {
            runs: 0,
            crashes: 0,
        };
        let mut infra = None;
        // Runs that told nothing (the kernel did not boot, say) are said,
        // or a candidate that cannot boot would read as "0 of 0 runs".
        let mut untold: Option<(u32, String)> = None;
        let crash = self.crash.clone();
        self.exec.run(kernel, 0..runs, &mut |_, outcome, _| {
            match &outcome {
                RunOutcome::Ok => counts.runs += 1,
                RunOutcome::Crashed { title, report } => {
                    counts.runs += 1;
                    let seen = CrashSeen { title, report };
                    if *title == crash || same.recognise(&crash, seen).is_some() {
                        counts.crashes += 1;
                    }
                }
                RunOutcome::Failed { .. } => counts.runs += 1,
                RunOutcome::Invalid { reason } => {
                    let (count, _) = untold.get_or_insert((0, reason.clone()));
                    *count += 1;
                }
                RunOutcome::Infra { reason } => infra = Some(reason.clone()),
            }
            infra.is_none()
        });
        if let Some((count, reason)) = untold {
            let line = format!("{count} of {runs} runs told nothing (the first: {reason})");
            self.exec.say(&line);
        }
        match infra {
            Some(reason) => Err(reason),
            None => Ok(counts),
        }
    }
}
