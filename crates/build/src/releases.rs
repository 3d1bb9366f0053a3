//! What a kernel build depends on by release: the compiler
//! ([`CompilerTable`]), config fix-ups ([`ConfigFixup`]: options forced
//! off before a release, or always) and backported build fixes
//! ([`Backport`]: cherry-picked into culprit's own checkout when the commit
//! they fix is an ancestor and they are not). [`Adjustments`] gathers what
//! applied to one commit; its [`Adjustments::identity`] belongs to the
//! build's identity.
//!
//! A commit's release is the `X.Y` of the newest release tag (`vX.Y`,
//! `vX.Y.Z` or `vX.Y-rcN`) that is the commit or one of its ancestors:
//! code after `v5.4-rc1` is 5.4 code. A commit with no such tag has no
//! release and takes the rules that have no upper bound (today's code).

use crate::kconfig::KernelConfig;
use culprit_git::Version;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A kernel release, `X.Y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Release {
    /// X.
    pub major: u32,
    /// Y.
    pub minor: u32,
}

impl Release {
    /// Reads `v5.4`, `5.4`, `v5.4.3` or `v5.4-rc2` as 5.4.
    pub fn parse(text: &str) -> Option<Release> {
        let text = text.trim();
        let tag = match text.starts_with('v') {
            true => text.to_string(),
            false => format!("v{text}"),
        };
        let version = Version::parse(&tag)?;
        Some(Release {
            major: version.major,
            minor: version.minor,
        })
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}

impl TryFrom<String> for Release {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Release::parse(&text).ok_or_else(|| format!("not a release: {text:?} (expected e.g. v5.4)"))
    }
}

impl From<Release> for String {
    fn from(release: Release) -> String {
        release.to_string()
    }
}

/// Why the release of a commit, or a backport, could not be worked out.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// A git command failed.
    #[error("git {command} in {}: {detail}", repo.display())]
    Git {
        /// The repository.
        repo: PathBuf,
        /// The command.
        command: String,
        /// git's message.
        detail: String,
    },
}

/// Runs git in `repo`; `Ok(None)` when it exits non-zero (for questions
/// whose answer is the exit status).
fn git(repo: &Path, args: &[&str]) -> Result<Option<String>, ReleaseError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| git_error(repo, args, e.to_string()))?;
    Ok(output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string()))
}

fn git_error(repo: &Path, args: &[&str], detail: String) -> ReleaseError {
    ReleaseError::Git {
        repo: repo.to_path_buf(),
        command: args.join(" "),
        detail,
    }
}

/// The release `commit` is on: the newest release tag among the commit
/// and its ancestors (see the module documentation).
pub fn release_of(repo: &Path, commit: &str) -> Result<Option<Release>, ReleaseError> {
    let merged = format!("--merged={commit}");
    let args = ["tag", "--list", "v*", merged.as_str()];
    let tags = git(repo, &args)?.ok_or_else(|| git_error(repo, &args, "failed".into()))?;
    let newest = tags.lines().filter_map(|t| Version::parse(t.trim())).max();
    Ok(newest.map(|v| Release {
        major: v.major,
        minor: v.minor,
    }))
}

/// True when `ancestor` is `commit` or one of its ancestors.
fn is_ancestor(repo: &Path, ancestor: &str, commit: &str) -> Result<bool, ReleaseError> {
    Ok(git(repo, &["merge-base", "--is-ancestor", ancestor, commit])?.is_some())
}

/// True when `release` is in `[since, until)`; no release is newer than
/// every bound.
fn in_range(release: Option<Release>, since: Option<Release>, until: Option<Release>) -> bool {
    match release {
        Some(r) => since.is_none_or(|s| r >= s) && until.is_none_or(|u| r < u),
        None => until.is_none(),
    }
}

/// One line of the compiler table (`[[kernel.compilers]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompilerRule {
    /// First release built with it (none: from the oldest).
    #[serde(default)]
    pub since: Option<Release>,
    /// First release *not* built with it (none: up to today's code).
    #[serde(default)]
    pub until: Option<Release>,
    /// gcc or clang, by path or by name in `PATH`.
    pub compiler: PathBuf,
    /// The linker; none: the recipe's default for the compiler.
    #[serde(default)]
    pub linker: Option<PathBuf>,
}

/// Compilers by release: the first rule whose range holds the commit's
/// release wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompilerTable {
    /// The rules, in order.
    pub rules: Vec<CompilerRule>,
}

