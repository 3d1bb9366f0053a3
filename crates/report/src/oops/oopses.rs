//! The kernel oopses we know: how each starts, and how syzbot names it.
//!
//! Every oops has a header (a string that starts the report) and formats
//! tried in order; a format's regex runs over the first lines of the report
//! (header line first), its title template expands the regex's groups and
//! `{FRAME}`, and its parts say where to look for the frame.

use crate::crash::CrashType::{self, *};
use regex::bytes::{Captures, Regex as BytesRegex};
use regex::Regex;
use std::sync::OnceLock;

/// Where a format looks for its frame.
#[derive(Debug, Clone)]
pub enum Part {
    /// The regex group with that index.
    Group(usize),
    /// The regex group with that index, even when it names a generic
    /// helper (only the format's skip list applies): the report itself says
    /// the function is the culprit.
    Named(usize),
    /// The crashing PC (`RIP:`, `pc :`, `PC is at`).
    Pc,
    /// The PC, or the stack trace after it when the PC is a generic helper.
    PcThenTrace,
    /// The first stack trace, provided it contains the function named by
    /// the regex group (else the trace belongs to someone else).
    TraceWith(usize),
    /// The first stack trace of the report.
    Trace,
    /// The first stack trace after a line containing the marker.
    TraceAfter(&'static str),
    /// The first lockdep `at: func` line after a line containing the marker.
    LockAt(&'static str),
    /// The stalled function of an RCU stall or soft lockup.
    Stall,
    /// The stuck function of a soft lockup.
    Lockup,
    /// What the first dispatcher of any stack called (stack overflows).
    Anchored,
}

/// One way an oops is printed, and its title.
pub struct Format {
    /// The pattern, compiled on first use: a run only pays for the kinds
    /// of reports its input holds.
    pattern: String,
    re: OnceLock<BytesRegex>,
    /// Text every match starts with: formats whose literal is absent are
    /// neither compiled nor run.
    literal: String,
    /// The regex spans several lines of the report.
    pub multiline: bool,
    pub title: &'static str,
    pub frame: Vec<Part>,
    pub skip: &'static [&'static str],
    pub alt: Vec<&'static str>,
    pub kind: CrashType,
    pub kind_of: Option<fn(&Captures<'_>) -> CrashType>,
    pub corrupted: Option<&'static str>,
    pub suppressed: bool,
    pub needs_trace: bool,
    /// When no line contains the marker, the report was cut short and is
    /// named by the title given instead.
    pub truncated: Option<(&'static str, usize, &'static str)>,
}

/// A kind of oops.
pub struct Oops {
    /// The text that starts its report.
    pub header: &'static str,
    /// Lines containing one of these are not this oops.
    pub excludes: &'static [&'static str],
    /// The type when no format matches.
    pub kind: CrashType,
    pub formats: Vec<Format>,
    /// When set, the header line must match it too.
    pub line_filter: Option<Regex>,
}

impl Oops {
    /// Whether the (prefix-stripped) line starts this oops, given where the
    /// header first occurs in it.
    pub fn starts_at(&self, text: &[u8], at: usize) -> bool {
        if self.header_at_start()
            && !text[..at].iter().all(|c| c.is_ascii_whitespace())
            && !after_prompt(&text[..at])
        {
            return false;
        }
        // "ODEBUG:" is not "BUG:"; lower-case headers may be glued to text.
        let capital = self.header.starts_with(|c: char| c.is_ascii_uppercase());
        if capital && at > 0 && text[at - 1].is_ascii_alphanumeric() {
            return false;
        }
        if self
            .excludes
            .iter()
            .any(|e| memchr::memmem::find(text, e.as_bytes()).is_some())
        {
            return false;
        }
        match &self.line_filter {
            Some(filter) => filter.is_match(&crate::lines::text(&text[at..])),
            None => true,
        }
    }

    /// Generic words must start the line (after a login prompt, at most).
    fn header_at_start(&self) -> bool {
        matches!(
            self.header,
            "panic: "
                | "fatal error: "
                | "SYZFAIL:"
                | "SYZFATAL:"
                | "INFO:"
                | "Internal error:"
                | "BUG "
        )
    }

    /// Whether this oops only counts where earlier output shows a kernel was
    /// already running (a boot banner in the middle of a log).
    pub fn needs_earlier_output(&self) -> bool {
        self.kind == Reboot
    }

