//! Generated histories: a first-parent mainline into which topic branches
//! are merged, like the Linux kernel's, with a culprit (or none), commits
//! that fail to build, and the truth of which commits crash.

use culprit_git::CommitGraph;

use super::rng::Rng;

/// One simulated suspect range and its ground truth.
#[derive(Debug, Clone)]
pub struct History {
    /// The suspect range; its last commit is the new end.
    pub graph: CommitGraph,
    /// The true culprit, or `None` when the bug predates the old end.
    pub culprit: Option<u32>,
    /// Commits whose build always fails.
    pub broken: Vec<bool>,
    /// Commits that contain the bug (crash at the reproduction rate).
    pub crashing: Vec<bool>,
    /// Commits where another crash shows at every run and hides the bug.
    pub hidden: Vec<bool>,
}

/// How many commits [`History::hide_before_culprit`] hides.
pub const HIDDEN_COMMITS: usize = 3;

impl History {
    /// Makes the three commits before the culprit's parent, along first
    /// parents, show another crash at every run (issue 20's runaway
    /// commit: the culprit is two commits after them, and testable).
    /// Returns whether the culprit has that many ancestors to hide.
    pub fn hide_before_culprit(&mut self) -> bool {
        let Some(culprit) = self.culprit else {
            return false;
        };
        let mut line = vec![culprit];
        while line.len() < HIDDEN_COMMITS + 2 {
            let last = line[line.len() - 1];
            match self.graph.parents(last).first() {
                Some(&p) => line.push(p),
                None => return false,
            }
        }
        for &c in &line[2..] {
            self.hidden[c as usize] = true;
        }
        true
    }
}

/// Chance that the next mainline step is the merge of a topic branch.
const MERGE_CHANCE: f64 = 0.1;
/// Mean length of a topic branch.
const BRANCH_MEAN: f64 = 6.0;
/// Topic branches fork from one of this many latest mainline commits.
const FORK_WINDOW: u64 = 300;
/// Chance that a topic branch forks from before the old end.
const FORK_OUTSIDE: f64 = 0.05;

/// Parents of `n` commits (`n >= 1`): mainline commits and merged topic
/// branches, in topological order, ending on the mainline.
pub fn shape(rng: &mut Rng, n: usize) -> Vec<Vec<u32>> {
    let mut parents: Vec<Vec<u32>> = vec![Vec::new()];
    let mut mainline: Vec<u32> = vec![0];
    while parents.len() < n {
        let remaining = n - parents.len();
        let tip = *mainline.last().unwrap_or(&0);
        if remaining >= 2 && rng.chance(MERGE_CHANCE) {
            let mut len = 1;
            while len < remaining - 1 && !rng.chance(1.0 / BRANCH_MEAN) {
                len += 1;
            }
            let back = rng.below(FORK_WINDOW.min(mainline.len() as u64)) as usize;
            let fork = mainline[mainline.len() - 1 - back];
            let mut prev = if rng.chance(FORK_OUTSIDE) {
                None
            } else {
                Some(fork)
            };
            for _ in 0..len {
                parents.push(prev.into_iter().collect());
                prev = Some(parents.len() as u32 - 1);
            }
            parents.push([Some(tip), prev].into_iter().flatten().collect());
        } else {
            parents.push(vec![tip]);
        }
        mainline.push(parents.len() as u32 - 1);
    }
    parents
}

/// A history of `n` commits; with `has_culprit` a uniformly chosen culprit,
/// and each commit but the new end failing to build with chance
/// `build_failure`.
pub fn generate(rng: &mut Rng, n: usize, has_culprit: bool, build_failure: f64) -> History {
    let parents = shape(rng, n.max(1));
    let n = parents.len();
    let culprit = has_culprit.then(|| rng.below(n as u64) as u32);
    let mut crashing = vec![culprit.is_none(); n];
    if let Some(c) = culprit {
        crashing[c as usize] = true;
        for x in c as usize + 1..n {
            crashing[x] = parents[x].iter().any(|&p| crashing[p as usize]);
        }
    }
    let broken = (0..n)
        .map(|i| i + 1 < n && rng.chance(build_failure))
        .collect();
    let ids = (0..n).map(|i| format!("{i:040x}")).collect();
    let graph = match CommitGraph::from_parents(ids, parents) {
        Ok(g) => g,
        Err(e) => unreachable!("generated parents are topological: {e}"),
    };
    History {
        graph,
        culprit,
        broken,
        crashing,
        hidden: vec![false; n],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histories_have_merges_and_one_new_end() {
        let h = generate(&mut Rng::new(3), 5000, true, 0.05);
        let g = &h.graph;
        assert_eq!(g.len(), 5000);
        let merges = (0..5000).filter(|&i| g.parents(i).len() > 1).count();
        assert!((200..1000).contains(&merges), "{merges} merges");
        let mut has_child = vec![false; 5000];
        (0..5000).for_each(|i| {
            g.parents(i)
                .iter()
                .for_each(|&p| has_child[p as usize] = true)
        });
        assert_eq!(has_child.iter().filter(|c| !**c).count(), 1);
        assert!(!has_child[4999]);
        assert!(!h.hidden.iter().any(|x| *x));
        let broken = h.broken.iter().filter(|b| **b).count();
        assert!((150..350).contains(&broken), "{broken} broken");
        let c = h.culprit.unwrap();
        let anc = g.ancestors(4999);
        assert!(anc[c as usize] && h.crashing[4999]);
        assert_eq!(
            h.crashing.iter().filter(|x| **x).count(),
            (0..5000).filter(|&x| g.ancestors(x)[c as usize]).count()
        );
    }

    #[test]
    fn hiding_marks_three_commits_before_the_culprits_parent() {
        for seed in 0..20 {
            let mut h = generate(&mut Rng::new(seed), 300, true, 0.0);
            let c = h.culprit.unwrap();
            if !h.hide_before_culprit() {
                assert!(c < 5, "seed {seed}: culprit {c} could have been hidden");
                continue;
            }
            let hidden: Vec<u32> = (0..300).filter(|&i| h.hidden[i as usize]).collect();
            assert_eq!(hidden.len(), HIDDEN_COMMITS);
            let parent = h.graph.parents(c)[0];
            assert!(!h.hidden[parent as usize] && !h.hidden[c as usize]);
            let grandparent = h.graph.parents(parent)[0];
            assert!(h.hidden[grandparent as usize]);
            assert!(hidden.iter().all(|&x| !h.crashing[x as usize]));
        }
    }
}
