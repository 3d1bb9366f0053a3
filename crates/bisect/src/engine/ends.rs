//! The ends of the range: the bad end must crash (its crash becomes the
//! one bisected); the old end is given, found among the releases (cause),
//! or the newer good end must not crash (fix).

use std::collections::HashSet;

use culprit_git::thin_releases;

use super::{Engine, Stop};
use crate::evidence::{CommitEvidence, Direction, RunClass};
use crate::exec::RunOutcome;
use crate::strategy::classic::{read, Reading};

impl Engine<'_> {
    /// Tests `--bad` and takes its most common crash title as the target.
    pub(super) fn check_bad_end(&mut self) -> Result<(), Stop> {
        let bad = self.bisection.bad.clone();
        let what = match self.bisection.direction {
            Direction::Cause => "cause",
            Direction::Fix => "fixing",
        };
        self.say(&format!("bisecting {what} commit starting from {bad}"));
        let from = self.build_and_run(&bad, self.bisection.runs)?;
        let tested = &self.tested[&bad];
        if let Err(reason) = &tested.build {
            let reason = reason.clone();
            self.push_step(&bad, "bad", None, from);
            return Err(Stop::Error(format!("cannot build --bad {bad}: {reason}")));
        }
        self.target = match &self.bisection.crash {
            Some(title) => seen(&tested.runs, title),
            None => most_common_title(&tested.runs),
        };
        self.log_runs(&bad, from);
        self.push_step(&bad, "bad", None, from);
        let Some(target) = self.target.clone() else {
            return Err(Stop::Error(match &self.bisection.crash {
                Some(title) => not_reproduced(title, &bad, &self.tested[&bad].runs),
                None => format!("crash does not reproduce at --bad {bad}"),
            }));
        };
        if target == "exit status 126" || target == "exit status 127" {
            return Err(Stop::Error(format!(
                "the test command could not be run at --bad {bad} ({target}: command not found or not executable)"
            )));
        }
        let word = match self.bisection.direction {
            Direction::Cause => "bad",
            Direction::Fix => "crashing",
        };
        self.set_step_verdict(&bad, word);
        Ok(())
    }

    /// The old end(s) of the range, after checking the good end.
    pub(super) fn find_old_ends(&mut self) -> Result<Vec<String>, Stop> {
        match self.bisection.direction {
            Direction::Cause if self.bisection.good.is_empty() => self.find_good_release(),
            Direction::Cause => self.check_given_goods(),
            Direction::Fix => self.check_fixed_end(),
        }
    }

    /// Cause: each `--good` must not crash (one that cannot be tested is
    /// trusted: the user said it is good).
    fn check_given_goods(&mut self) -> Result<Vec<String>, Stop> {
        for good in self.bisection.good.clone() {
            let reading = self.test_end(&good, "good", None)?;
            let word = match reading {
                Reading::Crashing => "bad",
                Reading::Clean => "good",
                _ => "skip",
            };
            self.set_step_verdict(&good, word);
            if reading == Reading::Crashing {
                return Err(Stop::AlwaysBad(format!(
                    "the crash happens at --good {good}"
                )));
            }
        }
        self.good = self.bisection.good.clone();
        Ok(self.good.clone())
    }

    /// Fix: the newer end must not crash; the old end is `--bad`.
    fn check_fixed_end(&mut self) -> Result<Vec<String>, Stop> {
        let good = self.bisection.good.first().cloned().unwrap_or_default();
        self.good = vec![good.clone()];
        match self.test_end(&good, "good", None)? {
            Reading::Clean => self.set_step_verdict(&good, "fixed"),
            Reading::Crashing => {
                self.set_step_verdict(&good, "crashing");
                let why = format!("the crash still happens at the good end {good}");
                return Err(Stop::AlwaysBad(why));
            }
            _ => return Err(Stop::Error(format!("cannot test the good end {good}"))),
        }
        Ok(vec![self.bisection.bad.clone()])
    }

    /// Tests release tags older than `--bad`, newest first, thinned like
    /// syzbot, until one does not crash.
    fn find_good_release(&mut self) -> Result<Vec<String>, Stop> {
        let bad = self.bisection.bad.clone();
        let tags = self
            .repo
            .release_tags_before(&bad)
            .map_err(|e| Stop::Error(format!("cannot list release tags: {e}")))?;
        let releases = thin_releases(&tags);
        if releases.is_empty() {
            return Err(Stop::Error(format!(
                "no release tag is older than --bad {bad}; give --good"
            )));
        }
        let mut oldest_crashing = None;
        let mut seen = HashSet::new();
        for tag in releases {
            if !seen.insert(tag.commit.clone()) {
                continue;
            }
            self.say(&format!("testing release {}", tag.name));
            match self.test_end(&tag.commit, "release", Some(&tag.name))? {
                Reading::Clean => {
                    self.set_step_verdict(&tag.commit, "good");
                    self.good = vec![tag.commit.clone()];
                    return Ok(self.good.clone());
                }
                Reading::Crashing => {
                    self.set_step_verdict(&tag.commit, "bad");
                    oldest_crashing = Some(tag.name.clone());
                }
                _ => self.set_step_verdict(&tag.commit, "skip"),
            }
        }
        Err(match oldest_crashing {
            Some(name) => Stop::AlwaysBad(format!(
                "the crash happens on the oldest tested release {name}"
            )),
            None => Stop::Error("no release could be tested".into()),
        })
    }

    /// Tests an end and reads it with syzbot's thresholds.
    fn test_end(&mut self, hash: &str, kind: &str, release: Option<&str>) -> Result<Reading, Stop> {
        let runs = self.end_runs();
        self.test_commit(hash, runs, kind, release)?;
        let tested = &self.tested[hash];
        let evidence = self.evidence(tested);
        match read(&evidence, runs, self.bisection.runs) {
            Reading::Infra => Err(Stop::Error(format!(
                "too many infrastructure problems at {hash}"
            ))),
            reading => Ok(reading),
        }
    }

    /// Runs per end: doubled when the bad end showed a flaky reproducer.
    fn end_runs(&self) -> u32 {
        let base = self.bisection.runs;
        let flaky = self.tested.get(&self.bisection.bad).is_some_and(|t| {
            let e: CommitEvidence = self.evidence(t);
            e.count(RunClass::Crash) * 2 < e.runs.len()
        });
        if flaky {
            base * 2
        } else {
            base
        }
    }

    pub(super) fn set_step_verdict(&mut self, hash: &str, word: &str) {
        if let Some(step) = self.steps.iter_mut().rev().find(|s| s.commit == hash) {
            step.verdict = word.to_owned();
        }
    }
}

