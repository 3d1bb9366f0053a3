//! The engine on real git repositories with a scripted executor (each
//! commit's builds and runs are decided by its title), told through the
//! text log.

use std::collections::HashMap;
use std::ops::Range;

use culprit_bisect::engine::{run, Bisection};
use culprit_bisect::exec::{
    BuildOutcome, Built, Capacity, Evaluation, EvaluationSink, Executor, RunOutcome,
};
use culprit_bisect::strategy::Classic;
use culprit_bisect::{input, Direction, Flag, Journal, Outcome, OutcomeKind, StepKind};
use culprit_git::fixture::RepoBuilder;
use culprit_git::Repo;
use culprit_render::TextLog;

/// What a scripted commit does.
#[derive(Clone)]
enum Script {
    /// The build fails.
    BuildFails,
    /// Run `i` ends as `f(i)`; the build's signature is the given one.
    Runs(&'static str, fn(u32) -> RunOutcome),
}

fn ok(_: u32) -> RunOutcome {
    RunOutcome::Ok
}

fn crash(_: u32) -> RunOutcome {
    RunOutcome::Crashed {
        title: "WARNING in foo".into(),
        report: "WARNING: in foo\n".into(),
    }
}

fn other_crash(_: u32) -> RunOutcome {
    RunOutcome::Crashed {
        title: "KASAN: use-after-free in bar".into(),
        report: "KASAN\n".into(),
    }
}

/// Crashes in runs 0, 5, 10...: 2 of 10.
fn flaky(i: u32) -> RunOutcome {
    if i.is_multiple_of(5) {
        crash(i)
    } else {
        RunOutcome::Ok
    }
}

struct Fake {
    titles: HashMap<String, String>,
    script: Box<dyn Fn(&str) -> Script>,
    builds: Vec<String>,
    runs: usize,
    capacity: Capacity,
    /// How many commits each call of `evaluate` was given.
    batches: Vec<usize>,
}

impl Fake {
    fn new(repo: &Repo, hashes: &[String], script: impl Fn(&str) -> Script + 'static) -> Fake {
        let titles = hashes
            .iter()
            .map(|h| (h.clone(), repo.commit(h).unwrap().title))
            .collect();
        Fake {
            titles,
            script: Box::new(script),
            builds: Vec::new(),
            runs: 0,
            capacity: Capacity::default(),
            batches: Vec::new(),
        }
    }

    fn script(&self, commit: &str) -> Script {
        (self.script)(&self.titles[commit])
    }
}

impl Executor for Fake {
    fn build(&mut self, commit: &str) -> BuildOutcome {
        self.builds.push(commit.to_owned());
        match self.script(commit) {
            Script::BuildFails => BuildOutcome::Failed {
                reason: "exit status 2".into(),
            },
            Script::Runs(sig, _) => {
                let signature = if sig.is_empty() {
                    format!("sig-{commit}")
                } else {
                    sig.to_owned()
                };
                BuildOutcome::Built(Built {
                    commit: commit.to_owned(),
                    signature,
                    compiler: None,
                })
            }
        }
    }

    fn capacity(&self) -> Capacity {
        self.capacity
    }

    fn run(
        &mut self,
        build: &Built,
        runs: Range<u32>,
        done: &mut dyn FnMut(u32, RunOutcome, f64) -> bool,
    ) {
        for index in runs {
            self.runs += 1;
            let outcome = match self.script(&build.commit) {
                Script::Runs(_, f) => f(index),
                Script::BuildFails => panic!("run of a failed build"),
            };
            if !done(index, outcome, 0.0) {
                return;
            }
        }
    }

    fn evaluate(&mut self, evaluations: Vec<Evaluation>, sink: &mut dyn EvaluationSink) {
        self.batches.push(evaluations.len());
        for e in evaluations {
            if !culprit_bisect::exec::evaluate_here(self, e, sink) {
                return;
            }
        }
    }
}

/// A linear history `c0..c{n-1}`, returning the hashes.
fn linear(b: &mut RepoBuilder, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| b.commit(&format!("c{i}"), &[("f", &format!("{i}\n"))]))
        .collect()
}

