//! How a run ended, decided from the console output and QEMU's exit.
use std::time::Duration;

use crate::markers::{DONE_MARKER, START_MARKER, STATUS_MARKER};
use crate::run_kind::find_from;
pub use crate::run_kind::RunKind;
use crate::syz_console::{classify_syz, ExecutorFailures, Phases};

/// How QEMU ended, as seen from the host.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ending {
    /// We killed QEMU because a deadline passed.
    pub timed_out: bool,
    /// The boot deadline, for wording a boot that never finished.
    pub boot_timeout: Duration,
    /// QEMU's exit code; None if it was killed by a signal.
    pub exit_code: Option<i32>,
    /// The end of QEMU's standard error.
    pub stderr: String,
}

/// Classifies a run; also returns the reproducer's exit status if `/init` printed it.
///
/// A crash printed before the start marker is a boot failure with that title.
/// A reproducer stopped by its time limit is OK unless the kernel reported a
/// crash (a hung task report, for instance, is a crash like any other).
/// A syz run is read by its phases (see [`crate::syz_console`]).
/// `failures` says whether a machine that stops talking is the bug.
pub(crate) fn classify(
    console: &[u8],
    ending: &Ending,
    failures: ExecutorFailures,
) -> (RunKind, Option<i32>) {
    let status = repro_status(console);
    // Kernel reports only: the reproducer's own messages (a segfault, say)
    // are not a kernel crash.
    let reports: Vec<_> = culprit_report::parse_kernel(console)
        .into_iter()
        .filter(|r| !r.suppressed)
        .collect();
    let Some(start) = find(console, START_MARKER) else {
        return (before_start(console, reports.first(), ending), status);
    };
    if let Some(boot_crash) = reports.iter().find(|r| r.start < start) {
        return (RunKind::BootFailed(boot_crash.title.clone()), status);
    }
    let phases = Phases::find(console, start);
    if let Some(phases) = &phases {
        if let Some(kind) = classify_syz(console, phases, &reports, failures) {
            return (kind, status);
        }
    }
    if let (None, Some(crash)) = (&phases, reports.first()) {
        let kind = RunKind::Crashed {
            title: crash.title.clone(),
            report: crash.text.clone(),
        };
        return (kind, status);
    }
    if find(console, DONE_MARKER).is_some() {
        return (RunKind::Ok, status);
    }
    let kind = after_start(console, start, ending);
    (machine_failure(kind, console, failures), status)
}

/// A machine that stopped talking or went silent: a crash with syzbot's
/// title when that is the bug being bisected.
fn machine_failure(kind: RunKind, console: &[u8], failures: ExecutorFailures) -> RunKind {
    let is_machine = matches!(kind, RunKind::LostConnection | RunKind::NoOutput);
    if !is_machine || failures != ExecutorFailures::AreTheBug {
        return kind;
    }
    let text = String::from_utf8_lossy(console);
    let lines: Vec<&str> = text.lines().collect();
    RunKind::Crashed {
        title: kind.describe(),
        report: lines[lines.len().saturating_sub(50)..].join("\n"),
    }
}

/// The kernel never printed the start marker.
fn before_start(
    console: &[u8],
    crash: Option<&culprit_report::Report>,
    ending: &Ending,
) -> RunKind {
    if let Some(crash) = crash {
        return RunKind::BootFailed(crash.title.clone());
    }
    if let Some(infra) = qemu_failure(ending) {
        return infra;
    }
    if console.iter().all(u8::is_ascii_whitespace) {
        return RunKind::NoOutput;
    }
    if ending.timed_out {
        let secs = ending.boot_timeout.as_secs();
        RunKind::BootFailed(format!("reproducer not started after {secs}s"))
    } else {
        RunKind::BootFailed("test machine stopped before the reproducer started".to_string())
    }
}

