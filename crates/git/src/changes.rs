//! The paths each commit of a range changes, read with one `git log`.
//!
//! Every commit is diffed against its *first* parent, merges included
//! (`--diff-merges=first-parent`): when a merge is the suspect, what it
//! brings into the mainline is the whole side branch, and that is what its
//! first-parent diff lists. Side-branch commits are still listed each on its
//! own (this is not `--first-parent`, which would hide them). Root commits
//! are diffed against the empty tree. Renames are not detected
//! (`--no-renames`), so a moved file shows as both its old and its new path.

use std::collections::HashMap;

use crate::git::{bad_output, is_object_id, GitError};
use crate::repo::{Repo, ResolveError};

/// Why the changed paths of a range could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ChangesError {
    /// An end of the range is not a commit.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// git failed or printed something unexpected.
    #[error(transparent)]
    Git(#[from] GitError),
}

/// Marks the start of a commit in the output (never the first byte of a
/// path git prints in practice).
const HEADER: char = '\u{1}';

impl Repo {
    /// For every commit that is an ancestor of `new` (itself included) and
    /// not an ancestor of any of `olds`, the paths it changes relative to
    /// its first parent, as git prints them (relative to the top of the
    /// repository; non-UTF-8 bytes replaced). A commit that changes nothing
    /// (an empty commit, a merge that takes its first parent's tree) maps to
    /// an empty list. One git process for the whole range.
    pub fn changed_paths(
        &self,
        new: &str,
        olds: &[String],
    ) -> Result<HashMap<String, Vec<String>>, ChangesError> {
        let mut input = self.resolve(new)?;
        input.push('\n');
        for old in olds {
            input.push('^');
            input.push_str(&self.resolve(old)?);
            input.push('\n');
        }
        let args = [
            "log",
            "-z",
            "--format=%x01%H",
            "--name-only",
            "--no-renames",
            "--diff-merges=first-parent",
            // The repository's own configuration still applies: these
            // override anything there that would change the list.
            "--root",
            "--no-relative",
            "--no-color",
            "--no-ext-diff",
            "--stdin",
        ];
        let out = self
            .git()
            .stdout_with_input(&args, Some(input.as_bytes()))?;
        let text = String::from_utf8_lossy(&out);
        Ok(parse_name_only(&text).map_err(|detail| bad_output(&args, detail))?)
    }
}

/// Parses `git log -z --format=%x01%H --name-only`: a NUL-separated list
/// in which `\x01HASH` starts a commit and the other items are its paths;
/// the first path of a commit is preceded by the newline that ends the
/// header.
fn parse_name_only(text: &str) -> Result<HashMap<String, Vec<String>>, String> {
    let mut changes: HashMap<String, Vec<String>> = HashMap::new();
    let mut current: Option<&mut Vec<String>> = None;
    let mut after_header = false;
    for item in text.split('\0') {
        if let Some(hash) = item.strip_prefix(HEADER) {
            if !is_object_id(hash) {
                return Err(format!("bad commit id {hash:?}"));
            }
            current = Some(changes.entry(hash.to_string()).or_default());
            after_header = true;
            continue;
        }
        let path = match after_header {
            true => item.strip_prefix('\n').unwrap_or(item),
            false => item,
        };
        after_header = false;
        if path.is_empty() {
            continue;
        }
        match current.as_mut() {
            Some(paths) => paths.push(path.to_string()),
            None => return Err(format!("path {path:?} before any commit")),
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    #[test]
    fn parses_commits_paths_and_empty_commits() {
        let text = format!("\u{1}{A}\0\u{1}{B}\0\na\0dir/b c\0\0");
        let changes = parse_name_only(&text).unwrap();
        assert_eq!(changes.len(), 2);
        assert!(changes[A].is_empty());
        assert_eq!(changes[B], ["a", "dir/b c"]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_name_only("\u{1}nothash\0").is_err());
        assert!(parse_name_only("orphan\0").is_err());
        assert!(parse_name_only("").unwrap().is_empty());
    }
}
