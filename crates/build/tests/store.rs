//! The kernel store: hits across work directories, failure records, LRU
//! eviction that spares entries in use, and concurrent users (threads and
//! processes) that never see half an entry.

use culprit_build::store::{parse_size, KernelStore, Restored, StoreKey};
use culprit_build::{BuildError, KernelBuild};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn key(tree: &str) -> StoreKey {
    StoreKey {
        tree: tree.to_string(),
        config: "config-hash".into(),
        toolchain: "gcc 12\nhash".into(),
        recipe: "bzImage".into(),
    }
}

/// What a build leaves in its out directory; file contents name the key so
/// that a reader can check it got the right, complete files.
fn fake_build(out: &Path, tree: &str, size: usize) -> KernelBuild {
    let signature = format!("sig-{tree}");
    let dir = out.join(&signature);
    std::fs::create_dir_all(&dir).unwrap();
    let body = |what: &str| {
        let mut text = format!("{what} of {tree}\n").into_bytes();
        text.resize(size, b'.');
        text
    };
    std::fs::write(dir.join("bzImage"), body("bzImage")).unwrap();
    std::fs::write(dir.join("vmlinux"), body("vmlinux")).unwrap();
    std::fs::write(dir.join("build-1.log"), format!("log of {tree}\n")).unwrap();
    KernelBuild {
        vmlinux: dir.join("vmlinux"),
        bzimage: dir.join("bzImage"),
        dir,
        signature,
        compiler_line: "gcc (Debian 12.2.0-14) 12.2.0, GNU ld 2.40".into(),
        duration: Duration::from_secs(3),
        log: out.join(format!("sig-{tree}/build-1.log")),
    }
}

fn restored_build(store: &KernelStore, tree: &str, out: &Path) -> KernelBuild {
    let hit = store.get(&key(tree)).unwrap().expect("a hit");
    match hit.restore(out).unwrap() {
        Restored::Built(build) => build,
        Restored::Failed { tail, .. } => panic!("failure record: {tail}"),
    }
}

#[test]
fn a_second_bisection_gets_the_kernel_the_first_built() {
    let tmp = tempfile::tempdir().unwrap();
    let store_dir = tmp.path().join("kernels");
    let first = KernelStore::new(&store_dir);
    let built = fake_build(&tmp.path().join("work1/builds"), "t1", 1000);
    assert!(first.get(&key("t1")).unwrap().is_none());
    assert!(first.put_built(&key("t1"), &built).unwrap());
    assert!(
        !first.put_built(&key("t1"), &built).unwrap(),
        "stored twice"
    );

    // Another process, another work directory, the same store.
    let second = KernelStore::new(&store_dir);
    let out2 = tmp.path().join("work2/builds");
    let got = restored_build(&second, "t1", &out2);
    assert_eq!(got.signature, built.signature);
    assert_eq!(got.compiler_line, built.compiler_line);
    assert_eq!(got.dir, out2.join(&built.signature));
    assert_eq!(got.duration, built.duration);
    for (a, b) in [
        (&got.bzimage, &built.bzimage),
        (&got.vmlinux, &built.vmlinux),
    ] {
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    }
    assert_eq!(std::fs::read_to_string(&got.log).unwrap(), "log of t1\n");
    // Any part of the key differs: a miss.
    let mut other = key("t1");
    other.config = "another config".into();
    assert!(second.get(&other).unwrap().is_none());
    other = key("t1");
    other.toolchain = "clang 16".into();
    assert!(second.get(&other).unwrap().is_none());
    assert!(second.get(&key("t2")).unwrap().is_none());
}

