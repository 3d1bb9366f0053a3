//! The ends of the range: the bad end must crash (its crash becomes the
//! one bisected); the old end is given, found among the releases (cause),
//! or the newer good end must not crash (fix). How many runs an end gets
//! and how it reads is the strategy's call.

use std::collections::HashSet;

use culprit_git::thin_releases;

use super::{Engine, Stop};
use crate::event::{AlwaysBad, Event};
use crate::evidence::Direction;
use crate::exec::RunOutcome;
use crate::outcome::{StepKind, StepVerdict};
use crate::strategy::{End, EndContext, EndReading, EndStep, Strategy};

impl Engine<'_> {
    /// Tests `--bad` until the strategy can read it, taking its most common
    /// crash (or the one asked for) as the crash bisected.
    pub(super) fn check_bad_end(&mut self, strategy: &mut dyn Strategy) -> Result<(), Stop> {
        let bad = self.bisection.bad.clone();
        self.emit(Event::Start {
            direction: self.bisection.direction,
            bad: bad.clone(),
        });
        self.target_follows_bad = true;
        let reading = self.check_end(strategy, &bad, End::Bad, StepKind::Bad, None);
        self.target_follows_bad = false;
        let reading = reading?;
        if let Some(Err(reason)) = self.ledger.tested.get(&bad).map(|t| &t.build) {
            return Err(Stop::Error(format!("cannot build --bad {bad}: {reason}")));
        }
        let runs = self.ledger.tested.get(&bad).map(|t| t.runs.clone());
        let runs = runs.unwrap_or_default();
        let target = match (&self.ledger.target, reading) {
            (Some(target), EndReading::Crashes) => target.clone(),
            (_, EndReading::Infra) => {
                return Err(Stop::Error(format!(
                    "too many infrastructure problems at --bad {bad}"
                )))
            }
            _ => {
                return Err(Stop::Error(match &self.bisection.crash {
                    Some(title) => not_reproduced(title, &bad, &runs),
                    None => format!("crash does not reproduce at --bad {bad}"),
                }))
            }
        };
        let not_runnable = runs
            .iter()
            .any(|r| r.command_not_runnable() && r.crash_title().as_deref() == Some(&target));
        if let Some(asked) = self.bisection.crash.clone().filter(|a| *a != target) {
            let runs = self.ledger.tested.get(&bad).map(|t| t.runs.clone());
            if let Some((_, why)) = self.recognised(&runs.unwrap_or_default(), &asked) {
                self.emit(Event::CrashRecognised {
                    asked,
                    title: target.clone(),
                    why,
                });
            }
        }
        if not_runnable {
            return Err(Stop::Error(format!(
                "the test command could not be run at --bad {bad} ({target}: command not found or not executable)"
            )));
        }
        self.set_step_verdict(&bad, StepVerdict::of_crash(self.bisection.direction, true));
        Ok(())
    }

    /// The old end(s) of the range, after checking the good end.
    pub(super) fn find_old_ends(
        &mut self,
        strategy: &mut dyn Strategy,
    ) -> Result<Vec<String>, Stop> {
        match self.bisection.direction {
            Direction::Cause if self.bisection.good.is_empty() => self.find_good_release(strategy),
            Direction::Cause => self.check_given_goods(strategy),
            Direction::Fix => self.check_fixed_end(strategy),
        }
    }

    /// Cause: each `--good` must not crash (one that cannot be tested is
    /// trusted: the user said it is good).
    fn check_given_goods(&mut self, strategy: &mut dyn Strategy) -> Result<Vec<String>, Stop> {
        for good in self.bisection.good.clone() {
            let reading = self.check_end(strategy, &good, End::Good, StepKind::Good, None)?;
            self.set_step_verdict(&good, cause_verdict(reading));
            if reading == EndReading::Crashes {
                return Err(Stop::AlwaysBad(AlwaysBad::AtGood(good)));
            }
        }
        self.good = self.bisection.good.clone();
        Ok(self.good.clone())
    }

    /// Fix: the newer end must not crash; the old end is `--bad`.
    fn check_fixed_end(&mut self, strategy: &mut dyn Strategy) -> Result<Vec<String>, Stop> {
        let good = self.bisection.good.first().cloned().unwrap_or_default();
        self.good = vec![good.clone()];
        match self.check_end(strategy, &good, End::Fixed, StepKind::Good, None)? {
            EndReading::Clean => self.set_step_verdict(&good, StepVerdict::Fixed),
            EndReading::Crashes => {
                self.set_step_verdict(&good, StepVerdict::Crashing);
                return Err(Stop::AlwaysBad(AlwaysBad::AtGoodEnd(good)));
            }
            _ => return Err(Stop::Error(format!("cannot test the good end {good}"))),
        }
        Ok(vec![self.bisection.bad.clone()])
    }

    /// Tests release tags older than `--bad`, newest first, thinned like
    /// syzbot, until one does not crash.
    fn find_good_release(&mut self, strategy: &mut dyn Strategy) -> Result<Vec<String>, Stop> {
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
            self.emit(Event::TestingRelease {
                name: tag.name.clone(),
            });
            let reading = self.check_end(
                strategy,
                &tag.commit,
                End::Release,
                StepKind::Release,
                Some(&tag.name),
            )?;
            self.set_step_verdict(&tag.commit, cause_verdict(reading));
            match reading {
                EndReading::Clean => {
                    self.good = vec![tag.commit.clone()];
                    return Ok(self.good.clone());
                }
                EndReading::Crashes => oldest_crashing = Some(tag.name.clone()),
                _ => {}
            }
        }
        Err(match oldest_crashing {
            Some(name) => Stop::AlwaysBad(AlwaysBad::OldestRelease(name)),
            None => Stop::Error("no release could be tested".into()),
        })
    }

    /// Runs an end as the strategy asks until it reads it. An end where
    /// infrastructure problems dominate stops the bisection (except the
    /// bad end, whose caller says why).
    pub(super) fn check_end(
        &mut self,
        strategy: &mut dyn Strategy,
        hash: &str,
        end: End,
        kind: StepKind,
        release: Option<&str>,
    ) -> Result<EndReading, Stop> {
        // A strategy that keeps asking for runs that do not come would
        // loop forever.
        let mut idle = 0;
        loop {
            let evidence = self.ledger.evidence(hash);
            let bad_end = self.ledger.evidence(&self.bisection.bad);
            let ctx = EndContext {
                end,
                direction: self.bisection.direction,
                evidence: &evidence,
                bad_end: &bad_end,
                machines: self.capacity.machines.max(1),
            };
            let runs = match strategy.check_end(&ctx) {
                EndStep::Read(EndReading::Infra) if end != End::Bad => {
                    return Err(Stop::Error(format!(
                        "too many infrastructure problems at {hash}"
                    )))
                }
                EndStep::Read(reading) => return Ok(reading),
                EndStep::Run(runs) => runs,
            };
            let before = evidence.runs.len() + usize::from(self.ledger.tested.contains_key(hash));
            self.evaluate(&[(hash.to_owned(), runs)], kind, release)?;
            let after = self.ledger.evidence(hash);
            let now = after.runs.len() + usize::from(self.ledger.tested.contains_key(hash));
            idle = if now == before { idle + 1 } else { 0 };
            if idle > 3 {
                return Err(Stop::Error(format!("no runs could be made at {hash}")));
            }
        }
    }

    /// The crash asked for if some run at the bad end showed it, else the
    /// title most runs there crashed with; with one report of it.
    pub(super) fn bad_end_target(&self) -> Option<(String, String)> {
        let runs = self
            .ledger
            .tested
            .get(&self.bisection.bad)
            .map_or(&[][..], |t| &t.runs);
        let title = match &self.bisection.crash {
            Some(asked) => {
                seen(runs, asked).or_else(|| self.recognised(runs, asked).map(|(t, _)| t))
            }
            None => most_common_title(runs),
        }?;
        let report = runs
            .iter()
            .find(|r| r.crash_title().as_deref() == Some(&title))
            .and_then(|r| r.report());
        Some((title, report.unwrap_or_default().to_owned()))
    }
}

