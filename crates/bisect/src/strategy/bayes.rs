//! Flake-aware Bayesian bisection (`--strategy bayes`).
//!
//! The strategy keeps a probability for every suspect commit being the
//! culprit, plus one for "no culprit in the range" (the crash predates the
//! old end), jointly with the per-run reproduction rate on a grid, so the
//! rate is learned from the runs instead of assumed. Each run updates it:
//! a target crash on a commit is near-proof that the commit crashes, a clean
//! run only makes it less likely by the factor `1 - r`; other crashes,
//! invalid runs and infrastructure problems carry no information.
//!
//! The ends: the crashing end runs until it crashes, or until so many clean
//! runs that its rate is surely below `min_rate` (`--min-rate`: the bug
//! does not reproduce at any rate worth bisecting); every other end runs
//! once, and gets more runs later only when they teach something. Before
//! bisecting it runs the crashing end until it crashed three times (or
//! twelve runs), as clean runs elsewhere mean little until the rate is
//! roughly known; with a reliable test that costs two runs. Then each
//! step weighs the information one run would give (about which hypothesis
//! is true) against its cost: a run at a built commit (or at the old end)
//! costs one, a new build `build_cost` times the squared rate, spread over
//! the runs a verdict typically needs at that rate, at most two runs, and
//! nothing where the engine measured builds at under half a run. A new
//! build goes to the commit whose probability of containing the culprit
//! is closest to one half (git's choice, over the commit graph with its
//! merges; where builds are free, where one run teaches most); a rerun
//! goes to the built commit where a run teaches most. So the number of runs
//! at a commit follows from what they teach: one at a time while the
//! verdict is uncertain (one per test machine when there are several),
//! none once it is sure. With `k` free builders it evaluates `k` commits at
//! the quantiles `1/(k+1) .. k/(k+1)`.
//!
//! A commit whose runs keep showing another crash is dearer to run by the
//! runs it takes to tell anything there, and after
//! [`super::OTHER_CRASH_LIMIT`] such runs it is a skip, as a commit that
//! fails to build. A rate learned from earlier bisections of the same
//! reproducer ([`Bayes::with_rate_prior`]) weighs the rate grid before
//! the first run.
//!
//! It stops when the most likely hypothesis reaches the target confidence,
//! after checking that the culprit itself showed the crash (cause) or ran
//! clean (fix) and that its parents are surely old. Commits that no
//! testable commit can tell apart from the top one (failed builds between
//! them) are reported together as inconclusive candidates.

mod ancestry;
mod gain;
mod posterior;
mod state;

use crate::evidence::{Direction, RunClass};

use self::ancestry::Ancestry;
use self::gain::Gain;
use self::posterior::Posterior;
use self::state::{telling, untestable, State};
use super::{
    Conclusion, Context, End, EndContext, EndReading, EndStep, NextStep, Request, Strategy, Verdict,
};

/// The default of [`Bayes::min_rate`] (`--min-rate`).
pub const DEFAULT_MIN_RATE: f64 = 0.1;

/// The default of [`Bayes::reliable_prior`]: the prior probability that
/// the reproducer crashes on every run. Below one half, so that a flaky
/// reproducer whose first crashes came in a row is not taken for a
/// reliable one, and its clean runs at commits with the bug for proof
/// (BENCHMARKS.md, "Accuracy first").
pub const DEFAULT_RELIABLE_PRIOR: f64 = 0.4;

/// Hypotheses lighter than this are never reported as candidates.
const NEGLIGIBLE: f64 = 1e-6;
/// At most this many hypotheses are compared when looking for commits that
/// no testable commit can tell apart.
const HEAVY: usize = 32;
/// A new build never costs more than this many runs. With a reliable
/// reproducer one run settles a verdict once the rate is known, and the
/// rate becomes known as the bisection goes on (every fresh commit that
/// crashes at its first run says so): a dearer build buys reruns whose
/// doubt later runs elsewhere would have removed for free.
const MAX_BUILD_COST: f64 = 2.0;
/// Builds measured to cost less than this many runs count as free: a
/// bisection's path then does not hang on timing noise (a build of a
/// quarter of a run and one of a third are both "free"), and builds this
/// quick teach more at new commits than they save by reruns.
const CHEAP_BUILD: f64 = 0.5;
/// At an estimated rate at least this high, one run usually settles a
/// commit: a new commit gets one run even with test machines to spare.
const SURE_IN_ONE_RUN: f64 = 0.9;
/// Below this the top hypothesis, even with the commits no run can tell
/// from it, is far from any useful target.
const MAYBE_DONE: f64 = 0.25;

