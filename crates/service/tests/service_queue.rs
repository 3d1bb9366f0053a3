//! The bisection service end to end: a real PostgreSQL, `culprit serve`
//! and `culprit worker` processes. Fifty generic bisections submitted at
//! once over four workers all finish with the culprit `culprit bisect`
//! alone gives; bad jobs are refused with the field named and nothing
//! stored; cancelling works.

mod svc;

use std::time::Duration;

use svc::Service;

/// Commit at which bug `k` of the load test appears.
fn bug_commit(k: usize) -> usize {
    2 + (k * 7) % 37
}

#[test]
fn fifty_bisections_over_four_workers_find_what_culprit_bisect_finds() {
    let Some(mut service) = Service::start("the load test") else {
        return;
    };
    let repo = service.dir.path().join("repo");
    let hashes = svc::history(&repo, 40, |i| {
        let bugs: String = (0..50)
            .filter(|&k| bug_commit(k) <= i)
            .map(|k| format!("BUG{k}\n"))
            .collect();
        vec![
            ("bugs.txt".into(), bugs),
            ("code.c".into(), format!("int f{i};\n")),
        ]
    });
    let (good, bad) = (&hashes[0], &hashes[39]);
    let test = |k: usize| format!("! grep -qx BUG{k} bugs.txt");
    let alone: Vec<String> = (0..50)
        .map(|k| {
            let workdir = service.dir.path().join(format!("alone-{k}"));
            svc::culprit_alone(&repo, bad, good, &test(k), &workdir)
        })
        .collect();
    for (k, hash) in alone.iter().enumerate() {
        assert_eq!(
            *hash,
            hashes[bug_commit(k)],
            "culprit bisect alone, bug {k}"
        );
    }
    let ids: Vec<i64> = (0..50)
        .map(|k| service.submit_ok(&svc::generic_job(&repo, bad, good, &test(k), "")))
        .collect();
    for w in 0..4 {
        service.worker(&format!("w{w}"), &[], &[]);
    }
    let mut owners = std::collections::HashSet::new();
    for (k, id) in ids.iter().enumerate() {
        let job = service.wait_done(*id, Duration::from_secs(600));
        assert_eq!(job["state"], "done", "{job}");
        assert_eq!(job["outcome"], "culprit", "{job}");
        assert_eq!(
            job["culprit"].as_str(),
            Some(alone[k].as_str()),
            "job {id}, bug {k}"
        );
        assert_eq!(job["attempts"], 1, "{job}");
        owners.insert(job["owner"].as_str().unwrap_or("").to_owned());
        // Each run journaled once.
        let runs = service.journaled_runs(*id);
        let distinct: std::collections::HashSet<_> =
            runs.iter().map(|(_, c, i)| (c.clone(), *i)).collect();
        assert_eq!(
            distinct.len(),
            runs.len(),
            "job {id}: a run journaled twice"
        );
    }
    assert!(owners.len() >= 2, "the jobs were not shared: {owners:?}");

    let result = service.get_json(&format!("/api/jobs/{}/result", ids[0]));
    assert_eq!(result["outcome"], "culprit");
    assert!(!result["steps"].as_array().expect("steps").is_empty());
    let (status, log) = service.get(&format!("/api/jobs/{}/log", ids[0]));
    assert_eq!(status, 200);
    assert!(log.contains("is the first bad commit"), "{log}");
    // What ended is counted...
    let (_, metrics) = service.get("/metrics");
    assert!(
        metrics.contains("culprit_jobs_finished_total{outcome=\"culprit\"} 50"),
        "{metrics}"
    );
    for family in [
        "culprit_builds_total{result=\"built\"}",
        "culprit_runs_total{result=\"ok\"}",
    ] {
        let count: f64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(family))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0);
        assert!(count > 50.0, "{family}: {metrics}");
    }
    // ...and leaves nothing on the workers' disks: each job's checkout
    // goes when it ends; each worker says what its directory holds.
    let workers_dir = service.dir.path().join("workers");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let left = || -> Vec<std::path::PathBuf> {
        (0..4)
            .flat_map(|w| {
                std::fs::read_dir(workers_dir.join(format!("w{w}/jobs")))
                    .into_iter()
                    .flatten()
            })
            .flatten()
            .map(|e| e.path())
            .collect()
    };
    while !left().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "left behind: {:?}",
            left()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let workers = service.get_json("/api/workers");
    for worker in workers.as_array().expect("workers") {
        assert!(worker["disk_bytes"].as_i64().is_some(), "{worker}");
    }
    // The same reproducer again: the job starts from the rate the first
    // one learned (its runs at commits that had the bug).
    let first: culprit_bisect::Outcome =
        serde_json::from_value(service.get_json(&format!("/api/jobs/{}/result", ids[0])))
            .expect("an outcome");
    let learned = first.rate_evidence();
    assert!(
        learned.crashes > 0 && learned.runs >= learned.crashes,
        "{learned:?}"
    );
    let again = service.submit_ok(&svc::generic_job(&repo, bad, good, &test(0), ""));
    let job = service.wait_done(again, Duration::from_secs(600));
    assert_eq!(job["culprit"].as_str(), Some(alone[0].as_str()), "{job}");
    let (_, log) = service.get(&format!("/api/jobs/{again}/log"));
    let said = format!(
        "rate learned from earlier bisections of this reproducer: {} crashes in {} runs",
        learned.crashes, learned.runs
    );
    assert!(log.contains(&said), "{said:?} not in:\n{log}");
}