    /// Whether a report of `self` printed inside a `current` report belongs to it.
    pub fn continues(&self, current: &Oops) -> bool {
        self.header == "Kernel panic"
            || self.kind == Reboot
            || (self.header == "kernel BUG at" && current.header.contains("panicked"))
            || (self.header == "Internal error:" && current.header != self.header)
            || (self.header == "kernel stack overflow" && current.header != self.header)
            || (self.header == current.header && current.kind == Hang)
            // A stall detector that trips over a WARNING prints the stall's
            // stacks under it.
            || (self.header == "WARNING:" && current.header == "INFO:" && current.kind == Hang)
    }
}

/// Text before a header that still lets it start the report: "login: ",
/// a timestamp, a syslog prefix, or "rcu: ".
fn after_prompt(before: &[u8]) -> bool {
    let s = crate::lines::text(before);
    let s = s.trim_end();
    s.ends_with("login:")
        || s.ends_with(']')
        || is_clock(s)
        || s.ends_with('[')
        || s.ends_with("rcu:")
        || s.ends_with("Oops:")
        || s.ends_with("BUG:")
}

/// A `2022/04/21 07:35:27` or `07:35:27` log timestamp.
fn is_clock(s: &str) -> bool {
    let last = s.rsplit(' ').next().unwrap_or("");
    last.len() == 8
        && last.bytes().filter(|&c| c == b':').count() == 2
        && last.bytes().all(|c| c.is_ascii_digit() || c == b':')
}

/// The longest plain text every match of a pattern contains: a literal
/// run outside groups, quantifiers and escapes (nothing for top-level
/// alternations).
fn literal_prefix(pattern: &str) -> String {
    if pattern.contains("(?i") {
        return String::new();
    }
    let chars: Vec<char> = pattern.chars().collect();
    let (mut best, mut run) = (String::new(), String::new());
    let mut depth = 0i32;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let quantified = chars.get(i + 1).is_some_and(|n| "*?{".contains(*n));
        let plain = match c {
            '\\' => {
                i += 1;
                chars.get(i).copied().filter(|e| e.is_ascii_punctuation())
            }
            '(' => {
                depth += 1;
                None
            }
            ')' => {
                depth -= 1;
                None
            }
            '|' if depth <= 0 => return String::new(),
            _ if ".^$*+?[]{}|".contains(c) || depth > 0 => None,
            _ => Some(c),
        };
        let quantified = quantified || chars.get(i + 1).is_some_and(|n| "*?{".contains(*n));
        match plain.filter(|_| depth <= 0 && !quantified) {
            Some(p) => run.push(p),
            None => {
                if run.len() > best.len() {
                    best = std::mem::take(&mut run);
                }
                run.clear();
            }
        }
        i += 1;
    }
    if run.len() > best.len() {
        best = run;
    }
    best
}

/// Whether a pattern reads past its first line: a newline outside a
/// character class (`[^:\n]` only stops at the line's end), or the `m` or
/// `s` flag.
fn spans_lines(pattern: &str) -> bool {
    if pattern.contains("(?m)") || pattern.contains("(?s)") {
        return true;
    }
    let mut chars = pattern.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            // An escape takes the next character with it (`\]` too).
            '\\' if chars.next() == Some('n') && !in_class => return true,
            '[' => in_class = true,
            ']' => in_class = false,
            _ => {}
        }
    }
    false
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("oops regex {pattern:?}: {e}"))
}

/// Builds a format; refine it with the builder methods.
fn f(pattern: &str, title: &'static str, kind: CrashType) -> Format {
    Format {
        pattern: pattern.to_string(),
        re: OnceLock::new(),
        literal: literal_prefix(pattern),
        multiline: spans_lines(pattern),
        title,
        frame: Vec::new(),
        skip: &[],
        alt: Vec::new(),
        kind,
        kind_of: None,
        corrupted: None,
        suppressed: false,
        needs_trace: false,
        truncated: None,
    }
}

impl Format {
    /// The compiled pattern: byte-oriented and ASCII-only, which keeps its
    /// automata small and quick to build (kernel messages are ASCII).
    fn re(&self) -> &BytesRegex {
        self.re.get_or_init(|| {
            regex::bytes::RegexBuilder::new(&self.pattern)
                .unicode(false)
                .build()
                .unwrap_or_else(|e| panic!("oops regex {:?}: {e}", self.pattern))
        })
    }

    /// The format's match in `haystack`, if any.
    pub fn captures<'h>(&self, haystack: &'h str) -> Option<Captures<'h>> {
        if !haystack.contains(self.literal.as_str()) {
            return None;
        }
        self.re().captures(haystack.as_bytes())
    }

    fn frame(mut self, parts: &[Part]) -> Self {
        self.frame = parts.to_vec();
        // A title naming a function rests on a stack trace; without one the
        // report is damaged even when the function could be read elsewhere.
        self.needs_trace = true;
        self
    }
    fn skip(mut self, skip: &'static [&'static str]) -> Self {
        self.skip = skip;
        self
    }
    fn alt(mut self, alt: &'static str) -> Self {
        self.alt.push(alt);
        self
    }
    fn kind_of(mut self, kind_of: fn(&Captures<'_>) -> CrashType) -> Self {
        self.kind_of = Some(kind_of);
        self
    }
    fn corrupted(mut self, why: &'static str) -> Self {
        self.corrupted = Some(why);
        self
    }
    fn truncated(mut self, marker: &'static str, within: usize, title: &'static str) -> Self {
        self.truncated = Some((marker, within, title));
        self
    }
    fn no_trace(mut self) -> Self {
        self.needs_trace = false;
        self
    }
    fn suppressed(mut self) -> Self {
        self.suppressed = true;
        self
    }
    fn needs_trace(mut self) -> Self {
        self.needs_trace = true;
        self
    }
}

fn oops(
    header: &'static str,
    excludes: &'static [&'static str],
    kind: CrashType,
    formats: Vec<Format>,
) -> Oops {
    Oops {
        header,
        excludes,
        kind,
        formats,
        line_filter: None,
    }
}

impl Oops {
    fn only(mut self, filter: &str) -> Self {
        self.line_filter = Some(re(filter));
        self
    }
}

/// All oopses, most specific first: a line is the oops of the first match.
pub fn table() -> &'static [Oops] {
    static TABLE: OnceLock<Vec<Oops>> = OnceLock::new();
    TABLE.get_or_init(build)
}

use Part::*;

