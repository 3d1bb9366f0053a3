//! The dashboard's page: the workers, and the queue paged and filtered
//! (by state, by words of the title or the job's number), each waiting or
//! running job with a cancel button for the token's holder. The page's
//! skeleton, script and style are files (`assets/`); this fills in the
//! tables.

use std::fmt::Write as _;

use crate::queue::{JobFilter, JobStatus, WorkerStatus, PAGE};
use culprit_render::page::{self, esc};

const PAGE_HTML: &str = include_str!("../assets/dashboard.html");
const SCRIPT: &str = include_str!("../assets/dashboard.js");
const STYLE: &str = include_str!("../assets/dashboard.css");

/// The states the queue can be filtered by.
const STATES: [&str; 4] = ["queued", "running", "done", "cancelled"];

/// A file the dashboard's page loads: its content type and text.
pub fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "dashboard.js" => Some(("text/javascript; charset=utf-8", SCRIPT)),
        "dashboard.css" => Some(("text/css; charset=utf-8", STYLE)),
        _ => None,
    }
}

/// What the dashboard shows.
pub struct Dashboard<'a> {
    /// One page of the queue.
    pub jobs: &'a [JobStatus],
    /// How many jobs are in each state.
    pub counts: &'a [(String, i64)],
    /// The workers.
    pub workers: &'a [WorkerStatus],
    /// The filter the page shows.
    pub filter: &'a JobFilter,
    /// `?token=...` for the links of a private server, or empty.
    pub token: &'a str,
}

impl Dashboard<'_> {
    /// The whole page.
    pub fn page(&self) -> String {
        let chosen = self.filter.state.as_deref().unwrap_or("");
        let mut states = String::from("<option value=\"\">every state</option>");
        for state in STATES {
            let selected = if state == chosen { " selected" } else { "" };
            let _ = write!(states, "<option{selected}>{state}</option>");
        }
        let hidden = match self.token.strip_prefix("?token=") {
            Some(t) => format!(
                "<input type=\"hidden\" name=\"token\" value=\"{}\">",
                esc(&percent_decode(t))
            ),
            None => String::new(),
        };
        fill(
            PAGE_HTML,
            &[
                ("style", page::STYLE),
                ("token", &esc(self.token)),
                ("hidden", &hidden),
                ("states", &states),
                ("text", &esc(self.filter.text.as_deref().unwrap_or(""))),
                ("tables", &self.tables()),
            ],
        )
    }

    /// The parts the page refreshes: the workers and the queue.
    pub fn tables(&self) -> String {
        let mut html = self.workers_table();
        html.push_str(&self.queue_table());
        html
    }

    fn workers_table(&self) -> String {
        let mut html = String::from(
            "<h2>Workers</h2>\n<table id=\"workers\"><tr><th>worker</th><th>host</th>\
             <th>status</th><th>heard from</th><th>disk</th><th>doing</th></tr>\n",
        );
        for w in self.workers {
            let doing = match w.status.as_str() {
                "alive" if w.step.is_empty() => "idle".to_owned(),
                "alive" => w.step.clone(),
                _ => String::new(),
            };
            let job_link = match (w.status.as_str(), w.job_id) {
                ("alive", Some(j)) => format!(" <a href=\"/jobs/{j}{}\">job {j}</a>", self.token),
                _ => String::new(),
            };
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td><span class=\"badge {s}\">{s}</span></td>\
                 <td>{:.0}s ago</td><td>{}</td><td>{}{}</td></tr>",
                esc(&w.id),
                esc(&w.host),
                w.silent_secs,
                w.disk_bytes.map(size).unwrap_or_default(),
                esc(&doing),
                job_link,
                s = esc(&w.status),
            );
        }
        html.push_str("</table>\n");
        html
    }

    fn queue_table(&self) -> String {
        let mut html = String::from("<h2>Queue</h2>\n");
        html.push_str(&self.counts_line());
        html.push_str(
            "<table id=\"queue\"><tr><th>job</th><th>state</th><th>what</th><th>worker</th>\
             <th>attempts</th><th>outcome</th><th>submitted</th><th></th></tr>\n",
        );
        for j in self.jobs {
            let outcome = match (&j.outcome, &j.culprit) {
                (Some(o), Some(c)) => format!("{o} {}", culprit_render::email::short(c)),
                (Some(o), None) => o.clone(),
                _ => String::new(),
            };
            let cancel = match j.state.as_str() {
                "queued" | "running" if !j.cancel_requested => format!(
                    "<button class=\"cancel\" data-cancel=\"{}\">cancel</button>",
                    j.id
                ),
                "queued" | "running" => "cancelling".to_owned(),
                _ => String::new(),
            };
            let _ = writeln!(
                html,
                "<tr><td><a href=\"/jobs/{id}{token}\">{id}</a></td>\
                 <td><span class=\"badge {s}\">{s}</span></td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{cancel}</td></tr>",
                esc(&j.title),
                esc(j.owner.as_deref().unwrap_or("")),
                j.attempts,
                esc(&outcome),
                esc(&j.submitted_at),
                id = j.id,
                token = self.token,
                s = esc(&j.state),
            );
        }
        html.push_str("</table>\n");
        html.push_str(&self.pages_line());
        html
    }

    /// How many jobs are in each state, each a link to them.
    fn counts_line(&self) -> String {
        let all: i64 = self.counts.iter().map(|(_, n)| n).sum();
        let chosen = self.filter.state.as_deref().unwrap_or("");
        let mut html = String::from("<p id=\"counts\">");
        let link = |state: &str, n: i64| {
            let class = if state == chosen {
                " class=\"chosen\""
            } else {
                ""
            };
            let label = if state.is_empty() { "all" } else { state };
            format!(
                "<a{class} href=\"/{}\">{label} ({n})</a>",
                self.query(&[("state", state)])
            )
        };
        html.push_str(&link("", all));
        for state in STATES {
            let n = self
                .counts
                .iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| *n);
            html.push_str(&link(state, n));
        }
        html.push_str("</p>\n");
        html
    }

    /// Links to the newest jobs and to the next (older) page.
    fn pages_line(&self) -> String {
        let limit = self.filter.limit.unwrap_or(PAGE).max(1) as usize;
        let mut links = Vec::new();
        if self.filter.before.is_some() {
            links.push(format!("<a href=\"/{}\">newest</a>", self.query(&[])));
        }
        if let (true, Some(last)) = (self.jobs.len() >= limit, self.jobs.last()) {
            let before = last.id.to_string();
            links.push(format!(
                "<a href=\"/{}\">older</a>",
                self.query(&[("before", &before)])
            ));
        }
        format!("<p id=\"pages\">{}</p>\n", links.join(""))
    }

    /// The query of a link: the page's filter (without its page), the
    /// token, and `changes`, HTML-escaped.
    fn query(&self, changes: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(t) = self.token.strip_prefix("?token=") {
            pairs.push(("token", percent_decode(t)));
        }
        let state = self.filter.state.clone().unwrap_or_default();
        let text = self.filter.text.clone().unwrap_or_default();
        for (name, value) in [("state", state), ("q", text)] {
            let changed = changes.iter().find(|(n, _)| *n == name);
            let value = changed.map_or(value, |(_, v)| (*v).to_owned());
            if !value.is_empty() {
                pairs.push((name, value));
            }
        }
        for (name, value) in changes.iter().filter(|(n, _)| !["state", "q"].contains(n)) {
            pairs.push((name, (*value).to_owned()));
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(n, v)| format!("{n}={}", url_encode(v)))
            .collect();
        match query.is_empty() {
            true => String::new(),
            false => esc(&format!("?{}", query.join("&"))),
        }
    }
}

