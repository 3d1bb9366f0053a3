//! Crash reports out of console output: kernel oopses, sanitizer reports,
//! panics, named the way syzbot names them.
//!
//! [`parse`] takes raw console bytes (any encoding) and returns every crash
//! report in order. Kernel oopses are titled with syzbot's conventions
//! ("KASAN: use-after-free Read in ip6_send_skb"); user-space crashes
//! (sanitizers, Rust and Go panics, aborts) get titles of the same shape.
#![deny(missing_docs)]

mod demangle;
mod frames;
pub mod generic;
mod guilty;
pub mod identity;
mod lines;
mod oops;
mod title;
mod user;

use serde::{Deserialize, Serialize};

pub use generic::{generic_class, is_generic, GenericClass};
pub use guilty::guilty_file;
pub use identity::{relate, Identity, Relation};

/// One crash found in console output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The crash's name, e.g. "WARNING in tcf_exts_destroy".
    pub title: String,
    /// Other names the same crash may go by (e.g. "stall in X" for an RCU stall).
    pub alt_titles: Vec<String>,
    /// What kind of crash it is.
    #[serde(rename = "type")]
    pub kind: CrashType,
    /// The report is damaged: no or unreadable stack trace.
    pub corrupted: bool,
    /// Why the report is considered damaged.
    pub corrupted_reason: Option<String>,
    /// A crash that should be ignored (e.g. the test program was OOM-killed).
    pub suppressed: bool,
    /// The function the title names, if any.
    pub frame: Option<String>,
    /// Byte offset in the log where the report starts (start of its first line).
    pub start: usize,
    /// Byte offset just past the report's last line.
    pub end: usize,
    /// The report cut out of the log: prefixes removed, other CPUs' output left out.
    pub text: String,
}

/// The kind of a crash, named like the `TYPE:` header of syzkaller's test data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)] // The names say it all.
pub enum CrashType {
    #[serde(rename = "UNKNOWN")]
    Unknown,
    #[serde(rename = "WARNING")]
    Warning,
    #[serde(rename = "HANG")]
    Hang,
    #[serde(rename = "LOCKDEP")]
    Lockdep,
    #[serde(rename = "DoS")]
    DoS,
    #[serde(rename = "MEMORY_SAFETY_BUG")]
    MemorySafetyBug,
    #[serde(rename = "BUG")]
    Bug,
    #[serde(rename = "LEAK")]
    Leak,
    #[serde(rename = "ATOMIC_SLEEP")]
    AtomicSleep,
    #[serde(rename = "UBSAN")]
    Ubsan,
    #[serde(rename = "REFCOUNT_WARNING")]
    RefcountWarning,
    #[serde(rename = "NULL-POINTER-DEREFERENCE")]
    NullPointerDereference,
    #[serde(rename = "KASAN-READ")]
    KasanRead,
    #[serde(rename = "KASAN-WRITE")]
    KasanWrite,
    #[serde(rename = "KASAN-USE-AFTER-FREE-READ")]
    KasanUseAfterFreeRead,
    #[serde(rename = "KASAN-USE-AFTER-FREE-WRITE")]
    KasanUseAfterFreeWrite,
    #[serde(rename = "KASAN-INVALID-FREE")]
    KasanInvalidFree,
    #[serde(rename = "KASAN-NULL-POINTER-DEREFERENCE-READ")]
    KasanNullPointerDereferenceRead,
    #[serde(rename = "KASAN-NULL-POINTER-DEREFERENCE-WRITE")]
    KasanNullPointerDereferenceWrite,
    #[serde(rename = "KASAN-UNKNOWN")]
    KasanUnknown,
    #[serde(rename = "KMSAN-UNINIT-VALUE")]
    KmsanUninitValue,
    #[serde(rename = "KMSAN-INFO-LEAK")]
    KmsanInfoLeak,
    #[serde(rename = "KMSAN-USE-AFTER-FREE")]
    KmsanUseAfterFree,
    #[serde(rename = "KCSAN-DATARACE")]
    KcsanDataRace,
    #[serde(rename = "KFENCE-READ")]
    KfenceRead,
    #[serde(rename = "KFENCE-WRITE")]
    KfenceWrite,
    #[serde(rename = "KFENCE-USE-AFTER-FREE-READ")]
    KfenceUseAfterFreeRead,
    #[serde(rename = "KFENCE-USE-AFTER-FREE-WRITE")]
    KfenceUseAfterFreeWrite,
    #[serde(rename = "KFENCE-INVALID-FREE")]
    KfenceInvalidFree,
    #[serde(rename = "KFENCE-MEMORY-CORRUPTION")]
    KfenceMemoryCorruption,
    #[serde(rename = "SYZ_FAILURE")]
    SyzFailure,
    #[serde(rename = "REBOOT")]
    Reboot,
}

impl CrashType {
    /// The name used in JSON and in syzkaller's test data.
    pub fn name(self) -> &'static str {
        use CrashType::*;
        match self {
            Unknown => "UNKNOWN",
            Warning => "WARNING",
            Hang => "HANG",
            Lockdep => "LOCKDEP",
            DoS => "DoS",
            MemorySafetyBug => "MEMORY_SAFETY_BUG",
            Bug => "BUG",
            Leak => "LEAK",
            AtomicSleep => "ATOMIC_SLEEP",
            Ubsan => "UBSAN",
            RefcountWarning => "REFCOUNT_WARNING",
            NullPointerDereference => "NULL-POINTER-DEREFERENCE",
            KasanRead => "KASAN-READ",
            KasanWrite => "KASAN-WRITE",
            KasanUseAfterFreeRead => "KASAN-USE-AFTER-FREE-READ",
            KasanUseAfterFreeWrite => "KASAN-USE-AFTER-FREE-WRITE",
            KasanInvalidFree => "KASAN-INVALID-FREE",
            KasanNullPointerDereferenceRead => "KASAN-NULL-POINTER-DEREFERENCE-READ",
            KasanNullPointerDereferenceWrite => "KASAN-NULL-POINTER-DEREFERENCE-WRITE",
            KasanUnknown => "KASAN-UNKNOWN",
            KmsanUninitValue => "KMSAN-UNINIT-VALUE",
            KmsanInfoLeak => "KMSAN-INFO-LEAK",
            KmsanUseAfterFree => "KMSAN-USE-AFTER-FREE",
            KcsanDataRace => "KCSAN-DATARACE",
            KfenceRead => "KFENCE-READ",
            KfenceWrite => "KFENCE-WRITE",
            KfenceUseAfterFreeRead => "KFENCE-USE-AFTER-FREE-READ",
            KfenceUseAfterFreeWrite => "KFENCE-USE-AFTER-FREE-WRITE",
            KfenceInvalidFree => "KFENCE-INVALID-FREE",
            KfenceMemoryCorruption => "KFENCE-MEMORY-CORRUPTION",
            SyzFailure => "SYZ_FAILURE",
            Reboot => "REBOOT",
        }
    }
}

impl std::fmt::Display for CrashType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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
