//! How a run of a syz reproducer ended, from its console (see
//! [`crate::syz`] for what the guest prints).
//!
//! - a kernel crash during the basic test, or the basic test failing
//!   (`SYZFAIL:`/`SYZFATAL:`, or execprog's exit status not 0): "basic
//!   kernel testing failed: TITLE", a run that is neither good nor bad
//!   ([`RunKind::BootFailed`], described in syzbot's words);
//! - a kernel crash after it: crashed;
//! - failures of the tools themselves while the syz program runs
//!   (`SYZFAIL:`, `SYZFATAL:`, a Go panic of execprog, execprog exiting
//!   with an error, or printing nothing): infrastructure problems, unless
//!   [`ExecutorFailures::AreTheBug`], where a `SYZFAIL:`/`SYZFATAL:` line
//!   is a crash titled by that line;
//! - otherwise as any run (OK when done, else lost connection or no output).
use culprit_report::{CrashType, Report};

use crate::markers::{BASIC_MARKER, BASIC_STATUS_MARKER, SYZ_MARKER, SYZ_STATUS_MARKER};
use crate::run_kind::{find_from, RunKind};

/// Whether failures of syzkaller's tools and of the test machine are the
/// bug being bisected (bugs titled `SYZFAIL: ...`, `SYZFATAL: ...`, `lost
/// connection to test machine`, `no output from test machine` exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutorFailures {
    /// Infrastructure problems (the default): no evidence about the bug.
    #[default]
    AreInfrastructure,
    /// Crashes: `SYZFAIL:`/`SYZFATAL:` lines crash with their line as the
    /// title; a machine that stops talking or goes silent crashes as
    /// `lost connection to test machine` / `no output from test machine`.
    AreTheBug,
}

impl ExecutorFailures {
    /// The setting for bisecting the crash titled `title`.
    pub fn for_crash(title: &str) -> ExecutorFailures {
        let title = title.trim();
        let tooling = title.starts_with("SYZFAIL:")
            || title.starts_with("SYZFATAL:")
            || title == RunKind::LostConnection.describe()
            || title == RunKind::NoOutput.describe();
        match tooling {
            true => ExecutorFailures::AreTheBug,
            false => ExecutorFailures::AreInfrastructure,
        }
    }
}

/// Where the phases of a syz run are in the console.
pub(crate) struct Phases {
    basic: usize,
    basic_end: Option<(usize, Option<i32>)>,
    syz: Option<usize>,
    syz_end: Option<(usize, Option<i32>)>,
}

impl Phases {
    /// The phases after `start` (the start marker), if this is a syz run.
    pub(crate) fn find(console: &[u8], start: usize) -> Option<Phases> {
        let basic = find_from(console, BASIC_MARKER, start)?;
        let basic_end = status_line(console, BASIC_STATUS_MARKER, basic);
        let syz = basic_end.and_then(|(at, _)| find_from(console, SYZ_MARKER, at));
        let syz_end = syz.and_then(|at| status_line(console, SYZ_STATUS_MARKER, at));
        Some(Phases {
            basic,
            basic_end,
            syz,
            syz_end,
        })
    }
}

/// The outcome of a syz run whose phases are known; `None`: nothing
/// particular to syz runs happened (classify as any run).
pub(crate) fn classify_syz(
    console: &[u8],
    phases: &Phases,
    reports: &[Report],
    failures: ExecutorFailures,
) -> Option<RunKind> {
    let basic_end = phases.basic_end.map_or(console.len(), |(at, _)| at);
    let (kernel, tools): (Vec<&Report>, Vec<&Report>) =
        reports.iter().partition(|r| !is_tool_report(r));
    let tool_lines = tool_failures(console, phases.basic);
    if let Some(title) = basic_failure(console, phases, &kernel, &tool_lines, basic_end) {
        return Some(RunKind::BootFailed(format!("{BASIC_FAILED}{title}")));
    }
    let after_basic = |at: usize| at >= basic_end;
    let tool_line = tool_lines.iter().find(|(at, _)| after_basic(*at));
    if failures == ExecutorFailures::AreTheBug {
        if let Some((at, title)) = tool_line {
            let crash_first = kernel.iter().any(|r| after_basic(r.start) && r.start < *at);
            if !crash_first {
                return Some(crashed(title, console, *at));
            }
        }
    }
    if let Some(crash) = kernel.iter().find(|r| after_basic(r.start)) {
        return Some(RunKind::Crashed {
            title: crash.title.clone(),
            report: crash.text.clone(),
        });
    }
    if let Some((_, line)) = tool_line {
        return Some(RunKind::Infra(format!("syz-executor failed: {line}")));
    }
    if let Some(tool) = tools.iter().find(|r| after_basic(r.start)) {
        return Some(RunKind::Infra(format!(
            "syz-execprog failed: {}",
            tool.title
        )));
    }
    execprog_failure(console, phases)
}

