//! The tools a user would pick instead of culprit, as strategies of the
//! simulator, so `culprit sim` judges them on the same histories and draws:
//! `repeat` (`git bisect run` with the test repeated, any failure bad) and
//! `robust` (noisy binary search as published by Karp and Kleinberg, the
//! method robust-git-bisect cites). `plain` (`git bisect run` as is) lives
//! with the strategies, since culprit offers it.
//!
//! These tools test neither end: the user gave them. The simulator checks
//! the ends as the user would before starting: the tool's test once at each
//! end (for `repeat`, its wrapper: up to its repeat count, stopping at the
//! first failure). A bad end that passes reads clean (the user would not
//! bisect); a good end that fails reads crashing. Like any script, the
//! tools see an exit status, not a crash title: an unrelated crash fails
//! the test as the bisected one does.

pub mod repeat;
pub mod robust;

use crate::evidence::{CommitEvidence, RunClass};
use crate::strategy::{EndContext, EndReading, EndStep, Strategy};

pub use repeat::Repeat;
pub use robust::Robust;

/// The peers' names, as given to `culprit sim --strategies`.
pub const NAMES: &[&str] = &["repeat", "robust"];

/// A fresh peer called `name`, with the settings of the table.
pub fn strategy(name: &str) -> Option<Box<dyn Strategy>> {
    match name {
        "repeat" => Some(Box::new(Repeat::default())),
        "robust" => Some(Box::new(Robust::default())),
        _ => None,
    }
}

/// Whether the test failed in any run: a script sees a non-zero exit
/// status, whichever crash caused it.
fn failed(e: &CommitEvidence) -> bool {
    e.runs
        .iter()
        .any(|r| matches!(r, RunClass::Crash | RunClass::OtherCrash))
}

/// Whether a run could not test (exit 125) or hit an infrastructure
/// problem: a script-driven tool skips such a commit.
fn untested(e: &CommitEvidence) -> bool {
    e.runs
        .iter()
        .any(|r| matches!(r, RunClass::Invalid | RunClass::Infra))
}

/// The user's check of an end with a test made of up to `limit` runs that
/// stops at the first failure: crashing once one failed, clean once `limit`
/// passed.
fn check_end_once(ctx: &EndContext<'_>, limit: u32) -> EndStep {
    let e = ctx.evidence;
    let reading = if e.build_failed {
        EndReading::Unclear
    } else if failed(e) {
        EndReading::Crashes
    } else if e.runs.contains(&RunClass::Infra) {
        EndReading::Infra
    } else if untested(e) {
        EndReading::Unclear
    } else if (e.runs.len() as u32) < limit {
        return EndStep::Run(1);
    } else {
        EndReading::Clean
    };
    EndStep::Read(reading)
}

#[cfg(test)]
mod tests;
