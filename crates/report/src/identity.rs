//! Crash identity: whether a crash seen at one commit is the same bug as
//! the crash being bisected, beyond equal titles.
//!
//! [`Identity::of`] keeps what identifies a report, as plain data the
//! engine can journal: its kind, its title and alternative titles, the
//! `file:line` the report names (a WARNING's or a `kernel BUG at`'s
//! location, UBSAN's), the function the title names and the call stack
//! below it with generic frames (see [`crate::generic`]) left out.
//!
//! [`relate`] says why two identities are the same bug, or `None`:
//! 1. Two *different* locations are two bugs, whatever else agrees (two
//!    WARNINGs in one function have one title but two lines).
//! 2. The same title is the same bug, unless both stacks are known and
//!    their first [`STACK_MIN`] callers have no function in common: the
//!    same function reached from unrelated code is another bug.
//! 3. The title of one is an alternative title of the other.
//! 4. Same kind class and same location: the same WARNING after the
//!    function holding it was renamed.
//! 5. Same kind class and same call stack: after dropping up to
//!    [`TOP_SLACK`] frames from the top of either stack (inlining moved the
//!    title to a caller), [`STACK_MIN`] frames in a row are equal.
//! 6. A shared alternative title ("stall in f" for an RCU stall and a soft
//!    lockup in f, "bad-access in f" for a KASAN report and a general
//!    protection fault in f), unless both kinds are a sanitizer's and their
//!    classes differ (a use-after-free and an out-of-bounds access in one
//!    function are two bugs).
//!
//! The kind class ignores what only tells the access apart: a KASAN Read
//! and a KASAN Write of the same object are one bug; a use-after-free and
//! an out-of-bounds access are not. A location in generic code
//! (`lib/refcount.c` for every refcount bug) identifies nothing and is
//! not kept.

use crate::crash::{CrashType, Report};
use crate::generic::is_generic;
use crate::oops::trace::{pc_func, trace_span};
use crate::title::canonical_frame;
use serde::{Deserialize, Serialize};

/// Frames in a row that make two stacks the same.
pub const STACK_MIN: usize = 3;

/// Frames the top of a stack may differ by (inlining changes).
pub const TOP_SLACK: usize = 2;

/// Frames of the stack kept below the title's frame.
const STACK_KEPT: usize = 8;

/// What identifies a crash, as plain data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The crash's title.
    pub title: String,
    /// Other titles of the same crash.
    pub alt_titles: Vec<String>,
    /// The kind of crash.
    pub kind: CrashType,
    /// The `file:line` the report names, unless it is generic code.
    pub location: Option<String>,
    /// The function the title names.
    pub frame: Option<String>,
    /// The non-generic callers below `frame`, innermost first.
    pub stack: Vec<String>,
}

/// Why two crashes are the same bug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Relation {
    /// Equal titles.
    SameTitle,
    /// One's title is a known alternative title of the other.
    KnownAlternative(String),
    /// The same kind of crash at the same `file:line`.
    SameLocation(String),
    /// The same kind of crash with the same callers.
    SameStack(Vec<String>),
}

impl std::fmt::Display for Relation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Relation::SameTitle => f.write_str("same title"),
            Relation::KnownAlternative(t) => write!(f, "known alternative title {t:?}"),
            Relation::SameLocation(l) => write!(f, "same location {l}"),
            Relation::SameStack(_) => f.write_str("same call stack"),
        }
    }
}

impl Identity {
    /// The identity of `report`.
    pub fn of(report: &Report) -> Identity {
        let lines: Vec<String> = report.text.lines().map(str::to_string).collect();
        let frame = report.frame.clone().filter(|f| f != "corrupted");
        Identity {
            title: report.title.clone(),
            alt_titles: report.alt_titles.clone(),
            kind: report.kind,
            location: location(&lines),
            stack: frame
                .as_deref()
                .map(|f| stack_below(&lines, f))
                .unwrap_or_default(),
            frame,
        }
    }

    /// The frames compared for rule 5: the title's frame, then the stack.
    fn frames(&self) -> Vec<&str> {
        self.frame
            .iter()
            .chain(self.stack.iter())
            .map(String::as_str)
            .collect()
    }
}

