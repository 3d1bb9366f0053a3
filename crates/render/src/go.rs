//! Small formatting helpers for the human log, in the style of syzbot's
//! (which is written in Go).

use std::time::Duration;

/// A duration as Go prints it: `2h44m37.41095733s`, `1m2.3s`, `950ms`, `0s`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", fraction(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", fraction(nanos, 1_000_000));
    }
    let secs = nanos / 1_000_000_000;
    let (h, m) = (secs / 3600, secs / 60 % 60);
    let s = fraction(nanos % 60_000_000_000, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// `value / unit` with the remainder as decimals, trailing zeros dropped.
fn fraction(value: u128, unit: u128) -> String {
    let whole = value / unit;
    let rest = value % unit;
    if rest == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let decimals = format!("{rest:0width$}");
    format!("{whole}.{}", decimals.trim_end_matches('0'))
}

/// A list of strings the way Go's `%q` prints a `[]string`: `["a" "b"]`.
pub fn go_quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        let d = |s: u64, n: u32| go_duration(Duration::new(s, n));
        assert_eq!(d(0, 0), "0s");
        assert_eq!(d(2 * 3600 + 44 * 60 + 37, 410_957_330), "2h44m37.41095733s");
        assert_eq!(d(62, 300_000_000), "1m2.3s");
        assert_eq!(d(3600, 0), "1h0m0s");
        assert_eq!(d(0, 950_000_000), "950ms");
        assert_eq!(d(0, 1_500), "1.5µs");
        assert_eq!(d(5, 0), "5s");
    }

    #[test]
    fn lists_quote_like_go() {
        assert_eq!(
            go_quoted_list(&["a@b".into(), "c@d".into()]),
            r#"["a@b" "c@d"]"#
        );
        assert_eq!(go_quoted_list(&[]), "[]");
    }
}
