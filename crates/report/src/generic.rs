//! Generic frames: the kernel helpers (memcpy, mutex_lock, kmalloc, the
//! sanitizers' runtime...) a crash title looks past to name their caller,
//! classified by where Linux defines them.
//!
//! The knowledge comes from `data/generic-frames.txt`, generated from
//! Debian's linux-source-6.1 by `scripts/gen-generic-frames.py` (which says
//! why each directory class is generic); `scripts/check-generic-frames.sh`
//! proves it current. Names the source cannot classify (assembly entry
//! points, compiler-generated symbols, functions of older kernels) are in
//! `UNSOURCED` below.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Why a function is generic: the kind of code it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GenericClass {
    /// Sanitizer runtimes, their checks and reports (KASAN, KMSAN, KCSAN...).
    Sanitizer,
    /// Oops, WARN and BUG machinery, panic, printk, stack dumps.
    Report,
    /// Architecture entry, exception, trap, fault and interrupt code.
    Entry,
    /// String, memory and user-copy helpers.
    String,
    /// Memory allocators.
    Alloc,
    /// Locks, lockdep, RCU read side, preemption and irq state.
    Locking,
    /// Sleeping, waiting and waking.
    Sched,
    /// Atomics, bit operations, bitmaps, compiler helpers.
    Atomic,
    /// Lists, trees, hash tables, ID allocators.
    Collections,
    /// Work queues', kthreads' and timers' control API.
    Workqueue,
    /// Reference and link counts, page and buffer locks.
    Refs,
    /// The driver core, kobjects and sysfs.
    DriverCore,
    /// Ciphers and the crypto API.
    Crypto,
    /// Tracing hooks and tracepoints.
    Trace,
    /// Code the compiler or the build generates (thunks, stubs).
    Compiler,
}

impl GenericClass {
    /// Whether titles never name this kind of code, not even when a stack
    /// holds nothing else: the machinery every crash runs through (the
    /// sanitizers, reporting, entry code, locks, memory and string helpers,
    /// lists and trees, scheduling), as opposed to subsystems of their own
    /// (work queues, reference counts, the driver core, crypto).
    pub fn is_core(self) -> bool {
        use GenericClass::*;
        !matches!(self, Workqueue | Refs | DriverCore | Crypto)
    }

    /// The class's name in the data file.
    pub fn name(self) -> &'static str {
        use GenericClass::*;
        match self {
            Sanitizer => "sanitizer",
            Report => "report",
            Entry => "entry",
            String => "string",
            Alloc => "alloc",
            Locking => "locking",
            Sched => "sched",
            Atomic => "atomic",
            Collections => "collections",
            Workqueue => "workqueue",
            Refs => "refs",
            DriverCore => "driver-core",
            Crypto => "crypto",
            Trace => "trace",
            Compiler => "compiler",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        use GenericClass::*;
        [
            Sanitizer,
            Report,
            Entry,
            String,
            Alloc,
            Locking,
            Sched,
            Atomic,
            Collections,
            Workqueue,
            Refs,
            DriverCore,
            Crypto,
            Trace,
            Compiler,
        ]
        .into_iter()
        .find(|c| c.name() == name)
    }
}

/// The generated data: see the module documentation.
const DATA: &str = include_str!("../data/generic-frames.txt");

/// Names and families of the data file; `None` marks a name or family that
/// is not generic although a shorter family is.
struct Table {
    names: HashMap<&'static str, Option<GenericClass>, Fnv>,
    families: HashMap<&'static str, Option<GenericClass>, Fnv>,
    /// Suffixes that make a variant of a helper (`_noprof`).
    suffixes: Vec<&'static str>,
}

/// FNV-1a: short names hash several times faster than with SipHash, and
/// the keys are our own data, not an attacker's.
#[derive(Clone, Copy, Default)]
struct Fnv;

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| load(DATA))
}

