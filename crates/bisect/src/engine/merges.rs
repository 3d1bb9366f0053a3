//! A fix that came in through a merge. The bisection over the ancestry
//! path names the merge; what its merged branch shows decides the answer:
//! - the branch's tip still crashes: the merge itself fixed it;
//! - the branch forked before the bug came in (its fork point does not
//!   crash): the merge is the fix, and the branch's commits are where the
//!   fix came from;
//! - the branch carried the bug: the bisection goes on inside the branch,
//!   from its fork point to its tip, to the commit that fixed it.

use culprit_git::CommitGraph;

use super::{Engine, Stop};
use crate::event::{Event, MergedFix};
use crate::outcome::{StepKind, StepVerdict};
use crate::strategy::{Conclusion, End, EndReading, Strategy};

/// What a merged branch showed.
pub(super) enum Branch {
    /// The branch never had the bug: these commits (newest first) brought
    /// the fix with the merge.
    Merged(Vec<String>),
    /// The branch had the bug: the bisection inside it.
    Inside(Box<Inside>),
}

/// A bisection inside a merged branch.
pub(super) struct Inside {
    pub graph: CommitGraph,
    pub olds: Vec<String>,
    pub conclusion: Conclusion,
    pub strategy: Box<dyn Strategy>,
}

impl Engine<'_> {
    /// When the first fixed commit `fix` of `graph` is a merge of a branch
    /// that does not contain the crashing end, what the branch shows.
    pub(super) fn fix_through_merge(
        &mut self,
        strategy: &mut dyn Strategy,
        graph: &CommitGraph,
        fix: u32,
    ) -> Result<Option<Branch>, Stop> {
        let hash = graph.id(fix).to_owned();
        let commit = self.commit_info(&hash)?;
        let Some((first, sides)) = commit.parents.split_first() else {
            return Ok(None);
        };
        for side in sides {
            if graph.index_of(side).is_some() || *side == self.bisection.bad {
                continue;
            }
            let git = |e: culprit_git::ResolveError| Stop::Error(e.to_string());
            let Some(base) = self.repo.merge_base(first, side).map_err(git)? else {
                continue;
            };
            self.emit(Event::MergedFix(MergedFix::Found {
                merge: hash.clone(),
                side: side.clone(),
                base: base.clone(),
            }));
            if self.crashes_at(strategy, side, End::Fixed)? {
                self.emit(Event::MergedFix(MergedFix::MergeItself));
                return Ok(None);
            }
            if !self.crashes_at(strategy, &base, End::Check)? {
                let commits = self.repo.only_in(side, first).map_err(git)?;
                let titled = commits
                    .iter()
                    .map(|c| Ok((c.clone(), self.title_of(c)?)))
                    .collect::<Result<Vec<_>, Stop>>()?;
                self.emit(Event::MergedFix(MergedFix::FromBranch {
                    base: base.clone(),
                    commits: titled,
                }));
                return Ok(Some(Branch::Merged(commits)));
            }
            self.emit(Event::MergedFix(MergedFix::Inside));
            let inside = CommitGraph::load_ancestry_path(self.repo, side, &base)
                .map_err(|e| Stop::Error(format!("cannot load the branch: {e}")))?;
            let olds = vec![base];
            self.start_range(&inside, side, &olds);
            let mut inner = strategy.fresh();
            let conclusion = self.strategy_loop(inner.as_mut(), &inside)?;
            return Ok(Some(Branch::Inside(Box::new(Inside {
                graph: inside,
                olds,
                conclusion,
                strategy: inner,
            }))));
        }
        Ok(None)
    }

    /// Whether `hash` crashes, read as the strategy reads `end`.
    fn crashes_at(
        &mut self,
        strategy: &mut dyn Strategy,
        hash: &str,
        end: End,
    ) -> Result<bool, Stop> {
        let reading = self.check_end(strategy, hash, end, StepKind::Bisect, None)?;
        let crashes = reading == EndReading::Crashes;
        let verdict = match reading {
            EndReading::Crashes | EndReading::Clean => {
                StepVerdict::of_crash(self.bisection.direction, crashes)
            }
            _ => StepVerdict::Skip,
        };
        self.set_step_verdict(hash, verdict);
        Ok(crashes)
    }
}
