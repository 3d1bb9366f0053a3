//! Faults under the bisection service: a worker killed with SIGKILL in the
//! middle of a bisection (another worker finishes it with the same answer,
//! repeating only the run in flight), and PostgreSQL restarted while jobs
//! run (the workers reconnect; nothing is lost or done twice). Asserted
//! from the journal stored in the database and from a file where every
//! run of the test writes a line.

mod svc;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use svc::Service;

/// The runs the test command made: (commit, index) → how many times.
fn runs_made(file: &Path) -> HashMap<(String, u64), usize> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut made = HashMap::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if let (Some(commit), Some(Ok(index))) = (words.next(), words.next().map(str::parse)) {
            *made.entry((commit.to_owned(), index)).or_insert(0) += 1;
        }
    }
    made
}

/// A test command that writes its run to `file`, takes `secs`, and
/// crashes when `bugs.txt` has `BUG{k}`.
fn recording_test(file: &Path, secs: &str, k: usize) -> String {
    format!(
        "echo \"$CULPRIT_COMMIT $CULPRIT_RUN\" >> {}; sleep {secs}; ! grep -qx BUG{k} bugs.txt",
        file.display()
    )
}

/// A 30-commit history where bug `k` appears at commit `at(k)`.
fn repo(service: &Service, at: impl Fn(usize) -> usize) -> (std::path::PathBuf, Vec<String>) {
    let dir = service.dir.path().join("repo");
    let hashes = svc::history(&dir, 30, |i| {
        let bugs: String = (0..8)
            .filter(|&k| at(k) <= i)
            .map(|k| format!("BUG{k}\n"))
            .collect();
        vec![
            ("bugs.txt".into(), bugs),
            ("code.c".into(), format!("int f{i};\n")),
        ]
    });
    (dir, hashes)
}

