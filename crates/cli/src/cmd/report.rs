//! `culprit report`: names the crashes in console output files.

use culprit_report::Report;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `culprit report`.
#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON line per file instead of a human-readable summary.
    #[arg(long)]
    json: bool,
    /// Console output files (any encoding).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Runs `culprit report`; returns the exit code (2 when a file cannot be read).
pub fn run(args: Args) -> i32 {
    let mut status = 0;
    // Buffered: one write per JSON line would be a system call per file.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // One buffer for every file: no fresh allocation (and page faults) per file.
    let mut log = Vec::new();
    for path in &args.files {
        if let Err(e) = read_into(path, &mut log) {
            eprintln!("culprit report: cannot read {}: {e}", path.display());
            status = 2;
            continue;
        }
        let reports = culprit_report::parse(&log);
        let written = if args.json {
            writeln!(out, "{}", json_line(path, &reports))
        } else {
            write!(out, "{}", human(path, &reports))
        };
        if written.is_err() {
            return status.max(1);
        }
    }
    if out.flush().is_err() {
        return status.max(1);
    }
    status
}

/// Reads the file at `path` into `buf`, replacing its contents.
fn read_into(path: &std::path::Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Read;
    buf.clear();
    std::fs::File::open(path)?.read_to_end(buf)?;
    Ok(())
}

/// The JSON line of a file: its first report, fields in a fixed order.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    file: String,
    crash: bool,
    title: Option<&'a str>,
    alt_titles: &'a [String],
    #[serde(rename = "type")]
    kind: Option<&'static str>,
    corrupted: bool,
    corrupted_reason: Option<&'a str>,
    suppressed: bool,
    frame: Option<&'a str>,
    reports: usize,
}

/// The JSON line describing the first report of a file.
fn json_line(path: &std::path::Path, reports: &[Report]) -> String {
    let first = reports.first();
    let line = JsonLine {
        file: path.display().to_string(),
        crash: first.is_some(),
        title: first.map(|r| r.title.as_str()),
        alt_titles: first.map_or(&[], |r| r.alt_titles.as_slice()),
        kind: first.map(|r| r.kind.name()),
        corrupted: first.is_some_and(|r| r.corrupted),
        corrupted_reason: first.and_then(|r| r.corrupted_reason.as_deref()),
        suppressed: first.is_some_and(|r| r.suppressed),
        frame: first.and_then(|r| r.frame.as_deref()),
        reports: reports.len(),
    };
    // Plain strings, numbers and bools always serialise.
    serde_json::to_string(&line).unwrap_or_default()
}

/// A summary of every report of a file, with the first one's text.
fn human(path: &std::path::Path, reports: &[Report]) -> String {
    let mut s = format!("{}: ", path.display());
    let Some(first) = reports.first() else {
        s.push_str("no crash\n");
        return s;
    };
    s.push_str(&format!("{} report(s)\n", reports.len()));
    for (i, r) in reports.iter().enumerate() {
        s.push_str(&format!(
            "  #{} {} [{}] bytes {}..{}",
            i + 1,
            r.title,
            r.kind,
            r.start,
            r.end
        ));
        if let Some(why) = &r.corrupted_reason {
            s.push_str(&format!(" (corrupted: {why})"));
        }
        if r.suppressed {
            s.push_str(" (suppressed)");
        }
        s.push('\n');
        for alt in &r.alt_titles {
            s.push_str(&format!("     also known as: {alt}\n"));
        }
    }
    s.push_str("--- first report ---\n");
    s.push_str(&first.text);
    if !first.text.ends_with('\n') {
        s.push('\n');
    }
    s
}
