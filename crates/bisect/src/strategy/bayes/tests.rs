//! Scripted bisections on small hand-made graphs.

use culprit_git::CommitGraph;

use super::*;
use crate::evidence::{CommitEvidence, Knowledge};
use crate::sim::Rng;
use crate::strategy::OTHER_CRASH_LIMIT;

fn graph(parents: Vec<Vec<u32>>) -> CommitGraph {
    let ids = (0..parents.len()).map(|i| format!("c{i}")).collect();
    CommitGraph::from_parents(ids, parents).unwrap()
}

fn linear(n: usize) -> CommitGraph {
    graph(
        (0..n as u32)
            .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
            .collect(),
    )
}

/// The commits that contain `culprit`.
fn descendants_of(g: &CommitGraph, culprit: u32) -> Vec<bool> {
    (0..g.len() as u32)
        .map(|x| g.ancestors(x)[culprit as usize])
        .collect()
}

/// A simulated world: which commits crash, which fail to build, how often.
struct World {
    crashing: Vec<bool>,
    old_end_crashes: bool,
    broken: Vec<u32>,
    rate: f64,
    other: f64,
    /// Commits where another crash shows at every run.
    hidden: Vec<u32>,
    direction: Direction,
}

struct Run {
    conclusion: Conclusion,
    runs: usize,
    max_batch: usize,
    knowledge: Knowledge,
}

fn draw(rng: &mut Rng, crashing: bool, w: &World) -> RunClass {
    if rng.chance(w.other) {
        RunClass::OtherCrash
    } else if crashing && rng.chance(w.rate) {
        RunClass::Crash
    } else {
        RunClass::Ok
    }
}

fn bisect(g: &CommitGraph, w: &World, parallelism: usize, seed: u64) -> Run {
    bisect_with(Bayes::default(), g, w, parallelism, seed)
}

fn bisect_with(mut bayes: Bayes, g: &CommitGraph, w: &World, parallelism: usize, seed: u64) -> Run {
    let mut rng = Rng::new(seed);
    let n = g.len();
    let mut k = Knowledge::new(n);
    let tip = n as u32 - 1;
    // The engine checks both ends first.
    while k.entry(tip).runs.len() < 100
        && (k.entry(tip).count(RunClass::Crash) == 0) == w.crashing[tip as usize]
    {
        let r = draw(&mut rng, w.crashing[tip as usize], w);
        k.entry(tip).runs.push(r);
    }
    k.old_end.runs = (0..10)
        .map(|_| draw(&mut rng, w.old_end_crashes, w))
        .collect();
    let mut max_batch = 0;
    for _ in 0..20_000 {
        let ctx = Context {
            graph: g,
            knowledge: &k,
            direction: w.direction,
            parallelism,
            machines: 1,
            build_cost: None,
        };
        match bayes.next_step(&ctx) {
            NextStep::Evaluate(reqs) => {
                max_batch = max_batch.max(reqs.len());
                for r in reqs {
                    // One past the graph: the old end.
                    let (e, crashing) = if r.commit as usize == n {
                        (&mut k.old_end, w.old_end_crashes)
                    } else {
                        let e = k.entry(r.commit);
                        e.build_failed = w.broken.contains(&r.commit);
                        (e, w.crashing[r.commit as usize])
                    };
                    let hidden = w.hidden.contains(&r.commit);
                    if !e.build_failed {
                        for _ in 0..r.runs {
                            e.runs.push(if hidden {
                                RunClass::OtherCrash
                            } else {
                                draw(&mut rng, crashing, w)
                            });
                        }
                    }
                }
            }
            NextStep::Done(conclusion) => {
                let runs = k
                    .commits
                    .iter()
                    .flatten()
                    .map(|e| e.runs.len())
                    .sum::<usize>()
                    + k.old_end.runs.len();
                return Run {
                    conclusion,
                    runs,
                    max_batch,
                    knowledge: k,
                };
            }
            NextStep::Abort { reason } => panic!("aborted: {reason}"),
        }
    }
    panic!("no conclusion");
}

fn cause(crashing: Vec<bool>, rate: f64) -> World {
    World {
        crashing,
        old_end_crashes: false,
        broken: Vec::new(),
        rate,
        other: 0.0,
        hidden: Vec::new(),
        direction: Direction::Cause,
    }
}

