//! Stopping on a signal. The first SIGTERM or SIGINT asks to stop after
//! what is in progress: a worker finishes its current build or run,
//! records it, puts its job back in the queue and exits. The second stops
//! at once: the commands running are killed, nothing they were doing is
//! recorded, and the process exits within a few seconds whatever it was
//! waiting for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};

/// Set by the second signal.
static NOW: AtomicBool = AtomicBool::new(false);

/// Whether the process was asked twice: stop at once, record nothing.
pub fn now() -> bool {
    NOW.load(Ordering::SeqCst)
}

/// How long the process may take to exit after the second signal.
const GRACE: Duration = Duration::from_secs(5);

/// Handles SIGTERM and SIGINT from now on: the first sets `drain`, the
/// second stops at once (see the module's documentation). Call it before
/// any command starts: `culprit_proc` then leaves these signals to us.
pub fn on_signals(drain: Arc<AtomicBool>, what: &'static str) -> std::io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
    std::thread::spawn(move || {
        let mut seen = 0;
        for signal in signals.forever() {
            seen += 1;
            if seen == 1 {
                tracing::info!(
                    signal,
                    "{what}: stopping after the build or run in progress (signal again to stop at once)"
                );
                drain.store(true, Ordering::SeqCst);
                continue;
            }
            tracing::warn!(signal, "{what}: stopping at once");
            NOW.store(true, Ordering::SeqCst);
            drain.store(true, Ordering::SeqCst);
            culprit_proc::stop_all();
            std::thread::sleep(GRACE);
            tracing::error!("{what}: still running {GRACE:?} after the second signal; exiting");
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}
