//! Runs a config minimisation ([`crate::minimize`]) with real builds and
//! runs: the kernel executor implements [`MinimizeHost`] (build a config
//! at a commit, run the reproducer k times), [`prepare`] reads what the
//! minimisation starts from at the bad commit, [`minimize`] drives it,
//! logs every candidate and decision, and keeps the result in a cache
//! keyed by ([`CacheKey`]) config, baseline, commit, reproducer and
//! compiler.

use crate::instrumentation::CrashKind;
use crate::kbuild;
use crate::kconfig::{self, DependencyGraph, KconfigError, KernelConfig};
use crate::minimize::{MinimizeInput, MinimizeSettings, Minimized, Minimizer, Observation, Step};
use crate::signature;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How many frames of an unsymbolized report are looked up (the top of
/// the stack; deeper frames are the syscall entry, built always).
const FRAMES_READ: usize = 8;

/// Format version of cached results; others are misses.
const CACHE_VERSION: u32 = 1;

/// What the minimisation needs from whoever builds and runs kernels.
pub trait MinimizeHost {
    /// A built kernel, as the host keeps it.
    type Kernel;

    /// Builds the config in the file `config` at `commit` (completing it
    /// with `olddefconfig` and the release's fix-ups, as for any build of
    /// the bisection).
    fn build(&mut self, commit: &str, config: &Path) -> Result<Self::Kernel, HostBuildError>;

    /// Runs the reproducer `runs` times on `kernel`: how many runs were
    /// valid and how many showed the bisected crash (or one of the same
    /// bug). `Err` is the machine's fault: the minimisation stops.
    fn run(&mut self, kernel: &Self::Kernel, runs: u32) -> Result<RunCounts, String>;
}

/// Why a candidate gave no kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostBuildError {
    /// The candidate does not build (it does not reproduce, the search
    /// goes on).
    Failed(String),
    /// The machine's fault: the minimisation stops.
    Infra(String),
}

/// The runs of one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunCounts {
    /// Valid runs (booted and ran the reproducer).
    pub runs: u32,
    /// Runs that showed the bisected crash.
    pub crashes: u32,
}

/// Why the minimisation could not be done (the caller bisects with the
/// full config).
#[derive(Debug, thiserror::Error)]
pub enum MinimizeError {
    /// Reading or completing a config, or Kconfig, failed.
    #[error("config minimisation: {0}")]
    Kconfig(#[from] KconfigError),
    /// The host could not build or run for reasons of its own.
    #[error("config minimisation stopped: {0}")]
    Infra(String),
}

/// What decides a minimisation's result: the cache key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// SHA-256 of the full config file.
    pub config: String,
    /// SHA-256 of the baseline file, empty without one.
    pub baseline: String,
    /// The commit minimised at.
    pub commit: String,
    /// SHA-256 of the reproducer.
    pub reproducer: String,
    /// The compiler's identity (its `compiler:` line or binary hash).
    pub compiler: String,
}

impl CacheKey {
    /// The key of files and identities: hashes the config, baseline and
    /// reproducer files.
    pub fn of_files(
        config: &Path,
        baseline: Option<&Path>,
        commit: &str,
        reproducer: &Path,
        compiler: &str,
    ) -> Result<CacheKey, KconfigError> {
        let hash = |path: &Path| {
            std::fs::read(path)
                .map(|bytes| signature::bytes_signature(&bytes))
                .map_err(|source| KconfigError::Io {
                    path: path.to_path_buf(),
                    source,
                })
        };
        Ok(CacheKey {
            config: hash(config)?,
            baseline: baseline.map(hash).transpose()?.unwrap_or_default(),
            commit: commit.to_string(),
            reproducer: hash(reproducer)?,
            compiler: compiler.to_string(),
        })
    }

    /// The cache file's name: a hash of every part.
    pub fn id(&self) -> String {
        let text = format!(
            "culprit-minimized\0{}\0{}\0{}\0{}\0{}",
            self.config, self.baseline, self.commit, self.reproducer, self.compiler
        );
        signature::bytes_signature(text.as_bytes())
    }
}

/// A cached result.
#[derive(Debug, Serialize, Deserialize)]
struct Cached {
    version: u32,
    key: CacheKey,
    result: Minimized,
}

/// What the crash says about itself.
#[derive(Debug, Clone, Default)]
pub struct CrashFacts {
    /// The crash's kind (from the report's type or its title).
    pub kind: Option<CrashKind>,
    /// The crash's title (`WARNING in prctl_scratch_check`).
    pub title: String,
    /// The report's text, if known: its `file:line` names are used.
    pub report: Option<String>,
}

