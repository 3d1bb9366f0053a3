//! Title normalisation: volatile numbers and addresses replaced, so that the
//! same crash gets the same title on every run, as syzbot's titles have
//! them.

use regex::Regex;
use std::sync::OnceLock;

/// Replaces what changes from run to run, in syzbot's order (each step
/// sees what the earlier ones left):
/// 1. function offsets go (`ip6_xmit+0x1a/0x20` is `ip6_xmit`), and the
///    random part of temporary names (`syzkaller.aB3dE9`) is `XXXXXX`;
/// 2. the fuzzer's process names lose their numbers (`syz-executor.3/1234`
///    and `syz-executor3:1234` are `syz-executor`, `syzkaller123` is
///    `syzkaller`);
/// 3. anything that looks like an address after a non-alphanumeric
///    character, six or more lower-case hex digits with or without `0x`,
///    is `ADDR`; an IPv4 address is `IP`;
/// 4. five or more decimal digits after a non-alphanumeric character are
///    `NUM` (`12345ms` is `NUMms`);
/// 5. line numbers after a name (`dcache.c:1445:3`) are `:LINE`;
/// 6. `CPU#3` is `CPU`;
/// 7. any other number standing alone between non-word characters is `NUM`
///    (`errno 2`, `(0,0)`, `.part.3`), while numbers glued to letters stay
///    (`ext4`, `x25_connect`, `10ms`, `0x1f`), unless seven digits or more.
///
/// Control and non-ASCII characters are dropped, spaces collapsed.
pub fn normalize(s: &str) -> String {
    let s = temp_names(&strip_offsets(s));
    let mut s = printable(&s);
    for (re, with) in replacements() {
        s = re.replace_all(&s, *with).into_owned();
    }
    // Standalone numbers may share their delimiters ("0,1,2"): repeat.
    let standalone = standalone_number();
    loop {
        let next = standalone.replace_all(&s, "${1}NUM${3}").into_owned();
        if next == s {
            break;
        }
        s = next;
    }
    long_digits().replace_all(&s, "NUM").trim().to_string()
}

/// The replacements of steps 2 to 6 of [`normalize`], in order.
fn replacements() -> &'static [(Regex, &'static str)] {
    static RES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    RES.get_or_init(|| {
        [
            (r"syz-executor\.?[0-9]+(?:[/:][0-9]+)?", "syz-executor"),
            (r"syzkaller[0-9]+(?:[/:][0-9]+)?", "syzkaller"),
            (r"([^a-zA-Z0-9])(?:0x)?[0-9a-f]{6,}", "${1}ADDR"),
            (r"([^a-zA-Z0-9])(?:[0-9]{1,3}\.){3}[0-9]{1,3}", "${1}IP"),
            (r"([^a-zA-Z0-9])[0-9]{5,}", "${1}NUM"),
            (r"([a-zA-Z0-9_])(?::[0-9]+)+", "${1}:LINE"),
            (r"CPU#[0-9]+", "CPU"),
        ]
        .into_iter()
        .map(|(re, with)| (title_regex(re), with))
        .collect()
    })
}

/// Step 7 of [`normalize`]: a number between non-word characters.
fn standalone_number() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| title_regex(r"([^a-zA-Z0-9_])([0-9]+)([^a-zA-Z0-9_]|$)"))
}

/// Runs of seven digits or more, even inside a word.
fn long_digits() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| title_regex(r"[0-9]{7,}"))
}

fn title_regex(re: &str) -> Regex {
    Regex::new(re).unwrap_or_else(|e| panic!("title regex {re:?}: {e}"))
}

/// Printable ASCII only (tabs are spaces), single spaces.
fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c == '\t' { ' ' } else { c };
        if !(' '..='~').contains(&c) || (c == ' ' && out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    out
}

/// Longest title syzbot keeps: longer ones are mixed or damaged lines.
const MAX_TITLE: usize = 120;

/// A whole title as syzbot stores it: printable ASCII, single spaces, at
/// most [`MAX_TITLE`] characters.
pub fn finish(title: &str) -> String {
    let clean = printable(title);
    let cut = clean.get(..MAX_TITLE).unwrap_or(&clean);
    cut.trim().to_string()
}

