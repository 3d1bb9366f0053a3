//! Helpers for the service's tests: a real PostgreSQL (Debian's, started
//! on a free port and removed afterwards), the real `culprit serve` and
//! `culprit worker` processes ([`culprit_bin`]), a small HTTP client, and
//! git histories made with `git fast-import`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use culprit_service::local::{self, LocalPostgres};

pub const TOKEN: &str = "test-token-0123456789";

/// The `culprit` binary these tests run: `$CULPRIT_BIN`, else the one
/// cargo builds for this test's profile (built now when it is missing or
/// older than the workspace's sources: `cargo test -p culprit-service`
/// does not build other packages' binaries).
pub fn culprit_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("CULPRIT_BIN") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("the test's path");
        // target/PROFILE/deps/TEST
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test is in a cargo target directory")
            .to_owned();
        let bin = profile_dir.join("culprit");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        if modified(&bin) < newest_source(&workspace) {
            build(&workspace, &profile_dir);
        }
        bin
    })
    .clone()
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The newest modification of the workspace's sources and manifests.
fn newest_source(workspace: &Path) -> SystemTime {
    let mut newest = modified(&workspace.join("Cargo.lock"));
    let mut todo = vec![workspace.join("crates")];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if !["target", "tests", "benches"].contains(&name.to_str().unwrap_or("")) {
                    todo.push(path);
                }
            } else {
                newest = newest.max(modified(&path));
            }
        }
    }
    newest
}

fn build(workspace: &Path, profile_dir: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let target = profile_dir.parent().expect("the target directory");
    let out = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "culprit",
            "--bin",
            "culprit",
            "--profile",
        ])
        .arg(&profile)
        .arg("--target-dir")
        .arg(target)
        .current_dir(workspace)
        .output()
        .expect("cargo build");
    assert!(
        out.status.success(),
        "building culprit for the service tests: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Why a service test cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    if local::postgres_bin().is_none() {
        return Some("PostgreSQL's server is not installed (bash scripts/deps.sh)".into());
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        return Some("setpriv (util-linux) is missing".into());
    }
    None
}

/// PostgreSQL, `culprit serve` and the workers of one test.
pub struct Service {
    pub dir: tempfile::TempDir,
    pub pg: LocalPostgres,
    pub http: String,
    server: Child,
    pub workers: HashMap<String, Child>,
}

