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
//! - `BUILD_TIME`: also print the time to the culprit, counted in runs,
//!   with a build taking this many runs' time (`builds x BUILD_TIME +
//!   runs`);
//! - `PRIOR=learned`: bayes starts from the rate an earlier bisection of
//!   the same reproducer saw (`Bayes::with_rate_prior`): before each
//!   trial, bayes without a prior bisects another history of the same
//!   shape at the same rate, and its crashes and telling runs at commits
//!   with the bug are handed over; or `PRIOR_CRASHES` of `PRIOR_RUNS`;
//!   `PRIOR_WEIGHT`: what one learned run weighs against one made here;
//! - `TRACE=1`: where the runs of the first three trials went (the ends,
//!   the new end, the culprit, its parents, elsewhere);
//! - `WRONG=1`: every trial that named a wrong commit, with its runs;
//! - `GRID=1`: `culprit sim`'s cells instead (`COMMITS` and `RATES`, e.g.
//!   `0.5,0.2`, as `culprit sim --commits --rates`; `SEEDS`: `a..b`, each
//!   seed as `culprit sim --seed`; `THREADS`), the same histories and
//!   draws, bayes with the settings above: one line per cell and seed
//!   (`CELLS=0,4`: only those cells, by their index in the grid);
//!   with `HIDDEN=1`, issue 20's runaway cells instead (`sim::hidden_grid`:
//!   three commits before the culprit's parent show another crash at
//!   every run);
//! - `ROWS=FILE`: prints the `GRID=1` lines of FILE as `culprit sim`'s
//!   table (the bound computed as `culprit sim` does, from the printed
//!   means), and nothing else.

use std::cell::RefCell;
use std::rc::Rc;

use culprit_bisect::sim::{self, generate, simulate, strategy, Behaviour, History, Rng};
use culprit_bisect::strategy::bayes::{Bayes, RatePrior};
use culprit_bisect::strategy::{
    Context, EndContext, EndStep, NextStep, Strategy, Verdict, DEFAULT_CONFIDENCE,
};
use culprit_bisect::RunClass;
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

/// bayes that counts, as it goes, the runs made at commits with the bug:
/// what a service would keep of a bisection to start the next one of the
/// same reproducer from.
struct Learner {
    inner: Bayes,
    crashing: Vec<bool>,
    seen: Rc<RefCell<RatePrior>>,
}

impl Strategy for Learner {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn fresh(&self) -> Box<dyn Strategy> {
        self.inner.fresh()
    }

    fn check_end(&mut self, ctx: &EndContext<'_>) -> EndStep {
        self.inner.check_end(ctx)
    }

    fn observe(&mut self, ctx: &Context<'_>) {
        self.inner.observe(ctx)
    }

    fn next_step(&mut self, ctx: &Context<'_>) -> NextStep {
        let mut seen = RatePrior {
            crashes: 0,
            runs: 0,
        };
        for (i, e) in ctx.knowledge.commits.iter().enumerate() {
            if let (Some(e), true) = (e, self.crashing[i]) {
                let crashes = e.count(RunClass::Crash) as u32;
                seen.crashes += crashes;
                seen.runs += crashes + e.count(RunClass::Ok) as u32;
            }
        }
        *self.seen.borrow_mut() = seen;
        self.inner.next_step(ctx)
    }

    fn verdict(&self, ctx: &Context<'_>, commit: u32) -> Verdict {
        self.inner.verdict(ctx, commit)
    }
}

/// What an earlier bisection (trial `t`'s twin: another history of the
/// same shape, at the same rate) saw of the rate.
fn earlier(seed: u64, t: u64, lo: usize, hi: usize, behaviour: &Behaviour) -> RatePrior {
    let mut rng = Rng::derived(seed, 2, t);
    let h = history(&mut rng, lo, hi);
    let seen = Rc::new(RefCell::new(RatePrior {
        crashes: 0,
        runs: 0,
    }));
    let mut learner = Learner {
        inner: bayes(),
        crashing: h.crashing.clone(),
        seen: seen.clone(),
    };
    simulate(&mut learner, &h, behaviour, &mut rng.clone());
    let seen = *seen.borrow();
    seen
}

