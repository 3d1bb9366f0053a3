//! A syz reproducer end to end in QEMU: the demo kernel of tests/kernel
//! (the scenario's `scenario-bad`, built once and kept under
//! `target/syz-e2e-kernel/`), the stand-in syz-execprog and syz-executor,
//! and tests/syz/repro.syz, which must hit the kernel's WARNING; then the
//! C reproducer after a syz program that does not crash, and a basic
//! kernel test that fails.
//!
//! Skips, saying why, when QEMU, a static busybox or Debian's
//! linux-source-6.1 is absent. The kernel build (a few minutes on 2 cores)
//! runs at nice 10 and shares ccache with the kernel end-to-end test.

#[path = "../../../tests/kernel/scenario.rs"]
mod scenario;
use scenario::scenario;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use culprit_build::syzkaller::{
    basic_test_command, execprog_command, ExecprogFlags, SyzOptions, BASIC_PROGRAM,
};
use culprit_build::KernelRecipe;
use culprit_vm::{
    run_once, Initramfs, RunKind, SyzCommands, SyzGuest, VmConfig, C_MARKER, GUEST_BASIC_PROGRAM,
    GUEST_EXECUTOR, GUEST_PROGRAM, SYZ_STATUS_MARKER,
};

const TARBALL: &str = "/usr/src/linux-source-6.1.tar.xz";
const CRASH: &str = "WARNING in prctl_scratch_check";
/// The C reproducer also hits this one in about one run of twelve.
const OTHER_CRASH: &str = "WARNING in lseek_check_whence";

fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn missing_resource() -> Option<String> {
    if culprit_vm::find_in_path("qemu-system-x86_64").is_none() {
        return Some("qemu-system-x86_64 is absent (bash scripts/deps.sh)".into());
    }
    if culprit_vm::find_busybox().is_none() {
        return Some("no static busybox (bash scripts/deps.sh)".into());
    }
    if !Path::new(TARBALL).is_file() {
        return Some(format!("{TARBALL} is absent (bash scripts/deps.sh)"));
    }
    None
}

