//! `culprit bisect` end to end: real git repositories, the real binary,
//! shell build and test commands stored in the repositories.

mod common;

use std::path::{Path, PathBuf};

use common::{bisect_args, culprit, culprit_in, TestRepo};

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn culprit_found_in_a_linear_history_with_a_dirty_checkout_left_alone() {
    let mut repo = TestRepo::new();
    let h = repo.linear(12, 7, "BUG");
    // The user's checkout is dirty: a staged change, an unstaged one, an
    // untracked file. None of it may change.
    repo.write("code.c", "int staged;\n");
    repo.git(&["add", "code.c"]);
    repo.write("code.c", "int unstaged;\n");
    repo.write("notes.txt", "mine\n");
    let before = repo.checkout_state();
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--good", &h[0], "--runs", "3"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[7]);
    let lines = r.lines();
    assert!(lines[0].starts_with("work directory: "), "{}", lines[0]);
    let lines = &lines[1..];
    assert_eq!(
        lines[0],
        format!("bisecting cause commit starting from {}", h[11])
    );
    assert_eq!(lines[1], format!("testing commit {}", h[11]));
    assert!(
        lines[2].starts_with("build signature: ")
            && lines[2].len() == "build signature: ".len() + 64
    );
    assert_eq!(lines[3], "all runs: crashed: WARNING in foo");
    assert!(r
        .stdout
        .contains(&format!("# git bisect start {} {}\n", h[11], h[0])));
    assert!(r
        .stdout
        .contains("Bisecting: 5 revisions left to test after this (roughly 3 steps)\n"));
    let first = format!(
        "{} is the first bad commit\ncommit {}\nAuthor: Ann Author <ann@example.com>\n",
        h[7], h[7]
    );
    assert!(r.stdout.contains(&first), "{}", r.stdout);
    assert!(r
        .stdout
        .contains(" code.c | 2 ++\n 1 file changed, 2 insertions(+)\n"));
    assert!(r
        .stdout
        .contains(&format!("first bad commit: {} commit 7 (confidence ", h[7])));
    assert!(r.stdout.contains(
        "recipients (to): [\"ann@example.com\"]\nrecipients (cc): []\ncrash: WARNING in foo\n"
    ));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("revisions tested: 6, total time: ")));
    let j = r.json();
    assert_eq!(j["outcome"], "culprit");
    assert_eq!(j["culprit"]["title"], "commit 7");
    assert_eq!(j["culprit"]["author"], "Ann Author <ann@example.com>");
    assert_eq!(j["crash"]["title"], "WARNING in foo");
    assert_eq!(j["revisions_tested"], 6);
    assert_eq!(j["steps"][0]["runs"][0], "crashed: WARNING in foo");
    assert_eq!(j["steps"][1]["verdict"], "good");
    assert_eq!(j["flags"], serde_json::json!([]));
    assert_eq!(repo.checkout_state(), before, "the user's checkout changed");
}

#[test]
fn culprit_on_a_merged_side_branch() {
    let mut repo = TestRepo::new();
    let base = repo.commit_code("base", "int a;\n");
    repo.git(&["switch", "-q", "-c", "topic"]);
    repo.write("side.c", "int s1;\n");
    repo.commit("topic 1");
    repo.write("side.c", "int s1;\n");
    repo.write("code.c", "int a;\nBUG\n");
    let culprit_hash = repo.commit("topic 2: the bug");
    repo.write("side.c", "int s3;\n");
    repo.commit("topic 3");
    repo.git(&["switch", "-q", "main"]);
    for i in 0..4 {
        repo.write("main.c", &format!("int m{i};\n"));
        repo.commit(&format!("main {i}"));
    }
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge topic", "topic"]);
    repo.write("main.c", "int after;\n");
    repo.commit("after");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--good", &base, "--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), culprit_hash, "{}", r.stdout);
    assert_eq!(r.json()["flags"], serde_json::json!([]));
}

