//! Real QEMU runs. Tests that boot a kernel need a bzImage built with at
//! least BLK_DEV_INITRD, BINFMT_SCRIPT, PRINTK, SERIAL_8250_CONSOLE, PROC_FS,
//! SYSFS and DEVTMPFS (tinyconfig plus those is enough): CULPRIT_TEST_KERNEL,
//! else `target/test-kernel/bzImage` in the workspace; without one they skip
//! with a message. The failure tests need
//! only QEMU: they boot fake kernels that QEMU loads but that never boot.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use culprit_vm::{run_many, run_once, Initramfs, RunKind, VmConfig, VmError};

fn qemu() -> Option<PathBuf> {
    let found = culprit_vm::find_in_path("qemu-system-x86_64");
    if found.is_none() {
        eprintln!("skipping: qemu-system-x86_64 not installed (apt-get install qemu-system-x86)");
    }
    found
}

fn test_kernel() -> Option<PathBuf> {
    let candidates = std::env::var_os("CULPRIT_TEST_KERNEL")
        .map(PathBuf::from)
        .into_iter()
        .chain([Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-kernel/bzImage")]);
    let found = candidates.into_iter().find(|p| p.is_file());
    if found.is_none() {
        eprintln!(
            "skipping: no test kernel (set CULPRIT_TEST_KERNEL to a tinyconfig bzImage, \
             or put one at target/test-kernel/bzImage)"
        );
    }
    found
}

/// A file QEMU accepts as a Linux kernel (boot protocol 2.10 header) whose
/// real-mode setup code writes `message` to COM1 and halts: a guest that
/// never boots.
fn fake_kernel(dir: &Path, message: &[u8]) -> PathBuf {
    let mut image = vec![0u8; 1536];
    image[0x1f1] = 1; // setup_sects: one sector of setup after the boot sector
    image[0x1fe..0x200].copy_from_slice(&[0x55, 0xAA]);
    image[0x200..0x202].copy_from_slice(&[0xEB, 0x7E]); // jmp 0x280
    image[0x202..0x206].copy_from_slice(b"HdrS");
    image[0x206..0x208].copy_from_slice(&0x020au16.to_le_bytes());
    image[0x22c..0x230].copy_from_slice(&0x7fff_ffffu32.to_le_bytes()); // initrd_addr_max
    let mut code = vec![0xBA, 0xF8, 0x03]; // mov dx, 0x3f8
    for &byte in message {
        code.extend_from_slice(&[0xB0, byte, 0xEE]); // mov al, byte; out dx, al
    }
    code.extend_from_slice(&[0xFA, 0xF4, 0xEB, 0xFD]); // cli; hlt; jmp hlt
    image[0x280..0x280 + code.len()].copy_from_slice(&code);
    let path = dir.join(format!("fake-{}.bzImage", message.len()));
    std::fs::write(&path, image).unwrap();
    path
}

fn config(qemu: &Path, kernel: &Path, initramfs: &Path) -> VmConfig {
    let mut cfg = VmConfig::new(kernel, initramfs);
    cfg.qemu = qemu.to_owned();
    cfg.boot_timeout = Duration::from_secs(2);
    cfg.run_timeout = Duration::from_secs(2);
    // Only waited for when a guest is stuck; generous so a loaded machine
    // does not turn a slow power-off into a lost connection.
    cfg.grace = Duration::from_secs(10);
    cfg
}

fn initramfs(dir: &Path, reproducer: &str) -> PathBuf {
    let path = dir.join("initramfs.cpio");
    Initramfs::new(reproducer.as_bytes().to_vec())
        .write(&path)
        .unwrap();
    path
}

#[test]
fn bad_qemu_path_is_an_infrastructure_problem() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = VmConfig::new(
        Path::new("/nonexistent/bzImage"),
        Path::new("/nonexistent/i"),
    );
    cfg.qemu = PathBuf::from("/nonexistent/qemu-system-x86_64");
    let out = run_once(&cfg, &dir.path().join("console.log")).unwrap();
    let text = out.kind.describe();
    assert!(
        text.starts_with("infrastructure problem: cannot start /nonexistent/qemu"),
        "{text}"
    );
}

#[test]
fn missing_kernel_file_is_an_infrastructure_problem() {
    let Some(qemu) = qemu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &qemu,
        Path::new("/nonexistent/bzImage"),
        &dir.path().join("none"),
    );
    let out = run_once(&cfg, &dir.path().join("console.log")).unwrap();
    let RunKind::Infra(why) = &out.kind else {
        panic!("expected an infrastructure problem, got {:?}", out.kind);
    };
    assert!(why.contains("/nonexistent/bzImage"), "{why}");
}

