//! Repository queries against real repositories built with the fixture.

use culprit_git::fixture::RepoBuilder;
use culprit_git::{OpenError, Repo, ResolveError};

#[test]
fn open_rejects_missing_paths_and_non_repositories() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let err = Repo::open(&plain).unwrap_err();
    assert!(matches!(err, OpenError::NotARepository { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&plain.display().to_string()),
        "{err}"
    );
    let missing = dir.path().join("missing");
    let err = Repo::open(&missing).unwrap_err();
    assert!(matches!(err, OpenError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn resolve_peels_tags_and_names_unknown_revisions() {
    let mut b = RepoBuilder::new();
    let first = b.commit("first", &[("a", "1")]);
    b.annotated_tag("v1.0", "release 1.0");
    let second = b.commit("second", &[("a", "2")]);
    let repo = b.open();
    assert_eq!(repo.resolve("v1.0").unwrap(), first);
    assert_eq!(repo.resolve(&first[..10]).unwrap(), first);
    assert_eq!(repo.resolve("HEAD~1").unwrap(), first);
    assert_eq!(repo.head().unwrap(), second);
    for bad in ["no-such-branch", "", "--all", "HEAD~5", "deadbeef"] {
        let err = repo.resolve(bad).unwrap_err();
        assert!(
            matches!(err, ResolveError::UnknownRevision { .. }),
            "{bad}: {err:?}"
        );
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
    }
    // A tree is an object but not a commit.
    let tree = repo.tree_of(&second).unwrap();
    assert!(repo.resolve(&tree).is_err());
}

#[test]
fn commit_metadata_and_trailers() {
    let mut b = RepoBuilder::new();
    let parent = b.commit("parent", &[]);
    let msg = "mm: fix a leak\n\nThe leak happens when\nthings go wrong.\n\n\
               Fixes: 0123456789ab (\"mm: add thing\")\nReported-by: bot@example.com\n\
               Signed-off-by: Dev One <dev@example.com>\n";
    let hash = b.commit(msg, &[("mm/x.c", "int x;\n")]);
    let c = b.open().commit(&hash).unwrap();
    assert_eq!(c.hash, hash);
    assert_eq!(c.title, "mm: fix a leak");
    assert_eq!(
        (c.author_name.as_str(), c.author_email.as_str()),
        ("Culprit Test", "test@example.com")
    );
    assert_eq!(c.parents, [parent]);
    assert!(
        c.body.starts_with("mm: fix a leak\n\nThe leak"),
        "{:?}",
        c.body
    );
    assert!(
        c.date.ends_with("+0000") && c.date.contains("2023"),
        "{}",
        c.date
    );
    assert!(c.timestamp > 1_700_000_000, "{}", c.timestamp);
    let keys: Vec<&str> = c.trailers.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, ["Fixes", "Reported-by", "Signed-off-by"]);
    assert_eq!(
        c.trailer_values("signed-off-by").collect::<Vec<_>>(),
        ["Dev One <dev@example.com>"]
    );
}

#[test]
fn commits_in_batch_keep_the_requested_order() {
    let mut b = RepoBuilder::new();
    let hashes: Vec<String> = (0..5).map(|i| b.commit(&format!("c{i}"), &[])).collect();
    let mut asked = hashes.clone();
    asked.reverse();
    asked.push(hashes[2].clone());
    let got = b.open().commits(&asked).unwrap();
    let titles: Vec<&str> = got.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["c4", "c3", "c2", "c1", "c0", "c2"]);
}

#[test]
fn ancestry_through_merges() {
    let mut b = RepoBuilder::new();
    let base = b.commit("base", &[("a", "1")]);
    b.branch("side");
    let side = b.commit("side", &[("b", "1")]);
    b.switch("main");
    let main = b.commit("main", &[("a", "2")]);
    let merge = b.merge("side", "merge side");
    let repo = b.open();
    assert!(repo.is_ancestor(&base, &merge).unwrap());
    assert!(repo.is_ancestor(&side, &merge).unwrap());
    assert!(repo.is_ancestor(&merge, &merge).unwrap());
    assert!(!repo.is_ancestor(&side, &main).unwrap());
    assert!(!repo.is_ancestor(&merge, &base).unwrap());
    assert!(repo.is_ancestor("nope", &base).is_err());
    assert_eq!(repo.commit(&merge).unwrap().parents, [main, side]);
}

#[test]
fn tree_is_shared_by_commits_with_the_same_content() {
    let mut b = RepoBuilder::new();
    let one = b.commit("one", &[("a", "1")]);
    let two = b.commit("two", &[("a", "2")]);
    let back = b.commit("back", &[("a", "1")]);
    let repo = b.open();
    assert_eq!(repo.tree_of(&one).unwrap(), repo.tree_of(&back).unwrap());
    assert_ne!(repo.tree_of(&one).unwrap(), repo.tree_of(&two).unwrap());
}

#[test]
fn show_stat_looks_like_syzbots_first_bad_commit() {
    let mut b = RepoBuilder::new();
    b.commit("base", &[("virt/kvm/kvm_main.c", "a\nb\n")]);
    let msg = "KVM: use interval tree\n\nLonger text.\n\nSigned-off-by: A <a@b>\n";
    let hash = b.commit(
        msg,
        &[
            ("virt/kvm/kvm_main.c", "a\nc\nd\n"),
            ("arch/x86/kvm/Kconfig", "x\n"),
        ],
    );
    let text = b.open().show_stat(&hash).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("commit {hash}"));
    assert_eq!(lines[1], "Author: Culprit Test <test@example.com>");
    assert!(
        lines[2].starts_with("Date:   ") && lines[2].ends_with("+0000"),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3], "");
    assert_eq!(lines[4], "    KVM: use interval tree");
    assert!(lines.contains(&"    Signed-off-by: A <a@b>"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(" virt/kvm/kvm_main.c  | 3 ++-")),
        "{text}"
    );
    assert_eq!(
        lines.last(),
        Some(&" 2 files changed, 3 insertions(+), 1 deletion(-)"),
        "{text}"
    );
}

#[test]
fn trailers_agree_with_git_interpret_trailers_on_kernel_style_messages() {
    let b = RepoBuilder::new();
    let messages = [
        "KVM: x86: fix\n\nBody text.\n\nSigned-off-by: A <a@b>\nReviewed-by: B <b@c>\n",
        "mm: thing\n\nWhy: because.\n\n[sean: handle updates]\nSigned-off-by: M <m@o>\nMessage-Id: <d6@o>\n",
        "net: fix\n\nFixes: 0123456789ab (\"net: add\")\nCc: stable@vger.kernel.org\nLink: https://lore.kernel.org/r/x\n",
        "subject only\n",
        "subject\n\nJust prose: nothing here.\nMore prose.\n",
    ];
    for message in messages {
        let parsed = b.git_with_input(&["interpret-trailers", "--parse"], message.as_bytes());
        let git: Vec<String> = parsed.lines().map(str::to_string).collect();
        let ours: Vec<String> = culprit_git::parse_trailers(message)
            .iter()
            .map(|t| format!("{}: {}", t.key, t.value))
            .collect();
        assert_eq!(ours, git, "{message:?}");
    }
}