impl CompilerTable {
    /// The gcc of Debian 12 (bookworm has gcc-11 11.3 and gcc-12 12.2, and
    /// clang-13 to clang-16), as syzbot picks compilers: one of the
    /// release's time. gcc-12 for code from v5.19 on (the first release
    /// after gcc 12.1, May 2022), gcc-11 before. Kernels much older than
    /// gcc 11 (2021, v5.12) may need a compiler Debian 12 does not have:
    /// add a rule with its path.
    pub fn debian12() -> CompilerTable {
        let rule = |since: Option<&str>, until: Option<&str>, compiler: &str| CompilerRule {
            since: since.and_then(Release::parse),
            until: until.and_then(Release::parse),
            compiler: PathBuf::from(compiler),
            linker: None,
        };
        CompilerTable {
            rules: vec![
                rule(Some("v5.19"), None, "gcc-12"),
                rule(None, Some("v5.19"), "gcc-11"),
            ],
        }
    }

    /// Debian 12's default clang, clang-14 with ld.lld-14, for every
    /// release (override per release with rules of the job's own).
    pub fn debian12_clang() -> CompilerTable {
        CompilerTable {
            rules: vec![CompilerRule {
                since: None,
                until: None,
                compiler: PathBuf::from("clang-14"),
                linker: Some(PathBuf::from("ld.lld-14")),
            }],
        }
    }

    /// The rule for a commit on `release`.
    pub fn pick(&self, release: Option<Release>) -> Option<&CompilerRule> {
        self.rules
            .iter()
            .find(|rule| in_range(release, rule.since, rule.until))
    }
}

/// A config value forced before a release, or always
/// (`[[kernel.fixups]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFixup {
    /// The option, without `CONFIG_`.
    pub option: String,
    /// The value forced (default `n`).
    #[serde(default = "off")]
    pub value: String,
    /// Forced on commits of releases older than this one; none: always.
    #[serde(default)]
    pub before: Option<Release>,
    /// Why, for the log.
    #[serde(default)]
    pub reason: String,
}

fn off() -> String {
    "n".to_string()
}

impl ConfigFixup {
    /// True when the fix-up applies to a commit on `release`.
    pub fn applies_to(&self, release: Option<Release>) -> bool {
        in_range(release, None, self.before)
    }
}

/// The fix-ups every build gets, syzbot's among them: the release string
/// must not depend on the commit, BTF needs a `pahole` culprit does not
/// require, a compiler newer than the release must not turn its warnings
/// into errors; KCOV before v5.4 and UBSAN before v5.3 do not build with
/// today's compilers.
pub fn default_fixups() -> Vec<ConfigFixup> {
    let fixup = |option: &str, before: Option<&str>, reason: &str| ConfigFixup {
        option: option.to_string(),
        value: off(),
        before: before.and_then(Release::parse),
        reason: reason.to_string(),
    };
    vec![
        fixup(
            "LOCALVERSION_AUTO",
            None,
            "the release string must not name the commit",
        ),
        fixup("DEBUG_INFO_BTF", None, "BTF needs pahole"),
        fixup(
            "WERROR",
            None,
            "a newer compiler's warnings must not fail the build",
        ),
        fixup("KCOV", Some("v5.4"), "KCOV does not build before v5.4"),
        fixup("UBSAN", Some("v5.3"), "UBSAN does not build before v5.3"),
    ]
}

/// A fix to cherry-pick into commits that have the bug it fixes
/// (`[[kernel.backports]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backport {
    /// The fix commit.
    pub fix: String,
    /// The commits it fixes: it applies when one of them is an ancestor.
    pub fixes: Vec<String>,
    /// Its title, for the log; none: git's subject line.
    #[serde(default)]
    pub title: Option<String>,
}

/// What applied to one commit's build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustments {
    /// The commit's release.
    pub release: Option<Release>,
    /// The compiler chosen for it.
    pub compiler: Option<CompilerRule>,
    /// The fix-ups applied, as `OPTION=VALUE`.
    pub fixups: Vec<String>,
    /// The backports applied: hash and title.
    pub backports: Vec<(String, String)>,
}

impl Adjustments {
    /// A line for the build's identity (store keys, caches): release,
    /// compiler, fix-ups and backports.
    pub fn identity(&self) -> String {
        let release = self.release.map_or("none".to_string(), |r| r.to_string());
        let compiler = self
            .compiler
            .as_ref()
            .map_or(String::new(), |c| c.compiler.display().to_string());
        let backports: Vec<&str> = self.backports.iter().map(|(h, _)| h.as_str()).collect();
        format!(
            "release={release} compiler={compiler} fixups={} backports={}",
            self.fixups.join(","),
            backports.join(",")
        )
    }
}

