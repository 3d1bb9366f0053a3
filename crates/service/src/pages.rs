//! The routes of the pages: the dashboard (the queue and the workers),
//! each bisection's page (whole, its live part, its events), its mail,
//! crash report and kernel config as text, and the cancel form. The
//! markup is the renderers' ([`crate::dashboard`], [`crate::page`]).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;

use culprit_bisect::journal::Record;
use culprit_bisect::Outcome;

use crate::dashboard::{self, Dashboard};
use crate::db::{Db, DbError};
use crate::events;
use crate::queue::{self, JobFilter};
use crate::spec::JobSpec;
use crate::web::{error, job_id, not_found, same_token, text, Answer, App, ServeConfig};
use culprit_render::email::MailLinks;
use culprit_render::page::{self, PageData};

/// The query of the pages: the token (private mode), the queue's filter,
/// where a page's events start.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct PageQuery {
    token: Option<String>,
    fragment: Option<String>,
    after: Option<i64>,
    state: Option<String>,
    kind: Option<String>,
    q: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

impl PageQuery {
    fn filter(&self) -> JobFilter {
        JobFilter {
            state: self.state.clone(),
            kind: self.kind.clone(),
            text: self.q.clone(),
            before: self.before,
            limit: self.limit,
        }
    }
}

/// `?token=TOKEN` for the links of a private server's pages.
fn token_query(config: &ServeConfig, query: &PageQuery) -> String {
    match (config.private, &query.token) {
        (true, Some(t)) => format!("?token={}", dashboard::url_encode(t)),
        _ => String::new(),
    }
}

pub(crate) async fn dashboard(
    State(app): State<Arc<App>>,
    Query(query): Query<PageQuery>,
) -> Answer {
    let token = token_query(&app.config, &query);
    let filter = query.filter();
    let shown = filter.clone();
    let (jobs, counts, workers) = app
        .pool
        .run(move |db| {
            Ok((
                queue::jobs(db, &filter)?,
                queue::counts(db)?,
                queue::workers(db)?,
            ))
        })
        .await?;
    let view = Dashboard {
        jobs: &jobs,
        counts: &counts,
        workers: &workers,
        filter: &shown,
        token: &token,
    };
    Ok(match query.fragment {
        Some(_) => Html(view.tables()).into_response(),
        None => Html(view.page()).into_response(),
    })
}

pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    match dashboard::asset(&file) {
        Some((content_type, body)) => {
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        None => error(StatusCode::NOT_FOUND, None, "no such page"),
    }
}