/// Why `a` and `b` are the same bug, if they are (rules in the module
/// documentation).
pub fn relate(a: &Identity, b: &Identity) -> Option<Relation> {
    if let (Some(x), Some(y)) = (&a.location, &b.location) {
        if x != y {
            return None;
        }
    }
    if a.title == b.title {
        return (!unrelated_stacks(a, b)).then_some(Relation::SameTitle);
    }
    if b.alt_titles.contains(&a.title) {
        return Some(Relation::KnownAlternative(a.title.clone()));
    }
    if a.alt_titles.contains(&b.title) {
        return Some(Relation::KnownAlternative(b.title.clone()));
    }
    let same_class = kind_class(a) == kind_class(b);
    if same_class {
        if let (Some(x), Some(_)) = (&a.location, &b.location) {
            return Some(Relation::SameLocation(x.clone()));
        }
        if let Some(stack) = same_stack(&a.frames(), &b.frames()) {
            return Some(Relation::SameStack(stack));
        }
    }
    if !same_class && is_sanitizer(a.kind) && is_sanitizer(b.kind) {
        return None;
    }
    a.alt_titles
        .iter()
        .find(|t| b.alt_titles.contains(t))
        .map(|t| Relation::KnownAlternative(t.clone()))
}

/// Both stacks are known and their first callers have nothing in common.
fn unrelated_stacks(a: &Identity, b: &Identity) -> bool {
    let top = |id: &'_ Identity| id.stack.iter().take(STACK_MIN).cloned().collect::<Vec<_>>();
    let (x, y) = (top(a), top(b));
    x.len() == STACK_MIN && y.len() == STACK_MIN && !x.iter().any(|f| y.contains(f))
}

/// Kinds a sanitizer reports in detail (the access, the object).
fn is_sanitizer(kind: CrashType) -> bool {
    kind.name().starts_with("KASAN")
        || kind.name().starts_with("KFENCE")
        || kind.name().starts_with("KMSAN")
        || kind == CrashType::KcsanDataRace
}

/// The run of [`STACK_MIN`] equal frames after at most [`TOP_SLACK`]
/// frames dropped from the top of either stack.
fn same_stack(a: &[&str], b: &[&str]) -> Option<Vec<String>> {
    for skip_a in 0..=TOP_SLACK {
        for skip_b in 0..=TOP_SLACK {
            let (Some(x), Some(y)) = (a.get(skip_a..), b.get(skip_b..)) else {
                continue;
            };
            let common = x.iter().zip(y).take_while(|(p, q)| p == q).count();
            if common >= STACK_MIN {
                return Some(x[..common].iter().map(|s| s.to_string()).collect());
            }
        }
    }
    None
}

/// The kind, without what only tells the access apart (read or write),
/// with the bug type of a sanitizer's out-of-bounds title.
fn kind_class(id: &Identity) -> String {
    kind_class_of(id.kind, &id.title)
}

/// [`kind_class`] of a crash of kind `kind` titled `title`.
pub(crate) fn kind_class_of(kind: CrashType, title: &str) -> String {
    use CrashType::*;
    let class = match kind {
        KasanRead | KasanWrite | KasanUnknown => "kasan-access",
        KasanUseAfterFreeRead | KasanUseAfterFreeWrite => "kasan-use-after-free",
        KasanNullPointerDereferenceRead | KasanNullPointerDereferenceWrite => "kasan-null-deref",
        KfenceRead | KfenceWrite => "kfence-access",
        KfenceUseAfterFreeRead | KfenceUseAfterFreeWrite => "kfence-use-after-free",
        other => other.name(),
    };
    match kind {
        // "KASAN: slab-out-of-bounds Read in f": the region matters.
        KasanRead | KasanWrite | KasanUnknown | KfenceRead | KfenceWrite => {
            let bug = title.split_whitespace().nth(1).unwrap_or_default();
            format!("{class}:{bug}")
        }
        _ => class.to_string(),
    }
}

