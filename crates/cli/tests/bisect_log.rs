//! The whole text log of a flaky bisection with the default strategy, as a
//! snapshot: every line in the order things happened (the work directory
//! first, each batch of runs on one line, verdicts as they are reached,
//! the verification by revert, the confidence on the result line). Times
//! and paths are masked.

mod common;

use common::{culprit, TestRepo};

#[test]
fn the_log_of_a_flaky_bisection_reads_in_time_order() {
    let mut repo = TestRepo::new();
    // The bug comes in at commit 9 and shows in runs 0 and 5 of every 10;
    // its revert applies cleanly on the bad end.
    let h = repo.separate(24, 9, "FLAKY");
    let work = tempfile::tempdir().unwrap();
    let workdir = work.path().display().to_string();
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
        "--artifact",
        "out.bin",
        "--workdir",
        &workdir,
    ];
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.culprit_hash(), h[9]);
    let log = mask(&r.stdout, &workdir);
    insta::assert_snapshot!(log);
}

/// The log with the work directory, its key and the times replaced.
fn mask(log: &str, workdir: &str) -> String {
    log.lines()
        .map(|line| {
            if line.starts_with("work directory: ") {
                "work directory: WORKDIR (this bisection's logs in bisections/KEY)".to_string()
            } else if line.starts_with("revisions tested: ") {
                let tested = line.split(',').next().unwrap_or(line);
                format!("{tested}, total time: T (build: T, test: T)")
            } else if line.starts_with("reverting commit ") || line.contains(" (revert of ") {
                line.to_string()
            } else {
                line.replace(workdir, "WORKDIR")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