/// Everything the page of job `id` shows; `token_query` is carried by the
/// page's own requests.
fn page_data(
    db: &mut Db,
    config: &ServeConfig,
    id: i64,
    token_query: &str,
) -> Result<Option<PageData>, DbError> {
    let Some(job) = queue::job(db, id)? else {
        return Ok(None);
    };
    let (_, lines) = queue::log_since(db, id, 0)?;
    let log_seq = lines.last().map_or(0, |(seq, _)| *seq);
    let log: Vec<String> = lines.into_iter().map(|(_, l)| l).collect();
    let outcome: Option<Outcome> =
        queue::result(db, id)?.and_then(|v| serde_json::from_value(v).ok());
    let steps = match &outcome {
        Some(o) => PageData::steps_from_outcome(o),
        None => {
            let records: Vec<Record> = queue::journal(db, id)?
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
        page: config
            .public_url
            .as_ref()
            .map(|u| format!("{}/jobs/{id}", u.trim_end_matches('/'))),
        tree: repo_path
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        reported_by: config.reported_by.clone(),
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

/// The page's data, read off the async threads (it reads the repository).
async fn read_page(app: &Arc<App>, id: i64, token: String) -> Result<Option<PageData>, DbError> {
    let config = app.config.clone();
    app.pool
        .run(move |db| page_data(db, &config, id, &token))
        .await
}

pub(crate) async fn job_page(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Answer {
    render_job(app, id, query, page::render).await
}

/// The parts of a job's page that change, for the page to fetch again.
pub(crate) async fn job_live(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Answer {
    render_job(app, id, query, page::render_live).await
}

async fn render_job(
    app: Arc<App>,
    id: String,
    query: PageQuery,
    render: fn(&PageData) -> String,
) -> Answer {
    let Some(id) = job_id(&id) else {
        return Ok(not_found());
    };
    let token = token_query(&app.config, &query);
    Ok(match read_page(&app, id, token).await? {
        Some(data) => Html(render(&data)).into_response(),
        None => not_found(),
    })
}

/// Server-sent events of a job's page (see [`crate::events`]).
pub(crate) async fn events(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Query(query): Query<PageQuery>,
) -> Answer {
    let Some(id) = job_id(&id) else {
        return Ok(not_found());
    };
    if app.pool.run(move |db| queue::job(db, id)).await?.is_none() {
        return Ok(not_found());
    }
    let last_seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let after = query.after.or(last_seen).unwrap_or(0);
    let stream = events::stream(app.hub.clone(), app.pool.clone(), id, after);
    let sse =
        Sse::new(stream).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)));
    Ok(sse.into_response())
}

/// The pieces of a job shown as plain text.
enum Text {
    Mail,
    Crash,
    Config,
}

async fn job_text(app: Arc<App>, id: String, what: Text) -> Answer {
    let Some(id) = job_id(&id) else {
        return Ok(not_found());
    };
    let Some(data) = read_page(&app, id, String::new()).await? else {
        return Ok(not_found());
    };
    let shown = match what {
        Text::Mail => data.mail,
        Text::Crash => data
            .outcome
            .and_then(|o| o.crash)
            .map(|c| format!("{}\n\n{}\n", c.title, c.report)),
        Text::Config => {
            let spec = app
                .pool
                .run(move |db| queue::job(db, id))
                .await?
                .map(|j| j.spec);
            kernel_config(spec)
        }
    };
    Ok(match shown {
        Some(body) => text(StatusCode::OK, body),
        None => error(StatusCode::NOT_FOUND, None, "not there (yet)"),
    })
}

pub(crate) async fn mail(State(app): State<Arc<App>>, Path(id): Path<String>) -> Answer {
    job_text(app, id, Text::Mail).await
}

pub(crate) async fn crash(State(app): State<Arc<App>>, Path(id): Path<String>) -> Answer {
    job_text(app, id, Text::Crash).await
}

pub(crate) async fn config(State(app): State<Arc<App>>, Path(id): Path<String>) -> Answer {
    job_text(app, id, Text::Config).await
}

fn kernel_config(spec: Option<serde_json::Value>) -> Option<String> {
    let spec: JobSpec = serde_json::from_value(spec?).ok()?;
    let settings = spec.settings().ok()?;
    std::fs::read_to_string(&settings.kernel()?.config).ok()
}

/// The cancel form of a job's page: the token in the form's body.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct CancelForm {
    token: String,
}

/// Cancels a job from its page's form (the token in the body, so that no
/// script is needed), then shows the page again.
pub(crate) async fn cancel_form(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(form): Form<CancelForm>,
) -> Answer {
    let Some(id) = job_id(&id) else {
        return Ok(not_found());
    };
    if !same_token(form.token.trim(), &app.config.token) {
        return Ok(error(StatusCode::UNAUTHORIZED, None, "wrong API token"));
    }
    if app
        .pool
        .run(move |db| queue::cancel(db, id))
        .await?
        .is_none()
    {
        return Ok(not_found());
    }
    tracing::info!(job = id, "cancel asked for (from the page)");
    let page = match app.config.private {
        true => format!(
            "/jobs/{id}?token={}",
            dashboard::url_encode(form.token.trim())
        ),
        false => format!("/jobs/{id}"),
    };
    Ok(Redirect::to(&page).into_response())
}
