//! `git bisect run` with the reproducer as the script (`--strategy plain`):
//! one run per commit, the crash bisected means "new", a clean run "old",
//! a failed build or a run that could not test anything means "skip", and
//! git's choice of the next commit. It is the baseline the simulator
//! compares the other strategies with.
//!
//! A run that shows another crash (not the one bisected) tells nothing, as
//! a script that exits 125 for it: the commit runs again, and after
//! [`OTHER_CRASH_LIMIT`] such runs it is skipped, and git's choice goes on
//! around it.
//!
//! The ends: the bad end runs until it crashes, at most `runs` times (what
//! a person does before starting `git bisect`), runs that showed another
//! crash not counted; every other end runs once.

use crate::evidence::{CommitEvidence, Direction, RunClass};

use super::range::{bisect_choice, suspects};
use super::{
    masked, Conclusion, Context, End, EndContext, EndReading, EndStep, NextStep, Request, Strategy,
    Verdict, OTHER_CRASH_LIMIT,
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

/// Whether a commit's runs so far showed only another crash, fewer than
/// [`OTHER_CRASH_LIMIT`] times: one more run may tell.
fn rerun(e: &CommitEvidence) -> bool {
    !e.build_failed
        && e.runs.iter().all(|r| *r == RunClass::OtherCrash)
        && !masked(e)
        && e.runs.len() < OTHER_CRASH_LIMIT
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
        let told = (e.runs.len() - e.count(RunClass::OtherCrash)) as u32;
        let reading = match ctx.end {
            End::Bad if e.count(RunClass::Crash) > 0 => EndReading::Crashes,
            End::Bad if told < self.bad_end_runs && !masked(e) => return EndStep::Run(1),
            End::Bad if e.count(RunClass::Infra) * 2 > e.runs.len() => EndReading::Infra,
            End::Bad if told == 0 => EndReading::Unclear,
            End::Bad => EndReading::Clean,
            _ if e.runs.is_empty() || rerun(e) => return EndStep::Run(1),
            _ if e.count(RunClass::Crash) > 0 => EndReading::Crashes,
            _ if e.runs.contains(&RunClass::Ok) => EndReading::Clean,
            _ if e.count(RunClass::Infra) > 0 => EndReading::Infra,
            _ => EndReading::Unclear,
        };
        EndStep::Read(reading)
    }

    fn next_step(&mut self, ctx: &Context<'_>) -> NextStep {
        // A built commit not run yet, or whose runs only showed another
        // crash: it runs (again) before git picks the next one.
        if let Some(commit) =
            (0..ctx.graph.len() as u32).find(|&i| ctx.knowledge.get(i).is_some_and(rerun))
        {
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
        // runs: any crash of the bug among them counts.
        let crashed = e.count(RunClass::Crash) > 0;
        if !crashed && !e.runs.contains(&RunClass::Ok) {
            return if rerun(e) {
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
    /// `other` commits showing an unrelated crash at every run and `broken`
    /// ones failing to build. Returns the conclusion and the runs made.
    fn bisect(n: usize, culprit: u32, other: &[u32], broken: &[u32]) -> (Conclusion, usize) {
        let g = linear(n);
        let mut k = Knowledge::new(n);
        k.entry(n as u32 - 1).runs.push(RunClass::Crash);
        let mut plain = Plain::default();
        let mut runs = 0;
        for _ in 0..200 {
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
                            continue;
                        }
                        runs += r.runs as usize;
                        e.runs.push(if other.contains(&r.commit) {
                            RunClass::OtherCrash
                        } else if r.commit >= culprit {
                            RunClass::Crash
                        } else {
                            RunClass::Ok
                        });
                    }
                }
                NextStep::Done(c) => return (c, runs),
                NextStep::Abort { reason } => panic!("{reason}"),
            }
        }
        panic!("did not finish");
    }

    fn culprit(commit: u32) -> Conclusion {
        Conclusion::Culprit {
            commit,
            confidence: 1.0,
        }
    }

    #[test]
    fn finds_the_culprit_of_a_reliable_crash() {
        for c in [0, 1, 17, 62, 63] {
            assert_eq!(bisect(64, c, &[], &[]).0, culprit(c));
        }
    }

    #[test]
    fn another_crash_is_run_again_and_does_not_mislead_it() {
        // Commit 31 is the first pick; its unrelated crash says nothing,
        // so it runs again until it is skipped, and git picks around it.
        let (found, runs) = bisect(64, 40, &[31], &[]);
        assert_eq!(found, culprit(40));
        // Six or seven commits, plus the ten runs at 31 before its skip.
        assert!((15..=18).contains(&runs), "{runs} runs");
    }

    #[test]
    fn commits_hidden_by_another_crash_are_skipped_after_ten_runs() {
        // Three commits in a row crash otherwise at every run; the culprit
        // is two commits after them, and testable.
        for (first, n) in [(28, 64), (0, 16), (9, 16), (100, 128)] {
            let hidden = [first, first + 1, first + 2];
            let c = first + 4;
            let (found, runs) = bisect(n, c, &hidden, &[]);
            assert_eq!(found, culprit(c), "hidden {hidden:?}");
            // Each hidden commit costs at most its ten runs.
            let bound = 3 * OTHER_CRASH_LIMIT + 2 * n.ilog2() as usize + 2;
            assert!(runs <= bound, "{runs} runs, bound {bound}");
        }
    }

    #[test]
    fn a_run_that_tells_after_another_crash_reads_as_usual() {
        let g = linear(4);
        let mut k = Knowledge::new(4);
        k.entry(3).runs = vec![RunClass::Crash];
        k.entry(1).runs = vec![RunClass::OtherCrash, RunClass::Ok];
        k.entry(2).runs = vec![RunClass::OtherCrash; 3];
        k.entry(0).runs = vec![RunClass::OtherCrash; OTHER_CRASH_LIMIT];
        let ctx = Context {
            graph: &g,
            knowledge: &k,
            direction: Direction::Cause,
            parallelism: 1,
            machines: 1,
            build_cost: None,
        };
        let plain = Plain::default();
        assert_eq!(plain.verdict(&ctx, 1), Verdict::Old);
        assert_eq!(plain.verdict(&ctx, 2), Verdict::Undecided);
        assert_eq!(plain.verdict(&ctx, 0), Verdict::Skip);
        assert_eq!(
            Plain::default().next_step(&ctx),
            NextStep::Evaluate(vec![Request { commit: 2, runs: 1 }])
        );
    }

    #[test]
    fn an_end_that_shows_another_crash_runs_again() {
        let mut e = CommitEvidence::default();
        let mut plain = Plain::new(3);
        let step = |plain: &mut Plain, end, e: &CommitEvidence| {
            plain.check_end(&EndContext {
                end,
                direction: Direction::Cause,
                evidence: e,
                bad_end: e,
                machines: 1,
            })
        };
        e.runs = vec![RunClass::OtherCrash];
        assert_eq!(step(&mut plain, End::Good, &e), EndStep::Run(1));
        assert_eq!(step(&mut plain, End::Bad, &e), EndStep::Run(1));
        e.runs.push(RunClass::Ok);
        assert_eq!(
            step(&mut plain, End::Good, &e),
            EndStep::Read(EndReading::Clean)
        );
        e.runs = vec![RunClass::OtherCrash; OTHER_CRASH_LIMIT];
        for end in [End::Good, End::Bad] {
            assert_eq!(
                step(&mut plain, end, &e),
                EndStep::Read(EndReading::Unclear)
            );
        }
    }

    #[test]
    fn a_broken_culprit_leaves_it_among_the_candidates() {
        match bisect(64, 40, &[], &[40]).0 {
            Conclusion::Inconclusive { candidates } => assert_eq!(candidates, [40, 41]),
            other => panic!("{other:?}"),
        }
    }
}
