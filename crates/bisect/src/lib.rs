//! The bisection engine: strategies, verdicts, the journal, results and
//! the human log.
//!
//! Entry points: [`input::check`] turns the user's revisions into a
//! [`Bisection`]; [`engine::run`] runs it with a [`Strategy`] and an
//! [`Executor`] (the generic one is [`shell::ShellExecutor`]), journaling
//! every build and run in a [`Journal`], and returns an [`Outcome`].
#![deny(missing_docs)]

pub mod engine;
pub mod evidence;
pub mod exec;
pub mod format;
pub mod input;
pub mod job;
pub mod journal;
pub mod kernel;
pub mod maintainers;
pub mod outcome;
pub mod progress;
pub mod recipients;
pub mod shell;
pub mod sim;
pub mod strategy;

pub use engine::{run, Bisection};
pub use evidence::{CommitEvidence, Direction, Knowledge, RunClass};
pub use exec::{BuildOutcome, Built, Executor, RunOutcome};
pub use journal::Journal;
pub use outcome::{Outcome, OutcomeKind};
pub use strategy::{Conclusion, Context, NextStep, Request, Strategy, Verdict};
