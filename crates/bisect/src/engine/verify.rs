//! Verifying a culprit before it is reported: revert it on the crashing
//! end (cause; a merge against its first parent) and the crash must go, or
//! revert a fix on the good end and the crash must come back. The revert
//! is made in the executor's own checkout and tested like an end of the
//! range, as long as the strategy needs to be sure.

use culprit_git::Commit;

use super::{Engine, Stop};
use crate::event::Event;
use crate::evidence::Direction;
use crate::exec::RevertOutcome;
use crate::outcome::{Flag, StepKind, Verification, VerificationKind, VerificationVerdict};
use crate::strategy::{End, EndReading, Strategy};

/// Chance that the revert of a wrong culprit still passes the check (the
/// crash goes, or comes back) by accident.
const WRONG_BUT_PASSES: f64 = 0.5;
/// Chance that the revert of the right culprit fails the check (later
/// changes keep the crash without it, say).
const RIGHT_BUT_FAILS: f64 = 0.02;
/// The most a bisection's own confidence counts for against its revert
/// check: a strategy that calls itself certain (classic, plain) can be
/// wrong all the same.
const MOST_TRUSTED: f64 = 0.99;

/// A verification, the flag it gives and the confidence it leaves.
pub(super) struct Verified {
    pub verification: Verification,
    pub flag: Option<Flag>,
    pub confidence: f64,
}

impl Engine<'_> {
    /// Checks `culprit` by its revert; returns the verification, the flag
    /// and the confidence the check leaves. `None` when the executor cannot
    /// make reverts.
    pub(super) fn verify(
        &mut self,
        strategy: &mut dyn Strategy,
        culprit: &Commit,
        confidence: f64,
    ) -> Result<Option<Verified>, Stop> {
        let direction = self.bisection.direction;
        let base = match direction {
            Direction::Cause => self.bisection.bad.clone(),
            Direction::Fix => self.good.first().cloned().unwrap_or_default(),
        };
        let hash = culprit.hash.clone();
        self.emit(Event::Verifying {
            direction,
            commit: hash.clone(),
            base: base.clone(),
        });
        let checked = match self.exec.revert(&base, &hash) {
            RevertOutcome::Unsupported => {
                self.emit(Event::RevertUnsupported);
                return Ok(None);
            }
            RevertOutcome::Infra { reason } => {
                return Err(Stop::Error(format!("cannot revert {hash}: {reason}")))
            }
            RevertOutcome::Conflicts => verification(&base, None, VerificationVerdict::Conflicts),
            RevertOutcome::Applied { commit } => self.test_revert(strategy, &base, &commit)?,
        };
        let confidence = match checked.verdict.passed() {
            Some(true) => confidence / (confidence + (1.0 - confidence) * WRONG_BUT_PASSES),
            Some(false) => {
                let prior = confidence.min(MOST_TRUSTED);
                let right = prior * RIGHT_BUT_FAILS;
                right / (right + (1.0 - prior) * (1.0 - WRONG_BUT_PASSES))
            }
            None => confidence,
        };
        self.emit(Event::Verified {
            direction,
            commit: hash,
            verdict: checked.verdict,
            confidence,
        });
        Ok(Some(Verified {
            flag: checked.verdict.flag(),
            verification: checked,
            confidence,
        }))
    }

    /// Builds and runs the revert `commit` until the strategy reads it.
    fn test_revert(
        &mut self,
        strategy: &mut dyn Strategy,
        base: &str,
        commit: &str,
    ) -> Result<Verification, Stop> {
        let reading = self.check_end(strategy, commit, End::Check, StepKind::Verify, None)?;
        let tested = self.ledger.tested.get(commit);
        let built = tested.is_some_and(|t| t.build.is_ok());
        let runs = self
            .steps
            .iter()
            .find(|s| s.commit == commit)
            .map(|s| s.runs.clone())
            .unwrap_or_default();
        let cause = self.bisection.direction == Direction::Cause;
        let verdict = match (reading, cause) {
            _ if !built => VerificationVerdict::BuildFailed,
            (EndReading::Clean, true) => VerificationVerdict::Fixes,
            (EndReading::Crashes, true) => VerificationVerdict::StillCrashes,
            (EndReading::Crashes, false) => VerificationVerdict::Crashes,
            (EndReading::Clean, false) => VerificationVerdict::StillFixed,
            _ => VerificationVerdict::Unclear,
        };
        let mut v = verification(base, Some(commit), verdict);
        v.built = built;
        v.runs = runs;
        Ok(v)
    }
}

fn verification(base: &str, commit: Option<&str>, verdict: VerificationVerdict) -> Verification {
    Verification {
        kind: VerificationKind::Revert,
        base: base.to_owned(),
        commit: commit.map(str::to_owned),
        applied: commit.is_some(),
        built: false,
        runs: Vec::new(),
        verdict,
    }
}
