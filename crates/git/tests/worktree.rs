//! Worktrees: private checkouts that leave the user's repository alone.

use culprit_git::fixture::RepoBuilder;
use culprit_git::{Worktree, WorktreeError};

/// Everything about the user's repository that must not change.
fn user_state(b: &RepoBuilder) -> (String, String, String, Vec<String>) {
    let git_dir: Vec<String> = std::fs::read_dir(b.path().join(".git"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut entries = git_dir;
    entries.sort();
    (
        b.rev("HEAD"),
        b.git(&["status", "--porcelain", "--ignored"]),
        b.git(&["ls-files", "--stage"]),
        entries,
    )
}

#[test]
fn checkout_switches_commits_keeps_build_output_and_leaves_user_alone() {
    let mut b = RepoBuilder::new();
    let one = b.commit("one", &[("src.c", "one\n")]);
    let two = b.commit("two", &[("src.c", "two\n"), ("new.c", "new\n")]);
    std::fs::write(b.path().join("user-untracked.txt"), "mine").unwrap();
    let before = user_state(&b);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("nested/src");
    let wt = Worktree::create(&b.open(), &dir).unwrap();
    assert_eq!(wt.path(), dir);
    assert_eq!(wt.head().unwrap(), None, "nothing checked out yet");
    wt.checkout(&one).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("src.c")).unwrap(), "one\n");
    std::fs::write(dir.join("src.o"), "object").unwrap();
    std::fs::write(dir.join("src.c"), "edited by a build").unwrap();
    wt.checkout(&two).unwrap();
    assert_eq!(wt.head().unwrap().as_deref(), Some(two.as_str()));
    assert_eq!(std::fs::read_to_string(dir.join("src.c")).unwrap(), "two\n");
    assert!(dir.join("new.c").exists() && dir.join("src.o").exists());
    wt.checkout(&one).unwrap();
    assert!(
        !dir.join("new.c").exists(),
        "tracked file of the other commit removed"
    );
    wt.clean().unwrap();
    assert!(!dir.join("src.o").exists(), "clean removes build output");
    assert!(wt.checkout("HEAD").is_err());
    assert_eq!(user_state(&b), before);
    // Commits made in the user's repository after the clone are visible.
    let later = b.commit("later", &[("src.c", "later\n")]);
    wt.checkout(&later).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("src.c")).unwrap(),
        "later\n"
    );
}

#[test]
fn create_reuses_its_own_worktree_and_refuses_foreign_directories() {
    let mut b = RepoBuilder::new();
    let one = b.commit("one", &[("a", "1")]);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("src");
    let wt = Worktree::create(&b.open(), &dir).unwrap();
    wt.checkout(&one).unwrap();
    // A killed run may leave a lock and a half-made clone behind.
    std::fs::write(dir.join(".git/index.lock"), "").unwrap();
    let again = Worktree::create(&b.open(), &dir).unwrap();
    again.checkout(&one).unwrap();
    assert_eq!(again.head().unwrap().as_deref(), Some(one.as_str()));

    let foreign = work.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("file"), "x").unwrap();
    let err = Worktree::create(&b.open(), &foreign).unwrap_err();
    assert!(matches!(err, WorktreeError::Occupied { .. }), "{err:?}");
    let other = RepoBuilder::new();
    let err = Worktree::create(&other.open(), &dir).unwrap_err();
    assert!(matches!(err, WorktreeError::Occupied { .. }), "{err:?}");

    let stale = work.path().join("fresh.partial");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("junk"), "x").unwrap();
    let fresh = Worktree::create(&b.open(), &work.path().join("fresh")).unwrap();
    fresh.checkout(&one).unwrap();
    assert!(!stale.exists());
}