#[test]
fn untestable_middle_is_inconclusive_with_candidates() {
    let mut repo = TestRepo::new();
    let mut h = Vec::new();
    for i in 0..8 {
        let code = match i {
            0..=2 => format!("int a{i};\n"),
            3 | 4 => format!("BROKEN\nint a{i};\n"),
            _ => format!("BUG\nint a{i};\n"),
        };
        h.push(repo.commit_code(&format!("commit {i}"), &code));
    }
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--good", &h[0], "--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["outcome"], "inconclusive");
    let candidates: Vec<&str> = j["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["hash"].as_str().unwrap())
        .collect();
    assert_eq!(candidates, [&h[3], &h[4], &h[5]]);
    assert!(r
        .stdout
        .contains("There are only 'skip'ped commits left to test.\n"));
    assert!(r
        .stdout
        .contains("build failed: exit status: 1 (output in "));
    let log = work.path().join("builds").join(format!("{}.log", h[3]));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("code.c:1: error: broken"),
        "build output kept in {}",
        log.display()
    );
}

#[test]
fn always_bad_when_the_oldest_release_crashes() {
    let mut repo = TestRepo::new();
    for i in 0..6 {
        repo.commit_code(&format!("commit {i}"), &format!("BUG\nint a{i};\n"));
        if i % 2 == 1 {
            repo.git(&["tag", &format!("v1.{i}")]);
        }
    }
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["outcome"], "always-bad");
    let releases: Vec<&str> = r
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("testing release"))
        .collect();
    assert_eq!(releases, ["testing release v1.3", "testing release v1.1"]);
    assert!(r
        .stdout
        .contains("the crash happens on the oldest tested release v1.1\n"));
}

#[test]
fn release_tags_give_the_good_end() {
    let mut repo = TestRepo::new();
    let mut code = String::new();
    let mut h = Vec::new();
    for i in 0..9 {
        code.push_str(&format!("int a{i};\n"));
        if i == 6 {
            code.push_str("BUG\n");
        }
        h.push(repo.commit_code(&format!("commit {i}"), &code));
        if i % 2 == 0 {
            repo.git(&["tag", "-a", "-m", "release", &format!("v2.{}", i / 2)]);
        }
    }
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[6]);
    assert!(r.stdout.contains("testing release v2.3\n"));
    assert_eq!(r.json()["good"][0], h[4].as_str());
}

#[test]
fn no_crash_at_bad_is_an_error_with_json() {
    let mut repo = TestRepo::new();
    let h = repo.linear(3, 99, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--good", &h[0], "--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["outcome"], "error");
    assert_eq!(
        j["error"],
        format!("crash does not reproduce at --bad {}", h[2])
    );
    assert!(r.stdout.contains("all runs: OK\n"));
}

#[test]
fn flaky_reproducer_two_of_ten() {
    let mut repo = TestRepo::new();
    let h = repo.linear(10, 6, "FLAKY");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--good", &h[0]]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[6]);
    assert!(r
        .stdout
        .contains("run #0: crashed: WARNING in foo\nrun #1: OK\n"));
    let j = r.json();
    let steps = j["steps"].as_array().unwrap();
    assert_eq!(steps[0]["runs"].as_array().unwrap().len(), 10);
    assert!(steps[1..]
        .iter()
        .filter(|s| s["kind"] != "parent")
        .all(|s| s["runs"].as_array().unwrap().len() == 20));
    let confidence = j["confidence"].as_f64().unwrap();
    assert!(confidence > 0.5 && confidence < 1.0, "{confidence}");
}

