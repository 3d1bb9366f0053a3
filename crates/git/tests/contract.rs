//! Graph contraction: the kept commits keep exactly their ancestry.

use culprit_git::CommitGraph;

fn graph(parents: Vec<Vec<u32>>) -> CommitGraph {
    let ids = (0..parents.len()).map(|i| format!("{i:040x}")).collect();
    CommitGraph::from_parents(ids, parents).unwrap()
}

/// Checks every kept pair: ancestry in the contracted graph equals
/// ancestry in the original; ids and order follow the mapping.
fn assert_ancestry_kept(g: &CommitGraph, drop: &[bool]) -> (CommitGraph, Vec<u32>) {
    let (small, old_of_new) = g.without(drop);
    let kept: Vec<u32> = (0..g.len() as u32).filter(|&i| !drop[i as usize]).collect();
    assert_eq!(old_of_new, kept, "new indices must follow the old order");
    for (new, &old) in old_of_new.iter().enumerate() {
        assert_eq!(small.id(new as u32), g.id(old));
        let before = g.ancestors(old);
        let after = small.ancestors(new as u32);
        for (other_new, &other_old) in old_of_new.iter().enumerate() {
            assert_eq!(
                after[other_new], before[other_old as usize],
                "ancestry of {other_old} from {old} changed"
            );
        }
        let ps = small.parents(new as u32);
        let mut unique = ps.to_vec();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ps.len(), "duplicate parents {ps:?}");
    }
    (small, old_of_new)
}

#[test]
fn hand_made_graph_with_merges() {
    //   0 - 1 - 2 ------- 5 - 6 - 8
    //        \           /       /
    //         3 ------- 4       /
    //          \               /
    //           7 ------------
    let g = graph(vec![
        vec![],
        vec![0],
        vec![1],
        vec![1],
        vec![3],
        vec![2, 4],
        vec![5],
        vec![3],
        vec![6, 7],
    ]);
    let drop = [false, true, true, false, true, true, false, true, false];
    let (small, old) = assert_ancestry_kept(&g, &drop);
    assert_eq!(old, [0, 3, 6, 8]);
    let at = |o: u32| old.iter().position(|&x| x == o).unwrap() as u32;
    // 6's parent 5 is dropped: through 2 -> 1 -> 0 and 4 -> 3.
    assert_eq!(small.parents(at(6)), &[at(0), at(3)]);
    // 8: first parent 6 kept and first; 7 dropped gives 3.
    assert_eq!(small.parents(at(8)), &[at(6), at(3)]);
    assert_eq!(small.parents(at(3)), &[at(0)]);
    assert!(small.parents(at(0)).is_empty());
}

#[test]
fn dropping_nothing_or_everything() {
    let g = graph(vec![vec![], vec![0], vec![0], vec![1, 2]]);
    let (same, old) = g.without(&[]);
    assert_eq!(old, [0, 1, 2, 3]);
    assert_eq!(same.parents(3), &[1, 2]);
    let (empty, old) = g.without(&[true; 4]);
    assert!(empty.is_empty() && old.is_empty());
}

#[test]
fn merge_of_two_dropped_branches_of_one_kept_base_has_one_parent() {
    let g = graph(vec![vec![], vec![0], vec![0], vec![1, 2]]);
    let (small, _) = assert_ancestry_kept(&g, &[false, true, true, false]);
    assert_eq!(small.parents(1), &[0], "the base must appear once");
}

/// Deterministic pseudo-random numbers (no dependency needed).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn random_graphs_keep_ancestry() {
    let mut rng = Lcg(7);
    for round in 0..40 {
        let n = 5 + rng.below(60) as usize;
        let parents: Vec<Vec<u32>> = (0..n)
            .map(|i| {
                let count = if i == 0 { 0 } else { 1 + rng.below(3) };
                let mut ps: Vec<u32> = (0..count).map(|_| rng.below(i as u64) as u32).collect();
                ps.dedup();
                ps
            })
            .collect();
        let g = graph(parents);
        let drop: Vec<bool> = (0..n).map(|_| rng.below(100) < 20 + round).collect();
        assert_ancestry_kept(&g, &drop);
    }
}