/// Allocation wrappers a leak is not named after.
const LEAK_SKIP: &[&str] = &[
    "*alloc*",
    "kmem*",
    "__kmem*",
    "kstrdup*",
    "kmemdup*",
    "slab_*",
    "__slab*",
    "kmemleak_*",
    "create_object",
    "sget_userns",
    "__list_lru_init*",
];
const BAD_ACCESS: &str = "bad-access in {FRAME}";
const STACK: &[Part] = &[Trace];
const PC_FIRST: &[Part] = &[PcThenTrace];
/// Functions a hang title never names: the waiting itself. Any function
/// whose name says it waits (`wait` anywhere: `wait_for_completion`,
/// `folio_wait_bit_common`, `wb_wait_for_completion`) or waits with a
/// timeout (`tty_ldisc_lock_pair_timeout`), and the waits that do not say
/// so: locks taken on behalf of the caller, the freezer, RCU barriers.
const WAITING: &[&str] = &[
    "*wait*",
    "*_timeout",
    "*_timeout_*",
    "console_lock",
    "synchronize_rcu_tasks*",
    "rcu_barrier*",
    "__flush_work*",
    "__lock_sock",
    "lock_sock_nested",
    "io_wq_*",
    "rtnl_lock_killable",
    "__rtnl_lock",
    "__folio_lock*",
    "__refrigerator",
];

