//! `git bisect run` with the reproducer as the script (`--strategy plain`):
//! one run per commit, any crash means "new", a failed build or a run that
//! could not test anything means "skip", and git's choice of the next commit.
//! It is the baseline the simulator compares the other strategies with.
//!
//! The ends: the bad end runs until it crashes, at most `runs` times (what
//! a person does before starting `git bisect`); every other end runs once.

use crate::evidence::{CommitEvidence, Direction, RunClass};

use super::range::{bisect_choice, suspects};
use super::{
    Conclusion, Context, End, EndContext, EndReading, EndStep, NextStep, Request, Strategy, Verdict,
};

/// One run per commit, git bisect style.
#[derive(Debug, Clone)]
pub struct Plain {
    /// Runs at the bad end until the crash shows, at most this many.
    bad_end_runs: u32,
}

impl Default for Plain {
    fn default() -> Self {
        Plain::new(1)
    }
}

impl Plain {
    /// Plain bisection trying the bad end up to `bad_end_runs` times.
    pub fn new(bad_end_runs: u32) -> Self {
        Plain {
            bad_end_runs: bad_end_runs.max(1),
        }
    }
}

/// Whether any run crashed (with the bisected crash or another one: a
/// script only sees a failing exit status).
fn crashed(e: &CommitEvidence) -> bool {
    e.runs
        .iter()
        .any(|r| matches!(r, RunClass::Crash | RunClass::OtherCrash))
}

impl Strategy for Plain {
    fn name(&self) -> &'static str {
        "plain"
    }

    fn fresh(&self) -> Box<dyn Strategy> {
        Box::new(self.clone())
    }

    fn check_end(&mut self, ctx: &EndContext<'_>) -> EndStep {
        let e = ctx.evidence;
        if e.build_failed {
            return EndStep::Read(EndReading::Unclear);
        }
        let made = e.runs.len() as u32;
        let reading = match ctx.end {
            End::Bad if e.count(RunClass::Crash) > 0 => EndReading::Crashes,
            End::Bad if made < self.bad_end_runs => return EndStep::Run(1),
            End::Bad if e.count(RunClass::Infra) * 2 > e.runs.len() => EndReading::Infra,
            End::Bad => EndReading::Clean,
            _ if made == 0 => return EndStep::Run(1),
            _ if crashed(e) => EndReading::Crashes,
            _ if e.runs.contains(&RunClass::Ok) => EndReading::Clean,
            _ if e.count(RunClass::Infra) > 0 => EndReading::Infra,
            _ => EndReading::Unclear,
        };
        EndStep::Read(reading)
    }

    fn next_step(&mut self, ctx: &Context<'_>) -> NextStep {
        if let Some(commit) = (0..ctx.graph.len() as u32).find(|&i| {
            ctx.knowledge
                .get(i)
                .is_some_and(|e| !e.build_failed && e.runs.is_empty())
        }) {
            return NextStep::Evaluate(vec![Request { commit, runs: 1 }]);
        }
        let verdicts: Vec<Verdict> = (0..ctx.graph.len() as u32)
            .map(|i| self.verdict(ctx, i))
            .collect();
        let suspect = suspects(ctx.graph, &verdicts);
        let untested: Vec<bool> = verdicts.iter().map(|v| *v == Verdict::Undecided).collect();
        match bisect_choice(ctx.graph, &suspect, &untested) {
            Some((commit, _)) => NextStep::Evaluate(vec![Request { commit, runs: 1 }]),
            None => {
                let left: Vec<u32> = (0..ctx.graph.len() as u32)
                    .filter(|&i| suspect[i as usize])
                    .collect();
                NextStep::Done(match left.as_slice() {
                    [one] => Conclusion::Culprit {
                        commit: *one,
                        confidence: 1.0,
                    },
                    _ => Conclusion::Inconclusive { candidates: left },
                })
            }
        }
    }

    fn verdict(&self, ctx: &Context<'_>, commit: u32) -> Verdict {
        let Some(e) = ctx.knowledge.get(commit) else {
            return Verdict::Undecided;
        };
        if e.build_failed {
            return Verdict::Skip;
        }
        // One run per commit, but the new end comes with its reproduction
        // runs: any crash among them counts.
        let crashed = crashed(e);
        if !crashed && !e.runs.contains(&RunClass::Ok) {
            return if e.runs.is_empty() {
                Verdict::Undecided
            } else {
                Verdict::Skip
            };
        }
        match (crashed, ctx.direction) {
            (true, Direction::Cause) | (false, Direction::Fix) => Verdict::New,
            _ => Verdict::Old,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Knowledge;
    use crate::strategy::range::linear;

    /// Bisects a linear history where commits from `culprit` on crash, with
    /// `other` commits showing an unrelated crash and `broken` ones failing
    /// to build.
    fn bisect(n: usize, culprit: u32, other: &[u32], broken: &[u32]) -> Conclusion {
        let g = linear(n);
        let mut k = Knowledge::new(n);
        k.entry(n as u32 - 1).runs.push(RunClass::Crash);
        let mut plain = Plain::default();
        for _ in 0..100 {
            let ctx = Context {
                graph: &g,
                knowledge: &k,
                direction: Direction::Cause,
                parallelism: 1,
                machines: 1,
                build_cost: None,
            };
            match plain.next_step(&ctx) {
                NextStep::Evaluate(reqs) => {
                    for r in reqs {
                        let e = k.entry(r.commit);
                        if broken.contains(&r.commit) {
                            e.build_failed = true;
                        } else if other.contains(&r.commit) {
                            e.runs.push(RunClass::OtherCrash);
                        } else {
                            e.runs.push(if r.commit >= culprit {
                                RunClass::Crash
                            } else {
                                RunClass::Ok
                            });
                        }
                    }
                }
                NextStep::Done(c) => return c,
                NextStep::Abort { reason } => panic!("{reason}"),
            }
        }
        panic!("did not finish");
    }

    #[test]
    fn finds_the_culprit_of_a_reliable_crash() {
        for culprit in [0, 1, 17, 62, 63] {
            assert_eq!(
                bisect(64, culprit, &[], &[]),
                Conclusion::Culprit {
                    commit: culprit,
                    confidence: 1.0
                }
            );
        }
    }

    #[test]
    fn an_unrelated_crash_misleads_it() {
        // Commit 31 is the first pick; its unrelated crash reads "new".
        let found = bisect(64, 40, &[31], &[]);
        assert_ne!(
            found,
            Conclusion::Culprit {
                commit: 40,
                confidence: 1.0
            }
        );
    }

    #[test]
    fn a_broken_culprit_leaves_it_among_the_candidates() {
        match bisect(64, 40, &[], &[40]) {
            Conclusion::Inconclusive { candidates } => assert_eq!(candidates, [40, 41]),
            other => panic!("{other:?}"),
        }
    }
}
