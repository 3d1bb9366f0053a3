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

/// Builds the "kernel": both images are a copy of `kernel.txt`; kbuild's
/// record of what vmlinux was made from says so.
const MAKEFILE: &str = "olddefconfig:\n\t@true\n\
bzImage:\n\tmkdir -p arch/x86/boot\n\tcp kernel.txt vmlinux\n\tcp kernel.txt arch/x86/boot/bzImage\n\
\tprintf 'savedcmd_vmlinux := cp kernel.txt vmlinux\\nsource_vmlinux := kernel.txt\\n' > .vmlinux.cmd\n";

/// QEMU's stand-in (the kernel-mode tests share it).
const QEMU: &str = include_str!("fake/qemu.sh");

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
        // Runs slow enough to be killed in the middle of a batch.
        c.arg("bisect").arg(&job_file).env("FAKE_QEMU_SECS", "0.4");
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

/// The test machine's files in `dir`: the fake QEMU, a config and a
/// reproducer script.
fn machine(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let qemu = dir.join("qemu-fake");
    std::fs::write(&qemu, QEMU).unwrap();
    std::fs::set_permissions(&qemu, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("config"), "CONFIG_64BIT=y\n").unwrap();
    std::fs::write(dir.join("repro.sh"), "#!/bin/sh\ntrue\n").unwrap();
}

/// Runs a job file in `dir` (its first lines given; tables in them, such
/// as `[[kernel.backports]]`, go after the others) to its end; returns the
/// log and the JSON.
fn run_job(repo: &TestRepo, dir: &Path, name: &str, head: &str) -> (String, serde_json::Value) {
    let (top, tables) = head.split_at(head.find("\n[").map_or(head.len(), |i| i + 1));
    let job = format!(
        "{top}json = \"{name}.json\"\nstrategy = \"classic\"\nruns = 2\nvms = 2\n\
         [kernel]\nconfig = \"config\"\nccache = false\nstore = \"store\"\n\
         [reproducer]\nscript = \"repro.sh\"\nrun_timeout = \"10s\"\nboot_timeout = \"10s\"\n\
         [vm]\nqemu = \"./qemu-fake\"\n{tables}"
    );
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, job).unwrap();
    let out = locked(
        Command::new(env!("CARGO_BIN_EXE_culprit")),
        repo.home.path(),
    )
    .arg("bisect")
    .arg(&file)
    .output()
    .unwrap();
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{log}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
    (log, serde_json::from_str(&json).unwrap())
}

