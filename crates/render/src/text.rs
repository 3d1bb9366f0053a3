//! The human log: the engine's events as the lines syzbot's bisection log
//! has (`testing commit`, `run #0: OK`, `# git bisect bad`...). Later runs
//! at one commit are gathered on one line until something else is told.

use std::io::Write;
use std::time::Duration;

use culprit_bisect::event::{AlwaysBad, BuildKind, MergedFix, ParentBuild, PruneReason};
use culprit_bisect::outcome::{RunLine, VerificationVerdict};
use culprit_bisect::{Direction, Event, EventSink};

use crate::go::{go_duration, go_quoted_list};

/// Commits left out of the range, told one line each; more are counted in
/// one line.
const PRUNED_LISTED: usize = 100;

/// Writes the human log of the events it is given. A closed output does
/// not stop the bisection (the journal and the JSON keep everything).
pub struct TextLog<W: Write> {
    out: W,
    /// Later runs at one commit, gathered until something else is told.
    batch: Option<Batch>,
}

impl<W: Write> TextLog<W> {
    /// A log written to `out`.
    pub fn new(out: W) -> Self {
        TextLog { out, batch: None }
    }

    /// The output, once the bisection is over.
    pub fn into_inner(mut self) -> W {
        self.flush_batch();
        let TextLog { out, .. } = self;
        out
    }

    fn line(&mut self, line: &str) {
        self.flush_batch();
        self.write(line);
    }

    fn write(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    fn flush_batch(&mut self) {
        if let Some(batch) = self.batch.take() {
            self.write(&batch.line());
        }
    }

    /// A commit's first runs as syzbot logs them (`all runs: X` when every
    /// run says the same, else one `run #i: X` line each); later runs are
    /// gathered.
    fn runs(&mut self, commit: &str, from: u32, runs: &[RunLine]) {
        let lines: Vec<String> = runs.iter().map(RunLine::to_string).collect();
        match (from, lines.as_slice()) {
            (_, []) => {}
            (0, [one]) => self.line(&format!("run #0: {one}")),
            (0, [first, ..]) if lines.iter().all(|l| l == first) => {
                self.line(&format!("all runs: {first}"))
            }
            (0, _) => {
                for (i, l) in lines.iter().enumerate() {
                    self.line(&format!("run #{i}: {l}"));
                }
            }
            (_, _) => self.gather(commit, from, lines),
        }
    }

    /// Adds runs to the open batch line of `commit`, or opens one.
    fn gather(&mut self, commit: &str, from: u32, lines: Vec<String>) {
        if let Some(open) = &mut self.batch {
            if open.commit == commit && open.from + open.lines.len() as u32 == from {
                open.lines.extend(lines);
                return;
            }
        }
        self.flush_batch();
        self.batch = Some(Batch {
            commit: commit.to_owned(),
            from,
            lines,
        });
    }
}

impl<W: Write> EventSink for TextLog<W> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::Runs { commit, from, runs } => self.runs(commit, *from, runs),
            Event::Finished(_) => self.flush_batch(),
            other => {
                for line in lines(other) {
                    self.line(&line);
                }
            }
        }
    }
}