fn culprit_of(run: &Run) -> Option<u32> {
    match run.conclusion {
        Conclusion::Culprit { commit, confidence } => {
            assert!(confidence >= 0.99, "confidence {confidence}");
            Some(commit)
        }
        _ => None,
    }
}

#[test]
fn finds_the_culprit_of_a_flaky_reproducer() {
    let g = linear(200);
    let mut right = 0;
    for (seed, culprit) in [(1, 13), (2, 77), (3, 150), (4, 199), (5, 1), (6, 101)] {
        let run = bisect(&g, &cause(descendants_of(&g, culprit), 0.3), 1, seed);
        right += (culprit_of(&run) == Some(culprit)) as usize;
    }
    assert_eq!(right, 6);
}

#[test]
fn runs_at_the_old_end_tell_the_first_commit_from_no_culprit() {
    // With a flaky reproducer, the old end's first clean runs leave the
    // first commit short of the target: the strategy asks the old end
    // again until it can tell.
    let g = linear(200);
    let run = bisect(&g, &cause(descendants_of(&g, 0), 0.3), 1, 5);
    let Conclusion::Culprit { commit, confidence } = run.conclusion else {
        panic!("{:?}", run.conclusion);
    };
    assert_eq!(commit, 0);
    assert!(confidence >= 0.99, "{confidence}");
    // And without a culprit, the old end's crash says so.
    let mut w = cause(vec![true; 200], 0.3);
    w.old_end_crashes = true;
    let run = bisect(&g, &w, 1, 6);
    assert!(
        matches!(run.conclusion, Conclusion::NoCulprit { .. }),
        "{:?}",
        run.conclusion
    );
}

#[test]
fn a_rate_learned_before_saves_runs() {
    // An earlier bisection of the same reproducer saw 12 crashes in 40
    // runs at commits with the bug: this one calibrates less and trusts
    // clean runs sooner, and still names the culprit.
    let g = linear(200);
    let prior = RatePrior {
        crashes: 12,
        runs: 40,
    };
    let (mut without, mut with) = (0, 0);
    for (seed, culprit) in [(1, 13), (2, 77), (3, 150), (4, 120), (5, 101), (6, 40)] {
        let w = cause(descendants_of(&g, culprit), 0.3);
        let run = bisect_with(Bayes::default().with_rate_prior(prior), &g, &w, 1, seed);
        assert_eq!(culprit_of(&run), Some(culprit), "seed {seed}");
        with += run.runs;
        without += bisect(&g, &w, 1, seed).runs;
    }
    assert!(
        with * 10 < without * 9,
        "{with} runs with the prior, {without} without"
    );
}

#[test]
fn a_rate_prior_is_kept_within_what_it_can_say() {
    let none = Bayes::default().with_rate_prior(RatePrior {
        crashes: 3,
        runs: 0,
    });
    assert_eq!(none.rate_prior, None);
    let b = Bayes::default().with_rate_prior(RatePrior {
        crashes: 500,
        runs: 400,
    });
    assert_eq!(
        b.rate_prior,
        Some(RatePrior {
            crashes: 400,
            runs: 400
        })
    );
    // At most RATE_PRIOR_RUNS runs count, in the same proportion, each
    // weighing RATE_PRIOR_WEIGHT of a run made here.
    let (crashes, cleans) = Bayes::default()
        .with_rate_prior(RatePrior {
            crashes: 100,
            runs: 400,
        })
        .learned()
        .unwrap();
    let w = RATE_PRIOR_WEIGHT;
    assert!((crashes - 10.0 * w).abs() < 1e-9 && (cleans - 30.0 * w).abs() < 1e-9);
    // And a fresh strategy keeps it.
    let fresh = b.fresh();
    assert_eq!(fresh.target_confidence(), b.target_confidence());
}

#[test]
fn a_reliable_reproducer_needs_few_runs() {
    let g = linear(1024);
    let run = bisect(&g, &cause(descendants_of(&g, 300), 1.0), 1, 9);
    assert_eq!(culprit_of(&run), Some(300));
    // Ten halvings plus a few runs to learn that the reproducer is reliable.
    assert!(run.runs < 40, "{} runs", run.runs);
}

