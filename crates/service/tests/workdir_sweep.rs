//! A worker's directories swept against the database (a real server,
//! started here): a job's checkout stays while the worker owns the job, a
//! helper's while the job runs, the kernel store's while the job exists.

mod svc;

use std::time::Duration;

use culprit_service::db::Db;
use culprit_service::local::LocalPostgres;
use culprit_service::worker::WorkerConfig;
use culprit_service::{lease, queue, workdir};

#[test]
fn directories_go_with_the_jobs_that_needed_them() {
    if let Some(why) = svc::missing() {
        println!("SKIPPED: the sweep test: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let pg = LocalPostgres::start(&dir.path().join("pg")).expect("PostgreSQL");
    let mut db = Db::connect(&pg.url(), Duration::from_secs(30)).expect("db");
    db.migrate().expect("schema");
    let spec = culprit_service::spec::JobSpec {
        toml: "repo = \"/nonexistent\"\nbad = \"b\"\ngood = [\"g\"]\nbuild = \"true\"\ntest = \"true\"\nruns = 1\n"
            .into(),
        base: "/".into(),
    };
    let ids: Vec<i64> = (0..4)
        .map(|_| queue::submit(&mut db, &spec).expect("submit"))
        .collect();
    let lease = Duration::from_secs(60);
    let mine = lease::claim_job(&mut db, "me", lease)
        .expect("claim")
        .expect("job");
    let theirs = lease::claim_job(&mut db, "other", lease)
        .expect("claim")
        .expect("job");
    assert_eq!((mine.id, theirs.id), (ids[0], ids[1]));
    // ids[2] stays queued; ids[3] is deleted (an old job).
    assert_eq!(
        queue::cancel(&mut db, ids[3]).expect("cancel").as_deref(),
        Some("cancelled")
    );
    assert_eq!(
        queue::delete_old_jobs(&mut db, Duration::ZERO).expect("delete"),
        1
    );

    let mut config = WorkerConfig::new(&pg.url(), "me", dir.path().join("work"));
    config.kernel_store = Some(dir.path().join("store"));
    for id in &ids {
        for sub in ["work/jobs", "work/help", "store/jobs"] {
            let path = dir.path().join(sub).join(id.to_string());
            std::fs::create_dir_all(&path).expect("dir");
            std::fs::write(path.join("file"), "x").expect("file");
        }
    }
    let kept = workdir::sweep(&config, &mut db).expect("sweep");
    let left = |sub: &str| -> Vec<i64> {
        let mut left: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| dir.path().join(sub).join(id.to_string()).exists())
            .collect();
        left.sort();
        left
    };
    assert_eq!(
        left("work/jobs"),
        vec![ids[0]],
        "only the job this worker owns"
    );
    assert_eq!(left("work/help"), vec![ids[0], ids[1]], "only running jobs");
    assert_eq!(kept, [ids[0], ids[1]].into_iter().collect());
    assert_eq!(
        left("store/jobs"),
        vec![ids[0], ids[1], ids[2]],
        "all but the deleted job"
    );
    let bytes = workdir::disk_usage(&dir.path().join("work"));
    assert!(bytes > 0, "{bytes}");
}
