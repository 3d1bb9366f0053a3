//! Progress on a terminal: while a build or a run takes time, a line on
//! standard error says what is going on and for how long. Nothing is
//! printed when standard error is not a terminal.

use std::io::{IsTerminal, Write};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use culprit_bisect::recipients::Recipients;
use culprit_bisect::{BuildOutcome, Built, Capacity, Executor, RunOutcome};

/// Wraps an executor with a progress line on a terminal.
pub struct Progress<'a> {
    inner: Box<dyn Executor + Send + 'a>,
    enabled: bool,
}

impl<'a> Progress<'a> {
    /// Shows progress if standard error is a terminal.
    pub fn new(inner: Box<dyn Executor + Send + 'a>) -> Self {
        Progress {
            inner,
            enabled: std::io::stderr().is_terminal(),
        }
    }

    fn ticker(&self, label: String) -> Option<Ticker> {
        self.enabled.then(|| Ticker::start(label))
    }
}

impl Executor for Progress<'_> {
    fn capabilities(&self) -> culprit_bisect::Capabilities {
        self.inner.capabilities()
    }

    fn capacity(&self) -> Capacity {
        self.inner.capacity()
    }

    fn same_bug(&self) -> std::sync::Arc<dyn culprit_bisect::SameBug> {
        self.inner.same_bug()
    }

    fn build(&mut self, commit: &str) -> BuildOutcome {
        let _ticker = self.ticker(format!("building {}", short(commit)));
        self.inner.build(commit)
    }

    fn run(
        &mut self,
        build: &Built,
        runs: Range<u32>,
        done: &mut dyn FnMut(u32, RunOutcome, f64) -> bool,
    ) {
        let what = match runs.len() {
            1 => format!("run #{}", runs.start),
            _ => format!("runs #{}-#{}", runs.start, runs.end.saturating_sub(1)),
        };
        let _ticker = self.ticker(format!("testing {} {what}", short(&build.commit)));
        self.inner.run(build, runs, done)
    }

    /// One commit at a time goes through this wrapper's build and run (and
    /// their progress lines); several at once are the inner executor's.
    fn evaluate(
        &mut self,
        evaluations: Vec<culprit_bisect::Evaluation>,
        sink: &mut dyn culprit_bisect::EvaluationSink,
    ) {
        if self.inner.capacity().builders > 1 {
            return self.inner.evaluate(evaluations, sink);
        }
        for evaluation in evaluations {
            if !culprit_bisect::exec::evaluate_here(self, evaluation, sink) {
                return;
            }
        }
    }

    fn build_inputs(&mut self) -> Option<Box<dyn culprit_bisect::BuildInputs + '_>> {
        self.inner.build_inputs()
    }

    fn revert(&mut self, base: &str, commit: &str) -> culprit_bisect::RevertOutcome {
        self.inner.revert(base, commit)
    }

    fn recipients(&mut self, culprit: &culprit_git::Commit) -> Recipients {
        self.inner.recipients(culprit)
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// A thread redrawing `label elapsed` until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(label: String) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            // Short steps stay silent: only draw after a second.
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let elapsed = start.elapsed().as_secs();
                if elapsed >= 1 {
                    let spin =
                        ['|', '/', '-', '\\'][(start.elapsed().as_millis() / 250 % 4) as usize];
                    let _ = write!(std::io::stderr(), "\r{spin} {label} {elapsed}s\x1b[K");
                }
            }
            if start.elapsed().as_secs() >= 1 {
                let _ = write!(std::io::stderr(), "\r\x1b[K");
            }
        });
        Ticker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
