//! `culprit serve`: the HTTP API (submit, status, result, log, journal,
//! cancel) and the dashboard (the queue with the workers, and each
//! bisection's page, live over server-sent events), all read from the
//! database the workers write.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use culprit_bisect::journal::Record;
use culprit_bisect::Outcome;

use crate::db::{Db, DbError};
use crate::http::{self, Request, Response};
use crate::queue;
use crate::spec::{self, JobSpec};
use culprit_render::email::MailLinks;
use culprit_render::page::{self, esc, PageData};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The database.
    pub db_url: String,
    /// Where to listen (`127.0.0.1:8080`).
    pub listen: String,
    /// The token that submitting and cancelling need.
    pub token: String,
    /// Reading needs the token too.
    pub private: bool,
    /// Where relative paths of submitted jobs start.
    pub base: PathBuf,
    /// The URL the dashboard is reached at, for the mails' links.
    pub public_url: Option<String>,
    /// Who the mails' `Reported-by:` names.
    pub reported_by: String,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database cannot be used.
    #[error("{0}")]
    Db(#[from] DbError),
    /// The address cannot be listened on.
    #[error("cannot listen on {listen}: {source}")]
    Listen {
        /// The address.
        listen: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The server's state: its settings and a few database connections.
struct Server {
    config: ServeConfig,
    pool: Mutex<Vec<Db>>,
    /// Where new connections come from.
    first: Mutex<Db>,
}

impl Server {
    /// Runs `work` on a pooled connection.
    fn with_db<T>(&self, work: impl FnOnce(&mut Db) -> Result<T, DbError>) -> Result<T, DbError> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        let mut db = match pooled {
            Some(db) => db,
            None => match self.first.lock() {
                Ok(first) => first.another()?,
                Err(poisoned) => poisoned.into_inner().another()?,
            },
        };
        let result = work(&mut db);
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < 16 {
                pool.push(db);
            }
        }
        result
    }
}

/// A bound server, ready to serve.
pub struct Bound {
    listener: TcpListener,
    server: Arc<Server>,
}

impl Bound {
    /// The address it listens on.
    pub fn addr(&self) -> Option<std::net::SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `stop` is set.
    pub fn serve(self, stop: Arc<AtomicBool>) {
        let server = self.server;
        let handler: http::Handler = Arc::new(move |request| route(&server, request));
        http::serve(self.listener, handler, stop);
    }
}

/// Connects to the database (applying the schema) and binds the address.
pub fn bind(config: ServeConfig) -> Result<Bound, ServeError> {
    let mut first = Db::connect(&config.db_url, Duration::from_secs(30))?;
    first.migrate()?;
    let listener = TcpListener::bind(&config.listen).map_err(|source| ServeError::Listen {
        listen: config.listen.clone(),
        source,
    })?;
    Ok(Bound {
        listener,
        server: Arc::new(Server {
            config,
            pool: Mutex::new(Vec::new()),
            first: Mutex::new(first),
        }),
    })
}

