//! `culprit serve --local` as an operator and as another user of the
//! machine see it: a second local user cannot reach the database (only
//! culprit's role, not a superuser, with its password); a job's commands
//! see neither the API token nor the database's password; stopped and
//! started again, the service keeps its port, its token and its data,
//! and PostgreSQL shuts down cleanly; a PostgreSQL already running on the
//! data directory is found, and a stale `postmaster.pid` removed.

mod svc;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use culprit_service::local::{self, LocalPostgres};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `culprit serve --local DIR`, its standard output read line by line.
struct LocalServe {
    child: Child,
    lines: Receiver<String>,
    http: String,
    log: PathBuf,
}

impl LocalServe {
    fn start(dir: &Path, workers: usize, env: &[(&str, &str)]) -> LocalServe {
        let port = local::free_port().expect("port");
        let log = dir.with_extension(format!("serve-{port}.log"));
        let mut command = Command::new(svc::culprit_bin());
        command
            .args(["serve", "--local"])
            .arg(dir)
            .args(["--workers", &workers.to_string(), "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .env_remove("CULPRIT_TOKEN")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log"));
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("culprit serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        LocalServe {
            child,
            lines,
            http: format!("127.0.0.1:{port}"),
            log,
        }
    }

    /// The value of the output line that starts with `name: `.
    fn said(&self, name: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(value) = line.strip_prefix(&format!("{name}: ")) {
                        return value.to_owned();
                    }
                }
                Err(_) => {
                    let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                    assert!(!log.contains("culprit serve: "), "serve failed: {log}");
                }
            }
        }
        panic!("serve never said {name:?}");
    }

    /// SIGTERM; waits for the exit; its status.
    fn stop(mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for LocalServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in `postgres://culprit:***@127.0.0.1:PORT/culprit (...)`.
fn port_of(database: &str) -> u16 {
    database
        .split("@127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {database:?}"))
}

/// A small repository and a generic job for it that finds commit 3.
fn quick_job(dir: &Path, test: &str) -> (String, String) {
    let repo = dir.join("repo");
    let h = svc::history(&repo, 6, |i| {
        let bug = if i >= 3 { "BUG\n" } else { "" };
        vec![("code.c".into(), format!("int f{i};\n{bug}"))]
    });
    let test = format!("{test}! grep -q BUG code.c");
    (
        svc::generic_job(&repo, &h[5], &h[0], &test, ""),
        h[3].clone(),
    )
}

fn submit(http: &str, token: &str, job: &str) -> i64 {
    let auth = format!("Bearer {token}");
    let (status, body) = svc::request(
        http,
        "POST",
        "/api/jobs",
        &[("Authorization", &auth)],
        job.as_bytes(),
    )
    .expect("POST");
    assert_eq!(status, 201, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    answer["id"].as_i64().expect("id")
}

fn wait_done(http: &str, id: i64) -> serde_json::Value {
    svc::wait_done(http, id, Duration::from_secs(120))
}

/// A user of this machine made for the test, deleted at its end.
struct OtherUser {
    name: String,
    uid: u32,
    gid: u32,
}

impl OtherUser {
    fn create() -> OtherUser {
        let name = format!("culprit-probe-{}", std::process::id());
        let made = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--user-group",
                "--shell",
                "/bin/sh",
            ])
            .arg(&name)
            .output()
            .expect("useradd");
        assert!(
            made.status.success(),
            "useradd: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        let id = |flag: &str| -> u32 {
            let out = Command::new("id")
                .arg(flag)
                .arg(&name)
                .output()
                .expect("id");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("an id")
        };
        let (uid, gid) = (id("-u"), id("-g"));
        OtherUser { name, uid, gid }
    }

    /// `program args` run as this user, with an empty environment; its
    /// success and what it said.
    fn run(&self, program: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
        let out = Command::new("setpriv")
            .arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--clear-groups")
            .arg(program)
            .args(args)
            .env_clear()
            .env("HOME", "/nonexistent")
            .env("PGCONNECT_TIMEOUT", "5")
            .envs(env.iter().copied())
            .current_dir("/")
            .output()
            .expect("setpriv");
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), said)
    }
}

impl Drop for OtherUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).output();
    }
}

