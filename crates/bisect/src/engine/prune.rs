//! Suspects that cannot matter. A commit that changes no file the build
//! reads (the kernel's dependency records), or none under `--paths`,
//! cannot change the outcome: it is never built, never tested and never
//! the culprit, as the strategy sees the range without it.

use std::collections::HashMap;

use culprit_git::CommitGraph;

use super::{Engine, Stop};
use crate::event::{Event, PruneReason};

impl Engine<'_> {
    /// `graph` without the commits that cannot matter (never its new end).
    pub(super) fn prune(
        &mut self,
        graph: CommitGraph,
        new: &str,
        olds: &[String],
    ) -> Result<CommitGraph, Stop> {
        let paths = self.bisection.paths.clone();
        let Some(changes) = self.changes_if_needed(new, olds, &paths)? else {
            return Ok(graph);
        };
        if !paths.is_empty() {
            self.outside_paths = (0..graph.len())
                .map(|i| graph.id(i as u32))
                .filter(|h| !touches(changes.get(*h).map_or(&[][..], |c| c), &paths))
                .map(str::to_owned)
                .collect();
            if self.outside_paths.len() == graph.len() {
                return Err(Stop::NoSuspects(format!(
                    "no commit between the ends changes anything under --paths {}",
                    paths.join(" ")
                )));
            }
        }
        let inputs = self.exec.build_inputs();
        let tip = graph.len().saturating_sub(1);
        let mut unread_by_build = std::collections::HashSet::new();
        let unable: Vec<bool> = (0..graph.len())
            .map(|i| {
                let hash = graph.id(i as u32);
                let changed = changes.get(hash).map_or(&[][..], |c| c);
                let outside = !paths.is_empty() && !touches(changed, &paths);
                let unread = inputs
                    .as_ref()
                    .is_some_and(|inputs| !inputs.relevant(changed));
                if unread {
                    unread_by_build.insert(hash.to_owned());
                }
                i != tip && (outside || unread)
            })
            .collect();
        std::mem::drop(inputs);
        self.unread_by_build = unread_by_build;
        let dropped: Vec<String> = (0..graph.len())
            .filter(|&i| unable[i])
            .map(|i| graph.id(i as u32).to_owned())
            .collect();
        if dropped.is_empty() {
            return Ok(graph);
        }
        let reason = match paths.is_empty() {
            true => PruneReason::NotBuiltFrom(self.exec.capabilities().builds),
            false => PruneReason::OutsidePaths,
        };
        self.emit(Event::Pruned {
            commits: dropped.clone(),
            reason,
        });
        self.pruned = dropped;
        Ok(graph.without(&unable).0)
    }

    /// The paths each commit of the range changes, when something will
    /// read them (`--paths`, or an executor that knows its inputs).
    fn changes_if_needed(
        &mut self,
        new: &str,
        olds: &[String],
        paths: &[String],
    ) -> Result<Option<HashMap<String, Vec<String>>>, Stop> {
        if paths.is_empty() && self.exec.build_inputs().is_none() {
            return Ok(None);
        }
        self.repo
            .changed_paths(new, olds)
            .map(Some)
            .map_err(|e| Stop::Error(format!("cannot list the files commits change: {e}")))
    }
}

/// Whether any of `changed` lies under one of `paths` (a path itself, or
/// a directory above it), as `git bisect start -- PATH...` limits commits.
fn touches(changed: &[String], paths: &[String]) -> bool {
    changed.iter().any(|c| {
        paths.iter().any(|p| {
            let p = p.trim_end_matches('/');
            p.is_empty() || p == "." || c == p || c.starts_with(&format!("{p}/"))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::touches;

    #[test]
    fn paths_cover_themselves_and_what_is_below_them() {
        let changed = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let paths = changed(&["src/net", "Makefile"]);
        assert!(touches(&changed(&["src/net/tcp.c"]), &paths));
        assert!(touches(&changed(&["docs/a", "Makefile"]), &paths));
        assert!(!touches(&changed(&["src/network.c"]), &paths));
        assert!(!touches(&changed(&["docs/a"]), &paths));
        assert!(!touches(&[], &paths));
    }
}
