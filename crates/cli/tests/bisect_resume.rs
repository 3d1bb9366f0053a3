//! Resume after `kill -9`: the journal keeps every finished build and run,
//! so the same command run again finishes without redoing them.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{alive, culprit, locked, TestRepo};

/// The journal of the one bisection in a work directory.
fn journal_in(workdir: &Path) -> Option<PathBuf> {
    let dirs = std::fs::read_dir(workdir.join("bisections")).ok()?;
    dirs.flatten()
        .map(|d| d.path().join("journal.jsonl"))
        .find(|p| p.exists())
}

fn journal_builds(workdir: &Path) -> HashSet<String> {
    let text = journal_in(workdir)
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["record"] == "build")
        .filter_map(|v| v["commit"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn killed_bisection_resumes_without_redoing_finished_builds_or_runs() {
    let mut repo = TestRepo::new();
    let h = repo.linear(16, 9, "BUG");
    let work = tempfile::tempdir().unwrap();
    let builds_file = work.path().join("builds.txt");
    let runs_file = work.path().join("runs.txt");
    let build = format!(
        "git rev-parse HEAD >> {} && sh build.sh",
        builds_file.display()
    );
    let test = format!(
        "echo $CULPRIT_COMMIT $CULPRIT_RUN >> {}; sleep 0.05; sh test.sh",
        runs_file.display()
    );
    let (path, workdir) = (
        repo.path().display().to_string(),
        work.path().join("w").display().to_string(),
    );
    let args = [
        "bisect",
        "--repo",
        &path,
        "--bad",
        "HEAD",
        "--good",
        &h[0],
        "--build",
        &build,
        "--test",
        &test,
        // classic: bayes may come back to an earlier commit for more runs,
        // which rebuilds it in generic mode, resumed or not.
        "--strategy",
        "classic",
        "--runs",
        "3",
        "--artifact",
        "out.bin",
        "--workdir",
        &workdir,
    ];
    let journal = work.path().join("w");

    let mut child = locked(
        Command::new(env!("CARGO_BIN_EXE_culprit")),
        repo.home.path(),
    )
    .args(args)
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while journal_builds(&journal).len() < 3 {
        assert!(Instant::now() < deadline, "no progress in the journal");
        assert!(
            child.try_wait().unwrap().is_none(),
            "culprit finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let journaled = journal_builds(&journal);
    let built_before = std::fs::read_to_string(&builds_file)
        .unwrap()
        .lines()
        .count();

    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[9]);
    assert!(r.stderr.contains("resuming from"), "{}", r.stderr);
    assert!(r.stdout.contains(&format!(
        "\nbisecting cause commit starting from {}\ntesting commit",
        h[15]
    )));
    let all = std::fs::read_to_string(&builds_file).unwrap();
    let rebuilt: Vec<&str> = all
        .lines()
        .skip(built_before)
        .filter(|c| journaled.contains(*c))
        .collect();
    assert!(rebuilt.is_empty(), "rebuilt after resume: {rebuilt:?}");
    // Each commit built once, except at most the one in flight at the kill.
    let mut seen = HashSet::new();
    let twice = all.lines().filter(|c| !seen.insert(*c)).count();
    assert!(twice <= 1, "{all}");
    // Each run made once, except at most the one in flight at the kill.
    let runs = std::fs::read_to_string(&runs_file).unwrap();
    let mut seen = HashSet::new();
    let twice = runs.lines().filter(|r| !seen.insert(*r)).count();
    assert!(twice <= 1, "runs made again after the resume:\n{runs}");

    // A third run replays everything: no build at all.
    let lines_now = all.lines().count();
    let again = culprit(repo.home.path(), &args);
    assert_eq!(again.culprit_hash(), h[9]);
    assert_eq!(
        std::fs::read_to_string(&builds_file)
            .unwrap()
            .lines()
            .count(),
        lines_now
    );
}

#[test]
fn a_workdir_serves_one_bisection_at_a_time() {
    let mut repo = TestRepo::new();
    let h = repo.linear(4, 2, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (
        repo.path().display().to_string(),
        work.path().display().to_string(),
    );
    let base = [
        "bisect",
        "--repo",
        &path,
        "--build",
        "sh build.sh",
        "--runs",
        "1",
        "--workdir",
        &workdir,
    ];
    let slow = [&base[..], &["--test", "sleep 1; sh test.sh"]].concat();
    let mut first = locked(
        Command::new(env!("CARGO_BIN_EXE_culprit")),
        repo.home.path(),
    )
    .args([&slow[..], &["--bad", &h[3], "--good", &h[0]]].concat())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while journal_in(work.path()).is_none() {
        assert!(
            Instant::now() < deadline,
            "the first bisection never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let quick = [&base[..], &["--test", "sh test.sh"]].concat();
    let busy = culprit(
        repo.home.path(),
        &[&quick[..], &["--bad", &h[2], "--good", &h[0]]].concat(),
    );
    assert_eq!(busy.code, 2, "{}{}", busy.stdout, busy.stderr);
    assert!(
        busy.stderr.contains("is in use by another culprit process"),
        "{}",
        busy.stderr
    );
    assert!(first.wait().unwrap().success());
    // Once it is done, another bisection can use the same directory.
    let second = culprit(
        repo.home.path(),
        &[&quick[..], &["--bad", &h[2], "--good", &h[0]]].concat(),
    );
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert_eq!(second.culprit_hash(), h[2]);
}

#[test]
fn default_workdir_is_outside_the_repository() {
    let mut repo = TestRepo::new();
    let h = repo.linear(4, 2, "BUG");
    let before = repo.checkout_state();
    let path = repo.path().display().to_string();
    let args = [
        "bisect",
        "--repo",
        &path,
        "--bad",
        "HEAD",
        "--good",
        &h[0],
        "--build",
        "sh build.sh",
        "--test",
        "sh test.sh",
        "--runs",
        "1",
    ];
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let cache = repo.home.path().join(".cache/culprit");
    let dirs: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().collect();
    assert_eq!(dirs.len(), 1);
    assert!(journal_in(&dirs[0].path()).is_some());
    assert_eq!(repo.checkout_state(), before);
}

#[test]
fn terminating_culprit_stops_the_test_in_progress() {
    terminating_culprit_stops("test");
}

#[test]
fn terminating_culprit_stops_the_build_in_progress() {
    terminating_culprit_stops("build");
}

/// SIGTERM to culprit while the `build` or `test` command runs a `sleep` in
/// the background: the sleep goes with culprit.
fn terminating_culprit_stops(what: &str) {
    let mut repo = TestRepo::new();
    let h = repo.linear(3, 1, "BUG");
    let work = tempfile::tempdir().unwrap();
    let pid_file = work.path().join("pid");
    let sleeper = format!("sleep 60 & echo $! > {}; wait", pid_file.display());
    let (build, test) = match what {
        "build" => (sleeper.as_str(), "true"),
        _ => ("true", sleeper.as_str()),
    };
    let (path, workdir) = (
        repo.path().display().to_string(),
        work.path().join("w").display().to_string(),
    );
    let args = [
        "bisect",
        "--repo",
        &path,
        "--bad",
        "HEAD",
        "--good",
        &h[0],
        "--build",
        build,
        "--test",
        test,
        "--workdir",
        &workdir,
    ];
    let mut child = locked(
        Command::new(env!("CARGO_BIN_EXE_culprit")),
        repo.home.path(),
    )
    .args(args)
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let pid = loop {
        let text = std::fs::read_to_string(&pid_file).unwrap_or_default();
        if text.ends_with('\n') {
            break text.trim().to_owned();
        }
        assert!(Instant::now() < deadline, "the {what} never started");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(alive(&pid));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(!status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(&pid) {
        assert!(
            Instant::now() < deadline,
            "the {what}'s sleep {pid} survived culprit"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_full_disk_is_not_evidence_before_or_after_a_resume() {
    let mut repo = TestRepo::new();
    let h = repo.linear(16, 9, "BUG");
    let s = |p: &Path| p.display().to_string();
    let path = s(repo.path());
    let args = |workdir: &str| -> Vec<String> {
        [
            "bisect",
            "--repo",
            &path,
            "--bad",
            "HEAD",
            "--good",
            &h[0],
            "--build",
            "sh build.sh",
            "--test",
            "sh test.sh",
            "--artifact",
            "out.bin",
            "--workdir",
            workdir,
            "--strategy",
            "classic",
            "--runs",
            "2",
            "--no-verify",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let call = |workdir: &Path| {
        let a = args(&s(workdir));
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        culprit(repo.home.path(), &refs)
    };
    // A fresh bisection: its answer, its key and the first commit it chose.
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = call(fresh_dir.path());
    assert_eq!(fresh.code, 0, "{}{}", fresh.stdout, fresh.stderr);
    let key = journal_in(fresh_dir.path())
        .and_then(|j| j.parent().map(Path::to_path_buf))
        .and_then(|d| d.file_name().map(|n| n.to_owned()))
        .expect("a bisection directory");
    let chosen = fresh
        .lines()
        .iter()
        .filter_map(|l| l.strip_prefix("testing commit "))
        .map(str::to_owned)
        .find(|c| *c != h[15] && *c != h[0])
        .expect("a commit the strategy chose");
    // The same bisection where that commit's run logs land on a full disk.
    let work = tempfile::tempdir().unwrap();
    let runs = work.path().join("bisections").join(&key).join(&chosen);
    std::fs::create_dir_all(&runs).unwrap();
    for i in 0..8 {
        std::os::unix::fs::symlink("/dev/full", runs.join(format!("{i}.log"))).unwrap();
    }
    let full = call(work.path());
    assert_eq!(full.code, 3, "{}{}", full.stdout, full.stderr);
    let error = full.json()["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("infrastructure"), "{error}");
    assert!(
        !full.stdout.contains(&format!("# git bisect skip {chosen}")),
        "{}",
        full.stdout
    );
    // Space freed: the resumed bisection makes those runs again and
    // names what the fresh one named.
    std::fs::remove_dir_all(&runs).unwrap();
    let resumed = call(work.path());
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    assert!(resumed.stderr.contains("resuming"), "{}", resumed.stderr);
    assert_eq!(resumed.culprit_hash(), fresh.culprit_hash());
    assert_eq!(resumed.culprit_hash(), h[9]);
}
