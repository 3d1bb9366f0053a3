//! One simulated bisection: the engine's loop with builds and runs replaced
//! by draws from a generated history.

use crate::evidence::{Direction, Knowledge, RunClass};
use crate::strategy::{Conclusion, Context, NextStep, Strategy};

use super::history::History;
use super::rng::Rng;

/// How runs behave in a simulated range.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Chance that one run of a crashing commit shows the target crash.
    pub rate: f64,
    /// Chance that any run shows an unrelated crash instead.
    pub unrelated: f64,
    /// Runs at the new end until the crash shows once, at most this many.
    pub repro_runs: u32,
    /// Runs made at the old end before bisecting.
    pub old_end_runs: u32,
    /// Stop a strategy that has spent this many runs.
    pub max_runs: u64,
}

/// What one simulated bisection cost and concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The strategy's conclusion; `None` when it aborted, looped, or the
    /// crash never reproduced at the new end.
    pub conclusion: Option<Conclusion>,
    /// Commits built by the strategy (the two ends not counted).
    pub builds: u64,
    /// Test runs asked for by the strategy (the end checks not counted).
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

/// The evidence the engine gathers at the ends before bisecting, or `None`
/// when the crash did not reproduce at the new end.
pub fn ends(history: &History, b: &Behaviour, rng: &mut Rng) -> Option<Knowledge> {
    let n = history.graph.len();
    let mut k = Knowledge::new(n);
    let tip = k.entry(n as u32 - 1);
    while (tip.runs.len() as u32) < b.repro_runs && tip.count(RunClass::Crash) == 0 {
        tip.runs.push(draw(rng, true, b));
    }
    if tip.count(RunClass::Crash) == 0 {
        return None;
    }
    let old_crashes = history.culprit.is_none();
    k.old_end.runs = (0..b.old_end_runs)
        .map(|_| draw(rng, old_crashes, b))
        .collect();
    Some(k)
}

/// Drives `strategy` over `history` from the end evidence `knowledge`.
pub fn drive(
    strategy: &mut dyn Strategy,
    history: &History,
    mut knowledge: Knowledge,
    b: &Behaviour,
    rng: &mut Rng,
) -> Outcome {
    let mut out = Outcome {
        conclusion: None,
        builds: 0,
        runs: 0,
    };
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
        };
        let requests = match strategy.next_step(&ctx) {
            NextStep::Evaluate(r) if !r.is_empty() && r.iter().all(|r| r.commit < n) => r,
            NextStep::Done(c) => {
                out.conclusion = Some(c);
                return out;
            }
            _ => return out,
        };
        for r in requests {
            let i = r.commit as usize;
            if knowledge.get(r.commit).is_none() {
                out.builds += 1;
                knowledge.entry(r.commit).build_failed = history.broken[i];
            }
            let e = knowledge.entry(r.commit);
            if !e.build_failed {
                e.runs
                    .extend((0..r.runs).map(|_| draw(rng, history.crashing[i], b)));
                out.runs += r.runs as u64;
            }
        }
    }
    out
}
