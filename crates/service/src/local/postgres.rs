//! A PostgreSQL server with its data in a directory of its own, locked
//! down: it admits only culprit's role (not a superuser) to culprit's
//! database, with a password (kept in the directory, readable by
//! culprit's user only), over 127.0.0.1 or a socket in a directory only
//! the server's user can enter. It keeps its port across restarts, finds
//! a server already running on its data (and clears a stale
//! `postmaster.pid`), and stops with a fast shutdown.
//!
//! In the directory: `data/` (the cluster), `run/` (the socket),
//! `postgres.log`, `password` and `port`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::{
    failed, free_port, give_away, open_path_to, postgres_bin, random_secret, unprivileged,
    write_private, LocalError,
};

/// The role culprit connects as, and its database.
const ROLE: &str = "culprit";

/// Who may connect: culprit's role to its database, with its password.
/// Nothing else matches, so everything else is refused.
const HBA: &str = "# Written by culprit: only culprit's role, with its password.
local   culprit   culprit                  scram-sha-256
host    culprit   culprit   127.0.0.1/32   scram-sha-256
";

/// A PostgreSQL server with its data in a directory of its own.
pub struct LocalPostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    password: String,
    /// The server, when this started it (else it was found running).
    child: Option<Child>,
    running: bool,
}

impl LocalPostgres {
    /// Makes a locked-down cluster in `dir` (unless there is one) and
    /// starts its server, on the port it had (a free one the first time),
    /// or finds it running.
    pub fn start(dir: &Path) -> Result<LocalPostgres, LocalError> {
        let bin = postgres_bin().ok_or(LocalError::Missing {
            what: "PostgreSQL's server",
            hint: "apt-get install postgresql",
        })?;
        std::fs::create_dir_all(dir).map_err(|e| failed(format!("{}", dir.display()), e))?;
        let dir = dir.canonicalize().map_err(|e| failed("canonicalize", e))?;
        open_path_to(&dir)?;
        let mut pg = LocalPostgres {
            password: String::new(),
            dir,
            bin,
            port: 0,
            child: None,
            running: false,
        };
        pg.password = pg.cluster()?;
        if let Some(port) = pg.running_server()? {
            tracing::info!(port, data = %pg.data().display(), "PostgreSQL already running on its data");
            pg.port = port;
            pg.running = true;
            pg.wait_ready()?;
            return Ok(pg);
        }
        pg.port = pg.kept_port()?;
        pg.start_server()?;
        Ok(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The cluster's password, making the cluster first if there is none.
    fn cluster(&self) -> Result<String, LocalError> {
        let password_file = self.dir.join("password");
        if self.data().join("PG_VERSION").is_file() {
            return match std::fs::read_to_string(&password_file) {
                Ok(password) => Ok(password.trim().to_owned()),
                Err(_) => Err(failed(
                    format!("{}", self.data().display()),
                    "a cluster without culprit's password file: made by an older culprit \
                     (open to every local user); move the directory away to make a locked-down one",
                )),
            };
        }
        let password = random_secret().map_err(|e| failed("a password", e))?;
        for sub in ["data", "run"] {
            let path = self.dir.join(sub);
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir(&path).map_err(|e| failed(sub, e))?;
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .map_err(|e| failed(sub, e))?;
            give_away(&path)?;
        }
        let out = unprivileged(&self.bin.join("initdb"))
            .arg("-D")
            .arg(self.data())
            .args([
                "-U",
                "postgres",
                "--auth-local=reject",
                "--auth-host=reject",
            ])
            .args(["-E", "UTF8", "--no-sync"])
            .output()
            .map_err(|e| failed("initdb", e))?;
        if !out.status.success() {
            return Err(failed("initdb", String::from_utf8_lossy(&out.stderr)));
        }
        std::fs::write(self.data().join("pg_hba.conf"), HBA)
            .map_err(|e| failed("pg_hba.conf", e))?;
        give_away(&self.data().join("pg_hba.conf"))?;
        self.create_role(&password)?;
        // Last: a cluster with a password file is a finished one.
        write_private(&password_file, &password).map_err(|e| failed("password file", e))?;
        Ok(password)
    }

    /// Makes culprit's role (no superuser, no role or database making)
    /// and its database, in single-user mode: no connection is ever
    /// admitted for the superuser.
    fn create_role(&self, password: &str) -> Result<(), LocalError> {
        let mut child = unprivileged(&self.bin.join("postgres"))
            .arg("--single")
            .arg("-D")
            .arg(self.data())
            .arg("postgres")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed("postgres --single", e))?;
        let statements = format!(
            "CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION \
             PASSWORD '{password}'\nCREATE DATABASE {ROLE} OWNER {ROLE}\n"
        );
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(statements.as_bytes())
                .map_err(|e| failed("postgres --single", e))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| failed("postgres --single", e))?;
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || said.contains("ERROR") {
            return Err(failed("creating culprit's role", said));
        }
        Ok(())
    }

