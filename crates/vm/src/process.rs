//! Running QEMU as a child process: console capture, deadlines, killing.
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::VmError;
use crate::run_kind::find_from;

/// Deadlines of one QEMU run.
pub(crate) struct Limits {
    /// Time from start until `start_marker` must appear.
    pub boot: Duration,
    /// Time allowed after `start_marker` appeared.
    pub after_start: Duration,
    /// Time allowed after `done_marker` appeared, or after QEMU closed its
    /// output, before QEMU is killed.
    pub grace: Duration,
    /// Line that says the guest is up.
    pub start_marker: &'static str,
    /// Line that says the guest finished its work (None: no such line).
    pub done_marker: Option<&'static str>,
}

/// What a QEMU process left behind.
pub(crate) struct Captured {
    /// Everything the guest printed on its serial console.
    pub console: Vec<u8>,
    /// We killed QEMU because a deadline passed.
    pub timed_out: bool,
    /// QEMU's exit code; None if killed by a signal.
    pub exit_code: Option<i32>,
    /// The last lines of QEMU's standard error.
    pub stderr: String,
}

/// The result of trying to run QEMU.
pub(crate) enum Launch {
    /// QEMU ran (and has ended).
    Ran(Captured),
    /// QEMU could not be started at all.
    SpawnFailed(std::io::Error),
}

/// Runs `cmd` (QEMU with its serial console on stdout) to its end, copying
/// the console to `sink` as it arrives. Never waits past the deadlines.
pub(crate) fn run_captured(
    mut cmd: Command,
    limits: &Limits,
    sink: Option<(File, &std::path::Path)>,
) -> Result<Launch, VmError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: prctl is async-signal-safe and touches no memory of ours. It
    // makes the kernel kill QEMU if the thread that started it dies, so even
    // a culprit killed by SIGKILL leaves no test machine running (other
    // signals kill QEMU's process group: see culprit_proc).
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut qemu = match culprit_proc::spawn(&mut cmd) {
        Ok(group) => group,
        Err(e) => return Ok(Launch::SpawnFailed(e)),
    };
    // On an error, dropping `qemu` kills it.
    let watched = Watched::start(&mut qemu, sink).map_err(VmError::Watch)?;
    let (console, timed_out) = follow(&watched.chunks, limits);
    // QEMU closing its output but not exiting counts as a passed deadline.
    let (status, timed_out) = stop(&mut qemu, timed_out, limits.grace).map_err(VmError::Watch)?;
    let (console, stderr) = watched.finish(console)?;
    Ok(Launch::Ran(Captured {
        console,
        timed_out,
        exit_code: status.code(),
        stderr,
    }))
}

/// The threads reading QEMU's output.
struct Watched<'a> {
    chunks: Receiver<Vec<u8>>,
    stdout_reader: JoinHandle<std::io::Result<()>>,
    stderr_reader: JoinHandle<Vec<u8>>,
    sink_path: Option<&'a std::path::Path>,
}

impl<'a> Watched<'a> {
    fn start(
        qemu: &mut culprit_proc::Group,
        sink: Option<(File, &'a std::path::Path)>,
    ) -> std::io::Result<Self> {
        let missing = || std::io::Error::other("child has no stdout/stderr pipe");
        let stdout = qemu.take_stdout().ok_or_else(missing)?;
        let stderr = qemu.take_stderr().ok_or_else(missing)?;
        let (tx, chunks) = mpsc::channel();
        let (file, sink_path) = match sink {
            Some((f, p)) => (Some(f), Some(p)),
            None => (None, None),
        };
        let stdout_reader = std::thread::Builder::new()
            .name("qemu-console".into())
            .spawn(move || copy_console(stdout, file, tx))?;
        let stderr_reader = std::thread::Builder::new()
            .name("qemu-stderr".into())
            .spawn(move || read_tail(stderr, 4096))?;
        Ok(Watched {
            chunks,
            stdout_reader,
            stderr_reader,
            sink_path,
        })
    }

    /// Collects what the threads still hold once QEMU is gone.
    fn finish(self, mut console: Vec<u8>) -> Result<(Vec<u8>, String), VmError> {
        let copied = self
            .stdout_reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("console thread panicked")));
        console.extend(self.chunks.try_iter().flatten());
        if let (Err(source), Some(path)) = (copied, self.sink_path) {
            return Err(VmError::Console {
                path: path.to_owned(),
                source,
            });
        }
        let stderr = self.stderr_reader.join().unwrap_or_default();
        Ok((console, last_lines(&stderr, 5)))
    }
}

/// Reads the console, saving it to `file` and passing it on. A write error is
/// returned at the end, but reading goes on so QEMU never blocks on a full pipe.
fn copy_console(
    mut from: impl Read,
    mut file: Option<File>,
    tx: mpsc::Sender<Vec<u8>>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut write_result = Ok(());
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if let (Some(f), true) = (file.as_mut(), write_result.is_ok()) {
            write_result = f.write_all(&buf[..n]);
        }
        let _ = tx.send(buf[..n].to_vec());
    }
    if let (Some(f), true) = (file.as_mut(), write_result.is_ok()) {
        write_result = f.sync_data();
    }
    write_result
}

