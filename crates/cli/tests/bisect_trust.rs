//! Culprits to trust on real git histories with merges and renames: a fix
//! merged in from a branch that never had the bug, a fix made on a branch
//! that had it, and a crash whose function was renamed after the culprit.

mod common;

use common::{culprit, TestRepo};

fn s(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// Crashes when `code.c` holds `BUG` and the file `reach` exists, with a
/// WARNING in the function named by the file `fname` (default `foo`), at
/// the place in `where` (default `kernel/foo.c:10`), called from the
/// function in `caller` (default `bar`).
const TEST: &str = r#"
if grep -q BUG code.c && [ -e reach ]; then
  f=$(cat fname 2>/dev/null || echo foo)
  w=$(cat where 2>/dev/null || echo kernel/foo.c:10)
  c=$(cat caller 2>/dev/null || echo bar)
  echo "------------[ cut here ]------------"
  echo "WARNING: CPU: 0 PID: 1 at $w $f+0x10/0x20 $w"
  echo "Modules linked in:"
  echo "CPU: 0 PID: 1 Comm: a.out Not tainted 6.1.0 #1"
  echo "RIP: 0010:$f+0x10/0x20 $w"
  echo "Call Trace:"
  echo " <TASK>"
  echo " $c+0x1/0x2 kernel/bar.c:1"
  echo " __do_sys_prctl+0x1/0x2 kernel/sys.c:2"
  echo " do_syscall_64+0x35/0xb0 arch/x86/entry/common.c:80"
  echo " entry_SYSCALL_64_after_hwframe+0x44/0xae"
  echo " </TASK>"
  exit 1
fi
exit 0
"#;

/// `culprit bisect` with the test above (saved outside the repository).
fn bisect(repo: &TestRepo, bad: &str, good: &[&str], extra: &[&str]) -> common::Run {
    let work = tempfile::tempdir().unwrap();
    let script = work.path().join("warn.sh");
    std::fs::write(&script, TEST).unwrap();
    let test = format!("sh {}", script.display());
    let (path, workdir) = (s(repo.path()), s(&work.path().join("w")));
    let mut args = vec![
        "bisect",
        "--repo",
        &path,
        "--bad",
        bad,
        "--build",
        "true",
        "--test",
        &test,
        "--workdir",
        &workdir,
        "--runs",
        "2",
        "--strategy",
        "classic",
    ];
    for g in good {
        args.extend(["--good", g]);
    }
    args.extend(extra);
    culprit(repo.home.path(), &args)
}

/// Commits `files` (path, content; empty content removes the file).
fn commit(repo: &mut TestRepo, message: &str, files: &[(&str, &str)]) -> String {
    for (path, content) in files {
        if content.is_empty() {
            let _ = std::fs::remove_file(repo.path().join(path));
        } else {
            repo.write(path, content);
        }
    }
    repo.commit(message)
}

#[test]
fn a_fix_merged_from_a_branch_that_never_had_the_bug_is_the_merge() {
    let mut repo = TestRepo::new();
    let base = commit(
        &mut repo,
        "base",
        &[("code.c", "int x;\n"), ("reach", "1\n")],
    );
    repo.git(&["branch", "topic"]);
    commit(&mut repo, "bring the bug", &[("code.c", "int x;\nBUG\n")]);
    commit(&mut repo, "main 2", &[("m2", "2\n")]);
    let bad = commit(&mut repo, "main 3", &[("m3", "3\n")]);
    repo.git(&["checkout", "-q", "topic"]);
    let t1 = commit(&mut repo, "topic: drop the reach path", &[("reach", "")]);
    let t2 = commit(&mut repo, "topic: tidy", &[("t2", "2\n")]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge topic", "topic"]);
    let merge = repo.git(&["rev-parse", "HEAD"]);
    commit(&mut repo, "main 5", &[("m5", "5\n")]);
    let r = bisect(&repo, &bad, &[], &["--fix"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), merge, "{}", r.stdout);
    let json = r.json();
    let flags = json["flags"].as_array().unwrap();
    assert!(flags.iter().any(|f| f == "merge"), "{flags:?}");
    let from: Vec<&str> = json["fix_from"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["hash"].as_str())
        .collect();
    assert_eq!(from, [t2.as_str(), t1.as_str()]);
    assert!(
        r.stdout.contains(&format!("forked at {base}")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("forked before the bug came in"),
        "{}",
        r.stdout
    );
    // The branch's commits were never suspects: none was bisected.
    let bisected: Vec<&str> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "bisect")
        .filter_map(|s| s["commit"].as_str())
        .collect();
    assert!(!bisected.contains(&t1.as_str()), "{bisected:?}");
}

#[test]
fn a_fix_made_on_a_branch_that_had_the_bug_is_found_inside_it() {
    let mut repo = TestRepo::new();
    commit(
        &mut repo,
        "base",
        &[("code.c", "int x;\n"), ("reach", "1\n")],
    );
    commit(&mut repo, "bring the bug", &[("code.c", "int x;\nBUG\n")]);
    repo.git(&["branch", "topic"]);
    commit(&mut repo, "main 2", &[("m2", "2\n")]);
    let bad = commit(&mut repo, "main 3", &[("m3", "3\n")]);
    repo.git(&["checkout", "-q", "topic"]);
    commit(&mut repo, "topic 1", &[("t1", "1\n")]);
    let fix = commit(&mut repo, "topic: drop the reach path", &[("reach", "")]);
    commit(&mut repo, "topic 3", &[("t3", "3\n")]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge topic", "topic"]);
    commit(&mut repo, "main 5", &[("m5", "5\n")]);
    let r = bisect(&repo, &bad, &[], &["--fix"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), fix, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("the branch carried the bug: bisecting inside it"),
        "{}",
        r.stdout
    );
    assert!(r.json()["fix_from"].is_null());
}

#[test]
fn a_crash_whose_function_was_renamed_after_the_culprit_is_the_same_bug() {
    let mut repo = TestRepo::new();
    let good = commit(
        &mut repo,
        "base",
        &[("code.c", "int x;\n"), ("reach", "1\n")],
    );
    commit(&mut repo, "one", &[("a", "1\n")]);
    let culprit_hash = commit(&mut repo, "bring the bug", &[("code.c", "int x;\nBUG\n")]);
    for i in 0..3 {
        commit(&mut repo, &format!("more {i}"), &[("b", &format!("{i}\n"))]);
    }
    commit(
        &mut repo,
        "rename foo to foo_checked",
        &[("fname", "foo_checked\n")],
    );
    commit(&mut repo, "after", &[("c", "1\n")]);
    let r = bisect(&repo, "HEAD", &[&good], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), culprit_hash, "{}", r.stdout);
    assert_eq!(r.json()["crash"]["title"], "WARNING in foo_checked");
    assert!(
        r.stdout.contains(
            "crashed: WARNING in foo (same bug as WARNING in foo_checked: same location kernel/foo.c:10)"
        ),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("the bug also went by the title \"WARNING in foo\""));
    // Without the relation the rename would look like the culprit; its
    // parent's crash counts, so it is not flagged either.
    let flags = r.json()["flags"].to_string();
    assert!(!flags.contains("title-changed"), "{flags}");
}

#[test]
fn an_unrelated_crash_elsewhere_still_does_not_count() {
    let mut repo = TestRepo::new();
    let good = commit(
        &mut repo,
        "base",
        &[("code.c", "int x;\n"), ("reach", "1\n")],
    );
    // Commits 1 and 2 crash with another bug: another function, another
    // place, other callers.
    let other = [
        ("fname", "qux\n"),
        ("where", "mm/other.c:77\n"),
        ("caller", "quux\n"),
        ("code.c", "int x;\nBUG\n"),
    ];
    let other_hash = commit(&mut repo, "other bug", &other);
    commit(&mut repo, "other 2", &[("d", "1\n")]);
    let clear = [
        ("fname", ""),
        ("where", ""),
        ("caller", ""),
        ("code.c", "int x;\n"),
    ];
    commit(&mut repo, "fix other", &clear);
    let culprit_hash = commit(&mut repo, "bring the bug", &[("code.c", "int x;\nBUG\n")]);
    commit(&mut repo, "after", &[("c", "1\n")]);
    let r = bisect(&repo, "HEAD", &[&good], &["--no-verify"]);
    assert!(
        r.stdout
            .contains("crashed: WARNING in qux (another crash, not counted)"),
        "{}",
        r.stdout
    );
    assert_ne!(r.culprit_hash(), other_hash, "{}", r.stdout);
    let json = r.json();
    let named = |h: &str| {
        json["culprit"]["hash"] == h
            || json["candidates"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["hash"] == h))
    };
    assert!(named(&culprit_hash), "{}", r.stdout);
}
