//! Running a build command: its own process group (so a timeout kills the
//! whole tree of `make` jobs, and so does a signal to culprit; see
//! `culprit_proc`), all output appended to a log file, a time limit, and
//! the tail of the log for error messages.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How many lines of output a failure keeps.
pub const TAIL_LINES: usize = 200;

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The command could not be started or its log not written.
    #[error("cannot run {command}: {source}")]
    Spawn {
        /// The command, for the message.
        command: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The command exited unsuccessfully.
    #[error("{command} failed ({status}); last output lines:\n{tail}")]
    Failed {
        /// The command, for the message.
        command: String,
        /// The exit status as text.
        status: String,
        /// The last lines of the output.
        tail: String,
    },
    /// The command ran past its deadline and was killed.
    #[error("{command} timed out after {limit:?}; last output lines:\n{tail}")]
    TimedOut {
        /// The command, for the message.
        command: String,
        /// The time limit.
        limit: Duration,
        /// The last lines of the output.
        tail: String,
    },
}

impl RunError {
    /// The output tail kept with a failure or a timeout.
    pub fn tail(&self) -> Option<&str> {
        match self {
            RunError::Failed { tail, .. } | RunError::TimedOut { tail, .. } => Some(tail),
            RunError::Spawn { .. } => None,
        }
    }
}

/// Runs `command` (already configured with its directory, arguments and
/// environment) until it exits or `deadline` passes, appending its stdout
/// and stderr to `log`.
pub fn run_logged(
    mut command: Command,
    log: &Path,
    deadline: Instant,
    limit: Duration,
) -> Result<(), RunError> {
    let name = describe(&command);
    let spawn_error = |source| RunError::Spawn {
        command: name.clone(),
        source,
    };
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(spawn_error)?;
    let err = out.try_clone().map_err(spawn_error)?;
    command.stdin(Stdio::null()).stdout(out).stderr(err);
    let mut group = culprit_proc::spawn(&mut command).map_err(spawn_error)?;
    match group.wait_until(deadline).map_err(spawn_error)? {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(RunError::Failed {
            command: name,
            status: status.to_string(),
            tail: tail_of_file(log, TAIL_LINES),
        }),
        None => Err(RunError::TimedOut {
            command: name,
            limit,
            tail: tail_of_file(log, TAIL_LINES),
        }),
    }
}

/// First line of `program --version`, e.g. `gcc (Debian 12.2.0-14) 12.2.0`.
pub fn first_version_line(program: &Path) -> Option<String> {
    let output = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_string())
}

/// The last `lines` lines of a file (reads at most the last 256 KiB).
pub fn tail_of_file(path: &Path, lines: usize) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut file) = File::open(path) {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(256 * 1024)));
        let _ = file.read_to_end(&mut bytes);
    }
    tail_of_text(&String::from_utf8_lossy(&bytes), lines)
}

/// The last `lines` lines of a text.
pub fn tail_of_text(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn describe(command: &Command) -> String {
    let mut parts = vec![command.get_program().to_string_lossy().into_owned()];
    parts.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    let text = parts.join(" ");
    match text.char_indices().nth(120) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// A path made absolute against the current directory (for log messages and
/// for commands that run in another directory).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail_of_text("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail_of_text("a", 5), "a");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let marker = dir.path().join("marker");
        let mut cmd = Command::new("sh");
        let script = format!("echo started; (sleep 2; touch {}) & wait", marker.display());
        cmd.arg("-c").arg(script);
        let limit = Duration::from_millis(300);
        let result = run_logged(cmd, &log, Instant::now() + limit, limit);
        assert!(matches!(result, Err(RunError::TimedOut { ref tail, .. }) if tail == "started"));
        std::thread::sleep(Duration::from_millis(2500));
        assert!(!marker.exists(), "the background child survived the kill");
    }
}
