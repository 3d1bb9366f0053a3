//! What the server's handlers share: its settings and state, their
//! answers (JSON, errors, a `503` when the database cannot be used), a
//! job's number from the path, and the token that writing (and, with
//! `--private`, reading) needs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::db::DbError;
use crate::events::Hub;
use crate::http::Limits;
use crate::pool::Pool;

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
    /// What one client may hold of the server.
    pub limits: Limits,
    /// Finished jobs are deleted this long after they end; `None`: kept.
    pub keep: Option<Duration>,
}

impl ServeConfig {
    /// The settings `culprit serve` starts from: listening on
    /// 127.0.0.1:8080, jobs kept 30 days.
    pub fn new(db_url: &str, token: &str, base: PathBuf) -> ServeConfig {
        ServeConfig {
            db_url: db_url.to_owned(),
            listen: "127.0.0.1:8080".into(),
            token: token.to_owned(),
            private: false,
            base,
            public_url: None,
            reported_by: "culprit <culprit@localhost>".into(),
            limits: Limits::default(),
            keep: Some(Duration::from_secs(30 * 86400)),
        }
    }
}

/// What every handler shares.
pub(crate) struct App {
    pub config: ServeConfig,
    pub pool: Arc<Pool>,
    pub hub: Arc<Hub>,
}

/// A handler's answer; a database that cannot be used is a `503`.
pub(crate) type Answer = Result<Response, Unavailable>;

/// The database could not be used.
pub(crate) struct Unavailable(DbError);

impl From<DbError> for Unavailable {
    fn from(e: DbError) -> Self {
        Unavailable(e)
    }
}

impl IntoResponse for Unavailable {
    fn into_response(self) -> Response {
        tracing::warn!(error = %self.0, "a request failed on the database");
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            &format!("database unavailable: {}", self.0),
        )
    }
}

/// JSON, pretty, with a final newline.
pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// An error as JSON: `{"error": message}` plus `field` when given.
pub(crate) fn error(status: StatusCode, field: Option<&str>, message: &str) -> Response {
    let mut value = serde_json::json!({ "error": message });
    if let Some(field) = field {
        value["field"] = field.into();
    }
    json(status, &value)
}

pub(crate) fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, None, "no such job")
}

/// A job's number from the path; `None` for anything else (a `404`).
pub(crate) fn job_id(text: &str) -> Option<i64> {
    text.parse().ok()
}

/// Whether `given` is the token (compared in constant time).
pub(crate) fn same_token(given: &str, token: &str) -> bool {
    let (a, b) = (given.as_bytes(), token.as_bytes());
    if a.len() != b.len() || b.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token a request carries: `Authorization: Bearer TOKEN` or
/// `?token=TOKEN`.
pub(crate) fn given_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    bearer.or_else(|| {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
        pairs
            .into_iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v)
    })
}

/// Writing needs the token; with `--private`, reading too. The page's
/// cancel form carries the token in its body (its handler checks it);
/// the dashboard's script and style are no secret.
pub(crate) async fn authorize(
    State(app): State<Arc<App>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let writes = request.method() == axum::http::Method::POST;
    let exempt = path.starts_with("/assets/")
        || (writes && path.starts_with("/jobs/") && path.ends_with("/cancel"));
    if (writes || app.config.private) && !exempt {
        let given = given_token(request.headers(), request.uri().query());
        if !given.is_some_and(|g| same_token(&g, &app.config.token)) {
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                None,
                "this needs the API token (Authorization: Bearer TOKEN)",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                "Bearer".parse().expect("a header value"),
            );
            return response;
        }
    }
    next.run(request).await
}

/// Plain text.
pub(crate) fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
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

    #[test]
    fn the_token_comes_from_the_header_or_the_query() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            given_token(&headers, Some("a=1&token=x%20y")),
            Some("x y".into())
        );
        assert_eq!(given_token(&headers, Some("a=1")), None);
        headers.insert(
            header::AUTHORIZATION,
            "Bearer  secret ".parse().expect("value"),
        );
        assert_eq!(
            given_token(&headers, Some("token=other")),
            Some("secret".into())
        );
    }
}
