//! `culprit job --from-syzbot`: a syzbot bug's JSON and the files saved
//! beside it make a job file; what is missing is named, and the job file
//! refuses to run until it is there.

mod common;

use std::path::Path;
use std::process::Command;

use common::{locked, TestRepo};

fn culprit(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = locked(Command::new(env!("CARGO_BIN_EXE_culprit")), home)
        .args(args)
        .output()
        .expect("culprit runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bug_json_makes_a_job_file_and_names_what_is_missing() {
    let mut linux = TestRepo::new();
    let head = linux.commit_code("base", "int f;\n");
    let dir = tempfile::tempdir().unwrap();
    let bug = serde_json::json!({
        "version": 1,
        "title": "WARNING in prctl_scratch_check",
        "id": "0123abcd",
        "crashes": [{
            "title": "WARNING in prctl_scratch_check",
            "c-reproducer": "/text?tag=ReproC&x=1111",
            "kernel-config": "/text?tag=KernelConfig&x=2222",
            "kernel-source-commit": head,
            "syzkaller-commit": "5555",
            "compiler-description": "gcc (Debian 12.2.0-14) 12.2.0",
            "architecture": "amd64"
        }]
    });
    let json = dir.path().join("bug.json");
    std::fs::write(&json, bug.to_string()).unwrap();
    std::fs::write(dir.path().join("repro.c"), "int main(void){return 0;}\n").unwrap();
    let repo = linux.path().display().to_string();
    let json_arg = json.display().to_string();
    let (code, stdout, stderr) = culprit(
        linux.home.path(),
        &["job", "--from-syzbot", &json_arg, "--repo", &repo],
    );
    // The config was not saved: named, exit 1, the job file written anyway.
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("missing: kernel config"), "{stderr}");
    let job = dir.path().join("job.toml");
    assert_eq!(stdout.trim(), job.display().to_string());
    let text = std::fs::read_to_string(&job).unwrap();
    assert!(text.contains(&format!("bad = \"{head}\"")), "{text}");
    assert!(
        text.contains("crash = \"WARNING in prctl_scratch_check\""),
        "{text}"
    );
    assert!(text.contains("c = \"repro.c\""), "{text}");
    // The job does not run until the config is there: one line, exit 2.
    let job_arg = job.display().to_string();
    let (code, _, stderr) = culprit(linux.home.path(), &["bisect", &job_arg]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("kernel.config") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // A second run does not overwrite the job file unless asked to.
    let (code, _, stderr) = culprit(
        linux.home.path(),
        &["job", "--from-syzbot", &json_arg, "--repo", &repo],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
}