/// Reads what a minimisation starts from in `tree` (checked out at the
/// bad commit): the full config and the baseline completed by
/// `olddefconfig` with `make_vars` (see
/// [`crate::KernelRecipe::kconfig_variables`]), Kconfig's dependencies,
/// and the options that compile the crash's files (from the report's
/// `file:line` names, and the files defining the title's function and
/// the report's top frames).
/// `scratch` is a directory for the completed configs.
pub fn prepare(
    tree: &Path,
    full: &Path,
    baseline: Option<&Path>,
    crash: &CrashFacts,
    make_vars: &[String],
    scratch: &Path,
) -> Result<MinimizeInput, KconfigError> {
    std::fs::create_dir_all(scratch).map_err(|source| KconfigError::Io {
        path: scratch.to_path_buf(),
        source,
    })?;
    let complete = |path: &Path, name: &str| {
        let config = KernelConfig::read(path)?;
        kconfig::olddefconfig(tree, &config, make_vars, &scratch.join(name))
    };
    let full = complete(full, "full.config")?;
    let baseline = baseline
        .map(|path| complete(path, "baseline.config"))
        .transpose()?;
    // A tree whose tinyconfig cannot be made has no minimal candidate.
    let minimal =
        kconfig::bootable_tinyconfig(tree, make_vars, &scratch.join("minimal.config")).ok();
    let graph = DependencyGraph::from_tree(tree, "x86")?;
    Ok(MinimizeInput {
        file_options: crash_file_options(tree, crash),
        kind: crash
            .kind
            .unwrap_or_else(|| CrashKind::from_title(&crash.title)),
        full,
        baseline,
        minimal,
        graph,
        reference_rate: None,
        settings: MinimizeSettings::default(),
    })
}

/// The crash's files, each with the options that compile it.
pub fn crash_file_options(
    tree: &Path,
    crash: &CrashFacts,
) -> BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut files = crash
        .report
        .as_deref()
        .map(kbuild::files_in_report)
        .unwrap_or_default();
    let mut functions: Vec<String> = title_function(&crash.title).into_iter().collect();
    if let Some(report) = &crash.report {
        functions.extend(kbuild::functions_in_report(report, FRAMES_READ));
    }
    for function in functions {
        match kbuild::file_defining(tree, &function) {
            Some(file) if !files.contains(&file) => files.push(file),
            _ => {}
        }
    }
    files
        .into_iter()
        .filter_map(|file| kbuild::options_for_file(tree, &file).map(|o| (file, o)))
        .collect()
}

/// The function a title names: the last word of `WARNING in f`,
/// `KASAN: use-after-free Read in f`...
fn title_function(title: &str) -> Option<String> {
    let (_, function) = title.rsplit_once(" in ")?;
    let function = function.split_whitespace().next()?;
    Some(function.to_string())
}

/// Where the minimisation keeps its files and results.
#[derive(Debug, Clone)]
pub struct MinimizePlaces {
    /// Candidate configs go here, and `minimized.config`.
    pub work_dir: PathBuf,
    /// Results are kept here (`<id>.json`); `None`: no cache.
    pub cache_dir: Option<PathBuf>,
}

/// The minimisation's result and where its config was written.
#[derive(Debug, Clone)]
pub struct MinimizeOutcome {
    /// The result (the JSON's `config_minimization`).
    pub result: Minimized,
    /// `work_dir/minimized.config`: the config to bisect with.
    pub config_file: PathBuf,
    /// True when the result came from the cache (no build was made).
    pub cached: bool,
}

/// Minimises at `commit`: from the cache when `key` was minimised before,
/// else with `host`'s builds and runs. Log lines go to `log`.
pub fn minimize<H: MinimizeHost>(
    input: MinimizeInput,
    commit: &str,
    key: &CacheKey,
    places: &MinimizePlaces,
    host: &mut H,
    log: &mut dyn Write,
) -> Result<MinimizeOutcome, MinimizeError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| KconfigError::Io { path, source }
    };
    std::fs::create_dir_all(&places.work_dir).map_err(io(&places.work_dir))?;
    let config_file = places.work_dir.join("minimized.config");
    if let Some(result) = cached(places, key) {
        say(
            log,
            &format!("config minimisation: from the cache ({})", &key.id()[..16]),
        );
        result.config.write(&config_file)?;
        return Ok(MinimizeOutcome {
            result,
            config_file,
            cached: true,
        });
    }
    say(log, &opening_line(&input, commit));
    let full_on = input.full.enabled().len();
    let result = drive(Minimizer::new(input), commit, places, host, log)?;
    for decision in &result.decisions {
        say(log, &format!("config: {}", decision.describe()));
    }
    say(log, &closing_line(&result, full_on));
    result.config.write(&config_file)?;
    store(places, key, &result);
    Ok(MinimizeOutcome {
        result,
        config_file,
        cached: false,
    })
}