#[test]
fn failures_are_remembered_but_not_timeouts() {
    let tmp = tempfile::tempdir().unwrap();
    let store = KernelStore::new(tmp.path().join("kernels"));
    let log = tmp.path().join("failed.log");
    std::fs::write(&log, "error: foo\n").unwrap();
    let failed = BuildError::Failed {
        log: log.clone(),
        tail: "error: foo".into(),
    };
    assert!(store.put_failure(&key("bad"), "gcc", &failed, 1.0).unwrap());
    let hit = store.get(&key("bad")).unwrap().expect("failure record");
    assert_eq!(hit.build.signature, None);
    assert_eq!(
        std::fs::read_to_string(hit.file("build.log")).unwrap(),
        "error: foo\n"
    );
    match hit.restore(&tmp.path().join("out")).unwrap() {
        Restored::Failed { tail, log } => {
            assert_eq!(tail, "error: foo");
            let log = log.expect("the stored log");
            assert!(log.starts_with(tmp.path().join("out")));
            assert_eq!(std::fs::read_to_string(log).unwrap(), "error: foo\n");
        }
        Restored::Built(b) => panic!("a failure restored as {b:?}"),
    }
    let timeout = BuildError::TimedOut {
        log,
        tail: String::new(),
        limit: Duration::from_secs(1),
    };
    assert!(!store
        .put_failure(&key("slow"), "gcc", &timeout, 1.0)
        .unwrap());
    assert!(store.get(&key("slow")).unwrap().is_none());
}

