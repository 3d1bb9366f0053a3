//! The commit graph of a bisection, held in memory.
//!
//! Commits are numbered `0..len()` in topological order: every parent has a
//! smaller index than its children. Only parents inside the graph are kept,
//! so the graph is exactly the suspect range of a bisection.

use std::collections::HashMap;

use crate::reach::Reach;

/// A malformed graph handed to [`CommitGraph::from_parents`].
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// A parent index is not smaller than its child's.
    #[error("commit {child} lists parent {parent}, which is not earlier in topological order")]
    NotTopological {
        /// The child's index.
        child: u32,
        /// The offending parent index.
        parent: u32,
    },
    /// The id and parent lists differ in length.
    #[error("{ids} commit ids but {parents} parent lists")]
    LengthMismatch {
        /// Number of ids.
        ids: usize,
        /// Number of parent lists.
        parents: usize,
    },
}

/// Commits between the ends of a bisection, in topological order.
#[derive(Debug, Clone)]
pub struct CommitGraph {
    ids: Vec<String>,
    index: HashMap<String, u32>,
    parents: Vec<Vec<u32>>,
    reach: Reach,
}

impl CommitGraph {
    /// Builds a graph from ids and, per commit, the indices of its parents
    /// inside the graph. Parents must come before their children.
    pub fn from_parents(ids: Vec<String>, parents: Vec<Vec<u32>>) -> Result<Self, GraphError> {
        if ids.len() != parents.len() {
            return Err(GraphError::LengthMismatch {
                ids: ids.len(),
                parents: parents.len(),
            });
        }
        for (child, ps) in parents.iter().enumerate() {
            if let Some(&parent) = ps.iter().find(|&&p| p as usize >= child) {
                return Err(GraphError::NotTopological {
                    child: child as u32,
                    parent,
                });
            }
        }
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as u32))
            .collect();
        let reach = Reach::new(&parents);
        Ok(CommitGraph {
            ids,
            index,
            parents,
            reach,
        })
    }

    /// Number of commits.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the graph holds no commit.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The full hash of commit `i`.
    pub fn id(&self, i: u32) -> &str {
        &self.ids[i as usize]
    }

    /// The index of a full hash, if it is in the graph.
    pub fn index_of(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// Parents of commit `i` inside the graph.
    pub fn parents(&self, i: u32) -> &[u32] {
        &self.parents[i as usize]
    }

    /// Marks commit `i` and all its ancestors in the graph.
    pub fn ancestors(&self, i: u32) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack = vec![i];
        seen[i as usize] = true;
        while let Some(c) = stack.pop() {
            for &p in self.parents(c) {
                if !seen[p as usize] {
                    seen[p as usize] = true;
                    stack.push(p);
                }
            }
        }
        seen
    }

    /// For every commit, the sum of `weights` over the commit itself and all
    /// its ancestors in the graph (each ancestor counted once, merges
    /// included). With weights 1 on the remaining suspects and 0 elsewhere
    /// this is git's bisection weight; with culprit probabilities it is the
    /// probability that the commit contains the culprit. Missing weights
    /// count as 0.
    ///
    /// Fast: the ancestry index built with the graph makes a call cost
    /// O(n) plus a few operations per merge on histories made of a mainline
    /// and topic branches (see `reach.rs`).
    pub fn ancestor_weights(&self, weights: &[f64]) -> Vec<f64> {
        self.reach.sums_f64(&self.parents, weights)
    }

    /// For every commit, how many of its ancestors (itself included) are
    /// marked; exact integer version of [`CommitGraph::ancestor_weights`].
    pub fn ancestor_counts(&self, marked: &[bool]) -> Vec<u32> {
        self.reach.counts(&self.parents, marked)
    }

    /// The straightforward definition of [`CommitGraph::ancestor_weights`],
    /// O(n²): a reference for tests.
    pub fn ancestor_weights_slow(&self, weights: &[f64]) -> Vec<f64> {
        (0..self.len() as u32)
            .map(|i| {
                self.ancestors(i)
                    .iter()
                    .zip(weights)
                    .filter(|(a, _)| **a)
                    .map(|(_, w)| *w)
                    .sum()
            })
            .collect()
    }
}
