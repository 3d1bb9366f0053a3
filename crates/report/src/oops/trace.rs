//! Reading a report's stack traces: the crashing PC, the frames of a trace
//! and where a trace ends.

use crate::frames::{is_frame, parse_frame, Frame};

/// Lines searched for a PC line after the header.
const PC_WINDOW: usize = 80;

/// The crashing function from a `RIP:`/`pc :`/`PC is at` line, and its index.
///
/// A symbolized report repeats the PC line once per inlined function, the
/// inlined ones (`file.c:12 [inline]`) first: the function the PC really is
/// in is the first line that is not inlined, as in the unsymbolized report.
pub fn pc(text: &[String]) -> Option<(usize, String)> {
    let mut found = None;
    for (i, l) in text.iter().enumerate().take(PC_WINDOW) {
        let Some(func) = pc_func(l) else { continue };
        let inlined = l.trim_end().ends_with("[inline]");
        if !inlined {
            return Some((i, func));
        }
        found.get_or_insert((i, func));
        if text.get(i + 1).is_none_or(|next| pc_func(next).is_none()) {
            break;
        }
    }
    found
}

/// The function a PC line (`RIP:`, `pc :`, `NIP:`, `Krnl PSW :`...) names.
pub fn pc_func(line: &str) -> Option<String> {
    let l = line.trim_start();
    // s390: "Krnl PSW : 0704c00180000000 0000000000b6c2f4 (strlen+0x14/0x30)".
    if let Some(rest) = l.strip_prefix("Krnl PSW :") {
        let inner = rest.split_once('(')?.1.split(')').next()?;
        return parse_frame(inner).map(|f| f.func);
    }
    // powerpc: "NIP [c0000000008e9c54] strncpy_from_user+0x1c/0x120".
    if let Some(rest) = l.strip_prefix("NIP [") {
        return parse_frame(rest.split_once(']')?.1).map(|f| f.func);
    }
    let rest = [
        "RIP: ",
        "EIP: ",
        "pc : ",
        "PC is at ",
        "NIP: ",
        "NIP [",
        "epc : ",
        "IP: ",
    ]
    .iter()
    .find_map(|p| l.strip_prefix(p))?;
    let mut rest = rest.trim_start();
    // "RIP: 0010:func+0x..", "EIP: 0060:[<c1234>] func", "NIP [c000] func+0x".
    if let Some(colon) = rest.find(':') {
        if colon <= 4 && rest[..colon].bytes().all(|c| c.is_ascii_hexdigit()) {
            rest = &rest[colon + 1..];
        }
    }
    let rest = rest.trim_start_matches([']', ' ']);
    let frame = parse_frame(rest)?;
    Some(frame.func)
}

/// The first usable reliable frame of the stack traces at or after line
/// `from`, up to a section that describes something else (allocation and
/// free stacks of KASAN, origins of KMSAN).
pub fn trace(text: &[String], from: usize, usable: &dyn Fn(&str) -> bool) -> Option<String> {
    let mut from = from;
    while from < text.len() {
        let start = from + text[from..].iter().position(|l| is_frame(l))?;
        if text[from..start].iter().any(|l| is_other_section(l)) {
            return None;
        }
        let (frames, past_last) = trace_span(text, start);
        // "Preemption disabled at:" and the like point at a single frame
        // that is not where the crash happened.
        let aside = start > 0
            && (text[start - 1].trim_end().ends_with("disabled at:")
                || text[start - 1].trim_end().ends_with("enabled at:"));
        if let Some(f) = frames
            .iter()
            .find(|f| f.reliable && usable(&f.func))
            .filter(|_| !aside)
        {
            return Some(f.func.clone());
        }
        from = past_last.max(start + 1);
    }
    None
}

/// Headings after which stacks describe other events than the crash.
pub(crate) fn is_other_section(line: &str) -> bool {
    let l = line.trim_start();
    [
        "Allocated by",
        "Freed by",
        "Uninit was",
        "Last potentially",
        "Memory state",
        "The buggy address",
        "Local variable",
    ]
    .iter()
    .any(|p| l.starts_with(p))
}

