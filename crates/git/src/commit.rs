//! Commit metadata and trailers.

/// One `Key: value` line of a commit message's trailer block
/// (`Signed-off-by`, `Reviewed-by`, `Cc`, `Fixes`, `Link`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    /// The key as written in the message.
    pub key: String,
    /// The value, trimmed; folded continuation lines are joined with a space.
    pub value: String,
}

impl Trailer {
    /// True when the key is `key`, ignoring ASCII case.
    pub fn is(&self, key: &str) -> bool {
        self.key.eq_ignore_ascii_case(key)
    }
}

/// What culprit needs to know about a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Full hash.
    pub hash: String,
    /// The subject: the first paragraph of the message on one line.
    pub title: String,
    /// Author name.
    pub author_name: String,
    /// Author e-mail address.
    pub author_email: String,
    /// Author date as `git show` prints it (`Mon Dec 6 20:54:28 2021 +0100`).
    pub date: String,
    /// Author date, seconds since the Unix epoch.
    pub timestamp: i64,
    /// Full hashes of the parents, first parent first.
    pub parents: Vec<String>,
    /// The whole commit message.
    pub body: String,
    /// The trailers of the message's last paragraph.
    pub trailers: Vec<Trailer>,
}

impl Commit {
    /// Values of all trailers with the given key (ASCII case ignored).
    pub fn trailer_values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.trailers
            .iter()
            .filter(move |t| t.is(key))
            .map(|t| t.value.as_str())
    }
}

/// `git log --format` producing the fields parsed by [`parse_log_records`],
/// separated by the ASCII unit separator. The message comes last so that it
/// may contain anything.
pub(crate) const LOG_FORMAT: &str = "%H%x1f%P%x1f%an%x1f%ae%x1f%ad%x1f%at%x1f%s%x1f%B";

/// Parses `git log -z --format=LOG_FORMAT` output.
pub(crate) fn parse_log_records(out: &[u8]) -> Result<Vec<Commit>, String> {
    let text = String::from_utf8_lossy(out);
    text.split('\0')
        .map(|r| r.trim_start_matches('\n'))
        .filter(|r| !r.is_empty())
        .map(parse_log_record)
        .collect()
}

fn parse_log_record(record: &str) -> Result<Commit, String> {
    let fields: Vec<&str> = record.splitn(8, '\x1f').collect();
    let [hash, parents, name, email, date, timestamp, title, body] = fields[..] else {
        return Err(format!(
            "a commit record has {} fields instead of 8",
            fields.len()
        ));
    };
    let timestamp = timestamp
        .trim()
        .parse()
        .map_err(|_| format!("bad timestamp {timestamp:?} for commit {hash}"))?;
    Ok(Commit {
        hash: hash.to_string(),
        title: title.to_string(),
        author_name: name.to_string(),
        author_email: email.to_string(),
        date: date.to_string(),
        timestamp,
        parents: parents.split_whitespace().map(str::to_string).collect(),
        body: body.to_string(),
        trailers: parse_trailers(body),
    })
}

/// Keys that mark a paragraph as a trailer block even when it also holds
/// other lines (kernel messages mix in notes like `[sean: fixed ...]`).
const KNOWN_KEYS: &[&str] = &[
    "signed-off-by",
    "reviewed-by",
    "acked-by",
    "tested-by",
    "reported-by",
    "suggested-by",
    "co-developed-by",
    "cc",
    "fixes",
    "link",
    "closes",
];

/// Parses the trailers of a commit message.
///
/// The rule, close to git's own: the trailer block is the last paragraph of
/// the message (paragraphs are separated by blank lines), provided it is not
/// the subject paragraph. It counts as a trailer block when every line is a
/// trailer, or when at least a quarter of its lines are trailers and one of
/// them has a well-known key such as `Signed-off-by`. A trailer line is
/// `Key: value` where the key is letters, digits and dashes; a following
/// line starting with whitespace continues the value.
pub fn parse_trailers(message: &str) -> Vec<Trailer> {
    let paragraphs: Vec<Vec<&str>> = paragraphs(message);
    if paragraphs.len() < 2 {
        return Vec::new();
    }
    let Some(last) = paragraphs.last() else {
        return Vec::new();
    };
    let trailers = trailer_lines(last);
    let trailer_line_count = last.iter().filter(|l| split_trailer(l).is_some()).count();
    let all = trailer_line_count + continuation_count(last) == last.len();
    let known = trailers.iter().any(|t| KNOWN_KEYS.iter().any(|k| t.is(k)));
    if trailers.is_empty() || !(all || (known && trailer_line_count * 4 >= last.len())) {
        return Vec::new();
    }
    trailers
}