fn load(data: &'static str) -> Table {
    let mut t = Table {
        names: HashMap::with_capacity_and_hasher(16_384, Fnv),
        families: HashMap::with_capacity_and_hasher(512, Fnv),
        suffixes: Vec::new(),
    };
    for line in data.lines().filter(|l| !l.starts_with('#')) {
        if let Some(suffix) = line.strip_prefix('~') {
            t.suffixes.push(suffix.trim());
            continue;
        }
        if let Some(name) = line.strip_prefix('!') {
            t.names.insert(name.trim(), None);
            continue;
        }
        let Some((key, class)) = line.split_once(' ') else {
            continue;
        };
        let class = GenericClass::from_name(class.trim());
        match key.strip_suffix('*') {
            Some(prefix) => t.families.insert(prefix, class),
            None => t.names.insert(key, class),
        };
    }
    t
}

/// Names the kernel source cannot classify, by pattern (`prefix*`,
/// `*suffix`, `*inner*` or exact), with their class.
const UNSOURCED: &[(&[&str], GenericClass)] = &[
    // x86 assembly entry points and the idtentry stubs macros generate
    // (`asm_exc_page_fault`), and the entry code of older kernels
    // (`entry_SYSCALL_64_fastpath`, `apic_timer_interrupt`, `invalid_op`).
    (
        &[
            "entry_SYSCALL*",
            "entry_SYSENTER*",
            "entry_INT80*",
            "asm_exc_*",
            "asm_sysvec_*",
            "asm_common_interrupt",
            "*apic_timer_interrupt*",
            "*call_function_single_interrupt",
            "*call_function_interrupt",
            "reschedule_interrupt",
            "common_interrupt",
            "ret_from_intr",
            "retint_kernel",
            "irq_entries_start",
            "invalid_op",
            "do_invalid_op",
            "do_error_trap",
            "general_protection",
            "do_general_protection",
            "page_fault",
            "async_page_fault",
            "do_async_page_fault",
            "divide_error",
            "do_divide_error",
            "fixup_bug",
            "error_entry",
            "restore_regs_and_return_to_kernel",
            "swapgs_restore_regs_and_return_to_usermode",
        ],
        GenericClass::Entry,
    ),
    // arm64 exception vectors of older kernels, written in assembly. (arm's
    // `__dabt_svc` and friends are titled: they are all a report shows.)
    (
        &[
            "el1_sync",
            "el1_sync_handler",
            "el1_irq",
            "el1_da",
            "el1_ia",
            "el1_dbg",
            "el1_undef",
            "el1_inv",
            "el1_error",
            "el1h_64_*",
            "el1t_64_*",
        ],
        GenericClass::Entry,
    ),
    // Retpoline and return thunks, stack protector and function tracing
    // stubs the compiler inserts.
    (
        &[
            "__x86_indirect_thunk_*",
            "__x86_indirect_call_thunk_*",
            "__x86_return_thunk",
            "__x86_indirect_jump_thunk_*",
            "__indirect_thunk_*",
            "__fentry__",
            "__cfi_*",
            "__stack_chk_fail",
        ],
        GenericClass::Compiler,
    ),
    // Tracepoint functions that TRACE_EVENT's macros generate per event.
    (
        &[
            "trace_*",
            "__traceiter_*",
            "__bpf_trace_*",
            "perf_trace_*",
            "trace_event_raw_event_*",
            "__trace_*",
        ],
        GenericClass::Trace,
    ),
    // Older kernels' names of sanitizer and debugging helpers.
    (
        &[
            "check_memory_region*",
            "kasan_report*",
            "__kasan_report*",
            "kasan_check_*",
            "print_address_description*",
        ],
        GenericClass::Sanitizer,
    ),
    // Printing machinery of any version: the word says what it does
    // (`__printk_safe_flush`, `vprintk_func`, `printk_deferred`).
    (
        &[
            "*printk*",
            "warn_slowpath_*",
            "print_context_stack*",
            "dump_backtrace*",
            "show_trace_log_lvl",
        ],
        GenericClass::Report,
    ),
    // The network twins of dev_err and friends, which a macro generates.
    (
        &[
            "netdev_emerg",
            "netdev_alert",
            "netdev_crit",
            "netdev_err",
            "netdev_warn",
            "netdev_notice",
            "netdev_info",
        ],
        GenericClass::Report,
    ),
    // Older kernels' allocator entry points (`kmem_cache_alloc_trace`),
    // and kfree_sensitive's old name.
    (&["kmem_cache_alloc_*", "kzfree"], GenericClass::Alloc),
    // Newer kernels' names of string helpers (strscpy since 6.9).
    (&["sized_strscpy"], GenericClass::String),
    // Older kernels' RCU flavours and net device unregistration, newer
    // kernels' fortify reports.
    (&["call_rcu_sched", "call_rcu_bh"], GenericClass::Locking),
    (&["rollback_registered*"], GenericClass::DriverCore),
    (&["__fortify_*", "fortify_*"], GenericClass::String),
];

