//! A crash given by syzbot's title, recognised in a report even where
//! culprit names the report differently.
//!
//! syzbot and culprit may title one report differently: they choose
//! another frame of the same stack, or a kernel prints the report a little
//! differently at another commit. [`recognise`] says whether a report is
//! the crash a syzbot title names, and why:
//! 1. the report's title is the title ([`Recognition::SameTitle`]);
//! 2. the title is one of the report's alternative titles
//!    ([`Recognition::AlternativeTitle`]);
//! 3. the report is of the title's kind and every function the title names
//!    is one of the report's stack frames ([`Recognition::SameKindInStack`]).
//!
//! The kind of a title is the kind culprit gives the reports it titles in
//! that shape ("KASAN: use-after-free Read in f" names a KASAN
//! use-after-free), compared as [`crate::identity`] compares kinds: what
//! only tells the access apart (a read or a write of the same object) does
//! not matter, everything else does (a use-after-free is not an
//! out-of-bounds access, a KASAN report is not a WARNING). A title of no
//! shape culprit knows (user-space crashes) must then have the head of the
//! report's title or of an alternative title: all but the function.
//!
//! The stack frames are the functions the report prints before any section
//! about other events (KASAN's allocation and free stacks, KMSAN's
//! origins): frames of its stack traces the unwinder is sure of (not the
//! `? f` guesses), inlined frames of symbolized reports, the crashing PC,
//! lockdep's `at: f+0x1/0x2` locks, a `caller is f+0x1/0x2` and the
//! header's own `f+0x1/0x2`. Names
//! are compared whole (`foo` is not `foo_bar`), after dropping compiler
//! suffixes (`ep_free.isra.7` is `ep_free`); a syscall's entry point is
//! known by its title's spellings too (`__x64_sys_read` is `sys_read`).

use crate::crash::Report;
use crate::frames::{clean_func, parse_frame};
use crate::identity::kind_class_of;
use crate::oops::title_kind;
use crate::oops::trace::{is_other_section, pc_func};
use crate::title::{canonical_frame, syscall_aliases};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Why a report is the crash a syzbot title names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recognition {
    /// The report's title is the title.
    SameTitle,
    /// The title is one of the report's alternative titles.
    AlternativeTitle,
    /// The report is of the title's kind, and these functions the title
    /// names are among its stack frames.
    SameKindInStack(Vec<String>),
}

impl std::fmt::Display for Recognition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recognition::SameTitle => f.write_str("same title"),
            Recognition::AlternativeTitle => f.write_str("one of its alternative titles"),
            Recognition::SameKindInStack(funcs) => {
                write!(f, "same kind, {} in its stack", funcs.join(" and "))
            }
        }
    }
}

/// Whether `report` is the crash syzbot titled `syzbot_title`, and why
/// (rules in the module documentation); `None` when it is not, or when
/// the title names no function and is neither the report's title nor one
/// of its alternative titles.
///
/// `syzbot_title` is taken as the dashboard writes it: the ` (2)` that
/// numbers later bugs of the same title is ignored, and so are runs of
/// spaces. Whether the report is suppressed or corrupted is the caller's
/// to weigh.
///
/// ```
/// let log = "BUG: KASAN: use-after-free in remove_wait_queue+0x24/0x1b0\n\
///            Read of size 8 at addr ffff8801c75ea0f8 by task syz/3471\n\
///            Call Trace:\n dump_stack+0x137/0x198\n kasan_report+0x23b/0x360\n \
///            remove_wait_queue+0x24/0x1b0\n ep_free+0xae/0x230\n __fput+0x291/0x6e0\n";
/// let report = culprit_report::first(log.as_bytes()).unwrap();
/// let why = culprit_report::recognise("KASAN: use-after-free Read in ep_free", &report);
/// assert_eq!(why.unwrap().to_string(), "same kind, ep_free in its stack");
/// assert!(culprit_report::recognise("WARNING in ep_free", &report).is_none());
/// ```
pub fn recognise(syzbot_title: &str, report: &Report) -> Option<Recognition> {
    let title = as_written(syzbot_title);
    if title.is_empty() {
        return None;
    }
    if title == report.title {
        return Some(Recognition::SameTitle);
    }
    if report.alt_titles.contains(&title) {
        return Some(Recognition::AlternativeTitle);
    }
    let (head, funcs) = named_functions(&title)?;
    if !same_kind(&title, head, report) {
        return None;
    }
    let frames = stack_names(report);
    funcs
        .iter()
        .all(|f| frames.contains(f))
        .then_some(Recognition::SameKindInStack(funcs))
}

/// A title without the dashboard's ` (N)` and with single spaces.
fn as_written(title: &str) -> String {
    let words: Vec<&str> = title.split_whitespace().collect();
    let numbered = words.last().is_some_and(|w| {
        w.len() > 2
            && w.starts_with('(')
            && w.ends_with(')')
            && w[1..w.len() - 1].bytes().all(|c| c.is_ascii_digit())
    });
    let keep = if numbered {
        words.len() - 1
    } else {
        words.len()
    };
    words[..keep].join(" ")
}

