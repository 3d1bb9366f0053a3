//! The kernel executor: builds each commit with a [`KernelRecipe`] in one
//! private checkout (so builds are incremental: a checkout keeps object
//! files, ccache keeps the rest), and tests a build by booting it in QEMU
//! with an initramfs that runs the reproducer.
//!
//! Layout of the work directory:
//! - `linux/`: the checkout (a shared clone of the user's repository);
//! - `builds/<signature>/`: `bzImage`, `vmlinux` and the build log of each
//!   distinct build (failed builds leave `builds/failed-*.log`);
//! - `reproducer/`: the compiled reproducer and the initramfs, made once;
//! - `ccache.sh`: the compiler wrapper (ccache with paths made irrelevant);
//!
//! and in the bisection's own directory, `consoles/<commit>/console-<i>.log`:
//! the console of every run.

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use culprit_bisect::recipients::Recipients;
use culprit_bisect::{
    BuildInputs, BuildOutcome, Built, Capacity, Executor, RevertOutcome, RunOutcome,
};
use culprit_build::deps::BuildDeps;
use culprit_build::reproducer::{self, ReproducerSpec};
use culprit_build::store::{build_through, KernelStore};
use culprit_build::{BuildCache, BuildError, CachedBuild, KernelBuild, KernelRecipe};
use culprit_git::{Commit, Repo, Worktree};
use culprit_vm::{Accelerator, Initramfs, RunKind, VmConfig};

use crate::kernel_release::{self, ReleaseRules};
use culprit_build::releases::{self, Backport};

/// How to test a build in QEMU.
#[derive(Debug, Clone)]
pub struct VmSettings {
    /// The QEMU binary.
    pub qemu: PathBuf,
    /// Kernel command line; `None`: [`culprit_vm::DEFAULT_CMDLINE`].
    pub cmdline: Option<String>,
    /// Guest memory in MiB.
    pub memory_mb: u32,
    /// Guest CPUs.
    pub cpus: u32,
    /// From QEMU's start to the reproducer's start.
    pub boot_timeout: Duration,
    /// The reproducer's time limit in the guest.
    pub run_timeout: Duration,
    /// Test machines at once: runs are made in batches of this size.
    pub vms: usize,
    /// Forces an accelerator instead of probing.
    pub accelerator: Option<Accelerator>,
}

/// Everything the kernel executor needs.
#[derive(Debug, Clone)]
pub struct KernelSettings {
    /// The work directory (see the module docs for its layout).
    pub workdir: PathBuf,
    /// Where the consoles of this bisection's runs go.
    pub consoles: PathBuf,
    /// How to build; `ccache` is replaced by the work directory's wrapper.
    pub recipe: KernelRecipe,
    /// Use ccache (if installed).
    pub ccache: bool,
    /// The reproducer (with a syz program: the one run when the program
    /// did not crash; `None`: the syz program alone).
    pub reproducer: Option<ReproducerSpec>,
    /// A syz program and the syzkaller that runs it.
    pub syz: Option<crate::syz_reproducer::SyzSettings>,
    /// The title of the crash bisected, when the job names it (syz
    /// executor failures are the bug only when it is one of them).
    pub crash: Option<String>,
    /// Compilers, config fix-ups and backports by release.
    pub releases: ReleaseRules,
    /// How to run.
    pub vm: VmSettings,
    /// The store of built kernels shared across bisections (`None`: none)
    /// and its size cap in bytes.
    pub store: Option<(PathBuf, Option<u64>)>,
}

/// What the first run prepares once: the initramfs and the accelerator.
#[derive(Debug, Clone)]
struct Prepared {
    initramfs: PathBuf,
    accelerator: Accelerator,
    /// A syz reproducer's initramfs: its programs' time decides the VM's.
    syz: Option<Initramfs>,
}

