//! Kernel console output: finding oopses, cutting them out, naming them.

mod extract;
mod oopses;
mod shapes;
mod stall;
pub(crate) mod trace;

use crate::crash::{CrashType, Report};
use crate::lines::{self, Line};
use crate::title;
use aho_corasick::AhoCorasick;
use oopses::{Format, Oops};
use std::sync::OnceLock;

pub(crate) use shapes::title_kind;

/// Lines looked at after an oops header; reports are much shorter.
const MAX_REPORT_LINES: usize = 2000;

/// Bytes of a line kept in a report.
const MAX_LINE: usize = 4096;

/// Every kernel crash report in `log`, in order.
pub fn parse(log: &[u8]) -> Vec<Report> {
    let mut reports = Vec::new();
    let mut pos = 0;
    while let Some((line, oops)) = next_oops(log, pos) {
        let report = build_report(log, line, oops);
        pos = report.end.max(line.end);
        reports.push(report);
    }
    reports
}

/// Finds the first line at or after `from` that starts an oops.
fn next_oops(log: &[u8], from: usize) -> Option<(Line<'_>, &'static Oops)> {
    let mut pos = from;
    while pos < log.len() {
        let found = searcher().find(&log[pos..])?;
        let line = lines::line_at(log, pos + found.start());
        if let Some(oops) = oops_of(line.text) {
            if line.start >= from
                && (!oops.needs_earlier_output() || ran_before(&log[..line.start]))
            {
                return Some((line, oops));
            }
        }
        pos = line.end;
    }
    None
}

/// What the kernel's decompressor prints (with `earlyprintk`) before the
/// kernel's own first line: still the first boot, not a reboot.
const DECOMPRESSOR: [&str; 14] = [
    "early console in ",
    "input_data: 0x",
    "input_len: 0x",
    "output: 0x",
    "output_len: 0x",
    "kernel_total_size: 0x",
    "needed_size: 0x",
    "trampoline_32bit: 0x",
    "KASLR ",
    "Physical KASLR",
    "Virtual KASLR",
    "Decompressing Linux",
    "Parsing ELF",
    "Performing relocations",
];

/// Whether `before` shows something ran before a boot banner (firmware
/// and decompressor chatter aside): then the banner means the machine
/// rebooted.
fn ran_before(before: &[u8]) -> bool {
    const FIRMWARE: [&str; 8] = [
        "SeaBIOS",
        "iPXE",
        "Booting from",
        "Machine UUID",
        "Press",
        "virtio",
        "found ",
        "Total RAM",
    ];
    lines::lines_from(before, 0).any(|l| {
        let text = lines::text(l.text);
        let text = text.trim();
        !text.is_empty()
            && !FIRMWARE.iter().any(|f| text.starts_with(f))
            && !DECOMPRESSOR.iter().any(|d| text.starts_with(d))
            && !text.contains("BIOS")
            && !text.starts_with("CPUs found")
            && !text.starts_with("Failed to get")
    })
}

/// The oops a line starts, if any.
pub(crate) fn oops_of(text: &[u8]) -> Option<&'static Oops> {
    // Where each header first occurs in the line (the searcher's pattern
    // `i` is the table's oops `i`), then the table's order decides.
    let mut first_at: [Option<usize>; MAX_OOPSES] = [None; MAX_OOPSES];
    if !searcher().is_match(text) {
        return None;
    }
    let mut any = false;
    for m in every_header().find_overlapping_iter(text) {
        let slot = first_at.get_mut(m.pattern().as_usize())?;
        if slot.is_none_or(|at| m.start() < at) {
            *slot = Some(m.start());
        }
        any = true;
    }
    if !any {
        return None;
    }
    oopses::table()
        .iter()
        .zip(first_at)
        .find(|(oops, at)| at.is_some_and(|at| oops.starts_at(text, at)))
        .map(|(oops, _)| oops)
}

/// Room for the table's oopses in [`oops_of`] (checked by a test).
const MAX_OOPSES: usize = 96;

/// Finds any oops header fast (leftmost-first matching lets the search use
/// SIMD prefilters over the whole log).
fn searcher() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        let headers = oopses::table().iter().map(|o| o.header);
        AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(headers)
            .unwrap_or_else(|e| panic!("oops headers: {e}"))
    })
}

/// Finds every header in a line, overlapping ones included ("BUG: KASAN:").
fn every_header() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        let headers = oopses::table().iter().map(|o| o.header);
        AhoCorasick::new(headers).unwrap_or_else(|e| panic!("oops headers: {e}"))
    })
}