impl Service {
    /// Starts PostgreSQL and `culprit serve`; `None` (with the reason
    /// printed) when this machine lacks what it needs.
    pub fn start(test: &str) -> Option<Service> {
        if let Some(why) = missing() {
            println!("SKIPPED: {test}: {why}");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = LocalPostgres::start(&dir.path().join("pg")).expect("PostgreSQL starts");
        let port = local::free_port().expect("port");
        let log = std::fs::File::create(dir.path().join("serve.log")).expect("log");
        let server = Command::new(culprit_bin())
            .args(["serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["--public-url", &format!("http://127.0.0.1:{port}")])
            .env("CULPRIT_TOKEN", TOKEN)
            .env("CULPRIT_DB", pg.url())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("culprit serve");
        let service = Service {
            http: format!("127.0.0.1:{port}"),
            dir,
            pg,
            server,
            workers: HashMap::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while service.try_get("/api/workers").is_none() {
            assert!(Instant::now() < deadline, "culprit serve did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(service)
    }

    /// Starts `culprit worker --id ID` with `extra` arguments (a lease of
    /// 3 seconds unless they give one) and environment.
    pub fn worker(&mut self, id: &str, extra: &[&str], env: &[(&str, &str)]) {
        let workdir = self.dir.path().join("workers").join(id);
        let log = std::fs::File::create(self.dir.path().join(format!("{id}.log"))).expect("log");
        let mut command = Command::new(culprit_bin());
        command
            .args(["worker", "--id", id])
            .env("CULPRIT_DB", self.pg.url())
            .arg("--workdir")
            .arg(&workdir)
            .args(extra)
            .args(if extra.contains(&"--lease") {
                &[][..]
            } else {
                &["--lease", "3"][..]
            })
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("culprit worker");
        self.workers.insert(id.to_owned(), child);
    }

    /// kill -9 of worker `id`.
    pub fn kill_worker(&mut self, id: &str) {
        if let Some(mut child) = self.workers.remove(id) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` to worker `id` (it stays in the list, to wait for).
    pub fn signal_worker(&mut self, id: &str, signal: i32) {
        if let Some(child) = self.workers.get(id) {
            // SAFETY: kill(2) on a child we started and have not reaped.
            unsafe { libc::kill(child.id() as i32, signal) };
        }
    }

    /// Waits up to `limit` for worker `id` to exit; its exit status.
    pub fn wait_worker(&mut self, id: &str, limit: Duration) -> Option<std::process::ExitStatus> {
        let child = self.workers.get_mut(id)?;
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// `culprit serve`'s stderr (its log).
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    /// A worker's stderr.
    pub fn worker_log(&self, id: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{id}.log"))).unwrap_or_default()
    }

    pub fn try_get(&self, path: &str) -> Option<(u16, String)> {
        request(&self.http, "GET", path, &[], b"").ok()
    }

    /// GET, as text.
    pub fn get(&self, path: &str) -> (u16, String) {
        get(&self.http, path)
    }

    /// GET, as JSON (which must be a 200).
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        get_json(&self.http, path)
    }

    /// POSTs a job with the token; the status and the JSON answer.
    pub fn submit(&self, body: &str) -> (u16, serde_json::Value) {
        let auth = format!("Bearer {TOKEN}");
        let (status, text) = request(
            &self.http,
            "POST",
            "/api/jobs",
            &[("Authorization", &auth)],
            body.as_bytes(),
        )
        .expect("POST");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Submits a job that must be accepted; its number.
    pub fn submit_ok(&self, body: &str) -> i64 {
        let (status, answer) = self.submit(body);
        assert_eq!(status, 201, "{answer}");
        answer["id"].as_i64().expect("id")
    }

    /// Waits until job `id` is no longer queued or running.
    pub fn wait_done(&self, id: i64, limit: Duration) -> serde_json::Value {
        wait_done(&self.http, id, limit)
    }

    /// The run records of a job's journal: (token, commit, index).
    pub fn journaled_runs(&self, id: i64) -> Vec<(i64, String, u64)> {
        self.get_json(&format!("/api/jobs/{id}/journal"))
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|r| r["record"]["record"] == "run")
            .map(|r| {
                (
                    r["token"].as_i64().unwrap_or(0),
                    r["record"]["commit"].as_str().unwrap_or("").to_owned(),
                    r["record"]["index"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        for (_, mut child) in self.workers.drain() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// GET from `host`, as text.
pub fn get(host: &str, path: &str) -> (u16, String) {
    request(host, "GET", path, &[], b"").expect("GET")
}

/// GET from `host`, as JSON (which must be a 200).
pub fn get_json(host: &str, path: &str) -> serde_json::Value {
    let (status, body) = get(host, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// Waits until job `id` on `host` is no longer queued or running.
pub fn wait_done(host: &str, id: i64, limit: Duration) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let job = get_json(host, &format!("/api/jobs/{id}"));
        if !matches!(job["state"].as_str(), Some("queued" | "running")) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} not done in {limit:?}: {job}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One HTTP request (HTTP/1.1, connection closed after it).
pub fn request(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    // Read the head, then as much body as it announces (some servers keep
    // the connection open whatever the request said).
    let mut response = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break response.len();
        }
        response.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&response[..head_end]).into_owned();
    let length = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    match length {
        Some(length) => {
            while response.len() < head_end + length {
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    break;
                }
                response.extend_from_slice(&chunk[..n]);
            }
        }
        None => {
            stream.read_to_end(&mut response)?;
        }
    }
    let body = String::from_utf8_lossy(&response[head_end.min(response.len())..]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body))
}

/// A linear history made with `git fast-import`: commit `i` writes
/// `files(i)` (path, content). Returns the hashes, oldest first.
pub fn history(
    dir: &Path,
    n: usize,
    files: impl Fn(usize) -> Vec<(String, String)>,
) -> Vec<String> {
    std::fs::create_dir_all(dir).expect("repo dir");
    git(dir, &["init", "-q", "-b", "main"]);
    let mut stream = String::new();
    for i in 0..n {
        let message = format!("commit {i}\n\nSigned-off-by: Ann Author <ann@example.com>\n");
        let when = 1_700_000_000 + i * 60;
        stream.push_str(&format!(
            "commit refs/heads/main\nmark :{}\nauthor Ann Author <ann@example.com> {when} +0000\n\
             committer Ann Author <ann@example.com> {when} +0000\ndata {}\n{message}",
            i + 1,
            message.len()
        ));
        if i > 0 {
            stream.push_str(&format!("from :{i}\n"));
        }
        for (path, content) in files(i) {
            stream.push_str(&format!(
                "M 644 inline {path}\ndata {}\n{content}\n",
                content.len()
            ));
        }
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stream.as_bytes())
        .expect("fast-import input");
    assert!(child.wait().expect("fast-import").success());
    git(dir, &["reset", "-q", "--hard", "main"]);
    git(dir, &["rev-list", "--reverse", "main"])
        .lines()
        .map(str::to_owned)
        .collect()
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The culprit `culprit bisect` alone finds for a generic job.
pub fn culprit_alone(repo: &Path, bad: &str, good: &str, test: &str, workdir: &Path) -> String {
    std::fs::create_dir_all(workdir).expect("workdir");
    let json = workdir.join("alone.json");
    let out = Command::new(culprit_bin())
        .args(["bisect", "--repo"])
        .arg(repo)
        .args([
            "--bad",
            bad,
            "--good",
            good,
            "--build",
            "true",
            "--test",
            test,
            "--workdir",
        ])
        .arg(workdir)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("culprit bisect");
    let text = std::fs::read_to_string(&json).unwrap_or_else(|_| {
        panic!(
            "culprit bisect wrote no JSON: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    value["culprit"]["hash"]
        .as_str()
        .unwrap_or("none")
        .to_owned()
}

/// A generic job as TOML.
pub fn generic_job(repo: &Path, bad: &str, good: &str, test: &str, extra: &str) -> String {
    format!(
        "repo = {:?}\nbad = {bad:?}\ngood = [{good:?}]\nbuild = \"true\"\ntest = {test:?}\n{extra}",
        repo.display().to_string()
    )
}

/// PostgreSQL and the library's HTTP server, in this process.
pub struct InProcess {
    pub dir: tempfile::TempDir,
    pub pg: LocalPostgres,
    pub addr: std::net::SocketAddr,
    pub http: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    /// Starts PostgreSQL and the server, its settings changed by `tweak`;
    /// `None` (with the reason printed) when this machine lacks what it
    /// needs.
    pub fn start(
        test: &str,
        tweak: impl FnOnce(&mut culprit_service::api::ServeConfig),
    ) -> Option<InProcess> {
        if let Some(why) = missing() {
            println!("SKIPPED: {test}: {why}");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = LocalPostgres::start(&dir.path().join("pg")).expect("PostgreSQL starts");
        let mut config =
            culprit_service::api::ServeConfig::new(&pg.url(), TOKEN, dir.path().to_owned());
        config.listen = "127.0.0.1:0".into();
        config.keep = None;
        tweak(&mut config);
        let bound = culprit_service::api::bind(config).expect("the server binds");
        let addr = bound.addr().expect("address");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || bound.serve(stop))
        };
        Some(InProcess {
            dir,
            pg,
            addr,
            http: addr.to_string(),
            stop,
            thread: Some(thread),
        })
    }

    /// A connection to the database.
    pub fn db(&self) -> culprit_service::db::Db {
        culprit_service::db::Db::connect(&self.pg.url(), Duration::from_secs(30)).expect("db")
    }

    /// Stores a generic job (not checked: no worker runs it) whose title
    /// has `word`; its number.
    pub fn submit_generic(&self, word: &str) -> i64 {
        let spec = culprit_service::spec::JobSpec {
            toml: format!(
                "repo = \"/nonexistent/{word}\"\nbad = \"b\"\ngood = [\"g\"]\nbuild = \"true\"\ntest = \"true\"\nruns = 1\n"
            ),
            base: "/".into(),
        };
        culprit_service::queue::submit(&mut self.db(), &spec).expect("submit")
    }

    /// GET, as text.
    pub fn get(&self, path: &str) -> (u16, String) {
        get(&self.http, path)
    }

    /// GET, as JSON (which must be a 200).
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        get_json(&self.http, path)
    }

    /// POST with the token and no body.
    pub fn post(&self, path: &str) -> (u16, String) {
        let auth = format!("Bearer {TOKEN}");
        request(&self.http, "POST", path, &[("Authorization", &auth)], b"").expect("POST")
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Lets this process hold as many files as it may (thousands of
/// connections, both ends); how many that is.
pub fn raise_open_files() -> u64 {
    // SAFETY: getrlimit/setrlimit on a plain struct of ours.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur as u64
    }
}
