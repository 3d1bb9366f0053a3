//! User-space crashes for the generic mode: AddressSanitizer, LeakSanitizer
//! and UndefinedBehaviorSanitizer reports, Rust panics, aborts and segfaults.
//! (Go panics start with `panic: ` like syzkaller's own and are found by the
//! kernel table.)
//!
//! Titles have the kernel's shape (`<kind> in <function>`) and hold nothing
//! that changes between runs: no addresses, pids or line numbers.

use crate::crash::{CrashType, Report};
use crate::frames::clean_func;
use crate::lines::{self, Line};
use crate::title::normalize;
use aho_corasick::AhoCorasick;
use std::sync::OnceLock;

/// Lines of a sanitizer report looked at for its stack.
const MAX_LINES: usize = 400;

const MARKERS: [&str; 7] = [
    "ERROR: AddressSanitizer: ",
    "ERROR: LeakSanitizer: ",
    "ERROR: HWAddressSanitizer: ",
    "runtime error: ",
    "' panicked at ",
    "Aborted",
    "Segmentation fault",
];

fn searcher() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(MARKERS)
            .unwrap_or_else(|e| panic!("user markers: {e}"))
    })
}

/// Every user-space crash report in `log`.
pub fn parse(log: &[u8]) -> Vec<Report> {
    let mut reports = Vec::new();
    let mut pos = 0;
    while pos < log.len() {
        let Some(found) = searcher().find(&log[pos..]) else {
            break;
        };
        let line = lines::line_at(log, pos + found.start());
        let text = crate::lines::text(line.text).into_owned();
        let report = match found.pattern().as_usize() {
            0 | 2 => asan(log, line, &text),
            1 => lsan(log, line),
            3 => ubsan(log, line, &text),
            4 => rust_panic(log, line, &text),
            5 => killed(line, &text, "Aborted"),
            _ => killed(line, &text, "Segmentation fault"),
        };
        pos = line.end;
        if let Some(report) = report {
            pos = pos.max(report.end);
            reports.push(report);
        }
    }
    reports
}

/// Lines from `first` on, at most `max`, as text.
fn following<'a>(log: &'a [u8], first: Line<'a>, max: usize) -> Vec<(Line<'a>, String)> {
    lines::lines_from(log, first.start)
        .take(max)
        .map(|l| {
            let text = crate::lines::text(l.text).into_owned();
            (l, text)
        })
        .collect()
}

/// A sanitizer stack frame `#N 0xADDR in func file:line`: the function.
fn sanitizer_frame(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix('#')?;
    let (num, rest) = rest.split_once(' ')?;
    if !num.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let rest = rest.trim_start();
    let rest = rest
        .strip_prefix("0x")
        .map(|r| {
            r.trim_start_matches(|c: char| c.is_ascii_hexdigit())
                .trim_start()
        })
        .unwrap_or(rest);
    let func = rest.strip_prefix("in ")?;
    let func = func.split(" /").next().unwrap_or(func);
    let func = func.split(" (").next().unwrap_or(func).trim();
    // Drop argument lists of C++ symbols and the file:line part.
    let func = match func.find('(') {
        Some(i) if i > 0 => &func[..i],
        _ => func.split(' ').next().unwrap_or(func),
    };
    (!func.is_empty()).then(|| clean_func(func))
}

/// Sanitizer runtime, libc and allocator frames a title never names.
fn is_runtime(func: &str) -> bool {
    const RUNTIME: [&str; 14] = [
        "__asan",
        "__interceptor",
        "__sanitizer",
        "__lsan",
        "__ubsan",
        "__hwasan",
        "___interceptor",
        "operator new",
        "operator delete",
        "__libc",
        "_start",
        "__GI_",
        "___asan",
        "__msan",
    ];
    const EXACT: [&str; 16] = [
        "malloc",
        "calloc",
        "realloc",
        "free",
        "strdup",
        "strndup",
        "memcpy",
        "memmove",
        "memset",
        "memcmp",
        "strlen",
        "strcpy",
        "strcmp",
        "abort",
        "raise",
        "posix_memalign",
    ];
    RUNTIME.iter().any(|p| func.starts_with(p))
        || EXACT.contains(&func)
        || func.starts_with("std::")
        || func.starts_with("__cxa")
}