/// Commit number of a title `cN`.
fn num(title: &str) -> usize {
    title.trim_start_matches('c').parse().unwrap_or(0)
}

struct Run {
    outcome: Outcome,
    log: String,
    fake: Fake,
}

fn bisect(
    repo: &Repo,
    direction: Direction,
    bad: &str,
    good: &[String],
    runs: u32,
    mut fake: Fake,
) -> Run {
    let bisection: Bisection = input::check(repo, direction, bad, good).unwrap();
    let mut journal = Journal::in_memory();
    let mut text = TextLog::new(Vec::new());
    let mut strategy = Classic::new(runs);
    let outcome = run(
        repo,
        &bisection,
        &mut strategy,
        &mut fake,
        &mut journal,
        &mut text,
    );
    Run {
        outcome,
        log: String::from_utf8(text.into_inner()).unwrap(),
        fake,
    }
}

fn culprit_title(o: &Outcome) -> &str {
    o.culprit
        .as_ref()
        .map(|c| c.title.as_str())
        .unwrap_or("(none)")
}

#[test]
fn linear_history_finds_the_culprit_and_logs_like_syzbot() {
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 12);
    let repo = b.open();
    let fake = Fake::new(&repo, &h, |t| {
        Script::Runs("", if num(t) >= 7 { crash } else { ok })
    });
    let r = bisect(&repo, Direction::Cause, &h[11], &[h[0].clone()], 10, fake);
    assert_eq!(r.outcome.outcome, OutcomeKind::Culprit, "{}", r.log);
    assert_eq!(culprit_title(&r.outcome), "c7");
    let lines: Vec<&str> = r.log.lines().collect();
    assert_eq!(
        lines[0],
        format!("bisecting cause commit starting from {}", h[11])
    );
    assert_eq!(lines[1], format!("testing commit {}", h[11]));
    assert_eq!(lines[2], format!("build signature: sig-{}", h[11]));
    assert_eq!(lines[3], "all runs: crashed: WARNING in foo");
    assert!(r
        .log
        .contains(&format!("# git bisect start {} {}\n", h[11], h[0])));
    assert!(
        r.log
            .contains("Bisecting: 5 revisions left to test after this (roughly 3 steps)\n"),
        "{}",
        r.log
    );
    assert!(r.log.contains(&format!(
        "{} is the first bad commit\ncommit {}\n",
        h[7], h[7]
    )));
    assert!(r.log.contains(&format!(
        "culprit signature: sig-{}\nparent  signature: sig-{}\n",
        h[7], h[6]
    )));
    assert!(r.log.contains(&format!(
        "first bad commit: {} c7 (confidence 100.0%)\n",
        h[7]
    )));
    assert!(r
        .log
        .contains("recipients (to): [\"test@example.com\"]\nrecipients (cc): []\n"));
    assert!(r.log.contains("crash: WARNING in foo\nWARNING: in foo\n"));
    assert_eq!(r.outcome.confidence, Some(1.0));
    assert!(r.outcome.flags.is_empty());
    // Every commit built once: no rebuild of the culprit or its parent.
    let mut builds = r.fake.builds.clone();
    builds.sort();
    builds.dedup();
    assert_eq!(builds.len(), r.fake.builds.len());
}