pub(crate) use crate::markers::BASIC_FAILED;

/// Why the basic test failed, if it did: a kernel crash or tool failure
/// during it, or execprog's non-zero status.
fn basic_failure(
    console: &[u8],
    phases: &Phases,
    kernel: &[&Report],
    tool_lines: &[(usize, String)],
    basic_end: usize,
) -> Option<String> {
    // From the start marker on (boot crashes are already out of the way).
    let during = |at: usize| at < basic_end;
    if let Some(crash) = kernel.iter().find(|r| during(r.start)) {
        return Some(crash.title.clone());
    }
    if let Some((_, line)) = tool_lines.iter().find(|(at, _)| during(*at)) {
        return Some(line.clone());
    }
    let (_, status) = phases.basic_end?;
    if status == Some(0) {
        return None;
    }
    let output = &console[line_end(console, phases.basic)..basic_end];
    let why = match last_line(output) {
        Some(line) => line,
        None => format!(
            "exit status {}",
            status.map_or("?".into(), |s| s.to_string())
        ),
    };
    Some(format!("BUG: program execution failed: {why}"))
}

/// execprog ended badly without a report: an error status, or no output.
fn execprog_failure(console: &[u8], phases: &Phases) -> Option<RunKind> {
    let syz = phases.syz?;
    let (end, status) = phases.syz_end?;
    let output = &console[line_end(console, syz)..end];
    let Some(last) = last_line(output) else {
        return Some(RunKind::Infra("no output from syz-execprog".into()));
    };
    // 0: it ran the program as often as asked; 137: killed at the time limit.
    match status {
        Some(0 | 137) => None,
        Some(code) => Some(RunKind::Infra(format!(
            "syz-execprog failed (exit status {code}): {last}"
        ))),
        None => None,
    }
}

/// Reports that come from syzkaller's tools rather than the kernel:
/// `SYZFAIL:`/`SYZFATAL:` and a Go panic or fatal error of execprog.
fn is_tool_report(report: &Report) -> bool {
    report.kind == CrashType::SyzFailure
        || report.title.starts_with("panic: ")
        || report.title == "go runtime error"
}

/// `SYZFAIL:`/`SYZFATAL:` lines at or after `from`, also after a Go log
/// timestamp (`2006/01/02 15:04:05 SYZFATAL: ...`): where and the line.
fn tool_failures(console: &[u8], from: usize) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut at = from;
    for line in console[from..].split(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let text = strip_log_time(text.trim_end());
        if text.starts_with("SYZFAIL:") || text.starts_with("SYZFATAL:") {
            found.push((at, text.trim().to_owned()));
        }
        at += line.len() + 1;
    }
    found
}

/// A line without the Go logger's `YYYY/MM/DD HH:MM:SS ` prefix.
fn strip_log_time(line: &str) -> &str {
    let b = line.as_bytes();
    let shape = b"dddd/dd/dd dd:dd:dd ";
    let matches = b.len() >= shape.len()
        && shape.iter().zip(b).all(|(&s, &c)| match s {
            b'd' => c.is_ascii_digit(),
            _ => c == s,
        });
    match matches {
        true => &line[shape.len()..],
        false => line,
    }
}

/// The last non-empty line of `output`, without a logger timestamp.
fn last_line(output: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(output);
    text.lines()
        .map(|l| strip_log_time(l.trim()).trim())
        .rfind(|l| !l.is_empty())
        .map(str::to_owned)
}

/// A marker line followed by a status: where it is and the status.
fn status_line(console: &[u8], marker: &str, from: usize) -> Option<(usize, Option<i32>)> {
    let at = find_from(console, marker, from)?;
    let digits: String = console[at + marker.len()..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| char::from(b))
        .collect();
    Some((at, digits.parse().ok()))
}