/// Builds kernels and runs the reproducer on them in QEMU.
pub struct KernelExecutor {
    repo: Repo,
    settings: KernelSettings,
    worktree: Option<Worktree>,
    /// `Err` keeps the first failure so that it is not retried every run.
    prepared: Option<Result<Prepared, String>>,
    log: Box<dyn Write + Send>,
    /// Built kernels shared with every bisection on the machine.
    store: Option<KernelStore>,
    /// What the builds so far read (kbuild's dependency records), loaded
    /// from and saved to `inputs_file`.
    inputs: Option<BuildDeps>,
    /// Notes already logged (a compiler not installed is said once).
    said: Vec<String>,
}

impl KernelExecutor {
    /// An executor for `repo`; its own log lines (`building reproducer`,
    /// `accelerator:`) go to `log`. Nothing is done until the first build.
    pub fn new(repo: Repo, settings: KernelSettings, log: Box<dyn Write + Send>) -> Self {
        let store = settings.store.as_ref().map(|(root, cap)| {
            let store = KernelStore::new(root);
            match cap {
                Some(bytes) => store.with_cap(*bytes),
                None => store,
            }
        });
        KernelExecutor {
            repo,
            settings,
            worktree: None,
            prepared: None,
            log,
            store,
            inputs: None,
            said: Vec::new(),
        }
    }

    /// Where what the builds read is kept: beside the shared store (so
    /// every bisection with this config learns from the others), else in
    /// the work directory; one file per recipe fingerprint (config,
    /// toolchain).
    fn inputs_file(&self) -> Option<PathBuf> {
        let fingerprint = self.settings.recipe.fingerprint().ok()?;
        let name = format!("inputs-{}.json", &fingerprint[..16.min(fingerprint.len())]);
        Some(match &self.store {
            Some(store) => store.root().join("inputs").join(name),
            None => self.dir(&name),
        })
    }

    /// What the builds so far read, loaded once.
    fn known_inputs(&mut self) -> Option<&BuildDeps> {
        if self.inputs.is_none() {
            let file = self.inputs_file()?;
            self.inputs = BuildDeps::load(&file).ok();
        }
        self.inputs.as_ref().filter(|d| !d.is_empty())
    }

    /// Adds what the build just made in `tree` read, and saves it.
    fn learn_inputs(&mut self, tree: &Path) {
        let Ok(read) = BuildDeps::from_tree(tree) else {
            return;
        };
        let mut inputs = self.known_inputs().cloned().unwrap_or_default();
        inputs.merge(&read);
        if let Some(file) = self.inputs_file() {
            if let Some(dir) = file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            // Not saved only costs builds later: every commit matters then.
            let _ = inputs.save(&file);
        }
        self.inputs = Some(inputs);
    }

    pub(crate) fn say(&mut self, line: &str) {
        let _ = writeln!(self.log, "{line}");
        let _ = self.log.flush();
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.settings.workdir.join(name)
    }

    fn worktree(&mut self) -> Result<&Worktree, String> {
        if self.worktree.is_none() {
            let dir = self.dir("linux");
            let made = Worktree::create(&self.repo, &dir).map_err(|e| e.to_string())?;
            self.worktree = Some(made);
        }
        self.worktree
            .as_ref()
            .ok_or_else(|| "no worktree".to_string())
    }

    /// Checks `commit` out in culprit's checkout; its path.
    pub fn checkout_at(&mut self, commit: &str) -> Result<PathBuf, String> {
        let worktree = self.worktree()?;
        worktree
            .checkout(commit)
            .map_err(|e| format!("checkout {commit}: {e}"))?;
        Ok(worktree.path().to_owned())
    }

    /// The job's recipe (its compiler and config, before a commit's
    /// release changes them).
    pub fn base_recipe(&self) -> KernelRecipe {
        self.settings.recipe.clone()
    }

    /// Builds `commit` with the config in `config` instead of the job's
    /// (a candidate of the config minimisation), through the store.
    pub fn build_with_config(&mut self, commit: &str, config: &Path) -> BuildOutcome {
        let job_config = std::mem::replace(&mut self.settings.recipe.config, config.to_owned());
        let outcome = self.build(commit);
        self.settings.recipe.config = job_config;
        outcome
    }

