//! The build cost the engine measures (mean build time over mean run
//! time) reaches the strategy, from fresh builds and from a journal.

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;
use std::time::Duration;

use culprit_bisect::exec::{BuildOutcome, Built, Executor, RunOutcome};
use culprit_bisect::strategy::bayes::Bayes;
use culprit_bisect::strategy::{EndContext, EndStep};
use culprit_bisect::{input, run, Context, Direction, Journal, NextStep, Strategy, Verdict};
use culprit_git::fixture::RepoBuilder;

/// The costs a strategy was shown, one per step.
type Seen = Rc<RefCell<Vec<Option<f64>>>>;

/// bayes, noting the build cost of every step it is asked for.
struct Watching {
    inner: Bayes,
    seen: Seen,
}

impl Strategy for Watching {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn fresh(&self) -> Box<dyn Strategy> {
        self.inner.fresh()
    }

    fn check_end(&mut self, ctx: &EndContext<'_>) -> EndStep {
        self.inner.check_end(ctx)
    }

    fn observe(&mut self, ctx: &Context<'_>) {
        self.inner.observe(ctx)
    }

    fn next_step(&mut self, ctx: &Context<'_>) -> NextStep {
        self.seen.borrow_mut().push(ctx.build_cost);
        self.inner.next_step(ctx)
    }

    fn verdict(&self, ctx: &Context<'_>, commit: u32) -> Verdict {
        self.inner.verdict(ctx, commit)
    }
}

/// Commits `c0..`: those from `c{culprit}` on crash on every run. A run
/// takes `RUN` and a build `build`; `builds` counts the builds made.
struct Timed {
    titles: Vec<(String, usize)>,
    culprit: usize,
    build: Duration,
    builds: usize,
}

/// How long each run of the test takes.
const RUN: Duration = Duration::from_millis(40);

impl Timed {
    fn number(&self, commit: &str) -> usize {
        self.titles
            .iter()
            .find(|(h, _)| h == commit)
            .map_or(0, |(_, n)| *n)
    }
}

impl Executor for Timed {
    fn build(&mut self, commit: &str) -> BuildOutcome {
        self.builds += 1;
        std::thread::sleep(self.build);
        BuildOutcome::Built(Built {
            commit: commit.to_owned(),
            signature: format!("sig-{commit}"),
            compiler: None,
        })
    }

    fn run(
        &mut self,
        build: &Built,
        runs: Range<u32>,
        done: &mut dyn FnMut(u32, RunOutcome, f64) -> bool,
    ) {
        let crashes = self.number(&build.commit) >= self.culprit;
        for index in runs {
            std::thread::sleep(RUN);
            let outcome = if crashes {
                RunOutcome::Crashed {
                    title: "WARNING in foo".into(),
                    report: "WARNING: in foo\n".into(),
                }
            } else {
                RunOutcome::Ok
            };
            if !done(index, outcome, RUN.as_secs_f64()) {
                return;
            }
        }
    }
}

/// Bisects 24 commits with builds that take `build` runs, in the journal
/// at `dir`; returns the costs bayes was shown and how many builds were
/// made.
fn bisect(dir: &std::path::Path, build: f64) -> (Vec<Option<f64>>, usize) {
    let mut b = RepoBuilder::new();
    let hashes: Vec<String> = (0..24)
        .map(|i| b.commit(&format!("c{i}"), &[("f", &format!("{i}\n"))]))
        .collect();
    let repo = b.open();
    let bisection = input::check(&repo, Direction::Cause, &hashes[23], &[hashes[0].clone()])
        .expect("a valid range");
    let mut exec = Timed {
        titles: hashes.iter().cloned().zip(0..).collect(),
        culprit: 15,
        build: RUN.mul_f64(build),
        builds: 0,
    };
    let seen = Seen::default();
    let mut strategy = Watching {
        inner: Bayes::default(),
        seen: seen.clone(),
    };
    let mut journal = Journal::open(dir, "params").expect("a journal");
    let mut events = culprit_bisect::event::Recorded::default();
    let outcome = run(
        &repo,
        &bisection,
        &mut strategy,
        &mut exec,
        &mut journal,
        &mut events,
    );
    let culprit = outcome.culprit.as_ref().map(|c| c.title.clone());
    assert_eq!(culprit.as_deref(), Some("c15"), "{:#?}", events.0);
    let seen = seen.borrow().clone();
    (seen, exec.builds)
}

/// Every cost shown once one was measured lies in `range`.
fn assert_all_in(seen: &[Option<f64>], range: Range<f64>) {
    let measured: Vec<f64> = seen.iter().flatten().copied().collect();
    assert!(!measured.is_empty(), "no step was shown a build cost");
    for m in measured {
        assert!(range.contains(&m), "shown {m} runs, expected {range:?}");
    }
}

// The ranges are wide: the times are slept, and a loaded machine oversleeps.
// What matters is which side of half a run (bayes's "free") they fall.

#[test]
fn the_strategy_is_shown_the_measured_build_cost() {
    for (cost, range) in [(0.05, 0.0..0.5), (6.0, 2.0..20.0)] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (seen, builds) = bisect(dir.path(), cost);
        assert!(builds > 2, "{builds} builds");
        assert_all_in(&seen, range);
    }
}

#[test]
fn a_resumed_bisection_is_shown_the_cost_from_its_journal() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (first, _) = bisect(dir.path(), 6.0);
    assert_all_in(&first, 2.0..20.0);
    // The second run replays every build from the journal: if the cost
    // came only from what it did itself, it would have none, or builds
    // this quick would look free.
    let (again, builds) = bisect(dir.path(), 0.1);
    assert_eq!(builds, 0, "nothing is rebuilt");
    assert_all_in(&again, 2.0..20.0);
}
