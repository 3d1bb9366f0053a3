//! syzkaller built per commit and cached, on a fake syzkaller repository
//! whose Makefile builds the stand-in of tests/syz (so no network and no
//! Go build are needed), and ready-built binaries.

#[path = "support/git.rs"]
mod support_git;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use support_git::git;

use culprit_build::syzkaller::{SyzkallerBuilder, SyzkallerError, SyzkallerSource};

fn standin_sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/syz")
}

/// A syzkaller look-alike: the stand-in's sources, a Makefile that also
/// counts its builds in `counter`, two commits (`first`, `second`) and a
/// third whose build fails (`broken`).
fn fake_syzkaller(dir: &Path) -> PathBuf {
    let repo = dir.join("syzkaller");
    std::fs::create_dir_all(&repo).unwrap();
    for file in ["execprog.c", "executor.c", "standin.h"] {
        std::fs::copy(standin_sources().join(file), repo.join(file)).unwrap();
    }
    std::fs::copy(standin_sources().join("Makefile"), repo.join("standin.mk")).unwrap();
    let counter = dir.join("counter");
    let makefile = format!(
        ".PHONY: count\nexecprog: count\ncount:\n\techo built >> {}\ninclude standin.mk\n",
        counter.display()
    );
    std::fs::write(repo.join("Makefile"), makefile).unwrap();
    git(&repo, &["init", "-q", "-b", "master"]);
    git(&repo, &["config", "user.email", "t@example.org"]);
    git(&repo, &["config", "user.name", "T"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "first"]);
    git(&repo, &["tag", "first"]);
    std::fs::write(repo.join("README"), "second\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "second"]);
    git(&repo, &["tag", "second"]);
    std::fs::write(repo.join("executor.c"), "this is not C\n").unwrap();
    git(&repo, &["commit", "-qam", "broken"]);
    git(&repo, &["tag", "broken"]);
    git(&repo, &["checkout", "-q", "first"]);
    repo
}

fn builds(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("counter"))
        .map(|text| text.lines().count())
        .unwrap_or(0)
}

#[test]
fn built_once_per_commit_then_cached_and_the_checkout_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fake_syzkaller(dir.path());
    let head_before = git(&repo, &["rev-parse", "HEAD"]);
    let builder = SyzkallerBuilder::new(dir.path().join("cache"));
    let first = builder.build(&repo, "first").unwrap();
    let hash = git(&repo, &["rev-parse", "first"]);
    assert_eq!(first.commit.as_deref(), Some(hash.as_str()));
    assert_eq!(
        first.log_line().unwrap(),
        format!("building syzkaller on {hash}")
    );
    assert!(!first.from_cache);
    assert!(first.flags.takes_optional() && first.flags.knows("collide"));
    for binary in [&first.execprog, &first.executor] {
        assert!(
            binary.starts_with(dir.path().join("cache").join(&hash)),
            "{binary:?}"
        );
        let bytes = std::fs::read(binary).unwrap();
        assert_eq!(&bytes[..4], b"\x7fELF");
    }
    assert_eq!(builds(dir.path()), 1);

    // Again, by another builder on the same cache: nothing is built.
    let again = SyzkallerBuilder::new(dir.path().join("cache"))
        .prepare(&SyzkallerSource::Checkout {
            repo: repo.clone(),
            commit: hash[..12].to_string(),
        })
        .unwrap();
    assert!(again.from_cache);
    assert_eq!((again.execprog, again.flags), (first.execprog, first.flags));
    assert_eq!(builds(dir.path()), 1);

    // The user's checkout: same HEAD, nothing built or left in it.
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head_before);
    assert_eq!(git(&repo, &["status", "--porcelain", "--ignored"]), "");
    assert_eq!(git(&repo, &["worktree", "list"]).lines().count(), 1);
    // No build directory is left behind.
    let tmp = dir.path().join("cache/tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
}

#[test]
fn concurrent_bisections_build_a_commit_once() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Arc::new(fake_syzkaller(dir.path()));
    let cache = dir.path().join("cache");
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (repo, cache) = (repo.clone(), cache.clone());
            std::thread::spawn(move || SyzkallerBuilder::new(cache).build(&repo, "second"))
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let mut fresh = 0;
    for result in &results {
        let binaries = result.as_ref().unwrap();
        assert!(binaries.executor.is_file());
        fresh += usize::from(!binaries.from_cache);
    }
    assert_eq!((fresh, builds(dir.path())), (1, 1));
}

#[test]
fn unknown_commit_and_failed_build_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fake_syzkaller(dir.path());
    let builder = SyzkallerBuilder::new(dir.path().join("cache"));
    let err = builder.build(&repo, "no-such-commit").unwrap_err();
    assert!(matches!(err, SyzkallerError::Commit { .. }), "{err}");
    assert!(err.to_string().contains("no-such-commit"), "{err}");
    let err = builder.build(&repo, "--help").unwrap_err();
    assert!(err.to_string().ends_with("not a revision"), "{err}");

    let err = builder.build(&repo, "broken").unwrap_err();
    let SyzkallerError::Build { log, .. } = &err else {
        panic!("not a build failure: {err}");
    };
    assert!(log.is_file(), "{log:?}");
    assert!(
        err.to_string().contains("make execprog executor failed"),
        "{err}"
    );
    assert!(err.to_string().contains("executor.c"), "{err}");
    // A failure is not cached: the next try builds again.
    assert!(builder.build(&repo, "broken").is_err());
    assert_eq!(builds(dir.path()), 2);
}

#[test]
fn prebuilt_binaries_are_found_in_bin_linux_amd64() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bin/linux_amd64");
    let made = Command::new("make")
        .arg("-C")
        .arg(standin_sources())
        .arg(format!("BIN={}", out.display()))
        .args(["execprog", "executor"])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let builder = SyzkallerBuilder::new(dir.path().join("cache"));
    let found = builder
        .prepare(&SyzkallerSource::Prebuilt {
            dir: dir.path().to_owned(),
        })
        .unwrap();
    assert_eq!(found.execprog, out.join("syz-execprog"));
    assert_eq!(found.commit, None);
    assert_eq!(found.log_line(), None);
    assert!(found.flags.knows("sandbox_arg"));

    std::fs::remove_file(out.join("syz-executor")).unwrap();
    let err = builder
        .prepare(&SyzkallerSource::Prebuilt {
            dir: dir.path().to_owned(),
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("no syz-executor in {}", dir.path().display())
    );
}