fn build() -> Vec<Oops> {
    let mut t = vec![
        kasan(),
        oops("KMSAN:", &[], KmsanUninitValue, vec![
            f(r"KMSAN: (kernel-infoleak|kernel-usb-infoleak)", "KMSAN: $1 in {FRAME}", KmsanInfoLeak)
                .frame(STACK).skip(&["copy_*", "_copy_*", "usb_submit_urb", "copyout", "instrument_*", "kmsan_*"]).alt(BAD_ACCESS).needs_trace(),
            f(r"KMSAN: ([a-z\-]+) in", "KMSAN: $1 in {FRAME}", KmsanUninitValue).frame(STACK).alt(BAD_ACCESS).needs_trace(),
            f(r"KMSAN: use of uni\w*tialized memory in", "KMSAN: uninit-value in {FRAME}", KmsanUninitValue).frame(STACK).alt(BAD_ACCESS),
        ]),
        oops("KCSAN:", &[], KcsanDataRace, vec![
            f(r"KCSAN: data-race in ([^\s/+]+)(?:\+\S+)? / ([^\s/+]+)", "KCSAN: data-race in $1 / $2", KcsanDataRace),
            f(r"KCSAN: ([a-z\-]+) in", "KCSAN: $1 in {FRAME}", KcsanDataRace).frame(STACK),
        ]),
        oops("KFENCE:", &[], KfenceMemoryCorruption, vec![
            f(r"KFENCE: memory corruption in", "KFENCE: memory corruption in {FRAME}", KfenceMemoryCorruption).frame(STACK),
            f(r"KFENCE: (invalid free|double free)", "KFENCE: invalid free in {FRAME}", KfenceInvalidFree).frame(STACK).alt("invalid-free in {FRAME}"),
            f(r"KFENCE: ([a-z\-]+ (?:read|write))", "KFENCE: $1 in {FRAME}", KfenceRead).frame(STACK).alt(BAD_ACCESS).kind_of(kfence_kind),
        ]),
        oops("UBSAN:", &[], Ubsan, vec![
            f(r"UBSAN: Undefined behaviour in", "UBSAN: undefined-behaviour in {FRAME}", Ubsan).frame(STACK)
                .skip(&["ubsan_*", "__ubsan_*", "val_to_string", "handle_overflow", "handle_*"]),
            f(r"UBSAN: ([a-z\-]+) in", "UBSAN: $1 in {FRAME}", Ubsan).frame(STACK).skip(&["ubsan_*", "__ubsan_*"]),
        ]),
        oops("BUG: memory leak", &[], Leak, vec![
            f(r"memory leak", "memory leak in {FRAME}", Leak).frame(&[TraceAfter("backtrace")]).skip(LEAK_SKIP),
        ]),
        oops("Kernel panic", &[], DoS, kernel_panic()),
        oops("WARNING:", &["WARNING: /etc/ssh", "WARNING: Unsafe core", "WARNING: the mand mount"], Warning, warnings())
            .only(r"^WARNING: (?:CPU: |.*\S\.(?:c|h|rs):\d+|possible |inconsistent |suspicious |\S+ still has locks|lock held |nested lock|Nested lock|bad unlock|held lock|kernel stack|(?:SOFT|HARD)IRQ-)"),
        oops("INFO:", &["INFO: lockdep is turned off", "INFO: Stall ended", "INFO: NMI handler", "INFO: recovery required",
            "INFO: Slab 0x", "INFO: Object 0x", "INFO: Redzone", "INFO: 0x", "INFO: task hung in"], Hang, infos())
            .only(r"^INFO:(?:\s*\]?\s*$| (?:task |rcu_|possible |inconsistent |suspicious |trying to register|Allocated in|Freed in|(?:SOFT|HARD)IRQ-))"),
        oops("BUG:", &["BUG: KASAN", "BUG: KMSAN", "BUG: KCSAN", "BUG: KFENCE", "Oops - BUG"], Bug, bugs()),
        oops("BUG ", &["BUG: "], Bug, vec![
            f(r"BUG \S+ \([^)]*\): (Object already free|Poison overwritten|Redzone overwritten|Padding overwritten)", "BUG: $1", MemorySafetyBug).kind_of(|_| DoS),
        ])
        .only(r"^BUG \S+ \([^)]*\): (?:Object already free|Poison overwritten|Redzone overwritten|Padding overwritten)"),
        oops("general protection fault", &[], DoS, vec![
            f(r"general protection fault", "general protection fault in {FRAME}", DoS).frame(PC_FIRST).alt(BAD_ACCESS).needs_trace(),
        ]),
        oops("stack segment: ", &[], DoS, vec![
            f(r"stack segment: ", "stack segment fault in {FRAME}", DoS).frame(PC_FIRST).alt(BAD_ACCESS),
        ]),
        oops("divide_error:", &[], DoS, vec![f(r"divide_error", "divide error in {FRAME}", DoS).frame(PC_FIRST)]),
        oops("divide error:", &[], DoS, vec![f(r"divide error", "divide error in {FRAME}", DoS).frame(PC_FIRST).needs_trace()]),
        oops("int3:", &[], DoS, vec![f(r"int3", "int3 in {FRAME}", DoS).frame(PC_FIRST)]),
        oops("PANIC: double fault", &[], DoS, vec![f(r"PANIC: double fault", "PANIC: double fault in {FRAME}", DoS).frame(&[Pc]).needs_trace()]),
        oops("kernel BUG at", &[], Bug, kernel_bug()),
        oops(
            "Insufficient stack space to handle exception",
            &[],
            DoS,
            vec![f(r"Insufficient stack space", "kernel stack overflow in {FRAME}", DoS)
                .frame(&[Anchored, Trace])
                .alt("stack-overflow in {FRAME}")],
        ),
        oops("kernel stack overflow", &["BUG: stack guard"], DoS, vec![
            f(r"kernel stack overflow", "kernel stack overflow in {FRAME}", DoS).frame(&[Anchored, Trace]).alt("stack-overflow in {FRAME}"),
        ]),
        oops("Unable to handle kernel", &[], MemorySafetyBug, arm_faults()),
        oops("Internal error:", &["Oops - BUG"], DoS, vec![
            f(r"Internal error:", "Internal error in {FRAME}", DoS).frame(PC_FIRST).alt(BAD_ACCESS).no_trace(),
        ]),
        oops("Unhandled fault:", &[], DoS, vec![f(r"Unhandled fault", "Unhandled fault in {FRAME}", DoS).frame(PC_FIRST).alt(BAD_ACCESS).no_trace()]),
        oops("Alignment trap:", &[], DoS, vec![f(r"Alignment trap", "Alignment trap in {FRAME}", DoS).frame(PC_FIRST)]),
        oops("unregister_netdevice: waiting for", &[], DoS, vec![
            f(r"unregister_netdevice: waiting for \S+ to become free", "unregister_netdevice: waiting for DEV to become free", DoS),
        ]),
        // The secure OS's panics: an assertion, or any other message.
        oops("trusty: panic (caller", &[], DoS, vec![
            f(r"ASSERT FAILED at \([^)]*\): (.*)", "trusty: ASSERT FAILED: $1", DoS),
            f(r"trusty: panic \(caller[^)]*\):\s*(.*\S)", "trusty: panic: $1", DoS),
        ]),
        oops("ASSERT FAILED at (", &[], DoS, vec![f(r"ASSERT FAILED at \([^)]*\): (.*)", "trusty: ASSERT FAILED: $1", DoS)]),
        oops("SeaBIOS (version", &[], Reboot, vec![f(r"SeaBIOS", "unexpected kernel reboot", Reboot)]),
        oops("Booting the kernel", &[], Reboot, vec![f(r"Booting the kernel", "unexpected kernel reboot", Reboot)]),
        oops("VFS: Busy inodes after unmount", &[], DoS, vec![f(r"VFS: Busy inodes", "VFS: Busy inodes after unmount (use-after-free)", DoS)]),
        oops("VFS: Close: file count is 0", &[], DoS, vec![f(r"VFS: Close", "VFS: Close: file count is zero (use-after-free)", DoS)]),
        oops("rust_kernel: panicked at", &[], DoS, vec![
            f(r"panicked at .*\n\s*(attempt to \w+ with overflow)", "$1 in {FRAME}", DoS).frame(STACK).skip(&["*panic*", "rust_*", "__rustc::*", "*rust_begin_unwind", "kernel::*", "<kernel::*", "core::*", "<core::*", "rust_helper_*"]),
            f(r"panicked at [^:]+:\d+:\d+:\n?(.+)", "kernel panic: $1", DoS),
        ]),
        // Go's runtime dies with "fatal error: <why>"; the why (out of
        // memory, concurrent map writes, deadlock) is one crash to syzbot.
        oops("fatal error: ", &["fatal error: cannot create timer"], DoS, vec![f(r"fatal error:", "go runtime error", DoS)]),
        oops("SYZFATAL:", &[], SyzFailure, vec![f(r"(SYZFATAL: .*)", "$1", SyzFailure).alt("SYZFATAL")]),
        oops("SYZFAIL:", &[], SyzFailure, vec![f(r"(SYZFAIL: .*)", "$1", SyzFailure)]),
        oops("panic: ", &[], DoS, vec![
            f(r"panic: (cannot allocate memory|out of memory)", "panic: $1", DoS).suppressed(),
            f(r"panic: (.*)", "panic: $1", DoS),
        ]),
    ];
    t.retain(|o| !o.formats.is_empty());
    t
}