impl Engine<'_> {
    /// The first crash at the bad end that is the one asked for by a title
    /// culprit does not give it (syzbot's), and why.
    fn recognised(&self, runs: &[RunOutcome], asked: &str) -> Option<(String, String)> {
        runs.iter().find_map(|r| {
            let title = r.crash_title()?;
            let why = self
                .ledger
                .recognise(asked, &title, r.report().unwrap_or_default())?;
            Some((title.into_owned(), why))
        })
    }
}

/// The verdict word of a cause bisection's good end or release.
fn cause_verdict(reading: EndReading) -> StepVerdict {
    match reading {
        EndReading::Crashes => StepVerdict::Bad,
        EndReading::Clean => StepVerdict::Good,
        EndReading::Unclear | EndReading::Infra => StepVerdict::Skip,
    }
}

/// `title` if some run crashed with it.
fn seen(runs: &[RunOutcome], title: &str) -> Option<String> {
    let crashed = |r: &RunOutcome| r.crash_title().as_deref() == Some(title);
    runs.iter().any(crashed).then(|| title.to_owned())
}

/// Why the crash asked for is not bisected, naming the crashes seen instead
/// (the title asked for may be misspelt).
fn not_reproduced(title: &str, bad: &str, runs: &[RunOutcome]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for title in runs.iter().filter_map(RunOutcome::crash_title) {
        let quoted = format!("{title:?}");
        if !seen.contains(&quoted) {
            seen.push(quoted);
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
    let mut counts: Vec<(String, usize)> = Vec::new();
    for title in runs.iter().filter_map(RunOutcome::crash_title) {
        match counts.iter_mut().find(|(t, _)| *t == title) {
            Some((_, n)) => *n += 1,
            None => counts.push((title.into_owned(), 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts
        .iter()
        .find(|(_, n)| *n == best)
        .map(|(t, _)| t.clone())
}
