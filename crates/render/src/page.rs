//! The bisection page, rendered on the server from the job's log, journal
//! and result: the steps with each commit's verdict and runs, a picture of
//! the range with every tested commit placed and coloured, the top
//! suspects' probability step by step, the crash, the culprit with its
//! diffstat, the recipients, the mail, and the log. The dashboard streams
//! the log and refreshes the rest over server-sent events; `culprit bisect
//! --html` writes the same page as one self-contained file.

use std::collections::HashMap;
use std::fmt::Write as _;

use culprit_bisect::journal::Record;
use culprit_bisect::outcome::{Relation, RunLine, Step, StepKind, StepVerdict};
use culprit_bisect::{Outcome, RunOutcome};
use culprit_git::{CommitGraph, Repo};

use crate::email::{self, MailLinks};

/// Everything a bisection page shows.
#[derive(Debug, Clone, Default)]
pub struct PageData {
    /// The heading.
    pub title: String,
    /// `queued`, `running`, `done`, `cancelled`.
    pub state: String,
    /// Facts about the job: name and value.
    pub facts: Vec<(String, String)>,
    /// The log lines so far.
    pub log: Vec<String>,
    /// The last log line's sequence number (the live stream goes on from
    /// there).
    pub log_seq: i64,
    /// The steps, from the result or (while running) from the journal.
    pub steps: Vec<StepRow>,
    /// The result, once there.
    pub outcome: Option<Outcome>,
    /// The range's picture.
    pub range: Option<RangePicture>,
    /// The culprit as `git show --stat` prints it.
    pub culprit_stat: Option<String>,
    /// The mail the bisection would send.
    pub mail: Option<String>,
    /// For the live page: the job's number and the token query (`?token=`)
    /// its requests carry, if reading needs one.
    pub live: Option<(i64, String)>,
}

/// One tested commit, as the table shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    /// Full hash.
    pub commit: String,
    /// Why it was tested; `None` while running.
    pub kind: Option<StepKind>,
    /// Its verdict; `None` while it is being tested.
    pub verdict: Option<StepVerdict>,
    /// Build signature, or the build failure.
    pub build: String,
    /// One line per run.
    pub runs: Vec<RunLine>,
    /// The top suspect after this step, with its probability.
    pub top: Option<(String, f64)>,
}

/// Where the tested commits sit in the range.
#[derive(Debug, Clone, PartialEq)]
pub struct RangePicture {
    /// Commits in the range (the new end included, the old ends not).
    pub len: usize,
    /// Tested commits: position (`None`: an old end, outside the range),
    /// hash, verdict (`None`: being tested).
    pub points: Vec<(Option<usize>, String, Option<StepVerdict>)>,
    /// The culprit's position.
    pub culprit: Option<usize>,
}

impl PageData {
    /// The steps of a finished bisection.
    pub fn steps_from_outcome(outcome: &Outcome) -> Vec<StepRow> {
        outcome.steps.iter().map(step_row).collect()
    }

    /// The steps of a running bisection: commits in the order the journal
    /// has them, runs as recorded, verdicts from the log's `# git bisect`
    /// lines.
    pub fn steps_from_journal(records: &[Record], log: &[String]) -> Vec<StepRow> {
        let mut verdicts: HashMap<&str, StepVerdict> = HashMap::new();
        for line in log {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let ["#", "git", "bisect", verdict, hash] = words[..] {
                verdicts.extend(StepVerdict::from_word(verdict).map(|v| (hash, v)));
            }
        }
        let mut rows: Vec<StepRow> = Vec::new();
        let mut runs: HashMap<String, Vec<(u32, RunLine)>> = HashMap::new();
        for record in records {
            match record {
                Record::Build {
                    commit,
                    built,
                    failure,
                    ..
                } => {
                    let build = match (built, failure) {
                        (Some(b), _) => b.signature.clone(),
                        (None, Some(f)) => format!("failed: {f}"),
                        (None, None) => "failed".into(),
                    };
                    if !rows.iter().any(|r| r.commit == *commit) {
                        rows.push(StepRow {
                            commit: commit.clone(),
                            kind: None,
                            verdict: verdicts.get(commit.as_str()).copied(),
                            build,
                            runs: Vec::new(),
                            top: None,
                        });
                    }
                }
                Record::Run {
                    commit,
                    index,
                    outcome,
                    ..
                } => runs
                    .entry(commit.clone())
                    .or_default()
                    .push((*index, run_line(outcome))),
                Record::Header { .. } => {}
            }
        }
        for row in &mut rows {
            if let Some(mut r) = runs.remove(&row.commit) {
                r.sort_by_key(|(i, _)| *i);
                row.runs = r.into_iter().map(|(_, d)| d).collect();
            }
        }
        rows
    }

