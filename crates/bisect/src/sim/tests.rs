//! A small grid with few trials: plausible numbers, reproducible.

use super::*;
use crate::strategy::OTHER_CRASH_LIMIT;

fn small(trials: usize, threads: usize) -> Config {
    Config {
        trials,
        seed: 7,
        threads,
        ..Config::default()
    }
}

fn cell(
    rows: &[Row],
    strategy: &str,
    rate: f64,
    build_failure: f64,
    unrelated: f64,
    culprit: bool,
) -> Row {
    let found = rows.iter().find(|r| {
        let s = &r.scenario;
        r.strategy == strategy
            && s.rate == rate
            && s.build_failure == build_failure
            && s.unrelated == unrelated
            && s.culprit == culprit
    });
    found.cloned().unwrap_or_else(|| {
        panic!("no row for {strategy} {rate} {build_failure} {unrelated} {culprit}")
    })
}

#[test]
fn the_grid_covers_every_combination() {
    let g = grid(1000, 15000, &[1.0, 0.5, 0.2, 0.1]);
    assert_eq!(g.len(), 32);
    assert_eq!(
        g.iter()
            .filter(|s| !s.culprit && s.build_failure > 0.0 && s.unrelated > 0.0)
            .count(),
        4
    );
}

#[test]
fn strategies_rank_as_expected_on_a_small_grid() {
    let rows = run(&small(40, 2), &grid(200, 400, &[1.0, 0.2])).unwrap();
    assert_eq!(rows.len(), 8 * 2 * 3);
    assert!(rows.iter().all(|r| r.trials == 40));
    let plain = cell(&rows, "plain", 1.0, 0.0, 0.0, true);
    assert_eq!(plain.accuracy, 1.0);
    // One run per commit, and one at each end (the bad end crashes at
    // once at rate 1).
    assert_eq!(plain.mean_runs, plain.mean_builds + 2.0);
    let classic = cell(&rows, "classic", 1.0, 0.0, 0.0, true);
    assert_eq!(classic.accuracy, 1.0);
    assert!(
        classic.mean_runs >= 9.0 * classic.mean_builds,
        "{classic:?}"
    );
    let (bayes, classic) = (
        cell(&rows, "bayes", 0.2, 0.0, 0.0, true),
        cell(&rows, "classic", 0.2, 0.0, 0.0, true),
    );
    assert!(
        bayes.accuracy >= classic.accuracy && bayes.accuracy >= 0.9,
        "{bayes:?} vs {classic:?}"
    );
    assert!(
        bayes.mean_runs < classic.mean_runs,
        "{bayes:?} vs {classic:?}"
    );
    // Without a culprit, the old end crashes too: plain's single run there
    // sees it at rate 1, and mostly misses it at rate 0.2; bayes keeps
    // the "no culprit" hypothesis and asks the old end again.
    assert!(cell(&rows, "bayes", 0.2, 0.05, 0.02, false).accuracy >= 0.9);
    assert_eq!(cell(&rows, "plain", 1.0, 0.0, 0.0, false).accuracy, 1.0);
    assert!(cell(&rows, "plain", 0.2, 0.0, 0.0, false).accuracy < 0.5);
}

#[test]
fn results_do_not_depend_on_the_threads() {
    let cells = grid(100, 300, &[0.5]);
    let config = |threads| Config {
        strategies: vec!["plain".into(), "bayes".into()],
        ..small(6, threads)
    };
    assert_eq!(
        run(&config(1), &cells).unwrap(),
        run(&config(3), &cells).unwrap()
    );
}

#[test]
fn bad_requests_are_errors() {
    let config = Config {
        strategies: vec!["nope".into()],
        ..small(1, 1)
    };
    assert!(matches!(
        run(&config, &grid(10, 20, &[1.0])),
        Err(SimError::UnknownStrategy(_))
    ));
    assert!(matches!(
        run(&small(1, 1), &grid(20, 10, &[1.0])),
        Err(SimError::BadRange(20, 10))
    ));
}

#[test]
fn the_table_has_a_line_per_row() {
    let rows = run(&small(3, 1), &grid(50, 50, &[1.0])).unwrap();
    let text = table(&rows);
    assert_eq!(text.lines().count(), rows.len() + 1);
    assert!(text.lines().nth(1).unwrap().starts_with("plain"));
}

#[test]
fn commits_hidden_by_another_crash_cost_every_strategy_a_bounded_number_of_runs() {
    // Issue 20: three commits in a row show another crash at every run,
    // the culprit two commits after them. Every strategy names it, and no
    // bisection spends more than its usual runs plus ten per hidden commit.
    let config = Config {
        strategies: vec!["plain".into(), "classic".into(), "bayes".into()],
        ..small(1, 1)
    };
    let cells = hidden_grid(300, 3000, &[1.0, 0.5]);
    let mut met = 0;
    for (si, s) in cells.iter().enumerate() {
        let open = Scenario {
            hidden: false,
            ..*s
        };
        for trial in 0..40 {
            let outcomes = one_trial(&config, &strategy, s, si as u64, trial);
            let unhidden = one_trial(&config, &strategy, &open, si as u64, trial);
            for ((name, (o, right)), (u, _)) in config.strategies.iter().zip(outcomes).zip(unhidden)
            {
                met += (o.runs != u.runs) as usize;
                if s.rate < 1.0 && name == "plain" {
                    continue;
                }
                assert!(right, "{name} at rate {}, trial {trial}: {o:?}", s.rate);
                let usual = match (name.as_str(), s.rate == 1.0) {
                    ("plain", _) => 20,
                    ("classic", true) => 160,
                    ("classic", false) => 320,
                    (_, true) => 30,
                    (_, false) => 200,
                };
                let bound = usual + (OTHER_CRASH_LIMIT * HIDDEN_COMMITS) as u64;
                assert!(o.runs <= bound, "{name}: {} runs, bound {bound}", o.runs);
            }
        }
    }
    // Most bisections ran into the hidden commits (their runs changed).
    assert!(met > 120, "{met} of 240 bisections met the hidden commits");
}