/// The lines of one event (runs aside, which depend on what came before).
pub fn lines(event: &Event) -> Vec<String> {
    match event {
        Event::WorkDir { workdir, own } => vec![format!(
            "work directory: {workdir} (this bisection's logs in {own})"
        )],
        Event::Start { direction, bad } => {
            let what = match direction {
                Direction::Cause => "cause",
                Direction::Fix => "fixing",
            };
            vec![format!("bisecting {what} commit starting from {bad}")]
        }
        Event::CrashRecognised { asked, title, why } => vec![format!(
            "crash {asked:?} recognised as {title:?} ({why}): bisecting it"
        )],
        Event::TestingRelease { name } => vec![format!("testing release {name}")],
        Event::Testing { commit } => vec![format!("testing commit {commit}")],
        Event::Built {
            kind,
            compiler,
            signature,
            reused_from,
            ..
        } => built(*kind, compiler.as_deref(), signature, reused_from.as_deref()),
        Event::BuildFailed { reason, .. } => vec![format!("build failed: {reason}")],
        Event::Runs { .. } | Event::Finished(_) => Vec::new(),
        Event::RunCapReached { commit, cap } => vec![format!(
            "skipping commit {commit}: it reached {cap} runs, the most one commit gets"
        )],
        Event::Pruned { commits, reason } => pruned(commits, reason),
        Event::RangeStart {
            direction,
            new,
            olds,
        } => {
            let terms = match direction {
                Direction::Cause => "",
                Direction::Fix => " --term-old=crashing --term-new=fixed",
            };
            vec![format!("# git bisect start{terms} {new} {}", olds.join(" "))]
        }
        Event::Next {
            left,
            steps,
            commit,
            title,
        } => vec![
            bisecting_line(*left, *steps),
            format!("[{commit}] {title}"),
            String::new(),
        ],
        Event::Verdict { commit, verdict } => {
            vec![format!("# git bisect {} {commit}", verdict.word())]
        }
        Event::MergedFix(merged) => merged_fix(merged),
        Event::Culprit {
            direction,
            commit,
            show,
            patch,
        } => culprit(*direction, commit, show, patch.as_deref()),
        Event::Signatures {
            kind,
            own,
            parent,
            parent_same_as,
        } => signatures(*kind, own, parent, parent_same_as.as_deref()),
        Event::TitleAlso { title, at } => vec![format!(
            "the bug also went by the title {title:?} (at {at}): the title changed between there and the crashing end"
        )],
        Event::TitleChangedOnly { parent, function } => vec![format!(
            "the culprit's parent {parent} crashes in {function}, which the culprit takes away: it may have changed the crash rather than brought the bug in"
        )],
        Event::Verifying {
            direction,
            commit,
            base,
        } => {
            let what = match direction {
                Direction::Cause => "culprit",
                Direction::Fix => "fix",
            };
            vec![
                format!("verifying {what}"),
                format!("reverting commit {commit} on top of {base}"),
            ]
        }
        Event::RevertUnsupported => {
            vec!["this executor cannot revert commits: not verified".into()]
        }
        Event::Verified {
            direction,
            commit,
            verdict,
            confidence,
        } => vec![verified(*direction, commit, *verdict, *confidence)],
        Event::Totals { revisions, time } => {
            let d = |secs: f64| go_duration(Duration::from_secs_f64(secs.max(0.0)));
            vec![format!(
                "revisions tested: {revisions}, total time: {} (build: {}, test: {})",
                d(time.total),
                d(time.build),
                d(time.test)
            )]
        }
        Event::Summary {
            direction,
            commit,
            title,
            confidence,
        } => vec![format!(
            "first {} commit: {commit} {title} (confidence {:.1}%)",
            first_word(*direction),
            confidence * 100.0
        )],
        Event::Recipients(r) => vec![
            format!("recipients (to): {}", go_quoted_list(&r.to)),
            format!("recipients (cc): {}", go_quoted_list(&r.cc)),
        ],
        Event::Crash(crash) => vec![
            format!("crash: {}", crash.title),
            crash.report.trim_end().to_owned(),
        ],
        Event::Inconclusive {
            direction,
            candidates,
        } => {
            let mut out = vec![
                "There are only 'skip'ped commits left to test.".to_owned(),
                format!(
                    "The first {} commit could be any of:",
                    first_word(*direction)
                ),
            ];
            out.extend(candidates.iter().map(|(h, t)| format!("{h} {t}")));
            out.push("We cannot bisect more!".into());
            out
        }
        Event::AlwaysBad(why) => vec![always_bad(why)],
        Event::Failed { error } => vec![format!("bisection failed: {error}")],
        Event::NoSuspects { why } => vec![format!("no culprit: {why}")],
    }
}

/// `Bisecting: N revisions left to test after this (roughly S steps)`, as
/// git prints it.
pub fn bisecting_line(left: usize, steps: usize) -> String {
    format!(
        "Bisecting: {left} revision{} left to test after this (roughly {steps} step{})",
        if left == 1 { "" } else { "s" },
        if steps == 1 { "" } else { "s" }
    )
}

fn first_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Cause => "bad",
        Direction::Fix => "fixed",
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