/// Keeps the last `keep` bytes of a stream.
fn read_tail(mut from: impl Read, keep: usize) -> Vec<u8> {
    let mut tail = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 2 * keep {
            tail.drain(..tail.len() - keep);
        }
    }
    tail
}

fn last_lines(bytes: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join("; ")
}

/// Receives console output until QEMU closes it or a deadline passes;
/// returns the console and whether a deadline passed.
fn follow(chunks: &Receiver<Vec<u8>>, limits: &Limits) -> (Vec<u8>, bool) {
    let mut console = Vec::new();
    let mut deadline = Instant::now() + limits.boot;
    // Where the start marker ends, once seen: never left out.
    let mut started: Option<usize> = None;
    let mut done = false;
    loop {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return (console, true);
        };
        match chunks.recv_timeout(left) {
            Ok(chunk) => {
                let scan_from = console.len().saturating_sub(200);
                console.extend_from_slice(&chunk);
                let now = Instant::now();
                if let (None, Some(at)) =
                    (started, find_from(&console, limits.start_marker, scan_from))
                {
                    started = Some(at + limits.start_marker.len());
                    deadline = now + limits.after_start;
                }
                let done_now = limits
                    .done_marker
                    .is_some_and(|m| find_from(&console, m, scan_from).is_some());
                if started.is_some() && !done && done_now {
                    done = true;
                    deadline = deadline.min(now + limits.grace);
                }
                leave_out_middle(&mut console, started.unwrap_or(0).max(KEEP_HEAD));
            }
            Err(RecvTimeoutError::Timeout) => return (console, true),
            Err(RecvTimeoutError::Disconnected) => return (console, false),
        }
    }
}

/// Console bytes kept in memory from the start (at least; see [`follow`]).
const KEEP_HEAD: usize = 2 << 20;
/// Console bytes kept in memory from the end.
const KEEP_TAIL: usize = 14 << 20;
/// How far the console may grow past head + tail before the middle goes.
const SLACK: usize = 4 << 20;
/// Put where console output was left out.
pub(crate) const LEFT_OUT_NOTE: &str =
    "\n[culprit: console output left out here; the console file has all of it]\n";

/// Bounds the memory a flooding guest can take: keeps the first `head` bytes
/// (boot log and start marker) and the last [`KEEP_TAIL`] (where a crash
/// report is) for classification. The console file keeps everything.
fn leave_out_middle(console: &mut Vec<u8>, head: usize) {
    if console.len() <= head + KEEP_TAIL + SLACK {
        return;
    }
    let cut_to = console.len() - KEEP_TAIL;
    console.splice(head..cut_to, LEFT_OUT_NOTE.bytes());
}

/// Makes sure QEMU is gone: its whole group killed at once after a
/// deadline, else given `grace` to exit by itself after closing its output.
/// Returns its exit status and whether it had to be killed.
fn stop(
    qemu: &mut culprit_proc::Group,
    timed_out: bool,
    grace: Duration,
) -> std::io::Result<(std::process::ExitStatus, bool)> {
    if !timed_out {
        if let Some(status) = qemu.wait_until(Instant::now() + grace)? {
            return Ok((status, false));
        }
    }
    Ok((qemu.kill()?, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            boot: Duration::from_secs(10),
            after_start: Duration::from_secs(10),
            grace: Duration::from_secs(1),
            start_marker: "culprit: running reproducer",
            done_marker: Some("culprit: done"),
        }
    }

    #[test]
    fn a_flooding_guest_keeps_head_marker_and_tail_in_bounded_memory() {
        let (tx, rx) = mpsc::channel();
        tx.send(b"boot log\nculprit: running reproducer\n".to_vec())
            .unwrap();
        let line = vec![b'x'; 1 << 20];
        for _ in 0..40 {
            tx.send(line.clone()).unwrap();
        }
        tx.send(b"\nBUG: the end\nculprit: done\n".to_vec())
            .unwrap();
        drop(tx);
        let (console, timed_out) = follow(&rx, &limits());
        assert!(!timed_out);
        assert!(console.len() <= KEEP_HEAD + KEEP_TAIL + SLACK + (1 << 20));
        assert!(console.starts_with(b"boot log\nculprit: running reproducer\n"));
        assert!(console.ends_with(b"BUG: the end\nculprit: done\n"));
        assert!(memchr::memmem::find(&console, LEFT_OUT_NOTE.as_bytes()).is_some());
    }

    #[test]
    fn deadline_moves_from_boot_to_run_when_the_marker_appears() {
        let (tx, rx) = mpsc::channel();
        let mut l = limits();
        l.boot = Duration::from_millis(300);
        l.after_start = Duration::from_millis(900);
        let feeder = std::thread::spawn(move || {
            tx.send(b"culprit: running reproducer\n".to_vec()).unwrap();
            std::thread::sleep(Duration::from_millis(600));
            tx.send(b"still alive\n".to_vec()).unwrap();
            std::thread::sleep(Duration::from_secs(1));
        });
        let start = Instant::now();
        let (console, timed_out) = follow(&rx, &l);
        assert!(timed_out);
        assert!(
            console.ends_with(b"still alive\n"),
            "boot deadline was not replaced"
        );
        assert!(start.elapsed() < Duration::from_secs(2));
        feeder.join().unwrap();
    }
}