fn paragraphs(message: &str) -> Vec<Vec<&str>> {
    let mut result = Vec::new();
    let mut current = Vec::new();
    for line in message.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                result.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        result.push(current);
    }
    result
}

/// Lines that continue the previous trailer's value.
fn continuation_count(lines: &[&str]) -> usize {
    let mut count = 0;
    let mut in_trailer = false;
    for line in lines {
        if split_trailer(line).is_some() {
            in_trailer = true;
        } else if in_trailer && line.starts_with(char::is_whitespace) {
            count += 1;
        } else {
            in_trailer = false;
        }
    }
    count
}

fn trailer_lines(lines: &[&str]) -> Vec<Trailer> {
    let mut trailers: Vec<Trailer> = Vec::new();
    let mut in_trailer = false;
    for line in lines {
        if let Some((key, value)) = split_trailer(line) {
            trailers.push(Trailer {
                key: key.to_string(),
                value: value.to_string(),
            });
            in_trailer = true;
        } else if in_trailer && line.starts_with(char::is_whitespace) {
            if let Some(last) = trailers.last_mut() {
                last.value.push(' ');
                last.value.push_str(line.trim());
            }
        } else {
            in_trailer = false;
        }
    }
    trailers
}

fn split_trailer(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let value_ok = value.is_empty() || value.starts_with(char::is_whitespace);
    (key_ok && value_ok && !key.starts_with('-')).then(|| (key, value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_style_trailers_with_a_note_line() {
        let msg = "KVM: Use interval tree\n\nLong text: with a colon.\n\n\
                   [sean: handle updates]\nSigned-off-by: A B <a@b>\n\
                   Message-Id: <x@y>\nfixes: 123456789abc (\"title\")\n";
        let t = parse_trailers(msg);
        let keys: Vec<&str> = t.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["Signed-off-by", "Message-Id", "fixes"]);
        assert_eq!(t[2].value, "123456789abc (\"title\")");
        assert!(t[2].is("Fixes"));
    }

    #[test]
    fn folded_values_are_joined() {
        let msg = "t\n\nReported-by: someone\n  <x@y>\nCc: c@d\n";
        let t = parse_trailers(msg);
        assert_eq!(t[0].value, "someone <x@y>");
        assert_eq!(
            t[1],
            Trailer {
                key: "Cc".into(),
                value: "c@d".into()
            }
        );
    }

    #[test]
    fn prose_and_subject_only_messages_have_no_trailers() {
        assert!(parse_trailers("Fixes: subject line only\n").is_empty());
        let prose = "t\n\nThis explains: things.\nMore prose here.\nAnd more.\nLast: line here\n";
        assert!(parse_trailers(prose).is_empty());
        assert!(parse_trailers("t\n\nSee https://example.com for details\n").is_empty());
    }

    #[test]
    fn log_records_parse_and_reject_garbage() {
        let rec = "abc\x1fp1 p2\x1fN\x1fe@x\x1fMon Jan 1 00:00:00 2024 +0000\x1f1704067200\x1fT\x1fT\n\nCc: z\n";
        let commits = parse_log_records(format!("{rec}\0\n{rec}\0").as_bytes()).unwrap_or_default();
        assert_eq!(commits.len(), 2);
        assert_eq!(commits[1].parents, ["p1", "p2"]);
        assert_eq!(commits[1].timestamp, 1_704_067_200);
        assert_eq!(commits[1].trailers.len(), 1);
        assert!(parse_log_records(b"abc\x1fonly two").is_err());
        assert!(parse_log_records(b"h\x1f\x1fn\x1fe\x1fd\x1fnot-a-number\x1ft\x1fb").is_err());
    }
}