    /// The port of a server already running on this data directory;
    /// removes a `postmaster.pid` whose server is gone.
    fn running_server(&self) -> Result<Option<u16>, LocalError> {
        let pid_file = self.data().join("postmaster.pid");
        let Ok(text) = std::fs::read_to_string(&pid_file) else {
            return Ok(None);
        };
        let lines: Vec<&str> = text.lines().collect();
        let pid: Option<i32> = lines.first().and_then(|l| l.trim().parse().ok());
        let port: Option<u16> = lines.get(3).and_then(|l| l.trim().parse().ok());
        if let (Some(pid), Some(port)) = (pid, port) {
            if is_postgres_on(pid, &self.data()) {
                return Ok(Some(port));
            }
        }
        tracing::warn!(file = %pid_file.display(), "stale postmaster.pid (its server is gone): removed");
        std::fs::remove_file(&pid_file)
            .map_err(|e| failed("removing a stale postmaster.pid", e))?;
        Ok(None)
    }

    /// The port kept in `port`, if it is free; else a free one, kept.
    fn kept_port(&self) -> Result<u16, LocalError> {
        let file = self.dir.join("port");
        let kept: Option<u16> = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| t.trim().parse().ok());
        if let Some(port) = kept {
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return Ok(port);
            }
            tracing::warn!(
                port,
                "PostgreSQL's port is taken by another program: choosing another"
            );
        }
        let port = free_port().map_err(|e| failed("free port", e))?;
        std::fs::write(&file, format!("{port}\n")).map_err(|e| failed("port file", e))?;
        Ok(port)
    }

    fn start_server(&mut self) -> Result<(), LocalError> {
        let log_path = self.dir.join("postgres.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&log_path)
            .map_err(|e| failed("postgres.log", e))?;
        give_away(&log_path)?;
        let child = unprivileged(&self.bin.join("postgres"))
            .arg("-D")
            .arg(self.data())
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.join("run").display()
            ))
            .args(["-c", "unix_socket_permissions=0700"])
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=300",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| failed("postgres", e))?;
        self.child = Some(child);
        self.running = true;
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), LocalError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let tried = ::postgres::Client::connect(&self.url(), ::postgres::NoTls);
            match tried {
                Ok(_) => return Ok(()),
                // Refused for the password: not a server that will start.
                Err(e) if e.code() == Some(&::postgres::error::SqlState::INVALID_PASSWORD) => {
                    return Err(failed("PostgreSQL refused culprit's password", e));
                }
                Err(_) => {}
            }
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    self.running = false;
                    let log =
                        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(20).collect();
                    let tail: Vec<&str> = tail.into_iter().rev().collect();
                    return Err(failed(
                        format!("postgres exited ({status})"),
                        tail.join("\n"),
                    ));
                }
            }
            if Instant::now() > deadline {
                return Err(failed("postgres", "not ready after 60s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The URL to give workers and the server (with the password).
    pub fn url(&self) -> String {
        format!(
            "postgres://{ROLE}:{}@127.0.0.1:{}/{ROLE}",
            self.password, self.port
        )
    }

    /// The URL without the password, to show.
    pub fn shown_url(&self) -> String {
        format!("postgres://{ROLE}:***@127.0.0.1:{}/{ROLE}", self.port)
    }

    /// Where the password is kept.
    pub fn password_file(&self) -> PathBuf {
        self.dir.join("password")
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server with `pg_ctl stop -m fast` (clients are
    /// disconnected, the data is written out: no recovery at the next
    /// start).
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let stopped = unprivileged(&self.bin.join("pg_ctl"))
            .arg("stop")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "-t", "60"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if stopped {
            tracing::info!(data = %self.data().display(), "PostgreSQL stopped");
        }
        if let Some(mut child) = self.child.take() {
            if !stopped {
                // SAFETY: kill(2) on our own child's pid.
                unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server and starts it again on the same port.
    pub fn restart(&mut self) -> Result<(), LocalError> {
        self.stop();
        self.start_server()
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether process `pid` is a PostgreSQL server on `data` (a server
/// works in its data directory).
fn is_postgres_on(pid: i32, data: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let program = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    let program = String::from_utf8_lossy(program);
    let is_postgres = program.ends_with("postgres") || program.ends_with("postmaster");
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"));
    is_postgres && cwd.is_ok_and(|cwd| cwd == data)
}