#[test]
fn eviction_keeps_the_most_recently_used_and_spares_entries_in_use() {
    let tmp = tempfile::tempdir().unwrap();
    let store = KernelStore::new(tmp.path().join("kernels"));
    let out = tmp.path().join("builds");
    for tree in ["a", "b", "c"] {
        store
            .put_built(&key(tree), &fake_build(&out, tree, 10_000))
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    // A hit makes `a` the most recently used.
    drop(store.get(&key("a")).unwrap().expect("hit"));
    let list = store.list().unwrap();
    let trees: Vec<String> = list
        .iter()
        .map(|e| e.build.as_ref().unwrap().key.tree.clone())
        .collect();
    assert_eq!(trees, ["a", "c", "b"], "most recently used first");
    let entry_size = list[0].size;
    assert!(entry_size >= 20_000, "{entry_size}");
    assert_eq!(store.size().unwrap(), 3 * entry_size);

    // Room for two: the least recently used (`b`) goes.
    let pruned = store.prune(2 * entry_size).unwrap();
    let gone: Vec<&str> = pruned
        .removed
        .iter()
        .map(|e| e.build.as_ref().unwrap().key.tree.as_str())
        .collect();
    assert_eq!(gone, ["b"]);
    assert_eq!(pruned.kept_bytes, 2 * entry_size);
    assert!(store.get(&key("b")).unwrap().is_none());

    // `c` is in use: pruning to nothing removes `a` only.
    let in_use = store.get(&key("c")).unwrap().expect("hit");
    let pruned = store.prune(0).unwrap();
    assert_eq!(pruned.busy, 1);
    assert_eq!(pruned.removed.len(), 1);
    assert!(in_use.file("bzImage").is_file(), "evicted while in use");
    drop(in_use);
    assert_eq!(store.prune(0).unwrap().removed.len(), 1);
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn a_capped_store_evicts_on_publish_but_never_the_new_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("builds");
    let store = KernelStore::new(tmp.path().join("kernels")).with_cap(1);
    store
        .put_built(&key("a"), &fake_build(&out, "a", 5000))
        .unwrap();
    store
        .put_built(&key("b"), &fake_build(&out, "b", 5000))
        .unwrap();
    assert!(store.get(&key("a")).unwrap().is_none());
    assert!(store.get(&key("b")).unwrap().is_some());
}

#[test]
fn sizes_parse() {
    assert_eq!(parse_size("1048576"), Ok(1 << 20));
    assert_eq!(parse_size("20G"), Ok(20 << 30));
    assert_eq!(parse_size("1.5 GiB"), Ok(3 << 29));
    assert_eq!(parse_size("500mb"), Ok(500 << 20));
    assert!(parse_size("lots").is_err());
    assert!(parse_size("5X").is_err());
    assert!(parse_size("").is_err());
}

const HAMMER_DIR: &str = "CULPRIT_STORE_HAMMER_DIR";

/// One store user: publishes, reads back and checks, prunes; panics on any
/// torn or foreign entry.
fn hammer(store_dir: &Path, out: &Path, seed: u64, rounds: u64) -> [usize; 3] {
    let store = KernelStore::new(store_dir);
    let mut counts = [0; 3]; // hits, publishes, evictions
    for round in 0..rounds {
        let tree = format!("t{}", (seed * 7 + round * 3) % 6);
        match store.get(&key(&tree)).unwrap() {
            Some(hit) => {
                let dir = out.join(format!("r{round}"));
                let build = match hit.restore(&dir).unwrap() {
                    Restored::Built(build) => build,
                    Restored::Failed { tail, .. } => panic!("{tail}"),
                };
                let text = std::fs::read(&build.bzimage).unwrap();
                assert_eq!(text.len(), 200_000, "torn bzImage");
                assert!(text.starts_with(format!("bzImage of {tree}\n").as_bytes()));
                std::fs::remove_dir_all(&dir).unwrap();
                counts[0] += 1;
            }
            None => {
                let build = fake_build(&out.join(format!("b{round}")), &tree, 200_000);
                counts[1] += usize::from(store.put_built(&key(&tree), &build).unwrap());
            }
        }
        if round % 5 == 0 {
            counts[2] += store.prune(3 * 400_000).unwrap().removed.len();
        }
    }
    counts
}

/// Not a test on its own: the body of the processes that
/// `two_processes_and_threads_share_one_store` starts.
#[test]
#[ignore]
fn hammer_child() {
    let Some(dir) = std::env::var_os(HAMMER_DIR) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let out = tempfile::tempdir().unwrap();
    hammer(&dir, out.path(), std::process::id() as u64, 100);
}

#[test]
fn two_processes_and_threads_share_one_store() {
    let tmp = tempfile::tempdir().unwrap();
    let store_dir = tmp.path().join("kernels");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["hammer_child", "--exact", "--ignored", "--quiet"])
                .env(HAMMER_DIR, &store_dir)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let counts = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..3u64)
            .map(|seed| {
                let store_dir = &store_dir;
                let out = tmp.path().join(format!("thread{seed}"));
                scope.spawn(move || hammer(store_dir, &out, seed, 100))
            })
            .collect();
        let counts = threads.into_iter().map(|t| t.join().unwrap());
        counts.fold([0; 3], |a, b| [a[0] + b[0], a[1] + b[1], a[2] + b[2]])
    });
    println!(
        "threads: {} hits, {} publishes, {} evictions",
        counts[0], counts[1], counts[2]
    );
    assert!(
        counts.iter().all(|&n| n > 0),
        "{counts:?}: not all paths ran"
    );
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "a child process failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let store = KernelStore::new(&store_dir);
    for entry in store.list().unwrap() {
        let build = entry.build.expect("a complete entry");
        assert!(store.get(&build.key).unwrap().is_some());
    }
    assert!(store.prune(3 * 400_000).unwrap().kept_bytes <= 3 * 400_000);
    let tmp_left = std::fs::read_dir(store_dir.join("tmp")).unwrap().count();
    assert_eq!(tmp_left, 0, "temporary entries left behind");
}

#[test]
fn two_prunes_at_once_take_the_store_to_its_cap_and_count_what_they_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("kernels");
    let store = KernelStore::new(&dir);
    let out = tmp.path().join("builds");
    let trees: Vec<String> = (0..40).map(|i| format!("t{i}")).collect();
    for tree in &trees {
        store
            .put_built(&key(tree), &fake_build(&out, tree, 4_000))
            .unwrap();
    }
    let entry = store.list().unwrap()[0].size;
    let cap = 10 * entry;
    let prunes: Vec<_> = (0..2)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || KernelStore::new(&dir).prune(cap).unwrap())
        })
        .collect();
    let removed: usize = prunes
        .into_iter()
        .map(|p| p.join().unwrap().removed.len())
        .sum();
    let left = store.list().unwrap().len();
    assert_eq!(
        removed + left,
        trees.len(),
        "removals counted twice or lost"
    );
    assert_eq!(left, 10, "the store went under its cap");
    assert!(store.size().unwrap() <= cap);
}
