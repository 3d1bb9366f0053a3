//! Culprits checked by their revert before they are reported, on real git
//! histories: a revert that removes the crash, one that does not (another
//! change also reaches the bug), one that does not apply, and a fix whose
//! revert brings the crash back.

mod common;

use common::{culprit, TestRepo};

fn s(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// `culprit bisect` with verification on (the default) and `test`.
fn bisect(
    repo: &TestRepo,
    work: &std::path::Path,
    bad: &str,
    good: &[&str],
    test: &str,
    extra: &[&str],
) -> common::Run {
    let (path, workdir) = (s(repo.path()), s(work));
    let mut args = vec![
        "bisect",
        "--repo",
        &path,
        "--bad",
        bad,
        "--build",
        "sh build.sh",
        "--test",
        test,
        "--artifact",
        "out.bin",
        "--workdir",
        &workdir,
        "--strategy",
        "classic",
        "--runs",
        "2",
    ];
    for g in good {
        args.extend(["--good", g]);
    }
    args.extend(extra);
    culprit(repo.home.path(), &args)
}

#[test]
fn a_revert_that_removes_the_crash_confirms_the_culprit() {
    let mut repo = TestRepo::new();
    let h = repo.separate(10, 6, "BUG");
    let work = tempfile::tempdir().unwrap();
    let r = bisect(&repo, work.path(), "HEAD", &[&h[0]], "sh test.sh", &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[6]);
    assert!(r.stdout.contains("\nverifying culprit\n"), "{}", r.stdout);
    assert!(r
        .stdout
        .contains(&format!("reverting commit {} on top of {}", h[6], h[9])));
    assert!(
        r.stdout.contains("removes the crash: culprit confirmed"),
        "{}",
        r.stdout
    );
    let json = r.json();
    assert_eq!(json["flags"], serde_json::json!(["revert-fixes"]));
    let v = &json["verification"];
    assert_eq!(v["kind"], "revert");
    assert_eq!(v["base"], h[9].as_str());
    assert_eq!(
        (v["applied"].as_bool(), v["built"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(v["verdict"], "fixes");
    assert_eq!(v["runs"], serde_json::json!(["OK", "OK"]));
    assert!(json["confidence"].as_f64().unwrap() > 0.99);
    // The revert lives in culprit's clone only.
    let revert = v["commit"].as_str().unwrap();
    let known = std::process::Command::new("git")
        .args(["cat-file", "-e", revert])
        .current_dir(repo.path())
        .status()
        .unwrap();
    assert!(
        !known.success(),
        "the revert commit is in the user's repository"
    );
}

#[test]
fn a_revert_that_still_crashes_is_not_presented_as_certain() {
    // The bug is in code.c from commit 2; commit 5 makes the test reach it;
    // commit 7 reaches it another way. Reverting 5 leaves the crash.
    let mut repo = TestRepo::new();
    let mut h = repo.separate(3, 2, "BUG");
    for i in 3..10 {
        repo.write(&format!("f{i}.c"), &format!("int f{i};\n"));
        if i == 5 {
            repo.write("reach1", "yes\n");
        }
        if i == 7 {
            repo.write("reach2", "yes\n");
        }
        h.push(repo.commit(&format!("commit {i}")));
    }
    let test = "if [ -e reach1 ] || [ -e reach2 ]; then sh test.sh; fi";
    let work = tempfile::tempdir().unwrap();
    let r = bisect(&repo, work.path(), "HEAD", &[&h[0]], test, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[5]);
    let json = r.json();
    assert_eq!(json["flags"], serde_json::json!(["revert-still-crashes"]));
    assert_eq!(json["verification"]["verdict"], "still-crashes");
    let confidence = json["confidence"].as_f64().unwrap();
    assert!(confidence < 0.9, "{confidence}");
    assert!(
        r.stdout
            .contains("does not remove the crash: it may not be the culprit"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_revert_that_does_not_apply_is_reported_not_an_error() {
    // Every commit edits the same lines: the revert conflicts.
    let mut repo = TestRepo::new();
    let h = repo.linear(8, 4, "BUG");
    let work = tempfile::tempdir().unwrap();
    let r = bisect(&repo, work.path(), "HEAD", &[&h[0]], "sh test.sh", &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[4]);
    let json = r.json();
    assert_eq!(json["flags"], serde_json::json!(["revert-conflicts"]));
    assert_eq!(json["verification"]["applied"], false);
    assert!(
        r.stdout.contains("does not apply cleanly: not verified"),
        "{}",
        r.stdout
    );
    // The user's checkout is not the one that was used.
    assert!(repo.path().join(".git/REVERT_HEAD").exists().eq(&false));
}

#[test]
fn a_fix_whose_revert_brings_the_crash_back_is_confirmed() {
    let mut repo = TestRepo::new();
    let mut h = repo.separate(4, 1, "BUG");
    for i in 4..10 {
        repo.write(&format!("f{i}.c"), &format!("int f{i};\n"));
        if i == 6 {
            repo.write("code.c", "int main;\n");
        }
        h.push(repo.commit(&format!("commit {i}")));
    }
    let work = tempfile::tempdir().unwrap();
    let r = bisect(&repo, work.path(), &h[2], &[], "sh test.sh", &["--fix"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[6]);
    assert!(r.stdout.contains("\nverifying fix\n"), "{}", r.stdout);
    let json = r.json();
    assert_eq!(json["flags"], serde_json::json!(["revert-crashes"]));
    assert_eq!(json["verification"]["base"], h[9].as_str());
    assert!(
        r.stdout.contains("brings the crash back: fix confirmed"),
        "{}",
        r.stdout
    );
}

#[test]
fn no_verify_reports_the_culprit_unchecked() {
    let mut repo = TestRepo::new();
    let h = repo.separate(6, 3, "BUG");
    let work = tempfile::tempdir().unwrap();
    let r = bisect(
        &repo,
        work.path(),
        "HEAD",
        &[&h[0]],
        "sh test.sh",
        &["--no-verify"],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("verifying"));
    assert!(r.json()["verification"].is_null());
}

#[test]
fn a_revert_that_does_not_build_is_reported_not_an_error() {
    // Commit 3 brings the bug and helper.c; from commit 5 on the build needs
    // helper.c, so the revert of 3 on the bad end does not build.
    let mut repo = TestRepo::new();
    let mut h = repo.separate(3, 9, "");
    for i in 3..8 {
        repo.write(&format!("f{i}.c"), &format!("int f{i};\n"));
        if i == 3 {
            repo.write("code.c", "int main;\nBUG\n");
            repo.write("helper.c", "int helper;\n");
        }
        if i == 5 {
            repo.write("needs-helper", "yes\n");
        }
        h.push(repo.commit(&format!("commit {i}")));
    }
    let work = tempfile::tempdir().unwrap();
    let (path, workdir) = (s(repo.path()), s(work.path()));
    let build = "if [ -e needs-helper ] && [ ! -e helper.c ]; then exit 1; fi; sh build.sh";
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
        "sh test.sh",
        "--artifact",
        "out.bin",
        "--workdir",
        &workdir,
        "--strategy",
        "classic",
        "--runs",
        "2",
    ];
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[3]);
    let json = r.json();
    assert_eq!(json["flags"], serde_json::json!(["revert-build-failed"]));
    let v = &json["verification"];
    assert_eq!(
        (v["applied"].as_bool(), v["built"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(
        r.stdout.contains("does not build: not verified"),
        "{}",
        r.stdout
    );
}
