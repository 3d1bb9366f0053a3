//! The service at size. `pages`: one real bisection, then 10,000 queued
//! and 10,000 finished jobs; the times of the dashboard's pages, the API
//! and a claim (the server in this process, a real PostgreSQL). `disk`:
//! one worker runs 500 small generic jobs; the disk its work directory
//! uses along the way and at the end.
//!
//! `cargo bench -p culprit-service --bench service [-- pages|disk]`;
//! `CULPRIT_BENCH_JOBS` changes the 500.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../tests/svc/mod.rs"]
mod svc;

use culprit_service::api::{self, ServeConfig};
use culprit_service::db::Db;
use culprit_service::local::LocalPostgres;
use culprit_service::worker::{self, WorkerConfig};
use culprit_service::{lease, queue, spec, workdir};

const TOKEN: &str = "bench-token-0123456789";

/// A linear history of `n` commits; `bugs.txt` gets `BUG{k}` at commit
/// `2 + k % (n - 3)`. Returns the hashes, oldest first.
fn history(dir: &Path, n: usize, bugs: usize) -> Vec<String> {
    svc::history(dir, n, |i| {
        let present: String = (0..bugs)
            .filter(|k| 2 + k % (n - 3) <= i)
            .map(|k| format!("BUG{k}\n"))
            .collect();
        vec![("bugs.txt".into(), present)]
    })
}

fn job(repo: &Path, hashes: &[String], k: usize) -> String {
    format!(
        "repo = {:?}\nbad = {:?}\ngood = [{:?}]\nbuild = \"true\"\ntest = \"! grep -qx BUG{k} bugs.txt\"\n",
        repo,
        hashes[hashes.len() - 1],
        hashes[0]
    )
}

/// Workers on threads of this process until the returned flag is set.
fn workers(
    url: &str,
    base: &Path,
    count: usize,
) -> (Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let threads = (0..count)
        .map(|i| {
            let mut config =
                WorkerConfig::new(url, &format!("bench-{i}"), base.join(format!("w{i}")));
            config.poll = Duration::from_millis(20);
            let stop = stop.clone();
            std::thread::spawn(move || {
                let _ = worker::run(config, stop);
            })
        })
        .collect();
    (stop, threads)
}

fn wait_done(db: &mut Db, id: i64) {
    loop {
        let job = queue::job(db, id).expect("status").expect("job");
        if !matches!(job.state.as_str(), "queued" | "running") {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One GET; its status and time.
fn get(addr: &str, path: &str) -> (u16, Duration, usize) {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("answer");
    let took = start.elapsed();
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, took, answer.len())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Median and slowest of `times`.
fn summary(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() - 1])
}

fn pages(dir: &Path) {
    let pg = LocalPostgres::start(&dir.join("pg")).expect("PostgreSQL");
    let mut db = Db::connect(&pg.url(), Duration::from_secs(10)).expect("db");
    db.migrate().expect("schema");
    // One real bisection, for a finished job's page.
    let repo = dir.join("repo");
    let hashes = history(&repo, 200, 1);
    let spec = spec::parse(&job(&repo, &hashes, 0), false, Path::new("/")).expect("job");
    let real = queue::submit(&mut db, &spec).expect("submit");
    let (stop, threads) = workers(&pg.url(), dir, 1);
    wait_done(&mut db, real);
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    let started = Instant::now();
    db.run(|c| {
        c.batch_execute(&format!(
            "INSERT INTO jobs (kind, spec, title, state, result, exit_code, owner, attempts, token,
                               submitted_at, started_at, finished_at)
             SELECT kind, spec, 'cause in repo-' || g || ' from 0123456789ab', 'done', result,
                    exit_code, owner, 1, 1, now() - interval '2 days', now() - interval '1 day',
                    now() - interval '1 day'
             FROM jobs, generate_series(1, 10000) g WHERE id = {real};
             INSERT INTO jobs (kind, spec, title)
             SELECT kind, spec, 'cause in repo-' || (10000 + g) || ' from 0123456789ab'
             FROM jobs, generate_series(1, 10000) g WHERE id = {real};
             ANALYZE jobs"
        ))
    })
    .expect("jobs inserted");
    println!(
        "pages: 10,000 queued and 10,000 finished jobs (inserted in {:.1}s), one real bisection (job {real})",
        started.elapsed().as_secs_f64()
    );
    let mut config = ServeConfig::new(&pg.url(), TOKEN, dir.to_owned());
    config.listen = "127.0.0.1:0".into();
    config.keep = None;
    let bound = api::bind(config).expect("bind");
    let addr = bound.addr().expect("address").to_string();
    let serving = Arc::new(AtomicBool::new(false));
    let server = {
        let serving = serving.clone();
        std::thread::spawn(move || bound.serve(serving))
    };
    let middle = real + 10_000;
    let paths = [
        "/".to_owned(),
        "/?fragment=1".into(),
        "/?state=queued".into(),
        format!("/?state=done&before={middle}"),
        "/?q=repo-1234".into(),
        "/api/jobs".into(),
        "/api/jobs?limit=1000".into(),
        "/api/jobs?state=queued&limit=100".into(),
        format!("/api/jobs/{middle}"),
        "/api/workers".into(),
        "/metrics".into(),
        format!("/jobs/{real}"),
        format!("/jobs/{real}/live"),
        format!("/api/jobs/{real}/result"),
        format!("/api/jobs/{real}/log"),
    ];
    println!("  | request | median | slowest | bytes |");
    println!("  |---|---|---|---|");
    for path in &paths {
        let _ = get(&addr, path);
        let runs: Vec<(u16, Duration, usize)> = (0..30).map(|_| get(&addr, path)).collect();
        assert!(runs.iter().all(|r| r.0 == 200), "GET {path}: {}", runs[0].0);
        let bytes = runs[0].2;
        let (median, slowest) = summary(runs.into_iter().map(|r| r.1).collect());
        println!(
            "  | `GET {path}` | {} | {} | {bytes} |",
            ms(median),
            ms(slowest)
        );
    }
    let claims: Vec<Duration> = (0..30)
        .map(|_| {
            let start = Instant::now();
            let claim = lease::claim_job(&mut db, "bench", Duration::from_secs(30))
                .expect("claim")
                .expect("a job");
            let took = start.elapsed();
            lease::release(&mut db, claim.id, claim.token).expect("release");
            took
        })
        .collect();
    let (median, slowest) = summary(claims);
    println!(
        "  | a claim (10,000 queued) | {} | {} | |",
        ms(median),
        ms(slowest)
    );
    serving.store(true, Ordering::SeqCst);
    let _ = server.join();
}