    /// The range picture for the commits in `steps`, placed in the range
    /// the log's `# git bisect start NEW OLD...` line names (or the
    /// outcome's ends).
    pub fn range_picture(
        repo: &Repo,
        log: &[String],
        outcome: Option<&Outcome>,
        steps: &[StepRow],
    ) -> Option<RangePicture> {
        let (new, olds) = range_ends(log, outcome)?;
        let graph = CommitGraph::load(repo, &new, &olds).ok()?;
        // Commits outside the range are drawn at the old end when they are
        // one (a revert made to verify the culprit is not drawn).
        let points = steps
            .iter()
            .filter_map(|s| {
                let at = graph.index_of(&s.commit).map(|i| i as usize);
                let old_end = matches!(s.kind, Some(StepKind::Good | StepKind::Release) | None);
                (at.is_some() || old_end).then(|| (at, s.commit.clone(), s.verdict))
            })
            .collect();
        let culprit = outcome
            .and_then(|o| o.culprit.as_ref())
            .and_then(|c| graph.index_of(&c.hash))
            .map(|i| i as usize);
        Some(RangePicture {
            len: graph.len(),
            points,
            culprit,
        })
    }

    /// Fills in what comes from the repository: the range picture, the
    /// culprit's diffstat and the mail.
    pub fn with_repo(mut self, repo: Option<&Repo>, links: &MailLinks) -> PageData {
        let Some(repo) = repo else { return self };
        self.range = PageData::range_picture(repo, &self.log, self.outcome.as_ref(), &self.steps);
        if let Some(outcome) = &self.outcome {
            let culprit = outcome
                .culprit
                .as_ref()
                .and_then(|c| repo.commit(&c.hash).ok());
            self.culprit_stat = culprit.as_ref().and_then(|c| repo.show_stat(&c.hash).ok());
            let start = repo.commit(&outcome.bad).ok();
            self.mail = Some(email::bisection_mail(
                outcome,
                culprit.as_ref(),
                start.as_ref(),
                links,
            ));
        }
        self
    }
}

/// The new and old ends of the range.
fn range_ends(log: &[String], outcome: Option<&Outcome>) -> Option<(String, Vec<String>)> {
    for line in log {
        if let Some(rest) = line.strip_prefix("# git bisect start ") {
            let hashes: Vec<String> = rest
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .map(str::to_owned)
                .collect();
            if let Some((new, olds)) = hashes.split_first() {
                return Some((new.clone(), olds.to_vec()));
            }
        }
    }
    let o = outcome?;
    match o.direction {
        culprit_bisect::Direction::Cause => Some((o.bad.clone(), o.good.clone())),
        culprit_bisect::Direction::Fix => Some((o.good.first()?.clone(), vec![o.bad.clone()])),
    }
}

fn step_row(step: &Step) -> StepRow {
    let build = match (&step.signature, &step.build_failure) {
        (Some(s), _) => match &step.reused_from {
            Some(from) => format!("{s} (same as {})", email::short(from)),
            None => s.clone(),
        },
        (None, Some(f)) => format!("failed: {f}"),
        (None, None) => "failed".into(),
    };
    StepRow {
        commit: step.commit.clone(),
        kind: Some(step.kind),
        verdict: Some(step.verdict),
        build,
        runs: step.runs.clone(),
        top: step
            .suspects
            .first()
            .map(|s| (s.commit.clone(), s.probability)),
    }
}