#[test]
fn a_culprit_on_a_merged_branch_is_found() {
    // Mainline 0-1-2-3-7-8; branch 4-5-6 forks off 1 and merges at 7.
    let g = graph(vec![
        vec![],
        vec![0],
        vec![1],
        vec![2],
        vec![1],
        vec![4],
        vec![5],
        vec![3, 6],
        vec![7],
    ]);
    for culprit in [5, 7, 2] {
        let run = bisect(
            &g,
            &cause(descendants_of(&g, culprit), 0.5),
            1,
            culprit as u64,
        );
        assert_eq!(culprit_of(&run), Some(culprit));
    }
}

#[test]
fn a_culprit_that_does_not_build_leaves_candidates() {
    let g = linear(100);
    let mut w = cause(descendants_of(&g, 40), 0.5);
    w.broken = vec![40];
    match bisect(&g, &w, 1, 3).conclusion {
        Conclusion::Inconclusive { candidates } => assert_eq!(candidates, [40, 41]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unrelated_crashes_do_not_mislead_it() {
    let g = linear(300);
    let mut w = cause(descendants_of(&g, 120), 0.5);
    w.other = 0.3;
    let run = bisect(&g, &w, 1, 11);
    assert_eq!(culprit_of(&run), Some(120));
}

#[test]
fn commits_hidden_by_another_crash_are_skipped_quickly() {
    // Three commits in a row crash otherwise at every run; the culprit is
    // two commits after them, and testable. Each hidden commit gets at most
    // its ten runs, and the search goes on next to it.
    let g = linear(200);
    let mut met = 0;
    let reliable = (4..200).step_by(5).map(|c| (1.0, c, c as u64));
    let flaky = [(0.5, 104, 3), (0.5, 60, 4), (0.5, 13, 5), (0.5, 101, 6)];
    for (rate, culprit, seed) in reliable.chain(flaky) {
        let mut w = cause(descendants_of(&g, culprit), rate);
        w.hidden = vec![culprit - 4, culprit - 3, culprit - 2];
        let run = bisect(&g, &w, 1, seed);
        assert_eq!(culprit_of(&run), Some(culprit), "rate {rate}");
        for &h in &w.hidden {
            let runs = run.knowledge.get(h).map_or(0, |e| e.runs.len());
            assert!(runs <= OTHER_CRASH_LIMIT, "{runs} runs at {h}");
            met += (runs > 0) as usize;
        }
        // Its usual runs, and at most ten more per hidden commit.
        let usual = if rate == 1.0 { 30 } else { 270 };
        let limit = usual + w.hidden.len() * OTHER_CRASH_LIMIT;
        assert!(run.runs <= limit, "rate {rate}: {} runs", run.runs);
    }
    // The search did run into the hidden commits.
    assert!(met >= 10, "{met} hidden commits tested");
}

#[test]
fn a_commit_hidden_by_another_crash_is_a_skip_and_so_is_such_an_end() {
    let g = linear(4);
    let mut k = Knowledge::new(4);
    k.entry(3).runs = vec![RunClass::Crash; 3];
    k.entry(1).runs = vec![RunClass::OtherCrash; OTHER_CRASH_LIMIT];
    k.old_end.runs = vec![RunClass::Ok];
    let ctx = Context {
        graph: &g,
        knowledge: &k,
        direction: Direction::Cause,
        parallelism: 1,
        machines: 1,
        build_cost: None,
    };
    let mut bayes = Bayes::default();
    bayes.observe(&ctx);
    assert_eq!(bayes.verdict(&ctx, 1), Verdict::Skip);
    // Nine such runs: not yet.
    let mut nine = k.clone();
    nine.entry(1).runs.pop();
    let ctx = Context {
        knowledge: &nine,
        ..ctx
    };
    assert_eq!(bayes.verdict(&ctx, 1), Verdict::Undecided);
    let other = CommitEvidence {
        build_failed: false,
        runs: vec![RunClass::OtherCrash; OTHER_CRASH_LIMIT],
    };
    for end in [End::Bad, End::Good, End::Check] {
        let step = bayes.check_end(&EndContext {
            end,
            direction: Direction::Cause,
            evidence: &other,
            bad_end: &other,
            machines: 1,
        });
        assert_eq!(step, EndStep::Read(EndReading::Unclear), "{end:?}");
    }
}

#[test]
fn a_crash_older_than_the_range_means_no_culprit() {
    let g = linear(500);
    let mut w = cause(vec![true; 500], 0.3);
    w.old_end_crashes = true;
    for seed in 0..4 {
        match bisect(&g, &w, 1, seed).conclusion {
            Conclusion::NoCulprit { confidence } => assert!(confidence >= 0.99),
            other => panic!("seed {seed}: {other:?}"),
        }
    }
}

#[test]
fn finds_a_fix() {
    let g = linear(200);
    let fixed = descendants_of(&g, 66);
    let w = World {
        crashing: fixed.iter().map(|f| !f).collect(),
        old_end_crashes: true,
        broken: Vec::new(),
        rate: 0.4,
        other: 0.0,
        hidden: Vec::new(),
        direction: Direction::Fix,
    };
    assert_eq!(culprit_of(&bisect(&g, &w, 1, 5)), Some(66));
}

#[test]
fn free_builders_get_one_commit_each() {
    let g = linear(400);
    let run = bisect(&g, &cause(descendants_of(&g, 222), 1.0), 3, 2);
    assert_eq!(culprit_of(&run), Some(222));
    assert_eq!(run.max_batch, 3);
}

#[test]
fn verdicts_follow_the_posterior() {
    let g = linear(4);
    let mut k = Knowledge::new(4);
    k.entry(3).runs = vec![RunClass::Crash; 5];
    k.entry(2).runs = vec![RunClass::Crash; 2];
    k.entry(1).runs = vec![RunClass::Ok; 30];
    k.entry(0).build_failed = true;
    k.old_end.runs = vec![RunClass::Ok; 10];
    let ctx = Context {
        graph: &g,
        knowledge: &k,
        direction: Direction::Cause,
        parallelism: 1,
        machines: 1,
        build_cost: None,
    };
    let mut bayes = Bayes::default();
    assert_eq!(
        bayes.next_step(&ctx),
        NextStep::Done(Conclusion::Culprit {
            commit: 2,
            confidence: bayes.state.as_ref().unwrap().masses.mass[2]
        })
    );
    assert_eq!(bayes.verdict(&ctx, 2), Verdict::New);
    assert_eq!(bayes.verdict(&ctx, 1), Verdict::Old);
    assert_eq!(bayes.verdict(&ctx, 0), Verdict::Skip);
    // A commit with no telling run has no reading yet.
    let mut k = k.clone();
    k.entry(1).runs = vec![RunClass::OtherCrash];
    let ctx = Context {
        knowledge: &k,
        ..ctx
    };
    bayes.observe(&ctx);
    assert_eq!(bayes.verdict(&ctx, 1), Verdict::Undecided);
}

#[test]
fn a_build_measured_cheap_is_not_saved_by_reruns() {
    // A flaky reproducer (3 crashes in 10 runs at the new end) and five
    // clean runs at the middle commit: when builds cost two runs, the next
    // run goes back to the middle; when the engine measured them at a
    // twentieth of a run, it goes to a commit not built yet.
    let g = linear(64);
    let mut k = Knowledge::new(64);
    k.entry(63).runs = [RunClass::Crash, RunClass::Ok, RunClass::Ok]
        .repeat(3)
        .into_iter()
        .chain([RunClass::Ok])
        .collect();
    k.old_end.runs = vec![RunClass::Ok];
    k.entry(31).runs = vec![RunClass::Ok; 5];
    let next = |build_cost| {
        let ctx = Context {
            graph: &g,
            knowledge: &k,
            direction: Direction::Cause,
            parallelism: 1,
            machines: 1,
            build_cost,
        };
        match Bayes::default().next_step(&ctx) {
            NextStep::Evaluate(r) if r.len() == 1 => r[0].commit,
            other => panic!("expected one evaluation, got {other:?}"),
        }
    };
    assert_eq!(next(None), 31);
    let c = next(Some(0.05));
    assert!(k.get(c).is_none(), "{c}");
}
