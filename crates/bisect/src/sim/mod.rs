//! The simulator behind `culprit sim`: runs the real strategies on
//! generated histories and measures how often they are right and what they
//! spend.
//!
//! A cell is one strategy on one kind of history: a range of commit counts,
//! a per-run reproduction rate, a build failure rate, an unrelated crash
//! rate, and whether there is a culprit at all. Every trial of a cell gets
//! its own seed, derived from the base seed, so results do not depend on the
//! number of threads, and all strategies see the same histories.

pub mod bound;
mod history;
pub mod peers;
mod rng;
mod table;
mod trial;

use std::thread;

pub use history::{generate, History, HIDDEN_COMMITS};
pub use rng::Rng;
pub use table::{table, targets};
pub use trial::{simulate, Behaviour, Outcome};

use crate::strategy::{self, bayes::Bayes, plain::Plain, Strategy};

/// The kind of history a cell simulates.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scenario {
    /// Fewest commits in the range.
    pub min_commits: usize,
    /// Most commits in the range.
    pub max_commits: usize,
    /// Chance that a run of a crashing commit shows the crash.
    pub rate: f64,
    /// Chance that a commit fails to build.
    pub build_failure: f64,
    /// Chance that a run shows an unrelated crash.
    pub unrelated: f64,
    /// Whether the range holds the culprit (otherwise the bug is older).
    pub culprit: bool,
    /// Whether the three commits before the culprit's parent show another
    /// crash at every run ([`History::hide_before_culprit`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

/// How to run a simulation.
#[derive(Debug, Clone)]
pub struct Config {
    /// Trials per cell.
    pub trials: usize,
    /// Base seed.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// Strategy names.
    pub strategies: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            trials: 1000,
            seed: 1,
            threads: 2,
            strategies: STRATEGIES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The strategies the simulator knows.
pub const STRATEGIES: &[&str] = &["plain", "classic", "bayes"];

/// Base runs per commit of the classic strategy (syzbot's).
const CLASSIC_RUNS: u32 = 10;

/// A fresh strategy called `name` (one of [`STRATEGIES`] or [`peers::NAMES`]).
pub fn strategy(name: &str) -> Option<Box<dyn Strategy>> {
    if let Some(peer) = peers::strategy(name) {
        return Some(peer);
    }
    match name {
        "plain" => Some(Box::new(Plain::default())),
        "bayes" => Some(Box::new(Bayes::default())),
        _ => strategy::StrategyConfig::new(name, CLASSIC_RUNS)
            .build()
            .ok(),
    }
}

/// A simulation that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// No such strategy.
    #[error("unknown strategy {0:?} (known: {known})", known = [STRATEGIES, peers::NAMES].concat().join(", "))]
    UnknownStrategy(String),
    /// A commit range that is empty or reversed.
    #[error("bad commit range {0}..{1}")]
    BadRange(usize, usize),
}

/// One line of the result table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Row {
    /// Strategy name.
    pub strategy: String,
    /// The kind of history.
    #[serde(flatten)]
    pub scenario: Scenario,
    /// Trials run.
    pub trials: usize,
    /// Fraction of trials with the right answer.
    pub accuracy: f64,
    /// Mean commits built per bisection.
    pub mean_builds: f64,
    /// Mean test runs per bisection.
    pub mean_runs: f64,
    /// The fewest mean runs any strategy could spend for this accuracy
    /// with these builds, knowing the rate ([`bound`]); `None` without a
    /// culprit, or when these builds cannot carry the bits needed (each
    /// teaches at most one).
    pub runs_bound: Option<f64>,
}

/// Every combination of the given commit range and rates with build
/// failures 0% and 5%, unrelated crashes 0% and 2%, with and without a
/// culprit.
pub fn grid(min_commits: usize, max_commits: usize, rates: &[f64]) -> Vec<Scenario> {
    let mut cells = Vec::new();
    for &culprit in &[true, false] {
        for &rate in rates {
            for &build_failure in &[0.0, 0.05] {
                for &unrelated in &[0.0, 0.02] {
                    cells.push(Scenario {
                        min_commits,
                        max_commits,
                        rate,
                        build_failure,
                        unrelated,
                        culprit,
                        hidden: false,
                    });
                }
            }
        }
    }
    cells
}

/// Issue 20's runaway commits at each rate: a culprit, every commit
/// builds, no unrelated crash, and the three commits before the culprit's
/// parent show another crash at every run.
pub fn hidden_grid(min_commits: usize, max_commits: usize, rates: &[f64]) -> Vec<Scenario> {
    rates
        .iter()
        .map(|&rate| Scenario {
            min_commits,
            max_commits,
            rate,
            build_failure: 0.0,
            unrelated: 0.0,
            culprit: true,
            hidden: true,
        })
        .collect()
}