    /// Builds every commit from now on with the config in `config` (the
    /// minimised one).
    pub fn use_config(&mut self, config: &Path) {
        self.settings.recipe.config = config.to_owned();
    }

    /// The recipe with the ccache wrapper, when ccache is wanted and found.
    fn recipe(&self) -> Result<KernelRecipe, String> {
        let mut recipe = self.settings.recipe.clone();
        recipe.ccache = None;
        if self.settings.ccache && culprit_vm::find_in_path("ccache").is_some() {
            recipe.ccache = Some(self.ccache_wrapper()?);
        }
        Ok(recipe)
    }

    /// `ccache.sh`: ccache told to ignore where the checkout is, so that a
    /// cache filled by one work directory serves another, and to read the
    /// headers a file used from kbuild's `-MMD` output (depend mode): on a
    /// miss, ccache's own preprocessor pass made a cold kernel build 40-50%
    /// slower than none (BENCHMARKS.md). ccache uses it only where the
    /// compiler writes dependencies.
    fn ccache_wrapper(&self) -> Result<PathBuf, String> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir("ccache.sh");
        let base = self.dir("linux");
        let text = format!(
            "#!/bin/sh\nexport CCACHE_BASEDIR='{}' CCACHE_NOHASHDIR=1 CCACHE_DEPEND=1 \
             CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime\n\
             exec ccache \"$@\"\n",
            base.display()
        );
        std::fs::create_dir_all(&self.settings.workdir)
            .and_then(|()| std::fs::write(&path, text))
            .and_then(|()| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)))
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok(path)
    }

    /// The recipe of `commit`: the compiler of its release, its config
    /// fix-ups; and its backports applied in the checkout, when it needs
    /// any (then the tree built is the checkout's, not the commit's).
    fn commit_recipe(&mut self, commit: &str) -> Result<(KernelRecipe, Option<String>), String> {
        let base = self.recipe()?;
        let checkout = self.worktree()?.path().to_owned();
        let configs = self.dir("configs");
        let planned = kernel_release::for_commit(
            &checkout,
            commit,
            &base,
            &self.settings.releases,
            &configs,
        )?;
        for note in &planned.notes {
            if !self.said.contains(note) {
                self.say(note);
                self.said.push(note.clone());
            }
        }
        if planned.backports.is_empty() {
            return Ok((planned.recipe, None));
        }
        let worktree = self.worktree()?;
        worktree
            .checkout(commit)
            .map_err(|e| format!("checkout {commit}: {e}"))?;
        let needed: Vec<&Backport> = planned.backports.iter().collect();
        let applied = releases::apply_backports(&checkout, &needed, &mut self.log)
            .map_err(|e| e.to_string())?;
        if applied.is_empty() {
            return Ok((planned.recipe, None));
        }
        let tree = self
            .worktree()?
            .tree_of("HEAD")
            .map_err(|e| e.to_string())?;
        Ok((planned.recipe, Some(tree)))
    }

    fn try_build(&mut self, commit: &str) -> Result<BuildOutcome, String> {
        let (recipe, backported) = self.commit_recipe(commit)?;
        let builds = self.dir("builds");
        let cache = self.cache_key(&recipe, commit, backported.clone())?;
        if let Some(cached) = cache.as_ref().and_then(|(c, tree, fp)| c.get(tree, fp)) {
            return Ok(from_cache(commit, cached));
        }
        let worktree = self.worktree()?;
        if backported.is_none() {
            worktree
                .checkout(commit)
                .map_err(|e| format!("checkout {commit}: {e}"))?;
        }
        if recipe.clean {
            // syzbot's way: nothing of the previous build survives.
            worktree
                .clean()
                .map_err(|e| format!("cleaning the checkout: {e}"))?;
        }
        let started = std::time::Instant::now();
        let tree_path = worktree.path().to_owned();
        let result = match (&self.store, &cache) {
            (Some(store), Some((_, tree, _))) => {
                let through = build_through(store, &recipe, tree, &tree_path, &builds);
                if let Some(e) = &through.store_error {
                    self.say(&format!("build store: {e} (it only costs a rebuild)"));
                }
                if through.from_store {
                    self.say(&format!("kernel for {commit} from the build store"));
                } else {
                    self.say(&format!("kernel for {commit} built"));
                }
                through.result.map(|b| (b, !through.from_store))
            }
            _ => recipe.build(&tree_path, &builds).map(|b| (b, true)),
        };
        if let Ok((_, true)) = &result {
            self.learn_inputs(&tree_path);
        }
        let result = result.map(|(b, _)| b);
        if let Some((cache, tree, fingerprint)) = &cache {
            let entry = cache_entry(&result, started.elapsed());
            if let Some(entry) = entry {
                // A cache that cannot be written only costs a rebuild later.
                let _ = cache.put(tree, fingerprint, &entry);
            }
        }
        Ok(match result {
            Ok(build) => BuildOutcome::Built(Built {
                commit: commit.to_owned(),
                signature: build.signature,
                compiler: Some(build.compiler_line),
            }),
            Err(error) => build_failure(&error),
        })
    }

    /// The build cache and this commit's key in it; `None` for clean
    /// builds (the baseline re-does everything, like syzbot).
    fn cache_key(
        &mut self,
        recipe: &KernelRecipe,
        commit: &str,
        tree: Option<String>,
    ) -> Result<Option<(BuildCache, String, String)>, String> {
        if recipe.clean {
            return Ok(None);
        }
        // The checkout knows the user's commits and its own reverts.
        let tree = match tree {
            Some(tree) => tree,
            None => self
                .worktree()?
                .tree_of(commit)
                .map_err(|e| e.to_string())?,
        };
        let fingerprint = recipe.fingerprint().map_err(|e| e.to_string())?;
        Ok(Some((
            BuildCache::new(self.dir("builds").join("cache")),
            tree,
            fingerprint,
        )))
    }

    /// The initramfs (reproducer prepared once) and the accelerator (probed
    /// once, with the first kernel built).
    fn prepare(&mut self, bzimage: &Path) -> Result<Prepared, String> {
        if let Some(done) = &self.prepared {
            return done.clone();
        }
        let result = self.prepare_now(bzimage);
        self.prepared = Some(result.clone());
        result
    }

    fn prepare_now(&mut self, bzimage: &Path) -> Result<Prepared, String> {
        let dir = self.dir("reproducer");
        let compiler = self.settings.recipe.compiler.clone();
        let program = match self.settings.reproducer.clone() {
            Some(spec) => {
                if let ReproducerSpec::CSource(source) = &spec {
                    let line = culprit_build::run::first_version_line(&compiler)
                        .unwrap_or_else(|| compiler.display().to_string());
                    self.say(&format!(
                        "building reproducer {} on {line}",
                        source.display()
                    ));
                }
                Some(reproducer::prepare(&spec, &dir, &compiler).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let initramfs = dir.join("initramfs.cpio");
        let run_timeout = self.settings.vm.run_timeout;
        let syz = match self.settings.syz.clone() {
            Some(syz) => {
                let c = program.as_ref().map(|p| p.path.as_path());
                let prepared = crate::syz_reproducer::prepare_syz(&syz, c, run_timeout)?;
                for line in &prepared.log {
                    self.say(line);
                }
                prepared
                    .initramfs
                    .write(&initramfs)
                    .map_err(|e| e.to_string())?;
                Some(prepared.initramfs)
            }
            None => {
                let Some(program) = &program else {
                    return Err("no reproducer".into());
                };
                Initramfs::from_file(&program.path)
                    .map(|i| i.default_time_limit(run_timeout))
                    .and_then(|i| i.write(&initramfs))
                    .map_err(|e| e.to_string())?;
                None
            }
        };
        let accelerator = match self.settings.vm.accelerator {
            Some(forced) => {
                self.say(&format!(
                    "accelerator: {} (as configured)",
                    forced.name().to_lowercase()
                ));
                forced
            }
            None => {
                let probe = culprit_vm::probe_accelerator(&self.settings.vm.qemu, Some(bzimage));
                let name = probe.accelerator.name().to_lowercase();
                self.say(&format!("accelerator: {name} ({})", probe.reason));
                probe.accelerator
            }
        };
        Ok(Prepared {
            initramfs,
            accelerator,
            syz,
        })
    }

    fn vm_config(&self, bzimage: &Path, prepared: &Prepared) -> VmConfig {
        let vm = &self.settings.vm;
        let mut config = VmConfig::new(bzimage, &prepared.initramfs);
        config.qemu = vm.qemu.clone();
        if let Some(cmdline) = &vm.cmdline {
            config.cmdline = cmdline.clone();
        }
        config.memory_mb = vm.memory_mb;
        config.cpus = vm.cpus;
        config.accelerator = prepared.accelerator;
        config.boot_timeout = vm.boot_timeout;
        config.run_timeout = vm.run_timeout;
        if let Some(initramfs) = &prepared.syz {
            let crash = self.settings.crash.as_deref();
            crate::syz_reproducer::configure_vm(&mut config, initramfs, crash);
        }
        config
    }

    /// The test machine's configuration for `built`, and where its runs'
    /// consoles go.
    fn machine(&mut self, built: &Built) -> Result<(VmConfig, PathBuf), String> {
        let bzimage = self.dir("builds").join(&built.signature).join("bzImage");
        if !bzimage.is_file() {
            return Err(format!("{} is missing", bzimage.display()));
        }
        let prepared = self.prepare(&bzimage)?;
        let config = self.vm_config(&bzimage, &prepared);
        Ok((config, self.settings.consoles.join(&built.commit)))
    }

    /// The maintainers of `commit` from the kernel's `get_maintainer.pl`,
    /// in the checkout moved to `commit`.
    fn maintainers(&mut self, commit: &str) -> Result<Recipients, String> {
        let worktree = self.worktree()?;
        worktree.checkout(commit).map_err(|e| e.to_string())?;
        crate::maintainers::maintainers(worktree.path(), commit).map_err(|e| e.to_string())
    }
}

impl Executor for KernelExecutor {
    fn same_bug(&self) -> std::sync::Arc<dyn culprit_bisect::SameBug> {
        std::sync::Arc::new(crate::identity::ReportRelations)
    }

    fn capabilities(&self) -> culprit_bisect::Capabilities {
        culprit_bisect::Capabilities {
            builds: culprit_bisect::event::BuildKind::Kernel,
            runs_need_local_build: true,
        }
    }

    fn build_inputs(&mut self) -> Option<Box<dyn BuildInputs + '_>> {
        if self.settings.recipe.clean {
            return None;
        }
        let inputs = self.known_inputs()?;
        Some(Box::new(KernelInputs(inputs)))
    }

    fn revert(&mut self, base: &str, commit: &str) -> RevertOutcome {
        match self.worktree() {
            Ok(worktree) => crate::shell::revert_in(worktree, base, commit),
            Err(reason) => RevertOutcome::Infra { reason },
        }
    }

    fn build(&mut self, commit: &str) -> BuildOutcome {
        self.try_build(commit)
            .unwrap_or_else(|reason| BuildOutcome::Infra { reason })
    }

    fn capacity(&self) -> Capacity {
        Capacity {
            builders: 1,
            machines: self.settings.vm.vms.max(1),
        }
    }

    /// Boots `vms` machines at once; each run is handed back as it ends.
    fn run(
        &mut self,
        build: &Built,
        runs: Range<u32>,
        done: &mut dyn FnMut(u32, RunOutcome, f64) -> bool,
    ) {
        let (config, consoles) = match self.machine(build) {
            Ok(machine) => machine,
            Err(reason) => {
                for index in runs {
                    if !done(index, infra(&reason), 0.0) {
                        return;
                    }
                }
                return;
            }
        };
        let indices = runs.start as usize..runs.end as usize;
        culprit_vm::run_many(
            &config,
            indices,
            self.settings.vm.vms.max(1),
            &consoles,
            |index, result| {
                let secs = result.as_ref().map_or(0.0, |o| o.duration.as_secs_f64());
                done(index as u32, run_outcome(result), secs)
            },
        );
    }

    /// The culprit's trailers merged with its maintainers (when
    /// `get_maintainer.pl` can be run; otherwise a note is logged).
    fn recipients(&mut self, culprit: &Commit) -> Recipients {
        let trailers = culprit_bisect::recipients::recipients(culprit);
        match self.maintainers(&culprit.hash) {
            Ok(maintainers) => crate::maintainers::merge(&trailers, &maintainers),
            Err(why) => {
                self.say(&format!(
                    "get_maintainer.pl not used ({why}): recipients from trailers only"
                ));
                trailers
            }
        }
    }
}

/// The files kernel builds read, as the engine asks about them.
struct KernelInputs<'a>(&'a BuildDeps);