/// `func+0x1a/0x20` -> `func`: offsets and sizes change with every build.
fn strip_offsets(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("+0x") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let offset_len = hex_run(after);
        let tail = &after[offset_len..];
        let size_len = tail.strip_prefix('/').map_or(0, |t| {
            if t.starts_with("0x") {
                1 + hex_run(t)
            } else {
                0
            }
        });
        let preceded_by_name =
            rest[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        if preceded_by_name && size_len > 0 {
            rest = &tail[size_len..];
        } else {
            out.push('+');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Length of `0x` and the hex digits after it at the start of `s`, or 0.
fn hex_run(s: &str) -> usize {
    match s.strip_prefix("0x") {
        Some(h) => {
            let n = h.bytes().take_while(u8::is_ascii_hexdigit).count();
            if n > 0 {
                2 + n
            } else {
                0
            }
        }
        None => 0,
    }
}

/// `name.XXXXXX` temporary names (mkdtemp, mktemp): the six random
/// characters mix cases or letters and digits.
fn temp_names(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (i, _) in s.match_indices('.') {
        let tail = &b[i + 1..];
        let run = tail
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let before_ok = i > 0 && is_ident(b[i - 1]);
        if run == 6 && before_ok && looks_random(&tail[..6]) {
            out.push_str(&s[last..=i]);
            out.push_str("XXXXXX");
            last = i + 7;
        }
    }
    out.push_str(&s[last..]);
    out
}

fn looks_random(w: &[u8]) -> bool {
    let upper = w.iter().any(u8::is_ascii_uppercase);
    let lower = w.iter().any(u8::is_ascii_lowercase);
    let digit = w.iter().any(u8::is_ascii_digit);
    (upper && lower) || (digit && (upper || lower))
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The title `head` naming `frame`: `{FRAME}` in the head is replaced, or
/// " in FRAME" appended.
pub fn with_frame(head: &str, frame: &str) -> String {
    if head.contains("{FRAME}") {
        head.replace("{FRAME}", frame)
    } else {
        format!("{head} in {frame}")
    }
}

/// Architecture prefixes of syscall entry points (`__x64_sys_read`).
const ARCH_PREFIXES: [&str; 7] = [
    "__x64_",
    "__ia32_",
    "__arm64_",
    "__riscv_",
    "__s390x_",
    "__s390_",
    "__powerpc_",
];

/// A syscall entry point's spelling, understood.
#[derive(Debug, PartialEq, Eq)]
pub enum Syscall<'a> {
    /// An architecture's entry (`__x64_sys_read`, `__ia32_compat_sys_ioctl`):
    /// titled `sys_read`, as syzbot does.
    Arch(&'a str),
    /// The syscall's own body or its sign-extending wrapper, in any
    /// kernel's spelling: `sys_read`, `__se_sys_read`, `__do_sys_read`,
    /// `SyS_read`, `SYSC_read`, `ksys_read`: titled `read`.
    Body(&'a str),
    /// A compat syscall (`compat_sys_ioctl`, `compat_SyS_ioctl`,
    /// `__se_compat_sys_ioctl`, `C_SYSC_ioctl`): titled `compat_sys_ioctl`.
    Compat(&'a str),
}

/// What syscall `func` is an entry point of, if any.
pub fn syscall(func: &str) -> Option<Syscall<'_>> {
    for arch in ARCH_PREFIXES {
        if let Some(rest) = func.strip_prefix(arch) {
            return ["sys_", "compat_sys_"]
                .iter()
                .any(|p| rest.starts_with(p))
                .then_some(Syscall::Arch(rest));
        }
    }
    let unwrapped = ["__se_", "__do_"]
        .iter()
        .find_map(|p| func.strip_prefix(p))
        .unwrap_or(func);
    for compat in ["compat_sys_", "compat_SyS_", "C_SYSC_"] {
        if let Some(call) = unwrapped.strip_prefix(compat).filter(|c| !c.is_empty()) {
            return Some(Syscall::Compat(call));
        }
    }
    ["sys_", "SyS_", "SYSC_", "ksys_"]
        .iter()
        .find_map(|p| unwrapped.strip_prefix(p))
        .filter(|call| !call.is_empty())
        .map(Syscall::Body)
}

/// The name a title uses for `func`: syscall entry points normalised (see
/// [`Syscall`]), and a few functions that were renamed over kernel versions
/// named as they are today.
pub fn canonical_frame(func: &str) -> String {
    match syscall(func) {
        Some(Syscall::Arch(name)) => return name.to_string(),
        Some(Syscall::Body(call)) => return call.to_string(),
        Some(Syscall::Compat(call)) => return format!("compat_sys_{call}"),
        None => {}
    }
    match func {
        "synchronize_sched"
        | "synchronize_rcu_expedited"
        | "synchronize_rcu_bh"
        | "__synchronize_srcu" => "synchronize_rcu".into(),
        "smp_call_function_single" | "smp_call_function_many" => "smp_call_function".into(),
        _ => func.to_string(),
    }
}

/// Other names a title may use for the syscall entry `func`: the raw name,
/// and `sys_X` for the wrappers of X (`__se_sys_mremap` is also known as
/// `sys_mremap`).
pub fn syscall_aliases(func: &str) -> Vec<String> {
    let mut names = vec![func.to_string()];
    match syscall(func) {
        Some(Syscall::Body(call))
            if func != format!("sys_{call}") && !func.starts_with("ksys_") =>
        {
            names.push(format!("sys_{call}"));
        }
        Some(Syscall::Compat(call)) => names.push(format!("compat_sys_{call}")),
        _ => {}
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_volatile_parts_only() {
        assert_eq!(
            normalize("executor 2: failed (errno 0)"),
            "executor NUM: failed (errno NUM)"
        );
        assert_eq!(
            normalize("signal overflow: 808464432/16776764"),
            "signal overflow: ADDR/ADDR"
        );
        assert_eq!(normalize("at addr ffff88003a3b4c00"), "at addr ADDR");
        // Short hex numbers and numbers with units stay, as in syzbot's titles.
        assert_eq!(normalize("x25_connect ext4 0x1f"), "x25_connect ext4 0x1f");
        assert_eq!(normalize("flags 0x1234567"), "flags ADDR");
        assert_eq!(normalize("id 123456 of 12345"), "id ADDR of NUM");
        assert_eq!(normalize("stuck for 23s!"), "stuck for 23s!");
        assert_eq!(normalize("unknown-block(0,0)"), "unknown-block(NUM,NUM)");
        assert_eq!(normalize("do_con_write.part.3"), "do_con_write.part.NUM");
        assert_eq!(normalize("took 1389ms to run"), "took 1389ms to run");
        assert_eq!(normalize("took 13890ms to run"), "took NUMms to run");
        assert_eq!(normalize("0,1,2 and 3.4"), "0,NUM,NUM and NUM.NUM");
        assert_eq!(normalize("in: ip6_xmit+0x1052/0x2d80"), "in: ip6_xmit");
        assert_eq!(normalize("a +0x10 b"), "a +0x10 b");
        assert_eq!(
            normalize("task syz-executor.3/12345 and syz-executor2:8 syzkaller123"),
            "task syz-executor and syz-executor syzkaller"
        );
        assert_eq!(
            normalize("at fs/dcache.c:1445:3 on CPU#1"),
            "at fs/dcache.c:LINE on CPU"
        );
        assert_eq!(normalize("from 10.0.2.15 port 22"), "from IP port NUM");
        assert_eq!(normalize("comm \u{1b}[1msyz\t\t x"), "comm [1msyz x");
        assert_eq!(
            normalize("cannot chdir to ./syzkaller.aB3dE9 (errno 2)"),
            "cannot chdir to ./syzkaller.XXXXXX (errno NUM)"
        );
        assert_eq!(normalize("file.config stays"), "file.config stays");
        assert_eq!(normalize("dead beef"), "dead beef");
    }

    #[test]
    fn whole_titles_are_short_printable_lines() {
        assert_eq!(finish("WARNING  in\tfoo\u{7f}"), "WARNING in foo");
        let long = format!("kernel panic: {}", "x".repeat(200));
        assert_eq!(finish(&long).len(), MAX_TITLE);
    }

    #[test]
    fn syscall_spellings_of_every_kernel() {
        for (raw, titled) in [
            ("__x64_sys_rmdir", "sys_rmdir"),
            ("__ia32_compat_sys_ioctl", "compat_sys_ioctl"),
            ("__se_sys_mremap", "mremap"),
            ("__do_sys_mremap", "mremap"),
            ("SyS_mremap", "mremap"),
            ("SYSC_mremap", "mremap"),
            ("sys_openat2", "openat2"),
            ("ksys_mount", "mount"),
            ("compat_SyS_ioctl", "compat_sys_ioctl"),
            ("__se_compat_sys_ioctl", "compat_sys_ioctl"),
            ("C_SYSC_ioctl", "compat_sys_ioctl"),
            ("compat_sys_ioctl", "compat_sys_ioctl"),
            ("sys_", "sys_"),
            ("tcp_sendmsg", "tcp_sendmsg"),
            ("synchronize_sched", "synchronize_rcu"),
        ] {
            assert_eq!(canonical_frame(raw), titled, "{raw}");
        }
        assert_eq!(syscall_aliases("SyS_mremap"), ["SyS_mremap", "sys_mremap"]);
        assert_eq!(syscall_aliases("sys_openat2"), ["sys_openat2"]);
        assert_eq!(syscall_aliases("ksys_mount"), ["ksys_mount"]);
    }

    #[test]
    fn places_the_frame() {
        assert_eq!(with_frame("WARNING", "f"), "WARNING in f");
        assert_eq!(
            with_frame("WARNING in {FRAME}/usb_submit_urb", "f"),
            "WARNING in f/usb_submit_urb"
        );
    }
}