/// Whether `given` is the token (compared in constant time).
fn same_token(given: &str, token: &str) -> bool {
    let (a, b) = (given.as_bytes(), token.as_bytes());
    if a.len() != b.len() || b.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(server: &Server, request: &Request) -> bool {
    let bearer = request
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    let given = bearer.or_else(|| request.param("token"));
    given.is_some_and(|g| same_token(g, &server.config.token))
}

fn route(server: &Arc<Server>, request: Request) -> Response {
    let parts: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let method = request.method.as_str();
    let writes = method == "POST";
    if (writes || server.config.private) && !authorized(server, &request) {
        return Response::error(
            401,
            None,
            "this needs the API token (Authorization: Bearer TOKEN)",
        )
        .with_header("WWW-Authenticate", "Bearer");
    }
    let id = |text: &str| text.parse::<i64>().ok();
    let result = match (method, parts.as_slice()) {
        ("GET", [""]) => dashboard(server, &request),
        ("GET", ["api", "jobs"]) => list_jobs(server),
        ("POST", ["api", "jobs"]) => submit(server, &request),
        ("GET", ["api", "workers"]) => list_workers(server),
        ("GET", ["api", "jobs", n]) => with_id(id(n), |n| job_status(server, n)),
        ("GET", ["api", "jobs", n, "result"]) => with_id(id(n), |n| job_result(server, n)),
        ("GET", ["api", "jobs", n, "log"]) | ("GET", ["jobs", n, "log"]) => {
            with_id(id(n), |n| job_log(server, n))
        }
        ("GET", ["api", "jobs", n, "journal"]) => with_id(id(n), |n| job_journal(server, n)),
        ("GET", ["api", "jobs", n, "tasks"]) => with_id(id(n), |n| job_tasks(server, n)),
        ("POST", ["api", "jobs", n, "cancel"]) => with_id(id(n), |n| cancel(server, n)),
        ("GET", ["jobs", n]) => with_id(id(n), |n| job_page(server, n, &request, false)),
        ("GET", ["jobs", n, "live"]) => with_id(id(n), |n| job_page(server, n, &request, true)),
        ("GET", ["jobs", n, "events"]) => with_id(id(n), |n| events(server, n, &request)),
        ("GET", ["jobs", n, "email"]) => with_id(id(n), |n| job_text(server, n, Text::Mail)),
        ("GET", ["jobs", n, "crash"]) => with_id(id(n), |n| job_text(server, n, Text::Crash)),
        ("GET", ["jobs", n, "config"]) => with_id(id(n), |n| job_text(server, n, Text::Config)),
        (_, _) if matches!(method, "GET" | "POST") => {
            Ok(Response::error(404, None, "no such page"))
        }
        _ => Ok(Response::error(405, None, "only GET and POST")),
    };
    result.unwrap_or_else(|e| Response::error(503, None, &format!("database unavailable: {e}")))
}

fn with_id(
    id: Option<i64>,
    handle: impl FnOnce(i64) -> Result<Response, DbError>,
) -> Result<Response, DbError> {
    match id {
        Some(id) => handle(id),
        None => Ok(Response::error(404, None, "no such job")),
    }
}

fn not_found() -> Response {
    Response::error(404, None, "no such job")
}

fn submit(server: &Server, request: &Request) -> Result<Response, DbError> {
    let Ok(body) = std::str::from_utf8(&request.body) else {
        return Ok(Response::error(400, Some(""), "the body is not UTF-8"));
    };
    let json = request
        .header("content-type")
        .is_some_and(|t| t.contains("json"));
    let spec = match spec::parse(body, json, &server.config.base) {
        Ok(spec) => spec,
        Err(e) => {
            let mut value =
                serde_json::json!({"error": e.to_string(), "field": e.field, "reason": e.reason});
            if e.field.is_empty() {
                value["field"] = serde_json::Value::Null;
            }
            return Ok(Response::json(400, &value));
        }
    };
    let id = server.with_db(|db| queue::submit(db, &spec))?;
    let url = format!("/jobs/{id}");
    Ok(Response::json(
        201,
        &serde_json::json!({"id": id, "url": url, "state": "queued"}),
    )
    .with_header("Location", &url))
}

fn list_jobs(server: &Server) -> Result<Response, DbError> {
    let jobs = server.with_db(|db| queue::jobs(db, 200))?;
    Ok(Response::json(
        200,
        &serde_json::to_value(jobs).unwrap_or_default(),
    ))
}

fn list_workers(server: &Server) -> Result<Response, DbError> {
    let workers = server.with_db(queue::workers)?;
    Ok(Response::json(
        200,
        &serde_json::to_value(workers).unwrap_or_default(),
    ))
}

fn job_status(server: &Server, id: i64) -> Result<Response, DbError> {
    Ok(match server.with_db(|db| queue::job(db, id))? {
        Some(job) => Response::json(200, &serde_json::to_value(job).unwrap_or_default()),
        None => not_found(),
    })
}

fn job_result(server: &Server, id: i64) -> Result<Response, DbError> {
    let (job, result) = server.with_db(|db| Ok((queue::job(db, id)?, queue::result(db, id)?)))?;
    Ok(match (job, result) {
        (None, _) => not_found(),
        (Some(_), Some(result)) => Response::json(200, &result),
        (Some(job), None) => Response::error(
            409,
            None,
            &format!("job {id} is {}: no result yet", job.state),
        ),
    })
}

fn job_log(server: &Server, id: i64) -> Result<Response, DbError> {
    let Some(_) = server.with_db(|db| queue::job(db, id))? else {
        return Ok(not_found());
    };
    let (_, lines) = server.with_db(|db| queue::log_since(db, id, 0))?;
    let text: String = lines.into_iter().map(|(_, l)| l + "\n").collect();
    Ok(Response::text(200, text))
}

fn job_journal(server: &Server, id: i64) -> Result<Response, DbError> {
    let Some(_) = server.with_db(|db| queue::job(db, id))? else {
        return Ok(not_found());
    };
    let records = server.with_db(|db| queue::journal(db, id))?;
    let value: Vec<serde_json::Value> = records
        .into_iter()
        .map(|(token, record)| serde_json::json!({"token": token, "record": record}))
        .collect();
    Ok(Response::json(200, &serde_json::Value::Array(value)))
}

fn job_tasks(server: &Server, id: i64) -> Result<Response, DbError> {
    let Some(_) = server.with_db(|db| queue::job(db, id))? else {
        return Ok(not_found());
    };
    let tasks = server.with_db(|db| queue::tasks(db, id))?;
    Ok(Response::json(200, &serde_json::Value::Array(tasks)))
}

fn cancel(server: &Server, id: i64) -> Result<Response, DbError> {
    Ok(match server.with_db(|db| queue::cancel(db, id))? {
        Some(state) => Response::json(
            202,
            &serde_json::json!({"id": id, "state": state, "cancel_requested": true}),
        ),
        None => not_found(),
    })
}

/// The pieces of a job shown as plain text.
enum Text {
    Mail,
    Crash,
    Config,
}

fn job_text(server: &Server, id: i64, what: Text) -> Result<Response, DbError> {
    let Some(data) = page_data(server, id, "")? else {
        return Ok(not_found());
    };
    let text = match what {
        Text::Mail => data.mail,
        Text::Crash => data
            .outcome
            .and_then(|o| o.crash)
            .map(|c| format!("{}\n\n{}\n", c.title, c.report)),
        Text::Config => {
            let spec = server.with_db(|db| queue::job(db, id))?.map(|j| j.spec);
            kernel_config(spec)
        }
    };
    Ok(match text {
        Some(text) => Response::text(200, text),
        None => Response::error(404, None, "not there (yet)"),
    })
}

fn kernel_config(spec: Option<serde_json::Value>) -> Option<String> {
    let spec: JobSpec = serde_json::from_value(spec?).ok()?;
    let settings = spec.settings().ok()?;
    std::fs::read_to_string(&settings.kernel()?.config).ok()
}

/// Everything the page of job `id` shows; `token_query` is carried by the
/// page's own requests.
fn page_data(server: &Server, id: i64, token_query: &str) -> Result<Option<PageData>, DbError> {
    let Some(job) = server.with_db(|db| queue::job(db, id))? else {
        return Ok(None);
    };
    let (_, lines) = server.with_db(|db| queue::log_since(db, id, 0))?;
    let log_seq = lines.last().map_or(0, |(seq, _)| *seq);
    let log: Vec<String> = lines.into_iter().map(|(_, l)| l).collect();
    let outcome: Option<Outcome> = server
        .with_db(|db| queue::result(db, id))?
        .and_then(|v| serde_json::from_value(v).ok());
    let steps = match &outcome {
        Some(o) => PageData::steps_from_outcome(o),
        None => {
            let records: Vec<Record> = server
                .with_db(|db| queue::journal(db, id))?
                .into_iter()
                .filter_map(|(_, r)| serde_json::from_value(r).ok())
                .collect();
            PageData::steps_from_journal(&records, &log)
        }
    };
    let spec: Option<JobSpec> = serde_json::from_value(job.spec.clone()).ok();
    let settings = spec.as_ref().and_then(|s| s.settings().ok());
    let repo_path = settings.as_ref().map(|s| s.repo.clone());
    let repo = repo_path
        .as_ref()
        .and_then(|p| culprit_git::Repo::open(p).ok());
    let mut facts = vec![("kind".to_owned(), job.kind.clone())];
    if let Some(p) = &repo_path {
        facts.push(("repository".into(), p.display().to_string()));
    }
    if let Some(s) = &settings {
        facts.push(("bad".into(), s.bad.clone()));
        facts.push(("good".into(), s.good.join(" ")));
        if let culprit_exec::settings::Recipe::Shell(shell) = &s.recipe {
            facts.push(("build".into(), shell.build.clone()));
            facts.push(("test".into(), shell.test.clone()));
        }
        facts.push(("strategy".into(), s.strategy.name.clone()));
    }
    facts.push(("worker".into(), job.owner.clone().unwrap_or_default()));
    facts.push(("attempts".into(), job.attempts.to_string()));
    facts.push(("submitted".into(), job.submitted_at.clone()));
    if let Some(t) = &job.finished_at {
        facts.push(("finished".into(), t.clone()));
    }
    let links = MailLinks {
        page: server
            .config
            .public_url
            .as_ref()
            .map(|u| format!("{}/jobs/{id}", u.trim_end_matches('/'))),
        tree: repo_path
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        reported_by: server.config.reported_by.clone(),
        kernel: job.kind == "kernel",
    };
    let data = PageData {
        title: format!("Job {id}: {}", job.title),
        state: job.state.clone(),
        facts,
        log,
        log_seq,
        steps,
        outcome,
        live: Some((id, token_query.to_owned())),
        ..PageData::default()
    };
    Ok(Some(data.with_repo(repo.as_ref(), &links)))
}

fn token_query(server: &Server, request: &Request) -> String {
    match (server.config.private, request.param("token")) {
        (true, Some(t)) => format!("?token={}", url_encode(t)),
        _ => String::new(),
    }
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn job_page(
    server: &Server,
    id: i64,
    request: &Request,
    fragment: bool,
) -> Result<Response, DbError> {
    let token = token_query(server, request);
    Ok(match page_data(server, id, &token)? {
        None => not_found(),
        Some(data) if fragment => Response::html(page::render_live(&data)),
        Some(data) => Response::html(page::render(&data)),
    })
}

/// How long one event stream lasts at most (the browser reconnects).
const STREAM_LIMIT: Duration = Duration::from_secs(3600);

/// Server-sent events: `log` (a line), `reset` (the job resumed on another
/// worker: its log starts again), `update` (new journal records or a new
/// state: fetch the page's live part again), `end`.
fn events(server: &Arc<Server>, id: i64, request: &Request) -> Result<Response, DbError> {
    if server.with_db(|db| queue::job(db, id))?.is_none() {
        return Ok(not_found());
    }
    let mut after: i64 = request
        .param("after")
        .or_else(|| request.header("last-event-id"))
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let server = server.clone();
    let stream: http::Stream = Box::new(move |out| {
        let started = Instant::now();
        let mut token = None;
        let mut seen = (String::new(), -1i64);
        let mut last_ping = Instant::now();
        while started.elapsed() < STREAM_LIMIT {
            let Ok((now_token, lines)) = server.with_db(|db| queue::log_since(db, id, after))
            else {
                std::thread::sleep(Duration::from_millis(500));
                continue;
            };
            if token.is_some_and(|t| t != now_token) && now_token != 0 {
                write_event(out, "reset", None, "")?;
                after = 0;
                token = Some(now_token);
                continue;
            }
            token = Some(now_token);
            for (seq, line) in &lines {
                write_event(out, "log", Some(*seq), line)?;
                after = *seq;
            }
            let state = server
                .with_db(|db| job_progress(db, id))
                .unwrap_or_default();
            if state != seen {
                write_event(out, "update", None, &state.0)?;
                seen = state;
            }
            if !matches!(seen.0.as_str(), "queued" | "running") && lines.is_empty() {
                write_event(out, "end", None, &seen.0)?;
                return Ok(());
            }
            if last_ping.elapsed() > Duration::from_secs(15) {
                out.write_all(b": ping\n\n")?;
                out.flush()?;
                last_ping = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    });
    let mut response = Response::new(200, "text/event-stream", Vec::new());
    response
        .headers
        .push(("Cache-Control".into(), "no-cache".into()));
    response.stream = Some(stream);
    Ok(response)
}

/// A job's state and the number of journal records: when either changes,
/// the page's live part is out of date.
fn job_progress(db: &mut Db, id: i64) -> Result<(String, i64), DbError> {
    db.run(|c| {
        let row = c.query_one(
            "SELECT state, (SELECT count(*) FROM journal WHERE job_id = $1) FROM jobs WHERE id = $1",
            &[&id],
        )?;
        Ok((row.get(0), row.get(1)))
    })
}

fn write_event(
    out: &mut dyn std::io::Write,
    name: &str,
    id: Option<i64>,
    data: &str,
) -> std::io::Result<()> {
    let mut text = format!("event: {name}\n");
    if let Some(id) = id {
        text.push_str(&format!("id: {id}\n"));
    }
    for line in data.split(['\n', '\r']) {
        text.push_str(&format!("data: {line}\n"));
    }
    text.push('\n');
    out.write_all(text.as_bytes())?;
    out.flush()
}

fn dashboard(server: &Server, request: &Request) -> Result<Response, DbError> {
    let (jobs, workers) = server.with_db(|db| Ok((queue::jobs(db, 50)?, queue::workers(db)?)))?;
    let token = token_query(server, request);
    let mut tables = String::new();
    tables.push_str("<h2>Workers</h2>\n<table id=\"workers\"><tr><th>worker</th><th>host</th><th>heard from</th><th>doing</th></tr>\n");
    for w in &workers {
        let doing = if w.stopped {
            "stopped".to_owned()
        } else if w.step.is_empty() {
            "idle".into()
        } else {
            w.step.clone()
        };
        let job_link = w
            .job_id
            .map(|j| format!(" <a href=\"/jobs/{j}{token}\">job {j}</a>"))
            .unwrap_or_default();
        tables.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{:.0}s ago</td><td>{}{}</td></tr>\n",
            esc(&w.id),
            esc(&w.host),
            w.silent_secs,
            esc(&doing),
            job_link
        ));
    }
    tables.push_str("</table>\n<h2>Queue</h2>\n<table id=\"queue\"><tr><th>job</th><th>state</th><th>what</th><th>worker</th><th>attempts</th><th>outcome</th><th>submitted</th></tr>\n");
    for j in &jobs {
        let outcome = match (&j.outcome, &j.culprit) {
            (Some(o), Some(c)) => format!("{o} {}", culprit_render::email::short(c)),
            (Some(o), None) => o.clone(),
            _ => String::new(),
        };
        tables.push_str(&format!(
            "<tr><td><a href=\"/jobs/{id}{token}\">{id}</a></td><td><span class=\"badge {s}\">{s}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&j.title),
            esc(j.owner.as_deref().unwrap_or("")),
            j.attempts,
            esc(&outcome),
            esc(&j.submitted_at),
            id = j.id,
            s = esc(&j.state),
        ));
    }
    tables.push_str("</table>\n");
    if request.param("fragment").is_some() {
        return Ok(Response::html(tables));
    }
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>culprit</title><style>{style}</style></head><body>\n\
<h1>culprit: bisections</h1>\n<div id=\"tables\">{tables}</div>\n\
<h2>Submit a job</h2>\n<p>A job file (TOML) or JSON of the same fields: <code>repo</code>, <code>bad</code>, <code>good</code>, <code>build</code>, <code>test</code>... or a kernel job with <code>[kernel]</code> and <code>[reproducer]</code>.</p>\n\
<textarea id=\"job\" rows=\"10\" cols=\"100\"></textarea><br>\n\
API token: <input id=\"apitoken\" type=\"password\" size=\"30\"> <button id=\"submit\">Submit</button> <span id=\"message\"></span>\n\
<script>\n(function(){{var q={q:?};\n\
setInterval(function(){{fetch('/?fragment=1'+(q?'&'+q.substring(1):'')).then(function(r){{return r.text();}}).then(function(t){{document.getElementById('tables').innerHTML=t;}});}},2000);\n\
document.getElementById('submit').onclick=function(){{\n\
fetch('/api/jobs',{{method:'POST',headers:{{'Authorization':'Bearer '+document.getElementById('apitoken').value}},body:document.getElementById('job').value}})\n\
.then(function(r){{return r.json().then(function(j){{return [r.status,j];}});}}).then(function(a){{\n\
if(a[0]==201){{window.location=a[1].url+q;}}else{{document.getElementById('message').textContent=a[1].error;}}}});}};\n\
}})();\n</script>\n</body></html>\n",
        style = page::STYLE,
        q = token,
    );
    Ok(Response::html(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abd", "abc"));
        assert!(!same_token("ab", "abc"));
        assert!(!same_token("", ""));
    }
}
