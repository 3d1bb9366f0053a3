use culprit_bisect::sim::*;
use culprit_bisect::strategy::Conclusion;

#[test]
#[ignore]
fn scratch() {
    let rate: f64 = std::env::var("RATE").unwrap().parse().unwrap();
    let bf: f64 = std::env::var("BF").unwrap().parse().unwrap();
    let name = std::env::var("STRAT").unwrap_or("bayes".into());
    let n: usize = std::env::var("N").map(|v| v.parse().unwrap()).unwrap_or(2000);
    let trials: u64 = std::env::var("TRIALS").map(|v| v.parse().unwrap()).unwrap_or(100);
    let culprit = std::env::var("NONE").is_err();
    let config = Config::default();
    let s = Scenario { min_commits: n, max_commits: n, rate, build_failure: bf, unrelated: 0.0, culprit };
    let (mut ok, mut runs, mut builds) = (0, 0, 0);
    let t0 = std::time::Instant::now();
    for t in 0..trials {
        let mut config = config.clone(); config.strategies = vec![name.clone()];
        let (o, c) = one_trial(&config, &s, 99, t).pop().unwrap();
        runs += o.runs; builds += o.builds;
        if c { ok += 1 } else {
            let mut rng = Rng::derived(config.seed, 99, t);
            let _ = rng.below(1);
            let h = generate(&mut rng, n, culprit, bf);
            let cul = h.culprit;
            let info = match &o.conclusion { Some(Conclusion::Culprit{commit, ..}) => format!("named {commit} broken={} crashing={} parents={:?} culpritparents={:?}", h.broken[*commit as usize], h.crashing[*commit as usize], h.graph.parents(*commit), cul.map(|c| h.graph.parents(c).to_vec())), x => format!("{x:?}") };
            println!("trial {t}: truth {cul:?} broken={:?} -> {info} runs {}", cul.map(|c| h.broken[c as usize]), o.runs);
        }
    }
    println!("{name}: {ok}/{trials} builds {} runs {} time {:?}", builds as f64 / trials as f64, runs as f64 / trials as f64, t0.elapsed());
}

#[test]
#[ignore]
fn gen_time() {
    let t0 = std::time::Instant::now();
    for t in 0..10 {
        let mut rng = Rng::derived(1, 2, t);
        let h = generate(&mut rng, 15000, true, 0.05);
        assert_eq!(h.graph.len(), 15000);
    }
    println!("gen: {:?}/trial", t0.elapsed() / 10);
}

#[test]
#[ignore]
fn compare() {
    let rate: f64 = std::env::var("RATE").unwrap().parse().unwrap();
    let n: usize = std::env::var("N").map(|v| v.parse().unwrap()).unwrap_or(2000);
    let mut config = Config::default();
    config.strategies = vec!["classic".into(), "bayes".into()];
    let s = Scenario { min_commits: n, max_commits: n, rate, build_failure: 0.0, unrelated: 0.0, culprit: true };
    for t in 0..100 {
        let r = one_trial(&config, &s, 99, t);
        if r[1].0.builds > r[0].0.builds {
            println!("trial {t}: classic {} builds, bayes {} builds {} runs; {:?}", r[0].0.builds, r[1].0.builds, r[1].0.runs, r[1].0.conclusion);
        }
    }
}

#[test]
#[ignore]
fn trace() {
    use culprit_bisect::strategy::{Context, NextStep, Strategy};
    use culprit_bisect::Direction;
    let rate: f64 = std::env::var("RATE").unwrap().parse().unwrap();
    let n: usize = std::env::var("N").map(|v| v.parse().unwrap()).unwrap_or(2000);
    let t: u64 = std::env::var("T").unwrap().parse().unwrap();
    let config = Config::default();
    let mut rng = Rng::derived(config.seed, 99, t);
    let _ = rng.below(1);
    let h = generate(&mut rng, n, true, 0.0);
    let b = Behaviour { rate, unrelated: 0.0, repro_runs: 100, old_end_runs: 10, max_runs: 20000 };
    let mut k = ends(&h, &b, &mut rng).unwrap();
    println!("culprit {:?}", h.culprit);
    for name in ["classic", "bayes"] {
        let mut st = strategy(name).unwrap();
        let mut kk = k.clone();
        let mut r2 = rng.clone();
        let mut line = String::new();
        loop {
            let ctx = Context { graph: &h.graph, knowledge: &kk, direction: Direction::Cause, parallelism: 1 };
            match st.next_step(&ctx) {
                NextStep::Evaluate(reqs) => for r in reqs {
                    let e = kk.entry(r.commit);
                    for _ in 0..r.runs { e.runs.push(if h.crashing[r.commit as usize] && r2.chance(rate) { culprit_bisect::RunClass::Crash } else { culprit_bisect::RunClass::Ok }); }
                    let c = e.runs.last().map(|x| if *x == culprit_bisect::RunClass::Crash {"X"} else {"."}).unwrap_or("");
                    line += &format!(" {}{}", r.commit, c);
                },
                NextStep::Done(c) => { println!("{name}: {line}\n  => {c:?}"); break; }
                NextStep::Abort{..} => break,
            }
        }
    }
    let _ = &mut k;
}
