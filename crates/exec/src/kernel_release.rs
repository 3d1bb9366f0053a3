//! What a commit's release changes in its kernel's recipe: the compiler of
//! its time (a table by release), config fix-ups forced before a release,
//! and the fixes backported where their bug is. Each is part of the
//! build's identity: the compiler's through the toolchain, the fix-ups'
//! through the config, the backports' through the tree built.

use std::path::{Path, PathBuf};

use culprit_build::kconfig::KernelConfig;
use culprit_build::releases::{self, Adjustments, Backport, CompilerTable, ConfigFixup};
use culprit_build::KernelRecipe;

/// The rules a kernel job gives, with culprit's defaults.
#[derive(Debug, Clone, Default)]
pub struct ReleaseRules {
    /// Compilers by release; `None`: the job's compiler for every commit.
    pub compilers: Option<CompilerTable>,
    /// Config fix-ups, culprit's first.
    pub fixups: Vec<ConfigFixup>,
    /// Fixes to backport.
    pub backports: Vec<Backport>,
}

impl ReleaseRules {
    /// The rules of a job: its compiler table (or Debian 12's when the job
    /// left the compiler at its default), culprit's fix-ups then the job's,
    /// and its backports.
    pub fn of_job(
        compilers: Option<CompilerTable>,
        default_compiler: bool,
        fixups: &[ConfigFixup],
        backports: &[Backport],
    ) -> ReleaseRules {
        let compilers = compilers.or_else(|| default_compiler.then(CompilerTable::debian12));
        let mut all = releases::default_fixups();
        all.extend(fixups.iter().cloned());
        ReleaseRules {
            compilers,
            fixups: all,
            backports: backports.to_vec(),
        }
    }
}

/// One commit's recipe and what made it so.
#[derive(Debug, Clone)]
pub struct CommitRecipe {
    /// The recipe to build the commit with.
    pub recipe: KernelRecipe,
    /// Its release, compiler and fix-ups (backports are added once
    /// applied).
    pub adjustments: Adjustments,
    /// The fixes this commit needs, to cherry-pick after checking it out.
    pub backports: Vec<Backport>,
    /// What to say in the log (a compiler not installed, say).
    pub notes: Vec<String>,
}

/// The recipe for `commit` of `repo` (a clone with the release tags):
/// `base` with the compiler of the commit's release and the fix-ups that
/// apply forced into its config (written under `configs`).
pub fn for_commit(
    repo: &Path,
    commit: &str,
    base: &KernelRecipe,
    rules: &ReleaseRules,
    configs: &Path,
) -> Result<CommitRecipe, String> {
    let mut config = KernelConfig::read(&base.config).map_err(|e| e.to_string())?;
    let empty = CompilerTable { rules: Vec::new() };
    let table = rules.compilers.as_ref().unwrap_or(&empty);
    let (mut adjustments, needed) = releases::adjust(
        repo,
        commit,
        table,
        &rules.fixups,
        &rules.backports,
        &mut config,
    )
    .map_err(|e| e.to_string())?;
    let mut recipe = base.clone();
    let mut notes = Vec::new();
    if let Some(rule) = adjustments.compiler.clone() {
        if installed(&rule.compiler) {
            recipe.compiler = rule.compiler.clone();
            recipe.linker = rule.linker.clone().or(recipe.linker);
        } else {
            notes.push(format!(
                "compiler {} for {} is not installed: building with {}",
                rule.compiler.display(),
                adjustments
                    .release
                    .map_or("this commit".to_owned(), |r| r.to_string()),
                base.compiler.display()
            ));
            adjustments.compiler = None;
        }
    }
    if !adjustments.fixups.is_empty() {
        recipe.config = write_config(&config, configs)?;
        let release = adjustments
            .release
            .map_or("commits past the last release".to_owned(), |r| {
                r.to_string()
            });
        notes.push(format!(
            "config fix-ups for {release}: {}",
            adjustments.fixups.join(", ")
        ));
    }
    Ok(CommitRecipe {
        recipe,
        adjustments,
        backports: needed.into_iter().cloned().collect(),
        notes,
    })
}

