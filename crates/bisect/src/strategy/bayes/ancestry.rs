//! Ancestor sums over a commit graph in linear time per call.
//!
//! Every commit's ancestor set is itself, its first parent's ancestor set,
//! and the commits a merge brings in that the first parent lacks (its
//! "intro" list). The intro lists are found once per graph, by painting down
//! from the parents in decreasing topological order as git does for merge
//! bases; afterwards each sum over all commits costs one pass plus the total
//! length of the intro lists, which is small for histories made of topic
//! branches merged into a mainline.

use std::collections::BinaryHeap;

use culprit_git::CommitGraph;

const NONE: u32 = u32::MAX;

/// Precomputed first parents and merge intro lists of one graph.
#[derive(Debug, Clone)]
pub struct Ancestry {
    first: Vec<u32>,
    intro_start: Vec<u32>,
    intro: Vec<u32>,
}

/// Scratch space for painting one merge at a time.
struct Painter {
    flags: Vec<u8>,
    heap: BinaryHeap<u32>,
    touched: Vec<u32>,
    only_other: usize,
}

const FIRST: u8 = 1;
const OTHER: u8 = 2;

impl Painter {
    fn mark(&mut self, c: u32, flag: u8) {
        let old = self.flags[c as usize];
        let new = old | flag;
        if old == 0 {
            self.heap.push(c);
            self.touched.push(c);
        }
        if old != OTHER && new == OTHER {
            self.only_other += 1;
        } else if old == OTHER && new != OTHER {
            self.only_other -= 1;
        }
        self.flags[c as usize] = new;
    }

    /// Appends to `out` the ancestors of merge `m` that its first parent
    /// does not reach.
    fn intro(&mut self, graph: &CommitGraph, m: u32, out: &mut Vec<u32>) {
        let parents = graph.parents(m);
        self.mark(parents[0], FIRST);
        for &p in &parents[1..] {
            self.mark(p, OTHER);
        }
        while self.only_other > 0 {
            let Some(c) = self.heap.pop() else { break };
            let flag = self.flags[c as usize];
            if flag == OTHER {
                self.only_other -= 1;
                out.push(c);
            }
            for &p in graph.parents(c) {
                self.mark(p, flag);
            }
        }
        for &c in &self.touched {
            self.flags[c as usize] = 0;
        }
        self.touched.clear();
        self.heap.clear();
        self.only_other = 0;
    }
}

impl Ancestry {
    /// Precomputes the intro lists of every merge of `graph`.
    pub fn new(graph: &CommitGraph) -> Self {
        let n = graph.len();
        let mut painter = Painter {
            flags: vec![0; n],
            heap: BinaryHeap::new(),
            touched: Vec::new(),
            only_other: 0,
        };
        let mut first = Vec::with_capacity(n);
        let mut intro_start = Vec::with_capacity(n + 1);
        let mut intro = Vec::new();
        for i in 0..n as u32 {
            let parents = graph.parents(i);
            first.push(parents.first().copied().unwrap_or(NONE));
            intro_start.push(intro.len() as u32);
            if parents.len() > 1 {
                painter.intro(graph, i, &mut intro);
            }
        }
        intro_start.push(intro.len() as u32);
        Ancestry {
            first,
            intro_start,
            intro,
        }
    }

    /// Number of commits.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// For every commit, the sum of `weights` over itself and its ancestors.
    pub fn sums(&self, weights: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.reserve(self.len());
        for i in 0..self.len() {
            let mut s = weights[i];
            if self.first[i] != NONE {
                s += out[self.first[i] as usize];
            }
            let (a, b) = (
                self.intro_start[i] as usize,
                self.intro_start[i + 1] as usize,
            );
            s += self.intro[a..b]
                .iter()
                .map(|&c| weights[c as usize])
                .sum::<f64>();
            out.push(s);
        }
    }

    /// The ancestors of `i` (itself included), in no particular order.
    pub fn ancestors(&self, i: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut c = i;
        while c != NONE {
            out.push(c);
            let (a, b) = (
                self.intro_start[c as usize] as usize,
                self.intro_start[c as usize + 1] as usize,
            );
            out.extend_from_slice(&self.intro[a..b]);
            c = self.first[c as usize];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(parents: Vec<Vec<u32>>) -> CommitGraph {
        let ids = (0..parents.len()).map(|i| format!("c{i}")).collect();
        CommitGraph::from_parents(ids, parents).unwrap()
    }

    fn check(g: &CommitGraph) {
        let a = Ancestry::new(g);
        let w: Vec<f64> = (0..g.len()).map(|i| (i * 7 % 5) as f64 + 0.5).collect();
        let mut fast = Vec::new();
        a.sums(&w, &mut fast);
        assert_eq!(fast, g.ancestor_weights(&w));
        for i in 0..g.len() as u32 {
            let mut got = a.ancestors(i);
            got.sort();
            let want: Vec<u32> = (0..g.len() as u32)
                .filter(|&c| g.ancestors(i)[c as usize])
                .collect();
            assert_eq!(got, want, "ancestors of {i}");
        }
    }

    #[test]
    fn nested_and_criss_cross_merges_match_the_definition() {
        // 0-1-2-5-7-10 mainline; 3,4 branch off 1, merged at 5; 6 off 3;
        // 8 merges 6 and 4 (criss-cross), merged at 10 with a second root 9.
        let g = graph(vec![
            vec![],
            vec![0],
            vec![1],
            vec![1],
            vec![3],
            vec![2, 4],
            vec![3],
            vec![5],
            vec![6, 4],
            vec![],
            vec![7, 8, 9],
        ]);
        check(&g);
    }

    #[test]
    fn linear_history_has_no_intro_lists() {
        let g = graph(
            (0..20)
                .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
                .collect(),
        );
        check(&g);
        assert!(Ancestry::new(&g).intro.is_empty());
    }
}