fn kasan() -> Oops {
    let size = r"(?:.*\n){0,4}?\s*(Read|Write) (?:of size|at addr)";
    let kasan_new =
        format!(r"KASAN: ([a-z\-]+) in ([^\s+]+)(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?.*\n{size}");
    oops(
        "KASAN:",
        &[
            "KASAN: probably",
            "KASAN: maybe",
            "in range [",
            "KASAN: CONFIG_",
            "KASAN: Kernel",
        ],
        KasanUnknown,
        vec![
            f(&kasan_new, "KASAN: $1 $3 in {FRAME}", KasanRead)
                .frame(&[TraceWith(2), Group(2)])
                .alt(BAD_ACCESS)
                .kind_of(kasan_kind)
                .needs_trace()
                .skip(&[
                    "kasan_*",
                    "__kasan_*",
                    "check_*",
                    "memcpy*",
                    "memmove*",
                    "memset*",
                ]),
            f(
                r"KASAN: (double-free or invalid-free|invalid-free|double-free) in ([^\s+]+)",
                "KASAN: invalid-free in {FRAME}",
                KasanInvalidFree,
            )
            .frame(&[Trace, Group(2)])
            .alt("invalid-free in {FRAME}")
            .skip(&[
                "kfree*",
                "kmem_cache_free*",
                "__kasan*",
                "kasan_*",
                "slab_free*",
            ]),
            f(
                r"KASAN: ([a-z\-]+) on address.*\n(?:.*\n){0,3}?\s*(Read|Write) of size",
                "KASAN: $1 $2",
                KasanRead,
            )
            .kind_of(kasan_kind)
            .corrupted("no stack trace"),
            f(
                r"KASAN: ([a-z\-]+) in ([^\s+]+)(?:\+0x[0-9a-f]+/0x[0-9a-f]+)? at addr",
                "KASAN: $1 in $2 at addr ADDR",
                KasanRead,
            )
            .kind_of(kasan_kind)
            .corrupted("old format"),
            f(
                r"KASAN: ([a-z\-]+) in ([^\s+]+)",
                "KASAN: $1 in $2",
                KasanRead,
            )
            .kind_of(kasan_kind)
            .corrupted("no access type"),
        ],
    )
}

fn kasan_kind(caps: &Captures<'_>) -> CrashType {
    let bug = caps.get(1).map_or(&b""[..], |m| m.as_bytes());
    let write = caps.iter().flatten().any(|m| m.as_bytes() == b"Write");
    match (bug, write) {
        (b"use-after-free" | b"slab-use-after-free", false) => KasanUseAfterFreeRead,
        (b"use-after-free" | b"slab-use-after-free", true) => KasanUseAfterFreeWrite,
        (b"null-ptr-deref", false) => KasanNullPointerDereferenceRead,
        (b"null-ptr-deref", true) => KasanNullPointerDereferenceWrite,
        (_, false) => KasanRead,
        (_, true) => KasanWrite,
    }
}

fn kfence_kind(caps: &Captures<'_>) -> CrashType {
    match std::str::from_utf8(caps.get(1).map_or(&b""[..], |m| m.as_bytes())).unwrap_or("") {
        "use-after-free read" => KfenceUseAfterFreeRead,
        "use-after-free write" => KfenceUseAfterFreeWrite,
        s if s.ends_with("write") => KfenceWrite,
        _ => KfenceRead,
    }
}

fn kernel_panic() -> Vec<Format> {
    vec![
        f(
            r"Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: ([^\s+]+)",
            "kernel panic: stack is corrupted in {FRAME}",
            DoS,
        )
        .frame(&[Group(1), Trace])
        .no_trace(),
        f(
            r"Kernel panic - not syncing: corrupted stack end detected inside scheduler",
            "kernel panic: corrupted stack end in {FRAME}",
            DoS,
        )
        .frame(&[Anchored, Trace])
        .alt("stack-overflow in {FRAME}")
        .skip(&["schedule*", "__schedule*", "preempt_schedule*"]),
        f(
            r"Kernel panic - not syncing: (Attempted to kill init!)",
            "kernel panic: $1",
            DoS,
        )
        .suppressed(),
        f(
            r"Kernel panic - not syncing: (Fatal exception|panic_on_warn set)",
            "kernel panic: $1",
            DoS,
        )
        .corrupted("only the panic was printed"),
        f(
            r"Kernel panic - not syncing: (VFS: Unable to mount root fs on [^\s]+)",
            "kernel panic: $1",
            DoS,
        ),
        f(
            r"Kernel panic - not syncing: ([^:\n]*?)(?: in: \S+)?\s*$",
            "kernel panic: $1",
            DoS,
        ),
        f(r"Kernel panic - not syncing: (.*)", "kernel panic: $1", DoS),
    ]
}