/// Whether a compiler can be run: a path that exists, or a name in `PATH`.
fn installed(compiler: &Path) -> bool {
    match compiler.components().count() {
        1 => culprit_vm::find_in_path(&compiler.to_string_lossy()).is_some(),
        _ => compiler.exists(),
    }
}

/// The config with its fix-ups, in a file named by its contents (so two
/// commits of one release share it).
fn write_config(config: &KernelConfig, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("{}.config", &config.hash()[..16]));
    if !path.exists() {
        config.write(&path).map_err(|e| e.to_string())?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use culprit_build::releases::Release;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=T", "-c", "user.email=t@example.org"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// A history tagged v5.3 then v5.10, a commit after each.
    fn history(dir: &Path) -> (String, String) {
        git(dir, &["init", "-q", "-b", "master"]);
        git(dir, &["commit", "-q", "--allow-empty", "-m", "old"]);
        git(dir, &["tag", "v5.3"]);
        git(dir, &["commit", "-q", "--allow-empty", "-m", "on 5.3"]);
        let old = git(dir, &["rev-parse", "HEAD"]);
        git(dir, &["commit", "-q", "--allow-empty", "-m", "new"]);
        git(dir, &["tag", "v5.10"]);
        git(dir, &["commit", "-q", "--allow-empty", "-m", "on 5.10"]);
        (old, git(dir, &["rev-parse", "HEAD"]))
    }

    #[test]
    fn each_commit_gets_its_release_compiler_and_fixups() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = history(dir.path());
        let config = dir.path().join("base.config");
        std::fs::write(&config, "CONFIG_KCOV=y\nCONFIG_UBSAN=y\n").unwrap();
        let base = KernelRecipe::new(&config, "gcc");
        let rule = |since: Option<&str>, until: Option<&str>, cc: &str| {
            culprit_build::releases::CompilerRule {
                since: since.and_then(Release::parse),
                until: until.and_then(Release::parse),
                compiler: cc.into(),
                linker: None,
            }
        };
        // `sh` stands for the newer compiler (installed), one path for the
        // older one (not installed).
        let table = CompilerTable {
            rules: vec![
                rule(Some("v5.4"), None, "sh"),
                rule(None, Some("v5.4"), "/nonexistent/gcc-9"),
            ],
        };
        let rules = ReleaseRules::of_job(Some(table), false, &[], &[]);
        let configs = dir.path().join("configs");
        let at_new = for_commit(dir.path(), &new, &base, &rules, &configs).unwrap();
        assert_eq!(at_new.recipe.compiler, PathBuf::from("sh"));
        let new_config = std::fs::read_to_string(&at_new.recipe.config).unwrap();
        assert!(new_config.contains("CONFIG_KCOV=y"), "{new_config}");
        let at_old = for_commit(dir.path(), &old, &base, &rules, &configs).unwrap();
        assert_eq!(at_old.recipe.compiler, PathBuf::from("gcc"));
        assert!(
            at_old.notes[0].contains("gcc-9 for v5.3 is not installed"),
            "{:?}",
            at_old.notes
        );
        assert!(
            at_old.notes[1].contains("config fix-ups for v5.3: ")
                && at_old.notes[1].contains("KCOV=n"),
            "{:?}",
            at_old.notes
        );
        assert!(
            !at_new.notes.iter().any(|n| n.contains("KCOV=n")),
            "{:?}",
            at_new.notes
        );
        // KCOV goes before v5.4, UBSAN stays on v5.3 (it goes before v5.3).
        let old_config = std::fs::read_to_string(&at_old.recipe.config).unwrap();
        assert!(
            old_config.contains("CONFIG_KCOV=n") || old_config.contains("# CONFIG_KCOV is not set"),
            "{old_config}"
        );
        assert!(old_config.contains("CONFIG_UBSAN=y"), "{old_config}");
        assert_ne!(at_old.adjustments.identity(), at_new.adjustments.identity());
    }
}
