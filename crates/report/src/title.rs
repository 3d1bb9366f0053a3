//! Title normalisation: volatile numbers and addresses replaced, so that the
//! same crash gets the same title on every run.

/// Replaces addresses (`0x...`, long hex or decimal runs) by `ADDR` and
/// other numbers by `NUM`; digits inside identifiers (`ext4`, `x25`) stay.
pub fn normalize(s: &str) -> String {
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
    if b.get(hex).is_some_and(|&c| is_ident(c)) {
        return (0, "");
    }
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if hex >= 8 {
        (hex, "ADDR")
    } else if digits == hex && digits > 0 {
        (digits, "NUM")
    } else {
        (0, "")
    }
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
    "__x64_", "__ia32_", "__arm64_", "__riscv_", "__s390x_", "__s390_", "__powerpc_",
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
        Some(Syscall::Body(call)) if func != format!("sys_{call}") && !func.starts_with("ksys_") => {
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
        assert_eq!(
            syscall_aliases("SyS_mremap"),
            ["SyS_mremap", "sys_mremap"]
        );
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
