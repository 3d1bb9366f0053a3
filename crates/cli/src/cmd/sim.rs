//! `culprit sim`: the bisection strategies on generated histories.

use std::time::Instant;

use culprit_bisect::sim::{self, Config};

/// Arguments of `culprit sim`.
#[derive(clap::Args)]
pub struct Args {
    /// Trials per cell.
    #[arg(long, default_value_t = 1000)]
    trials: usize,
    /// Base seed; the same seed gives the same table.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Commits per generated range, MIN..MAX (each trial draws one).
    #[arg(long, default_value = "1000..15000", value_parser = parse_range)]
    commits: (usize, usize),
    /// Per-run reproduction rates, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,0.5,0.2,0.1", value_parser = parse_rate)]
    rates: Vec<f64>,
    /// Strategies to compare, comma-separated: plain, classic, bayes, and
    /// the peers repeat (git bisect run over 13 runs) and robust (noisy
    /// binary search, as robust-git-bisect).
    #[arg(long, value_delimiter = ',', default_value = "plain,classic,bayes")]
    strategies: Vec<String>,
    /// Print one JSON object per row instead of the table.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn parse_range(s: &str) -> Result<(usize, usize), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("expected MIN..MAX, got {s:?}"))?;
    let num = |x: &str| x.trim().parse::<usize>().map_err(|e| format!("{x:?}: {e}"));
    let (min, max) = (num(a)?, num(b)?);
    if min == 0 || min > max {
        return Err(format!("need 0 < MIN <= MAX, got {min}..{max}"));
    }
    Ok((min, max))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r > 0.0 && r <= 1.0 => Ok(r),
        Ok(r) => Err(format!("a rate is in (0, 1], got {r}")),
        Err(e) => Err(format!("{s:?}: {e}")),
    }
}

/// Runs `culprit sim`; returns the exit code.
pub fn run(args: Args) -> i32 {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let config = Config {
        trials: args.trials,
        seed: args.seed,
        threads,
        strategies: args.strategies,
    };
    let scenarios = sim::grid(args.commits.0, args.commits.1, &args.rates);
    let started = Instant::now();
    let rows = match sim::run(&config, &scenarios) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("culprit sim: {e}");
            return 2;
        }
    };
    if args.json {
        for row in &rows {
            match serde_json::to_string(row) {
                Ok(line) => println!("{line}"),
                Err(e) => {
                    eprintln!("culprit sim: {e}");
                    return 1;
                }
            }
        }
    } else {
        print!("{}", sim::table(&rows));
        let targets = sim::targets(&rows);
        if !targets.is_empty() {
            print!("\ntargets (bayes against classic):\n{targets}");
        }
    }
    eprintln!(
        "culprit sim: {} cells x {} trials, seed {}, {} threads, {:.1}s",
        rows.len(),
        config.trials,
        config.seed,
        threads,
        started.elapsed().as_secs_f64()
    );
    0
}
