//! Loading the suspect range of a bisection from git.

use std::collections::HashMap;

use crate::git::{bad_output, is_object_id, GitError};
use crate::graph::{CommitGraph, GraphError};
use crate::repo::{Repo, ResolveError};

/// Why the commit graph could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// An end of the range is not a commit.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// git failed or printed something unexpected.
    #[error(transparent)]
    Git(#[from] GitError),
    /// git's order was not topological (should not happen).
    #[error(transparent)]
    Graph(#[from] GraphError),
}

impl CommitGraph {
    /// Loads the suspects of a bisection with one `git rev-list`: the
    /// ancestors of `new` (itself included) that are not ancestors of any of
    /// `olds`. Indices are topological (parents first); parents outside the
    /// range are dropped. `new` and `olds` may be any revisions.
    pub fn load(repo: &Repo, new: &str, olds: &[String]) -> Result<CommitGraph, LoadError> {
        Self::load_with(repo, new, olds, &[])
    }

    /// Like [`CommitGraph::load`], keeping only the commits on the ancestry
    /// path from `old` to `new` (`git rev-list --ancestry-path`): those
    /// that contain `old`. A fix bisection's suspects: a commit without
    /// the crashing end can only show that the bug was never there.
    pub fn load_ancestry_path(repo: &Repo, new: &str, old: &str) -> Result<CommitGraph, LoadError> {
        Self::load_with(repo, new, &[old.to_owned()], &["--ancestry-path"])
    }

    fn load_with(
        repo: &Repo,
        new: &str,
        olds: &[String],
        extra: &[&str],
    ) -> Result<CommitGraph, LoadError> {
        let mut input = repo.resolve(new)?;
        input.push('\n');
        for old in olds {
            input.push('^');
            input.push_str(&repo.resolve(old)?);
            input.push('\n');
        }
        let mut args = vec!["rev-list", "--topo-order", "--reverse", "--parents"];
        args.extend(extra);
        args.push("--stdin");
        let out = repo
            .git()
            .stdout_with_input(&args, Some(input.as_bytes()))?;
        let text = String::from_utf8_lossy(&out);
        let (ids, parents) = parse_rev_list(&text).map_err(|detail| bad_output(&args, detail))?;
        Ok(CommitGraph::from_parents(ids, parents)?)
    }
}

/// Parses `rev-list --parents` lines (children after parents), keeping only
/// parents that were listed before.
fn parse_rev_list(text: &str) -> Result<(Vec<String>, Vec<Vec<u32>>), String> {
    let mut index: HashMap<&str, u32> = HashMap::new();
    let mut ids = Vec::new();
    let mut parents = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(id) = fields.next() else { continue };
        if !is_object_id(id) {
            return Err(format!("bad commit id {id:?}"));
        }
        let inside: Vec<u32> = fields.filter_map(|p| index.get(p).copied()).collect();
        index.insert(id, ids.len() as u32);
        ids.push(id.to_string());
        parents.push(inside);
    }
    Ok((ids, parents))
}