fn warnings() -> Vec<Format> {
    let warn_at = |file: &str| format!(r"WARNING: .*\b{file}:\d+");
    vec![
        f(r"WARNING: possible circular locking dependency detected", "possible deadlock in {FRAME}", Lockdep)
            .frame(&[LockAt("is trying to acquire lock"), LockAt("already holding lock"), TraceAfter("dependency chain")])
            .skip(&["process_one_work", "worker_thread"])
            .truncated("is trying to acquire", 8, "WARNING: possible circular locking dependency detected"),
        f(r"WARNING: possible recursive locking detected", "possible deadlock in {FRAME}", Lockdep).frame(&[LockAt("is trying to acquire lock")]),
        f(r"WARNING: possible irq lock inversion dependency detected", "possible deadlock in {FRAME}", Lockdep).frame(&[LockAt("just changed the state of lock"), LockAt("")]),
        f(r"WARNING: (?:SOFT|HARD)IRQ-(?:safe|READ-safe) -> (?:SOFT|HARD)IRQ-unsafe lock order detected", "possible deadlock in {FRAME}", Lockdep)
            .frame(&[TraceAfter("-irq-safe at:"), LockAt("is already holding"), LockAt("")]),
        f(r"WARNING: inconsistent lock state", "inconsistent lock state in {FRAME}", Lockdep).frame(&[LockAt("takes:"), TraceAfter("stack backtrace"), TraceAfter("takes:")]),
        f(r"WARNING: suspicious RCU usage", "WARNING: suspicious RCU usage in {FRAME}", Lockdep)
            .truncated("-----", 3, "WARNING: suspicious RCU usage")
            .frame(STACK)
            .skip(&["rcu_*", "__rcu_*", "lockdep_rcu_suspicious", "rcu_read_lock*", "rcu_dereference*"]).needs_trace(),
        f(r"WARNING: kernel stack (frame pointer|regs) .* has bad (?:'\w+' )?value", "WARNING: kernel stack $1 has bad value", Warning),
        f(r"WARNING: \S+ still has locks held!", "WARNING: still has locks held in {FRAME}", Lockdep).frame(&[LockAt(""), Trace]),
        // proc_create() of a name that exists: titled after who created it.
        f(&warn_at(r"fs/proc/generic\.c"), "WARNING: proc registration bug in {FRAME}", Warning).frame(PC_FIRST)
            .skip(&["proc_*", "_proc_*", "__proc_*"]),
        f(r"WARNING: lock held when returning to user space", "WARNING: lock held when returning to user space in {FRAME}", Lockdep).frame(&[LockAt("")]).no_trace(),
        f(r"WARNING: nested lock was not taken", "WARNING: nested lock was not taken in {FRAME}", Lockdep).frame(STACK),
        f(r"WARNING: bad unlock balance detected", "WARNING: bad unlock balance in {FRAME}", Lockdep).frame(&[LockAt("is trying to release lock"), Trace]),
        f(r"WARNING: held lock freed", "WARNING: held lock freed in {FRAME}", Lockdep).frame(STACK),
        f(&warn_at(r"lib/refcount\.c"), "WARNING: refcount bug in {FRAME}", RefcountWarning).frame(PC_FIRST).skip(&["refcount_*", "__refcount_*"]),
        f(&warn_at(r"lib/debugobjects\.c"), "WARNING: ODEBUG bug in {FRAME}", Warning).frame(PC_FIRST).skip(&["debug_*", "__debug_*"]),
        f(&warn_at(r"lib/kobject\.c"), "WARNING: kobject bug in {FRAME}", Warning).frame(PC_FIRST).skip(&["kobject_*"]),
        f(&warn_at(r"kernel/locking/lockdep\.c"), "WARNING: locking bug in {FRAME}", Lockdep).frame(PC_FIRST),
        f(&warn_at(r"mm/usercopy\.c"), "WARNING: bad usercopy in {FRAME}", Warning).frame(PC_FIRST).skip(&["usercopy_*", "__check_*", "check_*"]),
        f(r"WARNING: .*\bmm/(?:slab_common\.c:\d+ kmalloc_slab|util\.c:\d+ kvmalloc_node)",
            "WARNING: kmalloc bug in {FRAME}", Warning).frame(PC_FIRST).skip(&["kmalloc*", "__kmalloc*", "kvmalloc*", "__kvmalloc*"]),
        f(r"WARNING: .*\bmm/vmalloc\.c:\d+ __vmalloc_node_range", "WARNING: zero-size vmalloc in {FRAME}", Warning).frame(PC_FIRST)
            .skip(&["vmalloc*", "__vmalloc*", "vzalloc*", "vmalloc_user"]),
        f(r"WARNING: .*\bdrivers/usb/core/urb\.c:\d+ usb_submit_urb", "WARNING in {FRAME}/usb_submit_urb", Warning).frame(&[Trace])
            .skip(&["usb_submit_urb", "usb_start_wait_urb", "usb_*_msg", "usb_bulk_msg"]),
        f(r"WARNING: (?:CPU: |.*\S\.(?:c|h|rs):\d+)", "WARNING in {FRAME}", Warning).frame(PC_FIRST).needs_trace(),
        f(r"WARNING: Nested lock was not taken", "WARNING: nested lock was not taken in {FRAME}", Lockdep).frame(STACK),
    ]
}

fn infos() -> Vec<Format> {
    let stall = |pattern: &str| {
        f(pattern, "INFO: rcu detected stall in {FRAME}", Hang)
            .frame(&[Stall])
            .alt("stall in {FRAME}")
    };
    vec![
        f(r"INFO: task \S+ blocked for more than", "INFO: task hung in {FRAME}", Hang).frame(STACK).skip(WAITING).alt("hang in {FRAME}").needs_trace(),
        f(r"INFO: task \S+ can't die for more than", "INFO: task can't die in {FRAME}", Hang).frame(STACK).skip(WAITING).alt("hang in {FRAME}"),
        stall(r"INFO: rcu_(?:preempt|sched|bh) (?:self-)?detected(?: expedited)? stall"),
        stall(r"INFO: rcu_(?:preempt|sched|bh) detected stalls"),
        stall(r"INFO: rcu_tasks detected stalls"),
        f(r"INFO: possible circular locking dependency detected", "possible deadlock in {FRAME}", Lockdep)
            .frame(&[LockAt("is trying to acquire lock"), LockAt("already holding lock")]),
        f(r"INFO: possible recursive locking detected", "possible deadlock in {FRAME}", Lockdep).frame(&[LockAt("is trying to acquire lock")]),
        f(r"INFO: possible irq lock inversion dependency detected", "possible deadlock in {FRAME}", Lockdep).frame(&[LockAt("just changed the state"), LockAt("")]),
        f(r"INFO: (?:SOFT|HARD)IRQ-(?:safe|READ-safe) -> (?:SOFT|HARD)IRQ-unsafe lock order detected", "possible deadlock in {FRAME}", Lockdep)
            .frame(&[TraceAfter("-irq-safe at:"), LockAt("is already holding"), LockAt("")]),
        f(r"INFO: inconsistent lock state", "inconsistent lock state in {FRAME}", Lockdep).frame(&[LockAt("takes:"), TraceAfter("stack backtrace"), TraceAfter("takes:")]),
        f(r"INFO: suspicious RCU usage", "INFO: suspicious RCU usage in {FRAME}", Lockdep).frame(STACK)
            .skip(&["rcu_*", "__rcu_*", "lockdep_rcu_suspicious", "rcu_read_lock*", "rcu_dereference*"]),
        f(r"INFO: trying to register non-static key", "INFO: trying to register non-static key in {FRAME}", Lockdep).frame(STACK)
            .skip(&["register_lock_class", "__lock_acquire*", "lockdep_init_map*", "assign_lock_key", "lock_acquire*"]),
        f(r"INFO: (Allocated|Freed) in ([^\s+]+)\S* (age=\d+ cpu=\d+ pid=\d+)", "INFO: $1 in $2 $3", Bug).corrupted("slab debug output"),
        f(r"INFO: ([^\n]*\S)", "INFO: $1", Hang),
        f(r"INFO:", "INFO: corrupted", Hang).corrupted("empty INFO line"),
    ]
}

