//! Kernel mode with a fake kernel tree and a fake QEMU: the real `culprit`
//! binary, job file, kernel recipe (`make olddefconfig`, `make bzImage`),
//! initramfs and parallel VM runner, in seconds instead of minutes. The
//! fake tree's "kernel" is a text file saying whether it has the bug; the
//! fake QEMU prints a console with the markers of culprit's initramfs and,
//! for a buggy kernel, a WARNING.
//!
//! What it shows: a kill -9 during a batch of runs on two VMs, then the
//! same command again, loses at most the runs that were in flight.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{locked, TestRepo};

/// Builds the "kernel": both images are a copy of `kernel.txt`.
const MAKEFILE: &str = "olddefconfig:\n\t@true\n\
bzImage:\n\tmkdir -p arch/x86/boot\n\tcp kernel.txt vmlinux\n\tcp kernel.txt arch/x86/boot/bzImage\n";

/// QEMU's stand-in: refuses KVM (so the accelerator probe falls back to
/// TCG), logs which kernel it ran, and prints a console.
const QEMU: &str = r#"#!/bin/sh
kernel=
for a in "$@"; do
  case "$prev" in -kernel) kernel=$a ;; esac
  case "$a" in kvm) exit 1 ;; esac
  prev=$a
done
cat "$kernel" >> "$(dirname "$0")/runs.txt"
echo "Linux version 6.1.0 (fake)"
echo "culprit: running reproducer (time limit 10s)"
sleep 0.4
if grep -q BUG "$kernel"; then
  cat <<'EOR'
------------[ cut here ]------------
WARNING: CPU: 0 PID: 1 at kernel/foo.c:10 foo+0x10/0x20 kernel/foo.c:10
Modules linked in:
CPU: 0 PID: 1 Comm: repro Not tainted 6.1.0 #1
RIP: 0010:foo+0x10/0x20 kernel/foo.c:10
Call Trace:
 <TASK>
 bar+0x1/0x2 kernel/bar.c:1
 do_syscall_64+0x35/0xb0 arch/x86/entry/common.c:80
 entry_SYSCALL_64_after_hwframe+0x44/0xae
 </TASK>
Kernel panic - not syncing: panic_on_warn set ...
EOR
  exit 0
fi
echo "culprit: reproducer exited status=0"
echo "culprit: done"
exit 0
"#;

fn missing() -> Option<&'static str> {
    culprit_busybox()
        .is_none()
        .then_some("no static busybox for the initramfs (bash scripts/deps.sh)")
}

fn culprit_busybox() -> Option<&'static str> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// A tree of `n` commits whose kernel has the bug from commit `from` on.
fn fake_tree(n: usize, from: usize) -> (TestRepo, Vec<String>) {
    let mut repo = TestRepo::new();
    repo.write("Makefile", MAKEFILE);
    let hashes = (0..n)
        .map(|i| {
            let state = if i >= from { "BUG" } else { "OK" };
            repo.write("kernel.txt", &format!("{state} {i}\n"));
            repo.commit(&format!("commit {i}"))
        })
        .collect();
    (repo, hashes)
}

/// The runs each commit's kernel was booted for, by commit number.
fn runs_made(dir: &Path) -> HashMap<usize, usize> {
    let text = std::fs::read_to_string(dir.join("runs.txt")).unwrap_or_default();
    let mut made = HashMap::new();
    for line in text.lines() {
        if let Some(n) = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()) {
            *made.entry(n).or_insert(0) += 1;
        }
    }
    made
}

/// Run records in the job's journal.
fn journaled_runs(workdir: &Path) -> usize {
    let Ok(dirs) = std::fs::read_dir(workdir.join("bisections")) else {
        return 0;
    };
    dirs.flatten()
        .filter_map(|d| std::fs::read_to_string(d.path().join("journal.jsonl")).ok())
        .flat_map(|t| t.lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|l| l.contains("\"record\":\"run\""))
        .count()
}

#[test]
fn a_kill_during_a_batch_of_vm_runs_loses_only_the_runs_in_flight() {
    if let Some(why) = missing() {
        println!("SKIPPED: the fake kernel-mode test: {why}");
        return;
    }
    let (repo, h) = fake_tree(10, 6);
    let dir = tempfile::tempdir().unwrap();
    let qemu = dir.path().join("qemu-fake");
    std::fs::write(&qemu, QEMU).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&qemu, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.path().join("config"), "CONFIG_64BIT=y\n").unwrap();
    std::fs::write(dir.path().join("repro.sh"), "#!/bin/sh\ntrue\n").unwrap();
    let workdir = dir.path().join("work");
    let job = format!(
        "repo = {repo:?}\nbad = {bad:?}\ngood = [{good:?}]\nworkdir = {workdir:?}\n\
         json = \"out.json\"\nstrategy = \"classic\"\nruns = 6\nvms = 2\n\
         [kernel]\nconfig = \"config\"\nccache = false\n\
         [reproducer]\nscript = \"repro.sh\"\nrun_timeout = \"10s\"\nboot_timeout = \"10s\"\n\
         [vm]\nqemu = \"./qemu-fake\"\n",
        repo = repo.path(),
        bad = h[9],
        good = h[0],
    );
    let job_file = dir.path().join("job.toml");
    std::fs::write(&job_file, job).unwrap();
    let command = || {
        let mut c = locked(
            Command::new(env!("CARGO_BIN_EXE_culprit")),
            repo.home.path(),
        );
        c.arg("bisect").arg(&job_file);
        c
    };

    let mut first = command()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it in the middle of the second commit's batch of runs.
    let deadline = Instant::now() + Duration::from_secs(120);
    while journaled_runs(&workdir) < 9 {
        assert!(Instant::now() < deadline, "no runs journaled");
        assert!(first.try_wait().unwrap().is_none(), "finished too early");
        std::thread::sleep(Duration::from_millis(5));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let journaled_before = journaled_runs(&workdir);
    let made_before: usize = runs_made(dir.path()).values().sum();
    assert!(made_before >= journaled_before);

    let out = command().output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.json")).unwrap())
            .unwrap();
    assert_eq!(outcome["culprit"]["hash"], h[6].as_str(), "{stdout}");
    // Every run the VMs made was journaled, except those still running at
    // the kill: at most one per VM.
    let made: usize = runs_made(dir.path()).values().sum();
    let journaled = journaled_runs(&workdir);
    assert!(
        made <= journaled + 2,
        "{made} runs made for {journaled} journaled: finished runs were repeated"
    );
    assert!(made > journaled_before, "the second run made no runs");
}
