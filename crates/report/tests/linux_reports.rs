//! The parser against syzkaller's real console logs in shared/testdata.
//!
//! Prints the pass rates and every mismatch, for all files and for each
//! half of a fixed held-out split (a hash of the file name: see
//! `common::half`), so that a rule fitted to failures of one half shows
//! whether it carries over to the other. A new rule says in its commit
//! which half's failure it came from (or that it came from syzbot's known
//! behaviour) and that the other half did not get worse. Fails below the
//! issue's bars (98% exact titles, 97% correct `corrupted`, no false
//! crash).

mod common;

use common::{half, testdata};

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

impl Tally {
    /// The counts of both tallies together (mismatches left out).
    fn plus(&self, o: &Tally) -> Tally {
        Tally {
            files: self.files + o.files,
            crashes: self.crashes + o.crashes,
            titles: self.titles + o.titles,
            alts: self.alts + o.alts,
            kinds: self.kinds + o.kinds,
            typed: self.typed + o.typed,
            corrupted: self.corrupted + o.corrupted,
            suppressed: self.suppressed + o.suppressed,
            no_crash: self.no_crash + o.no_crash,
            no_crash_ok: self.no_crash_ok + o.no_crash_ok,
            mismatches: Vec::new(),
        }
    }
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
    let files: Vec<(String, Vec<u8>)> = entries
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, std::fs::read(path).expect("read test file"))
        })
        .collect();
    let mut halves = [Tally::default(), Tally::default()];
    for (name, data) in &files {
        check(name, data, &mut halves[half(name)]);
    }
    let t = halves[0].plus(&halves[1]);
    for (h, tally) in halves.iter().enumerate() {
        for m in &tally.mismatches {
            println!("MISMATCH [{}] {m}", HALF_NAMES[h]);
        }
    }
    print_figures("all files", &t);
    for (h, tally) in halves.iter().enumerate() {
        print_figures(&format!("half {}", HALF_NAMES[h]), tally);
    }
    let title_rate = pct(t.titles, t.crashes);
    let corrupted_rate = pct(t.corrupted, t.crashes);
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

/// Names of the two halves of the held-out split.
const HALF_NAMES: [&str; 2] = ["A", "B"];

fn print_figures(what: &str, t: &Tally) {
    println!(
        "{what}: files {}, with a crash {}, without {}",
        t.files, t.crashes, t.no_crash
    );
    let line = |label: &str, n: usize, d: usize| {
        println!("  {label:<13} {:5.1}% ({n}/{d})", pct(n, d));
    };
    line("exact titles:", t.titles, t.crashes);
    line("alt titles:", t.alts, t.crashes);
    line("types:", t.kinds, t.typed);
    line("corrupted:", t.corrupted, t.crashes);
    line("suppressed:", t.suppressed, t.crashes);
    line("no crash:", t.no_crash_ok, t.no_crash);
}
