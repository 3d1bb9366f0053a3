//! The end of a bisection: the culprit with its `git show --stat`, build
//! signatures of the culprit and its parent, flags, times, recipients and
//! the crash; or the remaining candidates.

use std::time::Duration;

use culprit_git::{Commit, CommitGraph};

use super::{Engine, Stop};
use crate::evidence::Direction;
use crate::exec::RunOutcome;
use crate::format::{go_duration, go_quoted_list};
use crate::outcome::{
    CommitSummary, Crash, Outcome, OutcomeKind, Step, StepKind, StepTime, StepVerdict,
};
use crate::strategy::{Conclusion, Strategy};

impl Engine<'_> {
    pub(super) fn finish(
        &mut self,
        strategy: &mut dyn Strategy,
        graph: &CommitGraph,
        olds: &[String],
        conclusion: Conclusion,
    ) -> Result<Outcome, Stop> {
        let outside = match &conclusion {
            Conclusion::Culprit { commit, .. } => vec![*commit],
            Conclusion::Inconclusive { candidates } => candidates.clone(),
            Conclusion::NoCulprit { .. } => Vec::new(),
        };
        if let Some(bad) = outside.iter().find(|&&c| c as usize >= graph.len()) {
            return Err(Stop::Error(format!(
                "strategy named commit #{bad} outside the range"
            )));
        }
        match conclusion {
            Conclusion::Culprit { commit, confidence } => {
                self.culprit(strategy, graph.id(commit), confidence)
            }
            Conclusion::Inconclusive { candidates } => {
                let hashes: Vec<String> =
                    candidates.iter().map(|&c| graph.id(c).to_owned()).collect();
                self.inconclusive(&hashes)
            }
            Conclusion::NoCulprit { confidence } => Err(Stop::AlwaysBad(format!(
                "the crash seems to happen at the old end {} too (confidence {confidence:.2})",
                olds.join(" ")
            ))),
        }
    }

    fn first_word(&self) -> &'static str {
        match self.bisection.direction {
            Direction::Cause => "bad",
            Direction::Fix => "fixed",
        }
    }

    fn commit_info(&self, hash: &str) -> Result<Commit, Stop> {
        self.repo
            .commit(hash)
            .map_err(|e| Stop::Error(format!("cannot read commit {hash}: {e}")))
    }

    fn culprit(
        &mut self,
        strategy: &mut dyn Strategy,
        hash: &str,
        confidence: f64,
    ) -> Result<Outcome, Stop> {
        let commit = self.commit_info(hash)?;
        let word = self.first_word();
        self.say(&format!("{hash} is the first {word} commit"));
        let show = self
            .repo
            .show_stat(hash)
            .map_err(|e| Stop::Error(format!("cannot show {hash}: {e}")))?;
        self.say(show.trim_end());
        if self.bisection.show_diff {
            let patch = self
                .repo
                .patch(hash)
                .map_err(|e| Stop::Error(format!("cannot show the patch of {hash}: {e}")))?;
            self.say("");
            self.say(patch.trim_end());
        }
        self.say("");
        let mut flags = self.flags(&commit)?;
        let mut confidence = confidence;
        let mut verification = None;
        if self.bisection.verify {
            if let Some((v, flag, c)) = self.verify(strategy, &commit, confidence)? {
                flags.extend(flag.map(str::to_owned));
                confidence = c;
                verification = Some(v);
            }
        }
        self.say_totals();
        self.say(&format!(
            "first {word} commit: {hash} {} (confidence {:.1}%)",
            commit.title,
            confidence * 100.0
        ));
        let recipients = self.exec.recipients(&commit);
        self.say(&format!(
            "recipients (to): {}",
            go_quoted_list(&recipients.to)
        ));
        self.say(&format!(
            "recipients (cc): {}",
            go_quoted_list(&recipients.cc)
        ));
        let crash = self.crash();
        self.say_crash(&crash);
        let mut outcome = self.base_outcome(OutcomeKind::Culprit);
        outcome.culprit = Some(summary(&commit));
        outcome.flags = flags;
        outcome.confidence = Some(confidence);
        outcome.recipients = recipients;
        outcome.crash = crash;
        outcome.verification = verification;
        Ok(outcome)
    }

    /// Signature lines and the `noop`, `merge`, `release` flags.
    fn flags(&mut self, commit: &Commit) -> Result<Vec<String>, Stop> {
        let mut flags = Vec::new();
        let kind = self.exec.kind();
        let own = self.build_only(&commit.hash)?.ok().map(|b| b.signature);
        if let (Some(own), Some(parent)) = (own, commit.parents.first()) {
            self.say(&format!("culprit signature: {own}"));
            let known = self.steps.iter().any(|s| s.commit == *parent);
            let parent_build = self.build_only(parent)?;
            if !known {
                self.push_parent_step(parent, &parent_build);
            }
            match parent_build {
                Ok(p) => {
                    self.say(&format!("parent  signature: {}", p.signature));
                    if p.signature == own {
                        flags.push("noop".into());
                        self.say(&format!("the culprit does not change the {kind}: its signature equals its parent's"));
                    }
                }
                Err(reason) => {
                    self.say(&format!("parent  signature: none (build failed: {reason})"))
                }
            }
        }
        if commit.parents.len() > 1 {
            flags.push("merge".into());
        }
        let tags = self
            .repo
            .release_tags()
            .map_err(|e| Stop::Error(format!("cannot list release tags: {e}")))?;
        if tags.iter().any(|t| t.commit == commit.hash) {
            flags.push("release".into());
        }
        Ok(flags)
    }

    fn push_parent_step(&mut self, parent: &str, build: &Result<crate::exec::Built, String>) {
        let time = StepTime {
            started: crate::format::utc_timestamp(std::time::SystemTime::now()),
            build: self.ledger.tested.get(parent).map_or(0.0, |t| t.build_secs),
            test: 0.0,
        };
        self.steps.push(Step {
            commit: parent.to_owned(),
            title: self.title_of(parent).unwrap_or_default(),
            time,
            kind: StepKind::Parent,
            release: None,
            verdict: StepVerdict::Untested,
            signature: build.as_ref().ok().map(|b| b.signature.clone()),
            build_failure: build.as_ref().err().cloned(),
            reused_from: None,
            runs: Vec::new(),
            suspects: Vec::new(),
        });
    }

    fn inconclusive(&mut self, hashes: &[String]) -> Result<Outcome, Stop> {
        self.say("There are only 'skip'ped commits left to test.");
        self.say(&format!(
            "The first {} commit could be any of:",
            self.first_word()
        ));
        let mut candidates = Vec::new();
        for hash in hashes {
            let commit = self.commit_info(hash)?;
            self.say(&format!("{hash} {}", commit.title));
            candidates.push(CommitSummary {
                hash: hash.clone(),
                title: commit.title,
                author: String::new(),
                date: String::new(),
            });
        }
        self.say("We cannot bisect more!");
        self.say_totals();
        let crash = self.crash();
        self.say_crash(&crash);
        let mut outcome = self.base_outcome(OutcomeKind::Inconclusive);
        outcome.candidates = candidates;
        outcome.crash = crash;
        Ok(outcome)
    }

    /// `revisions tested: N, total time: T (build: B, test: X)`.
    pub(super) fn say_totals(&mut self) {
        let d = |secs: f64| go_duration(Duration::from_secs_f64(secs.max(0.0)));
        let t = self.ledger.times;
        let line = format!(
            "revisions tested: {}, total time: {} (build: {}, test: {})",
            self.revisions_tested(),
            d(t.total),
            d(t.build),
            d(t.test)
        );
        self.say(&line);
    }

    /// The crash bisected and one report of it, from the bad end.
    pub(super) fn crash(&self) -> Option<Crash> {
        let target = self.ledger.target.as_ref()?;
        let runs = &self.ledger.tested.get(&self.bisection.bad)?.runs;
        runs.iter().find_map(|r| match r {
            RunOutcome::Crashed { title, report } if title == target => Some(Crash {
                title: title.clone(),
                report: report.clone(),
            }),
            _ => None,
        })
    }

    fn say_crash(&mut self, crash: &Option<Crash>) {
        if let Some(crash) = crash {
            self.say(&format!("crash: {}", crash.title));
            self.say(crash.report.trim_end());
        }
    }
}

fn summary(commit: &Commit) -> CommitSummary {
    CommitSummary {
        hash: commit.hash.clone(),
        title: commit.title.clone(),
        author: format!("{} <{}>", commit.author_name, commit.author_email),
        date: commit.date.clone(),
    }
}
