//! PostgreSQL and Redis started on this machine from Debian's packages,
//! for `culprit serve --local`, tests and benchmarks. PostgreSQL refuses
//! to run as root: as root, it runs as the `postgres` system user (or
//! `nobody` without one) and admits only culprit's own role, with its
//! password ([`postgres`]).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

mod postgres;
mod redis;

pub use self::postgres::LocalPostgres;
pub use self::redis::LocalRedis;

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

/// The user and group PostgreSQL runs as when we are root: the `postgres`
/// system user of Debian's package, else `nobody`. `None` when we are not
/// root (it runs as us).
fn server_user() -> Option<(u32, u32)> {
    if !is_root() {
        return None;
    }
    // SAFETY: getpwnam reads a NUL-terminated name and returns a pointer
    // to static data (or null), read at once.
    let found = unsafe {
        let entry = libc::getpwnam(c"postgres".as_ptr());
        (!entry.is_null()).then(|| ((*entry).pw_uid, (*entry).pw_gid))
    };
    Some(found.unwrap_or((65534, 65534)))
}

/// A random secret: 32 hexadecimal digits from the kernel's generator.
pub fn random_secret() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A directory held by one process: `serve --local` takes its DIR so
/// that a second one on the same DIR stops at once instead of sharing (and
/// then stopping) the first one's PostgreSQL. Released when dropped (or
/// when the process dies).
pub struct DirLock {
    _file: std::fs::File,
}

impl DirLock {
    /// Takes `dir` (making it if needed), or says which process holds it.
    pub fn take(dir: &Path) -> Result<DirLock, LocalError> {
        use std::io::{Read, Seek, Write};
        use std::os::unix::io::AsRawFd;
        std::fs::create_dir_all(dir).map_err(|e| failed(format!("{}", dir.display()), e))?;
        let path = dir.join("lock");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| failed(format!("{}", path.display()), e))?;
        // SAFETY: flock(2) on a descriptor we own.
        let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !taken {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(failed(
                format!("{}", dir.display()),
                format!("in use by another culprit (process {})", holder.trim()),
            ));
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = writeln!(file, "{}", std::process::id());
        Ok(DirLock { _file: file })
    }
}

/// Writes `text` to a new file only its owner can read (and renames it
/// into place, so that nobody ever reads it half-written).
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&partial, path)
}

/// `program` run as the server's user when we are root, in a process
/// group of its own (a Ctrl-C at the terminal is culprit's to handle),
/// given SIGINT (PostgreSQL's fast shutdown) when the thread that started
/// it ends.
fn unprivileged(program: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new("setpriv");
    command.arg("--pdeathsig").arg("INT");
    if let Some((uid, gid)) = server_user() {
        command
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .arg("--clear-groups");
    }
    command.arg(program).process_group(0);
    command
}

/// Makes `path` (and what is in it) belong to the server's user when we
/// are root.
fn give_away(path: &Path) -> Result<(), LocalError> {
    let Some((uid, gid)) = server_user() else {
        return Ok(());
    };
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{gid}"))
        .arg(path)
        .status()
        .map_err(|e| failed("chown", e))?;
    if !status.success() {
        return Err(failed("chown", status));
    }
    Ok(())
}

/// Lets the server's user into `dir`'s parent (a temporary directory is
/// private to root) and checks that it can pass every directory above:
/// those are left as they are (opening `/root` to everybody is not ours
/// to do).
fn open_path_to(dir: &Path) -> Result<(), LocalError> {
    use std::os::unix::fs::PermissionsExt;
    if server_user().is_none() {
        return Ok(());
    }
    for (depth, ancestor) in dir.ancestors().enumerate() {
        let Ok(meta) = std::fs::metadata(ancestor) else {
            continue;
        };
        let mode = meta.permissions().mode();
        if mode & 0o001 != 0 {
            continue;
        }
        if depth > 1 {
            return Err(failed(
                format!(
                    "PostgreSQL runs as another user (it refuses root); it cannot enter {}",
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