fn built(
    kind: BuildKind,
    compiler: Option<&str>,
    signature: &str,
    reused_from: Option<&str>,
) -> Vec<String> {
    let mut lines: Vec<String> = compiler
        .map(|c| format!("compiler: {c}"))
        .into_iter()
        .collect();
    let kind = kind.word();
    lines.push(match reused_from {
        Some(d) => format!("{kind} signature: {signature} (same as {d}, reusing its results)"),
        None => format!("{kind} signature: {signature}"),
    });
    lines
}

fn pruned(commits: &[String], reason: &PruneReason) -> Vec<String> {
    let why = match reason {
        PruneReason::NotBuiltFrom(kind) => {
            format!("changes no file this {} is built from", kind.word())
        }
        PruneReason::OutsidePaths => "changes nothing under --paths".to_owned(),
    };
    let mut lines: Vec<String> = commits
        .iter()
        .take(PRUNED_LISTED)
        .map(|h| format!("skipping commit {h}: {why}"))
        .collect();
    if commits.len() > PRUNED_LISTED {
        let more = commits.len() - PRUNED_LISTED;
        lines.push(format!("skipping {more} more commits: {why}"));
    }
    lines
}

fn merged_fix(merged: &MergedFix) -> Vec<String> {
    match merged {
        MergedFix::Found { merge, side, base } => vec![format!(
            "the fix came in with merge {merge}: its branch {side} forked at {base}"
        )],
        MergedFix::MergeItself => {
            vec!["the branch's tip still crashes: the merge itself fixed it".into()]
        }
        MergedFix::FromBranch { base, commits } => {
            let mut lines = vec![format!(
                "the branch forked before the bug came in ({base} does not crash): the fix came with its {} commit(s)",
                commits.len()
            )];
            lines.extend(commits.iter().map(|(c, t)| format!("  {c} {t}")));
            lines
        }
        MergedFix::Inside => vec!["the branch carried the bug: bisecting inside it".into()],
    }
}

fn culprit(direction: Direction, commit: &str, show: &str, patch: Option<&str>) -> Vec<String> {
    let mut lines = vec![
        format!("{commit} is the first {} commit", first_word(direction)),
        show.trim_end().to_owned(),
    ];
    if let Some(patch) = patch {
        lines.push(String::new());
        lines.push(patch.trim_end().to_owned());
    }
    lines.push(String::new());
    lines
}

fn signatures(
    kind: BuildKind,
    own: &str,
    parent: &ParentBuild,
    same_as: Option<&str>,
) -> Vec<String> {
    let mut lines = vec![format!("culprit signature: {own}")];
    match parent {
        ParentBuild::Signature(p) => {
            lines.push(match same_as {
                Some(a) => format!(
                    "parent  signature: {p} (that of {a}: the parent changes no file this {} is built from)",
                    kind.word()
                ),
                None => format!("parent  signature: {p}"),
            });
            if p == own {
                lines.push(format!(
                    "the culprit does not change the {}: its signature equals its parent's",
                    kind.word()
                ));
            }
        }
        ParentBuild::Failed(reason) => {
            lines.push(format!("parent  signature: none (build failed: {reason})"))
        }
    }
    lines
}

/// What the revert check means, in plain words.
fn verified(
    direction: Direction,
    hash: &str,
    verdict: VerificationVerdict,
    confidence: f64,
) -> String {
    let pct = confidence * 100.0;
    match (direction, verdict) {
        (_, VerificationVerdict::Conflicts) => {
            format!("the revert of {hash} does not apply cleanly: not verified")
        }
        (_, VerificationVerdict::BuildFailed) => {
            format!("the revert of {hash} does not build: not verified")
        }
        (Direction::Cause, VerificationVerdict::Fixes) => {
            format!("reverting {hash} removes the crash: culprit confirmed (confidence {pct:.1}%)")
        }
        (Direction::Cause, VerificationVerdict::StillCrashes) => format!(
            "reverting {hash} does not remove the crash: it may not be the culprit (it may only have made the crash reachable); confidence lowered to {pct:.1}%"
        ),
        (Direction::Fix, VerificationVerdict::Crashes) => {
            format!("reverting {hash} brings the crash back: fix confirmed (confidence {pct:.1}%)")
        }
        (Direction::Fix, VerificationVerdict::StillFixed) => format!(
            "reverting {hash} does not bring the crash back: it may not be the fix; confidence lowered to {pct:.1}%"
        ),
        _ => format!("the runs of the revert of {hash} tell nothing: not verified"),
    }
}

