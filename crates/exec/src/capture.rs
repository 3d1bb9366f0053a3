//! Running a test command with its output streamed to a log file, keeping
//! in memory only what the crash parser needs: the output is parsed in
//! windows as it arrives, and the first crash report found (or the last
//! window, for the tail of a plain failure) is all that stays.
//!
//! A log that cannot be written whole (a full disk) is reported as such:
//! the run then tells nothing, whatever the command's exit status.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use culprit_report::Report;

/// Output parsed at once; also the most kept in memory.
const WINDOW: usize = 4 << 20;
/// The end of a window kept for the next one, so that a report cut by the
/// window's end is read whole there.
const OVERLAP: usize = 1 << 20;
/// How long the output may stay open after the command ended (something
/// that left its process group may still hold it).
const DRAIN: Duration = Duration::from_secs(2);

/// What a run left behind.
#[derive(Debug)]
pub struct Captured {
    /// How the command ended; `None`: killed at the time limit.
    pub status: Option<ExitStatus>,
    /// The first crash report of the output that is not suppressed.
    pub report: Option<Report>,
    /// The output's last lines (for a failure without a report).
    pub tail: String,
    /// Bytes of output.
    pub bytes: u64,
}

/// Why a run could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The command could not be started.
    #[error("cannot run the command: {0}")]
    Spawn(std::io::Error),
    /// The log file could not be written whole.
    #[error("cannot write the output to {}: {source}", path.display())]
    Log {
        /// The log file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs `command` (stdin closed, stdout and stderr together into `log`)
/// in a process group of its own that ends with it, for at most `limit`.
pub fn run(mut command: Command, log: &Path, limit: Duration) -> Result<Captured, CaptureError> {
    let log_error = |source| CaptureError::Log {
        path: log.to_owned(),
        source,
    };
    let file = File::create(log).map_err(log_error)?;
    let (reader, writer) = std::io::pipe().map_err(CaptureError::Spawn)?;
    let writer2 = writer.try_clone().map_err(CaptureError::Spawn)?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::from(writer2));
    let spawned = culprit_proc::spawn(&mut command);
    // Our copies of the pipe's writing end must go, or it never ends.
    drop(command);
    let mut group = spawned.map_err(CaptureError::Spawn)?;
    group.end_with_leader();
    let stop = Arc::new(AtomicBool::new(false));
    let reading = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || Stream::new(file).read_all(reader, &stop))
    };
    let status = group.wait_for(limit).map_err(CaptureError::Spawn)?;
    let waited = std::time::Instant::now();
    while !reading.is_finished() && waited.elapsed() < DRAIN {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    let stream = reading
        .join()
        .map_err(|_| log_error(std::io::Error::other("the output reader panicked")))?;
    let stream = stream.map_err(log_error)?;
    Ok(stream.finish(status))
}

/// The output as it streams: written to the log, parsed window by window.
struct Stream {
    log: BufWriter<File>,
    window: Vec<u8>,
    report: Option<Report>,
    bytes: u64,
}

impl Stream {
    fn new(file: File) -> Self {
        Stream {
            log: BufWriter::new(file),
            window: Vec::new(),
            report: None,
            bytes: 0,
        }
    }