/// Words that name a kind of lock in a function's name.
const LOCK_KINDS: &[&str] = &[
    "spin", "read", "write", "rq", "mutex", "sem", "rw", "seq", "raw", "bit", "rwsem",
];

/// The class that makes `func` a generic helper, if it is one.
pub fn generic_class(func: &str) -> Option<GenericClass> {
    let func = func.trim();
    if func.is_empty() {
        return None;
    }
    // Traces repeat the same functions over and over: remember verdicts.
    thread_local! {
        static SEEN: std::cell::RefCell<HashMap<String, Option<GenericClass>, Fnv>> =
            const { std::cell::RefCell::new(HashMap::with_hasher(Fnv)) };
    }
    if let Some(known) = SEEN.with(|seen| seen.borrow().get(func).copied()) {
        return known;
    }
    let class = classify(func);
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        // Bounded: arbitrary input must not grow it without end.
        if seen.len() < 65_536 {
            seen.insert(func.to_string(), class);
        }
    });
    class
}

/// [`generic_class`] without the memory.
fn classify(func: &str) -> Option<GenericClass> {
    if let Some(found) = lookup(func) {
        return found;
    }
    let by_kind = || lock_wrapper(func).or_else(|| named_helper(func));
    if let Some(class) = unsourced(func).or_else(by_kind) {
        return Some(class);
    }
    variant(func, 0).or_else(|| underscored(func))
}

/// A helper's name with leading underscores added (`__srcu_read_lock`,
/// `__kasan_report`, `__kobject_del`) is the helper's inner half: the
/// class of the bare name, however that is known (its family, its kind).
fn underscored(func: &str) -> Option<GenericClass> {
    let bare = func.trim_start_matches('_');
    if bare.len() == func.len() || bare.is_empty() {
        return None;
    }
    match lookup(bare) {
        Some(known) => known,
        None => unsourced(bare)
            .or_else(|| lock_wrapper(bare))
            .or_else(|| named_helper(bare)),
    }
}

/// The class of the helper `func` is a variant of: a suffix of the data's
/// list removed (`__alloc_pages_noprof`), or other leading underscores.
fn variant(func: &str, depth: usize) -> Option<GenericClass> {
    for suffix in &table().suffixes {
        if let Some(base) = func.strip_suffix(suffix).filter(|b| !b.is_empty()) {
            let known = table().names.get(base).copied().flatten();
            let deeper = || (depth < 3).then(|| variant(base, depth + 1)).flatten();
            if let Some(class) = known.or_else(deeper) {
                return Some(class);
            }
        }
    }
    // The same helper with other leading underscores: `printk` is
    // `_printk` in 6.1, `___might_sleep` became `__might_sleep`,
    // `__call_rcu` is `call_rcu`.
    let bare = func.trim_start_matches('_');
    (0..=3)
        .map(|n| format!("{}{bare}", "_".repeat(n)))
        .filter(|f| f != func)
        .find_map(|f| table().names.get(f.as_str()).copied().flatten())
}