/// A run as recorded in the journal, before the engine compared it with
/// the crash bisected (which only the engine does): every crash shown as
/// it came.
fn run_line(run: &RunOutcome) -> RunLine {
    match run {
        RunOutcome::Ok => RunLine::Ok,
        RunOutcome::Crashed { .. } | RunOutcome::Failed { .. } => RunLine::Crash {
            title: run.crash_title().unwrap_or_default().into_owned(),
            failed: matches!(run, RunOutcome::Failed { .. }),
            relation: Relation::Target,
        },
        RunOutcome::Invalid { reason } | RunOutcome::Infra { reason } => RunLine::NoVerdict {
            reason: reason.clone(),
        },
    }
}

/// The bisection page of one run of `culprit bisect` (`--html`): the
/// same page as the dashboard's, finished, in one self-contained file.
pub fn standalone(outcome: &Outcome, log: &str, repo: Option<&Repo>, tree: &str) -> String {
    let direction = match outcome.direction {
        culprit_bisect::Direction::Cause => "cause",
        culprit_bisect::Direction::Fix => "fix",
    };
    let state = match outcome.outcome {
        culprit_bisect::OutcomeKind::Error => "failed",
        _ => "done",
    };
    let mut facts = vec![
        ("repository".to_owned(), tree.to_owned()),
        ("bad".to_owned(), outcome.bad.clone()),
        ("good".to_owned(), outcome.good.join(" ")),
        ("strategy".to_owned(), outcome.strategy.clone()),
    ];
    facts.retain(|(_, v)| !v.is_empty());
    let log: Vec<String> = log.lines().map(str::to_owned).collect();
    let data = PageData {
        title: format!(
            "culprit: {direction} bisection from {}",
            email::short(&outcome.bad)
        ),
        state: state.to_owned(),
        facts,
        steps: PageData::steps_from_outcome(outcome),
        log,
        outcome: Some(outcome.clone()),
        ..PageData::default()
    };
    let links = MailLinks {
        page: None,
        tree: tree.to_owned(),
        reported_by: "culprit <culprit@localhost>".to_owned(),
        kernel: false,
    };
    render(&data.with_repo(repo, &links))
}

/// Writes [`standalone`]'s page to `path`.
pub fn write_standalone(
    path: &std::path::Path,
    outcome: &Outcome,
    log: &[u8],
    repo: Option<&Repo>,
    tree: &str,
) -> std::io::Result<()> {
    let page = standalone(outcome, &String::from_utf8_lossy(log), repo, tree);
    std::fs::write(path, page)
}

/// A writer that passes everything on and keeps a copy when asked to
/// (the log of `culprit bisect --html`).
pub struct Tee<W> {
    inner: W,
    copy: Option<Vec<u8>>,
}

impl<W: std::io::Write> Tee<W> {
    /// Passes on to `inner`; keeps a copy if `keep`.
    pub fn new(inner: W, keep: bool) -> Self {
        Tee {
            inner,
            copy: keep.then(Vec::new),
        }
    }

    /// What was written.
    pub fn copy(&self) -> &[u8] {
        self.copy.as_deref().unwrap_or_default()
    }
}

impl<W: std::io::Write> std::io::Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(copy) = &mut self.copy {
            copy.extend_from_slice(buf);
        }
        // A closed stdout must not lose the page: the copy is whole.
        let _ = self.inner.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.inner.flush();
        Ok(())
    }
}

