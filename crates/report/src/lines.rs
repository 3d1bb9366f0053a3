//! Console lines: splitting, and the `[ 12.345][ T123]` prefixes kernels print.

/// One console line, with its prefix understood.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// Offset of the line's first byte in the log.
    pub start: usize,
    /// Offset just past the line (its newline included).
    pub end: usize,
    /// The line without its console prefix and trailing `\r\n`.
    pub text: &'a [u8],
    /// The printing task or CPU (`T123`, `C1`), when the console says it.
    pub context: Option<&'a [u8]>,
    /// The line carried a kernel timestamp.
    pub stamped: bool,
}

/// The line of `log` that contains byte `pos`.
pub fn line_at(log: &[u8], pos: usize) -> Line<'_> {
    let start = memchr::memrchr(b'\n', &log[..pos]).map_or(0, |i| i + 1);
    line_from(log, start)
}

/// The line of `log` that starts at `start`.
pub fn line_from(log: &[u8], start: usize) -> Line<'_> {
    let end = memchr::memchr(b'\n', &log[start..]).map_or(log.len(), |i| start + i + 1);
    let mut raw = &log[start..end];
    while let [rest @ .., b'\n' | b'\r'] = raw {
        raw = rest;
    }
    let (text, context) = strip_prefix(raw);
    Line {
        start,
        end,
        text,
        context,
        stamped: text.len() < raw.len() && raw.first() != Some(&b' '),
    }
}

/// Lines of `log` from offset `from` on, lazily.
pub fn lines_from(log: &[u8], from: usize) -> impl Iterator<Item = Line<'_>> {
    let mut pos = from;
    std::iter::from_fn(move || {
        if pos >= log.len() {
            return None;
        }
        let line = line_from(log, pos);
        pos = line.end;
        Some(line)
    })
}

/// Removes `<N>`, `[ 12.345]` and `[ T123]`/`[ C1]` prefixes; returns the text
/// and the context tag.
pub fn strip_prefix(mut s: &[u8]) -> (&[u8], Option<&[u8]>) {
    if let [b'<', rest @ ..] = s {
        if let Some(close) = rest.iter().take(4).position(|&c| c == b'>') {
            if close > 0 && rest[..close].iter().all(u8::is_ascii_digit) {
                s = &rest[close + 1..];
            }
        }
    }
    let mut context = None;
    let mut stripped = false;
    while let Some((inner, rest)) = bracket(s) {
        if is_timestamp(inner) {
            stripped = true;
        } else if is_context(inner) {
            context = Some(inner);
            stripped = true;
        } else {
            break;
        }
        s = rest;
    }
    if stripped {
        if let [b' ', rest @ ..] = s {
            s = rest;
        }
    }
    (s, context)
}

/// The trimmed content of a leading `[...]` and what follows it.
fn bracket(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = s.strip_prefix(b"[")?;
    let close = rest.iter().take(24).position(|&c| c == b']')?;
    Some((trim(&rest[..close]), &rest[close + 1..]))
}

fn is_timestamp(s: &[u8]) -> bool {
    let Some(dot) = s.iter().position(|&c| c == b'.') else {
        return false;
    };
    dot > 0
        && s.len() > dot + 1
        && s[..dot].iter().all(u8::is_ascii_digit)
        && s[dot + 1..].iter().all(u8::is_ascii_digit)
}

fn is_context(s: &[u8]) -> bool {
    matches!(s, [b'T' | b'C', digits @ ..] if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
}

/// `bytes` as text: borrowed when valid UTF-8 (checked fast), else with
/// replacement characters.
pub fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// `s` without leading and trailing ASCII whitespace.
pub fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_timestamp_and_context() {
        let (text, ctx) = strip_prefix(b"[  123.456789][ T4321] WARNING: x");
        assert_eq!(text, b"WARNING: x");
        assert_eq!(ctx, Some(&b"T4321"[..]));
        let (text, ctx) = strip_prefix(b"<4>[    1.000000] BUG: y");
        assert_eq!(text, b"BUG: y");
        assert_eq!(ctx, None);
        let (text, _) = strip_prefix(b"[<ffffffff81000000>] foo+0x1/0x2");
        assert_eq!(text, b"[<ffffffff81000000>] foo+0x1/0x2");
    }

    #[test]
    fn finds_the_line_around_an_offset() {
        let log = b"a\n[ 1.0][ C1] b c\r\nd";
        let line = line_at(log, 15);
        assert_eq!(line.text, b"b c");
        assert_eq!(line.context, Some(&b"C1"[..]));
        assert_eq!((line.start, line.end), (2, 19));
        assert_eq!(lines_from(log, 0).count(), 3);
    }
}