/// Workers s0, s1 and s2, registered.
fn three_workers(service: &mut Service) {
    for w in ["s0", "s1", "s2"] {
        service.worker(w, &["--slow-build", "1"], &[]);
    }
    wait_for("three workers", Duration::from_secs(30), || {
        service
            .get_json("/api/workers")
            .as_array()
            .map_or(0, Vec::len)
            == 3
    });
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_worker_killed_mid_bisection_is_replaced_and_only_the_run_in_flight_is_repeated() {
    let Some(mut service) = Service::start("the worker kill test") else {
        return;
    };
    let (repo, h) = repo(&service, |_| 21);
    let alone = svc::culprit_alone(
        &repo,
        &h[29],
        &h[0],
        "! grep -qx BUG0 bugs.txt",
        &service.dir.path().join("alone"),
    );
    assert_eq!(alone, h[21]);
    let made = service.dir.path().join("runs.txt");
    let id = service.submit_ok(&svc::generic_job(
        &repo,
        &h[29],
        &h[0],
        &recording_test(&made, "0.15", 0),
        "",
    ));
    // One bisection on one worker at a time: no evaluation is handed out.
    service.worker("first", &["--spread", "1"], &[]);
    service.worker("second", &["--spread", "1"], &[]);
    wait_for("runs journaled", Duration::from_secs(60), || {
        service.journaled_runs(id).len() >= 8
    });
    let owner = service.get_json(&format!("/api/jobs/{id}"))["owner"]
        .as_str()
        .expect("owner")
        .to_owned();
    service.kill_worker(&owner);
    let before = service.journaled_runs(id).len();

    let job = service.wait_done(id, Duration::from_secs(120));
    assert_eq!(job["outcome"], "culprit", "{job}");
    assert_eq!(job["culprit"].as_str(), Some(alone.as_str()), "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    assert_ne!(job["owner"].as_str(), Some(owner.as_str()), "{job}");
    let journaled = service.journaled_runs(id);
    let tokens: HashSet<i64> = journaled.iter().map(|(t, _, _)| *t).collect();
    assert_eq!(tokens.len(), 2, "runs of both owners are in the journal");
    assert!(journaled.len() > before, "the second owner made no runs");
    let distinct: HashSet<(String, u64)> =
        journaled.iter().map(|(_, c, i)| (c.clone(), *i)).collect();
    assert_eq!(distinct.len(), journaled.len(), "a run journaled twice");
    let made = runs_made(&made);
    for run in &distinct {
        assert!(
            made.contains_key(run),
            "journaled run {run:?} was never made"
        );
    }
    // The run that was going on at the kill is made again; nothing else.
    let repeated: Vec<_> = made.iter().filter(|(_, n)| **n > 1).collect();
    let lost: Vec<_> = made.keys().filter(|r| !distinct.contains(*r)).collect();
    assert!(repeated.len() <= 1, "runs made twice: {repeated:?}");
    assert!(lost.len() <= 1, "finished runs not journaled: {lost:?}");
    assert!(repeated.len() + lost.len() <= 1, "{repeated:?} {lost:?}");
    let (status, page) = service.get(&format!("/jobs/{id}"));
    assert_eq!(status, 200);
    assert!(page.contains("id=\"culprit\""), "{page}");
}

#[test]
fn postgres_restarted_while_jobs_run_loses_nothing_and_repeats_nothing() {
    let Some(mut service) = Service::start("the database restart test") else {
        return;
    };
    let at = |k: usize| 5 + k * 3;
    let (repo, h) = repo(&service, at);
    let files: Vec<_> = (0..4)
        .map(|k| service.dir.path().join(format!("runs-{k}.txt")))
        .collect();
    let ids: Vec<i64> = (0..4)
        .map(|k| {
            service.submit_ok(&svc::generic_job(
                &repo,
                &h[29],
                &h[0],
                &recording_test(&files[k], "0.05", k),
                "",
            ))
        })
        .collect();
    for w in ["a", "b"] {
        service.worker(w, &["--spread", "1", "--lease", "20"], &[]);
    }
    wait_for("runs journaled", Duration::from_secs(60), || {
        ids.iter()
            .map(|id| service.journaled_runs(*id).len())
            .sum::<usize>()
            >= 12
    });
    let running = ids
        .iter()
        .filter(|id| service.get_json(&format!("/api/jobs/{id}"))["state"] == "running")
        .count();
    assert!(running > 0, "no job was running at the restart");
    service.pg.restart().expect("PostgreSQL restarts");
    for (k, id) in ids.iter().enumerate() {
        let job = service.wait_done(*id, Duration::from_secs(180));
        assert_eq!(job["outcome"], "culprit", "{job}");
        assert_eq!(job["culprit"].as_str(), Some(h[at(k)].as_str()), "{job}");
        assert_eq!(job["attempts"], 1, "job {id} was taken over: {job}");
        let journaled = service.journaled_runs(*id);
        let distinct: HashSet<(String, u64)> =
            journaled.iter().map(|(_, c, i)| (c.clone(), *i)).collect();
        assert_eq!(
            distinct.len(),
            journaled.len(),
            "job {id}: a run journaled twice"
        );
        let made = runs_made(&files[k]);
        let made_set: HashSet<(String, u64)> = made.keys().cloned().collect();
        assert_eq!(
            made_set, distinct,
            "job {id}: runs made and runs journaled differ"
        );
        assert!(
            made.values().all(|n| *n == 1),
            "job {id}: a run made twice: {made:?}"
        );
    }
    let logs: Vec<String> = ["a", "b"].iter().map(|w| service.worker_log(w)).collect();
    for log in &logs {
        assert!(!log.contains("log lines lost"), "{log}");
    }
    // The workers said they lost the database and went on.
    assert!(
        logs.iter()
            .any(|l| l.contains("reconnecting") || l.contains("unreachable")),
        "{logs:?}"
    );
}

#[test]
fn one_bisection_spreads_over_idle_workers_and_survives_losing_one() {
    let Some(mut service) = Service::start("the spread test") else {
        return;
    };
    let (repo, h) = repo(&service, |_| 17);
    let made = service.dir.path().join("runs.txt");
    // Builds slow enough to be caught in flight.
    let job = format!(
        "repo = {:?}\nbad = {:?}\ngood = [{:?}]\nbuild = \"sleep 0.7\"\ntest = {:?}\n",
        repo.display().to_string(),
        h[29],
        h[0],
        recording_test(&made, "0.01", 0)
    );
    three_workers(&mut service);
    let id = service.submit_ok(&job);
    let tasks = |service: &Service| service.get_json(&format!("/api/jobs/{id}/tasks"));
    // Kill a helper while it evaluates a commit of this bisection.
    let mut victim = None;
    wait_for("a task on a helper", Duration::from_secs(60), || {
        let owner = service.get_json(&format!("/api/jobs/{id}"))["owner"]
            .as_str()
            .map(str::to_owned);
        let running = tasks(&service).as_array().cloned().unwrap_or_default();
        // A task of a bisection step (not the good end, built ahead).
        victim = running
            .iter()
            .filter(|t| t["state"] == "running" && t["commit"] != h[0].as_str())
            .filter_map(|t| t["worker"].as_str().map(str::to_owned))
            .find(|w| Some(w) != owner.as_ref());
        victim.is_some()
    });
    let victim = victim.expect("a helper");
    service.kill_worker(&victim);
    let job = service.wait_done(id, Duration::from_secs(180));
    assert_eq!(job["outcome"], "culprit", "{job}");
    assert_eq!(job["culprit"].as_str(), Some(h[17].as_str()), "{job}");
    assert_eq!(job["attempts"], 1, "the owner kept the job: {job}");
    let all = tasks(&service);
    let all = all.as_array().expect("tasks");
    let helped: HashSet<&str> = all
        .iter()
        .filter(|t| t["state"] == "done")
        .filter_map(|t| t["worker"].as_str())
        .filter(|w| Some(*w) != job["owner"].as_str())
        .collect();
    assert!(
        !helped.is_empty(),
        "no task was done by another worker: {all:?}"
    );
    // The killed helper's task is made again by another (unless it ended
    // in the instant between the look and the kill).
    let victims: Vec<&serde_json::Value> = all
        .iter()
        .filter(|t| t["worker"].as_str() == Some(victim.as_str()))
        .collect();
    assert!(victims.iter().all(|t| t["state"] != "running"), "{all:?}");
    // Made again by another helper or by the owner: its build is journaled.
    let journal = service.get_json(&format!("/api/jobs/{id}/journal"));
    let built: HashSet<&str> = journal
        .as_array()
        .expect("journal")
        .iter()
        .filter(|r| r["record"]["record"] == "build")
        .filter_map(|r| r["record"]["commit"].as_str())
        .collect();
    for lost in victims.iter().filter(|t| t["state"] == "abandoned") {
        let commit = lost["commit"].as_str().unwrap_or("");
        assert!(
            built.contains(commit),
            "task {lost} was not made again: {all:?}"
        );
        if commit != h[0] {
            let again = all.iter().any(|t| {
                t["commit"] == commit
                    && t["id"].as_i64() > lost["id"].as_i64()
                    && t["state"] == "done"
            });
            assert!(again, "task {lost} was not handed out again: {all:?}");
        }
    }
    if victims.iter().all(|t| t["state"] == "done") {
        println!("the killed helper's task had just ended: nothing to make again");
    }
    let journaled = service.journaled_runs(id);
    let distinct: HashSet<(String, u64)> =
        journaled.iter().map(|(_, c, i)| (c.clone(), *i)).collect();
    assert_eq!(distinct.len(), journaled.len(), "a run journaled twice");
}

/// The state of job `id` as the API gives it.
fn job(service: &Service, id: i64) -> serde_json::Value {
    service.get_json(&format!("/api/jobs/{id}"))
}

#[test]
fn a_killed_owner_holding_helpers_is_replaced_and_the_queue_moves_within_two_leases() {
    let Some(mut service) = Service::start("the stalled queue test") else {
        return;
    };
    let (repo, h) = repo(&service, |_| 17);
    let made = service.dir.path().join("runs.txt");
    // Builds long enough for the helpers to be caught building: they then
    // wait for the dead owner's answer. Quick again once that is seen.
    let build_secs = service.dir.path().join("build-secs");
    std::fs::write(&build_secs, "1.5").expect("build time");
    let build = format!("sleep $(cat {})", build_secs.display());
    let job_text = |k: usize| {
        format!(
            "repo = {:?}\nbad = {:?}\ngood = [{:?}]\nbuild = {build:?}\ntest = {:?}\n",
            repo.display().to_string(),
            h[29],
            h[0],
            recording_test(&made, "0.01", k)
        )
    };
    three_workers(&mut service);
    let first = service.submit_ok(&job_text(0));
    let mut owner = String::new();
    wait_for("tasks on both helpers", Duration::from_secs(60), || {
        owner = job(&service, first)["owner"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let tasks = service.get_json(&format!("/api/jobs/{first}/tasks"));
        let helpers: HashSet<String> = tasks
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|t| t["state"] == "running")
            .filter_map(|t| t["worker"].as_str().map(str::to_owned))
            .filter(|w| *w != owner)
            .collect();
        helpers.len() == 2
    });
    let second = service.submit_ok(&job_text(1));
    service.kill_worker(&owner);
    let killed = Instant::now();
    // The lease is 3 s: within about two, the job has a new owner and the
    // queue moves on.
    let within = Duration::from_secs(2 * 3 + 3);
    wait_for("the job reclaimed", within, || {
        job(&service, first)["attempts"] == 2
    });
    wait_for("the next job claimed", within, || {
        job(&service, second)["state"] != "queued"
    });
    println!(
        "job reclaimed and the next one claimed {:?} after the owner's kill",
        killed.elapsed()
    );
    std::fs::write(&build_secs, "0").expect("build time");
    for id in [first, second] {
        let done = service.wait_done(id, Duration::from_secs(180));
        assert_eq!(done["culprit"].as_str(), Some(h[17].as_str()), "{done}");
    }
    // Silent for three leases: shown as gone, and said so in the log.
    wait_for(
        "the killed worker shown as gone",
        Duration::from_secs(20),
        || {
            let workers = service.get_json("/api/workers");
            workers
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .any(|w| w["id"] == owner.as_str() && w["status"] == "gone")
        },
    );
    wait_for("the loss logged", Duration::from_secs(15), || {
        service.server_log().contains("worker lost")
    });
    // Builds of 1.5 s, slow after 1 s: logged as slow.
    let logs: String = ["s0", "s1", "s2"]
        .iter()
        .map(|w| service.worker_log(w))
        .collect();
    assert!(logs.contains("slow build"), "{logs}");
    assert!(
        logs.contains("job reclaimed: its owner's lease passed"),
        "{logs}"
    );
}

#[test]
fn sigterm_to_a_worker_records_its_run_in_flight_and_puts_the_job_back_at_once() {
    let Some(mut service) = Service::start("the SIGTERM test") else {
        return;
    };
    let (repo, h) = repo(&service, |_| 21);
    let made = service.dir.path().join("runs.txt");
    // Runs of a second while the signal comes; quick afterwards.
    let run_secs = service.dir.path().join("run-secs");
    std::fs::write(&run_secs, "1").expect("run time");
    let delay = format!("$(cat {})", run_secs.display());
    let id = service.submit_ok(&svc::generic_job(
        &repo,
        &h[29],
        &h[0],
        &recording_test(&made, &delay, 0),
        "",
    ));
    // A long lease: the job going back is not the lease passing.
    let args = ["--spread", "1", "--lease", "30"];
    service.worker("first", &args, &[]);
    wait_for("runs journaled", Duration::from_secs(60), || {
        service.journaled_runs(id).len() >= 3
    });
    service.signal_worker("first", libc::SIGTERM);
    let asked = Instant::now();
    let status = service.wait_worker("first", Duration::from_secs(20));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    let back = job(&service, id);
    assert_eq!(back["state"], "queued", "{back}");
    // Every run the first worker started was recorded.
    let journaled: HashSet<(String, u64)> = service
        .journaled_runs(id)
        .into_iter()
        .map(|(_, c, i)| (c, i))
        .collect();
    let started: HashSet<(String, u64)> = runs_made(&made).into_keys().collect();
    assert_eq!(started, journaled, "runs started and runs recorded differ");
    let workers = service.get_json("/api/workers");
    assert!(
        workers
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .any(|w| w["id"] == "first" && w["status"] == "stopped"),
        "{workers}"
    );
    std::fs::write(&run_secs, "0.01").expect("run time");
    service.worker("second", &args, &[]);
    wait_for("the job taken at once", Duration::from_secs(10), || {
        job(&service, id)["attempts"] == 2
    });
    let log = service.worker_log("first");
    for said in ["job claimed", "job put back in the queue", "worker stopped"] {
        assert!(log.contains(said), "{said:?} not in {log}");
    }
    let done = service.wait_done(id, Duration::from_secs(180));
    assert_eq!(done["culprit"].as_str(), Some(h[21].as_str()), "{done}");
    // Nothing was made twice: the run in flight at the signal was kept.
    let made = runs_made(&made);
    assert!(made.values().all(|n| *n == 1), "a run made twice: {made:?}");
}

#[test]
fn a_second_sigterm_stops_the_worker_at_once_and_records_nothing_it_cut_short() {
    let Some(mut service) = Service::start("the second SIGTERM test") else {
        return;
    };
    let (repo, h) = repo(&service, |_| 21);
    let pid_file = service.dir.path().join("test.pid");
    let test = format!("echo $$ > {}; exec sleep 60", pid_file.display());
    let id = service.submit_ok(&svc::generic_job(&repo, &h[29], &h[0], &test, ""));
    service.worker("only", &["--spread", "1", "--lease", "30"], &[]);
    let mut pid = 0;
    wait_for("a run started", Duration::from_secs(60), || {
        pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        pid > 0
    });
    service.signal_worker("only", libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(300));
    service.signal_worker("only", libc::SIGTERM);
    let asked = Instant::now();
    let status = service.wait_worker("only", Duration::from_secs(10));
    assert!(status.is_some(), "the worker did not stop");
    assert!(
        asked.elapsed() < Duration::from_secs(6),
        "{:?}",
        asked.elapsed()
    );
    // The test it was running is gone (or a zombie for init to reap).
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        state.is_empty() || state.split_whitespace().nth(2) == Some("Z"),
        "the test command still runs: {state}"
    );
    assert!(
        service.journaled_runs(id).is_empty(),
        "a run cut short was recorded"
    );
    // And its job went back to the queue (the database was there).
    assert_eq!(job(&service, id)["state"], "queued");
}