#[test]
fn culprit_on_a_merged_side_branch() {
    let mut b = RepoBuilder::new();
    let base = b.commit("base", &[("f", "0\n")]);
    b.branch("topic");
    let t: Vec<String> = (0..4)
        .map(|i| b.commit(&format!("topic{i}"), &[("t", &format!("{i}\n"))]))
        .collect();
    b.switch("main");
    let m: Vec<String> = (0..4)
        .map(|i| b.commit(&format!("main{i}"), &[("m", &format!("{i}\n"))]))
        .collect();
    let merge = b.merge("topic", "Merge topic");
    let top = b.commit("after", &[("f", "1\n")]);
    let repo = b.open();
    let all: Vec<String> = [vec![base.clone(), merge, top.clone()], t, m].concat();
    let fake = Fake::new(&repo, &all, |title| {
        let bad = title == "topic2"
            || title == "topic3"
            || title.starts_with("Merge")
            || title == "after";
        Script::Runs("", if bad { crash } else { ok })
    });
    let r = bisect(&repo, Direction::Cause, &top, &[base], 10, fake);
    assert_eq!(culprit_title(&r.outcome), "topic2", "{}", r.log);
}

#[test]
fn untestable_middle_is_inconclusive_with_candidates() {
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 10);
    let repo = b.open();
    let fake = Fake::new(&repo, &h, |t| match num(t) {
        4..=6 => Script::BuildFails,
        n => Script::Runs("", if n >= 5 { crash } else { ok }),
    });
    let r = bisect(&repo, Direction::Cause, &h[9], &[h[0].clone()], 10, fake);
    assert_eq!(r.outcome.outcome, OutcomeKind::Inconclusive, "{}", r.log);
    let c: Vec<&str> = r
        .outcome
        .candidates
        .iter()
        .map(|c| c.title.as_str())
        .collect();
    assert_eq!(c, ["c4", "c5", "c6", "c7"]);
    assert!(r.log.contains(
        "There are only 'skip'ped commits left to test.\nThe first bad commit could be any of:\n"
    ));
    assert!(r
        .log
        .contains("build failed: exit status 2\n# git bisect skip"));
    assert_eq!(r.outcome.exit_code(), 1);
}

#[test]
fn oldest_release_still_crashing_is_always_bad() {
    let mut b = RepoBuilder::new();
    b.commit("c0", &[("f", "0\n")]);
    b.tag("v1.0");
    b.commit("c1", &[("f", "1\n")]);
    b.tag("v1.1");
    let bad = b.commit("c2", &[("f", "2\n")]);
    let repo = b.open();
    let all = vec![b.rev("v1.0"), b.rev("v1.1"), bad.clone()];
    let fake = Fake::new(&repo, &all, |_| Script::Runs("", crash));
    let r = bisect(&repo, Direction::Cause, &bad, &[], 10, fake);
    assert_eq!(r.outcome.outcome, OutcomeKind::AlwaysBad, "{}", r.log);
    assert!(r.log.contains("testing release v1.1\n"));
    assert!(r.log.contains("testing release v1.0\n"));
    assert!(r
        .log
        .contains("the crash happens on the oldest tested release v1.0\n"));
    assert_eq!(r.outcome.exit_code(), 1);
}

#[test]
fn releases_find_the_good_end() {
    let mut b = RepoBuilder::new();
    let mut all = Vec::new();
    for i in 0..9 {
        all.push(b.commit(&format!("c{i}"), &[("f", &format!("{i}\n"))]));
        if i % 3 == 0 {
            b.tag(&format!("v1.{}", i / 3));
        }
    }
    let repo = b.open();
    let fake = Fake::new(&repo, &all, |t| {
        Script::Runs("", if num(t) >= 4 { crash } else { ok })
    });
    let r = bisect(&repo, Direction::Cause, &all[8], &[], 10, fake);
    assert_eq!(culprit_title(&r.outcome), "c4", "{}", r.log);
    let releases: Vec<&str> = r
        .log
        .lines()
        .filter(|l| l.starts_with("testing release"))
        .collect();
    assert_eq!(releases, ["testing release v1.2", "testing release v1.1"]);
    assert_eq!(r.outcome.good, [all[3].clone()]);
}

