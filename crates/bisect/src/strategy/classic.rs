//! syzbot's rules (`--strategy classic`): a fixed number of runs per commit,
//! a verdict per commit from thresholds, git's choice of the next commit.
//!
//! Differences from syzbot: a run that crashed with another crash than the
//! one bisected is no evidence either way ([`RunClass::OtherCrash`]).
//!
//! Confidence: the product, over the commits read as not crashing, of the
//! chance that a crashing commit would have shown at least one crash in that
//! many OK runs, with the crash rate estimated from the crashing commits.
//! It is 1.0 when the reproducer crashed in every run where it crashed at
//! all, and lower once it is flaky.

use std::collections::HashMap;

use crate::evidence::{CommitEvidence, Direction, RunClass};

use super::range::{bisect_choice, suspects};
use super::{
    Conclusion, Context, End, EndContext, EndReading, EndStep, NextStep, Request, Strategy, Verdict,
};

/// How one commit's runs read under syzbot's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The crash is there.
    Crashing,
    /// The crash is not there.
    Clean,
    /// Neither: the commit is skipped.
    Unclear,
    /// Infrastructure problems dominate the runs.
    Infra,
    /// Fewer runs than asked for so far.
    Incomplete,
}

/// Reads one commit's runs; `asked` is how many runs it was given, and
/// the three-quarter rule for "clean" applies when that is more than the
/// base number `base` (the reproducer was known to be flaky then).
pub fn read(e: &CommitEvidence, asked: u32, base: u32) -> Reading {
    if e.build_failed {
        return Reading::Unclear;
    }
    let total = e.runs.len();
    if total < asked as usize {
        return Reading::Incomplete;
    }
    let (ok, crash) = (e.count(RunClass::Ok), e.count(RunClass::Crash));
    if e.count(RunClass::Infra) * 2 > total {
        return Reading::Infra;
    }
    let valid = ok + crash;
    let flaky = asked > base;
    if crash == 0
        && ok > 0
        && (if flaky {
            ok * 4 >= total * 3
        } else {
            ok * 2 >= total
        })
    {
        return Reading::Clean;
    }
    if crash >= 2.min(total).max(valid / 6) && valid * 2 >= total {
        return Reading::Crashing;
    }
    Reading::Unclear
}

/// syzbot's way of checking an end with `runs` runs per commit: the bad end
/// gets `runs` runs and crashes when one of them showed the crash; the other
/// ends get `runs` runs (twice that when the bad end showed a flaky
/// reproducer) and read with [`read`]'s thresholds. An end (not the bad
/// one) that reads unclear because another crash took some of its runs gets
/// one more batch: another crash is no evidence, and an unclear end (the
/// good end, a culprit's revert) costs the whole bisection or its check.
pub fn check_end_with(ctx: &EndContext<'_>, runs: u32) -> EndStep {
    let e = ctx.evidence;
    let asked = asked_at(ctx, runs);
    let made = e.runs.len() as u32;
    let masked = e.count(RunClass::OtherCrash) > 0;
    match check_end_once(ctx, runs, asked) {
        EndStep::Read(EndReading::Unclear)
            if ctx.end != End::Bad && masked && !e.build_failed && made < 2 * asked =>
        {
            EndStep::Run(2 * asked - made)
        }
        step => step,
    }
}

/// The runs an end gets in its first batch.
fn asked_at(ctx: &EndContext<'_>, runs: u32) -> u32 {
    let flaky = ctx.bad_end.count(RunClass::Crash) * 2 < ctx.bad_end.runs.len();
    match ctx.end {
        End::Bad => runs,
        _ if flaky => runs * 2,
        _ => runs,
    }
}

