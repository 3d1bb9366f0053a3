//! The posterior of a running bisection, kept up to date from the
//! knowledge the engine hands over at each step.

use std::collections::HashMap;

use crate::evidence::{CommitEvidence, Direction, RunClass};
use crate::strategy::{masked, Context};

use super::ancestry::Ancestry;
use super::posterior::{Masses, Posterior};
use super::{HEAVY, NEGLIGIBLE};

/// What the strategy has computed from the knowledge so far.
#[derive(Debug, Clone)]
pub struct State {
    /// Ancestor sets and sums over the graph.
    pub ancestry: Ancestry,
    /// Counts per hypothesis.
    pub posterior: Posterior,
    /// Runs of each commit already folded into the posterior.
    pub seen: Vec<usize>,
    /// Runs of the old end already folded in.
    pub seen_old: usize,
    /// Per evaluated commit: the hypotheses under which it is "new".
    pub new_under: HashMap<u32, Vec<u32>>,
    /// The posterior after the last update.
    pub masses: Masses,
    /// Probability that each commit is "new" (contains the culprit).
    pub new_prob: Vec<f64>,
    /// Cached answers to "can any testable commit tell these apart".
    pub same: HashMap<(u32, u32, usize), bool>,
}

fn informative(runs: &[RunClass]) -> (u32, u32) {
    runs.iter().fold((0, 0), |(k, o), r| match r {
        RunClass::Crash => (k + 1, o),
        RunClass::Ok => (k, o + 1),
        _ => (k, o),
    })
}

/// A commit that cannot be tested: its build failed, most runs could not
/// tell anything, or another crash hides the bug there
/// ([`masked`]).
pub fn untestable(e: Option<&CommitEvidence>) -> bool {
    e.is_some_and(|e| {
        let useless = e.count(RunClass::Infra) + e.count(RunClass::Invalid);
        e.build_failed || (useless >= 3 && useless * 2 > e.runs.len()) || masked(e)
    })
}

/// The chance that the next run at a commit tells something (shows the
/// bug or runs clean) rather than another crash, from the runs made
/// there. One other crash is what any commit may show now and then (an
/// unrelated crash in a few runs of a hundred), so it changes nothing:
/// at a low rate, where a build costs about a run, it would send the
/// search to a new build. From the second on: 1/2 after two and none
/// that told, 1/10 after ten.
pub fn telling(e: Option<&CommitEvidence>) -> f64 {
    e.map_or(1.0, |e| {
        let told = e.count(RunClass::Crash) + e.count(RunClass::Ok);
        let other = e.count(RunClass::OtherCrash);
        if other <= 1 {
            1.0
        } else {
            (told + 1) as f64 / (told + other) as f64
        }
    })
}

impl State {
    /// Nothing known yet about a graph of `n` commits.
    pub fn new(ancestry: Ancestry, posterior: Posterior, n: usize) -> Self {
        State {
            ancestry,
            posterior,
            seen: vec![0; n],
            seen_old: 0,
            new_under: HashMap::new(),
            masses: Masses::default(),
            new_prob: Vec::new(),
            same: HashMap::new(),
        }
    }

    /// Folds the runs not seen yet into the posterior.
    pub fn absorb(&mut self, ctx: &Context<'_>) {
        let n = self.seen.len() as u32;
        let fix = ctx.direction == Direction::Fix;
        let old = &ctx.knowledge.old_end.runs;
        if old.len() > self.seen_old {
            let (k, o) = informative(&old[self.seen_old..]);
            self.posterior.add(&[n], fix, k, o);
            self.seen_old = old.len();
        }
        for i in 0..n {
            let Some(e) = ctx.knowledge.get(i) else {
                continue;
            };
            if e.runs.len() <= self.seen[i as usize] {
                continue;
            }
            let (k, o) = informative(&e.runs[self.seen[i as usize]..]);
            self.seen[i as usize] = e.runs.len();
            if k + o == 0 {
                continue;
            }
            let ancestry = &self.ancestry;
            let under = self.new_under.entry(i).or_insert_with(|| {
                let mut a = ancestry.ancestors(i);
                a.push(n);
                a
            });
            self.posterior.add(under, fix, k, o);
        }
        self.posterior.masses(&mut self.masses);
        let n = n as usize;
        self.ancestry
            .sums(&self.masses.mass[..n], &mut self.new_prob);
        let none = self.masses.mass[n];
        self.new_prob.iter_mut().for_each(|p| *p += none);
    }

    /// Probability that commit `i` shows the crash at all.
    pub fn crash_prob(&self, ctx: &Context<'_>, i: usize) -> f64 {
        match ctx.direction {
            Direction::Cause => self.new_prob[i],
            Direction::Fix => 1.0 - self.new_prob[i],
        }
    }

    /// The commits with the most mass, heaviest first.
    pub fn heavy(&self) -> Vec<u32> {
        let n = self.seen.len();
        let mass = &self.masses.mass;
        let mut h: Vec<u32> = (0..n as u32)
            .filter(|&c| mass[c as usize] > NEGLIGIBLE)
            .collect();
        let heavier = |a: &u32, b: &u32| mass[*b as usize].total_cmp(&mass[*a as usize]);
        if h.len() > HEAVY {
            h.select_nth_unstable_by(HEAVY, heavier);
            h.truncate(HEAVY);
        }
        h.sort_by(heavier);
        h
    }

    /// Whether every testable commit is new under both `a` and `b` or under
    /// neither, so no run can tell the two apart.
    pub fn indistinguishable(
        &mut self,
        ctx: &Context<'_>,
        a: u32,
        b: u32,
        failed: &[bool],
    ) -> bool {
        // Two different culprits differ at one of themselves at least.
        if !failed[a as usize] && !failed[b as usize] {
            return false;
        }
        let key = (a.min(b), a.max(b), failed.iter().filter(|f| **f).count());
        if let Some(&same) = self.same.get(&key) {
            return same;
        }
        let (da, db) = (descendants(ctx, a), descendants(ctx, b));
        let same = (0..failed.len()).all(|x| failed[x] || da[x] == db[x]);
        self.same.insert(key, same);
        same
    }
}

/// Marks commit `c` and its descendants.
fn descendants(ctx: &Context<'_>, c: u32) -> Vec<bool> {
    let mut d = vec![false; ctx.graph.len()];
    d[c as usize] = true;
    for x in c as usize + 1..d.len() {
        d[x] = ctx.graph.parents(x as u32).iter().any(|&p| d[p as usize]);
    }
    d
}
