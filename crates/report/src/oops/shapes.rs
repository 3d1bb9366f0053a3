//! The kind of crash a title names, read from the shapes of the titles the
//! oops table gives: "KASAN: $1 $3 in {FRAME}" names KASAN reports, and its
//! groups say which kind ("use-after-free", "Write").

use super::oopses::{table, Format};
use crate::crash::CrashType;
use regex::bytes::{Captures, Regex};
use std::sync::OnceLock;

/// One title template of the table, as a pattern over whole titles.
struct Shape {
    re: Regex,
    /// Characters of the template that are not placeholders: the most
    /// specific shape a title fits wins ("BUG: corrupted list in {FRAME}"
    /// over "BUG: $1 in {FRAME}").
    literal: usize,
    kind: CrashType,
    kind_of: Option<fn(&Captures<'_>) -> CrashType>,
}

/// The kind of crash `title` names, when it has the shape of one of the
/// table's titles; `None` for titles of other shapes (user-space crashes,
/// templates that are only a placeholder).
pub fn title_kind(title: &str) -> Option<CrashType> {
    let title = title.trim();
    let best = shapes()
        .iter()
        .filter_map(|s| s.re.captures(title.as_bytes()).map(|c| (s, c)))
        .max_by_key(|(s, _)| s.literal)?;
    let (shape, caps) = best;
    Some(shape.kind_of.map_or(shape.kind, |kind_of| kind_of(&caps)))
}

fn shapes() -> &'static [Shape] {
    static SHAPES: OnceLock<Vec<Shape>> = OnceLock::new();
    SHAPES.get_or_init(|| {
        let mut shapes: Vec<Shape> = table()
            .iter()
            .flat_map(|o| o.formats.iter())
            .filter_map(shape)
            .collect();
        // Equal specificity: the table's order decides (`max_by_key` keeps
        // the last maximum, so the earliest must come last).
        shapes.reverse();
        shapes
    })
}

/// The shape of a format's title, if it starts with text of its own.
fn shape(format: &Format) -> Option<Shape> {
    let template = if format.frame.is_empty() || format.title.contains("{FRAME}") {
        format.title.to_string()
    } else {
        format!("{} in {{FRAME}}", format.title)
    };
    let (pattern, literal) = template_pattern(&template)?;
    Some(Shape {
        re: Regex::new(&pattern).ok()?,
        literal,
        kind: format.kind,
        kind_of: format.kind_of,
    })
}

/// A regex matching the titles `template` gives, where group N captures
/// what `$N` stood for (so the format's `kind_of` reads it as it reads the
/// log), and the count of literal characters. `None` for a template that
/// starts with a placeholder (it says nothing of the kind) or uses its
/// groups out of order.
fn template_pattern(template: &str) -> Option<(String, usize)> {
    if template.starts_with('$') || template.starts_with("{FRAME}") {
        return None;
    }
    let mut pattern = String::from("^");
    let (mut literal, mut next_group) = (0, 1);
    let mut rest = template;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{FRAME}") {
            pattern.push_str(".+");
            rest = after;
        } else if let Some(group) = placeholder(rest) {
            let (n, len) = group;
            if n < next_group {
                return None;
            }
            // Groups the template leaves out still take their number.
            while next_group < n {
                pattern.push_str("()");
                next_group += 1;
            }
            pattern.push_str("(.+?)");
            next_group += 1;
            rest = &rest[len..];
        } else {
            let c = rest.chars().next()?;
            pattern.push_str(&regex::escape(&c.to_string()));
            literal += 1;
            rest = &rest[c.len_utf8()..];
        }
    }
    pattern.push('$');
    Some((pattern, literal))
}

/// `$N` at the start of `s`: N and the placeholder's length.
fn placeholder(s: &str) -> Option<(usize, usize)> {
    let digits = s.strip_prefix('$')?;
    let len = digits.bytes().take_while(u8::is_ascii_digit).count();
    let n = digits[..len].parse().ok()?;
    Some((n, 1 + len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use CrashType::*;

    #[test]
    fn every_titled_template_has_a_shape() {
        for format in table().iter().flat_map(|o| o.formats.iter()) {
            let t = format.title;
            if !t.starts_with('$') {
                assert!(shape(format).is_some(), "{t}");
            }
        }
    }

    #[test]
    fn titles_name_their_kind() {
        for (title, kind) in [
            ("KASAN: use-after-free Read in foo", KasanUseAfterFreeRead),
            (
                "KASAN: slab-use-after-free Write in foo",
                KasanUseAfterFreeWrite,
            ),
            ("KASAN: slab-out-of-bounds Read in foo", KasanRead),
            (
                "KASAN: null-ptr-deref Write in foo",
                KasanNullPointerDereferenceWrite,
            ),
            ("WARNING in foo", Warning),
            ("WARNING: refcount bug in foo", RefcountWarning),
            ("WARNING: suspicious RCU usage in foo", Lockdep),
            ("INFO: task hung in foo", Hang),
            ("INFO: rcu detected stall in foo", Hang),
            ("general protection fault in foo", DoS),
            ("BUG: corrupted list in foo", MemorySafetyBug),
            (
                "BUG: unable to handle kernel NULL pointer dereference in foo",
                NullPointerDereference,
            ),
            ("possible deadlock in foo", Lockdep),
            ("memory leak in foo", Leak),
            ("KMSAN: uninit-value in foo", KmsanUninitValue),
            ("KCSAN: data-race in foo / bar", KcsanDataRace),
            ("kernel BUG in foo", Bug),
        ] {
            assert_eq!(title_kind(title), Some(kind), "{title}");
        }
        assert_eq!(title_kind("attempt to add with overflow in foo"), None);
        assert_eq!(title_kind(""), None);
    }

    #[test]
    fn templates_become_patterns() {
        let (p, n) = template_pattern("KASAN: $1 $3 in {FRAME}").unwrap();
        assert_eq!(p, r"^KASAN: (.+?) ()(.+?) in .+$");
        assert_eq!(n, "KASAN:   in ".len());
        assert!(template_pattern("$1 in {FRAME}").is_none());
        assert!(template_pattern("x $2 $1").is_none());
    }
}