/// Just past the end of the line at `at`.
fn line_end(console: &[u8], at: usize) -> usize {
    console[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(console.len(), |nl| at + nl + 1)
}

/// A crash titled by a tool failure line, with the console from there.
fn crashed(title: &str, console: &[u8], at: usize) -> RunKind {
    let text = String::from_utf8_lossy(&console[at..]);
    let report: Vec<&str> = text.lines().take(50).collect();
    RunKind::Crashed {
        title: title.to_owned(),
        report: report.join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{classify, Ending};
    use crate::markers::{C_MARKER, DONE_MARKER, START_MARKER, STATUS_MARKER};

    const INFRA: ExecutorFailures = ExecutorFailures::AreInfrastructure;
    const BUG: ExecutorFailures = ExecutorFailures::AreTheBug;
    const WARNING: &str = "------------[ cut here ]------------\nWARNING: CPU: 0 PID: 81 at kernel/sys.c:2402 prctl_scratch_check+0x10/0x20\nModules linked in:\nCPU: 0 PID: 81 Comm: syz-executor Not tainted 6.1.0 #1\nRIP: 0010:prctl_scratch_check+0x10/0x20\nCall Trace:\n <TASK>\n __do_sys_prctl+0x1/0x2\n do_syscall_64+0x1/0x2\n entry_SYSCALL_64_after_hwframe+0x1/0x2\n </TASK>\n---[ end trace 0000000000000000 ]---\n";
    const PROGRAM_LINES: &str = "2026/12/07 01:00:00 parsed 1 programs\n2026/12/07 01:00:00 executed programs: 0\n2026/12/07 01:00:00 executing program 0:\nprctl$PR_SET_SCRATCH(0x53435231, 0x200000000, 0x0, 0x0, 0x0)\n";

    fn basic(status: i32, output: &str) -> String {
        format!(
            "Linux version 6.1.0\n{START_MARKER} (time limit 30s)\n{BASIC_MARKER}\n{output}{BASIC_STATUS_MARKER}{status}\n"
        )
    }

    fn syz(output: &str, status: i32) -> String {
        format!(
            "{}{SYZ_MARKER}\n{output}{SYZ_STATUS_MARKER}{status}\n",
            basic(0, PROGRAM_LINES)
        )
    }

    fn done(console: &str, status: i32) -> String {
        format!("{console}{STATUS_MARKER}{status}\n{DONE_MARKER}\n")
    }

    fn run(console: &str, failures: ExecutorFailures) -> RunKind {
        let ending = Ending {
            exit_code: Some(0),
            ..Ending::default()
        };
        classify(console.as_bytes(), &ending, failures).0
    }

    fn lost(console: &str, failures: ExecutorFailures) -> RunKind {
        let ending = Ending {
            timed_out: true,
            ..Ending::default()
        };
        classify(console.as_bytes(), &ending, failures).0
    }

    #[test]
    fn kernel_crash_under_the_syz_program_is_crashed() {
        let console = format!(
            "{}{SYZ_MARKER}\n{PROGRAM_LINES}{WARNING}",
            basic(0, PROGRAM_LINES)
        );
        assert_eq!(
            lost(&console, INFRA).describe(),
            "crashed: WARNING in prctl_scratch_check"
        );
    }

    #[test]
    fn program_that_runs_to_its_time_limit_is_ok() {
        assert_eq!(
            run(&done(&syz(PROGRAM_LINES, 137), 137), INFRA),
            RunKind::Ok
        );
        assert_eq!(run(&done(&syz(PROGRAM_LINES, 0), 0), INFRA), RunKind::Ok);
    }

    #[test]
    fn c_reproducer_after_the_syz_program_can_crash() {
        let console = format!(
            "{}{C_MARKER}\nrepro: prctl\n{WARNING}",
            syz(PROGRAM_LINES, 137)
        );
        assert_eq!(
            lost(&console, INFRA).describe(),
            "crashed: WARNING in prctl_scratch_check"
        );
        let clean = done(&format!("{}{C_MARKER}\n", syz(PROGRAM_LINES, 137)), 0);
        assert_eq!(run(&clean, INFRA), RunKind::Ok);
    }

    #[test]
    fn basic_testing_failures_are_neither_good_nor_bad() {
        let crash = format!(
            "{}{}",
            basic(0, "").trim_end_matches(&format!("{BASIC_STATUS_MARKER}0\n")),
            WARNING
        );
        let kind = lost(&crash, INFRA);
        assert!(matches!(kind, RunKind::BootFailed(_)), "{kind:?}");
        assert_eq!(
            kind.describe(),
            "basic kernel testing failed: WARNING in prctl_scratch_check"
        );

        let eof = "2026/12/07 01:00:00 SYZFATAL: executor 0 failed 11 times: executor 0: EOF\n";
        let kind = run(&done(&basic(1, eof), 1), BUG);
        assert_eq!(
            kind.describe(),
            "basic kernel testing failed: SYZFATAL: executor 0 failed 11 times: executor 0: EOF"
        );
        let plain = "2026/12/07 01:00:00 parsed 1 programs\n2026/12/07 01:00:01 executor 0: EOF\n";
        let kind = run(&done(&basic(1, plain), 1), INFRA);
        assert_eq!(
            kind.describe(),
            "basic kernel testing failed: BUG: program execution failed: executor 0: EOF"
        );
        let silent = run(&done(&basic(137, ""), 137), INFRA);
        assert_eq!(
            silent.describe(),
            "basic kernel testing failed: BUG: program execution failed: exit status 137"
        );
    }

    #[test]
    fn executor_failures_are_infrastructure_unless_they_are_the_bug() {
        let syzfail = format!("{PROGRAM_LINES}SYZFAIL: wrong response packet\n(errno 0: Success)\n2026/12/07 01:00:02 SYZFATAL: executor 0 failed 11 times: executor 0: exit status 67\n");
        let console = done(&syz(&syzfail, 1), 1);
        assert_eq!(
            run(&console, INFRA),
            RunKind::Infra("syz-executor failed: SYZFAIL: wrong response packet".into())
        );
        let RunKind::Crashed { title, report } = run(&console, BUG) else {
            panic!("not a crash");
        };
        assert_eq!(title, "SYZFAIL: wrong response packet");
        assert!(
            report.starts_with("SYZFAIL: wrong response packet\n(errno 0"),
            "{report}"
        );

        let fatal = format!("{PROGRAM_LINES}2026/12/07 01:00:02 SYZFATAL: executor 0 failed 11 times: executor 0: EOF\n");
        let console = done(&syz(&fatal, 1), 1);
        let kind = run(&console, INFRA);
        assert_eq!(kind.describe(), "infrastructure problem: syz-executor failed: SYZFATAL: executor 0 failed 11 times: executor 0: EOF");
        let kind = run(&console, BUG);
        assert_eq!(
            kind.describe(),
            "crashed: SYZFATAL: executor 0 failed 11 times: executor 0: EOF"
        );
    }

    #[test]
    fn execprog_errors_and_silence_are_infrastructure() {
        let failed = format!("{PROGRAM_LINES}2026/12/07 01:00:02 failed to create execution environment: /syz-executor: No such file or directory\n");
        assert_eq!(
            run(&done(&syz(&failed, 1), 1), INFRA).describe(),
            "infrastructure problem: syz-execprog failed (exit status 1): failed to create execution environment: /syz-executor: No such file or directory"
        );
        assert_eq!(
            run(&done(&syz("", 127), 127), INFRA),
            RunKind::Infra("no output from syz-execprog".into())
        );
        let panic = format!("{PROGRAM_LINES}panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n");
        let kind = run(&done(&syz(&panic, 2), 2), INFRA);
        assert!(
            matches!(&kind, RunKind::Infra(why) if why.starts_with("syz-execprog failed: panic: ")),
            "{kind:?}"
        );
    }

    #[test]
    fn a_kernel_crash_is_the_evidence_even_after_an_executor_failure() {
        let both = format!("{PROGRAM_LINES}SYZFAIL: wrong response packet\n{WARNING}");
        let console = format!("{}{SYZ_MARKER}\n{both}", basic(0, PROGRAM_LINES));
        assert_eq!(
            lost(&console, INFRA).describe(),
            "crashed: WARNING in prctl_scratch_check"
        );
        // Bisecting the SYZFAIL, the SYZFAIL that came first is the crash.
        assert_eq!(
            lost(&console, BUG).describe(),
            "crashed: SYZFAIL: wrong response packet"
        );
    }

    #[test]
    fn a_machine_that_goes_away_crashes_only_when_that_is_the_bug() {
        let console = format!("{}{SYZ_MARKER}\n{PROGRAM_LINES}", basic(0, PROGRAM_LINES));
        assert_eq!(lost(&console, INFRA), RunKind::LostConnection);
        let kind = lost(&console, BUG);
        assert_eq!(kind.describe(), "crashed: lost connection to test machine");
        // The same for a C reproducer: silence after the start marker.
        let c_run = format!("Linux version 6.1.0\n{START_MARKER} (time limit 5s)\n");
        assert_eq!(lost(&c_run, INFRA), RunKind::NoOutput);
        assert_eq!(
            lost(&c_run, BUG).describe(),
            "crashed: no output from test machine"
        );
    }

    #[test]
    fn tooling_titles_are_the_bug() {
        for title in [
            "SYZFAIL: wrong response packet",
            "SYZFATAL: executor failed NUM times: executor NUM: EOF",
            "lost connection to test machine",
            "no output from test machine",
        ] {
            assert_eq!(
                ExecutorFailures::for_crash(title),
                ExecutorFailures::AreTheBug,
                "{title}"
            );
        }
        for title in [
            "WARNING in foo",
            "KASAN: use-after-free Read in bar",
            "BUG: program execution failed",
        ] {
            assert_eq!(
                ExecutorFailures::for_crash(title),
                ExecutorFailures::AreInfrastructure
            );
        }
    }

    #[test]
    fn log_timestamps_are_stripped() {
        assert_eq!(
            strip_log_time("2026/12/07 01:27:08 SYZFATAL: x"),
            "SYZFATAL: x"
        );
        assert_eq!(strip_log_time("SYZFAIL: y"), "SYZFAIL: y");
        assert_eq!(
            strip_log_time("2026/12/07 executing"),
            "2026/12/07 executing"
        );
    }
}
