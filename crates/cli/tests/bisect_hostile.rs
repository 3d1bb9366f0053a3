//! `culprit bisect` driven with hostile input: limits out of range, work
//! directories inside the repository, a result file that cannot be
//! written, floods of output, tests that leave processes behind, builds
//! that need git submodules.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{alive, bisect_args, culprit, locked, TestRepo};

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn time_limits_out_of_range_are_bad_input() {
    let mut repo = TestRepo::new();
    repo.linear(3, 1, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    for flag in ["--test-timeout", "--build-timeout"] {
        for value in ["18446744073709551615", "0", "31536001"] {
            let mut args = bisect_args(&path, &workdir, "HEAD");
            args.extend([flag, value]);
            let r = culprit(repo.home.path(), &args);
            assert_eq!(r.code, 2, "{flag} {value}: {}{}", r.stdout, r.stderr);
            assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
            assert!(r.stderr.contains(flag), "{}", r.stderr);
            assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
            assert_eq!(r.json()["outcome"], "error");
        }
    }
    // The largest accepted limit does not overflow either.
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend([
        "--test-timeout",
        "31536000",
        "--good",
        "HEAD~2",
        "--runs",
        "1",
    ]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn a_workdir_inside_the_repository_is_refused_and_nothing_is_written_there() {
    let mut repo = TestRepo::new();
    repo.linear(3, 1, "BUG");
    let before = repo.checkout_state();
    let path = s(repo.path());
    let inside = [
        repo.path().join(".culprit"),
        repo.path().join("sub/dir"),
        repo.path().join(".git"),
        repo.path().join(".git/culprit"),
        repo.path().to_path_buf(),
    ];
    for dir in inside {
        let dir = s(&dir);
        let r = culprit(repo.home.path(), &bisect_args(&path, &dir, "HEAD"));
        assert_eq!(r.code, 2, "{dir}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains("inside the repository"), "{}", r.stderr);
    }
    assert_eq!(repo.checkout_state(), before);
    assert!(!repo.path().join(".git/culprit").exists());
    assert!(!repo.path().join(".git/bisections").exists());
}

#[test]
fn a_json_file_that_cannot_be_written_is_refused_before_the_first_build() {
    let mut repo = TestRepo::new();
    repo.linear(3, 1, "BUG");
    let work = tempfile::tempdir().unwrap();
    let builds = work.path().join("builds.txt");
    let build = format!("echo built >> {}; sh build.sh", builds.display());
    // A path under a regular file cannot be created, whoever runs culprit.
    let blocker = work.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let json = blocker.join("result.json");
    let (path, workdir) = (s(repo.path()), s(&work.path().join("w")));
    let out = locked(
        Command::new(env!("CARGO_BIN_EXE_culprit")),
        repo.home.path(),
    )
    .args([
        "bisect",
        "--repo",
        &path,
        "--bad",
        "HEAD",
        "--build",
        &build,
        "--test",
        "sh test.sh",
        "--workdir",
        &workdir,
        "--json",
    ])
    .arg(&json)
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--json"), "{stderr}");
    assert!(!builds.exists(), "a build ran before the JSON was checked");
}

#[test]
fn a_flood_of_test_output_is_streamed_not_kept() {
    let mut repo = TestRepo::new();
    let h = repo.linear(4, 2, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    // 200 MB of output before the test's verdict.
    let test = "yes 'a line of noise from a chatty test, 64 bytes long.........' \
                | head -c 200000000; sh test.sh";
    let json = work.path().join("out.json");
    let mut child = locked(
        Command::new(env!("CARGO_BIN_EXE_culprit")),
        repo.home.path(),
    )
    .args([
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
        test,
        "--runs",
        "1",
        "--strategy",
        "classic",
        "--workdir",
        &workdir,
        "--json",
    ])
    .arg(&json)
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let (status, max_rss_kib) = wait_with_max_rss(&mut child);
    assert_eq!(status, 0);
    let outcome: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(outcome["culprit"]["hash"], h[2].as_str());
    assert_eq!(outcome["crash"]["title"], "WARNING in foo");
    assert!(
        max_rss_kib < 64 * 1024,
        "culprit held {max_rss_kib} KiB for 200 MB of output"
    );
}

/// Waits for `child` and returns its exit code and its peak resident set
/// size (its own, not this process's).
fn wait_with_max_rss(child: &mut std::process::Child) -> (i32, i64) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 writes only into it and status.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; both outlive the call.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    (libc::WEXITSTATUS(status), usage.ru_maxrss)
}

#[test]
fn processes_a_test_leaves_behind_end_with_its_run() {
    let mut repo = TestRepo::new();
    let h = repo.linear(4, 2, "BUG");
    let work = tempfile::tempdir().unwrap();
    let pids = work.path().join("pids");
    let (path, workdir) = (s(repo.path()), s(&work.path().join("w")));
    let test = format!(
        "sleep 300 >/dev/null 2>&1 & echo $! >> {}; sh test.sh",
        pids.display()
    );
    let mut args = bisect_args(&path, &workdir, "HEAD");
    let i = args.iter().position(|a| *a == "sh test.sh").unwrap();
    args[i] = &test;
    args.extend(["--good", &h[0], "--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let pids = std::fs::read_to_string(&pids).unwrap();
    assert!(pids.lines().count() >= 4, "{pids}");
    let deadline = Instant::now() + Duration::from_secs(5);
    let survivors = || -> Vec<&str> { pids.lines().filter(|p| alive(p)).collect() };
    while !survivors().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(survivors().is_empty(), "left running: {:?}", survivors());
}

/// A repository whose build reads a file from a git submodule.
fn with_submodule(repo: &mut TestRepo, sub: &Path) -> Vec<String> {
    let git = |dir: &Path, args: &[&str]| {
        let out = locked(Command::new("git"), repo.home.path())
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "S")
            .env("GIT_AUTHOR_EMAIL", "s@example.com")
            .env("GIT_COMMITTER_NAME", "S")
            .env("GIT_COMMITTER_EMAIL", "s@example.com")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(sub, &["init", "-q", "-b", "main"]);
    std::fs::write(sub.join("lib.txt"), "library\n").unwrap();
    git(sub, &["add", "-A"]);
    git(sub, &["commit", "-q", "-m", "lib"]);
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "--quiet",
        "add",
        &s(sub),
        "lib",
    ]);
    repo.linear(6, 3, "BUG")
}

#[test]
fn a_build_that_needs_submodules_gets_them() {
    let mut repo = TestRepo::new();
    let sub = tempfile::tempdir().unwrap();
    let h = with_submodule(&mut repo, sub.path());
    let before = repo.checkout_state();
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    let i = args.iter().position(|a| *a == "sh build.sh").unwrap();
    args[i] = "cat lib/lib.txt && sh build.sh";
    args.extend(["--good", &h[0], "--runs", "1"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[3]);
    assert_eq!(repo.checkout_state(), before);
}

#[test]
fn submodules_that_cannot_be_had_are_named_as_the_reason() {
    let mut repo = TestRepo::new();
    let sub = tempfile::tempdir().unwrap();
    let h = with_submodule(&mut repo, sub.path());
    // The user's repository forgets the submodule's clone and its source.
    std::fs::remove_dir_all(repo.path().join(".git/modules")).unwrap();
    drop(sub);
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--good", &h[0], "--runs", "1"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    let error = r.json()["error"].as_str().unwrap_or("").to_owned();
    assert!(error.contains("submodules"), "{error}");
}
