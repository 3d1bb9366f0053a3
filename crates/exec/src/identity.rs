//! Whether a crash of another title is the bug being bisected, read from
//! the two reports with `culprit-report` (same location, same callers,
//! known alternative titles); and whether a report is the crash a title
//! the user gave names (syzbot's title, where culprit's differs).

use culprit_bisect::{CrashSeen, SameBug};
use culprit_report::Identity;

/// Relates crashes by what their reports show.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportRelations;

impl SameBug for ReportRelations {
    fn relate(&self, target: CrashSeen<'_>, crash: CrashSeen<'_>) -> Option<String> {
        let (a, b) = (identity(target)?, identity(crash)?);
        culprit_report::relate(&a, &b).map(|r| r.to_string())
    }

    fn recognise(&self, asked: &str, crash: CrashSeen<'_>) -> Option<String> {
        let report = culprit_report::parse(crash.report.as_bytes())
            .into_iter()
            .find(|r| !r.suppressed)?;
        culprit_report::recognise(asked, &report).map(|r| r.to_string())
    }
}

/// The identity of a crash from its report; the title is the one the run
/// was given (the report may be cut).
fn identity(crash: CrashSeen<'_>) -> Option<Identity> {
    let report = culprit_report::parse(crash.report.as_bytes())
        .into_iter()
        .find(|r| !r.suppressed)?;
    let mut identity = Identity::of(&report);
    identity.title = crash.title.to_owned();
    Some(identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warning(func: &str, line: u32, caller: &str) -> String {
        format!(
            "------------[ cut here ]------------\n\
             WARNING: CPU: 0 PID: 1 at kernel/foo.c:{line} {func}+0x10/0x20 kernel/foo.c:{line}\n\
             Modules linked in:\n\
             CPU: 0 PID: 1 Comm: a.out Not tainted 6.1.0 #1\n\
             RIP: 0010:{func}+0x10/0x20 kernel/foo.c:{line}\n\
             Call Trace:\n <TASK>\n {caller}+0x1/0x2 kernel/bar.c:1\n \
             __do_sys_prctl+0x1/0x2 kernel/sys.c:2\n \
             do_syscall_64+0x35/0xb0 arch/x86/entry/common.c:80\n \
             entry_SYSCALL_64_after_hwframe+0x44/0xae\n </TASK>\n"
        )
    }

    #[test]
    fn a_renamed_function_is_the_same_bug_and_another_place_is_not() {
        let before = warning("foo", 10, "bar");
        let after = warning("foo_checked", 10, "bar");
        let elsewhere = warning("baz", 40, "qux");
        let seen = |title, report| CrashSeen { title, report };
        let same = ReportRelations.relate(
            seen("WARNING in foo_checked", &after),
            seen("WARNING in foo", &before),
        );
        assert!(same.is_some_and(|why| why.starts_with("same ")));
        let other = ReportRelations.relate(
            seen("WARNING in foo_checked", &after),
            seen("WARNING in baz", &elsewhere),
        );
        assert_eq!(other, None);
    }
}