#[test]
fn another_crash_in_part_of_the_history_does_not_make_commits_bad() {
    // Commits 3..=5 crash differently; the bug arrives at 6. syzbot would
    // blame commit 3.
    let mut repo = TestRepo::new();
    let mut h = Vec::new();
    for i in 0..10 {
        let marker = match i {
            3..=5 => "OTHER\n",
            6.. => "BUG\n",
            _ => "",
        };
        h.push(repo.commit_code(&format!("commit {i}"), &format!("{marker}int a{i};\n")));
    }
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--good", &h[0], "--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert!(
        r.stdout.contains("(another crash, not counted)\n"),
        "{}",
        r.stdout
    );
    let j = r.json();
    assert_ne!(r.culprit_hash(), h[3]);
    let blamed: Vec<&str> = match j["outcome"].as_str() {
        Some("culprit") => vec![r.culprit_hash()],
        _ => j["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["hash"].as_str().unwrap())
            .collect(),
    };
    assert!(blamed.contains(&h[6].as_str()), "{}", r.stdout);
    assert!(!blamed.contains(&h[2].as_str()));
}

/// Two flaky crashes: once `code.c` holds `BUG`, the WARNING on runs 1, 2
/// (and 4, once it holds `RARE`) of every 10; once it holds `RARE`, a KASAN
/// report on runs 0 and 3 of every 10.
const TWO_CRASHES_SH: &str = r#"
case $CULPRIT_RUN in
  *0|*3) grep -q RARE code.c && kasan=1 ;;
  *1|*2) grep -q BUG code.c && warning=1 ;;
  *4) grep -q RARE code.c && warning=1 ;;
esac
if [ -n "$kasan" ]; then
  echo "BUG: KASAN: use-after-free in bar+0x10/0x20"
  echo "Read of size 8 at addr ffff888000000000 by task a.out/1"
  exit 1
fi
if [ -n "$warning" ]; then
  cat <<'EOR'
------------[ cut here ]------------
WARNING: CPU: 0 PID: 1 at kernel/foo.c:10 foo+0x10/0x20 kernel/foo.c:10
Modules linked in:
RIP: 0010:foo+0x10/0x20 kernel/foo.c:10
Call Trace:
 <TASK>
 bar+0x1/0x2 kernel/bar.c:1
 </TASK>
EOR
  exit 1
fi
exit 0
"#;

#[test]
fn crash_flag_picks_the_crash_to_bisect() {
    // The WARNING arrives at commit 3, the rarer KASAN report at commit 8:
    // at the bad end 3 runs of 10 hit the WARNING, 2 the KASAN report.
    let mut repo = TestRepo::new();
    let mut code = String::new();
    let mut h = Vec::new();
    for i in 0..12 {
        code.push_str(&format!("int a{i};\n"));
        match i {
            3 => code.push_str("BUG\n"),
            8 => code.push_str("RARE\n"),
            _ => {}
        }
        h.push(repo.commit_code(&format!("commit {i}"), &code));
    }
    let scripts = tempfile::tempdir().unwrap();
    let script = scripts.path().join("two-crashes.sh");
    std::fs::write(&script, TWO_CRASHES_SH).unwrap();
    let test = format!("sh {}", script.display());
    let path = s(repo.path());
    let run = |crash: Option<&str>| {
        let work = tempfile::tempdir().unwrap();
        let workdir = s(work.path());
        let mut args = bisect_args(&path, &workdir, "HEAD");
        let i = args.iter().position(|a| *a == "sh test.sh").unwrap();
        args[i] = &test;
        args.extend(["--good", &h[0], "--runs", "10"]);
        if let Some(title) = crash {
            args.extend(["--crash", title]);
        }
        culprit(repo.home.path(), &args)
    };
    let kasan = "KASAN: use-after-free Read in bar";

    let r = run(None);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["crash"]["title"], "WARNING in foo");
    assert_eq!(r.culprit_hash(), h[3], "{}", r.stdout);

    let r = run(Some(kasan));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["crash"]["title"], kasan);
    assert_eq!(r.culprit_hash(), h[8], "{}", r.stdout);
    assert!(
        r.stdout
            .contains("run #1: crashed: WARNING in foo (another crash, not counted)\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&format!("\ncrash: {kasan}\n")));

    // A title nothing at the bad end is (not even by syzbot's naming: no
    // frame of its reports is `baz`).
    let r = run(Some("WARNING in baz"));
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.json()["error"],
        format!(
            "crash \"WARNING in baz\" does not reproduce at --bad {} \
             (its runs crashed with \"{kasan}\", \"WARNING in foo\")",
            h[11]
        )
    );
}