/// Escapes text for HTML.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The colour of a verdict (`None`: being tested).
fn colour(verdict: Option<StepVerdict>) -> &'static str {
    match verdict {
        Some(StepVerdict::Good | StepVerdict::Fixed) => "#2e9d4a",
        Some(StepVerdict::Bad | StepVerdict::Crashing) => "#d33a2c",
        Some(StepVerdict::Skip) => "#9a9a9a",
        Some(StepVerdict::Untested) => "#6b8fd6",
        Some(StepVerdict::Undecided) | None => "#e8a317",
    }
}

/// A verdict's word on the page (`testing` while it is being tested).
fn verdict_word(verdict: Option<StepVerdict>) -> &'static str {
    verdict.map_or("testing", StepVerdict::word)
}

/// The page's style: one block, no files to fetch.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222;padding:0 1em}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}\
th{background:#f4f4f4}pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em}\
.badge{display:inline-block;padding:1px 8px;border-radius:9px;color:#fff;font-size:.85em}\
.queued{background:#888}.running{background:#e8a317}.done{background:#2e9d4a}.cancelled{background:#555}.failed{background:#d33a2c}\
.v{font-weight:600}code{font-size:.9em}#log{max-height:32em;overflow-y:auto}a{color:#1b5fb3}";

/// The whole page.
pub fn render(data: &PageData) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(&data.title)
    );
    let _ = writeln!(html, "<div id=\"live\">{}</div>", render_live(data));
    html.push_str("<h2>Log</h2>\n<pre id=\"log\">");
    for line in &data.log {
        html.push_str(&esc(line));
        html.push('\n');
    }
    html.push_str("</pre>\n");
    if let Some((job, token)) = &data.live {
        let _ = write!(
            html,
            "<script>\n(function(){{\nvar job={job},token={token:?},seq={seq},end={end};\n{SCRIPT}\n}})();\n</script>\n",
            token = token,
            seq = data.log_seq,
            end = !matches!(data.state.as_str(), "queued" | "running"),
        );
    }
    html.push_str("</body></html>\n");
    html
}

/// The live page's script: appends log lines as they come and refreshes
/// the rest of the page when the bisection moves on.
const SCRIPT: &str = r#"var log=document.getElementById('log');
function refresh(){fetch('/jobs/'+job+'/live'+token).then(function(r){return r.text();}).then(function(t){document.getElementById('live').innerHTML=t;});}
if(!end){
var es=new EventSource('/jobs/'+job+'/events'+(token?token+'&':'?')+'after='+seq);
es.addEventListener('log',function(e){log.textContent+=e.data+'\n';log.scrollTop=log.scrollHeight;});
es.addEventListener('reset',function(e){log.textContent='';});
es.addEventListener('update',function(e){refresh();});
es.addEventListener('end',function(e){es.close();refresh();});
}"#;

/// The parts of the page that change as the bisection goes on.
pub fn render_live(data: &PageData) -> String {
    let mut html = String::new();
    let _ = writeln!(
        html,
        "<h1>{} <span class=\"badge {state}\" id=\"state\">{state}</span></h1>",
        esc(&data.title),
        state = esc(&data.state)
    );
    if let (Some((job, query)), "queued" | "running") = (&data.live, data.state.as_str()) {
        // The token comes in the form's body; a private server's reading
        // token rides in the query, as on every request of the page.
        let _ = writeln!(
            html,
            "<form class=\"cancel\" method=\"post\" action=\"/jobs/{job}/cancel{}\"><input type=\"password\" name=\"token\" placeholder=\"API token\" autocomplete=\"off\"> <button type=\"submit\">Cancel this job</button></form>",
            esc(query)
        );
    }
    if !data.facts.is_empty() {
        html.push_str("<table>");
        for (name, value) in &data.facts {
            let _ = write!(
                html,
                "<tr><th>{}</th><td>{}</td></tr>",
                esc(name),
                esc(value)
            );
        }
        html.push_str("</table>\n");
    }
    if let Some(outcome) = &data.outcome {
        html.push_str(&render_result(data, outcome));
    }
    if let Some(range) = &data.range {
        html.push_str("<h2>The range</h2>\n");
        html.push_str(&range_svg(range, &data.steps));
    }
    if data.steps.iter().any(|s| s.top.is_some()) {
        html.push_str("<h2>Top suspects, step by step</h2>\n");
        html.push_str(&suspects_svg(data));
    }
    html.push_str(&render_steps(&data.steps));
    if let Some(mail) = &data.mail {
        let _ = write!(
            html,
            "<h2>The mail</h2>\n<pre id=\"mail\">{}</pre>\n",
            esc(mail)
        );
    }
    html
}

fn render_result(data: &PageData, outcome: &Outcome) -> String {
    let mut html = String::from("<h2>Result</h2>\n");
    let _ = write!(
        html,
        "<p id=\"outcome\">outcome: <span class=\"v\">{}</span>",
        outcome.outcome.word()
    );
    if let Some(confidence) = outcome.confidence {
        let _ = write!(html, ", confidence {:.3}", confidence);
    }
    if !outcome.flags.is_empty() {
        let flags: Vec<&str> = outcome.flags.iter().map(|f| f.name()).collect();
        let _ = write!(html, ", flags: {}", flags.join(", "));
    }
    let _ = writeln!(
        html,
        "; {} revisions tested in {:.1}s (build {:.1}s, test {:.1}s)</p>",
        outcome.revisions_tested, outcome.time.total, outcome.time.build, outcome.time.test
    );
    if let Some(error) = &outcome.error {
        let _ = writeln!(html, "<p>error: {}</p>", esc(error));
    }
    if let Some(culprit) = &outcome.culprit {
        let _ = writeln!(
            html,
            "<p id=\"culprit\">culprit: <code>{}</code> {}</p>",
            esc(&culprit.hash),
            esc(&culprit.title)
        );
        if let Some(stat) = &data.culprit_stat {
            let _ = writeln!(html, "<pre>{}</pre>", esc(stat));
        }
    }
    if let Some(v) = &outcome.verification {
        let runs = match v.runs.is_empty() {
            true => String::new(),
            false => format!(" ({})", esc(&summarize_runs(&v.runs))),
        };
        let _ = writeln!(
            html,
            "<p id=\"verification\">checked by its revert on <code>{}</code>: <span class=\"v\">{}</span>{runs}</p>",
            esc(email::short(&v.base)),
            email::verification_words(outcome.direction, v.verdict),
        );
    }
    for c in &outcome.candidates {
        let _ = writeln!(
            html,
            "<p>candidate: <code>{}</code> {}</p>",
            esc(&c.hash),
            esc(&c.title)
        );
    }
    let recipients: Vec<String> = [
        ("to", &outcome.recipients.to),
        ("cc", &outcome.recipients.cc),
    ]
    .into_iter()
    .filter(|(_, who)| !who.is_empty())
    .map(|(what, who)| format!("{what} {}", esc(&who.join(", "))))
    .collect();
    if !recipients.is_empty() {
        let _ = writeln!(
            html,
            "<p id=\"recipients\">recipients: {}</p>",
            recipients.join("; ")
        );
    }
    if let Some(crash) = &outcome.crash {
        let _ = writeln!(html, "<h2>The crash: {}</h2>", esc(&crash.title));
        if !crash.report.trim().is_empty() {
            let _ = writeln!(html, "<pre id=\"crash\">{}</pre>", esc(&crash.report));
        }
    }
    html
}

fn render_steps(steps: &[StepRow]) -> String {
    let mut html = String::from(
        "<h2>Steps</h2>\n<table id=\"steps\"><tr><th>#</th><th>commit</th><th>kind</th><th>verdict</th><th>build</th><th>runs</th><th>top suspect after</th></tr>\n",
    );
    for (i, s) in steps.iter().enumerate() {
        let top = s
            .top
            .as_ref()
            .map(|(c, p)| format!("{} ({:.3})", email::short(c), p))
            .unwrap_or_default();
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td><code title=\"{}\">{}</code></td><td>{}</td><td class=\"v\" style=\"color:{}\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            i + 1,
            esc(&s.commit),
            esc(email::short(&s.commit)),
            s.kind.map_or("", StepKind::word),
            colour(s.verdict),
            verdict_word(s.verdict),
            esc(email::short(&s.build)),
            esc(&summarize_runs(&s.runs)),
            esc(&top),
        );
    }
    html.push_str("</table>\n");
    html
}