/// The frames of the first stack trace at or after line `from`.
pub fn trace_frames(text: &[String], from: usize) -> Vec<Frame> {
    trace_span(text, from).0
}

/// The frames of the first stack trace at or after line `from`, and the
/// index of the line just past its last frame.
pub fn trace_span(text: &[String], from: usize) -> (Vec<Frame>, usize) {
    let mut frames = Vec::new();
    let mut past_last = from;
    let mut strangers = 0;
    let mut stack_frames = 0;
    // ARM prints "(func) from [<lr>] (caller+0x1/0x2)": the caller is the
    // next line's function, except after tail calls, where it is a frame of
    // its own.
    for (i, line) in text.iter().enumerate().skip(from) {
        if let Some(f) = parse_frame(line) {
            if frames.last() != Some(&f) {
                frames.push(f);
            }
            if line.contains(')') {
                frames.extend(line.split_once(") from ").and_then(|(_, c)| parse_frame(c)));
            }
            strangers = 0;
            stack_frames += 1;
            past_last = i + 1;
        } else if let Some(f) = pc_func(line) {
            frames.push(Frame {
                func: f,
                reliable: true,
            });
            strangers = 0;
            past_last = i + 1;
        } else if !frames.is_empty() && ends_trace(line) {
            break;
        } else if !frames.is_empty() && !is_inside_trace(line) {
            // Other output may interleave with a trace; a blank line, a new
            // section or a long run of other lines ends it.
            strangers += 1;
            let new_trace = stack_frames > 0 && line.trim_start().starts_with("Call ");
            if strangers > MAX_STRANGERS || ends_trace(line) || new_trace {
                break;
            }
        }
    }
    (frames, past_last)
}

/// Non-frame lines tolerated inside a trace (output of other CPUs/tasks).
const MAX_STRANGERS: usize = 8;

/// Lines that certainly end a stack trace.
fn ends_trace(line: &str) -> bool {
    let l = line.trim();
    const ENDS: [&str; 21] = [
        "RCU grace-period",
        "rcu: ",
        "rcu_",
        "INFO: ",
        "task:",
        "Showing busy",
        "NMI backtrace",
        "Sending NMI",
        "CPU: ",
        "Allocated by",
        "Freed by",
        "The buggy address",
        "Memory state",
        "Modules linked in",
        "---[ end",
        "Kernel Offset",
        "irq event stamp",
        "hardirqs last",
        "Showing all locks",
        "Last potentially",
        "Uninit was",
    ];
    l.is_empty() || ENDS.iter().any(|e| l.starts_with(e))
}

/// Lines printed in the middle of a stack trace that do not end it.
fn is_inside_trace(line: &str) -> bool {
    let l = line.trim();
    if l.is_empty() {
        return false;
    }
    const INSIDE: [&str; 26] = [
        "<IRQ>",
        "</IRQ>",
        "<TASK>",
        "</TASK>",
        "<NMI>",
        "</NMI>",
        "<EOI>",
        "<<EOE>>",
        "<SOFTIRQ>",
        "</SOFTIRQ>",
        "RIP:",
        "RSP:",
        "RAX:",
        "RDX:",
        "RBP:",
        "R08:",
        "R10:",
        "R13:",
        "Code:",
        "Exception stack",
        "---",
        "lr :",
        "sp :",
        "EFLAGS",
        "Call Trace",
        "Call trace",
    ];
    if INSIDE.iter().any(|p| l.starts_with(p)) {
        return true;
    }
    // Register and stack dumps: "7cc0: 80f1911c 60030013", "x29: ffff ...".
    let (key, _) = l.split_once(':').unwrap_or(("", ""));
    !key.is_empty()
        && key.len() <= 8
        && key.bytes().all(|c| c.is_ascii_alphanumeric())
        && l.split_whitespace()
            .nth(1)
            .is_some_and(|w| w.bytes().all(|c| c.is_ascii_hexdigit()))
}
