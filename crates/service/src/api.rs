//! `culprit serve`: the server started, its routes (the pages' are
//! [`crate::pages`]'), the handlers of the HTTP API (submit, list, status,
//! result, log, journal, tasks, cancel, workers, metrics), and the
//! server's own housekeeping (workers gone, old jobs deleted). Everything
//! is read from the database the workers write.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use crate::db::{Db, DbError};
use crate::events::Hub;
use crate::http;
use crate::pool::Pool;
use crate::queue::{self, JobFilter};
pub use crate::web::ServeConfig;
use crate::web::{authorize, error, job_id, json, not_found, text, Answer, App, Unavailable};
use crate::{housekeeping, metrics, pages, spec};

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

/// A bound server, ready to serve.
pub struct Bound {
    listener: TcpListener,
    app: Arc<App>,
}

impl Bound {
    /// The address it listens on.
    pub fn addr(&self) -> Option<std::net::SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `stop` is set.
    pub fn serve(self, stop: Arc<AtomicBool>) {
        http::raise_open_files();
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("culprit-http")
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the HTTP server's threads");
                return;
            }
        };
        housekeeping::start(self.app.pool.clone(), self.app.config.keep, stop.clone());
        let limits = self.app.config.limits;
        // The database connections are closed outside the runtime: the
        // synchronous client refuses to block inside one.
        let app = self.app.clone();
        let router = router(self.app);
        runtime.block_on(async move {
            let _ = self.listener.set_nonblocking(true);
            let listener = match tokio::net::TcpListener::from_std(self.listener) {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen");
                    return;
                }
            };
            http::serve(listener, router, limits, until(stop)).await;
        });
        runtime.shutdown_timeout(Duration::from_secs(1));
        drop(app);
    }
}

/// Completes once `stop` is set.
async fn until(stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(100)).await;
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
    let hub = Hub::start(first.another()?);
    Ok(Bound {
        listener,
        app: Arc::new(App {
            config,
            pool: Pool::new(first),
            hub,
        }),
    })
}

fn router(app: Arc<App>) -> Router {
    let body_timeout = app.config.limits.body_timeout;
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/assets/{file}", get(pages::asset))
        .route("/metrics", get(metrics_page))
        .route("/api/jobs", get(list_jobs).post(submit))
        .route("/api/workers", get(list_workers))
        .route("/api/jobs/{id}", get(job_status))
        .route("/api/jobs/{id}/result", get(job_result))
        .route("/api/jobs/{id}/log", get(job_log))
        .route("/api/jobs/{id}/journal", get(job_journal))
        .route("/api/jobs/{id}/tasks", get(job_tasks))
        .route("/api/jobs/{id}/cancel", post(cancel))
        .route("/jobs/{id}", get(pages::job_page))
        .route("/jobs/{id}/live", get(pages::job_live))
        .route("/jobs/{id}/events", get(pages::events))
        .route("/jobs/{id}/log", get(job_log))
        .route("/jobs/{id}/email", get(pages::mail))
        .route("/jobs/{id}/crash", get(pages::crash))
        .route("/jobs/{id}/config", get(pages::config))
        .route("/jobs/{id}/cancel", post(pages::cancel_form))
        .fallback(|| async { error(StatusCode::NOT_FOUND, None, "no such page") })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, None, "only GET and POST")
        })
        .layer(middleware::from_fn_with_state(app.clone(), authorize))
        .layer(DefaultBodyLimit::max(http::MAX_BODY))
        .layer(tower_http::timeout::RequestBodyDeadlineLayer::new(
            body_timeout,
        ))
        .with_state(app)
}

async fn submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Answer {
    let Ok(body) = String::from_utf8(body.to_vec()) else {
        return Ok(error(
            StatusCode::BAD_REQUEST,
            Some(""),
            "the body is not UTF-8",
        ));
    };
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    let base = app.config.base.clone();
    // Checking a job reads its repository: off the async threads.
    let stored = app
        .pool
        .run(move |db| match spec::parse(&body, json_body, &base) {
            Ok(spec) => Ok(Ok(queue::submit(db, &spec)?)),
            Err(e) => Ok(Err(e)),
        })
        .await?;
    let id = match stored {
        Ok(id) => id,
        Err(e) => {
            let mut value =
                serde_json::json!({"error": e.to_string(), "field": e.field, "reason": e.reason});
            if e.field.is_empty() {
                value["field"] = serde_json::Value::Null;
            }
            return Ok(json(StatusCode::BAD_REQUEST, &value));
        }
    };
    tracing::info!(job = id, "job submitted");
    let url = format!("/jobs/{id}");
    let mut response = json(
        StatusCode::CREATED,
        &serde_json::json!({"id": id, "url": url, "state": "queued"}),
    );
    if let Ok(location) = url.parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn list_jobs(State(app): State<Arc<App>>, Query(filter): Query<JobFilter>) -> Answer {
    let jobs = app.pool.run(move |db| queue::jobs(db, &filter)).await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::to_value(jobs).unwrap_or_default(),
    ))
}