/// Everything about the report whose header is `header`.
fn build_report(log: &[u8], header: Line<'_>, oops: &'static Oops) -> Report {
    let (lines, end, cut_short) = report_lines(log, header, oops);
    // Kernel lines are short; a huge "line" is garbage and only costs time.
    let text: Vec<String> = lines
        .iter()
        .map(|l| lines::text(&l.text[..l.text.len().min(MAX_LINE)]).into_owned())
        .collect();
    let mut named = name(oops, &text);
    if cut_short && named.corrupted_reason.is_none() && named.frame.is_some() {
        named.corrupted_reason = Some("another report cut in before the stack trace".into());
    }

    Report {
        title: title::finish(&named.title),
        alt_titles: named.alt_titles.iter().map(|t| title::finish(t)).collect(),
        kind: named.kind,
        corrupted: named.corrupted_reason.is_some(),
        corrupted_reason: named.corrupted_reason,
        suppressed: named.suppressed,
        frame: named.frame,
        start: header.start,
        end,
        text: text.join("\n") + "\n",
    }
}

/// The lines of the report (other contexts' output left out) and the offset
/// where it ends.
/// Also says whether another report cut in before any stack frame.
fn report_lines<'a>(log: &'a [u8], header: Line<'a>, oops: &Oops) -> (Vec<Line<'a>>, usize, bool) {
    let mut kept = vec![header];
    let mut end = header.end;
    let mut seen_frame = false;
    let lockdep = is_lockdep(header.text);
    // One pass over the log finds the lines worth a closer look.
    let mut headers = Hits::new(log, searcher());
    let mut ends = Hits::new(log, last_words());
    let mut following = lines::lines_from(log, header.end)
        .take(MAX_REPORT_LINES)
        .peekable();
    while let Some(line) = following.next() {
        // Lockdep may itself crash while printing its report: the crash's
        // stack then is the report's stack.
        let lockdep_unfinished = lockdep && !seen_frame;
        // Symbolizers repeat the header line once per inlined function.
        let repeated_header = kept.len() <= 3 && common_prefix(header.text, line.text) >= 24;
        if headers.within(&line)
            && is_new_report(line.text, oops)
            && same_context(header.context, line.context)
            && !lockdep_unfinished
            && !repeated_header
        {
            // A one-line message printed in the middle of our stack trace
            // belongs to someone else; anything else starts a new report.
            let inside_trace = kept.last().is_some_and(|l| is_frame(l.text))
                && following.peek().is_some_and(|l| is_frame(l.text));
            if !inside_trace {
                return (kept, end, !seen_frame);
            }
            end = line.end;
            continue;
        }
        end = line.end;
        let foreign = header.stamped && !line.stamped && !line.text.is_empty();
        if same_context(header.context, line.context) && !foreign {
            seen_frame = seen_frame || is_frame(line.text);
            kept.push(line);
        }
        if ends.within(&line) && is_last_line(line.text) {
            break;
        }
    }
    (kept, end, false)
}

/// Where a searcher matches in a log, asked line after line in order: a
/// line is only looked at closely when a match falls inside it.
struct Hits<'a> {
    log: &'a [u8],
    searcher: &'static AhoCorasick,
    /// Whether a search ran yet.
    searched: bool,
    /// Start of the next match at or after the last line asked about.
    next: Option<usize>,
}

impl<'a> Hits<'a> {
    fn new(log: &'a [u8], searcher: &'static AhoCorasick) -> Self {
        Hits {
            log,
            searcher,
            searched: false,
            next: None,
        }
    }

    /// Whether a match starts inside `line` (lines must come in order).
    fn within(&mut self, line: &Line<'_>) -> bool {
        // Search again once the last match lies behind this line; without
        // a match left, none comes later either.
        if !self.searched || self.next.is_some_and(|at| at < line.start) {
            self.searched = true;
            let rest = &self.log[line.start.min(self.log.len())..];
            self.next = self.searcher.find(rest).map(|m| line.start + m.start());
        }
        self.next.is_some_and(|at| at < line.end)
    }
}

