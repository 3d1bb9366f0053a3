//! Tuning harness for the bayes strategy: runs it and the simulator's
//! other strategies on generated histories, with bayes's parameters taken
//! from the environment, and prints accuracy, mean runs and mean builds.
//!
//! ```sh
//! cargo run --release -p culprit-bisect --example bayes_tune
//! ```
//!
//! Environment (all optional):
//! - `STRATEGIES`: comma-separated (default `bayes,repeat`);
//! - `TRIALS` (300), `RATE` (0.3), `SEED` (7);
//! - `COMMITS`: `lo..hi` commits per history (`120..140`);
//! - `LINE=1`: a line of commits without merges, the shape of the
//!   real-history benchmark's histories; `CULPRIT=i` puts the culprit at
//!   graph index `i` (default: uniform);
//! - bayes's parameters: `CONFIDENCE` (`--confidence`), `CALIBRATION_CRASHES`, `CALIBRATION_RUNS`,
//!   `STOP_MARGIN`, `RELIABLE_PRIOR`, `MAX_BUILD_COST`, `PARENT_MARGIN`,
//!   `FALSE_POSITIVE`;
//! - `MEASURED_BUILD_COST`: what a build costs in runs, as the engine
//!   would measure it (default: not measured);
//! - `TRACE=1`: where the runs of the first three trials went (the ends,
//!   the new end, the culprit, its parents, elsewhere);
//! - `WRONG=1`: every trial that named a wrong commit, with its runs;
//! - `GRID=1`: `culprit sim`'s cells instead (`COMMITS` and `RATES`, e.g.
//!   `0.5,0.2`, as `culprit sim --commits --rates`; `SEEDS`: `a..b`, each
//!   seed as `culprit sim --seed`; `THREADS`), the same histories and
//!   draws, bayes with the settings above: one line per cell and seed;
//!   with `HIDDEN=1`, issue 20's runaway cells instead (`sim::hidden_grid`:
//!   three commits before the culprit's parent show another crash at
//!   every run).

use std::cell::RefCell;
use std::rc::Rc;

use culprit_bisect::sim::{self, generate, simulate, strategy, Behaviour, History, Rng};
use culprit_bisect::strategy::bayes::Bayes;
use culprit_bisect::strategy::{Context, EndContext, EndStep, NextStep, Strategy, Verdict};
use culprit_git::CommitGraph;

/// A number from the environment, or `default`.
fn env(key: &str, default: f64) -> f64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs asked for, per commit (`None`: at an end before the bisection).
type Requests = Rc<RefCell<Vec<(Option<u32>, u32)>>>;

/// A strategy that records what the strategy it wraps asks for.
struct Recorder {
    inner: Box<dyn Strategy>,
    requests: Requests,
}

impl Strategy for Recorder {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn fresh(&self) -> Box<dyn Strategy> {
        Box::new(Recorder {
            inner: self.inner.fresh(),
            requests: Requests::default(),
        })
    }

    fn check_end(&mut self, ctx: &EndContext<'_>) -> EndStep {
        let step = self.inner.check_end(ctx);
        if let EndStep::Run(runs) = step {
            self.requests.borrow_mut().push((None, runs));
        }
        step
    }

    fn observe(&mut self, ctx: &Context<'_>) {
        self.inner.observe(ctx)
    }

    fn next_step(&mut self, ctx: &Context<'_>) -> NextStep {
        let step = self.inner.next_step(ctx);
        if let NextStep::Evaluate(requests) = &step {
            let mut log = self.requests.borrow_mut();
            log.extend(requests.iter().map(|r| (Some(r.commit), r.runs)));
        }
        step
    }

    fn verdict(&self, ctx: &Context<'_>, commit: u32) -> Verdict {
        self.inner.verdict(ctx, commit)
    }
}

/// bayes with the parameters the environment sets.
fn bayes() -> Bayes {
    let mut b = Bayes::new(env("CONFIDENCE", 0.99));
    b.calibration_crashes = env("CALIBRATION_CRASHES", b.calibration_crashes as f64) as usize;
    b.calibration_runs = env("CALIBRATION_RUNS", b.calibration_runs as f64) as usize;
    b.stop_margin = env("STOP_MARGIN", b.stop_margin);
    b.reliable_prior = env("RELIABLE_PRIOR", b.reliable_prior);
    b.max_build_cost = env("MAX_BUILD_COST", b.max_build_cost);
    b.parent_margin = env("PARENT_MARGIN", b.parent_margin);
    b.false_positive = env("FALSE_POSITIVE", b.false_positive);
    b
}

/// A line of `n` commits whose culprit is `culprit` (every later commit
/// has the bug).
fn line(n: usize, culprit: usize) -> History {
    let ids = (0..n).map(|i| format!("c{i}")).collect();
    let parents = (0..n as u32)
        .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
        .collect();
    let graph = CommitGraph::from_parents(ids, parents).expect("a line of commits is a graph");
    History {
        graph,
        culprit: Some(culprit as u32),
        broken: vec![false; n],
        crashing: (0..n).map(|i| i >= culprit).collect(),
        hidden: vec![false; n],
    }
}

/// The history of one trial.
fn history(rng: &mut Rng, lo: usize, hi: usize) -> History {
    let n = lo + rng.below((hi - lo + 1) as u64) as usize;
    if env("LINE", 0.0) > 0.0 {
        let culprit = match std::env::var("CULPRIT").ok().and_then(|v| v.parse().ok()) {
            Some(c) => usize::min(c, n - 1),
            None => rng.below(n as u64 - 1) as usize,
        };
        return line(n, culprit);
    }
    generate(rng, n, true, 0.0)
}

