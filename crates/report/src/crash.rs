//! What a crash report says: its title, kind and place in the log.

use serde::{Deserialize, Serialize};

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
