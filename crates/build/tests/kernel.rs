//! One real kernel build: the scenario of tests/kernel/ at v6.1, then at its
//! first (docs-only) commit, which must give the same signature, then at the
//! commit that breaks the build. Takes a few minutes on 2 cores (the first
//! build dominates); skipped with a message when linux-source-6.1 is absent.

#[path = "support/git.rs"]
mod support_git;
use culprit_build::{BuildError, KernelRecipe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support_git::git;

const TARBALL: &str = "/usr/src/linux-source-6.1.tar.xz";
const DOCS_ONLY: &str = "docs: sysctl/kernel: say that panic_on_warn is off by default";
const BREAKS_BUILD: &str = "prctl: read the scratch value in a helper";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn commit_titled(repo: &Path, title: &str) -> String {
    let log = git(repo, &["log", "--format=%H %s", "v6.1..master"]);
    let line = log.lines().find(|l| l.ends_with(title));
    line.and_then(|l| l.split(' ').next())
        .expect("commit in scenario")
        .to_string()
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn recipe() -> KernelRecipe {
    let mut recipe = KernelRecipe::new(workspace().join("tests/kernel/config"), "gcc");
    recipe.ccache = find_in_path("ccache");
    recipe.timeout = Duration::from_secs(1800);
    recipe
}

#[test]
fn docs_only_commit_keeps_the_signature_and_broken_commit_fails() {
    if !Path::new(TARBALL).is_file() {
        println!("skipped: {TARBALL} is absent (install linux-source-6.1)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("linux");
    let script = workspace().join("tests/kernel/make-scenario.sh");
    let status = Command::new(&script).arg(&repo).status().unwrap();
    assert!(status.success(), "make-scenario.sh failed");
    let out = tmp.path().join("builds");
    let recipe = recipe();

    git(&repo, &["checkout", "-q", "v6.1"]);
    let base = recipe.build(&repo, &out).unwrap();
    println!("v6.1: {} in {:?}", base.signature, base.duration);
    assert!(
        base.compiler_line.starts_with("gcc "),
        "{}",
        base.compiler_line
    );
    assert!(
        base.compiler_line.contains(", GNU ld "),
        "{}",
        base.compiler_line
    );
    assert_eq!(base.dir, out.join(&base.signature));
    assert!(std::fs::metadata(&base.bzimage).unwrap().len() > 100_000);
    assert!(base.vmlinux.is_file() && base.log.is_file());

    git(&repo, &["checkout", "-q", &commit_titled(&repo, DOCS_ONLY)]);
    let docs = recipe.build(&repo, &out).unwrap();
    println!("docs-only: {} in {:?}", docs.signature, docs.duration);
    assert_eq!(
        docs.signature, base.signature,
        "docs-only commit changed vmlinux"
    );

    git(
        &repo,
        &["checkout", "-q", &commit_titled(&repo, BREAKS_BUILD)],
    );
    match recipe.build(&repo, &out) {
        Err(error @ BuildError::Failed { .. }) => {
            assert!(error.is_commit_failure());
            let tail = error.output_tail().unwrap_or_default();
            assert!(
                tail.contains("prctl_scratch_get"),
                "unexpected tail:\n{tail}"
            );
        }
        other => panic!("the build-breaking commit gave {other:?}"),
    }
}
