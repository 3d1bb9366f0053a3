//! The end of a bisection: the culprit with its `git show --stat`, build
//! signatures of the culprit and its parent, flags, times, recipients and
//! the crash; or the remaining candidates.

use culprit_git::{Commit, CommitGraph};

use super::{Engine, Stop};
use crate::event::{AlwaysBad, Event, ParentBuild};
use crate::evidence::RunClass;
use crate::exec::RunOutcome;
use crate::outcome::{
    CommitSummary, Crash, Flag, Outcome, OutcomeKind, Step, StepKind, StepTime, StepVerdict,
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
            Conclusion::Culprit { commit, .. } if self.outside_paths.contains(graph.id(commit)) => {
                Err(Stop::NoSuspects(format!(
                    "the crash came with {}, which changes nothing under --paths {}: no commit under them brought it",
                    graph.id(commit),
                    self.bisection.paths.join(" ")
                )))
            }
            Conclusion::Culprit { commit, confidence } => {
                self.culprit(strategy, graph.id(commit), confidence)
            }
            Conclusion::Inconclusive { candidates } => {
                let hashes: Vec<String> =
                    candidates.iter().map(|&c| graph.id(c).to_owned()).collect();
                self.inconclusive(&hashes)
            }
            Conclusion::NoCulprit { confidence } => Err(Stop::AlwaysBad(AlwaysBad::AtOldEnd {
                olds: olds.to_vec(),
                confidence,
            })),
        }
    }

    pub(super) fn commit_info(&self, hash: &str) -> Result<Commit, Stop> {
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
        let show = self
            .repo
            .show_stat(hash)
            .map_err(|e| Stop::Error(format!("cannot show {hash}: {e}")))?;
        let patch = match self.bisection.show_diff {
            true => Some(
                self.repo
                    .patch(hash)
                    .map_err(|e| Stop::Error(format!("cannot show the patch of {hash}: {e}")))?,
            ),
            false => None,
        };
        self.emit(Event::Culprit {
            direction: self.bisection.direction,
            commit: hash.to_owned(),
            show,
            patch,
        });
        let mut flags = self.flags(&commit)?;
        self.say_title_changes();
        if self.changed_title_only(&commit) {
            flags.push(Flag::TitleChanged);
        }
        let mut confidence = confidence;
        let mut verification = None;
        if self.bisection.verify {
            if let Some(v) = self.verify(strategy, &commit, confidence)? {
                flags.extend(v.flag);
                confidence = v.confidence;
                verification = Some(v.verification);
            }
        }
        self.record_final_confidence(hash, confidence);
        self.say_totals();
        self.emit(Event::Summary {
            direction: self.bisection.direction,
            commit: hash.to_owned(),
            title: commit.title.clone(),
            confidence,
        });
        let recipients = self.exec.recipients(&commit);
        self.emit(Event::Recipients(recipients.clone()));
        let crash = self.crash();
        self.say_crash(&crash);
        let mut outcome = self.base_outcome(OutcomeKind::Culprit);
        outcome.culprit = Some(summary(&commit));
        outcome.flags = flags;
        outcome.confidence = Some(confidence);
        outcome.recipients = recipients;
        outcome.crash = crash;
        outcome.verification = verification;
        outcome.fix_from = self.fix_from_summaries()?;
        Ok(outcome)
    }

    /// After the last step, the culprit is the top suspect at the answer's
    /// confidence (the verification's included): the page's table and
    /// chart end where the result stands.
    fn record_final_confidence(&mut self, culprit: &str, confidence: f64) {
        let Some(last) = self
            .steps
            .iter_mut()
            .rev()
            .find(|s| s.kind != StepKind::Parent)
        else {
            return;
        };
        let already = last
            .suspects
            .first()
            .is_some_and(|s| s.commit == culprit && (s.probability - confidence).abs() < 1e-9);
        if !already {
            last.suspects = vec![crate::outcome::Suspect {
                commit: culprit.to_owned(),
                probability: confidence,
            }];
        }
    }

    /// Where the bug went by another title than at the crashing end: one
    /// line per title, with the newest commit that showed it.
    fn say_title_changes(&mut self) {
        let Some(target) = self.ledger.target.clone() else {
            return;
        };
        let mut seen: Vec<(String, String)> = Vec::new();
        for step in &self.steps {
            let Some(tested) = self.ledger.tested.get(&step.commit) else {
                continue;
            };
            for run in &tested.runs {
                let Some(title) = run.crash_title() else {
                    continue;
                };
                let counted = self.ledger.classify(run) == RunClass::Crash;
                if counted && title != target.as_str() && !seen.iter().any(|(t, _)| *t == title) {
                    seen.push((title.into_owned(), step.commit.clone()));
                }
            }
        }
        for (title, at) in seen {
            self.emit(Event::TitleAlso { title, at });
        }
    }

    /// Whether the culprit only changed the crash: its parent crashes with
    /// another title (not counted as the bug) whose function the culprit's
    /// patch takes away (a renamed function, say).
    fn changed_title_only(&mut self, culprit: &Commit) -> bool {
        let Some(parent) = culprit.parents.first() else {
            return false;
        };
        let Some(tested) = self.ledger.tested.get(parent) else {
            return false;
        };
        let functions: Vec<String> = tested
            .runs
            .iter()
            .filter(|r| self.ledger.classify(r) == RunClass::OtherCrash)
            .filter_map(|r| match r {
                RunOutcome::Crashed { title, .. } => title.rsplit(" in ").next().map(str::to_owned),
                _ => None,
            })
            .filter(|f| !f.is_empty() && !f.contains(' '))
            .collect();
        if functions.is_empty() {
            return false;
        }
        let Ok(patch) = self.repo.patch(&culprit.hash) else {
            return false;
        };
        let removed = |f: &String| {
            patch
                .lines()
                .any(|l| l.starts_with('-') && !l.starts_with("---") && l.contains(f.as_str()))
        };
        let Some(function) = functions.iter().find(|f| removed(f)) else {
            return false;
        };
        self.emit(Event::TitleChangedOnly {
            parent: parent.clone(),
            function: function.clone(),
        });
        true
    }

    /// The commits a merge brought its fix with.
    fn fix_from_summaries(&self) -> Result<Vec<CommitSummary>, Stop> {
        self.fix_from
            .iter()
            .map(|h| self.commit_info(h).map(|c| summary(&c)))
            .collect()
    }

    /// The signatures of the culprit and its parent, and the `noop`,
    /// `merge`, `release` flags.
    fn flags(&mut self, commit: &Commit) -> Result<Vec<Flag>, Stop> {
        let mut flags = Vec::new();
        let kind = self.exec.capabilities().builds;
        let own = self.build_only(&commit.hash)?.ok().map(|b| b.signature);
        if let (Some(own), Some(parent)) = (own, commit.parents.first()) {
            let known = self.steps.iter().any(|s| s.commit == *parent);
            // A parent that changes no file the build reads builds what its
            // own first parent builds: that one is built (or known) instead.
            let same_build = self.same_build_as(parent)?;
            let parent_build = self.build_only(same_build.as_deref().unwrap_or(parent))?;
            if !known {
                self.push_parent_step(parent, &parent_build);
            }
            let parent = match parent_build {
                Ok(p) => {
                    if p.signature == own {
                        flags.push(Flag::Noop);
                    }
                    ParentBuild::Signature(p.signature)
                }
                Err(reason) => ParentBuild::Failed(reason),
            };
            self.emit(Event::Signatures {
                kind,
                own,
                parent,
                parent_same_as: same_build,
            });
        }
        if commit.parents.len() > 1 {
            flags.push(Flag::Merge);
        }
        let tags = self
            .repo
            .release_tags()
            .map_err(|e| Stop::Error(format!("cannot list release tags: {e}")))?;
        if tags.iter().any(|t| t.commit == commit.hash) {
            flags.push(Flag::Release);
        }
        Ok(flags)
    }

    /// The nearest first-parent ancestor of `commit` that may change the
    /// build, when `commit` itself cannot (`None`: `commit` may).
    fn same_build_as(&self, commit: &str) -> Result<Option<String>, Stop> {
        let mut at = commit.to_owned();
        while self.unread_by_build.contains(&at) {
            match self.commit_info(&at)?.parents.first() {
                Some(first) => at = first.clone(),
                None => break,
            }
        }
        Ok((at != commit).then_some(at))
    }

    fn push_parent_step(&mut self, parent: &str, build: &Result<crate::exec::Built, String>) {
        let time = StepTime {
            started: crate::clock::utc_timestamp(std::time::SystemTime::now()),
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
        let mut candidates = Vec::new();
        for hash in hashes {
            let commit = self.commit_info(hash)?;
            candidates.push(CommitSummary {
                hash: hash.clone(),
                title: commit.title,
                author: String::new(),
                date: String::new(),
            });
        }
        self.emit(Event::Inconclusive {
            direction: self.bisection.direction,
            candidates: candidates
                .iter()
                .map(|c| (c.hash.clone(), c.title.clone()))
                .collect(),
        });
        self.say_totals();
        let crash = self.crash();
        self.say_crash(&crash);
        let mut outcome = self.base_outcome(OutcomeKind::Inconclusive);
        outcome.candidates = candidates;
        outcome.crash = crash;
        Ok(outcome)
    }

    /// Tells the revisions tested and the time spent.
    pub(super) fn say_totals(&mut self) {
        self.emit(Event::Totals {
            revisions: self.revisions_tested(),
            time: self.ledger.times,
        });
    }

    /// The crash bisected and one report of it, from the bad end.
    pub(super) fn crash(&self) -> Option<Crash> {
        let target = self.ledger.target.as_ref()?;
        let runs = &self.ledger.tested.get(&self.bisection.bad)?.runs;
        let run = runs
            .iter()
            .find(|r| r.crash_title().as_deref() == Some(target.as_str()))?;
        Some(Crash {
            title: target.clone(),
            report: run.report().unwrap_or_default().to_owned(),
            failed: matches!(run, RunOutcome::Failed { .. }),
        })
    }

    fn say_crash(&mut self, crash: &Option<Crash>) {
        if let Some(crash) = crash {
            self.emit(Event::Crash(crash.clone()));
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