#[test]
fn bad_jobs_get_a_400_naming_the_field_and_nothing_is_stored() {
    let Some(service) = Service::start("the API test") else {
        return;
    };
    let repo = service.dir.path().join("repo");
    let hashes = svc::history(&repo, 5, |i| {
        vec![("code.c".into(), format!("int f{i};\n"))]
    });
    let good_job = svc::generic_job(&repo, &hashes[4], &hashes[0], "true", "");

    let (status, body) =
        svc::request(&service.http, "POST", "/api/jobs", &[], good_job.as_bytes()).expect("POST");
    assert_eq!(status, 401, "{body}");
    let wrong = [("Authorization", "Bearer nope-nope-nope")];
    let (status, _) = svc::request(
        &service.http,
        "POST",
        "/api/jobs",
        &wrong,
        good_job.as_bytes(),
    )
    .expect("POST");
    assert_eq!(status, 401);

    let cases = [
        (good_job.replace(&hashes[4], "no-such-rev"), Some("bad"), "no-such-rev"),
        (format!("{good_job}runs = 0\n"), Some("runs"), "whole number"),
        (format!("{good_job}colour = \"red\"\n"), Some("colour"), "unknown field"),
        (good_job.replace("test = ", "tst = "), Some("tst"), "unknown field"),
        ("repo = [".to_owned(), None, "not valid TOML"),
        (
            serde_json::json!({"repo": repo, "bad": hashes[4], "good": hashes[0], "build": "true", "test": "true", "runs": "ten"}).to_string(),
            Some("runs"),
            "whole number",
        ),
        (
            svc::generic_job(&repo, &hashes[0], &hashes[4], "true", ""),
            Some("good"),
            "not an ancestor",
        ),
        (
            "repo = \"linux\"\nbad = \"HEAD\"\n[kernel]\nconfig = \"nope\"\n[reproducer]\nc = \"r.c\"\n".to_owned(),
            Some("repo"),
            "does not exist",
        ),
    ];
    for (body, field, reason) in cases {
        let (status, answer) = service.submit(&body);
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["field"].as_str(), field, "{answer}");
        assert!(
            answer["reason"].as_str().unwrap_or("").contains(reason),
            "{reason:?}: {answer}"
        );
    }
    let jobs = service.get_json("/api/jobs");
    assert_eq!(jobs, serde_json::json!([]), "a refused job was stored");

    // JSON of the same fields is accepted; with no worker it waits, and a
    // cancel takes it out of the queue.
    let json = serde_json::json!({"repo": repo, "bad": hashes[4], "good": [hashes[0]], "build": "true", "test": "true"});
    let id = service.submit_ok(&json.to_string());
    assert_eq!(
        service.get_json(&format!("/api/jobs/{id}"))["state"],
        "queued"
    );
    let (status, _) = service.get(&format!("/api/jobs/{id}/result"));
    assert_eq!(status, 409);
    let auth = format!("Bearer {}", svc::TOKEN);
    let (status, body) = svc::request(
        &service.http,
        "POST",
        &format!("/api/jobs/{id}/cancel"),
        &[("Authorization", &auth)],
        b"",
    )
    .expect("cancel");
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        service.get_json(&format!("/api/jobs/{id}"))["state"],
        "cancelled"
    );
    assert_eq!(service.get("/api/jobs/9999").0, 404);
    assert_eq!(service.get("/api/jobs/abc").0, 404);
    let (status, page) = service.get("/");
    assert_eq!(status, 200);
    assert!(page.contains(&format!("href=\"/jobs/{id}\"")), "{page}");
}

#[test]
fn a_running_job_is_cancelled_at_its_next_run_and_the_worker_goes_on() {
    let Some(mut service) = Service::start("the cancel test") else {
        return;
    };
    let repo = service.dir.path().join("repo");
    let h = svc::history(&repo, 20, |i| {
        let bug = if i >= 9 { "BUG\n" } else { "" };
        vec![("code.c".into(), format!("int f{i};\n{bug}"))]
    });
    let slow = svc::generic_job(&repo, &h[19], &h[0], "sleep 0.2; ! grep -q BUG code.c", "");
    let quick = svc::generic_job(&repo, &h[19], &h[0], "! grep -q BUG code.c", "");
    let id = service.submit_ok(&slow);
    service.worker("only", &[], &[]);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while service.journaled_runs(id).len() < 3 {
        assert!(std::time::Instant::now() < deadline, "no runs");
        std::thread::sleep(Duration::from_millis(20));
    }
    let auth = format!("Bearer {}", svc::TOKEN);
    let path = format!("/api/jobs/{id}/cancel");
    let (status, _) = svc::request(
        &service.http,
        "POST",
        &path,
        &[("Authorization", &auth)],
        b"",
    )
    .expect("cancel");
    assert_eq!(status, 202);
    let job = service.wait_done(id, Duration::from_secs(30));
    assert_eq!(job["state"], "cancelled", "{job}");
    assert_eq!(service.get(&format!("/api/jobs/{id}/result")).0, 409);
    let next = service.submit_ok(&quick);
    let job = service.wait_done(next, Duration::from_secs(60));
    assert_eq!(job["culprit"].as_str(), Some(h[9].as_str()), "{job}");
}