/// bayes with the parameters the environment sets.
fn bayes() -> Bayes {
    let mut b = Bayes::new(env("CONFIDENCE", DEFAULT_CONFIDENCE));
    b.calibration_crashes = env("CALIBRATION_CRASHES", b.calibration_crashes as f64) as usize;
    b.calibration_runs = env("CALIBRATION_RUNS", b.calibration_runs as f64) as usize;
    b.stop_margin = env("STOP_MARGIN", b.stop_margin);
    b.reliable_prior = env("RELIABLE_PRIOR", b.reliable_prior);
    b.max_build_cost = env("MAX_BUILD_COST", b.max_build_cost);
    b.parent_margin = env("PARENT_MARGIN", b.parent_margin);
    b.false_positive = env("FALSE_POSITIVE", b.false_positive);
    b.rate_prior_weight = env("PRIOR_WEIGHT", b.rate_prior_weight);
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

/// One cell of `culprit sim`'s grid (index `si`), every strategy.
fn cell(seed: usize, config: &sim::Config, s: &sim::Scenario, si: usize) {
    let k = config.strategies.len();
    let (mut right, mut runs, mut builds) = (vec![0u64; k], vec![0u64; k], vec![0u64; k]);
    for trial in 0..config.trials {
        let outcomes = sim::one_trial(config, &make, s, si as u64, trial as u64);
        for (j, (o, ok)) in outcomes.into_iter().enumerate() {
            if !ok && env("WRONG", 0.0) > 0.0 {
                println!(
                    "seed {seed} cell {si} trial {trial} {}: concluded {:?} after {} runs",
                    config.strategies[j], o.conclusion, o.runs
                );
            }
            right[j] += ok as u64;
            runs[j] += o.runs;
            builds[j] += o.builds;
        }
    }
    let t = config.trials.max(1) as f64;
    for (j, name) in config.strategies.iter().enumerate() {
        println!(
            "seed {seed} {name} rate {} build {} other {} culprit {}{}: right {} of {}, \
             mean runs {:.1}, mean builds {:.1}",
            s.rate,
            s.build_failure,
            s.unrelated,
            s.culprit,
            if s.hidden { " hidden" } else { "" },
            right[j],
            config.trials,
            runs[j] as f64 / t,
            builds[j] as f64 / t
        );
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
    // Cells by their index in the grid (`CELLS=0,4`), which seeds their
    // draws as in `culprit sim`: the others are left out.
    let cells: Option<Vec<usize>> = std::env::var("CELLS")
        .ok()
        .map(|c| c.split(',').filter_map(|i| i.trim().parse().ok()).collect());
    for seed in first..=last {
        let config = sim::Config {
            trials: env("TRIALS", 1000.0) as usize,
            seed: seed as u64,
            threads: env("THREADS", 1.0) as usize,
            strategies: names.split(',').map(str::to_owned).collect(),
        };
        if let Some(cells) = &cells {
            for &si in cells {
                let Some(s) = scenarios.get(si) else {
                    eprintln!("bayes_tune: no cell {si} in a grid of {}", scenarios.len());
                    std::process::exit(2);
                };
                cell(seed, &config, s, si);
            }
            continue;
        }
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

/// One line of [`cell`]'s output as a row of `culprit sim`'s table, its
/// bound computed as `culprit sim` does (from the printed means).
fn row(line: &str, lo: usize, hi: usize) -> Option<sim::Row> {
    let (head, tail) = line.split_once(": right ")?;
    let words: Vec<&str> = head.split_whitespace().collect();
    let value = |key: &str| {
        let at = words.iter().position(|w| *w == key)?;
        words.get(at + 1).and_then(|v| v.parse::<f64>().ok())
    };
    let culprit = words.iter().position(|w| *w == "culprit")?;
    let scenario = sim::Scenario {
        min_commits: lo,
        max_commits: hi,
        rate: value("rate")?,
        build_failure: value("build")?,
        unrelated: value("other")?,
        culprit: words.get(culprit + 1)? == &"true",
        hidden: words.last()? == &"hidden",
    };
    let numbers: Vec<f64> = tail
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.trim_end_matches('.').parse().ok())
        .collect();
    let [right, trials, runs, builds] = numbers[..] else {
        return None;
    };
    let accuracy = right / trials;
    let bits = sim::bound::bits_needed(lo, hi, accuracy);
    Some(sim::Row {
        strategy: words.get(2)?.to_string(),
        scenario,
        trials: trials as usize,
        accuracy,
        mean_builds: builds,
        mean_runs: runs,
        runs_bound: scenario
            .culprit
            .then(|| sim::bound::min_runs(scenario.rate, builds, bits))
            .flatten(),
    })
}

fn main() {
    if let Ok(path) = std::env::var("ROWS") {
        let (lo, hi) = range("COMMITS", "1000..15000");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            eprintln!("bayes_tune: {path}: {e}");
            std::process::exit(2);
        });
        let rows: Vec<sim::Row> = text.lines().filter_map(|l| row(l, lo, hi)).collect();
        print!("{}", sim::table(&rows));
        return;
    }
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
        let (mut right, mut runs, mut builds, mut prior_runs) = (0u64, 0u64, 0u64, 0u64);
        for t in 0..trials {
            let mut rng = Rng::derived(seed, 1, t);
            let h = history(&mut rng, lo, hi);
            let behaviour = Behaviour {
                rate,
                unrelated: 0.0,
                max_runs: 20_000,
                build_cost: std::env::var("MEASURED_BUILD_COST")
                    .ok()
                    .and_then(|v| v.parse().ok()),
            };
            let prior = match std::env::var("PRIOR").as_deref() {
                Ok("learned") => Some(earlier(seed, t, lo, hi, &behaviour)),
                _ => std::env::var("PRIOR_RUNS").ok().map(|_| RatePrior {
                    crashes: env("PRIOR_CRASHES", 0.0) as u32,
                    runs: env("PRIOR_RUNS", 0.0) as u32,
                }),
            };
            let inner: Box<dyn Strategy> = match (name, prior) {
                ("bayes", Some(prior)) => {
                    prior_runs += prior.runs as u64;
                    Box::new(bayes().with_rate_prior(prior))
                }
                ("bayes", None) => Box::new(bayes()),
                (other, _) => match strategy(other) {
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
            let outcome = simulate(&mut recorder, &h, &behaviour, &mut rng.clone());
            right += outcome.correct(&h) as u64;
            if env("WRONG", 0.0) > 0.0 && !outcome.correct(&h) {
                println!(
                    "trial {t}: culprit {:?}, concluded {:?} after {} runs{}",
                    h.culprit,
                    outcome.conclusion,
                    outcome.runs,
                    prior.map_or(String::new(), |p| format!(
                        ", learned {} crashes in {} runs",
                        p.crashes, p.runs
                    ))
                );
            }
            runs += outcome.runs;
            builds += outcome.builds;
            if env("TRACE", 0.0) > 0.0 && t < 3 {
                trace(t, &h, &requests.borrow(), outcome.runs);
            }
        }
        let t = trials as f64;
        let mut line = format!(
            "{name}: right {:.1}%, mean runs {:.1}, mean builds {:.1}",
            100.0 * right as f64 / t,
            runs as f64 / t,
            builds as f64 / t
        );
        if let Ok(Ok(build)) = std::env::var("BUILD_TIME").map(|v| v.parse::<f64>()) {
            let time = (runs as f64 + build * builds as f64) / t;
            line += &format!(", time {time:.1} runs (a build {build} runs)");
        }
        if prior_runs > 0 {
            line += &format!(", learned from {:.1} runs", prior_runs as f64 / t);
        }
        println!("{line}");
    }
}
