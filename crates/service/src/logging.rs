//! The service's log: structured lines on standard error through
//! `tracing`, one per event (a claim, a finish, a lost worker, a
//! reconnect, a slow build...), with the job, worker and figures as
//! fields. `CULPRIT_LOG` picks the levels (`info` unless set; the syntax
//! of `tracing_subscriber`'s `EnvFilter`, e.g. `culprit_service=debug`).

use tracing_subscriber::EnvFilter;

/// Starts the log: text lines, or JSON objects when `json`. A second call
/// does nothing.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_env("CULPRIT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match json {
        true => builder.json().try_init(),
        false => builder.with_ansi(false).try_init(),
    };
}