    /// Reads until the output ends or `stop` is set; an error means the
    /// log is incomplete (the rest of the output is still drained, so the
    /// command is not blocked on a full pipe).
    fn read_all(
        mut self,
        mut from: std::io::PipeReader,
        stop: &AtomicBool,
    ) -> std::io::Result<Stream> {
        let mut buf = vec![0u8; 64 << 10];
        let mut failed: Option<std::io::Error> = None;
        while !stop.load(Ordering::Relaxed) {
            if !readable(&from, Duration::from_millis(100)) {
                continue;
            }
            let n = match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if failed.is_none() {
                if let Err(e) = self.take(&buf[..n]) {
                    failed = Some(e);
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        self.log.flush()?;
        self.log.get_ref().sync_data()?;
        Ok(self)
    }

    fn take(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.log.write_all(chunk)?;
        self.bytes += chunk.len() as u64;
        self.window.extend_from_slice(chunk);
        if self.window.len() >= WINDOW {
            self.slide();
        }
        Ok(())
    }

    /// Parses the full window; keeps a report that ends before the
    /// overlap (a later one would be read again whole in the next window).
    fn slide(&mut self) {
        if self.report.is_none() {
            let keep_from = self.window.len() - OVERLAP;
            self.report = first_report(&self.window).filter(|r| r.start < keep_from);
        }
        let cut = self.window.len() - OVERLAP;
        self.window.drain(..cut);
    }

    fn finish(self, status: Option<ExitStatus>) -> Captured {
        let report = self.report.or_else(|| first_report(&self.window));
        let text = String::from_utf8_lossy(&self.window);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
        Captured {
            status,
            report,
            tail,
            bytes: self.bytes,
        }
    }
}

/// Lines of output kept as the "report" of a failure without a report.
pub const TAIL_LINES: usize = 40;

fn first_report(output: &[u8]) -> Option<Report> {
    culprit_report::parse(output)
        .into_iter()
        .find(|r| !r.suppressed)
}

/// Whether `pipe` has data (or its end) within `wait`.
fn readable(pipe: &std::io::PipeReader, wait: Duration) -> bool {
    let mut fds = libc::pollfd {
        fd: pipe.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: poll(2) on one valid pollfd that outlives the call.
    let ready = unsafe { libc::poll(&mut fds, 1, ms) };
    ready > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    }

    #[test]
    fn output_goes_to_the_log_and_the_report_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("out.log");
        let script = "echo hello; echo 'thread '\\''main'\\'' panicked at src/main.rs:3:5:' >&2; \
                      echo 'boom' >&2; exit 101";
        let c = run(sh(script), &log, Duration::from_secs(10)).unwrap();
        assert_eq!(c.status.and_then(|s| s.code()), Some(101));
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.starts_with("hello\n"), "{text}");
        assert!(c.report.is_some(), "{c:?}");
    }

    #[test]
    fn a_flood_of_output_keeps_memory_bounded_and_finds_the_crash() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("out.log");
        // 24 MiB of noise, a crash in the middle, 24 MiB more.
        let script = "yes 0123456789abcdef0123456789abcdef | head -c 25165824; \
                      echo; echo 'thread '\\''main'\\'' panicked at src/lib.rs:9:1:'; echo 'oops'; \
                      yes fedcba | head -c 25165824; exit 1";
        let c = run(sh(script), &log, Duration::from_secs(60)).unwrap();
        assert!(c.bytes > 48 << 20, "{}", c.bytes);
        let report = c.report.expect("the crash in the middle is found");
        assert!(report.title.contains("panic"), "{}", report.title);
        assert!(c.tail.contains("fedcba"));
    }

    #[test]
    fn a_log_that_cannot_be_written_is_an_error_not_a_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("out.log");
        // /dev/full fails every write with "No space left on device".
        std::os::unix::fs::symlink("/dev/full", &log).unwrap();
        let err = run(sh("echo a line; exit 0"), &log, Duration::from_secs(10)).unwrap_err();
        assert!(err.to_string().contains("No space left on device"), "{err}");
    }

    #[test]
    fn background_processes_end_with_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("out.log");
        let pid_file = dir.path().join("pid");
        let script = format!(
            "sleep 300 >/dev/null 2>&1 & echo $! > {}; exit 0",
            pid_file.display()
        );
        let c = run(sh(&script), &log, Duration::from_secs(10)).unwrap();
        assert_eq!(c.status.and_then(|s| s.code()), Some(0));
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let pid = pid.trim();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while alive(pid) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(pid), "the background sleep {pid} survived the run");
    }

    #[test]
    fn a_command_past_its_limit_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("out.log");
        let c = run(sh("echo start; sleep 30"), &log, Duration::from_millis(300)).unwrap();
        assert!(c.status.is_none());
        assert!(c.tail.contains("start"));
    }

    /// Whether `pid` runs (a zombie does not).
    fn alive(pid: &str) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next();
        matches!(state, Some(s) if s != "Z" && s != "X")
    }
}
