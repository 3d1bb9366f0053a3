//! PostgreSQL and Redis started on this machine from Debian's packages, on
//! free local ports, for tests, benchmarks and `culprit serve --local`.
//! PostgreSQL refuses to run as root: as root, it runs as `nobody`.
//! Both die with the thread that started them (a parent-death signal), so
//! a killed test leaves nothing behind.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server that could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The package is not installed.
    #[error("{what} is not installed ({hint})")]
    Missing {
        /// What is missing.
        what: &'static str,
        /// How to get it.
        hint: &'static str,
    },
    /// A command failed.
    #[error("{what}: {detail}")]
    Failed {
        /// What was being done.
        what: String,
        /// The error, or the command's output.
        detail: String,
    },
}

fn failed(what: impl Into<String>, detail: impl std::fmt::Display) -> LocalError {
    LocalError::Failed {
        what: what.into(),
        detail: detail.to_string(),
    }
}

/// A free TCP port on 127.0.0.1 (free when asked).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The directory of PostgreSQL's server programs (the newest installed).
pub fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `command` run as `nobody` when we are root (PostgreSQL refuses root),
/// killed when the thread that started it ends.
fn unprivileged(program: &Path) -> Command {
    let mut command = Command::new("setpriv");
    command.arg("--pdeathsig").arg("KILL");
    if is_root() {
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
    }
    command.arg(program);
    command
}

/// Makes `path` belong to `nobody` when we are root.
fn give_away(path: &Path) -> Result<(), LocalError> {
    if !is_root() {
        return Ok(());
    }
    let status = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(path)
        .status()
        .map_err(|e| failed("chown", e))?;
    if !status.success() {
        return Err(failed("chown", status));
    }
    Ok(())
}

/// A PostgreSQL server with its data in a directory of its own.
pub struct LocalPostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl LocalPostgres {
    /// Makes a database cluster in `dir` (unless there is one) and starts
    /// its server on a free port.
    pub fn start(dir: &Path) -> Result<LocalPostgres, LocalError> {
        let bin = postgres_bin().ok_or(LocalError::Missing {
            what: "PostgreSQL's server",
            hint: "apt-get install postgresql",
        })?;
        std::fs::create_dir_all(dir).map_err(|e| failed(format!("{}", dir.display()), e))?;
        let dir = dir.canonicalize().map_err(|e| failed("canonicalize", e))?;
        // nobody must reach the directory through its parents.
        open_path_to(&dir)?;
        let data = dir.join("data");
        if !data.join("PG_VERSION").is_file() {
            give_away(&dir)?;
            let out = unprivileged(&bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-U", "culprit", "--auth=trust", "-E", "UTF8", "--no-sync"])
                .output()
                .map_err(|e| failed("initdb", e))?;
            if !out.status.success() {
                return Err(failed("initdb", String::from_utf8_lossy(&out.stderr)));
            }
        }
        let mut pg = LocalPostgres {
            dir,
            bin,
            port: free_port().map_err(|e| failed("free port", e))?,
            child: None,
        };
        pg.start_server()?;
        Ok(pg)
    }

    fn start_server(&mut self) -> Result<(), LocalError> {
        let log = std::fs::File::create(self.dir.join("postgres.log"))
            .map_err(|e| failed("postgres.log", e))?;
        let _ = give_away(&self.dir.join("postgres.log"));
        let child = unprivileged(&self.bin.join("postgres"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(&self.dir)
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
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), LocalError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if postgres::Client::connect(&self.url(), postgres::NoTls).is_ok() {
                return Ok(());
            }
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    let log =
                        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
                    return Err(failed(format!("postgres exited ({status})"), log));
                }
            }
            if Instant::now() > deadline {
                return Err(failed("postgres", "not ready after 60s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The URL to give workers and the server.
    pub fn url(&self) -> String {
        format!("postgres://culprit@127.0.0.1:{}/postgres", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (fast shutdown: clients are disconnected, the
    /// data is kept).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGINT: PostgreSQL's fast shutdown.
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
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

/// Lets `nobody` into `dir`'s parent (a temporary directory is private to
/// root) and checks that it can pass every directory above: those are
/// left as they are (opening `/root` to everybody is not ours to do).
fn open_path_to(dir: &Path) -> Result<(), LocalError> {
    use std::os::unix::fs::PermissionsExt;
    if !is_root() {
        return Ok(());
    }
    for (depth, ancestor) in dir.ancestors().skip(1).enumerate() {
        let Ok(meta) = std::fs::metadata(ancestor) else {
            continue;
        };
        let mode = meta.permissions().mode();
        if mode & 0o001 != 0 {
            continue;
        }
        if depth > 0 {
            return Err(failed(
                format!(
                    "PostgreSQL runs as nobody (it refuses root); nobody cannot enter {}",
                    ancestor.display()
                ),
                "choose a directory others can reach (e.g. under /var/tmp or /srv)",
            ));
        }
        std::fs::set_permissions(ancestor, std::fs::Permissions::from_mode(mode | 0o011))
            .map_err(|e| failed(format!("chmod {}", ancestor.display()), e))?;
    }
    Ok(())
}

/// A Redis server without persistence, for ccache's remote storage.
pub struct LocalRedis {
    port: u16,
    child: Child,
}

impl LocalRedis {
    /// Starts `redis-server` on a free port; its log goes to `dir`.
    pub fn start(dir: &Path) -> Result<LocalRedis, LocalError> {
        let program = ["/usr/bin/redis-server", "/usr/sbin/redis-server"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or(LocalError::Missing {
                what: "redis-server",
                hint: "apt-get install redis-server",
            })?;
        std::fs::create_dir_all(dir).map_err(|e| failed("redis dir", e))?;
        let port = free_port().map_err(|e| failed("free port", e))?;
        let log =
            std::fs::File::create(dir.join("redis.log")).map_err(|e| failed("redis.log", e))?;
        let mut command = Command::new("setpriv");
        command.args(["--pdeathsig", "KILL"]).arg(program);
        let child = command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| failed("redis-server", e))?;
        let redis = LocalRedis { port, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(failed("redis-server", "not listening after 20s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(redis)
    }

    /// ccache's `remote_storage` setting for this server.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
