//! `culprit report`.

/// Arguments of `culprit report`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `culprit report`; returns the exit code.
pub fn run(_args: Args) -> i32 {
    eprintln!("culprit report: not built yet");
    3
}
