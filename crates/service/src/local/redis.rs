//! A Redis server without persistence on a free local port, for ccache's
//! remote storage in tests (a cache: nothing in it is secret).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{failed, free_port, LocalError};

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
