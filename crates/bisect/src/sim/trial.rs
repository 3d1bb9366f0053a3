//! One simulated bisection: the engine's loop with builds and runs replaced
//! by draws from a generated history.

use crate::evidence::{CommitEvidence, Direction, Knowledge, RunClass};
use crate::strategy::{
    Conclusion, Context, End, EndContext, EndReading, EndStep, NextStep, Strategy,
};

use super::history::History;
use super::rng::Rng;

/// How runs behave in a simulated range.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Chance that one run of a crashing commit shows the target crash.
    pub rate: f64,
    /// Chance that any run shows an unrelated crash instead.
    pub unrelated: f64,
    /// Stop a strategy that has spent this many runs.
    pub max_runs: u64,
    /// What a build costs in runs, as the engine would have measured it
    /// (`None`: not measured, as before the first build).
    pub build_cost: Option<f64>,
}

/// What one simulated bisection cost and concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The strategy's conclusion; `None` when it aborted, looped, or the
    /// crash never reproduced at the new end.
    pub conclusion: Option<Conclusion>,
    /// Commits built by the strategy (the two ends not counted: every
    /// strategy builds them).
    pub builds: u64,
    /// Test runs asked for by the strategy, at the ends too.
    pub runs: u64,
}

impl Outcome {
    /// Whether the conclusion is the best answer the history allows: the
    /// true culprit; when commits next to it cannot be built, a set of
    /// candidates holding it in which only one commit builds (no run can
    /// tell them apart); "no culprit" when there is none.
    pub fn correct(&self, history: &History) -> bool {
        match (&self.conclusion, history.culprit) {
            (Some(Conclusion::Culprit { commit, .. }), Some(c)) => *commit == c,
            (Some(Conclusion::Inconclusive { candidates }), Some(c)) => {
                let builds = candidates
                    .iter()
                    .filter(|&&x| !history.broken[x as usize])
                    .count();
                candidates.contains(&c) && builds <= 1
            }
            (Some(Conclusion::NoCulprit { .. }), None) => true,
            _ => false,
        }
    }
}

/// A strategy that takes more steps than this is stuck.
const MAX_STEPS: usize = 100_000;

fn draw(rng: &mut Rng, crashing: bool, b: &Behaviour) -> RunClass {
    if rng.chance(b.unrelated) {
        RunClass::OtherCrash
    } else if crashing && rng.chance(b.rate) {
        RunClass::Crash
    } else {
        RunClass::Ok
    }
}

/// Checks the ends as the strategy asks, as the engine does: the new end
/// until the strategy reads it as crashing, then the old end. Returns the
/// knowledge to bisect with, or the outcome that ends the trial there (the
/// crash does not reproduce: no conclusion; the old end crashes: "no
/// culprit", as the engine's `always-bad`).
fn check_ends(
    strategy: &mut dyn Strategy,
    history: &History,
    b: &Behaviour,
    rng: &mut Rng,
    out: &mut Outcome,
) -> Result<Knowledge, Option<Conclusion>> {
    let n = history.graph.len();
    let mut k = Knowledge::new(n);
    let mut tip = CommitEvidence::default();
    let bad = check_one_end(strategy, End::Bad, &mut tip, None, true, b, rng, out);
    if bad != EndReading::Crashes {
        return Err(None);
    }
    let old_crashes = history.culprit.is_none();
    let mut old = CommitEvidence::default();
    match check_one_end(
        strategy,
        End::Good,
        &mut old,
        Some(&tip),
        old_crashes,
        b,
        rng,
        out,
    ) {
        EndReading::Crashes => return Err(Some(Conclusion::NoCulprit { confidence: 1.0 })),
        EndReading::Infra => return Err(None),
        EndReading::Clean | EndReading::Unclear => {}
    }
    k.commits[n - 1] = Some(tip);
    k.old_end = old;
    Ok(k)
}

/// Runs one end until the strategy reads it.
#[allow(clippy::too_many_arguments)]
fn check_one_end(
    strategy: &mut dyn Strategy,
    end: End,
    evidence: &mut CommitEvidence,
    bad_end: Option<&CommitEvidence>,
    crashing: bool,
    b: &Behaviour,
    rng: &mut Rng,
    out: &mut Outcome,
) -> EndReading {
    loop {
        let step = strategy.check_end(&EndContext {
            end,
            direction: Direction::Cause,
            evidence,
            bad_end: bad_end.unwrap_or(evidence),
            machines: 1,
        });
        match step {
            EndStep::Read(reading) => return reading,
            EndStep::Run(_) if out.runs >= b.max_runs => return EndReading::Infra,
            EndStep::Run(runs) => {
                evidence
                    .runs
                    .extend((0..runs).map(|_| draw(rng, crashing, b)));
                out.runs += u64::from(runs);
            }
        }
    }
}

/// Runs `strategy` over `history`: the ends first, then the bisection.
pub fn simulate(
    strategy: &mut dyn Strategy,
    history: &History,
    b: &Behaviour,
    rng: &mut Rng,
) -> Outcome {
    let mut out = Outcome {
        conclusion: None,
        builds: 0,
        runs: 0,
    };
    match check_ends(strategy, history, b, rng, &mut out) {
        Ok(knowledge) => drive(strategy, history, knowledge, b, rng, out),
        Err(conclusion) => {
            out.conclusion = conclusion;
            out
        }
    }
}

/// Drives `strategy` over `history` from the end evidence `knowledge`,
/// adding to what `out` has spent.
fn drive(
    strategy: &mut dyn Strategy,
    history: &History,
    mut knowledge: Knowledge,
    b: &Behaviour,
    rng: &mut Rng,
    mut out: Outcome,
) -> Outcome {
    let n = history.graph.len() as u32;
    for _ in 0..MAX_STEPS {
        if out.runs >= b.max_runs {
            break;
        }
        let ctx = Context {
            graph: &history.graph,
            knowledge: &knowledge,
            direction: Direction::Cause,
            parallelism: 1,
            machines: 1,
            build_cost: b.build_cost,
        };
        let requests = match strategy.next_step(&ctx) {
            NextStep::Evaluate(r) if !r.is_empty() && r.iter().all(|r| r.commit <= n) => r,
            NextStep::Done(c) => {
                out.conclusion = Some(c);
                return out;
            }
            _ => return out,
        };
        for r in requests {
            let i = r.commit as usize;
            if r.commit == n {
                // Runs at the old end: it crashes only without a culprit.
                let crashing = history.culprit.is_none();
                let old = &mut knowledge.old_end;
                old.runs.extend((0..r.runs).map(|_| draw(rng, crashing, b)));
                out.runs += u64::from(r.runs);
                continue;
            }
            if knowledge.get(r.commit).is_none() {
                out.builds += 1;
                knowledge.entry(r.commit).build_failed = history.broken[i];
            }
            let e = knowledge.entry(r.commit);
            if e.build_failed {
                continue;
            }
            out.runs += r.runs as u64;
            if history.hidden[i] {
                e.runs.extend((0..r.runs).map(|_| RunClass::OtherCrash));
            } else {
                e.runs
                    .extend((0..r.runs).map(|_| draw(rng, history.crashing[i], b)));
            }
        }
    }
    out
}