/// What earlier bisections of the same reproducer saw of its rate: at the
/// commits that had the bug, how many runs showed the crash bisected, of
/// how many that told anything (crashed or ran clean).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatePrior {
    /// Runs that showed the crash.
    pub crashes: u32,
    /// Runs that crashed or ran clean (at least `crashes`).
    pub runs: u32,
}

/// A learned rate never weighs more than this many runs made here: the
/// reproducer may behave otherwise on this bisection's commits or
/// machines, and this bisection's own runs must be able to say so.
pub const RATE_PRIOR_RUNS: f64 = 40.0;

/// The default of [`Bayes::rate_prior_weight`].
pub const RATE_PRIOR_WEIGHT: f64 = 0.5;

/// The Bayesian strategy and its tuning.
#[derive(Debug, Clone)]
pub struct Bayes {
    /// Stop when the top hypothesis reaches this probability.
    pub target_confidence: f64,
    /// What one build costs, counted in test runs, with a reproducer that
    /// always crashes; it is scaled by the square of the rate (see
    /// [`Bayes::new_build_cost`]).
    pub build_cost: f64,
    /// A new build never costs more than this many runs.
    pub max_build_cost: f64,
    /// The culprit's parents must be surely old to `1 - target_confidence`
    /// divided by this.
    pub parent_margin: f64,
    /// The top hypothesis must reach `1 - (1 - target_confidence)` divided
    /// by this. The posterior's doubt rests on an estimated rate: asking
    /// for a third of the allowed doubt keeps the measured accuracy above
    /// the target rather than on it (BENCHMARKS.md).
    pub stop_margin: f64,
    /// Prior probability that the culprit is not in the range at all.
    pub no_culprit_prior: f64,
    /// Prior probability that the reproducer crashes on every run.
    pub reliable_prior: f64,
    /// Chance that a commit without the bug shows the target crash anyway.
    pub false_positive: f64,
    /// Before bisecting, run the new end until it crashed this many times...
    pub calibration_crashes: usize,
    /// ... or ran this many times.
    pub calibration_runs: usize,
    /// Give up (inconclusive) after this many runs in total.
    pub max_runs: usize,
    /// The lowest reproduction rate worth bisecting: the bad end runs
    /// until it crashes, or until `target_confidence` says its rate is
    /// below this.
    pub min_rate: f64,
    /// The rate learned from earlier bisections of the same reproducer.
    pub rate_prior: Option<RatePrior>,
    /// What one learned run weighs against one made here: a rate
    /// estimated from a few runs elsewhere must not make this bisection
    /// trust its clean runs more than its own runs would.
    pub rate_prior_weight: f64,
    state: Option<State>,
}

impl Default for Bayes {
    fn default() -> Self {
        Bayes::new(super::DEFAULT_CONFIDENCE)
    }
}

impl Bayes {
    /// A Bayesian strategy stopping at `target_confidence`.
    pub fn new(target_confidence: f64) -> Self {
        Bayes {
            target_confidence: target_confidence.clamp(0.5, 0.999_999),
            build_cost: 240.0,
            max_build_cost: MAX_BUILD_COST,
            parent_margin: 1.0,
            stop_margin: 3.0,
            no_culprit_prior: 0.05,
            reliable_prior: DEFAULT_RELIABLE_PRIOR,
            false_positive: 1e-3,
            calibration_crashes: 3,
            calibration_runs: 12,
            max_runs: 5000,
            min_rate: DEFAULT_MIN_RATE,
            rate_prior: None,
            rate_prior_weight: RATE_PRIOR_WEIGHT,
            state: None,
        }
    }

    /// The same strategy starting from the rate that earlier bisections of
    /// the same reproducer saw (each of their runs weighs
    /// [`Bayes::rate_prior_weight`] of a run made here, and at most
    /// [`RATE_PRIOR_RUNS`] of them count): it calibrates less at the bad
    /// end and trusts clean runs as that rate says. Counts that tell
    /// nothing (no runs) are ignored.
    pub fn with_rate_prior(mut self, prior: RatePrior) -> Self {
        self.rate_prior = (prior.runs > 0).then_some(RatePrior {
            crashes: prior.crashes.min(prior.runs),
            runs: prior.runs,
        });
        self
    }

