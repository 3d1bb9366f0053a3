//! A [`MinimizeHost`] with real builds and runs, for the minimisation's
//! kernel test and benchmark: builds with a [`KernelRecipe`] in one
//! checkout (incremental, through ccache when given), runs the reproducer
//! in QEMU with `culprit_vm`, counts the runs whose crash title passes
//! `same_bug`.

use culprit_build::minimize_driver::{HostBuildError, MinimizeHost, RunCounts};
use culprit_build::KernelRecipe;
use culprit_vm::{RunKind, VmConfig};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub struct KernelHost {
    /// The checkout builds happen in.
    pub checkout: PathBuf,
    /// How to build; `config` is replaced by each candidate's.
    pub recipe: KernelRecipe,
    /// Where kernels are kept.
    pub out: PathBuf,
    /// How to run; `kernel` is replaced by each candidate's.
    pub vm: VmConfig,
    /// Machines at once.
    pub vms: usize,
    /// Where consoles go.
    pub consoles: PathBuf,
    /// Whether a crash title is the bug minimised for.
    pub same_bug: fn(&str) -> bool,
    /// Each build's wall time.
    pub build_times: Vec<Duration>,
    /// Whether the accelerator was probed (with the first kernel built:
    /// on some machines KVM starts QEMU but a real kernel never boots).
    pub probed: bool,
}

impl MinimizeHost for KernelHost {
    type Kernel = PathBuf;

    fn build(&mut self, commit: &str, config: &Path) -> Result<PathBuf, HostBuildError> {
        let status = Command::new("git")
            .arg("-C")
            .arg(&self.checkout)
            .args(["checkout", "-q", "--force", "--detach", commit])
            .status()
            .map_err(|e| HostBuildError::Infra(e.to_string()))?;
        if !status.success() {
            return Err(HostBuildError::Infra(format!("cannot check out {commit}")));
        }
        let mut recipe = self.recipe.clone();
        recipe.config = config.to_path_buf();
        match recipe.build(&self.checkout, &self.out) {
            Ok(build) => {
                eprintln!("built in {:.0}s", build.duration.as_secs_f64());
                self.build_times.push(build.duration);
                Ok(build.bzimage)
            }
            Err(error) if error.is_commit_failure() => {
                let tail = error.output_tail().unwrap_or_default();
                let line = tail.lines().rev().find(|l| !l.trim().is_empty());
                Err(HostBuildError::Failed(line.unwrap_or("failed").to_string()))
            }
            Err(error) => Err(HostBuildError::Infra(error.to_string())),
        }
    }

    fn run(&mut self, kernel: &PathBuf, runs: u32) -> Result<RunCounts, String> {
        if !self.probed {
            let probe = culprit_vm::probe_accelerator(&self.vm.qemu, Some(kernel));
            eprintln!("accelerator: {:?} ({})", probe.accelerator, probe.reason);
            self.vm.accelerator = probe.accelerator;
            self.probed = true;
        }
        let mut config = self.vm.clone();
        config.kernel = kernel.clone();
        let consoles = self.consoles.join(format!("{}", self.build_times.len()));
        let results =
            culprit_vm::run_many(&config, 0..runs as usize, self.vms, &consoles, |_, _| true);
        let mut counts = RunCounts {
            runs: 0,
            crashes: 0,
        };
        for result in results {
            let output = result.map_err(|e| e.to_string())?;
            match &output.kind {
                RunKind::Crashed { title, .. } => {
                    eprintln!("run: crashed: {title}");
                    counts.runs += 1;
                    counts.crashes += u32::from((self.same_bug)(title));
                }
                RunKind::Ok => counts.runs += 1,
                RunKind::Infra(reason) => return Err(reason.clone()),
                other => eprintln!("run: {}", other.describe()),
            }
        }
        Ok(counts)
    }
}
