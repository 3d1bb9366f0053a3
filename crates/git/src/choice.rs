//! git's choice of the next commit to test.
//!
//! git weighs every remaining suspect by how many suspects it reaches (its
//! suspect ancestors, itself included) and tests the one that splits the
//! suspects most evenly: the largest `min(w, N - w)` where `N` counts all
//! suspects, skipped ones included. When that commit is marked as skipped,
//! git does not simply take the next best one, which usually sits right
//! next to it in the same untestable stretch; it jumps to a pseudo-random
//! place in the list of candidates sorted by score, biased towards the good
//! ones. This module does the same with its own deterministic draw.

use crate::graph::CommitGraph;

/// The next commit to test, as `git bisect` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BisectStep {
    /// Graph index of the chosen commit.
    pub commit: u32,
    /// Suspects the chosen commit reaches (itself included).
    pub reaches: u32,
    /// All suspects, skipped ones included (git's `bisect_all`).
    pub suspects: u32,
    /// git's "N revisions left to test after this".
    pub left: u32,
    /// git's "roughly K steps".
    pub steps: u32,
}

/// git's "roughly K steps" for `all` suspects: about log2(all) - 1, rounded
/// as git rounds it. For `all` = 2^k + x (0 <= x < 2^k) it is k when
/// 2^k < 3x and k - 1 otherwise; 0 below three suspects.
pub fn estimate_steps(all: u32) -> u32 {
    if all < 3 {
        return 0;
    }
    let k = 31 - all.leading_zeros();
    let power = 1u32 << k;
    let extra = all - power;
    if u64::from(power) < 3 * u64::from(extra) {
        k
    } else {
        k - 1
    }
}

/// git's "N revisions left to test after this" when the chosen commit
/// reaches `reaches` of `all` suspects: `all - reaches - 1`.
pub fn revisions_left(all: u32, reaches: u32) -> u32 {
    all.saturating_sub(reaches).saturating_sub(1)
}

impl CommitGraph {
    /// git's next commit among `suspects` (indexed like the graph), avoiding
    /// `skipped` ones as git does. `None` when no suspect is left to test:
    /// only the newest suspect (which reaches them all) and skipped ones.
    ///
    /// Ties between equally good commits go to the smallest index (the
    /// oldest in topological order), which is git's choice on linear
    /// history; on merges git may pick another commit of the same score.
    pub fn bisect_choice(&self, suspects: &[bool], skipped: &[bool]) -> Option<u32> {
        self.bisect_step(suspects, skipped).map(|step| step.commit)
    }

    /// Like [`CommitGraph::bisect_choice`], with the figures git prints.
    pub fn bisect_step(&self, suspects: &[bool], skipped: &[bool]) -> Option<BisectStep> {
        let is_suspect = |i: usize| suspects.get(i).copied().unwrap_or(false);
        let is_skipped = |i: usize| skipped.get(i).copied().unwrap_or(false);
        let reach = self.ancestor_counts(suspects);
        let all = (0..self.len()).filter(|&i| is_suspect(i)).count() as u32;
        // Candidates: suspects that do not reach every suspect. Best score
        // first, then smallest index.
        let score = |i: usize| reach[i].min(all - reach[i]);
        let candidates = (0..self.len()).filter(|&i| is_suspect(i) && reach[i] < all);
        let best = candidates
            .clone()
            .min_by_key(|&i| (std::cmp::Reverse(score(i)), i))?;
        let commit = if is_skipped(best) {
            let mut testable: Vec<usize> = candidates.filter(|&i| !is_skipped(i)).collect();
            testable.sort_unstable_by_key(|&i| (std::cmp::Reverse(score(i)), i));
            *testable.get(skip_away_index(testable.len()))?
        } else {
            best
        };
        let reaches = reach[commit];
        Some(BisectStep {
            commit: commit as u32,
            reaches,
            suspects: all,
            left: revisions_left(all, reaches),
            steps: estimate_steps(all),
        })
    }
}