#[test]
fn silent_guest_that_never_boots_is_no_output_within_the_timeout() {
    let Some(qemu) = qemu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kernel = fake_kernel(dir.path(), b"");
    let initrd = dir.path().join("initrd");
    std::fs::write(&initrd, b"x").unwrap();
    let start = Instant::now();
    let out = run_once(&config(&qemu, &kernel, &initrd), &dir.path().join("c.log")).unwrap();
    assert_eq!(out.kind, RunKind::NoOutput, "{}", out.kind.describe());
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn talking_guest_that_never_starts_the_reproducer_is_boot_failed() {
    let Some(qemu) = qemu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kernel = fake_kernel(dir.path(), b"early boot\r\n");
    let initrd = dir.path().join("initrd");
    std::fs::write(&initrd, b"x").unwrap();
    let console = dir.path().join("c.log");
    let out = run_once(&config(&qemu, &kernel, &initrd), &console).unwrap();
    assert_eq!(
        out.kind.describe(),
        "boot failed: reproducer not started after 2s"
    );
    assert_eq!(std::fs::read(&console).unwrap(), b"early boot\r\n");
}

#[test]
fn console_that_cannot_be_written_is_one_clear_error() {
    let Some(qemu) = qemu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kernel = fake_kernel(dir.path(), b"early boot\r\n");
    let cfg = config(&qemu, &kernel, &kernel);
    // /dev/full fails every write with ENOSPC, as a full disk does.
    let err = run_once(&cfg, Path::new("/dev/full")).unwrap_err();
    assert!(matches!(err, VmError::Console { .. }), "{err}");
    assert!(err.to_string().contains("/dev/full"), "{err}");
    let err = run_once(&cfg, &dir.path().join("no/such/dir/c.log")).unwrap_err();
    assert!(matches!(err, VmError::Console { .. }), "{err}");
}

#[test]
fn run_many_runs_in_parallel_and_reports_each_run() {
    let Some(qemu) = qemu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kernel = fake_kernel(dir.path(), b"");
    let mut cfg = config(&qemu, &kernel, &kernel);
    cfg.boot_timeout = Duration::from_secs(1);
    let consoles = dir.path().join("consoles");
    let mut seen = Vec::new();
    let start = Instant::now();
    let results = run_many(&cfg, 0..4, 4, &consoles, |i, r| {
        seen.push((i, r.is_ok()));
        true
    });
    // Four 1-second runs on four VMs at once take far less than four seconds.
    assert!(
        start.elapsed() < Duration::from_millis(3500),
        "took {:?}",
        start.elapsed()
    );
    seen.sort();
    assert_eq!(seen, [(0, true), (1, true), (2, true), (3, true)]);
    for (i, r) in results.iter().enumerate() {
        let out = r.as_ref().unwrap();
        assert_eq!(out.kind, RunKind::NoOutput);
        assert_eq!(out.console, consoles.join(format!("console-{i}.log")));
        assert!(out.console.is_file());
    }
}

#[test]
fn run_many_stops_after_a_host_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = VmConfig::new(Path::new("/nonexistent/k"), Path::new("/nonexistent/i"));
    cfg.qemu = PathBuf::from("/nonexistent/qemu");
    // Run 1's console path is taken by a directory: its console cannot be saved.
    std::fs::create_dir_all(dir.path().join("console-1.log")).unwrap();
    let mut calls = Vec::new();
    let results = run_many(&cfg, 0..3, 1, dir.path(), |i, r| {
        calls.push((i, r.is_ok()));
        true
    });
    assert_eq!(calls, [(0, true), (1, false)]);
    assert!(matches!(
        results[0].as_ref().unwrap().kind,
        RunKind::Infra(_)
    ));
    assert!(matches!(results[1], Err(VmError::Console { .. })));
    assert!(matches!(results[2], Err(VmError::NotRun(_))));

    let unwritable = Path::new("/proc/culprit-no-such-dir");
    let results = run_many(&cfg, 0..2, 2, unwritable, |_, _| {
        panic!("no run should start")
    });
    assert!(matches!(results[0], Err(VmError::Console { .. })));
    assert!(matches!(results[1], Err(VmError::NotRun(_))));
}