    /// The learned crashes and clean runs, scaled down to at most
    /// [`RATE_PRIOR_RUNS`] runs, then by [`Bayes::rate_prior_weight`].
    fn learned(&self) -> Option<(f64, f64)> {
        let p = self.rate_prior?;
        let weight = self.rate_prior_weight.clamp(0.0, 1.0);
        let scale = (RATE_PRIOR_RUNS / p.runs as f64).min(1.0) * weight;
        let crashes = p.crashes as f64 * scale;
        Some((crashes, p.runs as f64 * scale - crashes))
    }

    /// The same strategy giving up on a bad end that does not crash once
    /// the evidence says its rate is below `min_rate`.
    pub fn with_min_rate(mut self, min_rate: f64) -> Self {
        self.min_rate = min_rate.clamp(1e-3, 1.0);
        self
    }

    /// Whether `cleans` clean runs in a row make a commit surely free of
    /// the crash, at the rate the bisection learned (the top hypothesis's):
    /// a commit with the crash would have shown it by now.
    fn surely_clean(&self, ctx: &EndContext<'_>, cleans: usize) -> bool {
        let doubt = (1.0 - self.target_confidence) / self.stop_margin;
        let n = cleans as u32;
        let chance = match &self.state {
            Some(s) => {
                let top = (0..s.masses.mass.len())
                    .max_by(|a, b| s.masses.mass[*a].total_cmp(&s.masses.mass[*b]))
                    .unwrap_or(0);
                s.posterior.clean_streak_chance(top, n)
            }
            // No bisection to learn from: the crashing end's own runs.
            None => {
                let bad = ctx.bad_end;
                let crashes = bad.count(RunClass::Crash) as f64;
                let rate = (crashes + 1.0) / (bad.runs.len() as f64 + 2.0);
                (1.0 - rate.max(self.min_rate)).powi(n as i32)
            }
        };
        chance <= doubt
    }

    /// Clean runs after which the bad end is declared not to reproduce:
    /// a bug that shows at least `min_rate` of the time would have shown
    /// in them with probability `target_confidence`.
    pub fn bad_end_limit(&self) -> u32 {
        let runs = (1.0 - self.target_confidence).ln() / (1.0 - self.min_rate).max(1e-9).ln();
        runs.ceil().clamp(1.0, 100_000.0) as u32
    }

    fn state(&mut self, ctx: &Context<'_>) -> &mut State {
        let n = ctx.graph.len();
        if self.state.as_ref().is_some_and(|s| s.seen.len() != n) {
            self.state = None;
        }
        let (no_culprit, reliable, eps, min_rate) = (
            self.no_culprit_prior,
            self.reliable_prior,
            self.false_positive,
            self.min_rate,
        );
        let learned = self.learned();
        self.state.get_or_insert_with(|| {
            let mut posterior = Posterior::new(n, no_culprit, reliable, eps, min_rate);
            if let Some((crashes, cleans)) = learned {
                posterior.learn_rate(crashes, cleans);
            }
            State::new(Ancestry::new(ctx.graph), posterior, n)
        })
    }
}

impl Bayes {
    /// The conclusion, a verification run, or `None` to keep bisecting.
    fn conclude(&mut self, ctx: &Context<'_>) -> Option<NextStep> {
        let target = 1.0 - (1.0 - self.target_confidence) / self.stop_margin;
        let n = ctx.graph.len();
        let s = self.state.as_mut()?;
        let mass = &s.masses.mass;
        let top = (0..=n).max_by(|a, b| mass[*a].total_cmp(&mass[*b]))?;
        if top == n {
            return (mass[n] >= target).then_some(NextStep::Done(Conclusion::NoCulprit {
                confidence: mass[n],
            }));
        }
        if mass[top] < MAYBE_DONE {
            return None;
        }
        let top = top as u32;
        let failed: Vec<bool> = (0..n as u32)
            .map(|i| untestable(ctx.knowledge.get(i)))
            .collect();
        let mut class = vec![top];
        for c in s.heavy() {
            if c != top && s.indistinguishable(ctx, top, c, &failed) {
                class.push(c);
            }
        }
        let mass = &s.masses.mass;
        let class_mass: f64 = class.iter().map(|&c| mass[c as usize]).sum();
        if class_mass < target {
            return None;
        }
        if class.len() > 1 {
            class.sort();
            return Some(NextStep::Done(Conclusion::Inconclusive {
                candidates: class,
            }));
        }
        if let Some(commit) = self.unverified(ctx, top, &failed) {
            return Some(NextStep::Evaluate(vec![Request { commit, runs: 1 }]));
        }
        let confidence = self
            .state
            .as_ref()
            .map_or(0.0, |s| s.masses.mass[top as usize]);
        Some(NextStep::Done(Conclusion::Culprit {
            commit: top,
            confidence,
        }))
    }