#[test]
fn no_crash_at_bad_is_an_error() {
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 4);
    let repo = b.open();
    let fake = Fake::new(&repo, &h, |_| Script::Runs("", ok));
    let r = bisect(&repo, Direction::Cause, &h[3], &[h[0].clone()], 10, fake);
    assert_eq!(r.outcome.outcome, OutcomeKind::Error);
    assert_eq!(
        r.outcome.error.as_deref(),
        Some(format!("crash does not reproduce at --bad {}", h[3]).as_str())
    );
    assert_eq!(r.outcome.exit_code(), 3);
    assert_eq!(r.fake.builds, [h[3].clone()]);
}

#[test]
fn flaky_reproducer_doubles_runs_and_still_finds_the_culprit() {
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 16);
    let repo = b.open();
    let fake = Fake::new(&repo, &h, |t| {
        Script::Runs("", if num(t) >= 9 { flaky } else { ok })
    });
    let r = bisect(&repo, Direction::Cause, &h[15], &[h[0].clone()], 10, fake);
    assert_eq!(culprit_title(&r.outcome), "c9", "{}", r.log);
    let bisect_steps: Vec<_> = r
        .outcome
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::Bisect)
        .collect();
    assert!(
        bisect_steps.iter().all(|s| s.runs.len() == 20),
        "{:?}",
        r.outcome.steps
    );
    assert_eq!(
        r.outcome.steps[1].runs.len(),
        20,
        "the good end gets doubled runs too"
    );
    let confidence = r.outcome.confidence.unwrap();
    assert!(confidence < 1.0 && confidence > 0.5, "{confidence}");
    assert!(r
        .log
        .contains("run #0: crashed: WARNING in foo\nrun #1: OK\n"));
}

#[test]
fn another_crash_is_not_evidence() {
    // c3..c5 crash with another crash; the bug comes in at c5.
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 10);
    let repo = b.open();
    let fake = Fake::new(&repo, &h, |t| match num(t) {
        3 | 4 => Script::Runs("", other_crash),
        n => Script::Runs("", if n >= 5 { crash } else { ok }),
    });
    let r = bisect(&repo, Direction::Cause, &h[9], &[h[0].clone()], 10, fake);
    assert!(
        r.log.contains(
            "all runs: crashed: KASAN: use-after-free in bar (another crash, not counted)\n"
        ),
        "{}",
        r.log
    );
    // syzbot would count the other crash and blame c3; here c3 and c4 are
    // skipped and stay suspects with c5.
    assert_eq!(r.outcome.outcome, OutcomeKind::Inconclusive);
    let c: Vec<&str> = r
        .outcome
        .candidates
        .iter()
        .map(|c| c.title.as_str())
        .collect();
    assert_eq!(c, ["c3", "c4", "c5"]);
}

#[test]
fn fix_bisection_finds_the_first_commit_without_the_crash() {
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 10);
    let repo = b.open();
    let fake = Fake::new(&repo, &h, |t| {
        Script::Runs("", if num(t) < 6 { crash } else { ok })
    });
    let r = bisect(&repo, Direction::Fix, &h[1], &[], 10, fake);
    assert_eq!(culprit_title(&r.outcome), "c6", "{}", r.log);
    assert!(r
        .log
        .starts_with(&format!("bisecting fixing commit starting from {}\n", h[1])));
    assert!(r.log.contains(&format!(
        "# git bisect start --term-old=crashing --term-new=fixed {} {}\n",
        h[9], h[1]
    )));
    assert!(r
        .log
        .contains(&format!("{} is the first fixed commit\n", h[6])));
    assert!(r.log.contains("# git bisect crashing "));
    assert!(r.log.contains("# git bisect fixed "));
}

#[test]
fn fix_bisection_with_the_crash_at_head_is_always_bad() {
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 5);
    let repo = b.open();
    let fake = Fake::new(&repo, &h, |_| Script::Runs("", crash));
    let r = bisect(&repo, Direction::Fix, &h[1], &[], 10, fake);
    assert_eq!(r.outcome.outcome, OutcomeKind::AlwaysBad, "{}", r.log);
}