/// `OK ×3, crashed: X ×2`, in the order first seen.
pub fn summarize_runs(runs: &[RunLine]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for run in runs.iter().map(RunLine::to_string) {
        match counts.iter_mut().find(|(r, _)| *r == run) {
            Some((_, n)) => *n += 1,
            None => counts.push((run, 1)),
        }
    }
    counts
        .iter()
        .map(|(r, n)| {
            if *n == 1 {
                r.to_string()
            } else {
                format!("{r} ×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const WIDTH: f64 = 1000.0;

/// The range as a line from the old ends (left) to the new end (right),
/// each tested commit a dot in its verdict's colour, numbered in test
/// order; the culprit ringed.
fn range_svg(range: &RangePicture, steps: &[StepRow]) -> String {
    let x = |at: Option<usize>| match at {
        Some(i) => 40.0 + (i as f64 + 1.0) / (range.len as f64 + 1.0) * (WIDTH - 80.0),
        None => 40.0,
    };
    let mut svg = format!(
        "<svg id=\"range\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"90\" viewBox=\"0 0 {WIDTH} 90\">\
<line x1=\"40\" y1=\"50\" x2=\"{}\" y2=\"50\" stroke=\"#bbb\" stroke-width=\"2\"/>\
<text x=\"40\" y=\"80\" font-size=\"11\">old end</text><text x=\"{}\" y=\"80\" font-size=\"11\" text-anchor=\"end\">new end ({} commits)</text>",
        WIDTH - 40.0,
        WIDTH - 40.0,
        range.len
    );
    if let Some(c) = range.culprit {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"50\" r=\"11\" fill=\"none\" stroke=\"#000\" stroke-width=\"2\"><title>culprit</title></circle>",
            x(Some(c))
        );
    }
    let rows = label_rows(
        &range
            .points
            .iter()
            .map(|(at, ..)| x(*at))
            .collect::<Vec<_>>(),
    );
    for (n, ((at, hash, verdict), row)) in range.points.iter().zip(rows).enumerate() {
        let cx = x(*at);
        let order = steps.iter().position(|s| s.commit == *hash).unwrap_or(n) + 1;
        let _ = write!(
            svg,
            "<circle class=\"point\" cx=\"{cx:.1}\" cy=\"50\" r=\"6\" fill=\"{}\"><title>{} {}</title></circle>\
<text class=\"order\" x=\"{cx:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{order}</text>",
            colour(*verdict),
            esc(hash),
            verdict_word(*verdict),
            LABEL_ROWS[row],
        );
    }
    svg.push_str("</svg>\n<p style=\"font-size:.85em\"><span style=\"color:#2e9d4a\">●</span> good/fixed <span style=\"color:#d33a2c\">●</span> bad/crashing <span style=\"color:#9a9a9a\">●</span> skip <span style=\"color:#e8a317\">●</span> undecided/testing; ringed: the culprit</p>\n");
    svg
}

/// The heights of the rows the range picture's numbers sit in, nearest to
/// the line first.
const LABEL_ROWS: [f64; 4] = [36.0, 26.0, 16.0, 6.0];
/// How far apart two numbers in one row must be.
const LABEL_GAP: f64 = 16.0;

/// The row of each number above the range's line: the lowest row where it
/// keeps clear of the numbers already placed (the last row when none is).
fn label_rows(xs: &[f64]) -> Vec<usize> {
    let mut placed: Vec<Vec<f64>> = vec![Vec::new(); LABEL_ROWS.len()];
    xs.iter()
        .map(|&x| {
            let row = (0..LABEL_ROWS.len())
                .find(|&r| placed[r].iter().all(|p| (p - x).abs() >= LABEL_GAP))
                .unwrap_or(LABEL_ROWS.len() - 1);
            placed[row].push(x);
            row
        })
        .collect()
}

/// The probability of the likeliest culprits after each step: one line per
/// commit that was ever the top suspect (at most five).
fn suspects_svg(data: &PageData) -> String {
    let Some(outcome) = &data.outcome else {
        return String::new();
    };
    // Steps as the table numbers them (1-based), those with suspects only.
    let numbered: Vec<(usize, &Step)> = outcome
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.suspects.is_empty())
        .map(|(i, s)| (i + 1, s))
        .collect();
    if numbered.len() < 2 {
        return String::new();
    }
    let last_step = outcome.steps.len();
    let steps: Vec<&Step> = numbered.iter().map(|(_, s)| *s).collect();
    let mut commits: Vec<String> = Vec::new();
    for step in &steps {
        if let Some(top) = step.suspects.first() {
            if !commits.contains(&top.commit) {
                commits.push(top.commit.clone());
            }
        }
    }
    commits.truncate(5);
    let palette = ["#1b5fb3", "#d33a2c", "#2e9d4a", "#8e44ad", "#e8a317"];
    let (h, left, right) = (200.0, 50.0, WIDTH - 160.0);
    let first_step = numbered[0].0;
    let span = (last_step - first_step).max(1) as f64;
    let x = |i: usize| left + (numbered[i].0 - first_step) as f64 / span * (right - left);
    let y = |p: f64| 20.0 + (1.0 - p) * (h - 50.0);
    let mut svg = format!(
        "<svg id=\"suspects\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{h}\" viewBox=\"0 0 {WIDTH} {h}\">\
<line x1=\"{left}\" y1=\"{}\" x2=\"{right}\" y2=\"{}\" stroke=\"#bbb\"/><line x1=\"{left}\" y1=\"{}\" x2=\"{left}\" y2=\"{}\" stroke=\"#bbb\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">1</text><text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">0</text>\
<text x=\"{left}\" y=\"{}\" font-size=\"11\">step {first_step}</text><text x=\"{right}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">step {last_step}</text>",
        y(0.0), y(0.0), y(0.0), y(1.0),
        left - 5.0, y(1.0) + 4.0, left - 5.0, y(0.0) + 4.0,
        h - 12.0, h - 12.0
    );
    for (k, commit) in commits.iter().enumerate() {
        let points: Vec<String> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let p = s
                    .suspects
                    .iter()
                    .find(|x| x.commit == *commit)
                    .map_or(0.0, |x| x.probability);
                format!("{:.1},{:.1}", x(i), y(p))
            })
            .collect();
        let c = palette[k % palette.len()];
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{c}\">{}</text>",
            points.join(" "),
            right + 10.0,
            30.0 + 16.0 * k as f64,
            esc(email::short(commit))
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use culprit_bisect::Built;

    #[test]
    fn running_steps_come_from_the_journal_and_the_log() {
        let built = Built {
            commit: "aaa".into(),
            signature: "sig".into(),
            compiler: None,
        };
        let records = vec![
            Record::Header { params: "p".into() },
            Record::Build {
                commit: "aaa".into(),
                built: Some(built),
                failure: None,
                secs: 1.0,
            },
            Record::Run {
                commit: "aaa".into(),
                index: 1,
                outcome: RunOutcome::Ok,
                secs: 0.1,
                reused_from: None,
            },
            Record::Run {
                commit: "aaa".into(),
                index: 0,
                outcome: RunOutcome::Crashed {
                    title: "WARNING in f".into(),
                    report: String::new(),
                },
                secs: 0.1,
                reused_from: None,
            },
            Record::Build {
                commit: "bbb".into(),
                built: None,
                failure: Some("exit 2".into()),
                secs: 1.0,
            },
        ];
        let log = vec!["# git bisect bad aaa".to_owned()];
        let rows = PageData::steps_from_journal(&records, &log);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].verdict, Some(StepVerdict::Bad));
        let runs: Vec<String> = rows[0].runs.iter().map(|r| r.to_string()).collect();
        assert_eq!(runs, ["crashed: WARNING in f", "OK"]);
        assert_eq!(rows[1].verdict, None);
        assert_eq!(rows[1].build, "failed: exit 2");
    }

    /// A finished cause bisection whose culprit's revert conflicted.
    fn finished() -> Outcome {
        let mut o = Outcome::failed(
            culprit_bisect::Direction::Cause,
            "bayes",
            "b".repeat(40).as_str(),
            String::new(),
        );
        o.outcome = culprit_bisect::OutcomeKind::Culprit;
        o.error = None;
        o.confidence = Some(0.997);
        o.recipients.to = vec!["a@example.com".into()];
        o.verification = Some(culprit_bisect::outcome::Verification {
            kind: culprit_bisect::outcome::VerificationKind::Revert,
            base: "b".repeat(40),
            commit: None,
            applied: false,
            built: false,
            runs: Vec::new(),
            verdict: culprit_bisect::VerificationVerdict::Conflicts,
        });
        o
    }

    #[test]
    fn the_result_says_nothing_empty() {
        let o = finished();
        let data = PageData {
            outcome: Some(o.clone()),
            ..PageData::default()
        };
        let html = render_result(&data, &o);
        assert!(html.contains("does not apply cleanly"), "{html}");
        assert!(!html.contains("()"), "{html}");
        assert!(html.contains("recipients: to a@example.com</p>"), "{html}");
        assert!(!html.contains("cc"), "{html}");
    }

    #[test]
    fn the_suspects_chart_numbers_steps_as_the_table_and_ends_at_the_result() {
        let step = |commit: &str, p: Option<f64>| Step {
            commit: commit.into(),
            title: String::new(),
            time: Default::default(),
            kind: StepKind::Bisect,
            release: None,
            verdict: StepVerdict::Bad,
            signature: None,
            build_failure: None,
            reused_from: None,
            runs: Vec::new(),
            suspects: p
                .map(|p| {
                    vec![culprit_bisect::outcome::Suspect {
                        commit: "c".into(),
                        probability: p,
                    }]
                })
                .unwrap_or_default(),
        };
        let mut o = finished();
        o.steps = vec![
            step("bad", None),
            step("good", None),
            step("x", Some(0.5)),
            step("y", Some(0.921)),
            step("revert", Some(0.997)),
        ];
        let data = PageData {
            outcome: Some(o),
            ..PageData::default()
        };
        let svg = suspects_svg(&data);
        assert!(
            svg.contains(">step 3</text>") && svg.contains(">step 5</text>"),
            "{svg}"
        );
    }

    #[test]
    fn numbers_of_nearby_points_do_not_overlap() {
        let rows = label_rows(&[900.0, 905.0, 910.0, 500.0, 960.0]);
        assert_eq!(rows, [0, 1, 2, 0, 0]);
    }

    #[test]
    fn a_running_job_has_a_cancel_form() {
        let data = PageData {
            state: "running".into(),
            live: Some((7, String::new())),
            ..PageData::default()
        };
        assert!(render_live(&data).contains("action=\"/jobs/7/cancel\""));
        let done = PageData {
            state: "done".into(),
            ..data
        };
        assert!(!render_live(&done).contains("cancel"));
    }

    #[test]
    fn text_is_escaped_everywhere() {
        let data = PageData {
            title: "<script>".into(),
            state: "running".into(),
            log: vec!["a <b> & 'c'".into()],
            ..PageData::default()
        };
        let html = render(&data);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("a &lt;b&gt; &amp; &#39;c&#39;"));
    }

    #[test]
    fn runs_are_summarized_in_order() {
        let runs: Vec<RunLine> = ["OK", "crashed: X", "OK"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(summarize_runs(&runs), "OK ×2, crashed: X");
    }
}
