//! The debugging instrumentation of a kernel config that a crash of a
//! given kind does not need: KASAN for a plain WARNING, lockdep for a bug
//! that is not about locking, the hang detectors for a crash that is not a
//! hang... Each group is dropped only when the bug still reproduces
//! without it (see [`crate::minimize`]); this table only says what to try.

use crate::kconfig::KernelConfig;

/// A crash's kind, as far as instrumentation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CrashKind {
    /// `WARNING in f` (and refcount warnings).
    Warning,
    /// A KASAN report.
    Kasan,
    /// A KMSAN report.
    Kmsan,
    /// A KCSAN data race.
    Kcsan,
    /// A KFENCE report.
    Kfence,
    /// An UBSAN report.
    Ubsan,
    /// A lockdep report (deadlock, bad unlock balance...).
    Lockdep,
    /// `BUG: sleeping function called from invalid context`.
    AtomicSleep,
    /// A hung task, a lockup or a stall.
    Hang,
    /// `memory leak in f` (kmemleak).
    Leak,
    /// Any other oops: `BUG:`, `kernel BUG at`, general protection fault.
    Bug,
    /// Not known: only what no crash needs is dropped.
    Unknown,
}

impl CrashKind {
    /// The kind of a `culprit_report::CrashType` by its name (`WARNING`,
    /// `KASAN-USE-AFTER-FREE-READ`, `LOCKDEP`...).
    pub fn from_type_name(name: &str) -> CrashKind {
        let prefixed = |prefix: &str| name.starts_with(prefix);
        match name {
            "WARNING" | "REFCOUNT_WARNING" => CrashKind::Warning,
            "UBSAN" => CrashKind::Ubsan,
            "LOCKDEP" => CrashKind::Lockdep,
            "ATOMIC_SLEEP" => CrashKind::AtomicSleep,
            "HANG" | "DoS" => CrashKind::Hang,
            "LEAK" => CrashKind::Leak,
            "UNKNOWN" | "SYZ_FAILURE" | "REBOOT" => CrashKind::Unknown,
            _ if prefixed("KASAN") => CrashKind::Kasan,
            _ if prefixed("KMSAN") => CrashKind::Kmsan,
            _ if prefixed("KCSAN") => CrashKind::Kcsan,
            _ if prefixed("KFENCE") => CrashKind::Kfence,
            _ => CrashKind::Bug,
        }
    }

    /// The kind a crash title suggests (when the report's type is not at
    /// hand): `KASAN: ...`, `WARNING in ...`, `possible deadlock in ...`.
    pub fn from_title(title: &str) -> CrashKind {
        let starts = |prefix: &str| title.starts_with(prefix);
        let has = |part: &str| title.contains(part);
        if starts("KASAN") {
            CrashKind::Kasan
        } else if starts("KMSAN") {
            CrashKind::Kmsan
        } else if starts("KCSAN") {
            CrashKind::Kcsan
        } else if starts("KFENCE") {
            CrashKind::Kfence
        } else if starts("UBSAN") {
            CrashKind::Ubsan
        } else if starts("WARNING") || starts("refcount bug") {
            CrashKind::Warning
        } else if starts("memory leak") {
            CrashKind::Leak
        } else if has("sleeping function called from invalid context") {
            CrashKind::AtomicSleep
        } else if has("deadlock") || has("lock held") || has("unlock balance") || has("lockdep") {
            CrashKind::Lockdep
        } else if starts("INFO: task hung") || has("stall") || has("lockup") || has("hang") {
            CrashKind::Hang
        } else if title.is_empty() {
            CrashKind::Unknown
        } else {
            CrashKind::Bug
        }
    }
}

/// A group of options that instrument the kernel for one kind of bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instrumentation {
    /// Its name in logs and results (`KASAN`, `lockdep`...).
    pub name: &'static str,
    /// The group is present when one of these options is on.
    pub gates: &'static [&'static str],
    /// The values that turn it off (`olddefconfig` turns off what
    /// depends on them).
    pub off: &'static [(&'static str, &'static str)],
    /// The kinds of crash that need it: only their reports come from it.
    pub needed_by: &'static [CrashKind],
}