fn always_bad(why: &AlwaysBad) -> String {
    match why {
        AlwaysBad::AtGood(good) => format!("the crash happens at --good {good}"),
        AlwaysBad::AtGoodEnd(good) => {
            format!("the crash still happens at the good end {good}")
        }
        AlwaysBad::OldestRelease(name) => {
            format!("the crash happens on the oldest tested release {name}")
        }
        AlwaysBad::AtOldEnd { olds, confidence } => format!(
            "the crash seems to happen at the old end {} too (confidence {confidence:.2})",
            olds.join(" ")
        ),
    }
}

/// Runs after a commit's first batch, told as one line.
#[derive(Debug)]
struct Batch {
    commit: String,
    from: u32,
    lines: Vec<String>,
}

impl Batch {
    /// `runs #3-#7 on HASH: 4 OK, 1 crashed: TITLE` (outcomes counted, in
    /// the order they first appear), or `run #3 on HASH: OK`.
    fn line(&self) -> String {
        let (from, lines) = (self.from, &self.lines);
        let last = from as usize + lines.len().max(1) - 1;
        let runs = match lines.len() {
            1 => format!("run #{from} on {}", short(&self.commit)),
            _ => format!("runs #{from}-#{last} on {}", short(&self.commit)),
        };
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for line in lines {
            match counts.iter_mut().find(|(l, _)| *l == line.as_str()) {
                Some((_, n)) => *n += 1,
                None => counts.push((line, 1)),
            }
        }
        let parts: Vec<String> = match counts.as_slice() {
            [(only, _)] if lines.len() == 1 => vec![only.to_string()],
            _ => counts.iter().map(|(l, n)| format!("{n} {l}")).collect(),
        };
        format!("{runs}: {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use culprit_bisect::outcome::Relation;

    fn log(events: &[Event]) -> String {
        let mut text = TextLog::new(Vec::new());
        for e in events {
            text.event(e);
        }
        String::from_utf8(text.into_inner()).unwrap()
    }

    fn crash(title: &str) -> RunLine {
        RunLine::Crash {
            title: title.into(),
            failed: false,
            relation: Relation::Target,
        }
    }

    #[test]
    fn later_runs_at_one_commit_are_gathered_on_one_line() {
        let h = "0123456789abcdef0123456789abcdef01234567";
        let runs = |from, runs| Event::Runs {
            commit: h.into(),
            from,
            runs,
        };
        let text = log(&[
            runs(0, vec![RunLine::Ok, crash("WARNING in f")]),
            runs(2, vec![RunLine::Ok]),
            runs(3, vec![crash("WARNING in f"), RunLine::Ok]),
            Event::Verdict {
                commit: h.into(),
                verdict: culprit_bisect::StepVerdict::Bad,
            },
            runs(5, vec![RunLine::Ok]),
        ]);
        assert_eq!(
            text,
            format!(
                "run #0: OK\nrun #1: crashed: WARNING in f\n\
                 runs #2-#4 on 0123456789ab: 2 OK, 1 crashed: WARNING in f\n\
                 # git bisect bad {h}\nrun #5 on 0123456789ab: OK\n"
            )
        );
    }

    #[test]
    fn bisecting_lines_speak_like_git() {
        assert_eq!(
            bisecting_line(0, 0),
            "Bisecting: 0 revisions left to test after this (roughly 0 steps)"
        );
        assert_eq!(
            bisecting_line(1, 1),
            "Bisecting: 1 revision left to test after this (roughly 1 step)"
        );
    }

    #[test]
    fn first_runs_that_agree_are_one_line() {
        let text = log(&[Event::Runs {
            commit: "abc".into(),
            from: 0,
            runs: vec![RunLine::Ok; 3],
        }]);
        assert_eq!(text, "all runs: OK\n");
    }

    #[test]
    fn many_pruned_commits_are_counted() {
        let commits: Vec<String> = (0..103).map(|i| format!("{i:040}")).collect();
        let text = log(&[Event::Pruned {
            commits,
            reason: PruneReason::OutsidePaths,
        }]);
        assert_eq!(text.lines().count(), 101);
        assert!(text.ends_with("skipping 3 more commits: changes nothing under --paths\n"));
    }
}