fn disk(dir: &Path) {
    let jobs = std::env::var("CULPRIT_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500usize);
    let pg = LocalPostgres::start(&dir.join("pg")).expect("PostgreSQL");
    let mut db = Db::connect(&pg.url(), Duration::from_secs(10)).expect("db");
    db.migrate().expect("schema");
    let repo = dir.join("repo");
    let hashes = history(&repo, 30, 27);
    let repo_bytes = workdir::disk_usage(&repo);
    let ids: Vec<i64> = (0..jobs)
        .map(|k| {
            let spec =
                spec::parse(&job(&repo, &hashes, k % 27), false, Path::new("/")).expect("job");
            queue::submit(&mut db, &spec).expect("submit")
        })
        .collect();
    let started = Instant::now();
    let (stop, threads) = workers(&pg.url(), dir, 1);
    let workdir = dir.join("w0");
    let mut most = 0;
    println!(
        "disk: 1 worker, {jobs} generic jobs on a 30-commit repository ({} kB)",
        repo_bytes / 1000
    );
    for (n, id) in ids.iter().enumerate() {
        loop {
            most = most.max(workdir::disk_usage(&workdir));
            let job = queue::job(&mut db, *id).expect("status").expect("job");
            if !matches!(job.state.as_str(), "queued" | "running") {
                assert_eq!(job.outcome.as_deref(), Some("culprit"), "job {id}");
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if (n + 1) % 100 == 0 {
            println!(
                "  after {} jobs ({:.0}s): {} kB now, {} kB at most",
                n + 1,
                started.elapsed().as_secs_f64(),
                workdir::disk_usage(&workdir) / 1000,
                most / 1000
            );
        }
    }
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    let shown = queue::workers(&mut db).expect("workers");
    println!(
        "  at the end: {} kB in the work directory ({} kB as the dashboard shows it), {} kB at most",
        workdir::disk_usage(&workdir) / 1000,
        shown.first().and_then(|w| w.disk_bytes).unwrap_or(0) / 1000,
        most / 1000
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if culprit_service::local::postgres_bin().is_none() {
        println!(
            "SKIPPED: the service benchmark: PostgreSQL is not installed (bash scripts/deps.sh)"
        );
        return;
    }
    let all = args.is_empty();
    let dir = tempfile::tempdir().expect("temp dir");
    // PostgreSQL's user (not root) must reach its directory within.
    let open = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(dir.path(), open).expect("chmod");
    if all || args.iter().any(|a| a == "pages") {
        pages(&dir.path().join("pages"));
    }
    if all || args.iter().any(|a| a == "disk") {
        disk(&dir.path().join("disk"));
    }
}