/// Where one trial's runs went.
fn trace(t: u64, h: &History, requests: &[(Option<u32>, u32)], runs: u64) {
    let (Some(culprit), n) = (h.culprit, h.graph.len() as u32) else {
        return;
    };
    let parents = h.graph.parents(culprit);
    let mut spent = [0u32; 5];
    for &(commit, k) in requests {
        let slot = match commit {
            None => 0,
            Some(c) if c == n => 0,
            Some(c) if c == n - 1 => 1,
            Some(c) if c == culprit => 2,
            Some(c) if parents.contains(&c) => 3,
            Some(_) => 4,
        };
        spent[slot] += k;
    }
    println!(
        "trial {t}: {n} commits, culprit {culprit}, {runs} runs: ends {}, new end {}, \
         culprit {}, its parents {}, elsewhere {}",
        spent[0], spent[1], spent[2], spent[3], spent[4]
    );
}

/// `lo..hi` from the environment variable `key`, or `default`.
fn range(key: &str, default: &str) -> (usize, usize) {
    let text = std::env::var(key).unwrap_or_else(|_| default.into());
    match text.split_once("..").map(|(a, b)| (a.parse(), b.parse())) {
        Some((Ok(lo), Ok(hi))) if lo <= hi => (lo, hi),
        _ => {
            eprintln!("bayes_tune: {key} must be lo..hi with lo <= hi, not {text:?}");
            std::process::exit(2);
        }
    }
}

/// A strategy by name, bayes with the environment's settings.
fn make(name: &str) -> Option<Box<dyn Strategy>> {
    match name {
        "bayes" => Some(Box::new(bayes())),
        other => strategy(other),
    }
}

/// `culprit sim`'s cells, seed by seed: one line per cell.
fn grid(names: &str) {
    let (lo, hi) = range("COMMITS", "1000..15000");
    let (first, last) = range("SEEDS", "1..1");
    let rates: Vec<f64> = std::env::var("RATES")
        .unwrap_or_else(|_| "0.5,0.2".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let scenarios = if env("HIDDEN", 0.0) > 0.0 {
        sim::hidden_grid(lo.max(1), hi.max(1), &rates)
    } else {
        sim::grid(lo.max(1), hi.max(1), &rates)
    };
    for seed in first..=last {
        let config = sim::Config {
            trials: env("TRIALS", 1000.0) as usize,
            seed: seed as u64,
            threads: env("THREADS", 1.0) as usize,
            strategies: names.split(',').map(str::to_owned).collect(),
        };
        let rows = match sim::run_with(&config, &scenarios, &make) {
            Ok(rows) => rows,
            Err(e) => {
                eprintln!("bayes_tune: {e}");
                std::process::exit(2);
            }
        };
        for r in rows {
            let s = r.scenario;
            println!(
                "seed {seed} {} rate {} build {} other {} culprit {}{}: right {} of {}, \
                 mean runs {:.1}, mean builds {:.1}",
                r.strategy,
                s.rate,
                s.build_failure,
                s.unrelated,
                s.culprit,
                if s.hidden { " hidden" } else { "" },
                (r.accuracy * r.trials as f64).round(),
                r.trials,
                r.mean_runs,
                r.mean_builds
            );
        }
    }
}

fn main() {
    let names = std::env::var("STRATEGIES").unwrap_or_else(|_| "bayes,repeat".into());
    if env("GRID", 0.0) > 0.0 {
        return grid(&names);
    }
    let trials = env("TRIALS", 300.0) as u64;
    let rate = env("RATE", 0.3);
    let seed = env("SEED", 7.0) as u64;
    let commits = std::env::var("COMMITS").unwrap_or_else(|_| "120..140".into());
    let (lo, hi) = match commits
        .split_once("..")
        .map(|(a, b)| (a.parse(), b.parse()))
    {
        Some((Ok(lo), Ok(hi))) if 2 <= lo && lo <= hi => (lo, hi),
        _ => {
            eprintln!("bayes_tune: COMMITS must be lo..hi with 2 <= lo <= hi, not {commits:?}");
            std::process::exit(2);
        }
    };
    for name in names.split(',') {
        let (mut right, mut runs, mut builds) = (0u64, 0u64, 0u64);
        for t in 0..trials {
            let mut rng = Rng::derived(seed, 1, t);
            let h = history(&mut rng, lo, hi);
            let inner: Box<dyn Strategy> = match name {
                "bayes" => Box::new(bayes()),
                other => match strategy(other) {
                    Some(s) => s,
                    None => {
                        eprintln!("bayes_tune: unknown strategy {other:?}");
                        std::process::exit(2);
                    }
                },
            };
            let requests = Requests::default();
            let mut recorder = Recorder {
                inner,
                requests: requests.clone(),
            };
            let behaviour = Behaviour {
                rate,
                unrelated: 0.0,
                max_runs: 20_000,
                build_cost: std::env::var("MEASURED_BUILD_COST")
                    .ok()
                    .and_then(|v| v.parse().ok()),
            };
            let outcome = simulate(&mut recorder, &h, &behaviour, &mut rng.clone());
            right += outcome.correct(&h) as u64;
            if env("WRONG", 0.0) > 0.0 && !outcome.correct(&h) {
                println!(
                    "trial {t}: culprit {:?}, concluded {:?} after {} runs",
                    h.culprit, outcome.conclusion, outcome.runs
                );
            }
            runs += outcome.runs;
            builds += outcome.builds;
            if env("TRACE", 0.0) > 0.0 && t < 3 {
                trace(t, &h, &requests.borrow(), outcome.runs);
            }
        }
        let t = trials as f64;
        println!(
            "{name}: right {:.1}%, mean runs {:.1}, mean builds {:.1}",
            100.0 * right as f64 / t,
            runs as f64 / t,
            builds as f64 / t
        );
    }
}
