//! The bisection engine: strategies, verdicts, the journal, results and
//! the human log.
#![deny(missing_docs)]

pub mod evidence;
pub mod strategy;

pub use evidence::{CommitEvidence, Direction, Knowledge, RunClass};
pub use strategy::{Conclusion, Context, NextStep, Request, Strategy, Verdict};
