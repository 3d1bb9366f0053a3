//! One run: boot the kernel with the initramfs, capture the console, classify.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::accel::Accelerator;
use crate::classify::{classify, Ending, RunKind};
use crate::error::VmError;
use crate::initramfs::{DONE_MARKER, START_MARKER, TIME_LIMIT_PARAM};
use crate::process::{run_captured, Launch, Limits};
use crate::syz_console::ExecutorFailures;

/// The default kernel command line: serial console, and every oops or
/// warning turned into a panic that ends the VM at once (`panic=-1` reboots,
/// and QEMU runs with `-no-reboot`), so a crash is reported and nothing after
/// it muddies the console.
pub const DEFAULT_CMDLINE: &str =
    "console=ttyS0 earlyprintk=serial oops=panic panic_on_warn=1 panic=-1 nokaslr";

/// How to run the test machine.
#[derive(Debug, Clone)]
pub struct VmConfig {
    /// The QEMU binary (default: `qemu-system-x86_64`, looked up in PATH).
    pub qemu: PathBuf,
    /// The kernel image (bzImage).
    pub kernel: PathBuf,
    /// The initramfs (see [`crate::Initramfs`]).
    pub initramfs: PathBuf,
    /// The kernel command line; `culprit.timeout=` is appended from `run_timeout`.
    pub cmdline: String,
    /// Guest memory in MiB.
    pub memory_mb: u32,
    /// Guest CPUs.
    pub cpus: u32,
    /// KVM or TCG (see [`crate::probe_accelerator`]).
    pub accelerator: Accelerator,
    /// Time allowed from QEMU's start until the reproducer starts.
    pub boot_timeout: Duration,
    /// The reproducer's time limit inside the guest.
    pub run_timeout: Duration,
    /// Extra time for the kernel to print a crash report or power off, after
    /// the reproducer's time limit or after it finished.
    pub grace: Duration,
    /// Extra QEMU arguments, appended last.
    pub extra_args: Vec<String>,
    /// How long the guest may work after its start marker (before
    /// `grace`); `None`: `run_timeout`. A syz reproducer needs more (see
    /// [`crate::Initramfs::guest_time`]).
    pub guest_time: Option<Duration>,
    /// Whether tool and machine failures are the bug being bisected
    /// (default: infrastructure; see [`ExecutorFailures::for_crash`]).
    pub executor_failures: ExecutorFailures,
}

impl VmConfig {
    /// A configuration with defaults: TCG, 256 MiB, 1 CPU, 60 s to boot,
    /// 60 s for the reproducer, 10 s grace.
    pub fn new(kernel: &Path, initramfs: &Path) -> Self {
        VmConfig {
            qemu: PathBuf::from("qemu-system-x86_64"),
            kernel: kernel.to_owned(),
            initramfs: initramfs.to_owned(),
            cmdline: DEFAULT_CMDLINE.to_string(),
            memory_mb: 256,
            cpus: 1,
            accelerator: Accelerator::Tcg,
            boot_timeout: Duration::from_secs(60),
            run_timeout: Duration::from_secs(60),
            grace: Duration::from_secs(10),
            extra_args: Vec::new(),
            guest_time: None,
            executor_failures: ExecutorFailures::default(),
        }
    }

    /// The QEMU command for this configuration, serial console on stdout.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.qemu);
        cmd.args(["-nodefaults", "-no-user-config", "-display", "none"])
            .args(["-serial", "stdio", "-no-reboot"])
            .args(self.accelerator.qemu_args())
            .arg("-m")
            .arg(self.memory_mb.to_string())
            .arg("-smp")
            .arg(self.cpus.to_string())
            .arg("-kernel")
            .arg(&self.kernel)
            .arg("-initrd")
            .arg(&self.initramfs)
            .arg("-append")
            .arg(self.full_cmdline())
            .args(&self.extra_args);
        cmd
    }

    /// The kernel command line as passed to QEMU.
    pub fn full_cmdline(&self) -> String {
        let secs = self.run_timeout.as_secs().max(1);
        format!("{} {TIME_LIMIT_PARAM}={secs}", self.cmdline.trim())
    }
}

/// One finished run.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// How the run ended.
    pub kind: RunKind,
    /// Where the console output was saved.
    pub console: PathBuf,
    /// Wall time from QEMU's start to its end.
    pub duration: Duration,
    /// The reproducer's exit status, if the guest reported it (137: killed
    /// at its time limit).
    pub repro_status: Option<i32>,
}

/// Boots the test machine once, saving its console to `console_out`.
///
/// Problems of the test machine (QEMU fails to start, the guest never boots)
/// are outcomes in [`RunOutput::kind`]; an error means the run could not be
/// recorded (the console file cannot be written), so it must not count.
pub fn run_once(cfg: &VmConfig, console_out: &Path) -> Result<RunOutput, VmError> {
    let console_err = |source| VmError::Console {
        path: console_out.to_owned(),
        source,
    };
    let file = std::fs::File::create(console_out).map_err(console_err)?;
    let limits = Limits {
        boot: cfg.boot_timeout,
        after_start: cfg.guest_time.unwrap_or(cfg.run_timeout) + cfg.grace,
        grace: cfg.grace,
        start_marker: START_MARKER,
        done_marker: Some(DONE_MARKER),
    };
    let began = Instant::now();
    let launch = run_captured(cfg.command(), &limits, Some((file, console_out)))?;
    let (kind, repro_status) = match launch {
        Launch::SpawnFailed(e) => {
            let why = format!("cannot start {}: {e}", cfg.qemu.display());
            (RunKind::Infra(why), None)
        }
        Launch::Ran(captured) => {
            let ending = Ending {
                timed_out: captured.timed_out,
                boot_timeout: cfg.boot_timeout,
                exit_code: captured.exit_code,
                stderr: captured.stderr,
            };
            classify(&captured.console, &ending, cfg.executor_failures)
        }
    };
    Ok(RunOutput {
        kind,
        console: console_out.to_owned(),
        duration: began.elapsed(),
        repro_status,
    })
}