/// A `[  12.345678]` console timestamp anywhere in `s`.
fn has_timestamp(s: &str) -> bool {
    s.match_indices('[').any(|(i, _)| {
        let inner = s[i + 1..].split(']').next().unwrap_or("").trim_start();
        let (secs, frac) = inner.split_once('.').unwrap_or(("", ""));
        !secs.is_empty()
            && !frac.is_empty()
            && secs.bytes().all(|c| c.is_ascii_digit())
            && frac.bytes().all(|c| c.is_ascii_digit())
            && s[i + 1..].contains(']')
    })
}

/// A `[ T123]` or `[ C1]` console context tag anywhere in `s`.
fn has_context_tag(s: &str) -> bool {
    s.match_indices('[').any(|(i, _)| {
        let inner = s[i + 1..].split(']').next().unwrap_or("").trim_start();
        s[i + 1..].contains(']')
            && inner.len() > 1
            && inner.starts_with(['T', 'C'])
            && inner[1..].bytes().all(|c| c.is_ascii_digit())
    })
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Headers of lockdep's reports.
fn is_lockdep(header: &[u8]) -> bool {
    let text = lines::text(header);
    (text.contains("WARNING: ") || text.contains("BUG: "))
        && (text.contains(" lock") || text.contains("locking"))
}

fn is_frame(text: &[u8]) -> bool {
    crate::frames::is_frame(&lines::text(text))
}

fn same_context(header: Option<&[u8]>, line: Option<&[u8]>) -> bool {
    match (header, line) {
        (Some(h), Some(l)) => h == l,
        _ => true,
    }
}

/// A header that starts a separate crash rather than continuing this one.
fn is_new_report(text: &[u8], current: &Oops) -> bool {
    match oops_of(text) {
        Some(next) => !next.continues(current),
        None => false,
    }
}

/// Lines the kernel prints as the very last words of a report.
fn is_last_line(text: &[u8]) -> bool {
    last_words().is_match(text)
}

fn last_words() -> &'static AhoCorasick {
    const ENDS: [&[u8]; 4] = [
        b"Kernel Offset:",
        b"Rebooting in ",
        b"---[ end Kernel panic",
        b"---[ end trace",
    ];
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(ENDS)
            .unwrap_or_else(|e| panic!("report ends: {e}"))
    })
}

/// A report's name and classification.
pub(crate) struct Named {
    pub title: String,
    pub alt_titles: Vec<String>,
    pub kind: CrashType,
    pub corrupted_reason: Option<String>,
    pub suppressed: bool,
    pub frame: Option<String>,
}