/// The head of a title and the functions it names: what follows its last
/// " in ", split at '/' ("WARNING in f/usb_submit_urb", "KCSAN: data-race
/// in f / g"). `None` when that is not a list of function names.
fn named_functions(title: &str) -> Option<(&str, Vec<String>)> {
    let (head, tail) = title.rsplit_once(" in ")?;
    let funcs: Vec<String> = tail.split('/').map(|f| clean_func(f.trim())).collect();
    let is_name = |f: &String| {
        !f.is_empty()
            && f != "corrupted"
            && !f.starts_with(|c: char| c.is_ascii_digit())
            && f.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_:<>".contains(c))
    };
    funcs.iter().all(is_name).then_some((head, funcs))
}

/// Whether the report is of the kind the title names (see the module
/// documentation).
fn same_kind(title: &str, head: &str, report: &Report) -> bool {
    match title_kind(title) {
        Some(kind) => kind_class_of(kind, title) == kind_class_of(report.kind, &report.title),
        None => std::iter::once(&report.title)
            .chain(&report.alt_titles)
            .any(|t| t.rsplit_once(" in ").is_some_and(|(h, _)| h == head)),
    }
}

/// Every name the report's stack frames go by (see the module
/// documentation).
fn stack_names(report: &Report) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut add = |raw: &str| {
        let func = clean_func(raw);
        if func.is_empty() {
            return;
        }
        names.insert(canonical_frame(&func));
        names.extend(syscall_aliases(&func));
        names.insert(func);
    };
    for (i, line) in report.text.lines().enumerate() {
        if is_other_section(line) {
            break;
        }
        match parse_frame(line) {
            // The unwinder's guesses are not the stack.
            Some(frame) if !frame.reliable => continue,
            Some(frame) => add(&frame.func),
            None => {}
        }
        // ARM: "(f) from [<lr>] (caller+0x1/0x2)" names the caller too.
        if let Some(caller) = line.split_once(") from ").and_then(|(_, c)| parse_frame(c)) {
            add(&caller.func);
        }
        if let Some(func) = pc_func(line) {
            add(&func);
        }
        // The header's function, lockdep's lock lines and "caller is f":
        // other lines' `f+0x1/0x2` may be anything (where a state was set).
        let names_a_frame = i == 0 || line.contains(" at: ") || line.contains("caller is ");
        for word in line.split_whitespace().filter(|_| names_a_frame) {
            if let Some(func) = offset_symbol(word) {
                add(func);
            }
        }
    }
    names
}

/// The function of a `func+0x1a/0x20` word (in parentheses or followed by
/// punctuation too), if the word is one.
fn offset_symbol(word: &str) -> Option<&str> {
    let word = word.trim_start_matches(['(', '[']);
    let (name, offset) = word.split_once("+0x")?;
    let (off, size) = offset.split_once("/0x")?;
    let size = size.trim_end_matches([')', ']', ',', ':', '!']);
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_hexdigit());
    let ident = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    (ident && !name.is_empty() && hex(off) && hex(size)).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_as_the_dashboard_writes_them() {
        assert_eq!(as_written("WARNING in foo (2)"), "WARNING in foo");
        assert_eq!(as_written(" WARNING  in foo "), "WARNING in foo");
        assert_eq!(as_written("WARNING in foo (bar)"), "WARNING in foo (bar)");
        assert_eq!(
            as_written("BUG: Dentry still in use (1)"),
            "BUG: Dentry still in use"
        );
    }

    #[test]
    fn functions_a_title_names() {
        let names = |t: &str| named_functions(t).map(|(h, f)| (h.to_string(), f));
        assert_eq!(
            names("WARNING in foo/usb_submit_urb"),
            Some((
                "WARNING".into(),
                vec!["foo".into(), "usb_submit_urb".into()]
            ))
        );
        assert_eq!(
            names("KCSAN: data-race in a / b"),
            Some(("KCSAN: data-race".into(), vec!["a".into(), "b".into()]))
        );
        assert_eq!(names("WARNING in corrupted"), None);
        assert_eq!(names("KASAN: use-after-free in f at addr ADDR"), None);
        assert_eq!(names("BUG: workqueue lockup"), None);
        assert_eq!(
            names("INFO: task hung in f.isra.0"),
            Some(("INFO: task hung".into(), vec!["f".into()]))
        );
    }

    #[test]
    fn offsets_mark_symbols() {
        assert_eq!(offset_symbol("foo+0x1a/0x20"), Some("foo"));
        assert_eq!(offset_symbol("(foo.isra.1+0x1a/0x20)"), Some("foo.isra.1"));
        assert_eq!(offset_symbol("foo+0x1a/0x20,"), Some("foo"));
        assert_eq!(offset_symbol("+0x1a/0x20"), None);
        assert_eq!(offset_symbol("foo+0x1a"), None);
        assert_eq!(offset_symbol("a-b+0x1/0x2"), None);
    }
}
