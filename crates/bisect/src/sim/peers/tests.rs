//! The peers on simulated histories: right with a reliable test, and wrong
//! the way each should be with a test that misses the crash.

use super::*;
use crate::sim::{generate, run, simulate, Behaviour, Config, History, Outcome, Rng, SimError};
use crate::strategy::range::linear;
use crate::strategy::Conclusion;

/// A linear history of `n` commits whose commits from `culprit` on crash.
fn line(n: usize, culprit: u32) -> History {
    History {
        graph: linear(n),
        culprit: Some(culprit),
        broken: vec![false; n],
        crashing: (0..n as u32).map(|i| i >= culprit).collect(),
        hidden: vec![false; n],
    }
}

fn behaviour(rate: f64, unrelated: f64) -> Behaviour {
    Behaviour {
        rate,
        unrelated,
        max_runs: 50_000,
        build_cost: None,
    }
}

fn sim(name: &str, h: &History, b: &Behaviour, seed: u64) -> Outcome {
    let mut s = strategy(name).expect("a peer");
    simulate(s.as_mut(), h, b, &mut Rng::new(seed))
}

/// Outcomes of `trials` bisections of generated histories of `n` commits
/// (with merges), each with its history.
fn trials(name: &str, n: usize, b: &Behaviour, trials: u64) -> Vec<(Outcome, History)> {
    (0..trials)
        .map(|t| {
            let mut rng = Rng::derived(11, n as u64, t);
            let h = generate(&mut rng, n, true, 0.0);
            (sim(name, &h, b, t), h)
        })
        .collect()
}

fn named(o: &Outcome) -> Option<(u32, f64)> {
    match o.conclusion {
        Some(Conclusion::Culprit { commit, confidence }) => Some((commit, confidence)),
        _ => None,
    }
}

#[test]
fn repeat_finds_the_culprit_and_loops_only_on_good_commits() {
    let reliable = behaviour(1.0, 0.0);
    for culprit in [0, 1, 30, 62, 63] {
        let h = line(64, culprit);
        let o = sim("repeat", &h, &reliable, 1);
        assert!(o.correct(&h), "{culprit}: {o:?}");
        assert!(o.builds <= 7, "{o:?}");
    }
    // Every tested commit crashes: one run each, plus 1 at the bad end and
    // 13 at the good end.
    let o = sim("repeat", &line(64, 0), &reliable, 1);
    assert_eq!(o.runs, 14 + o.builds);
    // Every tested commit is good: the whole loop each time.
    let o = sim("repeat", &line(64, 63), &reliable, 1);
    assert_eq!(o.runs, 14 + 13 * o.builds);
}

#[test]
fn repeat_is_right_when_its_loop_fits_the_rate_and_only_errs_late() {
    let fits = trials("repeat", 300, &behaviour(0.3, 0.0), 100);
    let right = fits.iter().filter(|(o, h)| o.correct(h)).count();
    assert!(right >= 90, "{right} of 100 at rate 0.3");
    // At rate 0.05 the loop misses the crash often. A failure is never
    // wrong, so a wrong answer is a commit after the culprit.
    let misses = trials("repeat", 300, &behaviour(0.05, 0.0), 100);
    let wrong: Vec<u32> = misses
        .iter()
        .filter(|(o, h)| !o.correct(h))
        .filter_map(|(o, h)| named(o).map(|(c, _)| (c, h)))
        .map(|(c, h)| {
            assert!(h.crashing[c as usize], "{c} names a good commit");
            c
        })
        .collect();
    assert!(wrong.len() >= 10, "{} wrong of 100", wrong.len());
}

#[test]
fn robust_finds_the_culprit_with_a_reliable_test() {
    let reliable = behaviour(1.0, 0.0);
    for culprit in (0..100).step_by(7).chain([99]) {
        let h = line(100, culprit);
        let o = sim("robust", &h, &reliable, 1);
        assert!(o.correct(&h), "{culprit}: {o:?}");
        let (_, confidence) = named(&o).expect("a culprit");
        assert!(confidence >= 0.99, "{confidence}");
        // log2(100) is 6.6: the paper's search needs a few more.
        assert!(o.runs <= 2 + 14, "{culprit}: {o:?}");
    }
    let merges = trials("robust", 1000, &reliable, 30);
    assert!(merges.iter().all(|(o, h)| o.correct(h)));
}

#[test]
fn robust_names_the_commits_no_test_can_tell_apart() {
    let mut h = line(64, 40);
    h.broken[39] = true;
    let o = sim("robust", &h, &behaviour(1.0, 0.0), 1);
    assert_eq!(
        o.conclusion,
        Some(Conclusion::Inconclusive {
            candidates: vec![39, 40]
        })
    );
    assert!(o.correct(&h));
    assert!(o.runs <= 25, "{o:?}");
}

#[test]
fn robust_is_right_under_the_symmetric_noise_it_assumes() {
    // Crashes missed 5% of the time and a failure from nowhere 5% of the
    // time: the paper's model.
    let noisy = trials("robust", 300, &behaviour(0.95, 0.05), 100);
    let concluded: Vec<_> = noisy.iter().filter(|(o, _)| named(o).is_some()).collect();
    let right = concluded.iter().filter(|(o, h)| o.correct(h)).count();
    assert!(concluded.len() >= 80, "{} concluded", concluded.len());
    assert!(
        right * 100 >= concluded.len() * 90,
        "{right} of {}",
        concluded.len()
    );
}

#[test]
fn robust_drifts_to_the_bad_end_when_crashes_are_missed() {
    let flaky = trials("robust", 300, &behaviour(0.3, 0.0), 200);
    let named: Vec<(u32, f64, &History)> = flaky
        .iter()
        .filter_map(|(o, h)| named(o).map(|(c, p)| (c, p, h)))
        .collect();
    assert!(named.len() >= 40, "{} concluded", named.len());
    let right = named
        .iter()
        .filter(|(c, _, h)| Some(*c) == h.culprit)
        .count();
    let late = named
        .iter()
        .filter(|(c, _, h)| Some(*c) != h.culprit && h.crashing[*c as usize])
        .count();
    let sure = named.iter().filter(|(_, p, _)| *p >= 0.99).count();
    // Mostly wrong, wrong late, and sure of itself.
    assert!(right * 2 < named.len(), "{right} right of {}", named.len());
    assert!(late * 10 >= (named.len() - right) * 9, "{late} late");
    assert!(sure * 10 >= named.len() * 9, "{sure} sure");
}

#[test]
fn the_simulator_knows_the_peers() {
    let config = Config {
        trials: 10,
        seed: 3,
        threads: 1,
        strategies: ["plain", "repeat", "robust"].map(String::from).to_vec(),
    };
    let cells = crate::sim::grid(50, 80, &[1.0]);
    let rows = run(&config, &cells).expect("known strategies");
    let reliable = |name: &str| {
        rows.iter()
            .find(|r| {
                let s = &r.scenario;
                r.strategy == name && s.culprit && s.build_failure == 0.0 && s.unrelated == 0.0
            })
            .map(|r| r.accuracy)
    };
    assert_eq!(reliable("repeat"), Some(1.0));
    assert_eq!(reliable("robust"), Some(1.0));
    let unknown = Config {
        strategies: vec!["nope".into()],
        ..config
    };
    match run(&unknown, &cells) {
        Err(e @ SimError::UnknownStrategy(_)) => {
            assert!(e.to_string().contains("repeat, robust"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}