#[test]
fn fix_bisection_finds_the_first_commit_without_the_crash() {
    let mut repo = TestRepo::new();
    let mut h = Vec::new();
    for i in 0..10 {
        let marker = if i < 7 { "BUG\n" } else { "" };
        h.push(repo.commit_code(&format!("commit {i}"), &format!("{marker}int a{i};\n")));
    }
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, &h[1]);
    args.extend(["--fix", "--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[7]);
    assert!(r.stdout.contains(&format!(
        "\nbisecting fixing commit starting from {}\n",
        h[1]
    )));
    assert!(r
        .stdout
        .contains(&format!("{} is the first fixed commit\n", h[7])));
    assert!(r.stdout.contains(&format!(
        "first fixed commit: {} commit 7 (confidence ",
        h[7]
    )));
    assert_eq!(r.json()["direction"], "fix");
}

#[test]
fn noop_culprit_is_flagged() {
    // The side branch forks before the good end and changes only a comment
    // in code.c (same out.bin) -- but the test script reads the comment.
    let mut repo = TestRepo::new();
    let base = repo.commit_code("base", "int a;\n");
    repo.git(&["switch", "-q", "-c", "side"]);
    let side = repo.commit_code("side: comment only", "// BUG mentioned here\nint a;\n");
    repo.git(&["switch", "-q", "main"]);
    repo.write("main.c", "int m;\n");
    let good = repo.commit("main work");
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge side", "side"]);
    repo.write("main.c", "int m2;\n");
    repo.commit("after");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--good", &good, "--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), side);
    assert_eq!(r.json()["flags"], serde_json::json!(["noop"]));
    let sig = |prefix: &str| {
        r.lines()
            .into_iter()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::to_owned)
    };
    assert_eq!(sig("culprit signature: "), sig("parent  signature: "));
    assert!(sig("culprit signature: ").is_some());
    let _ = base;
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let mut repo = TestRepo::new();
    let h = repo.linear(3, 1, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            bisect_args(&path, &workdir, "nosuchrev"),
            "--bad: unknown revision \"nosuchrev\"",
        ),
        (
            [bisect_args(&path, &workdir, &h[0]), vec!["--good", &h[2]]].concat(),
            "is not an ancestor of --bad",
        ),
        (
            bisect_args("/nonexistent/repo", &workdir, "HEAD"),
            "/nonexistent/repo",
        ),
        (
            bisect_args(&workdir, &workdir, "HEAD"),
            "is not a git repository",
        ),
        (
            [bisect_args(&path, "/proc/culprit-work", "HEAD")].concat(),
            "/proc/culprit-work",
        ),
        (
            [
                bisect_args(&path, &workdir, "HEAD"),
                vec!["--strategy", "magic"],
            ]
            .concat(),
            "unknown strategy \"magic\"",
        ),
        (
            [
                bisect_args(&path, &workdir, "HEAD"),
                vec!["--fix", "--good", &h[0]],
            ]
            .concat(),
            "is not an ancestor of the good end",
        ),
        (
            [bisect_args(&path, &workdir, "HEAD"), vec!["--good", "HEAD"]].concat(),
            "are the same commit",
        ),
        (
            [bisect_args(&path, &workdir, "HEAD"), vec!["--runs", "0"]].concat(),
            "--runs 0: expected a whole number from 1",
        ),
        (
            [bisect_args(&path, &workdir, "HEAD"), vec!["--crash", " "]].concat(),
            "--crash \" \": expected a non-empty string",
        ),
        (
            [
                bisect_args(&path, &workdir, "HEAD"),
                vec!["--good", "nope2"],
            ]
            .concat(),
            "--good: unknown revision \"nope2\"",
        ),
    ];
    for (args, want) in cases {
        let r = culprit(repo.home.path(), &args);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty());
        assert_eq!(r.json()["outcome"], "error");
    }
}

