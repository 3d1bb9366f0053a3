//! Contracting a commit graph: removing commits while keeping ancestry.
//!
//! Used to take out of a bisection the commits that cannot change what is
//! tested (a commit whose build is known to equal its parent's): the kept
//! commits must still see each other as ancestors exactly as before, or
//! git's choice of the next commit and every ancestor sum would change.

use crate::graph::CommitGraph;

impl CommitGraph {
    /// The graph without the commits `i` for which `drop[i]` is true
    /// (missing entries count as kept), and for each new index the old one.
    ///
    /// A kept commit's parents become its nearest kept ancestors: its kept
    /// parents, and through each dropped parent that parent's nearest kept
    /// ancestors, recursively. They are deduplicated in first-seen order,
    /// so the first parent stays first when it is kept. Redundant parents
    /// (one an ancestor of another) are kept: they do not change ancestor
    /// sets. For kept `a` and `b`, `a` is an ancestor of `b` in the new
    /// graph exactly when it was in the old one. Topological order is
    /// kept: new indices follow the old order.
    pub fn without(&self, drop: &[bool]) -> (CommitGraph, Vec<u32>) {
        let dropped = |i: usize| drop.get(i).copied().unwrap_or(false);
        let mut old_of_new = Vec::new();
        let mut new_of_old: Vec<Option<u32>> = vec![None; self.len()];
        // For each dropped commit, its nearest kept ancestors (new indices).
        let mut nearest: Vec<Vec<u32>> = vec![Vec::new(); self.len()];
        let mut ids = Vec::new();
        let mut parents = Vec::new();
        for old in 0..self.len() {
            let reached = self.kept_ancestors_via_parents(old as u32, &new_of_old, &nearest);
            if dropped(old) {
                nearest[old] = reached;
                continue;
            }
            new_of_old[old] = Some(old_of_new.len() as u32);
            old_of_new.push(old as u32);
            ids.push(self.id(old as u32).to_string());
            parents.push(reached);
        }
        let graph = CommitGraph::from_parents(ids, parents)
            .expect("parents map to earlier kept commits, which have smaller new indices");
        (graph, old_of_new)
    }

    /// The nearest kept ancestors of `old` reached through its parents,
    /// given the answers for all earlier commits.
    fn kept_ancestors_via_parents(
        &self,
        old: u32,
        new_of_old: &[Option<u32>],
        nearest: &[Vec<u32>],
    ) -> Vec<u32> {
        let mut reached = Vec::new();
        for &p in self.parents(old) {
            match new_of_old[p as usize] {
                Some(new) => push_unique(&mut reached, new),
                None => {
                    for &n in &nearest[p as usize] {
                        push_unique(&mut reached, n);
                    }
                }
            }
        }
        reached
    }
}

/// Appends `value` unless present (parent lists are short: a linear scan).
fn push_unique(list: &mut Vec<u32>, value: u32) {
    if !list.contains(&value) {
        list.push(value);
    }
}
