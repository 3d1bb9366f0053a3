//! Paths changed per commit, read from real repositories.

use culprit_git::fixture::RepoBuilder;
use culprit_git::ChangesError;

fn sorted(mut paths: Vec<String>) -> Vec<String> {
    paths.sort();
    paths
}

#[test]
fn every_commit_of_the_range_against_its_first_parent() {
    let mut b = RepoBuilder::new();
    let root = b.commit("root", &[("a", "1"), ("dir/x", "1")]);
    let old = b.commit("base", &[("a", "2")]);
    b.branch("side");
    let s1 = b.commit("side 1", &[("s/one", "1")]);
    b.git(&["mv", "dir/x", "dir/y"]);
    let renamed = b.commit("rename", &[]);
    b.switch("main");
    let m1 = b.commit("main 1", &[("m", "1")]);
    b.git(&["rm", "-q", "a"]);
    let deleted = b.commit("delete a", &[]);
    let merge = b.merge("side", "merge side");
    let empty = b.commit("empty", &[]);
    let repo = b.open();

    let changes = repo
        .changed_paths("HEAD", std::slice::from_ref(&old))
        .unwrap();
    assert_eq!(changes.len(), 6, "{changes:?}");
    assert_eq!(changes[&s1], ["s/one"], "side-branch commits are listed");
    assert_eq!(sorted(changes[&renamed].clone()), ["dir/x", "dir/y"]);
    assert_eq!(changes[&m1], ["m"]);
    assert_eq!(changes[&deleted], ["a"]);
    // The merge against its first parent: the whole side branch.
    assert_eq!(sorted(changes[&merge].clone()), ["dir/x", "dir/y", "s/one"]);
    assert!(changes[&empty].is_empty());
    assert!(!changes.contains_key(&old) && !changes.contains_key(&root));

    // Without an old end the root commit is diffed against the empty tree.
    let all = repo.changed_paths(&m1, &[]).unwrap();
    assert_eq!(sorted(all[&root].clone()), ["a", "dir/x"]);
    assert_eq!(all.len(), 3);
}

#[test]
fn several_old_ends_and_unknown_revisions() {
    let mut b = RepoBuilder::new();
    let base = b.commit("base", &[("a", "1")]);
    b.branch("side");
    let s1 = b.commit("s1", &[("b", "1")]);
    b.switch("main");
    b.commit("m1", &[("a", "2")]);
    let merge = b.merge("side", "merge");
    let repo = b.open();
    let changes = repo
        .changed_paths(&merge, &[base.clone(), s1.clone()])
        .unwrap();
    assert_eq!(changes.len(), 2);
    assert!(!changes.contains_key(&s1));
    assert_eq!(changes[&merge], ["b"]);
    let err = repo.changed_paths("HEAD", &["nope".into()]).unwrap_err();
    assert!(matches!(err, ChangesError::Resolve(_)), "{err:?}");
    assert!(err.to_string().contains("nope"), "{err}");
}