fn run(command: &mut Command) {
    let out = command.output().expect("run a command");
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The kernel of `scenario-bad`, built once per scenario and config.
fn kernel(root: &Path) -> PathBuf {
    let scenario = scenario(root).expect("the kernel scenario");
    let config = root.join("tests/kernel/config");
    let mut key = std::fs::read(&config).expect("config");
    key.extend(scenario.display().to_string().bytes());
    let key = culprit_build::signature::bytes_signature(&key);
    let dir = root.join("target/syz-e2e-kernel").join(&key[..16]);
    let bzimage = dir.join("bzImage");
    if bzimage.is_file() {
        return bzimage;
    }
    let work = tempfile::Builder::new()
        .prefix("syz-e2e-build-")
        .tempdir_in(root.join("target"))
        .expect("build directory");
    let tree = work.path().join("linux");
    run(Command::new("git")
        .args(["clone", "-q", "--shared", "--no-checkout"])
        .arg(&scenario)
        .arg(&tree));
    run(Command::new("git")
        .arg("-C")
        .arg(&tree)
        .args(["checkout", "-q", "scenario-bad"]));
    // At nice 10, as a guest on a machine shared with others.
    // SAFETY: nice() only changes this process's scheduling priority.
    unsafe { libc::nice(10) };
    let mut recipe = KernelRecipe::new(&config, "gcc");
    recipe.ccache = ccache_wrapper(root, work.path(), &tree);
    recipe.timeout = Duration::from_secs(3600);
    let started = std::time::Instant::now();
    let built = recipe
        .build(&tree, &work.path().join("out"))
        .expect("kernel build");
    eprintln!("kernel of scenario-bad built in {:?}", started.elapsed());
    std::fs::create_dir_all(&dir).expect("kernel directory");
    let partial = dir.join(format!("bzImage.partial-{}", std::process::id()));
    std::fs::copy(&built.bzimage, &partial).expect("keep the kernel");
    std::fs::rename(&partial, &bzimage).expect("keep the kernel");
    bzimage
}

/// ccache with the kernel end-to-end test's cache, when ccache is installed.
fn ccache_wrapper(root: &Path, work: &Path, tree: &Path) -> Option<PathBuf> {
    culprit_vm::find_in_path("ccache")?;
    let wrapper = work.join("ccache.sh");
    let text = format!(
        "#!/bin/sh\nexport CCACHE_DIR='{}' CCACHE_BASEDIR='{}' CCACHE_NOHASHDIR=1 CCACHE_DEPEND=1 \
         CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime\nexec ccache \"$@\"\n",
        root.join("target/culprit-ccache").display(),
        tree.display()
    );
    std::fs::write(&wrapper, text).expect("ccache wrapper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    Some(wrapper)
}

/// The stand-in, built into `dir`.
fn standin(dir: &Path) -> (PathBuf, PathBuf, ExecprogFlags) {
    run(Command::new("make")
        .arg("-C")
        .arg(root().join("tests/syz"))
        .arg(format!("BIN={}", dir.display()))
        .args(["execprog", "executor"]));
    let execprog = dir.join("syz-execprog");
    let flags = ExecprogFlags::probe(&execprog).expect("the stand-in's flags");
    (execprog, dir.join("syz-executor"), flags)
}

/// The guest's commands for `program` with its own options.
fn commands(program: &Path, flags: &ExecprogFlags, basic_program: &str) -> SyzCommands {
    let (options, _) = SyzOptions::load(program, None).expect("options");
    let options = options.for_bisection();
    SyzCommands {
        program_args: execprog_command(&options, flags, GUEST_EXECUTOR, GUEST_PROGRAM).args,
        basic_args: basic_test_command(&options, flags, GUEST_EXECUTOR, GUEST_BASIC_PROGRAM).args,
        basic_program: basic_program.to_owned(),
    }
}

/// Boots `kernel` with `initramfs`; returns the outcome and the console.
fn boot(kernel: &Path, initramfs: &Initramfs, dir: &Path, name: &str) -> (RunKind, String) {
    let run_timeout = Duration::from_secs(15);
    let image = dir.join(format!("{name}.cpio"));
    initramfs.write(&image).expect("initramfs");
    let mut config = VmConfig::new(kernel, &image);
    config.boot_timeout = Duration::from_secs(120);
    config.run_timeout = run_timeout;
    config.guest_time = Some(initramfs.guest_time(run_timeout));
    let console = dir.join(format!("{name}.log"));
    let out = run_once(&config, &console).expect("run");
    let bytes = std::fs::read(&console).expect("console");
    // The serial console ends lines with \r\n.
    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
    eprintln!("{name}: {} after {:?}", out.kind.describe(), out.duration);
    (out.kind, text)
}

#[test]
fn syz_program_through_the_standin_hits_the_kernel_warning() {
    if let Some(why) = missing_resource() {
        eprintln!("skipping the syz end-to-end test in QEMU: {why}");
        return;
    }
    let root = root();
    let kernel = kernel(&root);
    let dir = tempfile::tempdir().unwrap();
    let (execprog, executor, flags) = standin(&dir.path().join("bin"));
    let repro = root.join("tests/syz/repro.syz");

    // 1. The syz program crashes the kernel.
    let guest = SyzGuest::read(
        &execprog,
        &executor,
        &repro,
        commands(&repro, &flags, BASIC_PROGRAM),
    )
    .expect("guest files");
    let (kind, console) = boot(&kernel, &Initramfs::syz(guest, None), dir.path(), "syz");
    assert_eq!(kind.describe(), format!("crashed: {CRASH}"), "{console}");
    assert!(
        console.contains(" executing program 0:\nr0 = openat("),
        "{console}"
    );
    assert!(
        console.contains("culprit: basic kernel testing exited status=0"),
        "{console}"
    );

    // 2. A syz program that does not crash, then the C reproducer does.
    let harmless = dir.path().join("harmless.syz");
    std::fs::write(
        &harmless,
        "#{\"threaded\":false,\"repeat\":true,\"procs\":1,\"sandbox\":\"none\"}\ngetpid()\n",
    )
    .unwrap();
    let c = culprit_build::reproducer::prepare(
        &culprit_build::ReproducerSpec::CSource(root.join("tests/kernel/repro.c")),
        &dir.path().join("c"),
        Path::new("gcc"),
    )
    .expect("C reproducer");
    let c_bytes = std::fs::read(&c.path).expect("C reproducer binary");
    let guest = SyzGuest::read(
        &execprog,
        &executor,
        &harmless,
        commands(&harmless, &flags, BASIC_PROGRAM),
    )
    .expect("guest files");
    let (kind, console) = boot(
        &kernel,
        &Initramfs::syz(guest, Some(c_bytes)),
        dir.path(),
        "c",
    );
    let title = match &kind {
        RunKind::Crashed { title, .. } => title.clone(),
        other => panic!("not a crash: {}\n{console}", other.describe()),
    };
    assert!(title == CRASH || title == OTHER_CRASH, "{title}\n{console}");
    assert!(
        console.contains(&format!("{SYZ_STATUS_MARKER}137")),
        "{console}"
    );
    assert!(console.contains(C_MARKER), "{console}");

    // 3. A basic kernel test that fails: neither good nor bad.
    let guest = SyzGuest::read(
        &execprog,
        &executor,
        &repro,
        commands(&repro, &flags, "no_such_call()\n"),
    )
    .expect("guest files");
    let (kind, console) = boot(&kernel, &Initramfs::syz(guest, None), dir.path(), "basic");
    assert!(
        matches!(kind, RunKind::BootFailed(_)),
        "{kind:?}\n{console}"
    );
    assert!(
        kind.describe().starts_with(
            "basic kernel testing failed: BUG: program execution failed: failed to parse program /basic.syz:1: unknown syscall no_such_call"
        ),
        "{}",
        kind.describe()
    );
}