/// The first frame of the first stack after the header that is user code.
fn first_user_frame(lines: &[(Line<'_>, String)]) -> Option<String> {
    let mut seen_stack = false;
    for (_, text) in lines.iter().skip(1) {
        match sanitizer_frame(text) {
            Some(f) if !is_runtime(&f) => return Some(f),
            Some(_) => seen_stack = true,
            None if seen_stack && text.trim().is_empty() => return None,
            None => {}
        }
    }
    None
}

/// Where a sanitizer report ends: its `SUMMARY:` or `ABORTING` line.
fn sanitizer_end(lines: &[(Line<'_>, String)]) -> usize {
    let last = lines
        .iter()
        .position(|(_, t)| t.starts_with("SUMMARY: ") || t.contains("ABORTING"));
    let last = last.unwrap_or(lines.len().saturating_sub(1));
    lines.get(last).map_or(0, |(l, _)| l.end)
}

fn report(
    title: String,
    kind: CrashType,
    frame: Option<String>,
    start: usize,
    end: usize,
    lines: &[(Line<'_>, String)],
) -> Report {
    let text: String = lines
        .iter()
        .take_while(|(l, _)| l.start < end)
        .map(|(_, t)| format!("{t}\n"))
        .collect();
    let corrupted_reason = frame
        .is_none()
        .then(|| "no stack trace".to_string())
        .filter(|_| title.ends_with("corrupted"));
    Report {
        title,
        alt_titles: Vec::new(),
        kind,
        corrupted: corrupted_reason.is_some(),
        corrupted_reason,
        suppressed: false,
        frame,
        start,
        end,
        text,
    }
}

fn asan(log: &[u8], line: Line<'_>, text: &str) -> Option<Report> {
    let tool = if text.contains("HWAddressSanitizer") {
        "HWAddressSanitizer"
    } else {
        "AddressSanitizer"
    };
    let after = text.split_once("Sanitizer: ")?.1;
    let bug = after.split([' ', ':']).next().unwrap_or("unknown");
    let lines = following(log, line, MAX_LINES);
    let access = lines.iter().take(6).find_map(|(_, t)| {
        let t = t.trim_start();
        if t.starts_with("READ of size") {
            Some(" Read")
        } else if t.starts_with("WRITE of size") {
            Some(" Write")
        } else {
            None
        }
    });
    let frame = first_user_frame(&lines);
    let head = format!("{tool}: {bug}{}", access.unwrap_or(""));
    let title = format!("{head} in {}", frame.as_deref().unwrap_or("corrupted"));
    let kind = if bug == "SEGV" {
        CrashType::DoS
    } else {
        CrashType::MemorySafetyBug
    };
    Some(report(
        title,
        kind,
        frame,
        line.start,
        sanitizer_end(&lines),
        &lines,
    ))
}

fn lsan(log: &[u8], line: Line<'_>) -> Option<Report> {
    let lines = following(log, line, MAX_LINES);
    let frame = first_user_frame(&lines);
    let title = format!(
        "LeakSanitizer: memory leak in {}",
        frame.as_deref().unwrap_or("corrupted")
    );
    Some(report(
        title,
        CrashType::Leak,
        frame,
        line.start,
        sanitizer_end(&lines),
        &lines,
    ))
}

/// `file.c:12:5: runtime error: signed integer overflow: 1 + 2 ...`
fn ubsan(log: &[u8], line: Line<'_>, text: &str) -> Option<Report> {
    let (location, message) = text.split_once(": runtime error: ")?;
    let file = location.split(':').next()?.rsplit('/').next()?.trim();
    if file.is_empty() || file.contains(' ') {
        return None;
    }
    let what = message.split(':').next().unwrap_or(message);
    let what = normalize(what.split(" of type").next().unwrap_or(what));
    let lines = following(log, line, 64);
    let stack: Vec<_> = lines
        .iter()
        .skip(1)
        .take_while(|(_, t)| sanitizer_frame(t).is_some())
        .cloned()
        .collect();
    let frame = first_user_frame(&[vec![lines[0].clone()], stack.clone()].concat())
        .unwrap_or_else(|| file.to_string());
    let end = stack.last().map_or(line.end, |(l, _)| l.end);
    let title = format!("UBSan: {what} in {frame}");
    Some(report(
        title,
        CrashType::Ubsan,
        Some(frame),
        line.start,
        end,
        &lines,
    ))
}

/// `thread 'main' panicked at src/main.rs:3:5:` then the message (Rust 1.73+),
/// or `thread 'main' panicked at 'message', src/main.rs:3:5` (older).
fn rust_panic(log: &[u8], line: Line<'_>, text: &str) -> Option<Report> {
    let after = text.split_once("' panicked at ")?.1;
    let lines = following(log, line, 64);
    let (location, message) = if let Some(quoted) = after.strip_prefix('\'') {
        let (msg, loc) = quoted.rsplit_once("', ")?;
        (loc.to_string(), msg.to_string())
    } else {
        let loc = after.trim_end().trim_end_matches(':').to_string();
        let msg = lines.get(1).map(|(_, t)| t.clone()).unwrap_or_default();
        (loc, msg)
    };
    let file = location.split(':').next().unwrap_or(&location).to_string();
    let message = normalize(message.trim());
    let message: String = message.chars().take(100).collect();
    let title = if message.is_empty() {
        format!("panic in {file}")
    } else {
        format!("panic in {file}: {message}")
    };
    let end = lines
        .get(1)
        .or(lines.first())
        .map_or(line.end, |(l, _)| l.end);
    let end = lines
        .iter()
        .take_while(|(l, t)| {
            l.start < end
                || t.starts_with("stack backtrace")
                || t.starts_with("note: ")
                || t.trim_start().starts_with(|c: char| c.is_ascii_digit())
                || t.trim_start().starts_with("at ")
        })
        .last()
        .map_or(end, |(l, _)| l.end);
    Some(report(
        title,
        CrashType::DoS,
        Some(file),
        line.start,
        end,
        &lines,
    ))
}

/// Shell and kernel notices that a program died of SIGABRT or SIGSEGV:
/// `bash: line 1:  123 Aborted (core dumped) ./prog`, `Segmentation fault`.
fn killed(line: Line<'_>, text: &str, what: &str) -> Option<Report> {
    let at = text.find(what)?;
    let before = text[..at].trim_end();
    // Only shell-style notices: the word starts the line or follows a pid.
    let starts = before.is_empty()
        || before
            .rsplit(' ')
            .next()
            .is_some_and(|w| w.bytes().all(|c| c.is_ascii_digit()));
    if !starts {
        return None;
    }
    let after = text[at + what.len()..].trim_start();
    let after = after.strip_prefix("(core dumped)").unwrap_or(after).trim();
    let program = after
        .split_whitespace()
        .next()
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string());
    let title = match &program {
        Some(p) if !p.is_empty() => format!("{what} in {p}"),
        _ => what.to_string(),
    };
    let lines = vec![(line, text.to_string())];
    Some(report(
        title,
        CrashType::DoS,
        program,
        line.start,
        line.end,
        &lines,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sanitizer_frames() {
        assert_eq!(
            sanitizer_frame("    #0 0x4f3b2c in use_after /src/a.c:12:3").as_deref(),
            Some("use_after")
        );
        assert_eq!(
            sanitizer_frame("    #1 0x7f in main (/bin/prog+0x1234)").as_deref(),
            Some("main")
        );
        assert_eq!(
            sanitizer_frame("    #2 0x7f in Foo::bar(int) /x.cc:3").as_deref(),
            Some("Foo::bar")
        );
        assert_eq!(sanitizer_frame("#x nothing"), None);
    }

    #[test]
    fn names_killed_programs() {
        let log = b"bash: line 1:  4242 Aborted                 (core dumped) ./tests/run\n";
        let r = parse(log);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].title, "Aborted in run");
        assert!(parse(b"the test Aborted gracefully\n").is_empty());
    }
}
