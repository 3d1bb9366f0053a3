//! `culprit doctor`.

/// Arguments of `culprit doctor`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `culprit doctor`; returns the exit code.
pub fn run(_args: Args) -> i32 {
    eprintln!("culprit doctor: not built yet");
    3
}
