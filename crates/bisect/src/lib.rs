//! The bisection engine: strategies, verdicts, the journal, results, the
//! human log and the simulator. It runs no process itself: builds and runs
//! go through the [`Executor`] trait (implemented in `culprit-exec`), so
//! this crate depends only on `culprit-git`.
//!
//! Entry points: [`setup::Setup`] turns what the user asked for (flags or
//! a job file) into a ready bisection and runs it; underneath,
//! [`input::check`] turns the user's revisions into a [`Bisection`] and
//! [`engine::run`] runs it with a [`Strategy`] and an [`Executor`],
//! journaling every build and run in a [`Journal`], and returns an
//! [`Outcome`].
#![deny(missing_docs)]

pub mod clock;
pub mod engine;
pub mod event;
pub mod evidence;
pub mod exec;
pub mod input;
pub mod journal;
pub mod outcome;
pub mod recipients;
pub mod setup;
pub mod sim;
pub mod strategy;

pub use engine::{run, Bisection};
pub use event::{Event, EventSink};
pub use evidence::{CommitEvidence, Direction, Knowledge, RunClass};
pub use exec::{
    BuildInputs, BuildOutcome, Built, Capabilities, Capacity, CrashSeen, Evaluation,
    EvaluationSink, Executor, RevertOutcome, RunOutcome, SameBug,
};
pub use journal::Journal;
pub use outcome::{
    Flag, Outcome, OutcomeKind, Relation, RunLine, StepKind, StepVerdict, VerificationVerdict,
};
pub use setup::{Setup, SetupError, SetupRequest};
pub use strategy::{Conclusion, Context, NextStep, Request, Strategy, StrategyConfig, Verdict};