/// Where to jump in a list of `count` candidates sorted best first when the
/// best one is skipped: position `count * r^1.5` for a pseudo-random `r` in
/// [0, 1) derived from `count`, so the same state always gives the same
/// answer, small positions (good splits) are favoured, and the pick usually
/// lands away from the skipped commit's neighbours.
fn skip_away_index(count: usize) -> usize {
    let r = unit_random(count as u64);
    let index = (count as f64 * r * r.sqrt()) as usize;
    index.min(count.saturating_sub(1))
}

/// A number in [0, 1) from a seed (the SplitMix64 finaliser).
fn unit_random(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(parents: Vec<Vec<u32>>) -> CommitGraph {
        let ids = (0..parents.len()).map(|i| format!("c{i}")).collect();
        CommitGraph::from_parents(ids, parents).unwrap()
    }

    fn linear(n: u32) -> CommitGraph {
        graph(
            (0..n)
                .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
                .collect(),
        )
    }

    #[test]
    fn steps_follow_gits_rounding() {
        // all: 2^k + x; k when 2^k < 3x.
        let cases = [
            (0, 0),
            (2, 0),
            (3, 1),
            (4, 1),
            (5, 1),
            (6, 2),
            (8, 2),
            (11, 3),
            (13831, 13),
            (7000, 12),
        ];
        for (all, steps) in cases {
            assert_eq!(estimate_steps(all), steps, "all={all}");
        }
        assert_eq!(estimate_steps(u32::MAX), 31);
        assert_eq!(revisions_left(10, 4), 5);
        assert_eq!(revisions_left(1, 1), 0);
    }

    #[test]
    fn linear_history_is_halved_and_ties_go_to_the_oldest() {
        let g = linear(7);
        let all = vec![true; 7];
        let none = vec![false; 7];
        let step = g.bisect_step(&all, &none).unwrap();
        // Commits 2 and 3 reach 3 and 4 of 7: both score 3.
        assert_eq!(
            (step.commit, step.reaches, step.left, step.steps),
            (2, 3, 3, 2)
        );
        let mut suspects = all.clone();
        suspects[..3].fill(false);
        assert_eq!(g.bisect_choice(&suspects, &none), Some(4));
    }

    #[test]
    fn nothing_to_test_when_only_the_tip_or_skipped_remain() {
        let g = linear(4);
        let mut suspects = vec![false, false, false, true];
        assert_eq!(g.bisect_choice(&suspects, &[false; 4]), None);
        suspects = vec![true; 4];
        assert_eq!(g.bisect_choice(&suspects, &[true, true, true, false]), None);
        assert_eq!(g.bisect_choice(&[], &[]), None);
    }

    #[test]
    fn skipped_best_is_avoided_and_the_pick_is_deterministic() {
        let g = linear(40);
        let suspects = vec![true; 40];
        let mut skipped = vec![false; 40];
        let best = g.bisect_choice(&suspects, &skipped).unwrap();
        assert_eq!(best, 19);
        skipped[17..=22].fill(true);
        let pick = g.bisect_choice(&suspects, &skipped).unwrap();
        assert!(!skipped[pick as usize] && pick != 39, "{pick}");
        assert_eq!(g.bisect_choice(&suspects, &skipped), Some(pick));
    }

    #[test]
    fn skip_away_favours_good_positions_but_spreads() {
        let picks: Vec<usize> = (1..2000)
            .map(|count| skip_away_index(count) * 100 / count)
            .collect();
        assert!(picks.iter().all(|&p| p < 100));
        let low = picks.iter().filter(|&&p| p < 50).count();
        // r^1.5 < 0.5 for r < 0.63: about 63% of the draws.
        assert!((1100..1400).contains(&low), "{low}");
        assert!(picks.iter().any(|&p| p > 80));
    }
}
