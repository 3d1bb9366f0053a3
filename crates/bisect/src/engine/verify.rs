//! Verifying a culprit before it is reported: revert it on the crashing
//! end (cause; a merge against its first parent) and the crash must go, or
//! revert a fix on the good end and the crash must come back. The revert
//! is made in the executor's own checkout and tested like an end of the
//! range, as long as the strategy needs to be sure.

use culprit_git::Commit;

use super::{Engine, Stop};
use crate::evidence::Direction;
use crate::exec::RevertOutcome;
use crate::outcome::{StepKind, Verification};
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

/// What the check showed, with the flag it gives.
struct Checked {
    verification: Verification,
    flag: Option<&'static str>,
    /// Whether the check speaks for the culprit (`Some(true)`), against it
    /// (`Some(false)`), or neither.
    passed: Option<bool>,
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
    ) -> Result<Option<(Verification, Option<&'static str>, f64)>, Stop> {
        let direction = self.bisection.direction;
        let base = match direction {
            Direction::Cause => self.bisection.bad.clone(),
            Direction::Fix => self.good.first().cloned().unwrap_or_default(),
        };
        let what = match direction {
            Direction::Cause => "culprit",
            Direction::Fix => "fix",
        };
        self.say(&format!("verifying {what}"));
        let hash = culprit.hash.clone();
        self.say(&format!("reverting commit {hash} on top of {base}"));
        let checked = match self.exec.revert(&base, &hash) {
            RevertOutcome::Unsupported => {
                self.say("this executor cannot revert commits: not verified");
                return Ok(None);
            }
            RevertOutcome::Infra { reason } => {
                return Err(Stop::Error(format!("cannot revert {hash}: {reason}")))
            }
            RevertOutcome::Conflicts => Checked {
                verification: verification(&base, None, "conflicts"),
                flag: Some("revert-conflicts"),
                passed: None,
            },
            RevertOutcome::Applied { commit } => self.test_revert(strategy, &base, &commit)?,
        };
        let confidence = match checked.passed {
            Some(true) => confidence / (confidence + (1.0 - confidence) * WRONG_BUT_PASSES),
            Some(false) => {
                let prior = confidence.min(MOST_TRUSTED);
                let right = prior * RIGHT_BUT_FAILS;
                right / (right + (1.0 - prior) * (1.0 - WRONG_BUT_PASSES))
            }
            None => confidence,
        };
        self.say(&conclusion(direction, &checked, &hash, confidence));
        Ok(Some((checked.verification, checked.flag, confidence)))
    }

    /// Builds and runs the revert `commit` until the strategy reads it.
    fn test_revert(
        &mut self,
        strategy: &mut dyn Strategy,
        base: &str,
        commit: &str,
    ) -> Result<Checked, Stop> {
        let reading = self.check_end(strategy, commit, End::Revert, StepKind::Verify, None)?;
        let tested = self.ledger.tested.get(commit);
        let built = tested.is_some_and(|t| t.build.is_ok());
        let runs = self
            .steps
            .iter()
            .find(|s| s.commit == commit)
            .map(|s| s.runs.clone())
            .unwrap_or_default();
        let cause = self.bisection.direction == Direction::Cause;
        let (verdict, flag, passed) = match (reading, cause) {
            _ if !built => ("build-failed", Some("revert-build-failed"), None),
            (EndReading::Clean, true) => ("fixes", Some("revert-fixes"), Some(true)),
            (EndReading::Crashes, true) => {
                ("still-crashes", Some("revert-still-crashes"), Some(false))
            }
            (EndReading::Crashes, false) => ("crashes", Some("revert-crashes"), Some(true)),
            (EndReading::Clean, false) => ("still-fixed", Some("revert-still-fixed"), Some(false)),
            _ => ("unclear", None, None),
        };
        let mut v = verification(base, Some(commit), verdict);
        v.built = built;
        v.runs = runs;
        Ok(Checked {
            verification: v,
            flag,
            passed,
        })
    }
}

fn verification(base: &str, commit: Option<&str>, verdict: &str) -> Verification {
    Verification {
        kind: "revert".into(),
        base: base.to_owned(),
        commit: commit.map(str::to_owned),
        applied: commit.is_some(),
        built: false,
        runs: Vec::new(),
        verdict: verdict.to_owned(),
    }
}

/// What the check means, in plain words.
fn conclusion(direction: Direction, checked: &Checked, hash: &str, confidence: f64) -> String {
    let pct = confidence * 100.0;
    match (direction, checked.verification.verdict.as_str()) {
        (_, "conflicts") => format!("the revert of {hash} does not apply cleanly: not verified"),
        (_, "build-failed") => format!("the revert of {hash} does not build: not verified"),
        (Direction::Cause, "fixes") => {
            format!("reverting {hash} removes the crash: culprit confirmed (confidence {pct:.1}%)")
        }
        (Direction::Cause, "still-crashes") => format!(
            "reverting {hash} does not remove the crash: it may not be the culprit (it may only have made the crash reachable); confidence lowered to {pct:.1}%"
        ),
        (Direction::Fix, "crashes") => {
            format!("reverting {hash} brings the crash back: fix confirmed (confidence {pct:.1}%)")
        }
        (Direction::Fix, "still-fixed") => format!(
            "reverting {hash} does not bring the crash back: it may not be the fix; confidence lowered to {pct:.1}%"
        ),
        _ => format!("the runs of the revert of {hash} tell nothing: not verified"),
    }
}