fn bugs() -> Vec<Format> {
    vec![
        f(r"BUG: Invalid wait context", "WARNING: locking bug in {FRAME}", Lockdep).frame(STACK),
        f(r"BUG: (?:unable to handle kernel paging request|unable to handle page fault for address)", "BUG: unable to handle kernel paging request in {FRAME}", MemorySafetyBug)
            .frame(PC_FIRST).alt(BAD_ACCESS).needs_trace(),
        f(r"BUG: (?i:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference)", "BUG: unable to handle kernel NULL pointer dereference in {FRAME}", NullPointerDereference)
            .frame(PC_FIRST).alt(BAD_ACCESS).needs_trace(),
        f(r"BUG: unable to handle kernel access to user memory", "BUG: unable to handle kernel access to user memory in {FRAME}", MemorySafetyBug).frame(PC_FIRST).alt(BAD_ACCESS),
        f(r"(?m)BUG: unable to handle kernel\s*$", "BUG: unable to handle kernel", MemorySafetyBug).corrupted("cut header"),
        f(r"BUG: (spinlock|rwlock) (bad magic|recursion|lockup suspected|already unlocked|wrong owner|wrong CPU|cpu recursion)", "BUG: $1 $2 in {FRAME}", Lockdep)
            .frame(STACK).skip(&["spin_*", "do_raw_*", "_raw_*", "__raw_*", "spin_dump", "spin_bug", "rwlock_bug"]),
        f(r"BUG: soft lockup", "BUG: soft lockup in {FRAME}", Hang).frame(&[Lockup]).alt("stall in {FRAME}"),
        f(r"BUG: sleeping function called from invalid context", "BUG: sleeping function called from invalid context in {FRAME}", AtomicSleep).frame(STACK),
        f(r"BUG: scheduling while atomic", "BUG: scheduling while atomic in {FRAME}", AtomicSleep).frame(STACK)
            .skip(&["__schedule_bug", "schedule*", "__schedule*", "preempt_schedule*"]),
        // "caller is X" names the code that used the per-CPU value: that is
        // the bug, even inside a library (radix_tree_node_alloc).
        f(r"(?s)BUG: using (\S+) in preemptible.*?caller is ([^\s+]+)", "BUG: using $1 in preemptible code in {FRAME}", Lockdep)
            .frame(&[Named(2), Trace])
            .skip(&["check_preemption_disabled", "debug_smp_processor_id", "__this_cpu_preempt_check"]),
        f(r"BUG: using (\S+) in preemptible", "BUG: using $1 in preemptible code in {FRAME}", Lockdep).frame(STACK)
            .skip(&["check_preemption_disabled", "debug_smp_processor_id", "__this_cpu_preempt_check"]),
        f(r"BUG: workqueue lockup", "BUG: workqueue lockup", Hang),
        f(r"BUG: workqueue leaked lock or atomic.*\n\s*last function: ([^\s+]+)", "BUG: workqueue leaked lock or atomic in $1", Lockdep),
        f(r"BUG: Bad page state", "BUG: Bad page state in {FRAME}", MemorySafetyBug).frame(STACK)
            .skip(&["set_page_owner*", "__set_page_owner*", "post_alloc_hook", "get_page_from_freelist", "page_pool_*", "__page_pool_*", "bad_page", "free_*", "__free_*"]),
        f(r"BUG: Bad rss-counter state", "BUG: Bad rss-counter state", MemorySafetyBug),
        f(r"BUG: Bad page map", "BUG: Bad page map", MemorySafetyBug),
        f(r"BUG: \S+ still has locks held!", "BUG: still has locks held in {FRAME}", Lockdep).frame(&[LockAt(""), Trace]),
        // powerpc: "BUG: Unable to handle kernel data access on read at 0x..".
        f(r"BUG: Unable to handle kernel (data access|instruction fetch) on (read|write|execute)", "BUG: Unable to handle kernel $1 on $2 in {FRAME}", MemorySafetyBug)
            .frame(PC_FIRST).alt(BAD_ACCESS),
        f(r"BUG: Unable to handle kernel (data access|instruction fetch)", "BUG: Unable to handle kernel $1 in {FRAME}", MemorySafetyBug)
            .frame(PC_FIRST).alt(BAD_ACCESS),
        f(r"BUG: Dentry .*still in use \(\d+\) \[(unmount) (of [^\]]*)\]", "BUG: Dentry still in use in $1", Bug).alt("BUG: Dentry still in use [$1 $2]"),
        f(r"BUG: held lock freed", "BUG: held lock freed in {FRAME}", Lockdep).frame(&[LockAt(""), Trace]),
        f(r"BUG: bad unlock balance detected", "BUG: bad unlock balance in {FRAME}", Lockdep).frame(&[LockAt("is trying to release lock"), Trace]),
        f(r"BUG: lock held when returning to user space", "BUG: lock held when returning to user space in {FRAME}", Lockdep).frame(&[LockAt("")]).no_trace(),
        // Lockdep ran out of one of its tables (MAX_LOCKDEP_KEYS,
        // MAX_LOCKDEP_CHAINS, MAX_STACK_TRACE_ENTRIES...): named by the table.
        f(r"BUG: (MAX_[A-Z_]+) too low", "BUG: $1 too low!", Lockdep),
        // Page-table accounting left over when an mm is freed: no stack.
        f(r"BUG: non-zero (\S+) on freeing mm", "BUG: non-zero $1 on freeing mm: NUM", MemorySafetyBug),
        f(r"BUG: (?:TASK |IRQ )?stack guard page was hit", "BUG: stack guard page was hit in {FRAME}", DoS).frame(&[Anchored, Trace]).alt("stack-overflow in {FRAME}"),
        f(r"BUG: memory leak", "memory leak in {FRAME}", Leak).frame(&[TraceAfter("backtrace")]).skip(LEAK_SKIP),
        f(r"BUG: ([^:\n]+?)(?: in | at |:|$)", "BUG: $1 in {FRAME}", Bug).frame(STACK),
    ]
}