    /// A commit next to the culprit that still needs a run: the culprit
    /// itself until it showed its "new" behaviour once, or a parent that is
    /// not yet surely old.
    fn unverified(&self, ctx: &Context<'_>, culprit: u32, failed: &[bool]) -> Option<u32> {
        let s = self.state.as_ref()?;
        let wanted = match ctx.direction {
            Direction::Cause => RunClass::Crash,
            Direction::Fix => RunClass::Ok,
        };
        let seen = ctx
            .knowledge
            .get(culprit)
            .is_some_and(|e| e.count(wanted) > 0);
        if !seen && !failed[culprit as usize] {
            return Some(culprit);
        }
        // When the search stops, nearly all the doubt left sits on the
        // parent side (a crash at the culprit rules out everything after
        // it): each parent must be surely old on its own.
        let limit = (1.0 - self.target_confidence) / self.parent_margin;
        ctx.graph
            .parents(culprit)
            .iter()
            .copied()
            .find(|&p| !failed[p as usize] && s.new_prob[p as usize] > limit)
    }

    /// The most informative commits to evaluate next.
    fn choose(&self, ctx: &Context<'_>) -> Vec<Request> {
        let Some(s) = self.state.as_ref() else {
            return Vec::new();
        };
        let k = ctx.parallelism.max(1);
        if k > 1 {
            return self.quantiles(ctx, k);
        }
        let gain = Gain::new(s.masses.rate, self.false_positive);
        let cheap = ctx.build_cost.is_some_and(|runs| runs < CHEAP_BUILD);
        let build_cost = self.new_build_cost(s.masses.rate, cheap);
        // Since the gain is concave in q, the best built commit is the
        // nearest one on either side of the best q. A new build should
        // split the suspects evenly where builds cost more than runs; where
        // they cost next to nothing, it goes where a run teaches most, as a
        // rerun does.
        let split = if cheap { gain.best_q() } else { 0.5 };
        let best = [split, gain.best_q()];
        let mut near: [[Option<(u32, f64)>; 2]; 2] = [[None; 2]; 2];
        for i in 0..ctx.graph.len() {
            let e = ctx.knowledge.get(i as u32);
            let q = s.crash_prob(ctx, i);
            if !(1e-12..=1.0 - 1e-12).contains(&q) || untestable(e) {
                continue;
            }
            let best = best[e.is_some() as usize];
            let slot = &mut near[e.is_some() as usize][(q > best) as usize];
            if slot.is_none_or(|(_, b)| (q - best).abs() < (b - best).abs()) {
                *slot = Some((i as u32, q));
            }
        }
        // A run at a commit where another crash keeps showing is dearer by
        // the runs it takes to tell anything.
        let cost = |i: u32, built: usize| {
            let telling = telling(ctx.knowledge.get(i));
            [build_cost, 1.0][built] / telling
        };
        let scored = (0..2).flat_map(|built| {
            near[built]
                .iter()
                .flatten()
                .map(move |&(i, q)| (i, q, cost(i, built)))
        });
        // The old end is built too: it crashes only if there is no culprit
        // in the range (a cause bisection's first commit needs it told).
        let n = ctx.graph.len();
        let old_end = (ctx.direction == Direction::Cause && !ctx.knowledge.old_end.build_failed)
            .then(|| (n as u32, s.masses.mass[n], 1.0));
        scored
            .chain(old_end)
            .map(|(i, q, c)| (i, gain.at(q) / c))
            .filter(|c| c.1 > 1e-12)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(commit, _)| {
                let built = commit as usize == n || ctx.knowledge.get(commit).is_some();
                vec![Request {
                    commit,
                    runs: self.batch(ctx, built),
                }]
            })
            .unwrap_or_default()
    }

    /// Runs to ask for at once: one, or every test machine when more
    /// than one run is still wanted there (a rerun, or a first run at a
    /// rate where one run rarely settles a verdict).
    fn batch(&self, ctx: &Context<'_>, built: bool) -> u32 {
        let rate = self.state.as_ref().map_or(1.0, |s| s.masses.rate);
        let more = built || rate < SURE_IN_ONE_RUN;
        if more {
            ctx.machines.max(1) as u32
        } else {
            1
        }
    }

    /// What a first run at a commit not built yet costs, in runs, at the
    /// reproduction rate `rate`: the run plus the build spread over the
    /// runs a verdict typically needs. The build's own price falls with
    /// the square of the rate: at a low rate every verdict costs many runs
    /// wherever they go, and a fresh commit near the middle teaches more
    /// than another run at a commit already well known, so builds are
    /// cheap then; at a high rate a few more runs settle a verdict, which
    /// saves the builds a wrong verdict would cost. Tuned with `culprit
    /// sim` so that bayes builds no more than classic (BENCHMARKS.md).
    /// Where the engine measured builds to cost next to nothing (`cheap`:
    /// `--build true`, an interpreted project), a run at a new commit costs
    /// what a rerun does.
    fn new_build_cost(&self, rate: f64, cheap: bool) -> f64 {
        if cheap {
            return 1.0;
        }
        let rate = rate.clamp(0.01, 1.0);
        let settle =
            ((1.0 - self.target_confidence).ln() / (1.0 - rate).max(1e-9).ln()).clamp(1.0, 100.0);
        1.0 + (self.build_cost * rate * rate / settle).min(self.max_build_cost)
    }

    /// `k` testable commits whose chance of being new is closest to the
    /// quantiles `1/(k+1) .. k/(k+1)`.
    fn quantiles(&self, ctx: &Context<'_>, k: usize) -> Vec<Request> {
        let Some(s) = self.state.as_ref() else {
            return Vec::new();
        };
        let testable: Vec<u32> = (0..ctx.graph.len() as u32)
            .filter(|&i| !untestable(ctx.knowledge.get(i)))
            .filter(|&i| (1e-12..=1.0 - 1e-12).contains(&s.new_prob[i as usize]))
            .collect();
        let mut picks: Vec<Request> = Vec::new();
        for j in 1..=k {
            let quantile = j as f64 / (k + 1) as f64;
            let d = |c: &u32| (s.new_prob[*c as usize] - quantile).abs();
            let best = testable
                .iter()
                .filter(|c| !picks.iter().any(|p| p.commit == **c))
                .min_by(|a, b| d(a).total_cmp(&d(b)));
            if let Some(&commit) = best {
                picks.push(Request { commit, runs: 1 });
            }
        }
        picks
    }

    /// A run at the new end while it has shown too few crashes to say how
    /// reliable the reproducer is: until the rate is known, clean runs
    /// elsewhere say little, and runs at a built commit are cheap.
    fn calibration(&self, ctx: &Context<'_>) -> Option<Request> {
        // The crashing end: the new end of a cause bisection, the old end
        // (one past the graph) of a fix bisection.
        let (commit, e) = match ctx.direction {
            Direction::Cause => {
                let tip = ctx.graph.len() as u32 - 1;
                (tip, ctx.knowledge.get(tip)?)
            }
            Direction::Fix => (ctx.graph.len() as u32, &ctx.knowledge.old_end),
        };
        // Crashes seen by earlier bisections count towards the calibration.
        let learned = self
            .learned()
            .map_or(0, |(crashes, _)| crashes.floor() as usize);
        let enough = e.count(RunClass::Crash) + learned >= self.calibration_crashes
            || e.runs.len() >= self.calibration_runs
            || e.build_failed;
        (!enough).then(|| Request {
            commit,
            runs: ctx.machines.max(1) as u32,
        })
    }

    fn give_up(&self) -> NextStep {
        let candidates = self.state.as_ref().map(|s| s.heavy()).unwrap_or_default();
        NextStep::Done(Conclusion::Inconclusive { candidates })
    }
}