fn drive<H: MinimizeHost>(
    mut machine: Minimizer,
    commit: &str,
    places: &MinimizePlaces,
    host: &mut H,
    log: &mut dyn Write,
) -> Result<Minimized, MinimizeError> {
    loop {
        let (config, purpose, runs) = match machine.next_step() {
            Step::Done(result) => return Ok(result),
            Step::Test {
                config,
                purpose,
                runs,
            } => (config, purpose, runs),
        };
        let number = machine.builds() + 1;
        let file = places.work_dir.join(format!("candidate-{number}.config"));
        config.write(&file)?;
        say(
            log,
            &format!("config candidate {number}: {purpose}: building"),
        );
        let started = Instant::now();
        let observation = match host.build(commit, &file) {
            Ok(kernel) => {
                let counts = host.run(&kernel, runs).map_err(MinimizeError::Infra)?;
                Observation::Ran {
                    runs: counts.runs,
                    crashes: counts.crashes,
                }
            }
            Err(HostBuildError::Failed(reason)) => Observation::BuildFailed { reason },
            Err(HostBuildError::Infra(reason)) => return Err(MinimizeError::Infra(reason)),
        };
        let seconds = started.elapsed().as_secs();
        let said = match &observation {
            Observation::Ran { runs, crashes } => format!("crashed in {crashes} of {runs} runs"),
            Observation::BuildFailed { reason } => format!("build failed: {reason}"),
        };
        say(
            log,
            &format!("config candidate {number}: {said} ({seconds}s)"),
        );
        machine.observe(observation);
    }
}

fn opening_line(input: &MinimizeInput, commit: &str) -> String {
    let full = input.full.enabled();
    let mut line = format!(
        "minimizing the config at {commit}: {} options on in the full config",
        full.len()
    );
    if let Some(baseline) = &input.baseline {
        let base = baseline.enabled();
        let candidates = full.difference(&base).count();
        line.push_str(&format!(
            ", {} in the baseline, {candidates} candidates",
            base.len()
        ));
    }
    let files = input.file_options.len();
    line.push_str(&format!(
        "; {files} files of the crash; at most {} builds",
        input.settings.max_builds
    ));
    line
}

/// The result in a line; `full_on`: the options on in the full config.
fn closing_line(result: &Minimized, full_on: usize) -> String {
    let dropped = match result.dropped_instrumentation.is_empty() {
        true => "none".to_string(),
        false => result.dropped_instrumentation.join(", "),
    };
    let verified = match result.verified {
        true => "reproduces",
        false => "NOT verified",
    };
    format!(
        "minimized config: {} ({} options on, {full_on} in the full config; {} added to its base; instrumentation dropped: {dropped}; {verified}) after {} builds",
        result.summary,
        result.config.enabled().len(),
        result.added_options.len(),
        result.builds
    )
}

fn cached(places: &MinimizePlaces, key: &CacheKey) -> Option<Minimized> {
    let file = places
        .cache_dir
        .as_ref()?
        .join(format!("{}.json", key.id()));
    let text = std::fs::read(file).ok()?;
    let cached: Cached = serde_json::from_slice(&text).ok()?;
    (cached.version == CACHE_VERSION && &cached.key == key).then_some(cached.result)
}

/// Keeps a result; a cache that cannot be written only costs builds later.
fn store(places: &MinimizePlaces, key: &CacheKey, result: &Minimized) {
    let Some(dir) = &places.cache_dir else {
        return;
    };
    let cached = Cached {
        version: CACHE_VERSION,
        key: key.clone(),
        result: result.clone(),
    };
    let Ok(text) = serde_json::to_vec_pretty(&cached) else {
        return;
    };
    let file = dir.join(format!("{}.json", key.id()));
    let partial = dir.join(format!(".{}.{}", key.id(), std::process::id()));
    let _ = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&partial, text))
        .and_then(|()| std::fs::rename(&partial, &file));
}

fn say(log: &mut dyn Write, line: &str) {
    let _ = writeln!(log, "{line}");
    let _ = log.flush();
}
