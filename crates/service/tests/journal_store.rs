//! The journal in PostgreSQL (a real server, started here): the fencing
//! token stops a worker whose job was taken over, the new owner replays
//! what was written, and appends survive a server restart without being
//! doubled.

use std::sync::Arc;
use std::time::Duration;

use culprit_bisect::journal::{Journal, JournalError};
use culprit_bisect::{Built, RunOutcome};
use culprit_service::db::Db;
use culprit_service::local::{postgres_bin, LocalPostgres};
use culprit_service::spec::JobSpec;
use culprit_service::store::{PgJournalStore, Stops};
use culprit_service::{lease, queue};

fn run(commit: &str, index: u32) -> culprit_bisect::journal::Record {
    culprit_bisect::journal::Record::Run {
        commit: commit.into(),
        index,
        outcome: RunOutcome::Ok,
        secs: 0.1,
        reused_from: None,
    }
}

fn spec() -> JobSpec {
    JobSpec {
        toml: "repo = \"/nonexistent\"\nbad = \"b\"\ngood = [\"g\"]\nbuild = \"true\"\ntest = \"true\"\n"
            .into(),
        base: "/".into(),
    }
}

/// PostgreSQL with the schema, and a database connection.
fn database(dir: &std::path::Path) -> Option<(LocalPostgres, Db)> {
    if postgres_bin().is_none() {
        println!("SKIPPED: PostgreSQL is not installed (bash scripts/deps.sh)");
        return None;
    }
    let pg = LocalPostgres::start(&dir.join("pg")).expect("PostgreSQL");
    let mut db = Db::connect(&pg.url(), Duration::from_secs(30)).expect("connect");
    db.migrate().expect("schema");
    db.migrate().expect("the schema a second time is a no-op");
    Some((pg, db))
}

fn journal(db: &Db, job: i64, token: i64) -> (Journal, Arc<Stops>) {
    let stops = Arc::new(Stops::default());
    let store = PgJournalStore::new(db.another().expect("connect"), job, token, stops.clone());
    let journal = Journal::with_store(Box::new(store), "params").expect("journal");
    (journal, stops)
}

#[test]
fn a_worker_whose_job_was_taken_over_cannot_write_and_the_new_owner_replays() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_pg, mut db)) = database(dir.path()) else {
        return;
    };
    let id = queue::submit(&mut db, &spec()).expect("submit");
    let lease = Duration::from_millis(200);
    let first = lease::claim_job(&mut db, "first", lease)
        .expect("claim")
        .expect("a job");
    assert_eq!(first.id, id);
    assert!(
        lease::claim_job(&mut db, "second", lease)
            .expect("claim")
            .is_none(),
        "claimed twice"
    );
    let (mut old, stops) = journal(&db, id, first.token);
    old.append(culprit_bisect::journal::Record::Build {
        commit: "c".into(),
        built: Some(Built {
            commit: "c".into(),
            signature: "s".into(),
            compiler: None,
        }),
        failure: None,
        secs: 1.0,
    })
    .expect("append");
    old.append(run("c", 0)).expect("append");
    // The lease passes without a heartbeat: another worker takes the job.
    std::thread::sleep(Duration::from_millis(300));
    let second = lease::claim_job(&mut db, "second", lease)
        .expect("claim")
        .expect("taken over");
    assert_eq!((second.id, second.attempts), (id, 2));
    assert!(second.token > first.token);
    let error = old.append(run("c", 1)).expect_err("the old owner wrote");
    assert!(matches!(error, JournalError::Store(_)), "{error}");
    assert!(stops.lost.load(std::sync::atomic::Ordering::SeqCst));
    let (new, _) = journal(&db, id, second.token);
    assert_eq!(
        new.counts(),
        (1, 1),
        "the new owner replays the old one's records"
    );
    assert!(new.run("c", 1).is_none());
    assert!(!lease::finish(&mut db, id, first.token, "done", None, Some(0)).expect("finish"));
    assert!(lease::finish(&mut db, id, second.token, "done", None, Some(0)).expect("finish"));
}

#[test]
fn appends_go_on_after_a_server_restart_and_are_not_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let Some((mut pg, mut db)) = database(dir.path()) else {
        return;
    };
    let id = queue::submit(&mut db, &spec()).expect("submit");
    let claim = lease::claim_job(&mut db, "w", Duration::from_secs(60))
        .expect("claim")
        .expect("job");
    let (mut journal_, _) = journal(&db, id, claim.token);
    journal_.append(run("c", 0)).expect("append");
    pg.restart().expect("restart");
    journal_
        .append(run("c", 1))
        .expect("append after the restart");
    let records = queue::journal(&mut db, id).expect("records");
    // The header and two runs, once each.
    assert_eq!(records.len(), 3, "{records:?}");
}