fn kernel_bug() -> Vec<Format> {
    vec![
        f(
            r"kernel BUG at lib/list_debug\.c",
            "BUG: corrupted list in {FRAME}",
            MemorySafetyBug,
        )
        .frame(PC_FIRST)
        .alt(BAD_ACCESS)
        .skip(&["__list_*", "list_*", "__hlist_*"]),
        f(
            r"kernel BUG at mm/usercopy\.c",
            "BUG: bad usercopy in {FRAME}",
            Bug,
        )
        .frame(PC_FIRST)
        .skip(&["usercopy_*", "__check_*", "check_*"]),
        f(r"kernel BUG at", "kernel BUG in {FRAME}", Bug)
            .frame(PC_FIRST)
            .needs_trace(),
    ]
}

fn arm_faults() -> Vec<Format> {
    vec![
        f(r"Unable to handle kernel NULL pointer dereference", "BUG: unable to handle kernel NULL pointer dereference in {FRAME}", NullPointerDereference).frame(PC_FIRST).alt(BAD_ACCESS),
        f(r"Unable to handle kernel access to user memory", "BUG: unable to handle kernel access to user memory in {FRAME}", MemorySafetyBug).frame(PC_FIRST).alt(BAD_ACCESS),
        f(r"Unable to handle kernel (?:paging request|execute from non-executable|write to read-only|pointer dereference)", "BUG: unable to handle kernel paging request in {FRAME}", MemorySafetyBug)
            .frame(PC_FIRST).alt(BAD_ACCESS),
        f(r"Unable to handle kernel (data access|instruction fetch) on (read|write|execute)", "BUG: Unable to handle kernel $1 on $2 in {FRAME}", MemorySafetyBug)
            .frame(PC_FIRST).alt(BAD_ACCESS),
        f(r"Unable to handle kernel (data access|instruction fetch)", "BUG: Unable to handle kernel $1 in {FRAME}", MemorySafetyBug)
            .frame(PC_FIRST).alt(BAD_ACCESS),
    ]
}

#[cfg(test)]
mod literal_tests {
    use super::literal_prefix;

    #[test]
    fn every_pattern_compiles() {
        // Patterns compile on first use: prove now that none can fail then.
        for oops in super::table() {
            for format in &oops.formats {
                let _ = format.re();
                assert!(
                    format.pattern.contains(format.literal.as_str())
                        || format.pattern.contains('\\')
                );
            }
        }
    }

    #[test]
    fn only_newlines_outside_classes_span_lines() {
        use super::spans_lines;
        assert!(!spans_lines(r"BUG: ([^:\n]+?)(?: in |$)"));
        assert!(spans_lines(r"KASAN: x.*\n\s*(Read|Write)"));
        assert!(spans_lines(r"(?s)BUG: using"));
        assert!(!spans_lines(r"Kernel panic: ([^:\n]*?)\s*$"));
        assert!(spans_lines(r"[\]]\n"));
    }

    #[test]
    fn literal_prefixes_are_promises() {
        assert_eq!(literal_prefix(r"BUG: Bad page map"), "BUG: Bad page map");
        assert_eq!(literal_prefix(r"WARNING: (?:CPU: |x)"), "WARNING: ");
        assert_eq!(literal_prefix(r"ab*c"), "a");
        assert_eq!(literal_prefix(r"a|b"), "");
        assert_eq!(literal_prefix(r"(?s)BUG"), "BUG");
        assert_eq!(literal_prefix(r"(?i)bug"), "");
        assert_eq!(literal_prefix(r"x\.c|y"), "");
        assert_eq!(
            literal_prefix(r"WARNING: .*\blib/refcount\.c:\d+"),
            "lib/refcount.c:"
        );
        assert_eq!(literal_prefix(r"BUG (\S+) x{2}yz"), "BUG ");
    }
}
