//! One generic bisection on 1 worker, then on 4: a 2,000-commit history
//! (made with `git fast-import`), a 5-second build, a test of a few
//! milliseconds, the default strategy. PostgreSQL is started here (Debian's
//! package); the workers are threads of this process, each with a work
//! directory of its own. Prints the wall time of each and their ratio.
//!
//! `cargo bench -p culprit-service --bench spread`; `CULPRIT_BENCH_BUILD_SECS`
//! and `CULPRIT_BENCH_COMMITS` change the build time and history length.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../tests/svc/mod.rs"]
mod svc;

use culprit_service::db::Db;
use culprit_service::local::LocalPostgres;
use culprit_service::queue;
use culprit_service::spec;
use culprit_service::worker::{self, WorkerConfig};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A linear history of `n` commits; `code.c` gets a line per commit, and
/// the line `BUG` at commit `culprit`. Returns the hashes, oldest first.
fn history(dir: &Path, n: usize, culprit: usize) -> Vec<String> {
    let mut code = String::new();
    let lines: Vec<String> = (0..n)
        .map(|i| {
            code.push_str(&format!("int f{i};\n"));
            if i == culprit {
                code.push_str("BUG\n");
            }
            code.clone()
        })
        .collect();
    svc::history(dir, n, |i| vec![("code.c".into(), lines[i].clone())])
}

/// Runs the job on `count` worker threads in an emptied database; returns
/// the wall time, the culprit and the revisions tested.
fn run(pg: &LocalPostgres, base: &Path, count: usize, job: &str) -> (Duration, String, u64) {
    let url = pg.url();
    let mut db = Db::connect(&url, Duration::from_secs(10)).expect("db");
    db.migrate().expect("migrate");
    db.run(|c| c.batch_execute("TRUNCATE jobs, workers, counters CASCADE"))
        .expect("an empty queue");
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..count)
        .map(|i| {
            let id = format!("bench-{count}-{i}");
            let mut config = WorkerConfig::new(&url, &id, base.join(format!("w{count}-{i}")));
            config.lease = Duration::from_secs(20);
            config.poll = Duration::from_millis(50);
            config.spread = count;
            config.patience = Duration::from_secs(60);
            let stop = stop.clone();
            std::thread::spawn(move || worker::run(config, stop))
        })
        .collect();
    // Every worker registered (and idle) before the job comes.
    while queue::workers(&mut db).expect("workers").len() < count {
        std::thread::sleep(Duration::from_millis(20));
    }
    let spec = spec::parse(job, false, Path::new("/")).expect("job");
    let started = Instant::now();
    let id = queue::submit(&mut db, &spec).expect("submit");
    let status = loop {
        let status = queue::job(&mut db, id).expect("status").expect("job");
        if status.state == "done" {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    let result = queue::result(&mut db, id)
        .expect("result")
        .unwrap_or_default();
    if std::env::var_os("CULPRIT_BENCH_LOG").is_some() {
        let rows = db
            .run(|c| {
                c.query(
                    "SELECT extract(epoch FROM written_at - (SELECT min(written_at) FROM journal WHERE job_id = $1))::float8,
                            record->>'record', left(record->>'commit', 8), record->>'index'
                     FROM journal WHERE job_id = $1 ORDER BY seq",
                    &[&id],
                )
            })
            .expect("journal");
        for r in rows {
            let (t, kind, commit, index): (f64, String, Option<String>, Option<String>) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            println!(
                "    | {t:6.2}s {kind} {} {}",
                commit.unwrap_or_default(),
                index.unwrap_or_default()
            );
        }
    }
    let tested = result["revisions_tested"].as_u64().unwrap_or(0);
    (
        took,
        status.culprit.unwrap_or_else(|| format!("none: {result}")),
        tested,
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Some(_) = culprit_service::local::postgres_bin() else {
        println!(
            "SKIPPED: the spread benchmark: PostgreSQL is not installed (bash scripts/deps.sh)"
        );
        return;
    };
    let build_secs = env_number("CULPRIT_BENCH_BUILD_SECS", 5);
    let commits = env_number("CULPRIT_BENCH_COMMITS", 2000) as usize;
    let dir = tempfile::tempdir().expect("temp dir");
    let pg = LocalPostgres::start(&dir.path().join("pg")).expect("PostgreSQL");
    let repo = dir.path().join("repo");
    let culprit_at = commits * 2 / 3 + 7;
    let hashes = history(&repo, commits, culprit_at);
    let job = format!(
        "repo = {:?}\nbad = {:?}\ngood = [{:?}]\nbuild = \"sleep {build_secs}\"\ntest = \"! grep -q BUG code.c\"\n",
        repo, hashes[commits - 1], hashes[0]
    );
    println!("spread: {commits} commits, {build_secs}s builds, default strategy");
    let mut times = Vec::new();
    for count in [1, 4] {
        let (took, culprit, tested) = run(&pg, dir.path(), count, &job);
        assert_eq!(
            culprit, hashes[culprit_at],
            "wrong culprit on {count} workers"
        );
        println!(
            "  {count} worker(s): {:.1}s, {tested} revisions tested",
            took.as_secs_f64()
        );
        times.push(took.as_secs_f64());
    }
    println!(
        "  ratio 4/1: {:.2} (target: at most 0.5)",
        times[1] / times[0]
    );
}