async fn list_workers(State(app): State<Arc<App>>) -> Answer {
    let workers = app.pool.run(queue::workers).await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::to_value(workers).unwrap_or_default(),
    ))
}

async fn metrics_page(State(app): State<Arc<App>>) -> Answer {
    let snapshot = app.pool.run(metrics::snapshot).await?;
    Ok((
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics::render(snapshot),
    )
        .into_response())
}

async fn job_status(State(app): State<Arc<App>>, Path(id): Path<String>) -> Answer {
    let Some(id) = job_id(&id) else {
        return Ok(not_found());
    };
    Ok(match app.pool.run(move |db| queue::job(db, id)).await? {
        Some(job) => json(
            StatusCode::OK,
            &serde_json::to_value(job).unwrap_or_default(),
        ),
        None => not_found(),
    })
}

async fn job_result(State(app): State<Arc<App>>, Path(id): Path<String>) -> Answer {
    let Some(id) = job_id(&id) else {
        return Ok(not_found());
    };
    let read = app
        .pool
        .run(move |db| Ok((queue::job(db, id)?, queue::result(db, id)?)))
        .await?;
    Ok(match read {
        (None, _) => not_found(),
        (Some(_), Some(result)) => json(StatusCode::OK, &result),
        (Some(job), None) => error(
            StatusCode::CONFLICT,
            None,
            &format!("job {id} is {}: no result yet", job.state),
        ),
    })
}

/// Reads `what` of job `id` (a number in the path), or `None` when there
/// is no such job.
async fn of_job<T, F>(app: &Arc<App>, id: &str, what: F) -> Result<Option<T>, Unavailable>
where
    T: Send + 'static,
    F: FnOnce(&mut Db, i64) -> Result<T, DbError> + Send + 'static,
{
    let Some(id) = job_id(id) else {
        return Ok(None);
    };
    let read = app
        .pool
        .run(move |db| match queue::job(db, id)? {
            Some(_) => Ok(Some(what(db, id)?)),
            None => Ok(None),
        })
        .await?;
    Ok(read)
}

async fn job_log(State(app): State<Arc<App>>, Path(id): Path<String>) -> Answer {
    let read = of_job(&app, &id, |db, id| queue::log_since(db, id, 0)).await?;
    let Some((_, lines)) = read else {
        return Ok(not_found());
    };
    let lines: String = lines.into_iter().map(|(_, l)| l + "\n").collect();
    Ok(text(StatusCode::OK, lines))
}

async fn job_journal(State(app): State<Arc<App>>, Path(id): Path<String>) -> Answer {
    let Some(records) = of_job(&app, &id, queue::journal).await? else {
        return Ok(not_found());
    };
    let value: Vec<serde_json::Value> = records
        .into_iter()
        .map(|(token, record)| serde_json::json!({"token": token, "record": record}))
        .collect();
    Ok(json(StatusCode::OK, &serde_json::Value::Array(value)))
}

async fn job_tasks(State(app): State<Arc<App>>, Path(id): Path<String>) -> Answer {
    let Some(tasks) = of_job(&app, &id, queue::tasks).await? else {
        return Ok(not_found());
    };
    Ok(json(StatusCode::OK, &serde_json::Value::Array(tasks)))
}

async fn cancel(State(app): State<Arc<App>>, Path(id): Path<String>) -> Answer {
    let Some(id) = job_id(&id) else {
        return Ok(not_found());
    };
    Ok(match app.pool.run(move |db| queue::cancel(db, id)).await? {
        Some(state) => {
            tracing::info!(job = id, state = %state, "cancel asked for");
            json(
                StatusCode::ACCEPTED,
                &serde_json::json!({"id": id, "state": state, "cancel_requested": true}),
            )
        }
        None => not_found(),
    })
}
