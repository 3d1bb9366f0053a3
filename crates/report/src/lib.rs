//! Crash reports out of console output: kernel oopses, sanitizer reports,
//! panics, named the way syzbot names them.
//!
//! [`parse`] takes raw console bytes (any encoding) and returns every crash
//! report in order. Kernel oopses are titled with syzbot's conventions
//! ("KASAN: use-after-free Read in ip6_send_skb"); user-space crashes
//! (sanitizers, Rust and Go panics, aborts) get titles of the same shape.
//!
//! [`relate`] says whether two reports are one bug; [`recognise`] whether a
//! report is the crash a syzbot title names, where culprit titles it
//! differently.
#![deny(missing_docs)]

mod crash;
mod demangle;
mod frames;
pub mod generic;
mod guilty;
pub mod identity;
mod lines;
mod oops;
mod recognise;
mod title;
mod user;

pub use crash::{CrashType, Report};
pub use generic::{generic_class, is_generic, GenericClass};
pub use guilty::guilty_file;
pub use identity::{relate, Identity, Relation};
pub use recognise::{recognise, Recognition};

/// Every crash report in `log`, in the order they appear.
///
/// Kernel oopses and user-space crashes (sanitizers, panics, aborts) are
/// both recognised; a kernel report wins where both overlap.
pub fn parse(log: &[u8]) -> Vec<Report> {
    let mut reports = oops::parse(log);
    for user_report in user::parse(log) {
        let overlaps = reports
            .iter()
            .any(|r| user_report.start < r.end && r.start < user_report.end);
        if !overlaps {
            reports.push(user_report);
        }
    }
    reports.sort_by_key(|r| r.start);
    reports
}

/// Only the kernel oopses in `log` (a VM console, where a test program's
/// own "Segmentation fault" is not the crash being bisected).
pub fn parse_kernel(log: &[u8]) -> Vec<Report> {
    oops::parse(log)
}

/// Only the user-space crashes in `log`: sanitizer reports, Rust panics,
/// aborts and segfaults (Go panics are in [`parse_kernel`]'s table and in
/// [`parse`]).
pub fn parse_user(log: &[u8]) -> Vec<Report> {
    user::parse(log)
}

/// The first crash report in `log`, if any.
pub fn first(log: &[u8]) -> Option<Report> {
    parse(log).into_iter().next()
}
