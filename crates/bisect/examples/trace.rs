//! Temporary: traces what a strategy asks for in simulated trials.
use culprit_bisect::sim::{generate, simulate, Behaviour, Rng};
use culprit_bisect::strategy::*;

struct Trace(Box<dyn Strategy>, Vec<String>);

impl Strategy for Trace {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn check_end(&mut self, ctx: &EndContext<'_>) -> EndStep {
        let s = self.0.check_end(ctx);
        self.1.push(format!(
            "end {:?} {:?} -> {:?}",
            ctx.end,
            ctx.evidence.runs.len(),
            s
        ));
        s
    }
    fn observe(&mut self, ctx: &Context<'_>) {
        self.0.observe(ctx)
    }
    fn next_step(&mut self, ctx: &Context<'_>) -> NextStep {
        let s = self.0.next_step(ctx);
        if let NextStep::Evaluate(r) = &s {
            for r in r {
                let e = ctx.knowledge.get(r.commit);
                let top = self.0.top_suspects(ctx, 3);
                self.1.push(format!(
                    "req {} (len {}) runs {} have {:?} top {:?}",
                    r.commit,
                    ctx.graph.len(),
                    r.runs,
                    e.map(|e| e.runs.clone()),
                    top
                ));
            }
        } else {
            self.1.push(format!("{s:?}"));
        }
        s
    }
    fn verdict(&self, ctx: &Context<'_>, c: u32) -> Verdict {
        self.0.verdict(ctx, c)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rate: f64 = args[1].parse().unwrap();
    let name = &args[2];
    let trials: u64 = args[3].parse().unwrap();
    let verbose = args.len() > 4;
    let (mut runs, mut builds, mut right) = (0, 0, 0);
    for t in 0..trials {
        let mut rng = Rng::derived(1, 0, t);
        let n = match std::env::var("N")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
        {
            Some(n) => {
                rng.below(1);
                n
            }
            None => 1000 + rng.below(14001) as usize,
        };
        let h = generate(&mut rng, n, true, 0.0);
        let b = Behaviour {
            rate,
            unrelated: 0.0,
            max_runs: 20000,
        };
        let s: Box<dyn Strategy> = if name == "bayes" {
            {
                let mut b = culprit_bisect::strategy::bayes::Bayes::new(
                    std::env::var("CONF")
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0.99),
                );
                if let Some(v) = std::env::var("XX").ok() {
                    let _ = v;
                }
                let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
                if let Some(v) = env("MAXCOST") {
                    b.max_build_cost = v;
                }
                if let Some(v) = env("PMARGIN") {
                    b.parent_margin = v;
                }
                if let Some(v) = env("SMARGIN") {
                    b.stop_margin = v;
                }
                if let Some(v) = env("RELIABLE") {
                    b.reliable_prior = v;
                }
                if let Some(v) = env("CALC") {
                    b.calibration_crashes = v as usize;
                }
                if let Some(v) = env("CALR") {
                    b.calibration_runs = v as usize;
                }
                if let Some(v) = env("MINRATE") {
                    b.min_rate = v;
                }
                Box::new(b)
            }
        } else {
            StrategyConfig::new(name, 10).build().unwrap()
        };
        let mut tr = Trace(s, vec![]);
        let o = simulate(&mut tr, &h, &b, &mut rng.clone());
        let ok = o.correct(&h);
        runs += o.runs;
        builds += o.builds;
        right += ok as u64;
        if !ok && std::env::var("FAILS").is_ok() {
            println!(
                "FAIL trial {t}: culprit {:?} -> {:?} runs {}",
                h.culprit, o.conclusion, o.runs
            );
        }
        if verbose {
            for l in &tr.1 {
                println!("{l}");
            }
            println!(
                "culprit {:?} -> {:?} ok={ok} runs {} builds {}",
                h.culprit, o.conclusion, o.runs, o.builds
            );
        }
    }
    println!(
        "{name} rate {rate}: right {right}/{trials}, runs {:.1}, builds {:.1}",
        runs as f64 / trials as f64,
        builds as f64 / trials as f64
    );
}