#[test]
fn missing_test_command_is_one_clear_error() {
    let mut repo = TestRepo::new();
    let h = repo.linear(3, 1, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    let i = args.iter().position(|a| *a == "sh test.sh").unwrap();
    args[i] = "no-such-program-xyz";
    args.extend(["--good", &h[0], "--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let error = r.json()["error"].as_str().unwrap().to_owned();
    assert!(error.contains("test command could not be run"), "{error}");
}

#[test]
fn missing_build_command_is_one_clear_error() {
    let mut repo = TestRepo::new();
    let h = repo.linear(3, 1, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    let i = args.iter().position(|a| *a == "sh build.sh").unwrap();
    args[i] = "no-such-compiler-xyz";
    args.extend(["--good", &h[0], "--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let error = r.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.starts_with(&format!("cannot build --bad {}: command not found", h[2])),
        "{error}"
    );
    assert_eq!(error.lines().count(), 1);
}

#[test]
fn exit_125_means_could_not_test_and_the_commit_is_skipped() {
    let mut repo = TestRepo::new();
    let mut h = Vec::new();
    for i in 0..6 {
        let marker = match i {
            3 => "CANT\n",
            4.. => "BUG\n",
            _ => "",
        };
        h.push(repo.commit_code(&format!("commit {i}"), &format!("{marker}int a{i};\n")));
    }
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--good", &h[0], "--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert!(
        r.stdout
            .contains("all runs: could not test (exit status 125)\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&format!("# git bisect skip {}\n", h[3])));
    // Commit 3 could not be tested, so it stays a suspect beside commit 4.
    assert_eq!(r.json()["outcome"], "inconclusive");
    let candidates: Vec<&str> = r.json()["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["hash"].as_str().unwrap())
        .collect();
    assert_eq!(candidates, [&h[3], &h[4]]);
}

#[test]
fn infrastructure_trouble_stops_the_bisection() {
    let mut repo = TestRepo::new();
    let h = repo.linear(6, 4, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    // The test dies of a signal-like status (130) where code.c has f2.
    let i = args.iter().position(|a| *a == "sh test.sh").unwrap();
    args[i] = "if grep -q 'int f2;' code.c && ! grep -q BUG code.c; then exit 130; fi; sh test.sh";
    args.extend(["--good", &h[0], "--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("all runs: infrastructure problem (exit status 130)\n"),
        "{}",
        r.stdout
    );
    let error = r.json()["error"].as_str().unwrap();
    assert!(
        error.starts_with("too many infrastructure problems at "),
        "{error}"
    );
}

#[test]
fn a_hanging_test_is_killed_at_the_time_limit() {
    let mut repo = TestRepo::new();
    let h = repo.linear(3, 1, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    let i = args.iter().position(|a| *a == "sh test.sh").unwrap();
    args[i] = "sleep 30";
    args.extend(["--good", &h[0], "--runs", "1", "--test-timeout", "1"]);
    let started = std::time::Instant::now();
    let r = culprit(repo.home.path(), &args);
    assert!(started.elapsed().as_secs() < 20);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("run #0: test timed out after 1s\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn whole_log_of_a_small_bisection() {
    let mut repo = TestRepo::new();
    let h = repo.linear(6, 3, "BUG");
    repo.git(&["tag", "v1.0", &h[1]]);
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--runs", "2"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.lines()[0].starts_with(&format!("work directory: {workdir} ")));
    let log: Vec<&str> = r
        .lines()
        .into_iter()
        .skip(1)
        .filter(|l| !l.starts_with("revisions tested:"))
        .take_while(|l| !l.starts_with("crash: "))
        .chain(r.lines().into_iter().filter(|l| l.starts_with("crash: ")))
        .collect();
    let total = r
        .lines()
        .into_iter()
        .find(|l| l.starts_with("revisions tested: 4, total time: "))
        .map(|l| l.contains(" (build: ") && l.contains(", test: "));
    assert_eq!(total, Some(true), "{}", r.stdout);
    assert_eq!(log.join("\n"), GOLDEN.trim_end());
}

/// The log up to the crash title (the report text is the crash parser's).
const GOLDEN: &str = "\
bisecting cause commit starting from f9689b72ff4b17570e2f7819559c93a557f203cb
testing commit f9689b72ff4b17570e2f7819559c93a557f203cb
build signature: c51e84ecedfd440682c03e937d1fb32d6a1a1ac984c486cb5cd56efde7807125
all runs: crashed: WARNING in foo
testing release v1.0
testing commit 3a467c38598d2d5b8d49528a46194a54f9a94926
build signature: 9c9322d6474d1aee10ff9b92c8547ab46fbb2e890e7e3c007aaa8874734a596b
all runs: OK
# git bisect start f9689b72ff4b17570e2f7819559c93a557f203cb 3a467c38598d2d5b8d49528a46194a54f9a94926
Bisecting: 1 revision left to test after this (roughly 1 step)
[e42346c91c2862d6d831caba4b43fe45eeacbc62] commit 3

testing commit e42346c91c2862d6d831caba4b43fe45eeacbc62
build signature: d55a0d5d34e193e63d3ee4fd384928e959eb702e0e61cab53ac4e7f39dcdb8bc
all runs: crashed: WARNING in foo
# git bisect bad e42346c91c2862d6d831caba4b43fe45eeacbc62
Bisecting: 0 revisions left to test after this (roughly 0 steps)
[e0c7bafb00cc2d4a0b61e0b54f5a2c47faab27d4] commit 2

testing commit e0c7bafb00cc2d4a0b61e0b54f5a2c47faab27d4
build signature: 4a6d32c68b4f6e417b6b2d6529e563387c499175987726887f4021356b934a94
all runs: OK
# git bisect good e0c7bafb00cc2d4a0b61e0b54f5a2c47faab27d4
e42346c91c2862d6d831caba4b43fe45eeacbc62 is the first bad commit
commit e42346c91c2862d6d831caba4b43fe45eeacbc62
Author: Ann Author <ann@example.com>
Date:   Tue Nov 14 22:25:20 2023 +0000

    commit 3

 code.c | 2 ++
 1 file changed, 2 insertions(+)

culprit signature: d55a0d5d34e193e63d3ee4fd384928e959eb702e0e61cab53ac4e7f39dcdb8bc
parent  signature: 4a6d32c68b4f6e417b6b2d6529e563387c499175987726887f4021356b934a94
first bad commit: e42346c91c2862d6d831caba4b43fe45eeacbc62 commit 3 (confidence 100.0%)
recipients (to): [\"ann@example.com\"]
recipients (cc): []
crash: WARNING in foo
";

#[test]
fn every_strategy_name_bisects() {
    let mut repo = TestRepo::new();
    let h = repo.linear(10, 6, "BUG");
    for strategy in ["classic", "plain", "git-bisect", "bayes"] {
        let work = tempfile::tempdir().unwrap();
        let (path, workdir) = (s(repo.path()), s(work.path()));
        let mut args = bisect_args(&path, &workdir, "HEAD");
        args.extend(["--good", &h[0], "--runs", "2", "--strategy", strategy]);
        let r = culprit(repo.home.path(), &args);
        assert_eq!(r.code, 0, "{strategy}: {}\n{}", r.stdout, r.stderr);
        assert_eq!(r.culprit_hash(), h[6], "{strategy}");
        assert_eq!(
            r.json()["strategy"],
            strategy.replace("git-bisect", "plain").as_str()
        );
        // Every strategy's readings reach the log the way git prints them.
        for verdict in ["good", "bad"] {
            let line = format!("# git bisect {verdict} ");
            assert!(r.stdout.contains(&line), "{strategy}: {}", r.stdout);
        }
    }
}

#[test]
fn bayes_is_the_default_strategy() {
    let mut repo = TestRepo::new();
    let h = repo.linear(10, 6, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
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
        "--workdir",
        &workdir,
    ];
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[6]);
    assert_eq!(r.json()["strategy"], "bayes");
    let confidence = r.json()["confidence"].as_f64().unwrap_or(0.0);
    assert!(confidence >= 0.99, "confidence {confidence}");
}

#[test]
fn paths_limit_the_suspects_to_commits_that_touch_them() {
    let mut repo = TestRepo::new();
    let mut h = vec![repo.commit_code("base", "int f;\n")];
    for i in 0..8 {
        repo.write(&format!("other/o{i}.txt"), "x\n");
        let marker = if i >= 4 { "BUG\n" } else { "" };
        repo.write("code.c", &format!("int f;\n{marker}"));
        h.push(repo.commit(&format!("mixed {i}")));
        repo.write(&format!("docs/d{i}.txt"), "y\n");
        h.push(repo.commit(&format!("docs {i}")));
    }
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend([
        "--good", &h[0], "--runs", "1", "--paths", "code.c", "other/",
    ]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // mixed 4 is commit 9 (base, then mixed and docs pairs).
    assert_eq!(r.culprit_hash(), h[9]);
    let skipped = r
        .stdout
        .lines()
        .filter(|l| l.ends_with(": changes nothing under --paths"))
        .count();
    // Every docs commit but the bad end is left out.
    assert_eq!(skipped, 7, "{}", r.stdout);
    assert_eq!(r.json()["pruned"], 7);
    for l in r
        .lines()
        .iter()
        .filter(|l| l.starts_with("testing commit "))
    {
        let hash = l.trim_start_matches("testing commit ");
        let i = h.iter().position(|x| x == hash).unwrap();
        assert!(
            i == 0 || i == h.len() - 1 || i % 2 == 1,
            "docs commit {i} tested"
        );
    }
}

#[test]
fn the_error_json_keeps_the_ends_as_given() {
    let mut repo = TestRepo::new();
    let h = repo.linear(4, 1, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    // The good end is not an ancestor of the bad end: bad input.
    let mut args = bisect_args(&path, &workdir, &h[1]);
    args.extend(["--good", &h[3]]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 2);
    assert_eq!(r.json()["good"], serde_json::json!([h[3]]));
    // The crash does not reproduce at the bad end: the bisection fails
    // after resolving the ends, which the JSON gives as full hashes.
    let mut args = bisect_args(&path, &workdir, "HEAD");
    let i = args.iter().position(|a| *a == "sh test.sh").unwrap();
    args[i] = "true";
    args.extend(["--good", "HEAD~3"]);
    let quiet = culprit(repo.home.path(), &args);
    assert_eq!(quiet.code, 3, "{}", quiet.stderr);
    assert_eq!(quiet.json()["good"], serde_json::json!([h[0]]));
}

#[test]
fn show_diff_prints_the_culprits_patch() {
    let mut repo = TestRepo::new();
    let h = repo.linear(6, 3, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--good", &h[0], "--runs", "1", "--show-diff"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("diff --git a/code.c b/code.c"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("\n+BUG\n"), "{}", r.stdout);
    let stat = r.stdout.find(" 1 file changed").unwrap();
    let diff = r.stdout.find("diff --git").unwrap();
    assert!(stat < diff, "the patch comes after the stat");
}

/// A generic job file: the keys of the flags.
fn generic_job(
    dir: &Path,
    repo: &Path,
    workdir: &Path,
    bad: &str,
    good: &str,
    extra: &str,
) -> PathBuf {
    let file = dir.join("job.toml");
    let text = format!(
        "repo = {repo:?}\nbad = {bad:?}\ngood = [{good:?}]\nbuild = \"sh build.sh\"\n\
         test = \"sh test.sh\"\nartifact = \"out.bin\"\nworkdir = {workdir:?}\nverify = false\n{extra}"
    );
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn a_generic_job_file_bisects_and_flags_override_it() {
    let mut repo = TestRepo::new();
    let h = repo.linear(12, 7, "BUG");
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let file = generic_job(
        dir.path(),
        repo.path(),
        work.path(),
        &h[11],
        &h[0],
        "confidence = 0.6\n",
    );
    let job = s(&file);
    let from_file = culprit(repo.home.path(), &["bisect", &job]);
    assert_eq!(
        from_file.code, 0,
        "{}{}",
        from_file.stdout, from_file.stderr
    );
    assert_eq!(from_file.json()["culprit"]["hash"], h[7].as_str());
    let sure = culprit(repo.home.path(), &["bisect", &job, "--confidence", "0.999"]);
    assert_eq!(sure.code, 0, "{}{}", sure.stdout, sure.stderr);
    assert_eq!(sure.json()["culprit"]["hash"], h[7].as_str());
    let confidence = |r: &common::Run| r.json()["confidence"].as_f64().unwrap();
    assert!(confidence(&sure) >= 0.999, "{}", sure.stdout);
    // More certainty costs runs: the flag was not ignored.
    let runs =
        |r: &common::Run| r.stdout.matches("OK").count() + r.stdout.matches("crashed").count();
    assert!(
        runs(&sure) > runs(&from_file),
        "{}\n---\n{}",
        from_file.stdout,
        sure.stdout
    );
}

#[test]
fn a_flag_a_kernel_job_lacks_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("linux")).unwrap();
    std::fs::write(dir.path().join("config"), "CONFIG_64BIT=y\n").unwrap();
    std::fs::write(dir.path().join("repro.c"), "int main(){}\n").unwrap();
    let file = dir.path().join("job.toml");
    std::fs::write(
        &file,
        "repo = \"linux\"\nbad = \"HEAD\"\n[kernel]\nconfig = \"config\"\n[reproducer]\nc = \"repro.c\"\n",
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let r = culprit(home.path(), &["bisect", &s(&file), "--build", "make"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--build make: not a setting of kernel jobs"),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()["outcome"], "error");
}

#[test]
fn a_crash_given_by_another_tools_title_is_recognised_and_bisected() {
    let mut repo = TestRepo::new();
    let h = repo.linear(8, 5, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    // syzbot would name the WARNING by its caller; culprit names it "WARNING in foo".
    let mut args = bisect_args(&path, &workdir, &h[7]);
    args.extend(["--good", &h[0], "--crash", "WARNING in bar"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "crash \"WARNING in bar\" recognised as \"WARNING in foo\" (same kind, bar in its stack): bisecting it"
        ),
        "{}",
        r.stdout
    );
    assert_eq!(r.json()["culprit"]["hash"], h[5].as_str());
    // A title of another kind is not the crash.
    let mut args = bisect_args(&path, &workdir, &h[7]);
    args.extend([
        "--good",
        &h[0],
        "--crash",
        "KASAN: use-after-free Read in bar",
    ]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("does not reproduce"));
}

#[test]
fn paths_are_read_as_git_reads_them() {
    let mut repo = TestRepo::new();
    let h = repo.separate(12, 7, "BUG");
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let absolute = s(&repo.path().join("code.c"));
    let run_in = |dir: Option<&Path>, paths: &[&str]| {
        let mut args = bisect_args(&path, &workdir, "HEAD");
        args.extend(["--good", &h[0], "--runs", "1", "--paths"]);
        args.extend(paths);
        culprit_in(repo.home.path(), dir, &args)
    };
    let run = |paths: &[&str]| run_in(None, paths);
    // The culprit's own file, spelt as git takes it: from the top, with
    // ./, inside a directory given with .., absolute.
    for spelling in ["f7.c", "./f7.c", "sub/../f7.c", "code.c", absolute.as_str()] {
        let r = run(&[spelling]);
        assert_eq!(r.code, 0, "{spelling}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.culprit_hash(), h[7], "{spelling}: {}", r.stdout);
    }
    // From a directory inside the working tree, a relative path starts
    // there, as with git: ../f7.c is the culprit's file, f7.c is sub/f7.c.
    let sub = repo.path().join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let r = run_in(Some(&sub), &["../f7.c"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[7], "{}", r.stdout);
    let r = run_in(Some(&sub), &["f7.c"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["outcome"], "no-suspects", "{}", r.stdout);
    let r = run_in(Some(&sub), &["../../f7.c"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("--paths ../../f7.c: outside"),
        "{}",
        r.stderr
    );
    std::fs::remove_dir(&sub).unwrap();
    // Outside the repository: bad input.
    for outside in ["../../etc", "/etc", "a/../../x"] {
        let r = run(&[outside]);
        assert_eq!(r.code, 2, "{outside}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("outside the repository"), "{}", r.stderr);
    }
    // Nothing in the range touches the path: no culprit, never the bad end.
    let r = run(&["no-such-file.c"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["outcome"], "no-suspects");
    assert!(r.json()["culprit"].is_null());
    // Only commits that did not bring the crash touch it: no culprit either.
    let r = run(&["f3.c"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["outcome"], "no-suspects", "{}", r.stdout);
}