impl BuildInputs for KernelInputs<'_> {
    fn relevant(&self, paths: &[String]) -> bool {
        self.0.relevant(paths)
    }
}

/// What to remember of a build: its signature and files, or the failure
/// of a commit that does not build (not a timeout nor the machine's fault).
fn cache_entry(result: &Result<KernelBuild, BuildError>, took: Duration) -> Option<CachedBuild> {
    let seconds = took.as_secs_f64();
    match result {
        Ok(build) => Some(CachedBuild {
            signature: Some(build.signature.clone()),
            artifacts: vec![build.bzimage.clone(), build.vmlinux.clone()],
            compiler_line: Some(build.compiler_line.clone()),
            failure: None,
            seconds,
        }),
        Err(error @ BuildError::Failed { .. }) => match build_failure(error) {
            BuildOutcome::Failed { reason } => Some(CachedBuild {
                signature: None,
                artifacts: Vec::new(),
                compiler_line: None,
                failure: Some(reason),
                seconds,
            }),
            _ => None,
        },
        Err(_) => None,
    }
}

/// A remembered build of the same tree with the same recipe.
fn from_cache(commit: &str, cached: CachedBuild) -> BuildOutcome {
    match (cached.signature, cached.failure) {
        (Some(signature), _) => BuildOutcome::Built(Built {
            commit: commit.to_owned(),
            signature,
            compiler: cached.compiler_line,
        }),
        (None, failure) => BuildOutcome::Failed {
            reason: failure.unwrap_or_else(|| "kernel build failed".into()),
        },
    }
}

