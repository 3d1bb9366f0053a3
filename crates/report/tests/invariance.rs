//! Titles stay when a log changes in ways that do not change the crash:
//! other timestamps, no timestamps (where every line had one: otherwise
//! they tell the kernel's lines from the fuzzer's), `\r\n` line ends, the
//! unwinder's `? f` guesses left out. A title that moves with these would
//! move between runs of the same crash, and between syzbot's logs and ours.

mod common;

/// The log of a test file (its header and expected report cut off).
fn log_of(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    let (_, log) = text.split_once("\n\n")?;
    let log = log.split("\n\nREPORT:\n").next().unwrap_or(log);
    Some(log.to_string())
}

/// Every line's `[  12.345678]` timestamp put through `f`.
fn retime(log: &str, f: &dyn Fn(&str) -> String) -> String {
    log.lines()
        .map(|l| match stamp(l) {
            Some((ts, rest)) => format!("{}{rest}", f(ts)),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A line's leading `[ 12.345]` and the rest.
fn stamp(line: &str) -> Option<(&str, &str)> {
    let close = line.find(']')?;
    let inner = line.strip_prefix('[')?[..close - 1].trim();
    let (secs, frac) = inner.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    (digits(secs) && digits(frac)).then(|| (&line[..=close], &line[close + 1..]))
}

/// A change to a log, or `None` where it does not apply.
type Edit = dyn Fn(&str) -> Option<String>;

#[test]
fn titles_do_not_move_with_what_does_not_matter() {
    let Some(dir) = common::testdata("linux-reports") else {
        return;
    };
    let edits: [(&str, &Edit); 4] = [
        ("timestamps shifted", &|log| {
            Some(retime(log, &|ts| ts.replace(['1', '3'], "7")))
        }),
        ("timestamps removed", &|log| {
            let all_stamped = log.lines().all(|l| l.is_empty() || stamp(l).is_some());
            all_stamped.then(|| {
                retime(log, &|_| String::new())
                    .lines()
                    .map(|l| l.strip_prefix(' ').unwrap_or(l).to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }),
        ("CRLF line ends", &|log| Some(log.replace('\n', "\r\n"))),
        ("guessed frames left out", &|log| {
            let kept: Vec<&str> = log
                .lines()
                .filter(|l| !l.contains("] ? ") && !l.trim_start().starts_with("? "))
                .collect();
            Some(kept.join("\n"))
        }),
    ];
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut moved = Vec::new();
    let (mut checked, mut edited) = (0, 0);
    for path in &entries {
        let Some(log) = log_of(&std::fs::read(path).expect("read file")) else {
            continue;
        };
        let Some(before) = culprit_report::first(log.as_bytes()) else {
            continue;
        };
        checked += 1;
        for (what, edit) in &edits {
            let Some(changed) = edit(&log) else { continue };
            edited += 1;
            let after = culprit_report::first(changed.as_bytes()).map(|r| r.title);
            if after.as_deref() != Some(before.title.as_str()) {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                moved.push(format!("{name} ({what}): {:?} -> {after:?}", before.title));
            }
        }
    }
    for m in &moved {
        println!("MOVED {m}");
    }
    println!(
        "titles checked: {checked}, edited logs: {edited}, moved: {}",
        moved.len()
    );
    assert!(checked > 400 && edited > 3 * checked, "{checked} {edited}");
    assert!(moved.is_empty(), "{} titles moved", moved.len());
}