/// Names the report whose lines (header first) are `text`.
fn name(oops: &Oops, text: &[String]) -> Named {
    let head: String = text
        .iter()
        .take(40)
        .map(|l| l.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    // Most formats describe the header line alone: match them there only.
    let first = text.first().map_or("", String::as_str);
    for format in &oops.formats {
        let haystack = if format.multiline {
            head.as_str()
        } else {
            first
        };
        if let Some(caps) = format.captures(haystack) {
            return name_with(format, &caps, text);
        }
    }
    let title = title::normalize(&String::from_utf8_lossy(oops.header.as_bytes()));
    Named {
        title: format!("{} in corrupted", title.trim_end_matches(':')),
        alt_titles: Vec::new(),
        kind: oops.kind,
        corrupted_reason: Some("unrecognised report format".into()),
        suppressed: false,
        frame: None,
    }
}

fn name_with(format: &Format, caps: &regex::bytes::Captures<'_>, text: &[String]) -> Named {
    let head = expand_raw(format.title, caps);
    let mut corrupted_reason = format.corrupted.map(str::to_string);
    // Another line's timestamp or task tag glued into the header: the text
    // is mixed.
    if corrupted_reason.is_none() && (has_timestamp(&head) || has_context_tag(&head)) {
        corrupted_reason = Some("the title holds a console prefix".into());
    }
    let head = title::normalize(&head);
    let mut found = if format.frame.is_empty() {
        None
    } else {
        extract::frame(&format.frame, caps, text, format.skip)
    };
    // A fault injection's stack printed into the report before its frame:
    // the stack read may be the injection's, not the crash's.
    if found
        .as_deref()
        .is_some_and(|f| extract::fault_injection_before(text, f))
    {
        found = None;
        corrupted_reason = Some("a fault injection stack is mixed in".into());
    }
    // Cut before its first section: only the header can name the report.
    if let Some((marker, within, fallback)) = format.truncated {
        // Each lockdep report prints its sections in a fixed order near the top.
        if !text.iter().take(within).any(|l| l.contains(marker)) {
            return Named {
                title: fallback.to_string(),
                alt_titles: Vec::new(),
                kind: CrashType::Warning,
                corrupted_reason: Some("report cut short".into()),
                suppressed: false,
                frame: None,
            };
        }
    }
    let (title, frame, alt_titles) = match (&found, format.frame.is_empty()) {
        (_, true) => {
            let alts = format.alt.iter().map(|alt| expand(alt, caps)).collect();
            (head, None, alts)
        }
        (Some(raw), false) => {
            let canonical = title::canonical_frame(raw);
            let t = title::with_frame(&head, &canonical);
            let mut alts = alt_titles(format, caps, &canonical);
            let names = title::syscall_aliases(raw);
            for name in names.iter().filter(|n| **n != canonical) {
                alts.push(title::with_frame(&head, name));
                alts.extend(alt_titles(format, caps, name));
            }
            alts.sort();
            alts.dedup();
            alts.retain(|a| *a != t);
            (t, Some(canonical), alts)
        }
        (None, false) => {
            corrupted_reason.get_or_insert_with(|| "no stack trace".into());
            let frame = "corrupted".to_string();
            let alts = alt_titles(format, caps, &frame);
            (title::with_frame(&head, &frame), Some(frame), alts)
        }
    };
    if corrupted_reason.is_none() {
        corrupted_reason = extract::damage(text, format);
    }
    let kind = format.kind_of.map_or(format.kind, |kind_of| kind_of(caps));
    Named {
        title,
        alt_titles,
        kind,
        corrupted_reason,
        suppressed: format.suppressed,
        frame,
    }
}

fn alt_titles(format: &Format, caps: &regex::bytes::Captures<'_>, frame: &str) -> Vec<String> {
    format
        .alt
        .iter()
        .map(|alt| title::with_frame(&expand(alt, caps), frame))
        .collect()
}

/// An alternative title template with the format's regex groups filled in.
fn expand(template: &str, caps: &regex::bytes::Captures<'_>) -> String {
    title::normalize(&expand_raw(template, caps))
}

/// A template with the regex groups filled in, as text.
fn expand_raw(template: &str, caps: &regex::bytes::Captures<'_>) -> String {
    let mut out = Vec::new();
    caps.expand(template.as_bytes(), &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_fits_the_header_search() {
        assert!(oopses::table().len() <= MAX_OOPSES);
        assert!(oops_of(b"[ 1.0] BUG: KASAN: use-after-free in f+0x1/0x2").is_some());
        assert!(oops_of(b"an ODEBUG: line").is_none());
    }

    #[test]
    fn timestamps_inside_titles_mean_mixed_lines() {
        assert!(has_timestamp("INFO: task hung [  12.345678] in foo"));
        assert!(!has_timestamp(
            "BUG: using __this_cpu_read() [00000000] code"
        ));
        assert!(!has_timestamp("KASAN: slab-out-of-bounds [1.5"));
        assert!(has_context_tag("WARNING in foo[ T1234] bar"));
        assert!(has_context_tag("INFO: task hung [C0] in foo"));
        assert!(!has_context_tag(
            "BUG: Dentry still in use [unmount of proc proc]"
        ));
        assert!(!has_context_tag("INFO: [T] x"));
    }

    /// A kernel whose config prints the decompressor's lines (a minimal
    /// config with early printk) boots once: no reboot at its start; the
    /// same banner after the kernel ran is one.
    #[test]
    fn the_decompressor_banner_of_the_first_boot_is_no_reboot() {
        let boot = "early console in extract_kernel\n\
            input_data: 0x0000000001d102c4\n\
            input_len: 0x00000000001a566c\n\
            output: 0x0000000001000000\n\
            output_len: 0x0000000000e86878\n\
            kernel_total_size: 0x0000000000e30000\n\
            needed_size: 0x0000000001000000\n\
            trampoline_32bit: 0x0000000000000000\n\n\n\
            KASLR disabled: 'nokaslr' on cmdline.\n\n\n\
            Decompressing Linux... Parsing ELF... No relocation needed... done.\n\
            Booting the kernel (entry_offset: 0x0000000000000000).\n\
            [    0.000000] Linux version 6.1.192 (culprit@culprit) #1\n";
        assert!(
            parse(boot.as_bytes()).is_empty(),
            "{:?}",
            parse(boot.as_bytes())
        );
        let rebooted = format!("{boot}[    1.0] init: starting\n{boot}");
        let reports = parse(rebooted.as_bytes());
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!(reports[0].title, "unexpected kernel reboot");
    }
}