/// Words that make a function an allocator's wrapper wherever it is
/// defined (`sock_kmalloc`, `__kmalloc_cache_noprof`, `ext4_kvzalloc`).
const ALLOCATOR_WORDS: &[&[&str]] = &[
    &["kmalloc"],
    &["kzalloc"],
    &["kcalloc"],
    &["krealloc"],
    &["kvmalloc"],
    &["kvzalloc"],
    &["kvcalloc"],
    &["kvrealloc"],
    &["vmalloc"],
    &["vzalloc"],
    &["kmemdup"],
    &["kstrdup"],
    &["kmem", "cache", "alloc"],
    &["alloc", "pages"],
    &["get", "free", "pages"],
];

/// Words of a filesystem's assertion and panic helpers (`btrfs_assertfail`,
/// `assfail`, `__reiserfs_panic`, `ufs_panic`): they report a bug found by
/// their caller.
const ASSERT_WORDS: &[&str] = &["assertfail", "assfail", "assert", "panic"];

/// Helpers known by what their name says: allocator wrappers, assertion
/// and panic helpers.
fn named_helper(func: &str) -> Option<GenericClass> {
    let words: Vec<&str> = func.split('_').filter(|w| !w.is_empty()).collect();
    let contains = |seq: &[&str]| words.windows(seq.len()).any(|w| w == seq);
    if ALLOCATOR_WORDS.iter().any(|seq| contains(seq)) {
        return Some(GenericClass::Alloc);
    }
    let last = words.last().copied().unwrap_or("");
    ASSERT_WORDS.contains(&last).then_some(GenericClass::Report)
}

/// Functions whose name says they take or drop a lock of some kind, in any
/// subsystem: `reiserfs_write_lock`, `ldsem_down_write`, `mmap_read_lock`,
/// `raw_spin_rq_unlock_irq`. (`console_lock` or `rtnl_lock` do not say
/// what kind of lock they take: they are titled.)
fn lock_wrapper(func: &str) -> Option<GenericClass> {
    let words: Vec<&str> = func.split('_').filter(|w| !w.is_empty()).collect();
    let is_lock = |w: &str| matches!(w, "lock" | "unlock" | "trylock");
    let found = words.windows(2).any(|pair| {
        let (a, b) = (pair[0], pair[1]);
        (LOCK_KINDS.contains(&a) && is_lock(b))
            || (is_lock(a)
                && matches!(
                    b,
                    "read" | "write" | "irq" | "irqsave" | "irqrestore" | "bh"
                ))
            || (matches!(a, "down" | "up") && matches!(b, "read" | "write"))
    });
    found.then_some(GenericClass::Locking)
}

/// Whether a title should look past `func`.
pub fn is_generic(func: &str) -> bool {
    generic_class(func).is_some()
}

/// The data file's verdict: `Some(None)` when the file says "not generic",
/// `None` when it does not know the name.
fn lookup(func: &str) -> Option<Option<GenericClass>> {
    let t = table();
    if let Some(found) = t.names.get(func) {
        return Some(*found);
    }
    family_prefixes(func)
        .rev()
        .find_map(|p| t.families.get(p).copied())
}

/// The prefixes of `func` a family may have, shortest first:
/// `__alloc_pages_bulk` gives `__alloc`, `__alloc_pages`.
fn family_prefixes(func: &str) -> impl DoubleEndedIterator<Item = &str> {
    let bare = func.trim_start_matches('_');
    let lead = func.len() - bare.len();
    let bytes = func.as_bytes();
    (lead + 1..func.len())
        .filter(move |&i| {
            bytes[i] == b'_' && bytes[i - 1] != b'_' && bytes.get(i + 1).is_some_and(|&c| c != b'_')
        })
        .map(move |i| &func[..i])
        .filter(|p| p.bytes().filter(u8::is_ascii_alphabetic).count() >= 3)
}

fn unsourced(func: &str) -> Option<GenericClass> {
    UNSOURCED
        .iter()
        .find(|(patterns, _)| patterns.iter().any(|p| matches(func, p)))
        .map(|(_, class)| *class)
}