/// `template` with each `{{name}}` replaced by its value, in one pass (a
/// value is never read again for names).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        match values.iter().find(|(n, _)| *n == name) {
            Some((_, value)) => out.push_str(value),
            None => out.push_str(&rest[start..start + 4 + end]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Bytes as a short size (`512 B`, `3.4 MB`, `1.2 GB`).
fn size(bytes: i64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes.max(0) as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} B"),
        _ => format!("{value:.1} {}", units[unit]),
    }
}

/// `text` percent-encoded for a URL's query.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Undoes [`url_encode`] (and `+` for a space).
fn percent_decode(text: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={text}"))
        .ok()
        .and_then(|pairs| pairs.into_iter().next())
        .map_or_else(|| text.to_owned(), |(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_filled_once() {
        let out = fill(
            "<a>{{one}}</a>{{two}}{{unknown}}{{",
            &[("one", "{{two}}"), ("two", "2")],
        );
        assert_eq!(out, "<a>{{two}}</a>2{{unknown}}{{");
    }

    #[test]
    fn sizes_read_short() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(3_400_000), "3.4 MB");
        assert_eq!(size(1_200_000_000), "1.2 GB");
    }

    #[test]
    fn links_keep_the_filter_and_the_token() {
        let filter = JobFilter {
            state: Some("queued".into()),
            text: Some("a&b".into()),
            ..JobFilter::default()
        };
        let view = Dashboard {
            jobs: &[],
            counts: &[],
            workers: &[],
            filter: &filter,
            token: "?token=s%20t",
        };
        assert_eq!(
            view.query(&[("before", "7")]),
            "?token=s%20t&amp;state=queued&amp;q=a%26b&amp;before=7"
        );
        assert_eq!(view.query(&[("state", "")]), "?token=s%20t&amp;q=a%26b");
    }
}
