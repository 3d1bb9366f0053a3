//! Compilers, config fix-ups and backports by release, on a git fixture
//! with release tags: each applies only where it belongs, and shows in the
//! log and in the build's identity.

use culprit_build::kconfig::KernelConfig;
use culprit_build::releases::{
    adjust, apply_backports, default_fixups, release_of, Backport, CompilerRule, CompilerTable,
    Release,
};
use culprit_git::fixture::RepoBuilder;
use std::path::PathBuf;
use std::process::Command;

/// v5.3 ── breaks ── v5.4-rc1 ── v5.4 ── fix ── v5.5 (annotated) ── tip
struct History {
    repo: RepoBuilder,
    before_break: String,
    broken: String,
    rc: String,
    on_54: String,
    fix: String,
    tip: String,
}

fn history() -> History {
    let mut repo = RepoBuilder::new();
    let before_break = repo.commit("base", &[("build.sh", "ok\n"), ("code.c", "1\n")]);
    repo.tag("v5.3");
    let broken = repo.commit(
        "build: use a flag old assemblers lack",
        &[("build.sh", "broken\n")],
    );
    let rc = repo.commit("code: more", &[("code.c", "2\n")]);
    repo.tag("v5.4-rc1");
    let on_54 = repo.commit("code: even more", &[("code.c", "3\n")]);
    repo.tag("v5.4");
    let fix = repo.commit(
        "build: fix the flag for old assemblers",
        &[("build.sh", "ok\n")],
    );
    repo.annotated_tag("v5.5", "Linux 5.5");
    let tip = repo.commit("code: latest", &[("code.c", "4\n")]);
    History {
        repo,
        before_break,
        broken,
        rc,
        on_54,
        fix,
        tip,
    }
}

fn table() -> CompilerTable {
    let rule = |since: Option<&str>, until: Option<&str>, compiler: &str| CompilerRule {
        since: since.and_then(Release::parse),
        until: until.and_then(Release::parse),
        compiler: PathBuf::from(compiler),
        linker: None,
    };
    CompilerTable {
        rules: vec![
            rule(Some("v5.4"), None, "gcc-12"),
            rule(None, Some("v5.4"), "gcc-11"),
        ],
    }
}

#[test]
fn the_release_is_the_newest_tag_below_and_picks_the_compiler() {
    let h = history();
    let path = h.repo.path();
    let release = |commit: &str| release_of(path, commit).unwrap().map(|r| r.to_string());
    assert_eq!(release(&h.before_break).as_deref(), Some("v5.3"));
    assert_eq!(release(&h.broken).as_deref(), Some("v5.3"));
    assert_eq!(release(&h.rc).as_deref(), Some("v5.4"));
    assert_eq!(release(&h.fix).as_deref(), Some("v5.5"));
    assert_eq!(release(&h.tip).as_deref(), Some("v5.5"));
    let compiler = |commit: &str| {
        let release = release_of(path, commit).unwrap();
        table()
            .pick(release)
            .unwrap()
            .compiler
            .display()
            .to_string()
    };
    assert_eq!(compiler(&h.broken), "gcc-11");
    assert_eq!(compiler(&h.rc), "gcc-12");
    assert_eq!(compiler(&h.tip), "gcc-12");
}

#[test]
fn a_fixup_applies_before_its_release_and_changes_the_identity() {
    let h = history();
    let config = || KernelConfig::parse("CONFIG_KCOV=y\nCONFIG_UBSAN=y\n");
    let fixups = default_fixups();
    let at = |commit: &str| {
        let mut config = config();
        let (adjustments, _) =
            adjust(h.repo.path(), commit, &table(), &fixups, &[], &mut config).unwrap();
        (adjustments, config)
    };
    let (old, old_config) = at(&h.broken);
    assert_eq!(old_config.get("KCOV"), Some("n"));
    assert_eq!(old_config.get("UBSAN"), Some("y"));
    assert!(old.fixups.contains(&"KCOV=n".to_string()));
    assert!(old.identity().contains("KCOV=n"), "{}", old.identity());
    assert!(
        old.identity().contains("compiler=gcc-11"),
        "{}",
        old.identity()
    );
    let (new, new_config) = at(&h.on_54);
    assert_eq!(new_config.get("KCOV"), Some("y"));
    assert!(!new.identity().contains("KCOV=n"), "{}", new.identity());
    assert!(new.identity().contains("LOCALVERSION_AUTO=n"));
    assert_ne!(old.identity(), new.identity());
}

#[test]
fn a_backport_applies_between_the_break_and_the_fix_only() {
    let h = history();
    let backports = [Backport {
        fix: h.fix.clone(),
        fixes: vec![h.broken.clone()],
        title: None,
    }];
    let needs = |commit: &str| {
        let mut config = KernelConfig::default();
        let (_, needed) = adjust(
            h.repo.path(),
            commit,
            &table(),
            &[],
            &backports,
            &mut config,
        )
        .unwrap();
        needed.len()
    };
    assert_eq!(needs(&h.before_break), 0);
    assert_eq!(needs(&h.broken), 1);
    assert_eq!(needs(&h.on_54), 1);
    assert_eq!(needs(&h.fix), 0);
    assert_eq!(needs(&h.tip), 0);

    // Applied in a checkout of culprit's own: the user's stays as it was.
    let scratch = tempfile::tempdir().unwrap();
    let checkout = scratch.path().join("checkout");
    let status = Command::new("git")
        .args(["clone", "-q", "--shared"])
        .arg(h.repo.path())
        .arg(&checkout)
        .status()
        .unwrap();
    assert!(status.success());
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(&checkout)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    git(&["checkout", "-q", "--detach", &h.on_54]);
    let tree_before = git(&["rev-parse", "HEAD^{tree}"]);
    let needed: Vec<&Backport> = backports.iter().collect();
    let mut log = Vec::new();
    let applied = apply_backports(&checkout, &needed, &mut log).unwrap();
    let log = String::from_utf8(log).unwrap();
    assert_eq!(
        log,
        format!(
            "applying backport {} build: fix the flag for old assemblers\n",
            h.fix
        )
    );
    assert_eq!(
        std::fs::read_to_string(checkout.join("build.sh")).unwrap(),
        "ok\n"
    );
    assert_eq!(
        std::fs::read_to_string(checkout.join("code.c")).unwrap(),
        "3\n"
    );
    assert_ne!(git(&["rev-parse", "HEAD^{tree}"]), tree_before);
    let mut config = KernelConfig::default();
    let (mut adjustments, _) = adjust(
        h.repo.path(),
        &h.on_54,
        &table(),
        &[],
        &backports,
        &mut config,
    )
    .unwrap();
    adjustments.backports = applied;
    assert!(
        adjustments.identity().contains(&h.fix),
        "{}",
        adjustments.identity()
    );
    let user_head = h.repo.rev("HEAD");
    assert_eq!(user_head, h.tip);
    let user_file = std::fs::read_to_string(h.repo.path().join("code.c")).unwrap();
    assert_eq!(user_file, "4\n");
}
