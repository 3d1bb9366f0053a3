//! A job's human log, written to the database line by line as the engine
//! writes it (the dashboard streams it from there). A thread of its own
//! writes the lines, so a slow or restarting database does not hold up
//! the bisection; lines are numbered per attempt, so a write retried
//! after a lost connection is not doubled.

use std::io::Write;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::db::Db;

/// Where the worker shows what it is doing (the dashboard's "step").
pub type Step = Arc<Mutex<String>>;

/// The writer the engine logs to; clones write to the same log.
#[derive(Clone)]
pub struct JobLog {
    inner: Arc<Mutex<Pending>>,
}

struct Pending {
    partial: Vec<u8>,
    lines: Option<Sender<String>>,
    step: Step,
    job: i64,
}

/// The thread writing a job's log, to wait for at the end.
pub struct LogThread {
    handle: Option<JoinHandle<()>>,
    log: JobLog,
}

impl JobLog {
    /// Starts writing the log of `job` (attempt `token`) with `db`; lines
    /// that say which commit is being tested also go to `step`.
    pub fn start(db: Db, job: i64, token: i64, step: Step) -> (JobLog, LogThread) {
        let (tx, rx) = channel();
        let handle = std::thread::spawn(move || write_lines(db, job, token, rx));
        let log = JobLog {
            inner: Arc::new(Mutex::new(Pending {
                partial: Vec::new(),
                lines: Some(tx),
                step,
                job,
            })),
        };
        let thread = LogThread {
            handle: Some(handle),
            log: log.clone(),
        };
        (log, thread)
    }
}

impl LogThread {
    /// Sends what is left and waits until every line is written.
    pub fn finish(mut self) {
        self.log.close();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl JobLog {
    fn close(&self) {
        if let Ok(mut pending) = self.inner.lock() {
            if !pending.partial.is_empty() {
                let rest = String::from_utf8_lossy(&pending.partial).into_owned();
                pending.partial.clear();
                if let Some(tx) = &pending.lines {
                    let _ = tx.send(rest);
                }
            }
            pending.lines = None;
        }
    }
}

impl Write for JobLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let Ok(mut pending) = self.inner.lock() else {
            return Ok(buf.len());
        };
        pending.partial.extend_from_slice(buf);
        while let Some(end) = pending.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.partial.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..end]).into_owned();
            if let Some(step) = step_of(&text) {
                if let Ok(mut s) = pending.step.lock() {
                    *s = format!("job {}: {step}", pending.job);
                }
            }
            if let Some(tx) = &pending.lines {
                let _ = tx.send(text);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The lines that say what the bisection is doing now.
fn step_of(line: &str) -> Option<String> {
    let starts = [
        "testing commit ",
        "more runs on commit ",
        "# git bisect start",
        "bisecting ",
        "evaluating ",
    ];
    if starts.iter().any(|s| line.starts_with(s)) {
        let short: String = line.chars().take(120).collect();
        return Some(short);
    }
    None
}

/// The log thread: writes lines in batches as they come, in order.
fn write_lines(mut db: Db, job: i64, token: i64, rx: Receiver<String>) {
    let mut n: i64 = 0;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        // Whatever else is already there goes in the same statement.
        while let Ok(more) = rx.recv_timeout(Duration::from_millis(5)) {
            batch.push(more);
            if batch.len() >= 200 {
                break;
            }
        }
        let numbers: Vec<i64> = (n + 1..=n + batch.len() as i64).collect();
        n += batch.len() as i64;
        let written = db.run(|c| {
            c.execute(
                "INSERT INTO log_lines (job_id, token, n, line)
                 SELECT $1, $2, n, line FROM unnest($3::bigint[], $4::text[]) AS t(n, line)
                 ON CONFLICT (job_id, token, n) DO NOTHING",
                &[&job, &token, &numbers, &batch],
            )
        });
        // A log that cannot be written must not stop the bisection: the
        // journal and the result are what count.
        if let Err(e) = written {
            eprintln!("culprit worker: job {job}: log lines lost: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_come_from_the_lines_that_name_a_commit() {
        assert_eq!(
            step_of("testing commit abc").as_deref(),
            Some("testing commit abc")
        );
        assert_eq!(step_of("all runs: OK"), None);
    }
}