/// Forces the fix-ups that apply to `release` into `config`; returns them
/// as `OPTION=VALUE`.
pub fn apply_fixups(
    config: &mut KernelConfig,
    fixups: &[ConfigFixup],
    release: Option<Release>,
) -> Vec<String> {
    let mut applied = Vec::new();
    for fixup in fixups.iter().filter(|f| f.applies_to(release)) {
        config.set(&fixup.option, &fixup.value);
        applied.push(format!("{}={}", fixup.option, fixup.value));
    }
    applied
}

/// The backports `commit` needs: one of the commits they fix is an
/// ancestor, and they are not.
pub fn backports_for<'a>(
    repo: &Path,
    commit: &str,
    backports: &'a [Backport],
) -> Result<Vec<&'a Backport>, ReleaseError> {
    let mut needed = Vec::new();
    for backport in backports {
        let mut broken = false;
        for fixed in &backport.fixes {
            broken |= is_ancestor(repo, fixed, commit)?;
        }
        if broken && !is_ancestor(repo, &backport.fix, commit)? {
            needed.push(backport);
        }
    }
    Ok(needed)
}

/// Cherry-picks `backports` onto the commit checked out in `checkout`
/// (culprit's own checkout, never the user's), one commit each, logging
/// `applying backport HASH TITLE`; returns what was applied. A backport
/// that does not apply is skipped with a log line (the build goes on
/// without it).
pub fn apply_backports(
    checkout: &Path,
    backports: &[&Backport],
    log: &mut dyn std::io::Write,
) -> Result<Vec<(String, String)>, ReleaseError> {
    let mut applied = Vec::new();
    for backport in backports {
        let title = match &backport.title {
            Some(title) => title.clone(),
            None => {
                git(checkout, &["log", "-1", "--format=%s", &backport.fix])?.unwrap_or_default()
            }
        };
        let _ = writeln!(log, "applying backport {} {title}", backport.fix);
        let picked = git(
            checkout,
            &[
                "-c",
                "user.name=culprit",
                "-c",
                "user.email=culprit@localhost",
                "cherry-pick",
                "--allow-empty",
                "-x",
                &backport.fix,
            ],
        )?;
        if picked.is_none() {
            let _ = git(checkout, &["cherry-pick", "--abort"]);
            let _ = writeln!(log, "backport {} does not apply: skipped", backport.fix);
            continue;
        }
        applied.push((backport.fix.clone(), title));
    }
    Ok(applied)
}

/// Everything that applies to `commit`: its release, compiler, fix-ups
/// (forced into `config`) and the backports it needs (not applied: see
/// [`apply_backports`], after checking the commit out).
pub fn adjust<'a>(
    repo: &Path,
    commit: &str,
    compilers: &CompilerTable,
    fixups: &[ConfigFixup],
    backports: &'a [Backport],
    config: &mut KernelConfig,
) -> Result<(Adjustments, Vec<&'a Backport>), ReleaseError> {
    let release = release_of(repo, commit)?;
    let adjustments = Adjustments {
        release,
        compiler: compilers.pick(release).cloned(),
        fixups: apply_fixups(config, fixups, release),
        backports: Vec::new(),
    };
    Ok((adjustments, backports_for(repo, commit, backports)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_parse_and_order() {
        assert_eq!(Release::parse("v5.4-rc2"), Release::parse("5.4"));
        assert!(Release::parse("v5.10").unwrap() > Release::parse("v5.9.12").unwrap());
        assert_eq!(Release::parse("linux-5.4"), None);
    }

    #[test]
    fn compilers_are_picked_by_range_and_untagged_code_is_newest() {
        let table = CompilerTable::debian12();
        let pick = |r: Option<&str>| {
            let rule = table.pick(r.and_then(Release::parse)).unwrap();
            rule.compiler.display().to_string()
        };
        assert_eq!(pick(Some("v6.1")), "gcc-12");
        assert_eq!(pick(Some("v5.19")), "gcc-12");
        assert_eq!(pick(Some("v5.18")), "gcc-11");
        assert_eq!(pick(None), "gcc-12");
    }

    #[test]
    fn fixups_apply_before_their_release_only() {
        let mut config = KernelConfig::parse("CONFIG_KCOV=y\nCONFIG_UBSAN=y\nCONFIG_WERROR=y\n");
        let applied = apply_fixups(&mut config, &default_fixups(), Release::parse("v5.3"));
        assert!(applied.contains(&"KCOV=n".to_string()));
        assert!(!applied.contains(&"UBSAN=n".to_string()));
        assert_eq!(config.get("KCOV"), Some("n"));
        assert_eq!(config.get("UBSAN"), Some("y"));
        assert_eq!(config.get("WERROR"), Some("n"));
    }
}