/// Every group culprit knows, cheapest to lose first. Debug info and KCOV
/// serve no crash: culprit reads titles, not line numbers, and coverage
/// only guides fuzzers.
pub const GROUPS: &[Instrumentation] = &[
    Instrumentation {
        name: "debug info",
        gates: &["DEBUG_INFO"],
        off: &[
            ("DEBUG_INFO_NONE", "y"),
            ("DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT", "n"),
            ("DEBUG_INFO_DWARF4", "n"),
            ("DEBUG_INFO_DWARF5", "n"),
            ("DEBUG_INFO", "n"),
        ],
        needed_by: &[],
    },
    Instrumentation {
        name: "KCOV",
        gates: &["KCOV"],
        off: &[("KCOV", "n")],
        needed_by: &[],
    },
    Instrumentation {
        name: "KASAN",
        gates: &["KASAN"],
        off: &[("KASAN", "n")],
        needed_by: &[CrashKind::Kasan],
    },
    Instrumentation {
        name: "KMSAN",
        gates: &["KMSAN"],
        off: &[("KMSAN", "n")],
        needed_by: &[CrashKind::Kmsan],
    },
    Instrumentation {
        name: "KCSAN",
        gates: &["KCSAN"],
        off: &[("KCSAN", "n")],
        needed_by: &[CrashKind::Kcsan],
    },
    Instrumentation {
        name: "KFENCE",
        gates: &["KFENCE"],
        off: &[("KFENCE", "n")],
        needed_by: &[CrashKind::Kfence],
    },
    Instrumentation {
        name: "UBSAN",
        gates: &["UBSAN"],
        off: &[("UBSAN", "n")],
        needed_by: &[CrashKind::Ubsan],
    },
    Instrumentation {
        name: "lockdep",
        gates: &["PROVE_LOCKING", "DEBUG_LOCK_ALLOC", "LOCK_STAT"],
        off: &[
            ("PROVE_LOCKING", "n"),
            ("DEBUG_LOCK_ALLOC", "n"),
            ("LOCK_STAT", "n"),
            ("PROVE_RCU", "n"),
        ],
        needed_by: &[CrashKind::Lockdep],
    },
    Instrumentation {
        name: "atomic sleep checks",
        gates: &["DEBUG_ATOMIC_SLEEP"],
        off: &[("DEBUG_ATOMIC_SLEEP", "n")],
        needed_by: &[CrashKind::AtomicSleep],
    },
    Instrumentation {
        name: "hang detectors",
        gates: &[
            "DETECT_HUNG_TASK",
            "SOFTLOCKUP_DETECTOR",
            "HARDLOCKUP_DETECTOR",
            "WQ_WATCHDOG",
        ],
        off: &[
            ("DETECT_HUNG_TASK", "n"),
            ("SOFTLOCKUP_DETECTOR", "n"),
            ("HARDLOCKUP_DETECTOR", "n"),
            ("WQ_WATCHDOG", "n"),
        ],
        needed_by: &[CrashKind::Hang],
    },
    Instrumentation {
        name: "kmemleak",
        gates: &["DEBUG_KMEMLEAK"],
        off: &[("DEBUG_KMEMLEAK", "n")],
        needed_by: &[CrashKind::Leak],
    },
];

impl Instrumentation {
    /// True when `config` has the group on.
    pub fn is_present(&self, config: &KernelConfig) -> bool {
        self.gates.iter().any(|gate| config.is_enabled(gate))
    }

    /// True when a crash of `kind` may need the group.
    pub fn is_needed_by(&self, kind: CrashKind) -> bool {
        self.needed_by.contains(&kind)
    }

    /// Turns the group off in `config`.
    pub fn turn_off(&self, config: &mut KernelConfig) {
        for (name, value) in self.off {
            config.set(name, value);
        }
    }

    /// The options of the group (gates and switches), for candidate sets.
    pub fn options(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.gates
            .iter()
            .chain(self.off.iter().map(|(n, _)| n))
            .copied()
    }
}

/// The groups on in `config` that a crash of `kind` does not need.
pub fn droppable(kind: CrashKind, config: &KernelConfig) -> Vec<&'static Instrumentation> {
    GROUPS
        .iter()
        .filter(|g| g.is_present(config) && !g.is_needed_by(kind))
        .collect()
}

/// The groups on in `config` that a crash of `kind` needs.
pub fn needed(kind: CrashKind, config: &KernelConfig) -> Vec<&'static Instrumentation> {
    GROUPS
        .iter()
        .filter(|g| g.is_present(config) && g.is_needed_by(kind))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(groups: &[&Instrumentation]) -> Vec<&'static str> {
        groups.iter().map(|g| g.name).collect()
    }

    #[test]
    fn kinds_come_from_type_names_and_titles() {
        assert_eq!(CrashKind::from_type_name("WARNING"), CrashKind::Warning);
        assert_eq!(
            CrashKind::from_type_name("KASAN-USE-AFTER-FREE-READ"),
            CrashKind::Kasan
        );
        assert_eq!(CrashKind::from_type_name("LOCKDEP"), CrashKind::Lockdep);
        assert_eq!(
            CrashKind::from_title("KASAN: slab-use-after-free Read in tcp_v4_rcv"),
            CrashKind::Kasan
        );
        assert_eq!(
            CrashKind::from_title("possible deadlock in ext4_map_blocks"),
            CrashKind::Lockdep
        );
        assert_eq!(
            CrashKind::from_title("INFO: task hung in lock_sock"),
            CrashKind::Hang
        );
        assert_eq!(
            CrashKind::from_title("WARNING in prctl_scratch_check"),
            CrashKind::Warning
        );
    }

    #[test]
    fn a_warning_drops_sanitizers_lockdep_and_detectors_a_kasan_report_keeps_kasan() {
        let config = KernelConfig::parse(
            "CONFIG_KASAN=y\nCONFIG_PROVE_LOCKING=y\nCONFIG_DETECT_HUNG_TASK=y\n\
             CONFIG_DEBUG_INFO=y\nCONFIG_UBSAN=y\n# CONFIG_KCSAN is not set\n",
        );
        assert_eq!(
            names(&droppable(CrashKind::Warning, &config)),
            ["debug info", "KASAN", "UBSAN", "lockdep", "hang detectors"]
        );
        assert_eq!(
            names(&droppable(CrashKind::Kasan, &config)),
            ["debug info", "UBSAN", "lockdep", "hang detectors"]
        );
        assert_eq!(names(&needed(CrashKind::Kasan, &config)), ["KASAN"]);
        assert_eq!(
            names(&droppable(CrashKind::Hang, &config)),
            ["debug info", "KASAN", "UBSAN", "lockdep"]
        );
        assert_eq!(
            names(&droppable(CrashKind::Lockdep, &config)),
            ["debug info", "KASAN", "UBSAN", "hang detectors"]
        );
        let mut dropped = config.clone();
        GROUPS[2].turn_off(&mut dropped);
        assert_eq!(dropped.get("KASAN"), Some("n"));
        assert!(!GROUPS[2].is_present(&dropped));
    }
}
