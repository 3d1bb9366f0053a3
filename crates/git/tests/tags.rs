//! Release tags read from a real repository.

use culprit_git::fixture::RepoBuilder;
use culprit_git::thin_releases;

#[test]
fn release_tags_are_parsed_peeled_and_ordered() {
    let mut b = RepoBuilder::new();
    let c1 = b.commit("one", &[]);
    b.annotated_tag("v5.15", "annotated release");
    b.tag("not-a-release");
    let c2 = b.commit("two", &[]);
    b.tag("v5.16-rc1");
    b.tag("v5.16-rc2");
    let c3 = b.commit("three", &[]);
    b.tag("v5.16");
    // A tag pointing at a tree is ignored.
    let tree = b.open().tree_of(&c3).unwrap();
    b.git(&["tag", "v5.17", &tree]);
    let tags = b.open().release_tags().unwrap();
    let got: Vec<(&str, &str)> = tags
        .iter()
        .map(|t| (t.name.as_str(), t.commit.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("v5.16", c3.as_str()),
            ("v5.16-rc2", &c2),
            ("v5.16-rc1", &c2),
            ("v5.15", &c1)
        ]
    );
}

#[test]
fn tags_before_bad_exclude_bad_itself_and_other_branches() {
    let mut b = RepoBuilder::new();
    b.commit("one", &[]);
    b.tag("v1.0");
    b.branch("stable");
    b.commit("stable fix", &[]);
    b.tag("v1.0.1");
    b.switch("main");
    b.commit("two", &[]);
    b.tag("v1.1-rc1");
    let bad = b.commit("three", &[]);
    b.tag("v1.1");
    let repo = b.open();
    let names =
        |tags: Vec<culprit_git::ReleaseTag>| tags.into_iter().map(|t| t.name).collect::<Vec<_>>();
    assert_eq!(
        names(repo.release_tags_before(&bad).unwrap()),
        ["v1.1-rc1", "v1.0"]
    );
    assert_eq!(names(repo.release_tags_before("stable").unwrap()), ["v1.0"]);
    assert_eq!(
        names(thin_releases(&repo.release_tags_before("HEAD").unwrap())),
        ["v1.0"]
    );
    assert!(repo.release_tags_before("no-such-rev").is_err());
}
