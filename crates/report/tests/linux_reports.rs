//! The parser against syzkaller's real console logs in ../shared/testdata.
//!
//! Prints the pass rates and every mismatch; fails below the bars
//! (98% exact titles, 97% correct `corrupted`, no false crash).

use std::path::{Path, PathBuf};

fn testdata(dir: &str) -> Option<PathBuf> {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ))
    .join(dir);
    if path.is_dir() {
        Some(path)
    } else {
        println!(
            "SKIPPED: {} is absent; the shared test data cases do not run",
            path.display()
        );
        None
    }
}

/// What a test file expects.
#[derive(Default)]
struct Expected {
    title: String,
    alt: Vec<String>,
    kind: Option<String>,
    corrupted: bool,
    suppressed: bool,
}

/// Splits a test file into its expectations and the console log.
fn split(data: &[u8]) -> (Expected, &[u8]) {
    let header_end = memchr::memmem::find(data, b"\n\n").map_or(data.len(), |i| i + 2);
    let mut exp = Expected::default();
    for line in String::from_utf8_lossy(&data[..header_end]).lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        match key {
            "TITLE" => exp.title = value,
            "ALT" => exp.alt.push(value),
            "TYPE" => exp.kind = Some(value),
            "CORRUPTED" => exp.corrupted = value == "Y",
            "SUPPRESSED" => exp.suppressed = value == "Y",
            _ => {}
        }
    }
    exp.alt.sort();
    let log = &data[header_end..];
    let log = match memchr::memmem::find(log, b"\n\nREPORT:\n") {
        Some(i) => &log[..i + 1],
        None if log.starts_with(b"REPORT:\n") => &log[..0],
        None => log,
    };
    (exp, log)
}

#[derive(Default)]
struct Tally {
    files: usize,
    crashes: usize,
    titles: usize,
    alts: usize,
    kinds: usize,
    typed: usize,
    corrupted: usize,
    suppressed: usize,
    no_crash: usize,
    no_crash_ok: usize,
    mismatches: Vec<String>,
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 {
        100.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

fn check(name: &str, data: &[u8], t: &mut Tally) {
    let (exp, log) = split(data);
    let got = culprit_report::first(log);
    t.files += 1;
    if exp.title.is_empty() {
        t.no_crash += 1;
        match got {
            None => t.no_crash_ok += 1,
            Some(r) => t
                .mismatches
                .push(format!("{name}: expected no crash, got {:?}", r.title)),
        }
        return;
    }
    t.crashes += 1;
    let Some(r) = got else {
        t.mismatches
            .push(format!("{name}: no crash found, expected {:?}", exp.title));
        return;
    };
    let mut problems = Vec::new();
    if r.title == exp.title {
        t.titles += 1;
    } else {
        problems.push(format!("title {:?} != {:?}", r.title, exp.title));
    }
    let mut alts = r.alt_titles.clone();
    alts.sort();
    if alts == exp.alt {
        t.alts += 1;
    } else {
        problems.push(format!("alt {alts:?} != {:?}", exp.alt));
    }
    if let Some(kind) = &exp.kind {
        t.typed += 1;
        if r.kind.name() == kind {
            t.kinds += 1;
        } else {
            problems.push(format!("type {} != {kind}", r.kind.name()));
        }
    }
    if r.corrupted == exp.corrupted {
        t.corrupted += 1;
    } else {
        problems.push(format!(
            "corrupted {} != {} ({:?})",
            r.corrupted, exp.corrupted, r.corrupted_reason
        ));
    }
    if r.suppressed == exp.suppressed {
        t.suppressed += 1;
    } else {
        problems.push(format!("suppressed {} != {}", r.suppressed, exp.suppressed));
    }
    if !problems.is_empty() {
        t.mismatches
            .push(format!("{name}: {}", problems.join("; ")));
    }
}

#[test]
fn linux_reports_meet_the_bars() {
    let Some(dir) = testdata("linux-reports") else {
        return;
    };
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("read test data dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut t = Tally::default();
    for path in entries {
        let data = std::fs::read(&path).expect("read test file");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        check(&name, &data, &mut t);
    }
    for m in &t.mismatches {
        println!("MISMATCH {m}");
    }
    let title_rate = pct(t.titles, t.crashes);
    let corrupted_rate = pct(t.corrupted, t.crashes);
    println!(
        "files: {}, with a crash: {}, without: {}",
        t.files, t.crashes, t.no_crash
    );
    println!(
        "exact titles: {title_rate:.1}% ({}/{})",
        t.titles, t.crashes
    );
    println!(
        "alt titles:   {:.1}% ({}/{})",
        pct(t.alts, t.crashes),
        t.alts,
        t.crashes
    );
    println!(
        "types:        {:.1}% ({}/{})",
        pct(t.kinds, t.typed),
        t.kinds,
        t.typed
    );
    println!(
        "corrupted:    {corrupted_rate:.1}% ({}/{})",
        t.corrupted, t.crashes
    );
    println!(
        "suppressed:   {:.1}% ({}/{})",
        pct(t.suppressed, t.crashes),
        t.suppressed,
        t.crashes
    );
    println!(
        "no-crash files reported as no crash: {}/{}",
        t.no_crash_ok, t.no_crash
    );
    assert!(t.files > 400, "only {} test files", t.files);
    assert!(title_rate >= 98.0, "exact titles {title_rate:.1}% < 98%");
    assert!(
        corrupted_rate >= 97.0,
        "corrupted {corrupted_rate:.1}% < 97%"
    );
    assert_eq!(
        t.no_crash_ok, t.no_crash,
        "files without a crash reported as crashes"
    );
}
