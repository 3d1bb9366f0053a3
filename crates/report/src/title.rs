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

/// The name a title uses for `func`: syscall wrappers named after the
/// syscall, and a few functions that were renamed over kernel versions
/// named as they are today.
pub fn canonical_frame(func: &str) -> String {
    for wrapper in ["__se_sys_", "__do_sys_"] {
        if let Some(rest) = func.strip_prefix(wrapper) {
            return rest.to_string();
        }
    }
    for arch in [
        "__x64_", "__ia32_", "__arm64_", "__riscv_", "__s390x_", "__s390_", "__",
    ] {
        if let Some(rest) = func.strip_prefix(arch) {
            if rest.starts_with("sys_") || rest.starts_with("compat_sys_") {
                return rest.to_string();
            }
        }
    }
    if let Some(rest) = func
        .strip_prefix("ksys_")
        .or_else(|| func.strip_prefix("sys_"))
    {
        return rest.to_string();
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
    fn places_the_frame() {
        assert_eq!(with_frame("WARNING", "f"), "WARNING in f");
        assert_eq!(
            with_frame("WARNING in {FRAME}/usb_submit_urb", "f"),
            "WARNING in f/usb_submit_urb"
        );
    }
}
