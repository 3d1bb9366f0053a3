//! Choosing between KVM and TCG by booting a tiny guest, never by assumption:
//! on some machines /dev/kvm opens but guests hang under it.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::initramfs::{Initramfs, START_MARKER};
use crate::process::{run_captured, Launch, Limits};

/// How QEMU runs the guest's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Accelerator {
    /// Hardware virtualization through /dev/kvm.
    Kvm,
    /// QEMU's software emulation: slower, works everywhere.
    Tcg,
}

impl Accelerator {
    /// The name used in logs: "KVM" or "TCG".
    pub fn name(self) -> &'static str {
        match self {
            Accelerator::Kvm => "KVM",
            Accelerator::Tcg => "TCG",
        }
    }

    /// QEMU arguments selecting this accelerator.
    pub fn qemu_args(self) -> &'static [&'static str] {
        match self {
            Accelerator::Kvm => &["-accel", "kvm", "-cpu", "host"],
            Accelerator::Tcg => &["-accel", "tcg"],
        }
    }
}

/// The accelerator to use and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// KVM if a test guest booted under it, else TCG.
    pub accelerator: Accelerator,
    /// One line for the log, e.g. "a test guest did not boot under KVM within 5s".
    pub reason: String,
}

/// Time a test guest gets to boot under KVM before KVM is declared unusable.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Printed on the serial port by the probe's tiny guest.
const PROBE_MARKER: &str = "culprit-probe-ok";

/// Probes once per process for each (qemu, kernel) pair; later calls return
/// the first answer. See [`probe_uncached`].
pub fn probe_accelerator(qemu: &Path, kernel: Option<&Path>) -> Probe {
    type Answers = HashMap<(PathBuf, Option<PathBuf>), Probe>;
    static CACHE: OnceLock<Mutex<Answers>> = OnceLock::new();
    let key = (qemu.to_owned(), kernel.map(Path::to_owned));
    // Holding the lock while probing makes concurrent callers wait for one probe.
    let mut cache = match CACHE.get_or_init(Default::default).lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    cache
        .entry(key)
        .or_insert_with(|| probe_uncached(qemu, kernel, PROBE_TIMEOUT))
        .clone()
}

/// Decides between KVM and TCG: KVM only if /dev/kvm opens, a tiny guest of
/// ours prints its marker under KVM within `timeout`, and (if `kernel` is
/// given) that kernel reaches user space under KVM within twice `timeout`.
/// Takes at most about three times `timeout`; never hangs.
pub fn probe_uncached(qemu: &Path, kernel: Option<&Path>, timeout: Duration) -> Probe {
    let tcg = |reason: String| Probe {
        accelerator: Accelerator::Tcg,
        reason,
    };
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        return tcg(format!("cannot open /dev/kvm: {e}"));
    }
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => return tcg(format!("cannot create a directory for the KVM test: {e}")),
    };
    if let Err(why) = boots_tiny_kernel(qemu, Accelerator::Kvm, dir.path(), timeout) {
        return tcg(why);
    }
    let Some(kernel) = kernel else {
        return Probe {
            accelerator: Accelerator::Kvm,
            reason: "a test guest booted under KVM".to_string(),
        };
    };
    match boots_kernel(qemu, Accelerator::Kvm, kernel, dir.path(), timeout * 2) {
        Ok(()) => Probe {
            accelerator: Accelerator::Kvm,
            reason: format!("{} booted under KVM", kernel.display()),
        },
        Err(why) => tcg(why),
    }
}

/// Boots [`tiny_kernel`]. It goes through the same path as a real kernel
/// (QEMU's `-kernel` loader and option ROM, then the kernel's real-mode
/// entry), which is where guests hang on some machines whose /dev/kvm opens.
fn boots_tiny_kernel(
    qemu: &Path,
    accel: Accelerator,
    dir: &Path,
    timeout: Duration,
) -> Result<(), String> {
    let image = dir.join("probe.bzImage");
    std::fs::write(&image, tiny_kernel())
        .map_err(|e| format!("cannot write the test guest's image: {e}"))?;
    let mut cmd = guest_command(qemu, accel);
    cmd.args(["-m", "16", "-kernel"]).arg(&image);
    expect_marker(cmd, PROBE_MARKER, accel, timeout, "a test guest")
}

/// Boots `kernel` with an initramfs that only says it started.
fn boots_kernel(
    qemu: &Path,
    accel: Accelerator,
    kernel: &Path,
    dir: &Path,
    timeout: Duration,
) -> Result<(), String> {
    let initramfs = dir.join("probe.cpio");
    Initramfs::new(b"#!/bin/sh\n".to_vec())
        .write(&initramfs)
        .map_err(|e| format!("cannot test the kernel under {}: {e}", accel.name()))?;
    let mut cmd = guest_command(qemu, accel);
    cmd.args(["-m", "256", "-kernel"])
        .arg(kernel)
        .arg("-initrd")
        .arg(&initramfs)
        .args(["-append", "console=ttyS0 panic=-1"]);
    let what = format!("kernel {}", kernel.display());
    expect_marker(cmd, START_MARKER, accel, timeout, &what)
}

/// QEMU with the same devices and accelerator arguments as a real run.
fn guest_command(qemu: &Path, accel: Accelerator) -> Command {
    let mut cmd = Command::new(qemu);
    cmd.args(["-nodefaults", "-no-user-config", "-display", "none"])
        .args(["-serial", "stdio", "-no-reboot"])
        .args(accel.qemu_args());
    cmd
}

