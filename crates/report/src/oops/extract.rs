//! Finding the function a title names in a kernel report.

use super::oopses::{Format, Part};
use super::stall::stall_frame;
use super::trace::{pc, pc_func, trace, trace_frames};
use crate::frames::{clean_func, is_frame, is_generic, parse_frame};
use crate::generic::{generic_class, matches_any};
use crate::title::canonical_frame;

/// The function a title should name, following the format's parts in order.
///
/// When every frame is a helper, the helpers that are whole subsystems of
/// their own (work queues, the driver core, crypto; see
/// [`crate::generic::GenericClass::is_core`]) are named rather than none: a report with a
/// readable stack is not damaged.
pub fn frame(
    parts: &[Part],
    caps: &regex::bytes::Captures<'_>,
    text: &[String],
    skip: &[&str],
) -> Option<String> {
    let strict = |f: &str| !f.is_empty() && !is_generic(f) && !matches_any(f, skip);
    let lenient = |f: &str| {
        !f.is_empty() && !generic_class(f).is_some_and(|c| c.is_core()) && !matches_any(f, skip)
    };
    frame_with(parts, caps, text, skip, &strict)
        .or_else(|| frame_with(parts, caps, text, skip, &lenient))
}

fn frame_with(
    parts: &[Part],
    caps: &regex::bytes::Captures<'_>,
    text: &[String],
    skip: &[&str],
    usable: &dyn Fn(&str) -> bool,
) -> Option<String> {
    for part in parts {
        let found = match part {
            Part::Group(i) => caps
                .get(*i)
                .map(|m| clean_func(&crate::lines::text(m.as_bytes())))
                .filter(|f| usable(f) && !is_address(f)),
            Part::Named(i) => caps
                .get(*i)
                .map(|m| clean_func(&crate::lines::text(m.as_bytes())))
                .filter(|f| !f.is_empty() && !matches_any(f, skip) && !is_address(f)),
            Part::Pc => pc(text).and_then(|(_, f)| usable(&f).then_some(f)),
            Part::PcThenTrace => pc_then_trace(text, usable),
            Part::Trace => trace(text, 1, usable),
            Part::TraceWith(i) => {
                let named = caps
                    .get(*i)
                    .map(|m| clean_func(&crate::lines::text(m.as_bytes())));
                let first = trace_frames(text, 1);
                let ours = named.is_some_and(|n| first.iter().any(|f| f.func == n));
                ours.then(|| trace(text, 1, usable)).flatten()
            }
            Part::TraceAfter(marker) => {
                find_line(text, marker).and_then(|i| trace(text, i + 1, usable))
            }
            // Workqueue flushes take lockdep's pseudo-locks themselves: there
            // the helper is the culprit.
            Part::LockAt(marker) => lock_at(text, marker)
                .filter(|f| usable(f) || (f.contains("flush_work") && !matches_any(f, skip))),
            Part::Stall | Part::Lockup | Part::Anchored => stall_frame(text, part.clone()),
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

fn find_line(text: &[String], marker: &str) -> Option<usize> {
    text.iter().position(|l| l.contains(marker))
}

fn pc_then_trace(text: &[String], usable: &dyn Fn(&str) -> bool) -> Option<String> {
    match pc(text) {
        Some((_, f)) if usable(&f) => Some(f),
        Some((i, _)) => trace(text, i + 1, usable).or_else(|| trace(text, 1, usable)),
        None => trace(text, 1, usable),
    }
}

/// The function in the first lockdep lock line (`..., at: func+0x1/0x2`) after
/// a line containing `marker` (or anywhere, for an empty marker).
fn lock_at(text: &[String], marker: &str) -> Option<String> {
    let from = if marker.is_empty() {
        0
    } else {
        find_line(text, marker)?
    };
    let lines = &text[from.min(text.len())..];
    lines.iter().enumerate().find_map(|(i, l)| {
        if let Some((_, after)) = l.split_once(", at: ") {
            return parse_frame(after).map(|f| f.func);
        }
        // "... is trying to release lock (x) at:" with the frame on the next line.
        if l.trim_end().ends_with(") at:") {
            return lines
                .get(i + 1)
                .and_then(|next| parse_frame(next))
                .map(|f| f.func);
        }
        None
    })
}

/// Signs that a report was damaged although a frame was found.
pub fn damage(text: &[String], format: &Format) -> Option<String> {
    // A lone frame (a lock's `at:` line, a PC) is not a stack trace.
    if format.needs_trace && text.iter().skip(1).filter(|l| is_frame(l)).take(2).count() < 2 {
        return Some("no stack trace".into());
    }
    None
}

fn is_address(s: &str) -> bool {
    s.len() >= 8 && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Whether a fault injection frame (`should_fail`, `should_failslab`, as
/// the unwinder is sure of them) comes before the first line naming
/// `frame`: the injection prints its own stack, often into a crash's.
pub fn fault_injection_before(text: &[String], frame: &str) -> bool {
    let injected = text.iter().position(|l| {
        parse_frame(l).is_some_and(|f| {
            f.reliable && matches!(f.func.as_str(), "should_fail" | "should_failslab")
        })
    });
    let Some(injected) = injected else {
        return false;
    };
    let named = text.iter().position(|l| {
        parse_frame(l).is_some_and(|f| f.func == frame || canonical_frame(&f.func) == frame)
            || pc_func(l).is_some_and(|f| f == frame)
            || l.contains(&format!(" {frame}+0x"))
    });
    named.is_none_or(|named| injected < named)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_string).collect()
    }

    #[test]
    fn fault_injection_before_the_frame_mixes_stacks() {
        let mixed = lines(
            "WARNING: CPU: 0 PID: 1 at mm/slab_common.c:1 kmalloc_slab+0x5d/0x70\n \
             should_fail+0x914/0xae0\nCall Trace:\n should_failslab+0xec/0x120\n \
             bfs_fill_super+0x1/0x2\n",
        );
        assert!(fault_injection_before(&mixed, "bfs_fill_super"));
        // The frame first (the RIP), the injection after: the crash's own.
        let after = lines(
            "WARNING: CPU: 1 PID: 2 at x.c:21 vkms_vblank_simulate+0x209/0x220\n\
             RIP: 0010:vkms_vblank_simulate+0x209/0x220\nCall Trace:\n \
             should_fail+0x231/0x240\n",
        );
        assert!(!fault_injection_before(&after, "vkms_vblank_simulate"));
        // The unwinder's guesses are not the injection's stack.
        let guessed =
            lines("INFO: x\nCall Trace:\n ? should_fail+0x1de/0x852\n drm_ioctl+0x1/0x2\n");
        assert!(!fault_injection_before(&guessed, "drm_ioctl"));
    }
}