fn runs_so_far(ctx: &Context<'_>) -> (usize, usize) {
    let all = ctx
        .knowledge
        .commits
        .iter()
        .flatten()
        .chain([&ctx.knowledge.old_end]);
    all.fold((0, 0), |(runs, infra), e| {
        (runs + e.runs.len(), infra + e.count(RunClass::Infra))
    })
}

impl Strategy for Bayes {
    fn name(&self) -> &'static str {
        "bayes"
    }

    fn fresh(&self) -> Box<dyn Strategy> {
        Box::new(Bayes {
            state: None,
            ..self.clone()
        })
    }

    fn target_confidence(&self) -> Option<f64> {
        Some(self.target_confidence)
    }

    /// The bad end runs (as many at once as there are machines) until it
    /// crashes, or until [`Bayes::bad_end_limit`] clean runs. Every other
    /// end runs once: whatever more it needs is asked for later, when the
    /// posterior says it teaches something.
    fn check_end(&mut self, ctx: &EndContext<'_>) -> EndStep {
        let e = ctx.evidence;
        let (crashes, cleans) = (e.count(RunClass::Crash), e.count(RunClass::Ok));
        let useless = e.count(RunClass::Infra) + e.count(RunClass::Invalid);
        let infra = e.count(RunClass::Infra);
        let clean = cleans > 0
            && match ctx.end {
                End::Check => self.surely_clean(ctx, cleans),
                End::Bad => cleans as u32 >= self.bad_end_limit(),
                _ => true,
            };
        let reading = if e.build_failed {
            EndReading::Unclear
        } else if crashes > 0 {
            EndReading::Crashes
        } else if infra >= 3 && infra * 2 > e.runs.len() {
            EndReading::Infra
        } else if clean {
            EndReading::Clean
        } else if super::masked(e) {
            // Another crash hides the bug here.
            EndReading::Unclear
        } else if useless >= 3
            && useless * 2 > e.runs.len()
            && (ctx.end != End::Bad || useless > 100)
        {
            EndReading::Unclear
        } else if ctx.end == End::Check && cleans as u32 >= self.bad_end_limit() {
            // The rate learned says the runs cannot settle it.
            EndReading::Clean
        } else {
            let batch = match ctx.end {
                End::Bad | End::Check => ctx.machines.max(1),
                _ => 1,
            };
            return EndStep::Run(batch as u32);
        };
        EndStep::Read(reading)
    }

    fn observe(&mut self, ctx: &Context<'_>) {
        if !ctx.graph.is_empty() {
            self.state(ctx).absorb(ctx);
        }
    }

    fn next_step(&mut self, ctx: &Context<'_>) -> NextStep {
        if ctx.graph.is_empty() {
            return NextStep::Done(Conclusion::NoCulprit { confidence: 1.0 });
        }
        self.state(ctx).absorb(ctx);
        let (runs, infra) = runs_so_far(ctx);
        if infra >= 10 && infra * 2 > runs {
            return NextStep::Abort {
                reason: format!("{infra} of {runs} runs hit infrastructure problems"),
            };
        }
        if let Some(step) = self.conclude(ctx) {
            return step;
        }
        if runs >= self.max_runs {
            return self.give_up();
        }
        if let Some(r) = self.calibration(ctx) {
            return NextStep::Evaluate(vec![r]);
        }
        let requests = self.choose(ctx);
        if requests.is_empty() {
            return self.give_up();
        }
        NextStep::Evaluate(requests)
    }

    fn top_suspects(&self, _ctx: &Context<'_>, n: usize) -> Vec<(u32, f64)> {
        let Some(s) = &self.state else {
            return Vec::new();
        };
        s.heavy()
            .into_iter()
            .take(n)
            .map(|c| (c, s.masses.mass[c as usize]))
            .collect()
    }

    /// The likelier reading of a commit that has had a telling run (a
    /// crash, or a clean run): logged as soon as the runs are in, and
    /// logged again if later evidence turns it over. The probability
    /// behind it goes on converging; the result's confidence is the
    /// posterior's.
    fn verdict(&self, ctx: &Context<'_>, commit: u32) -> Verdict {
        let e = ctx.knowledge.get(commit);
        if untestable(e) {
            return Verdict::Skip;
        }
        let told = e.is_some_and(|e| e.count(RunClass::Crash) + e.count(RunClass::Ok) > 0);
        let p = self
            .state
            .as_ref()
            .and_then(|s| s.new_prob.get(commit as usize));
        match p {
            Some(p) if told && *p >= 0.5 => Verdict::New,
            Some(_) if told => Verdict::Old,
            _ => Verdict::Undecided,
        }
    }
}

#[cfg(test)]
mod tests;
