//! Title normalisation: volatile numbers and addresses replaced, so that the
//! same crash gets the same title on every run.

/// Replaces addresses (`0x...`, long hex or decimal runs) by `ADDR` and
/// other numbers by `NUM` (also before a unit: `10ms`); digits inside
/// identifiers (`ext4`, `x25`) stay. Function offsets (`f+0x1a/0x20`) go,
/// and the random part of temporary names (`syzkaller.aB3dE9`) becomes
/// `XXXXXX`.
pub fn normalize(s: &str) -> String {
    let s = &temp_names(&strip_offsets(s));
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let starts_word = i == 0 || !is_ident(b[i - 1]);
        if starts_word && b[i].is_ascii_hexdigit() {
            let (len, kind) = number_at(&b[i..]);
            if len > 0 {
                out.push_str(kind);
                i += len;
                continue;
            }
        }
        let ch_len = utf8_len(b[i]);
        out.push_str(&s[i..(i + ch_len).min(s.len())]);
        i += ch_len;
    }
    out.trim().to_string()
}

/// Length and replacement of a number at the start of `b`, or 0.
fn number_at(b: &[u8]) -> (usize, &'static str) {
    if b.starts_with(b"0x") {
        let len = 2 + b[2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if len > 2 && !b.get(len).is_some_and(|&c| is_ident(c)) {
            return (len, "ADDR");
        }
    }
    let hex = b.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if b.get(hex).is_some_and(|&c| is_ident(c)) {
        // A number with a unit ("10ms", "64bit"); not a hex word ("dead").
        return if digits > 0 { (digits, "NUM") } else { (0, "") };
    }
    if hex >= 8 {
        (hex, "ADDR")
    } else if digits == hex && digits > 0 {
        (digits, "NUM")
    } else {
        (0, "")
    }
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

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
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
        assert_eq!(normalize("x25_connect ext4 0x1f"), "x25_connect ext4 ADDR");
        assert_eq!(normalize("unknown-block(0,0)"), "unknown-block(NUM,NUM)");
        assert_eq!(normalize("do_con_write.part.3"), "do_con_write.part.NUM");
        assert_eq!(normalize("took 1389ms to run"), "took NUMms to run");
        assert_eq!(normalize("in: ip6_xmit+0x1052/0x2d80"), "in: ip6_xmit");
        assert_eq!(normalize("a +0x10 b"), "a +ADDR b");
        assert_eq!(
            normalize("cannot chdir to ./syzkaller.aB3dE9 (errno 2)"),
            "cannot chdir to ./syzkaller.XXXXXX (errno NUM)"
        );
        assert_eq!(normalize("file.config stays"), "file.config stays");
        assert_eq!(normalize("dead beef"), "dead beef");
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