#[test]
fn a_second_local_user_cannot_reach_the_database() {
    if !is_root() {
        println!("SKIPPED: the second-user test: making a second user needs root");
        return;
    }
    if let Some(why) = svc::missing() {
        println!("SKIPPED: the second-user test: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let pg_dir = dir.path().join("postgres");
    let pg = LocalPostgres::start(&pg_dir).expect("PostgreSQL");
    let psql = local::postgres_bin().expect("bin").join("psql");
    let port = pg.port().to_string();
    let tcp = |user: &str| format!("host=127.0.0.1 port={port} dbname={user} user={user}");
    let socket = format!(
        "host={} port={port} dbname=culprit user=culprit",
        pg_dir.join("run").display()
    );
    let other = OtherUser::create();
    let refused = [
        (tcp("culprit"), vec![], "password"),
        (tcp("postgres"), vec![], "no pg_hba.conf entry"),
        (
            tcp("culprit"),
            vec![("PGPASSWORD", "culprit")],
            "password authentication failed",
        ),
        (socket, vec![], "Permission denied"),
    ];
    for (target, env, expected) in &refused {
        let (ok, said) = other.run(&psql, &["-w", target, "-c", "SELECT 1"], env);
        assert!(
            !ok,
            "{} reached the database as {target}: {said}",
            other.name
        );
        assert!(said.contains(expected), "{target}: {said}");
    }
    let cat = Path::new("/bin/cat");
    let (ok, said) = other.run(cat, &[&pg_dir.join("password").display().to_string()], &[]);
    assert!(!ok && said.contains("Permission denied"), "{said}");
    let ls = Path::new("/bin/ls");
    let (ok, said) = other.run(ls, &[&pg_dir.join("data").display().to_string()], &[]);
    assert!(!ok && said.contains("Permission denied"), "{said}");
    // Culprit itself gets in, with its password; its role is no superuser
    // and cannot run programs as the server.
    let mut client =
        postgres::Client::connect(&pg.url(), postgres::NoTls).expect("culprit connects");
    let row = client
        .query_one(
            "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .expect("role");
    assert_eq!(
        (row.get::<_, bool>(0), row.get::<_, bool>(1)),
        (false, false)
    );
    let program = client.batch_execute("COPY (SELECT 1) TO PROGRAM 'id'");
    let error = program.expect_err("culprit's role ran a program");
    assert_eq!(
        error.code(),
        Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
        "{error:?}"
    );
}

#[test]
fn a_jobs_commands_see_neither_the_token_nor_the_database_password() {
    if let Some(why) = svc::missing() {
        println!("SKIPPED: the secrets test: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let token = "secret-token-4b1d6e0f";
    let seen = dir.path().join("seen.txt");
    // The test writes its environment and its parent's (culprit's) as it
    // started, and prints them into the report.
    let spy = format!(
        "{{ env; tr '\\0' '\\n' < /proc/$PPID/environ; }} > {seen}; cat {seen}; ",
        seen = seen.display()
    );
    let (job, culprit) = quick_job(dir.path(), &spy);
    let serve = LocalServe::start(
        &dir.path().join("local"),
        1,
        &[
            ("CULPRIT_TOKEN", token),
            ("CULPRIT_DB", "postgres://x:db-secret-77@127.0.0.1:1/x"),
            ("PGPASSWORD", "pg-secret-88"),
        ],
    );
    assert_eq!(serve.said("API token"), "from $CULPRIT_TOKEN");
    let id = submit(&serve.http, token, &job);
    let done = wait_done(&serve.http, id);
    assert_eq!(done["culprit"].as_str(), Some(culprit.as_str()), "{done}");
    let text = std::fs::read_to_string(&seen).expect("the test wrote what it saw");
    assert!(
        text.contains("CULPRIT_COMMIT=") && text.contains("PATH="),
        "{text}"
    );
    let password =
        std::fs::read_to_string(dir.path().join("local/postgres/password")).expect("password");
    let served: Vec<String> = [
        format!("/api/jobs/{id}/log"),
        format!("/jobs/{id}/crash"),
        format!("/api/jobs/{id}/result"),
    ]
    .iter()
    .map(|path| {
        svc::request(&serve.http, "GET", path, &[], b"")
            .expect("GET")
            .1
    })
    .collect();
    for secret in [token, "db-secret-77", "pg-secret-88", password.trim()] {
        assert!(!text.contains(secret), "a command saw {secret:?}:\n{text}");
        for page in &served {
            assert!(!page.contains(secret), "{secret:?} served: {page}");
        }
    }
    assert!(serve.stop().success());
}

#[test]
fn serve_local_stopped_and_started_keeps_port_token_and_data_and_stops_postgres_cleanly() {
    if let Some(why) = svc::missing() {
        println!("SKIPPED: the serve --local restart test: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let local_dir = dir.path().join("local");
    let (job, culprit) = quick_job(dir.path(), "");
    let serve = LocalServe::start(&local_dir, 1, &[]);
    let port = port_of(&serve.said("database"));
    let shown = serve.said("API token");
    let token = shown
        .split_whitespace()
        .next()
        .expect("the token")
        .to_owned();
    let kept = std::fs::read_to_string(local_dir.join("token")).expect("token file");
    assert_eq!(kept.trim(), token);
    let mode = std::fs::metadata(local_dir.join("token"))
        .expect("token file")
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the token file is readable by others: {mode:o}"
    );
    // A second serve on the same directory stops at once, and leaves the
    // first one's PostgreSQL alone.
    let second = Command::new(svc::culprit_bin())
        .args(["serve", "--local"])
        .arg(&local_dir)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .expect("a second serve");
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{said}");
    assert!(said.contains("in use by another culprit"), "{said}");
    let id = submit(&serve.http, &token, &job);
    assert_eq!(
        wait_done(&serve.http, id)["culprit"].as_str(),
        Some(culprit.as_str())
    );
    assert!(serve.stop().success());
    let pg_log = local_dir.join("postgres/postgres.log");
    let log = std::fs::read_to_string(&pg_log).unwrap_or_default();
    assert!(log.contains("database system is shut down"), "{log}");
    assert!(
        !local_dir.join("postgres/data/postmaster.pid").exists(),
        "PostgreSQL still runs"
    );

    let serve = LocalServe::start(&local_dir, 1, &[]);
    assert_eq!(
        port_of(&serve.said("database")),
        port,
        "PostgreSQL's port changed"
    );
    let kept_in = format!("in {}", local_dir.join("token").display());
    assert_eq!(serve.said("API token"), kept_in, "a new token was made");
    let job_again = wait_done(&serve.http, id);
    assert_eq!(
        job_again["culprit"].as_str(),
        Some(culprit.as_str()),
        "the data is gone"
    );
    let next = submit(&serve.http, &token, &job);
    assert_eq!(wait_done(&serve.http, next)["state"], "done");
    assert!(serve.stop().success());
    let log = std::fs::read_to_string(&pg_log).unwrap_or_default();
    for unclean in ["not properly shut down", "automatic recovery"] {
        assert!(!log.contains(unclean), "{unclean}: {log}");
    }
    assert_eq!(
        log.matches("database system is shut down").count(),
        2,
        "{log}"
    );
}

/// `program` run as the owner of `path` (PostgreSQL's user).
fn as_owner_of(path: &Path, program: &Path) -> Command {
    let meta = std::fs::metadata(path).expect("owner");
    let mut command = Command::new("setpriv");
    if is_root() && meta.uid() != 0 {
        command
            .arg(format!("--reuid={}", meta.uid()))
            .arg(format!("--regid={}", meta.gid()))
            .arg("--clear-groups");
    }
    command.arg(program);
    command
}

#[test]
fn serve_local_finds_its_postgres_running_and_clears_a_stale_pid_file() {
    if let Some(why) = svc::missing() {
        println!("SKIPPED: the running PostgreSQL test: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let local_dir = dir.path().join("local");
    let data = local_dir.join("postgres/data");
    let pg = LocalPostgres::start(&local_dir.join("postgres")).expect("PostgreSQL");
    let port = pg.port();
    // An operator restarts it by hand: it no longer belongs to anyone.
    let pg_ctl = local::postgres_bin().expect("bin").join("pg_ctl");
    let restart_log = local_dir.join("postgres/postgres.log");
    let restarted = as_owner_of(&data, &pg_ctl)
        .args(["restart", "-m", "fast", "-w", "-D"])
        .arg(&data)
        .arg("-l")
        .arg(&restart_log)
        .output()
        .expect("pg_ctl");
    assert!(
        restarted.status.success(),
        "pg_ctl restart: {}{}",
        String::from_utf8_lossy(&restarted.stdout),
        String::from_utf8_lossy(&restarted.stderr)
    );
    std::mem::forget(pg);
    let serve = LocalServe::start(&local_dir, 0, &[]);
    assert_eq!(port_of(&serve.said("database")), port);
    let (status, body) = svc::request(&serve.http, "GET", "/api/jobs", &[], b"").expect("GET");
    assert_eq!(status, 200, "{body}");
    assert!(serve.log().contains("already running"), "{}", serve.log());
    assert!(serve.stop().success());
    assert!(
        !data.join("postmaster.pid").exists(),
        "PostgreSQL still runs"
    );

    // A postmaster.pid left by a server that is gone (its number now
    // another process's: this test's).
    let stale = format!("{}\n{}\n0\n{port}\n", std::process::id(), data.display());
    std::fs::write(data.join("postmaster.pid"), stale).expect("pid file");
    let serve = LocalServe::start(&local_dir, 0, &[]);
    assert_eq!(port_of(&serve.said("database")), port);
    let (status, body) = svc::request(&serve.http, "GET", "/api/jobs", &[], b"").expect("GET");
    assert_eq!(status, 200, "{body}");
    assert!(
        serve.log().contains("stale postmaster.pid"),
        "{}",
        serve.log()
    );
    assert!(serve.stop().success());
}