/// The `file:line` the header names (WARNING, kernel BUG, UBSAN), unless
/// the crashing function is a generic helper (every refcount WARNING is at
/// lib/refcount.c).
fn location(lines: &[String]) -> Option<String> {
    let header = lines.first()?;
    let at = if let Some(i) = header.find(" at ").filter(|_| header.contains("WARNING:")) {
        &header[i + 4..]
    } else if let Some(rest) = header.split("kernel BUG at ").nth(1) {
        rest
    } else if let Some(i) = header.find(" in ").filter(|_| header.starts_with("UBSAN:")) {
        &header[i + 4..]
    } else {
        return None;
    };
    let place = source_location(at.split_whitespace().next()?)?;
    let pc = lines.iter().take(80).find_map(|l| pc_func(l));
    let named = header
        .split_whitespace()
        .skip_while(|w| !w.contains(place.as_str()))
        .nth(1)
        .and_then(|w| w.split('+').next())
        .map(str::to_string);
    match pc.or(named) {
        Some(f) if is_generic(&f) => None,
        _ => Some(place),
    }
}

/// `net/core/sock.c:123` out of `net/core/sock.c:123:4!`.
fn source_location(word: &str) -> Option<String> {
    let word = word.trim_end_matches(['!', ',', ')']);
    let mut parts = word.split(':');
    let path = parts.next()?;
    let line = parts.next()?;
    let is_source = [".c", ".h", ".rs", ".S"].iter().any(|e| path.ends_with(e));
    (is_source && !line.is_empty() && line.bytes().all(|c| c.is_ascii_digit()))
        .then(|| format!("{path}:{line}"))
}

/// The non-generic, reliable callers below the first frame that is the
/// title's `frame`, innermost first.
fn stack_below(lines: &[String], frame: &str) -> Vec<String> {
    for (i, line) in lines.iter().enumerate() {
        let found = crate::frames::parse_frame(line)
            .map(|f| f.func)
            .or_else(|| pc_func(line));
        let Some(func) = found else { continue };
        if func != frame && canonical_frame(&func) != frame {
            continue;
        }
        let (frames, _) = trace_span(lines, i + 1);
        let mut stack: Vec<String> = Vec::new();
        for f in frames.iter().filter(|f| f.reliable && !is_generic(&f.func)) {
            let name = canonical_frame(&f.func);
            if name != frame && stack.last() != Some(&name) {
                stack.push(name);
            }
            if stack.len() == STACK_KEPT {
                break;
            }
        }
        return stack;
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_read_from_headers() {
        let l = |s: &str| location(&[s.to_string()]);
        assert_eq!(
            l("WARNING: CPU: 0 PID: 1 at kernel/foo.c:10 foo+0x10/0x20").as_deref(),
            Some("kernel/foo.c:10")
        );
        assert_eq!(
            l("kernel BUG at fs/ext4/inode.c:2345!").as_deref(),
            Some("fs/ext4/inode.c:2345")
        );
        assert_eq!(
            l("UBSAN: shift-out-of-bounds in net/sched/sch_qfq.c:123:4").as_deref(),
            Some("net/sched/sch_qfq.c:123")
        );
        // Every refcount bug warns there: it identifies nothing.
        assert_eq!(
            l("WARNING: CPU: 1 PID: 2 at lib/refcount.c:25 refcount_warn_saturate+0x1/0x2"),
            None
        );
        assert_eq!(l("BUG: KASAN: use-after-free in foo+0x1/0x2"), None);
    }

    #[test]
    fn stacks_match_with_slack_at_the_top() {
        assert!(same_stack(&["a", "b", "c", "d"], &["b", "c", "d"]).is_some());
        assert!(same_stack(&["x", "b", "c", "d"], &["y", "b", "c", "d"]).is_some());
        assert!(same_stack(&["a", "b", "c"], &["a", "b", "x"]).is_none());
        assert!(same_stack(&["a", "b", "c", "d"], &["x", "y", "z", "a", "b", "c"]).is_none());
    }

    #[test]
    fn relations_read_well_in_a_log() {
        assert_eq!(Relation::SameTitle.to_string(), "same title");
        assert_eq!(
            Relation::SameLocation("kernel/foo.c:10".into()).to_string(),
            "same location kernel/foo.c:10"
        );
        assert_eq!(
            Relation::SameStack(vec!["f".into()]).to_string(),
            "same call stack"
        );
    }
}
