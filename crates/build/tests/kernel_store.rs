//! The store and the deps on a real kernel: a tinyconfig build of the
//! tests/kernel scenario at v6.1 is stored and its deps read; the deps tell
//! the docs-only commits of the scenario from the code commits; a second
//! "bisection" (another clone, another work directory) configures v6.1 and
//! gets the stored kernel without building. A few minutes on 2 cores (one
//! kernel build, through ccache when installed); skipped with a message
//! when linux-source-6.1 is absent.

use culprit_build::deps::{BuildDeps, DepsShare};
use culprit_build::store::{KernelStore, Restored};
use culprit_build::KernelRecipe;
use culprit_git::Repo;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TARBALL: &str = "/usr/src/linux-source-6.1.tar.xz";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn git(repo: &Path, args: &[&str]) -> String {
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
    assert_eq!(changes.len(), 28);
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

#[test]
fn a_second_bisection_reuses_the_stored_kernel_and_deps_sort_the_commits() {
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
    let recipe = recipe();

    // First bisection: configure, miss, build, store.
    git(&linux, &["checkout", "-q", "v6.1"]);
    let tree = git(&linux, &["rev-parse", "v6.1^{tree}"]);
    let out1 = tmp.path().join("work1/builds");
    let key = recipe
        .store_key(&tree, &recipe.configure(&linux, &out1).unwrap())
        .unwrap();
    assert!(store.get(&key).unwrap().is_none());
    let built = recipe.build(&linux, &out1).unwrap();
    println!("v6.1: {} in {:?}", built.signature, built.duration);
    assert!(store.put_built(&key, &built).unwrap());
    check_deps(&linux);

    // Second bisection: another clone and work directory, same commit.
    let linux2 = tmp.path().join("work2/linux");
    let source = linux.display().to_string();
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--no-checkout",
            &source,
            linux2.to_str().unwrap(),
        ],
    );
    git(&linux2, &["checkout", "-q", "v6.1"]);
    let out2 = tmp.path().join("work2/builds");
    let started = Instant::now();
    let configured = recipe.configure(&linux2, &out2).unwrap();
    let key2 = recipe.store_key(&tree, &configured).unwrap();
    assert_eq!(key2, key, "the same commit and recipe gave another key");
    let hit = store.get(&key2).unwrap().expect("a store hit");
    let Restored::Built(restored) = hit.restore(&out2).unwrap() else {
        panic!("v6.1 is stored as a failure");
    };
    println!(
        "second bisection: kernel from the store in {:?}",
        started.elapsed()
    );
    assert_eq!(restored.signature, built.signature);
    assert_eq!(restored.dir, out2.join(&built.signature));
    assert_eq!(
        std::fs::read(&restored.bzimage).unwrap(),
        std::fs::read(&built.bzimage).unwrap()
    );
    assert!(!linux2.join("vmlinux").exists(), "the second clone built");
}
