//! One run path for every way in: settings → prepared bisection →
//! executor → engine → outputs (the text log, the JSON, the page). The
//! command line, job files and the service's workers all call
//! [`bisect`]; what differs is where the journal lives, where the log goes
//! and what wraps the executor (a progress line, other workers).

use std::io::Write;
use std::path::Path;

use culprit_bisect::journal::{Journal, JournalError};
use culprit_bisect::setup::{EXIT_BAD_INPUT, EXIT_FAILED};
use culprit_bisect::{Executor, Outcome, Setup, SetupError};
use culprit_git::Repo;
use culprit_render::page::{write_standalone, Tee};
use culprit_render::TextLog;

use crate::kernel_executor::{KernelExecutor, KernelSettings, VmSettings};
use crate::kernel_minimize::{self, MinimizeJob};
use crate::settings::{KernelJob, Recipe, Settings};
use crate::shell::{ShellConfig, ShellExecutor};

/// Makes a writer for log lines (the engine's and the executor's go to
/// the same place).
pub type LogSink = Box<dyn Fn() -> Box<dyn Write + Send> + Send>;

/// Opens a bisection's journal, given its directory and parameters.
pub type JournalOpener<'a> = Box<dyn FnOnce(&Path, &str) -> Result<Journal, JournalError> + 'a>;

/// Wraps the executor once the bisection is prepared.
pub type Wrap<'a> =
    Box<dyn FnOnce(&Setup, Box<dyn Executor + Send>) -> Box<dyn Executor + Send + 'a> + 'a>;

/// What differs between the ways in.
pub struct RunPlace<'a> {
    /// Where log lines go.
    pub log: LogSink,
    /// Where a bad input's one line goes (the log, for the service).
    pub errors: Box<dyn Write + 'a>,
    /// The journal; `None`: a file in the bisection's directory.
    pub journal: Option<JournalOpener<'a>>,
    /// What wraps the executor (`None`: nothing).
    pub wrap: Option<Wrap<'a>>,
    /// What earlier bisections learned of the reproducer's rate.
    pub rate_prior: Option<culprit_bisect::strategy::bayes::RatePrior>,
}

/// How a bisection ended.
#[derive(Debug)]
pub struct Ran {
    /// What it found (an error outcome when it could not start).
    pub outcome: Outcome,
    /// The exit status (see the README's table).
    pub code: i32,
    /// Why it could not start, when it could not.
    pub setup_error: Option<SetupError>,
}

/// Prepares, runs and reports the bisection `settings` ask for.
pub fn bisect(settings: &Settings, mut place: RunPlace<'_>) -> Ran {
    let mut request = settings.setup_request();
    request.rate_prior = place.rate_prior;
    let failed = |message: String, code: i32, errors: &mut dyn Write, e: Option<SetupError>| {
        let _ = writeln!(errors, "culprit bisect: {message}");
        let outcome = request.failed(&message);
        let code = match &e {
            // The JSON file is the problem: no use trying to write it.
            Some(SetupError::Json { .. }) => code,
            _ => request.finish(&outcome, code, errors),
        };
        Ran {
            outcome,
            code,
            setup_error: e,
        }
    };
    if let Some(path) = settings.html.as_deref().filter(|p| unwritable(p)) {
        let message = format!("--html {}: cannot be written", path.display());
        return failed(message, EXIT_BAD_INPUT, place.errors.as_mut(), None);
    }
    let prepared = match place.journal.take() {
        Some(open) => request.prepare_with(open),
        None => request.prepare(),
    };
    let setup = match prepared {
        Ok(setup) => setup,
        Err(e) => {
            let code = match e {
                SetupError::Journal(_) => EXIT_FAILED,
                _ => EXIT_BAD_INPUT,
            };
            return failed(e.to_string(), code, place.errors.as_mut(), Some(e));
        }
    };
    let (builds, runs) = setup.resumed;
    if builds + runs > 0 {
        let _ = writeln!(
            place.errors,
            "culprit bisect: resuming from {} ({builds} builds, {runs} runs done)",
            setup.workdir.display()
        );
    }
    let bad = setup.bisection.bad.clone();
    let (dirs, repo) = ((&setup.workdir, &setup.bisection_dir), &setup.repo);
    let (local, minimized) = match executor(settings, repo, dirs.0, dirs.1, &bad, &place.log) {
        Ok(made) => (made.exec, made.minimized),
        Err(e) => return failed(e, EXIT_BAD_INPUT, place.errors.as_mut(), None),
    };
    let mut setup = setup;
    setup.config_minimization = minimized;
    let mut exec = match place.wrap.take() {
        Some(wrap) => wrap(&setup, local),
        None => local,
    };
    let repo = setup.repo.clone();
    let mut text = TextLog::new(Tee::new((place.log)(), settings.html.is_some()));
    let (outcome, code) = setup.run(exec.as_mut(), &mut text, place.errors.as_mut());
    drop(exec);
    let log = text.into_inner();
    let Some(path) = &settings.html else {
        return Ran {
            outcome,
            code,
            setup_error: None,
        };
    };
    let tree = settings.repo.display().to_string();
    let code = match write_standalone(path, &outcome, log.copy(), Some(&repo), &tree) {
        Ok(()) => code,
        Err(e) => {
            let _ = writeln!(
                place.errors,
                "culprit bisect: --html {}: {e}",
                path.display()
            );
            if code == 0 {
                EXIT_FAILED
            } else {
                code
            }
        }
    };
    Ran {
        outcome,
        code,
        setup_error: None,
    }
}