/// The reproducer started but neither finished nor crashed the kernel.
fn after_start(console: &[u8], start: usize, ending: &Ending) -> RunKind {
    if let Some(infra) = qemu_failure(ending) {
        return infra;
    }
    let after_marker_line = console[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(&[][..], |nl| &console[start + nl + 1..]);
    if ending.timed_out && after_marker_line.iter().all(u8::is_ascii_whitespace) {
        RunKind::NoOutput
    } else {
        RunKind::LostConnection
    }
}

/// QEMU exited by itself with an error (or was killed by someone else).
fn qemu_failure(ending: &Ending) -> Option<RunKind> {
    if ending.timed_out || ending.exit_code == Some(0) {
        return None;
    }
    let how = match ending.exit_code {
        Some(code) => format!("qemu exited with status {code}"),
        None => "qemu was killed by a signal".to_string(),
    };
    let detail = ending.stderr.trim();
    Some(RunKind::Infra(if detail.is_empty() {
        how
    } else {
        format!("{how}: {detail}")
    }))
}

fn repro_status(console: &[u8]) -> Option<i32> {
    let at = find(console, STATUS_MARKER)? + STATUS_MARKER.len();
    let digits: String = console[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| char::from(b))
        .collect();
    digits.parse().ok()
}

/// Position of `needle` at the start of a console line.
pub(crate) fn find(haystack: &[u8], needle: &str) -> Option<usize> {
    find_from(haystack, needle, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of C reproducers and scripts, with the default setting.
    fn classify(console: &[u8], ending: &Ending) -> (RunKind, Option<i32>) {
        super::classify(console, ending, ExecutorFailures::AreInfrastructure)
    }

    const BOOT: &str = "Linux version 6.1.0\nRun /init as init process\n";
    const WARNING: &str = "------------[ cut here ]------------\nWARNING: CPU: 0 PID: 1 at fs/foo.c:12 foo_write+0x10/0x20\nModules linked in:\nCPU: 0 PID: 1 Comm: repro Not tainted 6.1.0 #1\nRIP: 0010:foo_write+0x10/0x20\nCall Trace:\n <TASK>\n vfs_write+0x1/0x2\n ksys_write+0x1/0x2\n do_syscall_64+0x1/0x2\n entry_SYSCALL_64_after_hwframe+0x1/0x2\n </TASK>\n---[ end trace 0000000000000000 ]---\n";

    fn exited(code: i32) -> Ending {
        Ending {
            exit_code: Some(code),
            ..Ending::default()
        }
    }

    fn timed_out() -> Ending {
        Ending {
            timed_out: true,
            boot_timeout: Duration::from_secs(30),
            ..Ending::default()
        }
    }

    fn started() -> String {
        format!("{BOOT}{START_MARKER} (time limit 5s)\n")
    }

    #[test]
    fn finished_reproducer_is_ok_with_its_status() {
        let log = format!(
            "{}{STATUS_MARKER}137\n{DONE_MARKER}\nreboot: Restarting system\n",
            started()
        );
        let (kind, status) = classify(log.as_bytes(), &exited(0));
        assert_eq!(kind, RunKind::Ok);
        assert_eq!(status, Some(137));
        assert_eq!(kind.describe(), "OK");
    }

    #[test]
    fn crash_after_start_is_crashed_with_the_parser_title() {
        let log = format!("{}{WARNING}", started());
        let (kind, _) = classify(log.as_bytes(), &exited(0));
        let RunKind::Crashed { title, report } = &kind else {
            panic!("not a crash: {kind:?}");
        };
        assert_eq!(title, "WARNING in foo_write");
        assert!(report.contains("foo_write"));
        assert_eq!(kind.describe(), "crashed: WARNING in foo_write");
    }

    #[test]
    fn crash_before_start_is_a_boot_failure_with_its_title() {
        let log = format!("{BOOT}{WARNING}{START_MARKER}\n{DONE_MARKER}\n");
        let (kind, _) = classify(log.as_bytes(), &exited(0));
        assert_eq!(kind.describe(), "boot failed: WARNING in foo_write");
        let (kind, _) = classify(format!("{BOOT}{WARNING}").as_bytes(), &timed_out());
        assert_eq!(kind.describe(), "boot failed: WARNING in foo_write");
    }

    #[test]
    fn silent_machine_is_no_output() {
        assert_eq!(classify(b"", &timed_out()).0, RunKind::NoOutput);
        assert_eq!(classify(b"\r\n", &exited(0)).0, RunKind::NoOutput);
        let (kind, _) = classify(started().as_bytes(), &timed_out());
        assert_eq!(kind.describe(), "no output from test machine");
    }

    #[test]
    fn boot_that_never_reaches_the_reproducer_is_boot_failed() {
        let (kind, _) = classify(BOOT.as_bytes(), &timed_out());
        assert_eq!(
            kind.describe(),
            "boot failed: reproducer not started after 30s"
        );
        let (kind, _) = classify(BOOT.as_bytes(), &exited(0));
        assert!(matches!(kind, RunKind::BootFailed(_)), "{kind:?}");
    }

    #[test]
    fn machine_gone_mid_run_is_lost_connection() {
        let log = format!("{}repro: working\n", started());
        assert_eq!(
            classify(log.as_bytes(), &timed_out()).0,
            RunKind::LostConnection
        );
        assert_eq!(
            classify(log.as_bytes(), &exited(0)).0,
            RunKind::LostConnection
        );
    }

    #[test]
    fn qemu_error_is_an_infrastructure_problem() {
        let ending = Ending {
            stderr: "qemu-system-x86_64: could not load kernel '/x'\n".to_string(),
            ..exited(1)
        };
        let (kind, _) = classify(b"", &ending);
        assert_eq!(
            kind.describe(),
            "infrastructure problem: qemu exited with status 1: qemu-system-x86_64: could not load kernel '/x'"
        );
        let killed = Ending::default();
        assert!(matches!(
            classify(started().as_bytes(), &killed).0,
            RunKind::Infra(_)
        ));
    }

    #[test]
    fn markers_count_only_at_line_start() {
        let log = format!("echo {START_MARKER}\n");
        assert_eq!(find(log.as_bytes(), START_MARKER), None);
        assert_eq!(find(started().as_bytes(), START_MARKER), Some(BOOT.len()));
    }
}