#[test]
fn culprit_building_the_same_program_as_its_parent_is_flagged_noop() {
    // base - good - x - merge - bad, with a side branch "side" forked from
    // base: the side commit changes nothing that is built (same signature as
    // base), and base is outside the range, so it is only built at the end.
    let mut b = RepoBuilder::new();
    let base = b.commit("base", &[("f", "0\n")]);
    b.branch("side");
    let side = b.commit("side", &[("t", "1\n")]);
    b.switch("main");
    let good = b.commit("good", &[("f", "1\n")]);
    let x = b.commit("x", &[("f", "2\n")]);
    let merge = b.merge("side", "Merge side");
    let bad = b.commit("bad", &[("f", "3\n")]);
    let repo = b.open();
    let all = vec![base, side, good.clone(), x, merge, bad.clone()];
    let fake = Fake::new(&repo, &all, |t| match t {
        "base" | "side" => Script::Runs("same", if t == "side" { crash } else { ok }),
        "good" | "x" => Script::Runs("", ok),
        _ => Script::Runs("", crash),
    });
    let r = bisect(&repo, Direction::Cause, &bad, &[good], 10, fake);
    assert_eq!(culprit_title(&r.outcome), "side", "{}", r.log);
    assert_eq!(r.outcome.flags, [Flag::Noop]);
    assert!(
        r.log
            .contains("culprit signature: same\nparent  signature: same\n"),
        "{}",
        r.log
    );
    assert_eq!(
        r.outcome.steps.last().map(|s| s.kind),
        Some(StepKind::Parent)
    );
}

#[test]
fn identical_build_reuses_the_earlier_runs() {
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 10);
    let repo = b.open();
    // c4..c9 build the same program as the bad end.
    let fake = Fake::new(&repo, &h, |t| match num(t) {
        n if n >= 4 => Script::Runs("same", crash),
        _ => Script::Runs("", ok),
    });
    let r = bisect(&repo, Direction::Cause, &h[9], &[h[0].clone()], 10, fake);
    assert_eq!(culprit_title(&r.outcome), "c4", "{}", r.log);
    assert!(r.log.contains(&format!(
        "build signature: same (same as {}, reusing its results)",
        h[9]
    )));
    let fresh_runs = 10
        * r.outcome
            .steps
            .iter()
            .filter(|s| s.reused_from.is_none() && s.kind != StepKind::Parent)
            .count();
    assert_eq!(r.fake.runs, fresh_runs);
}

#[test]
fn a_journal_replays_instead_of_rebuilding() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 12);
    let repo = b.open();
    let script = |t: &str| Script::Runs("", if num(t) >= 7 { crash } else { ok });
    let bisection = input::check(&repo, Direction::Cause, &h[11], &[h[0].clone()]).unwrap();
    let go = |fake: &mut Fake| {
        let mut journal = Journal::open(dir.path(), "params").unwrap();
        let mut out = TextLog::new(Vec::new());
        let outcome = run(
            &repo,
            &bisection,
            &mut Classic::new(10),
            fake,
            &mut journal,
            &mut out,
        );
        (outcome, String::from_utf8(out.into_inner()).unwrap())
    };
    let mut first = Fake::new(&repo, &h, script);
    let (o1, log1) = go(&mut first);
    let mut second = Fake::new(&repo, &h, script);
    let (o2, log2) = go(&mut second);
    assert_eq!(culprit_title(&o1), "c7");
    assert_eq!(o1.culprit, o2.culprit);
    assert!(
        second.builds.is_empty() && second.runs == 0,
        "{:?}",
        second.builds
    );
    let strip = |log: &str| {
        log.lines()
            .filter(|l| !l.starts_with("revisions tested"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&log1), strip(&log2));
}

