//! `culprit bisect`.

/// Arguments of `culprit bisect`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `culprit bisect`; returns the exit code.
pub fn run(_args: Args) -> i32 {
    eprintln!("culprit bisect: not built yet");
    3
}