/// An end's reading once it had `asked` runs.
fn check_end_once(ctx: &EndContext<'_>, runs: u32, asked: u32) -> EndStep {
    let e = ctx.evidence;
    if e.build_failed {
        return EndStep::Read(EndReading::Unclear);
    }
    if (e.runs.len() as u32) < asked {
        return EndStep::Run(asked - e.runs.len() as u32);
    }
    let reading = match (ctx.end, read(e, asked, runs)) {
        (_, Reading::Infra) => EndReading::Infra,
        (End::Bad, _) if e.count(RunClass::Crash) > 0 => EndReading::Crashes,
        (End::Bad, _) => EndReading::Clean,
        (_, Reading::Crashing) => EndReading::Crashes,
        (_, Reading::Clean) => EndReading::Clean,
        (_, Reading::Unclear | Reading::Incomplete) => EndReading::Unclear,
    };
    EndStep::Read(reading)
}

/// syzbot's bisection rules.
#[derive(Debug, Clone)]
pub struct Classic {
    runs: u32,
    asked: HashMap<u32, u32>,
}

impl Classic {
    /// A classic strategy giving each commit `runs` runs (twice that once
    /// the reproducer is known to be flaky).
    pub fn new(runs: u32) -> Self {
        Classic {
            runs: runs.max(1),
            asked: HashMap::new(),
        }
    }

    fn asked(&self, commit: u32) -> u32 {
        self.asked.get(&commit).copied().unwrap_or(self.runs)
    }

    fn reading(&self, ctx: &Context<'_>, commit: u32) -> Option<Reading> {
        ctx.knowledge
            .get(commit)
            .map(|e| read(e, self.asked(commit), self.runs))
    }

    /// Evidence of the commits that crash: those read as crashing, and the
    /// bad end (given by the user as crashing) as soon as it crashed once.
    fn crashing_evidence<'a>(&self, ctx: &'a Context<'_>) -> Vec<&'a CommitEvidence> {
        let tip = ctx.graph.len().checked_sub(1).map(|t| t as u32);
        let bad_end = match ctx.direction {
            Direction::Cause => tip.and_then(|t| ctx.knowledge.get(t)),
            Direction::Fix => Some(&ctx.knowledge.old_end),
        };
        let bad_end = bad_end.filter(|e| e.count(RunClass::Crash) > 0);
        let in_graph = (0..ctx.graph.len() as u32)
            .filter(|&i| ctx.direction == Direction::Fix || Some(i) != tip)
            .filter(|&i| self.reading(ctx, i) == Some(Reading::Crashing))
            .filter_map(|i| ctx.knowledge.get(i));
        in_graph.chain(bad_end).collect()
    }

    /// The reproducer is flaky once a crashing commit crashed in fewer than
    /// half of its runs.
    fn flaky(&self, ctx: &Context<'_>) -> bool {
        self.crashing_evidence(ctx)
            .iter()
            .any(|e| e.count(RunClass::Crash) * 2 < e.runs.len())
    }

    fn confidence(&self, ctx: &Context<'_>) -> f64 {
        let (crashes, runs) = self
            .crashing_evidence(ctx)
            .iter()
            .fold((0, 0), |(c, r), e| {
                (c + e.count(RunClass::Crash), r + e.runs.len())
            });
        if runs == 0 {
            return 0.0;
        }
        let miss = 1.0 - crashes as f64 / runs as f64;
        (0..ctx.graph.len() as u32)
            .filter(|&i| self.reading(ctx, i) == Some(Reading::Clean))
            .filter_map(|i| ctx.knowledge.get(i))
            .chain((ctx.direction == Direction::Cause).then_some(&ctx.knowledge.old_end))
            .map(|e| 1.0 - miss.powi(e.count(RunClass::Ok) as i32))
            .product()
    }

    fn infra_abort(&self, ctx: &Context<'_>) -> Option<NextStep> {
        let bad =
            (0..ctx.graph.len() as u32).find(|&i| self.reading(ctx, i) == Some(Reading::Infra))?;
        Some(NextStep::Abort {
            reason: format!("too many infrastructure problems at {}", ctx.graph.id(bad)),
        })
    }

    fn unfinished(&self, ctx: &Context<'_>) -> Option<Request> {
        (0..ctx.graph.len() as u32).find_map(|i| {
            let e = ctx.knowledge.get(i)?;
            let have = e.runs.len() as u32;
            (self.reading(ctx, i) == Some(Reading::Incomplete)).then(|| Request {
                commit: i,
                runs: self.asked(i).saturating_sub(have),
            })
        })
    }
}