#[test]
fn given_good_that_crashes_is_always_bad() {
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 4);
    let repo = b.open();
    let fake = Fake::new(&repo, &h, |_| Script::Runs("", crash));
    let r = bisect(&repo, Direction::Cause, &h[3], &[h[0].clone()], 10, fake);
    assert_eq!(r.outcome.outcome, OutcomeKind::AlwaysBad);
    assert!(r
        .log
        .contains(&format!("the crash happens at --good {}", h[0])));
}

#[test]
fn merge_and_release_flags() {
    // Two branches are fine alone and crash together: the merge is the
    // culprit; it is also tagged as a release.
    let mut b = RepoBuilder::new();
    let base = b.commit("base", &[("f", "0\n")]);
    b.branch("left");
    b.commit("left", &[("l", "1\n")]);
    b.switch("main");
    b.commit("right", &[("r", "1\n")]);
    let merge = b.merge("left", "Merge left");
    b.tag("v2.0");
    let bad = b.commit("bad", &[("f", "1\n")]);
    let repo = b.open();
    let all = vec![
        base.clone(),
        b.rev("left"),
        b.rev("main~2"),
        merge.clone(),
        bad.clone(),
    ];
    let fake = Fake::new(&repo, &all, |t| {
        Script::Runs(
            "",
            if t == "Merge left" || t == "bad" {
                crash
            } else {
                ok
            },
        )
    });
    let r = bisect(&repo, Direction::Cause, &bad, &[base], 10, fake);
    assert_eq!(culprit_title(&r.outcome), "Merge left", "{}", r.log);
    assert_eq!(r.outcome.flags, [Flag::Merge, Flag::Release]);
}

#[test]
fn three_builders_get_three_commits_at_once_each_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 40);
    let repo = b.open();
    let mut fake = Fake::new(&repo, &h, |t| {
        Script::Runs("", if num(t) >= 23 { crash } else { ok })
    });
    fake.capacity = Capacity {
        builders: 3,
        machines: 1,
    };
    let bisection = input::check(&repo, Direction::Cause, &h[39], &[h[0].clone()]).unwrap();
    let mut journal = Journal::open(dir.path(), "params").unwrap();
    let mut strategy = culprit_bisect::strategy::bayes::Bayes::new(0.99);
    let mut out = TextLog::new(Vec::new());
    let outcome = run(
        &repo,
        &bisection,
        &mut strategy,
        &mut fake,
        &mut journal,
        &mut out,
    );
    let log = String::from_utf8(out.into_inner()).unwrap();
    assert_eq!(culprit_title(&outcome), "c23", "{log}");
    assert!(fake.batches.contains(&3), "{:?}", fake.batches);
    // Every commit the executor built is in the journal, runs included.
    let text = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for commit in &fake.builds {
        assert!(
            records
                .iter()
                .any(|r| r["record"] == "build" && r["commit"] == commit.as_str()),
            "build of {commit} not journaled"
        );
    }
    let runs = records.iter().filter(|r| r["record"] == "run").count();
    assert_eq!(runs, fake.runs);
}