/// Whether `func` matches one of `patterns` (see [`matches`]).
pub(crate) fn matches_any(func: &str, patterns: &[&str]) -> bool {
    patterns.iter().any(|p| matches(func, p))
}

/// `prefix*`, `*suffix`, `*inner*` or an exact name.
fn matches(func: &str, pattern: &str) -> bool {
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(rest), _) => match rest.strip_suffix('*') {
            Some(inner) => func.contains(inner),
            None => func.ends_with(rest),
        },
        (None, Some(prefix)) => func.starts_with(prefix),
        (None, None) => func == pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_loads_and_classes_are_known() {
        let t = table();
        assert!(t.names.len() > 5000, "{} names", t.names.len());
        assert!(t.families.len() > 100, "{} families", t.families.len());
        let records = DATA.lines().filter(|l| !l.starts_with(['#', '!', '~']));
        for line in records {
            let class = line.split_once(' ').map_or("", |(_, c)| c);
            assert!(
                class == "-" || GenericClass::from_name(class).is_some(),
                "{line}"
            );
        }
    }

    #[test]
    fn helpers_by_kind() {
        use GenericClass::*;
        for (func, class) in [
            ("kasan_report", Sanitizer),
            ("__asan_load8_noabort", Sanitizer),
            ("_raw_spin_lock_irqsave", Locking),
            ("mutex_lock_nested", Locking),
            ("__wake_up_common_lock", Sched),
            ("wait_for_completion_timeout", Sched),
            ("memcpy", String),
            ("_copy_to_iter", String),
            ("kmem_cache_alloc_node", Alloc),
            ("__alloc_pages_noprof", Alloc),
            ("idr_alloc_u32", Collections),
            ("rhashtable_lookup_fast", Collections),
            ("print_hex_dump", Report),
            ("drop_nlink", Refs),
            ("destroy_workqueue", Workqueue),
            ("entry_SYSCALL_64_after_hwframe", Entry),
            ("__x86_indirect_thunk_rax", Compiler),
            // Helpers some other tree copies (a decompressor's memmove, a
            // host tool's list.h) or that a macro or another kernel names.
            ("memmove", String),
            ("__list_add", Collections),
            ("list_add_tail", Collections),
            ("__rcu_read_unlock", Locking),
            ("kzfree", Alloc),
            ("sized_strscpy", String),
            ("netdev_warn", Report),
            ("netdev_printk", Report),
            // A helper's inner half, with leading underscores.
            ("__kcsan_check_watchpoint", Sanitizer),
            ("__exc_invalid_op", Entry),
            ("__kobject_del", DriverCore),
            ("__srcu_read_lock", Locking),
        ] {
            assert_eq!(generic_class(func), Some(class), "{func}");
        }
    }

    #[test]
    fn callers_are_not_generic() {
        for func in [
            "tcp_v4_rcv",
            "ext4_evict_inode",
            "synchronize_rcu",
            "remove_wait_queue",
            "process_one_work",
            "timerqueue_del",
            "iov_iter_advance",
            "__fput",
            "console_lock",
            "kunit_try_run_case",
            // Leading underscores on a caller make no helper.
            "__sys_sendmsg",
            "__netif_receive_skb",
            "__ext4_journal_stop",
            "",
        ] {
            assert_eq!(generic_class(func), None, "{func}");
        }
    }

    #[test]
    fn families_judge_names_of_other_versions() {
        // Not defined in 6.1, but their families are helpers.
        assert_eq!(
            generic_class("__kmem_cache_alloc_lru"),
            Some(GenericClass::Alloc)
        );
        assert_eq!(
            generic_class("rhashtable_new_helper"),
            Some(GenericClass::Collections)
        );
        assert_eq!(generic_class("ext4_new_helper"), None);
    }

    #[test]
    fn prefixes_split_at_words() {
        let p: Vec<_> = family_prefixes("__alloc_pages_bulk").collect();
        assert_eq!(p, ["__alloc", "__alloc_pages"]);
        let p: Vec<_> = family_prefixes("arch___set_bit").collect();
        assert_eq!(p, ["arch___set"]);
    }
}