impl Strategy for Classic {
    fn name(&self) -> &'static str {
        "classic"
    }

    fn fresh(&self) -> Box<dyn Strategy> {
        Box::new(Classic::new(self.runs))
    }

    fn check_end(&mut self, ctx: &EndContext<'_>) -> EndStep {
        check_end_with(ctx, self.runs)
    }

    fn next_step(&mut self, ctx: &Context<'_>) -> NextStep {
        if let Some(abort) = self.infra_abort(ctx) {
            return abort;
        }
        if let Some(request) = self.unfinished(ctx) {
            return NextStep::Evaluate(vec![request]);
        }
        let verdicts: Vec<Verdict> = (0..ctx.graph.len() as u32)
            .map(|i| self.verdict(ctx, i))
            .collect();
        let suspect = suspects(ctx.graph, &verdicts);
        let untested: Vec<bool> = verdicts.iter().map(|v| *v == Verdict::Undecided).collect();
        match bisect_choice(ctx.graph, &suspect, &untested) {
            Some((commit, _)) => {
                let runs = if self.flaky(ctx) {
                    self.runs * 2
                } else {
                    self.runs
                };
                self.asked.insert(commit, runs);
                NextStep::Evaluate(vec![Request { commit, runs }])
            }
            None => {
                let left: Vec<u32> = (0..ctx.graph.len() as u32)
                    .filter(|&i| suspect[i as usize])
                    .collect();
                NextStep::Done(match left.as_slice() {
                    [one] => Conclusion::Culprit {
                        commit: *one,
                        confidence: self.confidence(ctx),
                    },
                    _ => Conclusion::Inconclusive { candidates: left },
                })
            }
        }
    }

    fn verdict(&self, ctx: &Context<'_>, commit: u32) -> Verdict {
        let (crashing, clean) = match ctx.direction {
            Direction::Cause => (Verdict::New, Verdict::Old),
            Direction::Fix => (Verdict::Old, Verdict::New),
        };
        match self.reading(ctx, commit) {
            None | Some(Reading::Incomplete) => Verdict::Undecided,
            Some(Reading::Crashing) => crashing,
            Some(Reading::Clean) => clean,
            Some(Reading::Unclear | Reading::Infra) => Verdict::Skip,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Knowledge, RunClass::*};
    use crate::strategy::range::linear;

    fn ev(runs: &[RunClass]) -> CommitEvidence {
        CommitEvidence {
            build_failed: false,
            runs: runs.to_vec(),
        }
    }

    fn times(class: RunClass, n: usize) -> Vec<RunClass> {
        vec![class; n]
    }

    /// A culprit's revert whose 6 runs showed the unrelated crash 4 times
    /// (2 OK) gets 6 more, and reads clean when they are mostly OK; the bad
    /// end and a second unclear batch get no more.
    #[test]
    fn an_end_another_crash_made_unclear_gets_one_more_batch() {
        let bad = ev(&times(Crash, 6));
        let check = |runs: &CommitEvidence, end: End| {
            check_end_with(
                &EndContext {
                    end,
                    direction: Direction::Cause,
                    evidence: runs,
                    bad_end: &bad,
                    machines: 2,
                },
                6,
            )
        };
        let first = ev(&[times(OtherCrash, 4), times(Ok, 2)].concat());
        assert_eq!(check(&first, End::Check), EndStep::Run(6));
        assert_eq!(check(&first, End::Good), EndStep::Run(6));
        let second = ev(&[times(OtherCrash, 5), times(Ok, 7)].concat());
        assert_eq!(check(&second, End::Check), EndStep::Read(EndReading::Clean));
        let still = ev(&[times(OtherCrash, 8), times(Ok, 4)].concat());
        assert_eq!(
            check(&still, End::Check),
            EndStep::Read(EndReading::Unclear)
        );
        // Unclear without another crash (the build failed, or crashes and
        // OK runs mixed as syzbot's thresholds cannot read): no more runs.
        let mut failed = ev(&[]);
        failed.build_failed = true;
        assert_eq!(
            check(&failed, End::Check),
            EndStep::Read(EndReading::Unclear)
        );
        let bad_other = ev(&times(OtherCrash, 6));
        assert_eq!(
            check(&bad_other, End::Bad),
            EndStep::Read(EndReading::Clean)
        );
    }

    #[test]
    fn readings_follow_syzbot_thresholds() {
        let cases: Vec<(Vec<RunClass>, u32, Reading)> = vec![
            (times(Ok, 10), 10, Reading::Clean),
            (times(Crash, 10), 10, Reading::Crashing),
            (
                [times(Crash, 2), times(Ok, 8)].concat(),
                10,
                Reading::Crashing,
            ),
            (
                [times(Crash, 1), times(Ok, 9)].concat(),
                10,
                Reading::Unclear,
            ),
            (
                [times(Ok, 5), times(Invalid, 5)].concat(),
                10,
                Reading::Clean,
            ),
            (
                [times(Ok, 4), times(Invalid, 6)].concat(),
                10,
                Reading::Unclear,
            ),
            (
                [times(Crash, 4), times(Invalid, 6)].concat(),
                10,
                Reading::Unclear,
            ),
            (
                [times(Crash, 5), times(Invalid, 5)].concat(),
                10,
                Reading::Crashing,
            ),
            ([times(OtherCrash, 10)].concat(), 10, Reading::Unclear),
            (
                [times(OtherCrash, 3), times(Ok, 7)].concat(),
                10,
                Reading::Clean,
            ),
            ([times(Infra, 6), times(Ok, 4)].concat(), 10, Reading::Infra),
            (times(Ok, 5), 10, Reading::Incomplete),
            // Twenty runs (flaky): clean needs three quarters OK.
            (
                [times(Ok, 14), times(Invalid, 6)].concat(),
                20,
                Reading::Unclear,
            ),
            (
                [times(Ok, 15), times(Invalid, 5)].concat(),
                20,
                Reading::Clean,
            ),
            // One run per commit: one crash is enough.
            (times(Crash, 1), 1, Reading::Crashing),
        ];
        for (runs, asked, want) in cases {
            let base = if asked == 20 { 10 } else { asked };
            assert_eq!(read(&ev(&runs), asked, base), want, "{runs:?}");
        }
        let failed = CommitEvidence {
            build_failed: true,
            runs: vec![],
        };
        assert_eq!(read(&failed, 10, 10), Reading::Unclear);
    }

    /// Drives the strategy on a linear history where commits from
    /// `culprit` on crash in one of every `crash_every` runs; commits in
    /// `skip` fail to build. Returns the conclusion and the runs asked for.
    fn drive(
        n: usize,
        culprit: usize,
        crash_every: usize,
        skip: &[usize],
    ) -> (Conclusion, Vec<Request>) {
        drive_hidden(n, culprit, crash_every, skip, &[])
    }

    /// [`drive`] where the commits in `hidden` show another crash at
    /// every run.
    fn drive_hidden(
        n: usize,
        culprit: usize,
        crash_every: usize,
        skip: &[usize],
        hidden: &[usize],
    ) -> (Conclusion, Vec<Request>) {
        let graph = linear(n);
        let mut k = Knowledge::new(n);
        k.commits[n - 1] = Some(ev(&(0..10)
            .map(|i: usize| {
                if i.is_multiple_of(crash_every) {
                    Crash
                } else {
                    Ok
                }
            })
            .collect::<Vec<_>>()));
        k.old_end = ev(&times(Ok, 10));
        let mut s = Classic::new(10);
        let mut asked = Vec::new();
        loop {
            let ctx = Context {
                graph: &graph,
                knowledge: &k,
                direction: Direction::Cause,
                parallelism: 1,
                machines: 1,
                build_cost: None,
            };
            match s.next_step(&ctx) {
                NextStep::Evaluate(reqs) => {
                    for r in reqs {
                        asked.push(r);
                        let e = k.entry(r.commit);
                        if skip.contains(&(r.commit as usize)) {
                            e.build_failed = true;
                            continue;
                        }
                        for _ in 0..r.runs {
                            let i = e.runs.len();
                            let bad = r.commit as usize >= culprit && i.is_multiple_of(crash_every);
                            e.runs.push(if hidden.contains(&(r.commit as usize)) {
                                OtherCrash
                            } else if bad {
                                Crash
                            } else {
                                Ok
                            });
                        }
                    }
                }
                NextStep::Done(c) => return (c, asked),
                NextStep::Abort { reason } => panic!("abort: {reason}"),
            }
        }
    }

    #[test]
    fn finds_the_culprit_with_a_reliable_reproducer() {
        for culprit in 0..16 {
            let (c, asked) = drive(16, culprit, 1, &[]);
            assert_eq!(
                c,
                Conclusion::Culprit {
                    commit: culprit as u32,
                    confidence: 1.0
                },
                "culprit {culprit}"
            );
            assert!(asked.len() <= 5, "{asked:?}");
            assert!(asked.iter().all(|r| r.runs == 10));
        }
    }

    #[test]
    fn a_flaky_reproducer_doubles_the_runs_and_lowers_confidence() {
        let (c, asked) = drive(16, 6, 5, &[]);
        let Conclusion::Culprit { commit, confidence } = c else {
            panic!("{c:?}")
        };
        assert_eq!(commit, 6);
        assert!(confidence < 0.95 && confidence > 0.8, "{confidence}");
        assert!(asked.iter().all(|r| r.runs == 20), "{asked:?}");
    }

    #[test]
    fn commits_hidden_by_another_crash_are_skipped_after_their_runs() {
        // Three commits in a row crash otherwise at every run; the culprit
        // is two commits after them, and testable.
        for (first, n, crash_every) in [(4, 16, 1), (8, 64, 1), (20, 64, 3), (0, 16, 1)] {
            let hidden = [first, first + 1, first + 2];
            let c = first + 4;
            let (found, asked) = drive_hidden(n, c, crash_every, &[], &hidden);
            let Conclusion::Culprit { commit, .. } = found else {
                panic!("hidden {hidden:?}: {found:?}");
            };
            assert_eq!(commit as usize, c, "hidden {hidden:?}");
            // No commit asked for more than one batch of runs.
            for r in &asked {
                assert_eq!(asked.iter().filter(|a| a.commit == r.commit).count(), 1);
                assert!(r.runs <= 20, "{asked:?}");
            }
        }
        let graph = linear(4);
        let mut k = Knowledge::new(4);
        k.commits[1] = Some(ev(&times(OtherCrash, 10)));
        let ctx = Context {
            graph: &graph,
            knowledge: &k,
            direction: Direction::Cause,
            parallelism: 1,
            machines: 1,
            build_cost: None,
        };
        assert_eq!(Classic::new(10).verdict(&ctx, 1), Verdict::Skip);
    }

    #[test]
    fn only_skipped_commits_left_is_inconclusive() {
        let (c, _) = drive(8, 4, 1, &[3, 4]);
        assert_eq!(
            c,
            Conclusion::Inconclusive {
                candidates: vec![3, 4, 5]
            }
        );
    }

    #[test]
    fn a_bad_end_crashing_once_in_ten_makes_the_reproducer_flaky() {
        let graph = linear(8);
        let mut k = Knowledge::new(8);
        k.commits[7] = Some(ev(&[times(Crash, 1), times(Ok, 9)].concat()));
        k.old_end = ev(&times(Ok, 10));
        let ctx = Context {
            graph: &graph,
            knowledge: &k,
            direction: Direction::Cause,
            parallelism: 1,
            machines: 1,
            build_cost: None,
        };
        let step = Classic::new(10).next_step(&ctx);
        assert!(
            matches!(&step, NextStep::Evaluate(r) if r[0].runs == 20),
            "{step:?}"
        );
    }
}