/// `title` if some run crashed with it.
fn seen(runs: &[RunOutcome], title: &str) -> Option<String> {
    let crashed = |r: &RunOutcome| matches!(r, RunOutcome::Crashed { title: t, .. } if t == title);
    runs.iter().any(crashed).then(|| title.to_owned())
}

/// Why the crash asked for is not bisected, naming the crashes seen instead
/// (the title asked for may be misspelt).
fn not_reproduced(title: &str, bad: &str, runs: &[RunOutcome]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for run in runs {
        if let RunOutcome::Crashed { title, .. } = run {
            let quoted = format!("{title:?}");
            if !seen.contains(&quoted) {
                seen.push(quoted);
            }
        }
    }
    let mut text = format!("crash {title:?} does not reproduce at --bad {bad}");
    if !seen.is_empty() {
        text.push_str(&format!(" (its runs crashed with {})", seen.join(", ")));
    }
    text
}

/// The title that most runs crashed with (the earliest on a tie).
fn most_common_title(runs: &[RunOutcome]) -> Option<String> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for run in runs {
        if let RunOutcome::Crashed { title, .. } = run {
            match counts.iter_mut().find(|(t, _)| t == title) {
                Some((_, n)) => *n += 1,
                None => counts.push((title, 1)),
            }
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts
        .iter()
        .find(|(_, n)| *n == best)
        .map(|(t, _)| t.to_string())
}