/// The commits a log says were built (not taken from the store).
fn built_in(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.strip_prefix("kernel for "))
        .filter_map(|l| l.strip_suffix(" built"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn commits_that_change_nothing_built_are_skipped_and_kernels_are_shared() {
    if let Some(why) = missing() {
        println!("SKIPPED: the fake kernel-mode test: {why}");
        return;
    }
    // Code commits 0..=12 with the bug in 5..=9, fixed from 10 on; a
    // documentation commit after each.
    let mut repo = TestRepo::new();
    repo.write("Makefile", MAKEFILE);
    let (mut code, mut docs) = (Vec::new(), Vec::new());
    for i in 0..13 {
        let state = if (5..10).contains(&i) { "BUG" } else { "OK" };
        repo.write("kernel.txt", &format!("{state} {i}\n"));
        code.push(repo.commit(&format!("code {i}")));
        repo.write("Documentation/notes.txt", &format!("note {i}\n"));
        docs.push(repo.commit(&format!("docs {i}")));
    }
    let dir = tempfile::tempdir().unwrap();
    machine(dir.path());
    let ends = |workdir: &str, rest: &str| {
        format!("repo = {:?}\nworkdir = \"{workdir}\"\n{rest}", repo.path())
    };
    let cause_head = ends(
        "cause",
        &format!("bad = {:?}\ngood = [{:?}]\n", code[8], code[0]),
    );
    let (cause_log, cause) = run_job(&repo, dir.path(), "cause", &cause_head);
    assert_eq!(cause["culprit"]["hash"], code[5].as_str(), "{cause_log}");
    // Every documentation commit inside the range was skipped, never built.
    let inside: Vec<&String> = docs[0..8].iter().collect();
    for d in &inside {
        let line = format!("skipping commit {d}: changes no file this kernel is built from");
        assert!(cause_log.contains(&line), "{line} missing:\n{cause_log}");
        assert!(!cause_log.contains(&format!("testing commit {d}")));
    }
    assert_eq!(cause["pruned"], inside.len());
    // The fix bisection in another work directory builds only kernels the
    // cause bisection never built: the rest come from the shared store.
    let fix_head = ends(
        "fix",
        &format!(
            "fix = true\nbad = {:?}\ngood_end = {:?}\n",
            code[8], code[12]
        ),
    );
    let (fix_log, fix) = run_job(&repo, dir.path(), "fix", &fix_head);
    assert_eq!(fix["culprit"]["hash"], code[10].as_str(), "{fix_log}");
    let before = built_in(&cause_log);
    let again: Vec<String> = built_in(&fix_log)
        .into_iter()
        .filter(|c| before.contains(c))
        .collect();
    assert!(again.is_empty(), "built twice: {again:?}\n{fix_log}");
    // The culprits' parents are documentation commits: their kernels are
    // their own parents', never built for the signature comparison.
    for (log, parent) in [(&cause_log, &docs[4]), (&fix_log, &docs[9])] {
        assert!(!built_in(log).contains(parent), "{parent} built:\n{log}");
        assert!(
            log.contains("the parent changes no file this kernel is built from"),
            "{log}"
        );
    }
    assert!(fix_log.contains("from the build store"), "{fix_log}");
    // `culprit cache` shows the store and prunes it.
    let cache = |args: &[&str]| {
        let out = locked(
            Command::new(env!("CARGO_BIN_EXE_culprit")),
            repo.home.path(),
        )
        .arg("cache")
        .arg("--dir")
        .arg(dir.path().join("store"))
        .args(args)
        .output()
        .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = cache(&[]);
    let kernels = before.len() + built_in(&fix_log).len();
    assert!(shown.contains(&format!("\n{kernels} kernels, ")), "{shown}");
    let pruned = cache(&["--prune", "0"]);
    assert!(pruned.starts_with("removed "), "{pruned}");
    assert!(cache(&[]).contains("0 kernels, 0 B"));
}

#[test]
fn a_backport_is_applied_only_where_its_bug_is_and_the_log_says_so() {
    if let Some(why) = missing() {
        println!("SKIPPED: the fake kernel-mode test: {why}");
        return;
    }
    // Commits 0..=11; commit 3 breaks the build (broken.txt), commit 7
    // mends it; the crash comes with commit 9.
    let mut repo = TestRepo::new();
    let makefile = MAKEFILE.replace(
        "bzImage:\n",
        "bzImage:\n\t@if [ -e broken.txt ]; then echo broken >&2; exit 2; fi\n",
    );
    repo.write("Makefile", &makefile);
    let mut h = Vec::new();
    for i in 0..12 {
        let state = if i >= 9 { "BUG" } else { "OK" };
        // The mending commit changes nothing else: it applies anywhere.
        match i {
            7 => {
                repo.git(&["rm", "-q", "broken.txt"]);
            }
            _ => repo.write("kernel.txt", &format!("{state} {i}\n")),
        }
        if i == 3 {
            repo.write("broken.txt", "x\n");
        }
        h.push(repo.commit(&format!("commit {i}")));
    }
    let dir = tempfile::tempdir().unwrap();
    machine(dir.path());
    let head = format!(
        "repo = {:?}\nworkdir = \"work\"\nbad = {:?}\ngood = [{:?}]\n\
         [[kernel.backports]]\nfix = {:?}\nfixes = [{:?}]\ntitle = \"mend the build\"\n",
        repo.path(),
        h[11],
        h[0],
        h[7],
        h[3]
    );
    let (log, json) = run_job(&repo, dir.path(), "backport", &head);
    assert_eq!(json["culprit"]["hash"], h[9].as_str(), "{log}");
    let applied: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with(&format!("applying backport {} mend the build", h[7])))
        .collect();
    assert!(!applied.is_empty(), "{log}");
    // Where the backport went, the commit built; nothing was skipped for
    // a failed build (the broken commits were mended).
    assert!(!log.contains("build failed"), "{log}");
    // Never on commits that have the fix, nor on those without the bug:
    // every block that applied it tests a commit from 3 to 6.
    let mut testing = "";
    for line in log.lines() {
        if let Some(c) = line.strip_prefix("testing commit ") {
            testing = c;
        }
        if line.starts_with("applying backport ") {
            let i = h.iter().position(|x| x == testing).unwrap();
            assert!(
                (3..7).contains(&i),
                "backport applied to commit {i}:\n{log}"
            );
        }
    }
}