#[test]
fn reproducer_that_exits_is_ok_and_its_output_is_saved() {
    let (Some(qemu), Some(kernel)) = (qemu(), test_kernel()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let initrd = initramfs(
        dir.path(),
        "#!/bin/sh\necho hello from the reproducer\nexit 3\n",
    );
    let console = dir.path().join("console.log");
    let mut cfg = config(&qemu, &kernel, &initrd);
    cfg.boot_timeout = Duration::from_secs(30);
    let out = run_once(&cfg, &console).unwrap();
    let saved = String::from_utf8_lossy(&std::fs::read(&console).unwrap()).into_owned();
    assert_eq!(out.kind, RunKind::Ok, "{}\n{saved}", out.kind.describe());
    assert_eq!(out.repro_status, Some(3));
    assert!(saved.contains("hello from the reproducer"), "{saved}");
    assert!(saved.contains("Linux version"), "{saved}");
    eprintln!("boot + run under TCG took {:?}", out.duration);
}

#[test]
fn reproducer_that_hangs_is_stopped_at_its_time_limit_and_is_ok() {
    let (Some(qemu), Some(kernel)) = (qemu(), test_kernel()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let initrd = initramfs(dir.path(), "#!/bin/sh\nsleep 1000\n");
    let mut cfg = config(&qemu, &kernel, &initrd);
    cfg.boot_timeout = Duration::from_secs(30);
    let out = run_once(&cfg, &dir.path().join("console.log")).unwrap();
    assert_eq!(out.kind, RunKind::Ok, "{}", out.kind.describe());
    assert_eq!(
        out.repro_status,
        Some(137),
        "killed by SIGKILL at the time limit"
    );
}

#[test]
fn kernel_crash_report_after_start_is_crashed() {
    let (Some(qemu), Some(kernel)) = (qemu(), test_kernel()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The kernel prints this report through its own log (/dev/kmsg), as it
    // would print a real WARNING; then the machine goes on to power off.
    let repro = "#!/bin/sh\nwhile read -r line; do echo \"$line\" > /dev/kmsg; done <<'EOF'\n\
        ------------[ cut here ]------------\n\
        WARNING: CPU: 0 PID: 1 at fs/foo.c:12 foo_write+0x10/0x20\n\
        Modules linked in:\n\
        CPU: 0 PID: 1 Comm: repro Not tainted 6.1.0 #1\n\
        RIP: 0010:foo_write+0x10/0x20\n\
        Call Trace:\n\
        <TASK>\n\
        vfs_write+0x1/0x2\n\
        ksys_write+0x1/0x2\n\
        do_syscall_64+0x1/0x2\n\
        </TASK>\n\
        ---[ end trace 0000000000000000 ]---\n\
        EOF\n";
    let initrd = initramfs(dir.path(), repro);
    let mut cfg = config(&qemu, &kernel, &initrd);
    cfg.boot_timeout = Duration::from_secs(30);
    let out = run_once(&cfg, &dir.path().join("console.log")).unwrap();
    assert_eq!(out.kind.describe(), "crashed: WARNING in foo_write");
}

#[test]
fn kernel_panic_at_boot_is_boot_failed_with_its_title() {
    let (Some(qemu), Some(kernel)) = (qemu(), test_kernel()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let initrd = initramfs(dir.path(), "#!/bin/sh\n");
    let mut cfg = config(&qemu, &kernel, &initrd);
    cfg.boot_timeout = Duration::from_secs(30);
    cfg.cmdline
        .push_str(" rdinit=/nonexistent init=/nonexistent");
    let out = run_once(&cfg, &dir.path().join("console.log")).unwrap();
    let RunKind::BootFailed(title) = &out.kind else {
        panic!("expected a boot failure, got {}", out.kind.describe());
    };
    assert!(title.to_lowercase().contains("init"), "{title}");
}