/// An executor made, and what its making found out.
pub struct Made {
    /// The executor.
    pub exec: Box<dyn Executor + Send>,
    /// The config minimisation's result, when one was made (or recalled).
    pub minimized: Option<serde_json::Value>,
}

/// The executor `settings` describe, with its checkout and builds in
/// `workdir` and run logs in `runs_dir`; its own lines (the reproducer,
/// the accelerator, the config minimisation) go to writers `log` makes.
/// A kernel job's config is minimised at `bad` (a full hash) first, when
/// the job asks for it; a worker helping another's bisection (it has no
/// prepared bisection) finds the owner's result in the cache.
pub fn executor(
    settings: &Settings,
    repo: &Repo,
    workdir: &Path,
    runs_dir: &Path,
    bad: &str,
    log: &dyn Fn() -> Box<dyn Write + Send>,
) -> Result<Made, String> {
    match &settings.recipe {
        Recipe::Shell(shell) => {
            let config = ShellConfig {
                build: shell.build.clone(),
                test: shell.test.clone(),
                artifact: shell.artifact.clone(),
                build_timeout: settings.build_timeout,
                test_timeout: settings.test_timeout,
            };
            let exec =
                ShellExecutor::new(repo, workdir, runs_dir, config).map_err(|e| e.to_string())?;
            Ok(Made {
                exec: Box::new(exec),
                minimized: None,
            })
        }
        Recipe::Kernel(job) => {
            let kernel = kernel_settings(settings, job, workdir, runs_dir);
            let cache = kernel
                .store
                .as_ref()
                .map(|(root, _)| root.join("minimized"));
            let mut exec = KernelExecutor::new(repo.clone(), kernel, log());
            let wanted = job.minimize.then(|| {
                MinimizeJob::of(
                    &job.config,
                    job.baseline.as_deref(),
                    settings.crash.as_deref(),
                    job.reproducer.as_ref(),
                    job.syz.as_ref().map(|s| s.program.as_path()),
                    job.minimize_builds,
                    cache,
                )
            });
            let minimized = wanted.flatten().and_then(|wanted| {
                let work = workdir.join("minimize");
                kernel_minimize::minimize_at(&mut exec, &wanted, bad, &work, log().as_mut())
            });
            Ok(Made {
                exec: Box::new(exec),
                minimized,
            })
        }
    }
}

/// The kernel executor's settings for a kernel job working in `workdir`.
fn kernel_settings(
    settings: &Settings,
    job: &KernelJob,
    workdir: &Path,
    runs_dir: &Path,
) -> KernelSettings {
    let mut recipe = culprit_build::KernelRecipe::new(&job.config, &job.compiler);
    recipe.timeout = settings.build_timeout;
    recipe.clean = job.clean;
    if let Some(jobs) = job.jobs {
        recipe.jobs = jobs;
    }
    KernelSettings {
        store: job.store.clone().map(|dir| (dir, job.store_size)),
        workdir: workdir.to_owned(),
        consoles: runs_dir.join("consoles"),
        recipe,
        ccache: job.ccache,
        reproducer: job.reproducer.clone(),
        syz: job
            .syz
            .as_ref()
            .map(|syz| crate::syz_reproducer::SyzSettings {
                program: syz.program.clone(),
                options_file: syz.options_file.clone(),
                syzkaller: syz.syzkaller.clone(),
                cache: culprit_build::syzkaller::SyzkallerBuilder::default_dir()
                    .unwrap_or_else(|| workdir.join("syzkaller")),
            }),
        crash: settings.crash.clone(),
        releases: crate::kernel_release::ReleaseRules::of_job(
            job.compilers.clone(),
            job.compiler == std::path::Path::new("gcc"),
            &job.fixups,
            &job.backports,
        ),
        vm: VmSettings {
            qemu: job.qemu.clone(),
            cmdline: job.cmdline.clone(),
            memory_mb: job.memory_mb,
            cpus: job.cpus,
            boot_timeout: job.boot_timeout,
            run_timeout: settings.test_timeout,
            vms: job.vms,
            accelerator: None,
        },
    }
}

/// Found out now, not after hours of bisection: a page that cannot be
/// written (a directory, or in a directory that does not exist).
fn unwritable(path: &Path) -> bool {
    path.is_dir()
        || path
            .parent()
            .is_some_and(|d| !d.as_os_str().is_empty() && !d.is_dir())
}
