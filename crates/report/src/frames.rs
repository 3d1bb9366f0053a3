//! Stack frames: reading them from trace lines, and the generic helpers a
//! title never names.

/// A function named by one line of a stack trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The function, without compiler suffixes such as `.isra.0`.
    pub func: String,
    /// False for `? func` entries the unwinder only guessed.
    pub reliable: bool,
}

/// Reads a stack frame from a (prefix-stripped) console line, in any of the
/// formats kernels print: `func+0x1/0x2`, `[<addr>] func+0x1/0x2`,
/// `[<pc>] (func) from [<lr>] (...)`, `func file.c:12 [inline]`.
pub fn parse_frame(line: &str) -> Option<Frame> {
    let (name, reliable) = raw_frame(line)?;
    let func = clean_func(name);
    usable_name(&func).then_some(Frame { func, reliable })
}

/// Whether a line is a stack frame, without building the frame: the hot
/// path of cutting reports out of a log.
pub fn is_frame(line: &str) -> bool {
    // Cleaning only drops suffixes or demangles: the first character decides.
    raw_frame(line).is_some_and(|(name, _)| !name.starts_with(|c: char| c.is_ascii_digit()))
}

fn usable_name(func: &str) -> bool {
    !func.is_empty() && !func.starts_with(|c: char| c.is_ascii_digit())
}

/// The symbol of a frame line as printed, and whether it is reliable.
fn raw_frame(line: &str) -> Option<(&str, bool)> {
    let mut s = line.trim_start();
    // s390 puts the interrupted PC's frame in parentheses: "([<..>] f+0x1/0x2)".
    if s.starts_with("([<") {
        s = &s[1..];
    }
    // Old kernels print context markers in front of the first frame.
    for marker in ["<IRQ>", "<EOI>", "<NMI>", "<<EOE>>"] {
        if let Some(rest) = s.strip_prefix(marker) {
            s = rest.trim_start();
        }
    }
    let mut had_address = false;
    while let Some(rest) = s.strip_prefix("[<").or_else(|| s.strip_prefix("[c")) {
        let close = rest.find(']')?;
        if !rest[..close]
            .trim_end_matches('>')
            .bytes()
            .all(|c| c.is_ascii_hexdigit())
        {
            return None;
        }
        s = rest[close + 1..].trim_start();
        had_address = true;
    }
    let mut reliable = true;
    if let Some(rest) = s.strip_prefix("? ") {
        reliable = false;
        s = rest.trim_start();
    }
    if let Some(rest) = s
        .strip_prefix('(')
        .filter(|_| had_address || line.contains(") from "))
    {
        // ARM: "(func) from [<lr>] (caller+0x1/0x2)"; "(func+0x1/0x2)" too.
        let close = rest.find(')')?;
        let name = rest[..close].split(['+', ' ']).next()?;
        return named(name, reliable);
    }
    let (name, after) = split_name(s)?;
    if after.starts_with("+0x") {
        return named(name, reliable);
    }
    // Symbolized inlined frames: "func path/file.c:12 [inline]".
    let mut words = after.split_whitespace();
    if let (Some(location), Some("[inline]"), None) = (words.next(), words.next(), words.next()) {
        if location.contains(':') {
            return named(name, reliable);
        }
    }
    None
}

fn named(name: &str, reliable: bool) -> Option<(&str, bool)> {
    (!name.ends_with(':') && !name.trim().is_empty()).then_some((name, reliable))
}

/// Splits a symbol off the start of `s`; Rust symbols like `<T as Trait>::f`
/// contain spaces inside their angle brackets.
fn split_name(s: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            '+' | ' ' | '\t' | '(' if depth <= 0 => {
                return (i > 0).then(|| (&s[..i], &s[i..]));
            }
            _ if depth <= 0 && !(c.is_ascii_alphanumeric() || "_.$:".contains(c)) => return None,
            _ => {}
        }
    }
    None
}

/// `name` without compiler-generated suffixes (`.isra.0`, `.constprop.3`,
/// `.part.1`, `.cold`, `.llvm.123`), which vary between builds.
pub fn clean_func(name: &str) -> String {
    if let Some(rust) = crate::demangle::rust_v0(name.trim()) {
        return rust;
    }
    let name = demangle_cpp(name.trim());
    if name.starts_with('<') {
        return name.to_string();
    }
    match name.find('.') {
        Some(dot) if dot > 0 => name[..dot].to_string(),
        _ => name.to_string(),
    }
}

/// The plain name of a simple Itanium-mangled C++ symbol (`_Z8fakeNameiii`).
fn demangle_cpp(name: &str) -> &str {
    let Some(rest) = name.strip_prefix("_Z") else {
        return name;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    match rest[..digits].parse::<usize>() {
        Ok(len) if len > 0 && rest.len() >= digits + len => &rest[digits..digits + len],
        _ => name,
    }
}

/// Whether a title should look past `func`: see [`crate::generic`].
pub fn is_generic(func: &str) -> bool {
    crate::generic::is_generic(func)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(line: &str) -> Option<(String, bool)> {
        parse_frame(line).map(|f| (f.func, f.reliable))
    }

    #[test]
    fn reads_frames_in_every_format() {
        let f = |s: &str| Some((s.to_string(), true));
        assert_eq!(func(" kasan_report+0x1a/0x20"), f("kasan_report"));
        assert_eq!(
            func(" ? schedule+0x1a/0x20"),
            Some(("schedule".into(), false))
        );
        assert_eq!(
            func(" [<ffffffff81234567>] tcp_v4_rcv+0x1/0x2 net/ipv4/tcp.c:3"),
            f("tcp_v4_rcv")
        );
        assert_eq!(
            func("[<80b2f268>] (_raw_spin_unlock) from [<8016fb5c>] (x+0x68/0x104)"),
            f("_raw_spin_unlock")
        );
        assert_eq!(func(" ip6_xmit.isra.0+0x1/0x2 [ipv6]"), f("ip6_xmit"));
        assert_eq!(
            func(" do_thing include/linux/x.h:12 [inline]"),
            f("do_thing")
        );
        assert_eq!(func("Call Trace:"), None);
        assert_eq!(func("RIP: 0010:foo+0x1/0x2"), None);
        assert_eq!(func(" <A as B>::f+0x1/0x2"), f("<A as B>::f"));
    }

    #[test]
    fn knows_generic_helpers() {
        for generic in [
            "kasan_report",
            "__asan_load8",
            "_raw_spin_lock",
            "mutex_lock_nested",
            "printk",
            "memcpy",
            "kmalloc_trace",
            "__might_fault",
        ] {
            assert!(is_generic(generic), "{generic}");
        }
        for specific in [
            "tcp_v4_rcv",
            "ext4_evict_inode",
            "sys_futex",
            "synchronize_rcu",
        ] {
            assert!(!is_generic(specific), "{specific}");
        }
    }
}
