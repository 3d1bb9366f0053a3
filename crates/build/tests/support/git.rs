//! Running git in the tests' repositories.

use std::path::Path;
use std::process::Command;

/// Runs `git -C repo ARGS` and returns its trimmed output; panics, with
/// git's message, when it fails.
pub fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