/// A failed build: the commit is skipped, unless the machine is to blame.
fn build_failure(error: &BuildError) -> BuildOutcome {
    let Some(tail) = error.output_tail().filter(|_| error.is_commit_failure()) else {
        return BuildOutcome::Infra {
            reason: one_line(&error.to_string()),
        };
    };
    if tail.contains("No space left on device") {
        return BuildOutcome::Infra {
            reason: "no space left on device".into(),
        };
    }
    // make's status for a command that does not exist: the machine lacks
    // a tool (or the compiler wrapper is gone), no commit builds here.
    if tail.contains("Error 127") {
        let line = tail
            .lines()
            .find(|l| l.contains("not found"))
            .unwrap_or("a tool is missing");
        return BuildOutcome::Infra {
            reason: format!("cannot build: {}", line.trim()),
        };
    }
    let first_error = tail
        .lines()
        .find(|l| l.contains("error:") || l.contains("Error "))
        .or_else(|| tail.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("no output");
    let what = match error {
        BuildError::TimedOut { limit, .. } => format!("timed out after {}s", limit.as_secs()),
        _ => "failed".into(),
    };
    BuildOutcome::Failed {
        reason: format!("kernel build {what}: {}", first_error.trim()),
    }
}

fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_owned()
}

fn infra(reason: &str) -> RunOutcome {
    RunOutcome::Infra {
        reason: reason.to_owned(),
    }
}

