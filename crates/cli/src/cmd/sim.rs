//! `culprit sim`.

/// Arguments of `culprit sim`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `culprit sim`; returns the exit code.
pub fn run(_args: Args) -> i32 {
    eprintln!("culprit sim: not built yet");
    3
}
