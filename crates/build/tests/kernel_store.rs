//! The store and the deps on a real kernel: tinyconfig builds of the
//! tests/kernel scenario at v6.1 (stored) and at the commit that breaks the
//! build (stored as a failure); the deps of the v6.1 build tell the
//! docs-only commits of the scenario from the code commits; a second
//! "bisection" (another clone, another work directory) gets both from the
//! store without building. A few minutes on 2 cores (one
//! kernel build, through ccache when installed); skipped with a message
//! when linux-source-6.1 is absent.

#[path = "support/git.rs"]
mod support_git;
use culprit_build::deps::{BuildDeps, DepsShare};
use culprit_build::store::{build_through, KernelStore, ThroughStore};
use culprit_build::{BuildError, KernelRecipe};
use culprit_git::Repo;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support_git::git;

const TARBALL: &str = "/usr/src/linux-source-6.1.tar.xz";
const BREAKS_BUILD: &str = "prctl: read the scratch value in a helper";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
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

/// Checks the deps of the v6.1 build against the scenario's commits: the
/// documentation commits cannot change the kernel, every code commit can.
fn check_deps(linux: &Path) {
    let deps = BuildDeps::from_tree(linux).unwrap();
    for read in [
        "init/main.c",
        "kernel/sys.c",
        "include/linux/kernel.h",
        "include/uapi/linux/prctl.h",
        "arch/x86/entry/syscalls/syscall_64.tbl",
        "arch/x86/kernel/vmlinux.lds.S",
    ] {
        assert!(deps.contains(read), "{read} missing from the deps");
    }
    assert!(!deps.contains("Documentation/admin-guide/sysctl/kernel.rst"));
    let share = DepsShare::of_tree(linux, &deps).unwrap();
    println!(
        "tinyconfig deps: {} files read; of {} tracked: {:.1}% read, {:.1}% build system, {:.1}% relevant",
        deps.len(),
        share.tracked,
        share.percent(share.read),
        share.percent(share.build_system),
        share.percent(share.relevant)
    );
    assert!(
        share.read > 1000 && share.relevant < share.tracked / 3,
        "{share:?}"
    );

    let repo = Repo::open(linux).unwrap();
    let changes = repo.changed_paths("master", &["v6.1".to_string()]).unwrap();
    assert_eq!(changes.len(), 29);
    for line in git(linux, &["log", "--format=%H %s", "v6.1..master"]).lines() {
        let (hash, title) = line.split_once(' ').unwrap();
        let docs = title.starts_with("docs:") || title.starts_with("Documentation:");
        assert_eq!(
            deps.relevant(&changes[hash]),
            !docs,
            "{title}: {:?}",
            changes[hash]
        );
    }
}

fn commit_titled(repo: &Path, title: &str) -> String {
    let log = git(repo, &["log", "--format=%H %s", "v6.1..master"]);
    let line = log.lines().find(|l| l.ends_with(title));
    line.and_then(|l| l.split(' ').next())
        .expect("commit in scenario")
        .to_string()
}

/// Checks out `rev` and gets its kernel through the store.
fn through(store: &KernelStore, linux: &Path, rev: &str, out: &Path) -> ThroughStore {
    git(linux, &["checkout", "-q", rev]);
    let tree = git(linux, &["rev-parse", &format!("{rev}^{{tree}}")]);
    let done = build_through(store, &recipe(), &tree, linux, out);
    assert!(done.store_error.is_none(), "{:?}", done.store_error);
    done
}

fn assert_breaks_the_build(done: ThroughStore) {
    match done.result {
        Err(error @ BuildError::Failed { .. }) => {
            let tail = error.output_tail().unwrap_or_default();
            assert!(tail.contains("prctl_scratch_get"), "tail:\n{tail}");
        }
        other => panic!("the build-breaking commit gave {other:?}"),
    }
}

#[test]
fn a_second_bisection_reuses_stored_kernels_and_failures_and_deps_sort_the_commits() {
    if !Path::new(TARBALL).is_file() {
        println!("skipped: {TARBALL} is absent (install linux-source-6.1)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let linux = tmp.path().join("work1/linux");
    let script = workspace().join("tests/kernel/make-scenario.sh");
    let status = Command::new(&script).arg(&linux).status().unwrap();
    assert!(status.success(), "make-scenario.sh failed");
    let store = KernelStore::new(tmp.path().join("kernels"));
    let broken = commit_titled(&linux, BREAKS_BUILD);

    // First bisection: v6.1 and the broken commit are built and stored.
    let out1 = tmp.path().join("work1/builds");
    let first = through(&store, &linux, "v6.1", &out1);
    assert!(!first.from_store);
    let built = first.result.unwrap();
    println!("v6.1: {} in {:?}", built.signature, built.duration);
    check_deps(&linux);
    let failed = through(&store, &linux, &broken, &out1);
    assert!(!failed.from_store);
    assert_breaks_the_build(failed);
    assert_eq!(store.list().unwrap().len(), 2);

    // Second bisection: another clone and work directory, same commits.
    let linux2 = tmp.path().join("work2/linux");
    let source = linux.display().to_string();
    let target = linux2.display().to_string();
    git(
        tmp.path(),
        &["clone", "-q", "--no-checkout", &source, &target],
    );
    let out2 = tmp.path().join("work2/builds");
    let started = Instant::now();
    let second = through(&store, &linux2, "v6.1", &out2);
    println!(
        "second bisection: v6.1 from the store in {:?}",
        started.elapsed()
    );
    assert!(second.from_store, "v6.1 was built again");
    let restored = second.result.unwrap();
    assert_eq!(restored.signature, built.signature);
    assert_eq!(restored.dir, out2.join(&built.signature));
    assert_eq!(
        std::fs::read(&restored.bzimage).unwrap(),
        std::fs::read(&built.bzimage).unwrap()
    );
    let failed = through(&store, &linux2, &broken, &out2);
    assert!(failed.from_store, "the broken commit was built again");
    assert_breaks_the_build(failed);
    assert!(!linux2.join("vmlinux").exists(), "the second clone built");
}