/// Runs `cmd` until `marker` appears (then kills it) or `timeout` passes.
fn expect_marker(
    cmd: Command,
    marker: &'static str,
    accel: Accelerator,
    timeout: Duration,
    what: &str,
) -> Result<(), String> {
    let limits = Limits {
        boot: timeout,
        after_start: Duration::ZERO,
        grace: Duration::from_secs(1),
        start_marker: marker,
        done_marker: None,
    };
    let under = accel.name();
    match run_captured(cmd, &limits, None) {
        Err(e) => Err(format!("{under} test failed: {e}")),
        Ok(Launch::SpawnFailed(e)) => Err(format!("cannot start qemu for the {under} test: {e}")),
        Ok(Launch::Ran(run)) if crate::classify::find(&run.console, marker).is_some() => Ok(()),
        Ok(Launch::Ran(run)) if run.timed_out => Err(format!(
            "{what} did not boot under {under} within {}s",
            timeout.as_secs()
        )),
        Ok(Launch::Ran(run)) => {
            let stderr = if run.stderr.is_empty() {
                "no message"
            } else {
                &run.stderr
            };
            Err(format!(
                "{what} did not boot under {under}: qemu ended ({stderr})"
            ))
        }
    }
}

/// A minimal "kernel" QEMU loads like a bzImage (boot protocol 2.10 header,
/// one setup sector): its real-mode entry writes [`PROBE_MARKER`] to COM1 and halts.
fn tiny_kernel() -> Vec<u8> {
    let mut image = vec![0u8; 1536];
    image[0x1f1] = 1; // setup_sects
    image[0x1fe..0x200].copy_from_slice(&[0x55, 0xAA]);
    image[0x200..0x202].copy_from_slice(&[0xEB, 0x7E]); // entry: jmp 0x280
    image[0x202..0x206].copy_from_slice(b"HdrS");
    image[0x206..0x208].copy_from_slice(&0x020au16.to_le_bytes()); // protocol 2.10
    image[0x22c..0x230].copy_from_slice(&0x7fff_ffffu32.to_le_bytes()); // initrd_addr_max
    let mut code = vec![0xBA, 0xF8, 0x03]; // mov dx, 0x3f8 (COM1 data register)
    for &byte in format!("\r\n{PROBE_MARKER}\r\n").as_bytes() {
        code.extend_from_slice(&[0xB0, byte, 0xEE]); // mov al, byte; out dx, al
    }
    code.extend_from_slice(&[0xFA, 0xF4, 0xEB, 0xFD]); // cli; hlt; jmp hlt
    image[0x280..0x280 + code.len()].copy_from_slice(&code);
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_kernel_has_a_bzimage_header_and_the_marker() {
        let k = tiny_kernel();
        assert_eq!(&k[0x202..0x206], b"HdrS");
        let marker_bytes: Vec<u8> = k[0x280..]
            .chunks(3)
            .take_while(|c| c[0] != 0xFA)
            .skip(1)
            .map(|c| c[1])
            .collect();
        assert_eq!(marker_bytes, format!("\r\n{PROBE_MARKER}\r\n").as_bytes());
    }

    #[test]
    fn missing_qemu_means_tcg_with_a_reason_and_no_hang() {
        let start = std::time::Instant::now();
        let probe = probe_uncached(Path::new("/nonexistent/qemu"), None, Duration::from_secs(2));
        assert_eq!(probe.accelerator, Accelerator::Tcg);
        assert!(!probe.reason.is_empty());
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn a_guest_that_hangs_is_given_up_at_the_timeout() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo booting; exec sleep 30"]);
        let start = std::time::Instant::now();
        let timeout = Duration::from_secs(1);
        let result = expect_marker(cmd, PROBE_MARKER, Accelerator::Kvm, timeout, "a test guest");
        assert_eq!(
            result,
            Err("a test guest did not boot under KVM within 1s".to_string())
        );
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
    }

    fn qemu() -> Option<std::path::PathBuf> {
        let found = crate::tools::find_in_path("qemu-system-x86_64");
        if found.is_none() {
            eprintln!(
                "skipping: qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
            );
        }
        found
    }

    #[test]
    fn tiny_kernel_boots_under_tcg() {
        // The probe's own guest and capture under TCG: the probe can succeed,
        // so a TCG answer means KVM failed.
        let Some(qemu) = qemu() else { return };
        let dir = tempfile::tempdir().unwrap();
        let timeout = Duration::from_secs(20);
        assert_eq!(
            boots_tiny_kernel(&qemu, Accelerator::Tcg, dir.path(), timeout),
            Ok(())
        );
    }

    #[test]
    fn a_real_kernel_boots_under_tcg_for_the_probe() {
        let Some(qemu) = qemu() else { return };
        let well_known =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-kernel/bzImage");
        let kernel = std::env::var_os("CULPRIT_TEST_KERNEL").map_or(well_known, Into::into);
        if !kernel.is_file() {
            eprintln!(
                "skipping: no test kernel (CULPRIT_TEST_KERNEL or target/test-kernel/bzImage)"
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let timeout = Duration::from_secs(30);
        let result = boots_kernel(&qemu, Accelerator::Tcg, &kernel, dir.path(), timeout);
        assert_eq!(result, Ok(()));
        let garbage = dir.path().join("garbage");
        std::fs::write(&garbage, b"not a kernel").unwrap();
        let result = boots_kernel(&qemu, Accelerator::Tcg, &garbage, dir.path(), timeout);
        assert!(result.unwrap_err().contains("did not boot under TCG"));
    }
}
