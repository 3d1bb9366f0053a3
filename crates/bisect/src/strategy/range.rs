//! The suspect range under verdicts, and git's choice of the next commit.
//!
//! Shared by the strategies that read each commit as old, new or skipped:
//! the culprit is a "new" commit none of whose ancestors in the graph is new.

use culprit_git::CommitGraph;

use super::Verdict;

/// Commits that may still be the culprit given per-commit verdicts.
///
/// A new commit keeps only its ancestors (itself included) suspect; an old
/// commit clears itself and its ancestors. The new end of the graph (its
/// last commit) is new by definition.
pub fn suspects(graph: &CommitGraph, verdicts: &[Verdict]) -> Vec<bool> {
    let mut suspect = vec![true; graph.len()];
    if graph.is_empty() {
        return suspect;
    }
    let tip = graph.len() as u32 - 1;
    let news =
        (0..graph.len() as u32).filter(|&i| i == tip || verdicts[i as usize] == Verdict::New);
    for i in news {
        for (s, a) in suspect.iter_mut().zip(graph.ancestors(i)) {
            *s &= a;
        }
    }
    for i in (0..graph.len() as u32).filter(|&i| verdicts[i as usize] == Verdict::Old) {
        for (s, a) in suspect.iter_mut().zip(graph.ancestors(i)) {
            *s &= !a;
        }
    }
    suspect
}

/// git's pick among the suspects: the untested suspect whose ancestors
/// (among the suspects) come closest to half of them, jumping away from
/// stretches of skipped commits the way git does (see
/// [`CommitGraph::bisect_step`]). Suspects that are not `untested` count as
/// skipped. Returns the pick and how many suspects it reaches.
pub fn bisect_choice(
    graph: &CommitGraph,
    suspect: &[bool],
    untested: &[bool],
) -> Option<(u32, usize)> {
    let skipped: Vec<bool> = suspect
        .iter()
        .zip(untested)
        .map(|(s, u)| *s && !*u)
        .collect();
    graph
        .bisect_step(suspect, &skipped)
        .map(|step| (step.commit, step.reaches as usize))
}

/// git's estimate of the steps left for `all` suspects.
pub fn estimate_steps(all: usize) -> usize {
    culprit_git::estimate_steps(u32::try_from(all).unwrap_or(u32::MAX)) as usize
}

/// A linear history of `n` commits (full-length hex ids), for the
/// strategies' tests.
#[cfg(test)]
pub(crate) fn linear(n: usize) -> CommitGraph {
    let ids = (0..n).map(|i| format!("{i:040x}")).collect();
    let parents = (0..n)
        .map(|i| if i == 0 { vec![] } else { vec![i as u32 - 1] })
        .collect();
    CommitGraph::from_parents(ids, parents).expect("a linear history is topological")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_and_new_verdicts_narrow_the_range() {
        let g = linear(8);
        let mut v = vec![Verdict::Undecided; 8];
        v[2] = Verdict::Old;
        v[5] = Verdict::New;
        let s = suspects(&g, &v);
        assert_eq!(s, [false, false, false, true, true, true, false, false]);
    }

    #[test]
    fn choice_halves_a_linear_range() {
        let g = linear(8);
        let s = vec![true; 8];
        let mut untested = vec![true; 8];
        untested[7] = false;
        assert_eq!(bisect_choice(&g, &s, &untested), Some((3, 4)));
    }

    #[test]
    fn choice_on_a_merge_counts_both_sides() {
        // 0 - 1 - 2 - 4(merge) ; 0 - 3 - 4
        let ids = (0..5).map(|i| format!("c{i}")).collect();
        let g = CommitGraph::from_parents(ids, vec![vec![], vec![0], vec![1], vec![0], vec![2, 3]])
            .unwrap();
        let s = vec![true; 5];
        let mut untested = vec![true; 5];
        untested[4] = false;
        let (pick, reach) = bisect_choice(&g, &s, &untested).unwrap();
        assert_eq!((pick, reach), (1, 2));
    }

    #[test]
    fn steps_match_git() {
        assert_eq!(estimate_steps(2), 0);
        assert_eq!(estimate_steps(3), 1);
        assert_eq!(estimate_steps(13831), 13);
    }
}