/// A VM run as the engine sees it, in the reference log's words.
fn run_outcome(result: &Result<culprit_vm::RunOutput, culprit_vm::VmError>) -> RunOutcome {
    let output = match result {
        Ok(output) => output,
        Err(e) => return infra(&e.to_string()),
    };
    let words = output.kind.describe();
    match output.kind.clone() {
        RunKind::Crashed { title, report } => RunOutcome::Crashed { title, report },
        RunKind::Ok => RunOutcome::Ok,
        RunKind::BootFailed(_) | RunKind::NoOutput | RunKind::LostConnection => {
            RunOutcome::Invalid { reason: words }
        }
        RunKind::Infra(_) => RunOutcome::Infra { reason: words },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(tail: &str) -> BuildError {
        BuildError::Failed {
            log: PathBuf::from("log"),
            tail: tail.into(),
        }
    }

    #[test]
    fn failed_build_is_a_skip_with_the_first_error_line() {
        let tail =
            "  CC      kernel/sys.o\nkernel/sys.c:12:1: error: expected ';'\nmake: *** Error 2\n";
        let BuildOutcome::Failed { reason } = build_failure(&failed(tail)) else {
            panic!("not a failure");
        };
        assert_eq!(
            reason,
            "kernel build failed: kernel/sys.c:12:1: error: expected ';'"
        );
    }

    #[test]
    fn full_disk_and_missing_toolchain_are_infrastructure() {
        let full = failed("cc1: fatal error: kernel/sys.o: No space left on device\n");
        assert_eq!(
            build_failure(&full),
            BuildOutcome::Infra {
                reason: "no space left on device".into()
            }
        );
        let toolchain = BuildError::Toolchain(PathBuf::from("/nope/gcc"));
        assert!(matches!(
            build_failure(&toolchain),
            BuildOutcome::Infra { .. }
        ));
    }

    /// An executor on a one-commit repository whose kernel "builds" are
    /// planted by the test, with a script reproducer.
    fn executor(dir: &Path, qemu: &str) -> (KernelExecutor, culprit_git::fixture::RepoBuilder) {
        let mut repo = culprit_git::fixture::RepoBuilder::new();
        repo.commit("base", &[("Makefile", "all:\n")]);
        let script = dir.join("repro.sh");
        std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
        let settings = KernelSettings {
            store: None,
            workdir: dir.join("work"),
            consoles: dir.join("work/consoles"),
            recipe: KernelRecipe::new(dir.join("config"), "gcc"),
            ccache: false,
            reproducer: Some(ReproducerSpec::Script(script)),
            syz: None,
            crash: None,
            releases: ReleaseRules::default(),
            vm: VmSettings {
                qemu: PathBuf::from(qemu),
                cmdline: None,
                memory_mb: 64,
                cpus: 1,
                boot_timeout: Duration::from_secs(5),
                run_timeout: Duration::from_secs(5),
                vms: 2,
                accelerator: Some(Accelerator::Tcg),
            },
        };
        (
            KernelExecutor::new(repo.open(), settings, Box::new(std::io::sink())),
            repo,
        )
    }

    /// The runs `range` of `built`, as the executor hands them back.
    fn runs(exec: &mut KernelExecutor, built: &Built, range: Range<u32>) -> Vec<(u32, RunOutcome)> {
        let mut got = Vec::new();
        exec.run(built, range, &mut |i, o, _| {
            got.push((i, o));
            true
        });
        got.sort_by_key(|(i, _)| *i);
        got
    }

    fn planted_build(dir: &Path, commit: &str) -> Built {
        let kept = dir.join("work/builds/sig");
        std::fs::create_dir_all(&kept).unwrap();
        std::fs::write(kept.join("bzImage"), b"not a kernel").unwrap();
        Built {
            commit: commit.into(),
            signature: "sig".into(),
            compiler: None,
        }
    }

    #[test]
    fn qemu_that_cannot_start_is_an_infrastructure_problem_for_every_run() {
        if culprit_vm::find_busybox().is_none() {
            eprintln!("skipping: no static busybox (apt-get install busybox-static)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (mut exec, repo) = executor(dir.path(), "/nonexistent/qemu-system-x86_64");
        let built = planted_build(dir.path(), &repo.rev("HEAD"));
        let outcomes = runs(&mut exec, &built, 0..3);
        assert_eq!(outcomes.len(), 3);
        for (index, outcome) in outcomes {
            let RunOutcome::Infra { reason } = outcome else {
                panic!("run {index} is not an infrastructure problem");
            };
            assert!(
                reason.contains("/nonexistent/qemu-system-x86_64"),
                "{reason}"
            );
        }
        assert!(dir
            .path()
            .join("work/consoles")
            .join(&built.commit)
            .join("console-2.log")
            .is_file());
    }

    #[test]
    fn missing_kernel_image_is_an_infrastructure_problem() {
        let dir = tempfile::tempdir().unwrap();
        let (mut exec, repo) = executor(dir.path(), "qemu-system-x86_64");
        let built = Built {
            commit: repo.rev("HEAD"),
            signature: "gone".into(),
            compiler: None,
        };
        let outcomes = runs(&mut exec, &built, 0..1);
        let Some((0, RunOutcome::Infra { reason })) = outcomes.first() else {
            panic!("not an infrastructure problem: {outcomes:?}");
        };
        assert!(reason.contains("bzImage is missing"), "{reason}");
    }

    #[test]
    fn a_tree_that_is_not_a_kernel_fails_to_build_and_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config"), "CONFIG_64BIT=y\n").unwrap();
        let (mut exec, repo) = executor(dir.path(), "qemu-system-x86_64");
        let outcome = exec.build(&repo.rev("HEAD"));
        let BuildOutcome::Failed { reason } = &outcome else {
            panic!("not a failed build: {outcome:?}");
        };
        assert!(reason.starts_with("kernel build failed: "), "{reason}");
        // Remembered per tree: asking again reads the cache, make does
        // not run again (no second failed-*.log).
        assert_eq!(exec.build(&repo.rev("HEAD")), outcome);
        let logs = std::fs::read_dir(dir.path().join("work/builds")).unwrap();
        let failed_logs = logs.filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("failed-")
        });
        assert_eq!(failed_logs.count(), 1);
    }

    #[test]
    fn vm_outcomes_use_the_reference_words() {
        let out = |kind: RunKind| {
            run_outcome(&Ok(culprit_vm::RunOutput {
                kind,
                console: PathBuf::new(),
                duration: Duration::ZERO,
                repro_status: None,
            }))
        };
        assert_eq!(out(RunKind::Ok), RunOutcome::Ok);
        let crashed = out(RunKind::Crashed {
            title: "WARNING in f".into(),
            report: "r".into(),
        });
        assert_eq!(
            crashed,
            RunOutcome::Crashed {
                title: "WARNING in f".into(),
                report: "r".into()
            }
        );
        assert_eq!(
            out(RunKind::NoOutput),
            RunOutcome::Invalid {
                reason: "no output from test machine".into()
            }
        );
        assert_eq!(
            out(RunKind::BootFailed("x".into())),
            RunOutcome::Invalid {
                reason: "boot failed: x".into()
            }
        );
        assert_eq!(
            out(RunKind::LostConnection),
            RunOutcome::Invalid {
                reason: "lost connection to test machine".into()
            }
        );
        assert!(matches!(
            out(RunKind::Infra("q".into())),
            RunOutcome::Infra { .. }
        ));
    }
}
