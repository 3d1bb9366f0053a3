//! Time to the culprit on the kernel scenario (`tests/kernel`), our way
//! against syzbot's, side by side in one run:
//!
//! - incremental: one checkout kept between steps (object files survive),
//!   ccache, commits that change no file the kernel is built from left
//!   out, a store of built kernels (fresh for each run), results reused
//!   for identical kernel signatures;
//! - clean: `make distclean` (and `git clean`) before every build, no
//!   ccache, no store, every commit a suspect, as syzbot builds.
//!
//! Both sides run the same cause bisection (default strategy) from a cold
//! start (their own ccache and store), one after the other, `--rounds N`
//! times (default 1) in turn, on the same cores.
//! Target: incremental takes at most 0.2 of the clean time.
//! Run: `cargo bench -p culprit-exec --bench kernel_bisect` (add
//! `-- incremental` or `-- clean` to run one side only, `-- --rounds 2`).
//!
//! `-- bayes plain`: the default strategy against `--strategy plain`
//! (`git bisect run`'s rules), both incremental from a cold start, side by
//! side: where builds dominate, time is the cost (target: bayes at most
//! 1.2x plain's time).

#[path = "../../../tests/kernel/scenario.rs"]
mod scenario;
use scenario::scenario;
use std::path::Path;
use std::time::{Duration, Instant};

use culprit_bisect::OutcomeKind;
use culprit_exec::run::{self, RunPlace};
use culprit_exec::settings::Settings;

const TARBALL: &str = "/usr/src/linux-source-6.1.tar.xz";
const CULPRIT_TITLE: &str = "prctl: factor out scratch value checking";
/// The crash bisected (the reproducer also hits an unrelated one).
const CRASH: &str = "WARNING in prctl_scratch_check";

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    if let Some(missing) = missing_tool() {
        println!("kernel_bisect: skipped: {missing}");
        return;
    }
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |mode: &str| only.is_empty() || only.iter().any(|o| o == mode);
    let scenario = match scenario(&root) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("kernel_bisect: cannot make the scenario: {e}");
            std::process::exit(1);
        }
    };
    let rounds = std::env::args()
        .skip_while(|a| a != "--rounds")
        .nth(1)
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(1);
    // (mode, clean builds, strategy); the last two only when asked for.
    let sides = [
        ("incremental", false, "bayes"),
        ("clean", true, "bayes"),
        ("bayes", false, "bayes"),
        ("plain", false, "plain"),
    ];
    let asked = |i: usize, mode: &str| match i {
        0 | 1 => wanted(mode),
        _ => only.iter().any(|o| o == mode),
    };
    let mut totals = [Duration::ZERO; 4];
    for round in 0..rounds {
        for (side, (mode, clean, strategy)) in sides.into_iter().enumerate() {
            if asked(side, mode) {
                let took = bisect(&root, &scenario, mode, clean, strategy);
                println!(
                    "kernel_bisect: round {}: {mode}: {:.1}s to the culprit",
                    round + 1,
                    took.as_secs_f64()
                );
                totals[side] += took;
            }
        }
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let ratio = |a: usize, b: usize| {
        let (a, b) = (totals[a], totals[b]);
        (!a.is_zero() && !b.is_zero()).then(|| a.as_secs_f64() / b.as_secs_f64())
    };
    if let Some(r) = ratio(0, 1) {
        println!("kernel_bisect: incremental/clean = {r:.3} over {rounds} round(s) (target <= 0.2) on {cpus} CPUs");
    }
    if let Some(r) = ratio(2, 3) {
        println!("kernel_bisect: bayes/plain = {r:.3} over {rounds} round(s) (target <= 1.2) on {cpus} CPUs");
    }
}

fn missing_tool() -> Option<String> {
    let tools = [TARBALL, "/usr/bin/qemu-system-x86_64"];
    if let Some(tool) = tools.iter().find(|t| !Path::new(t).exists()) {
        return Some(format!("{tool} is absent (bash scripts/deps.sh)"));
    }
    culprit_vm::find_busybox()
        .is_none()
        .then(|| "no static busybox (busybox-static)".into())
}

/// One cause bisection in a fresh work directory; returns its wall time.
fn bisect(root: &Path, scenario: &Path, mode: &str, clean: bool, strategy: &str) -> Duration {
    let work = root.join("target/culprit-bench").join(mode);
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("bench work directory");
    // A cold ccache of our own: the incremental side must not profit from
    // builds made before the benchmark.
    std::env::set_var("CCACHE_DIR", work.join("ccache"));
    let text = format!(
        "repo = {scenario:?}\nbad = \"scenario-bad\"\ncrash = {crash:?}\nworkdir = {work:?}\nruns = 6\nvms = 2\nstrategy = {strategy:?}\n\
         [kernel]\nconfig = {config:?}\nclean = {clean}\nccache = {ccache}\njobs = {jobs}\nstore = {store:?}\n\
         build_timeout = \"30m\"\n\
         [reproducer]\nc = {repro:?}\nrun_timeout = \"15s\"\nboot_timeout = \"90s\"\n",
        work = work.join("work"),
        config = root.join("tests/kernel/config"),
        repro = root.join("tests/kernel/repro.c"),
        crash = CRASH,
        ccache = !clean,
        store = if clean {
            "none".to_string()
        } else {
            work.join("store").display().to_string()
        },
        jobs = std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    let file = work.join("job.toml");
    std::fs::write(&file, &text).expect("job file");
    let settings = Settings::from_file(&file).unwrap_or_else(|e| panic!("{e}"));
    let log_path = work.join("bisect.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let errors = log.try_clone().expect("log file");
    let start = Instant::now();
    let place = RunPlace {
        log: Box::new(move || Box::new(log.try_clone().expect("log file"))),
        errors: Box::new(errors),
        journal: None,
        wrap: None,
        rate_prior: None,
    };
    let outcome = run::bisect(&settings, place).outcome;
    let took = start.elapsed();
    let culprit = outcome.culprit.as_ref().map(|c| c.title.as_str());
    if outcome.outcome != OutcomeKind::Culprit || culprit != Some(CULPRIT_TITLE) {
        eprintln!(
            "kernel_bisect: {mode}: wrong outcome {:?} {culprit:?}; see {}",
            outcome.outcome,
            log_path.display()
        );
        std::process::exit(1);
    }
    println!(
        "kernel_bisect: {mode}: {} revisions tested, build {:.0}s, test {:.0}s (log {})",
        outcome.revisions_tested,
        outcome.time.build,
        outcome.time.test,
        log_path.display()
    );
    took
}