/// Sums over the trials of one cell.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    trials: usize,
    correct: usize,
    builds: u64,
    runs: u64,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.trials += o.trials;
        self.correct += o.correct;
        self.builds += o.builds;
        self.runs += o.runs;
    }
}

/// Makes a fresh strategy from its name (`None`: unknown).
pub type Factory = dyn Fn(&str) -> Option<Box<dyn Strategy>> + Sync;

/// Runs every strategy of `config` on every scenario; one row per
/// (scenario, strategy), scenarios in order.
pub fn run(config: &Config, scenarios: &[Scenario]) -> Result<Vec<Row>, SimError> {
    run_with(config, scenarios, &strategy)
}

/// [`run`] with the strategies made by `make` (a tuning harness passes
/// strategies with other settings under the same names, so that they meet
/// the same histories and draws as `culprit sim`'s).
pub fn run_with(
    config: &Config,
    scenarios: &[Scenario],
    make: &Factory,
) -> Result<Vec<Row>, SimError> {
    for name in &config.strategies {
        make(name).ok_or_else(|| SimError::UnknownStrategy(name.clone()))?;
    }
    if let Some(s) = scenarios
        .iter()
        .find(|s| s.min_commits == 0 || s.min_commits > s.max_commits)
    {
        return Err(SimError::BadRange(s.min_commits, s.max_commits));
    }
    let threads = config.threads.max(1);
    let k = config.strategies.len();
    let tallies: Vec<Vec<Tally>> = thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| scope.spawn(move || worker(config, scenarios, make, t, threads)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let mut total = vec![Tally::default(); scenarios.len() * k];
    for part in &tallies {
        total.iter_mut().zip(part).for_each(|(t, p)| t.add(p));
    }
    let rows = total.iter().enumerate().map(|(i, t)| {
        let per = |x: f64| {
            if t.trials == 0 {
                0.0
            } else {
                x / t.trials as f64
            }
        };
        let s = scenarios[i / k];
        let (accuracy, mean_builds) = (per(t.correct as f64), per(t.builds as f64));
        let bits = bound::bits_needed(s.min_commits, s.max_commits, accuracy);
        Row {
            strategy: config.strategies[i % k].clone(),
            scenario: s,
            trials: t.trials,
            accuracy,
            mean_builds,
            mean_runs: per(t.runs as f64),
            runs_bound: s
                .culprit
                .then(|| bound::min_runs(s.rate, mean_builds, bits))
                .flatten(),
        }
    });
    Ok(rows.collect())
}

/// The trials `part`, `part + parts`, ... of every scenario.
fn worker(
    config: &Config,
    scenarios: &[Scenario],
    make: &Factory,
    part: usize,
    parts: usize,
) -> Vec<Tally> {
    let k = config.strategies.len();
    let mut tally = vec![Tally::default(); scenarios.len() * k];
    for (si, s) in scenarios.iter().enumerate() {
        for trial in (part..config.trials).step_by(parts) {
            for (j, (o, correct)) in one_trial(config, make, s, si as u64, trial as u64)
                .into_iter()
                .enumerate()
            {
                let t = &mut tally[si * k + j];
                t.trials += 1;
                t.correct += correct as usize;
                t.builds += o.builds;
                t.runs += o.runs;
            }
        }
    }
    tally
}

/// One trial of one scenario with each strategy of `config`: the outcomes
/// and whether they were right. The history and the run draws depend only
/// on the seed, the scenario and the trial, so every strategy faces the
/// same history and the same sequence of draws.
pub fn one_trial(
    config: &Config,
    make: &Factory,
    s: &Scenario,
    cell: u64,
    trial: u64,
) -> Vec<(Outcome, bool)> {
    let mut rng = Rng::derived(config.seed, cell, trial);
    let span = (s.max_commits - s.min_commits + 1) as u64;
    let n = s.min_commits + rng.below(span) as usize;
    let mut history = generate(&mut rng, n, s.culprit, s.build_failure);
    if s.hidden {
        history.hide_before_culprit();
    }
    let behaviour = Behaviour {
        rate: s.rate,
        unrelated: s.unrelated,
        max_runs: 20_000,
        build_cost: None,
    };
    let mut out = Vec::with_capacity(config.strategies.len());
    for name in &config.strategies {
        let Some(mut strat) = make(name) else {
            let nothing = Outcome {
                conclusion: None,
                builds: 0,
                runs: 0,
            };
            out.push((nothing, false));
            continue;
        };
        let outcome = simulate(strat.as_mut(), &history, &behaviour, &mut rng.clone());
        let correct = outcome.correct(&history);
        out.push((outcome, correct));
    }
    out
}

#[cfg(test)]
mod tests;
