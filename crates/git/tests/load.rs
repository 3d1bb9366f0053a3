//! Loading the suspect graph from real repositories.

use culprit_git::fixture::RepoBuilder;
use culprit_git::{CommitGraph, LoadError};

#[test]
fn linear_range_excludes_old_end_and_is_topological() {
    let mut b = RepoBuilder::new();
    let hashes: Vec<String> = (0..6).map(|i| b.commit(&format!("c{i}"), &[])).collect();
    let g = CommitGraph::load(&b.open(), "HEAD", &[hashes[1].clone()]).unwrap();
    assert_eq!(g.len(), 4);
    for (i, h) in hashes[2..].iter().enumerate() {
        assert_eq!(g.id(i as u32), h);
        assert_eq!(g.index_of(h), Some(i as u32));
    }
    assert_eq!(g.parents(0), &[] as &[u32], "the old end is outside");
    assert_eq!(g.parents(3), &[2]);
}

#[test]
fn merges_keep_parents_inside_the_range_only() {
    let mut b = RepoBuilder::new();
    let good = b.commit("base", &[("a", "1")]);
    b.branch("side");
    let s1 = b.commit("s1", &[("b", "1")]);
    let s2 = b.commit("s2", &[("b", "2")]);
    b.switch("main");
    let m1 = b.commit("m1", &[("a", "2")]);
    let merge = b.merge("side", "merge");
    let bad = b.commit("m2", &[("a", "3")]);
    let g = CommitGraph::load(&b.open(), &bad, std::slice::from_ref(&good)).unwrap();
    assert_eq!(g.len(), 5);
    let idx = |h: &str| g.index_of(h).unwrap();
    assert_eq!(g.parents(idx(&merge)), &[idx(&m1), idx(&s2)]);
    assert_eq!(g.parents(idx(&s2)), &[idx(&s1)]);
    assert!(g.parents(idx(&s1)).is_empty() && g.parents(idx(&m1)).is_empty());
    assert_eq!(g.index_of(&good), None);
    assert_eq!(g.ancestors(idx(&bad)).iter().filter(|&&a| a).count(), 5);
    // Several old ends: everything reachable from the side branch goes too.
    let g2 = CommitGraph::load(&b.open(), &bad, &[good, s2]).unwrap();
    assert_eq!(g2.len(), 3);
    assert_eq!(
        g2.parents(g2.index_of(&merge).unwrap()),
        &[g2.index_of(&m1).unwrap()]
    );
}

#[test]
fn unknown_ends_are_named() {
    let mut b = RepoBuilder::new();
    b.commit("c", &[]);
    let err = CommitGraph::load(&b.open(), "HEAD", &["v9.9".to_string()]).unwrap_err();
    assert!(matches!(err, LoadError::Resolve(_)), "{err:?}");
    assert!(err.to_string().contains("v9.9"), "{err}");
}

#[test]
fn a_new_end_older_than_the_old_end_gives_an_empty_range() {
    let mut b = RepoBuilder::new();
    let first = b.commit("first", &[]);
    b.commit("second", &[]);
    let g = CommitGraph::load(&b.open(), &first, &["HEAD".to_string()]).unwrap();
    assert!(g.is_empty());
    assert_eq!(g.bisect_choice(&[], &[]), None);
}