#[test]
fn revisions_left_never_go_up_after_a_skip() {
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 40);
    let repo = b.open();
    // The first pick and its neighbourhood do not build.
    let fake = Fake::new(&repo, &h, |t| match num(t) {
        17..=22 => Script::BuildFails,
        n => Script::Runs("", if n >= 30 { crash } else { ok }),
    });
    let r = bisect(&repo, Direction::Cause, &h[39], &[h[0].clone()], 2, fake);
    assert_eq!(culprit_title(&r.outcome), "c30", "{}", r.log);
    assert!(r.log.contains("# git bisect skip"), "{}", r.log);
    let counts: Vec<usize> = r
        .log
        .lines()
        .filter_map(|l| l.strip_prefix("Bisecting: "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(counts.len() >= 3, "{}", r.log);
    assert!(
        counts.windows(2).all(|w| w[1] <= w[0]),
        "revisions left went up: {counts:?}\n{}",
        r.log
    );
}

/// Hands runs back two at a time, the second one first.
struct Swapping(Fake);

impl Executor for Swapping {
    fn capacity(&self) -> Capacity {
        Capacity {
            builders: 1,
            machines: 2,
        }
    }

    fn build(&mut self, commit: &str) -> BuildOutcome {
        self.0.build(commit)
    }

    fn run(
        &mut self,
        build: &Built,
        runs: Range<u32>,
        done: &mut dyn FnMut(u32, RunOutcome, f64) -> bool,
    ) {
        let mut made = Vec::new();
        self.0.run(build, runs, &mut |i, o, s| {
            made.push((i, o, s));
            true
        });
        for pair in made.chunks(2) {
            for (i, o, s) in pair.iter().rev() {
                if !done(*i, o.clone(), *s) {
                    return;
                }
            }
        }
    }
}

#[test]
fn runs_that_end_out_of_order_are_journaled_and_read_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 12);
    let repo = b.open();
    let script = |t: &str| Script::Runs("", if num(t) >= 7 { flaky } else { ok });
    let bisection = input::check(&repo, Direction::Cause, &h[11], &[h[0].clone()]).unwrap();
    let mut journal = Journal::open(dir.path(), "params").unwrap();
    let mut exec = Swapping(Fake::new(&repo, &h, script));
    let mut out = TextLog::new(Vec::new());
    let outcome = run(
        &repo,
        &bisection,
        &mut Classic::new(10),
        &mut exec,
        &mut journal,
        &mut out,
    );
    let log = String::from_utf8(out.into_inner()).unwrap();
    assert_eq!(culprit_title(&outcome), "c7", "{log}");
    // Run 0 of a flaky commit crashes, run 1 does not: the order of the
    // log follows the run indices, not the order they ended in.
    assert!(
        log.contains("run #0: crashed: WARNING in foo\nrun #1: OK\n"),
        "{log}"
    );
    let text = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    let first_runs: Vec<u64> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["record"] == "run")
        .take(2)
        .filter_map(|r| r["index"].as_u64())
        .collect();
    assert_eq!(first_runs, [1, 0], "journaled as they ended");
}

/// Runs per commit, from the fake's record of builds and runs.
#[test]
fn a_commit_that_only_ever_shows_another_crash_is_settled_in_bounded_runs() {
    let mut b = RepoBuilder::new();
    let h = linear(&mut b, 24);
    let repo = b.open();
    // c9..c11 crash every run with an unrelated crash that hides the bug;
    // the culprit, c13, is two commits later and testable.
    let fake = Fake::new(&repo, &h, |t| match num(t) {
        9..=11 => Script::Runs("", other_crash),
        n if n >= 13 => Script::Runs("", crash),
        _ => Script::Runs("", ok),
    });
    let bisection = input::check(&repo, Direction::Cause, &h[23], &[h[0].clone()]).unwrap();
    let mut journal = Journal::in_memory();
    let mut strategy = culprit_bisect::strategy::bayes::Bayes::new(0.99);
    let mut out = TextLog::new(Vec::new());
    let mut fake = fake;
    let outcome = run(
        &repo,
        &bisection,
        &mut strategy,
        &mut fake,
        &mut journal,
        &mut out,
    );
    let log = String::from_utf8(out.into_inner()).unwrap();
    assert_eq!(culprit_title(&outcome), "c13", "{log}");
    // No commit ran without bound: the engine's cap holds whatever the
    // strategy asks.
    let cap = culprit_bisect::engine::RUN_CAP as usize;
    for step in &outcome.steps {
        assert!(
            step.runs.len() <= cap,
            "{} runs at {}",
            step.runs.len(),
            step.commit
        );
    }
    assert!(fake.runs < 3 * cap, "{} runs in all", fake.runs);
    for step in outcome.steps.iter().filter(|s| s.runs.len() == cap) {
        let told = format!("skipping commit {}: it reached {cap} runs", step.commit);
        assert!(log.contains(&told), "{log}");
    }
}
