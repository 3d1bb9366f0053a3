//! `--paths` given on the command line, read as git reads pathspecs there:
//! from the current directory when it lies inside the repository's working
//! tree, from the top otherwise (the engine takes them from the top).

use std::path::{Component, Path, PathBuf};

/// The paths, each relative one from the top of `repo`'s working tree when
/// `cwd` lies inside it (`d/../f` from `d` for `../f`); the others as given.
/// Fails with the first path, as given, that leads out of the tree.
pub(super) fn from_cwd(paths: Vec<String>, cwd: &Path, repo: &Path) -> Result<Vec<String>, String> {
    let Some(prefix) = prefix(cwd, repo) else {
        return Ok(paths);
    };
    paths
        .into_iter()
        .map(|p| match Path::new(&p).is_absolute() {
            true => Ok(p),
            false => {
                let joined = prefix.join(&p);
                match stays_inside(&joined) {
                    true => Ok(joined.to_string_lossy().into_owned()),
                    false => Err(p),
                }
            }
        })
        .collect()
}

/// Whether a relative path's `..` never climb above where it starts.
fn stays_inside(path: &Path) -> bool {
    let mut depth = 0usize;
    for part in path.components() {
        match part {
            Component::Normal(_) => depth += 1,
            Component::ParentDir if depth == 0 => return false,
            Component::ParentDir => depth -= 1,
            _ => {}
        }
    }
    true
}

/// Where `cwd` lies under the working tree's top (as git finds it from
/// `repo`), when it does and is not the top itself.
fn prefix(cwd: &Path, repo: &Path) -> Option<PathBuf> {
    let cwd = cwd.canonicalize().ok()?;
    let opened = culprit_git::Repo::open(repo).ok()?;
    let top = opened.work_tree()?.canonicalize().ok()?;
    let prefix = cwd.strip_prefix(&top).ok()?;
    (!prefix.as_os_str().is_empty()).then(|| prefix.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_start_at_the_current_directory_inside_the_tree() {
        let tree = tempfile::tempdir().unwrap();
        let top = tree.path();
        let init = std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(top)
            .status()
            .unwrap();
        assert!(init.success());
        std::fs::create_dir_all(top.join("d/e")).unwrap();
        let given = || vec!["../f".to_owned(), "./g".to_owned(), "/abs".to_owned()];
        let from_d = from_cwd(given(), &top.join("d"), top).unwrap();
        assert_eq!(from_d, ["d/../f", "d/./g", "/abs"]);
        // The repository named by a directory below its top.
        let from_e = from_cwd(given(), &top.join("d/e"), &top.join("d")).unwrap();
        assert_eq!(from_e[0], "d/e/../f");
        // Out of the tree from d: refused as given.
        let out = from_cwd(vec!["x".into(), "../../x".into()], &top.join("d"), top);
        assert_eq!(out, Err("../../x".to_owned()));
        // At the top, and outside the tree: as given.
        assert_eq!(from_cwd(given(), top, top).unwrap(), given());
        let outside = tempfile::tempdir().unwrap();
        assert_eq!(from_cwd(given(), outside.path(), top).unwrap(), given());
    }
}
