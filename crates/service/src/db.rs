//! The connection to PostgreSQL: connects, reconnects after the server
//! restarts, and applies the schema (SQL files embedded in the binary).

use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, NoTls};

/// The migrations, in order; each runs once, recorded in
/// `culprit_migrations`.
const MIGRATIONS: &[(&str, &str)] = &[
    ("001_queue", include_str!("../migrations/001_queue.sql")),
    (
        "002_operations",
        include_str!("../migrations/002_operations.sql"),
    ),
    (
        "003_rate_prior",
        include_str!("../migrations/003_rate_prior.sql"),
    ),
];

/// A database that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The server could not be reached within the patience given.
    #[error("cannot reach the database at {url}: {source}")]
    Unreachable {
        /// The URL, without its password.
        url: String,
        /// The last error.
        source: postgres::Error,
    },
    /// The server answered with an error.
    #[error("database: {0}")]
    Query(#[from] postgres::Error),
    /// Something else went wrong around the query.
    #[error("internal error: {0}")]
    Internal(String),
    /// The URL cannot be parsed.
    #[error("database URL {url}: {source}")]
    Url {
        /// The URL, without its password.
        url: String,
        /// Why.
        source: postgres::Error,
    },
}

/// One connection to the service's database, made again when the server
/// went away.
pub struct Db {
    config: postgres::Config,
    url: String,
    client: Option<Client>,
    /// How long to keep trying to reconnect before giving up.
    patience: Duration,
}

impl Db {
    /// Connects to `url` (`postgres://user@host:port/db`), trying again for
    /// up to `patience` while the server is not reachable.
    pub fn connect(url: &str, patience: Duration) -> Result<Db, DbError> {
        let shown = without_password(url);
        let config: postgres::Config = url.parse().map_err(|source| DbError::Url {
            url: shown.clone(),
            source,
        })?;
        let mut db = Db {
            config,
            url: shown,
            client: None,
            patience,
        };
        db.client()?;
        Ok(db)
    }

    /// Another connection to the same database.
    pub fn another(&self) -> Result<Db, DbError> {
        let mut db = Db {
            config: self.config.clone(),
            url: self.url.clone(),
            client: None,
            patience: self.patience,
        };
        db.client()?;
        Ok(db)
    }

    /// The database's URL (without a password), for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The connection, made again if it was lost.
    fn client(&mut self) -> Result<&mut Client, DbError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        if self.client.is_none() {
            self.client = Some(self.reconnect()?);
        }
        match self.client.as_mut() {
            Some(client) => Ok(client),
            None => unreachable!("set above"),
        }
    }

    fn reconnect(&self) -> Result<Client, DbError> {
        let start = Instant::now();
        let deadline = start + self.patience;
        let mut pause = Duration::from_millis(50);
        let mut failures = 0;
        loop {
            match self.config.connect(NoTls) {
                Ok(client) => {
                    if failures > 0 {
                        tracing::info!(
                            db = %self.url,
                            secs = start.elapsed().as_secs_f64(),
                            "database reachable again"
                        );
                    }
                    return Ok(client);
                }
                Err(e) if Instant::now() < deadline && is_connection_error(&e) => {
                    if failures == 0 {
                        tracing::warn!(db = %self.url, error = %e, "database unreachable; retrying");
                    }
                    failures += 1;
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(source) => {
                    tracing::error!(db = %self.url, error = %source, "database unreachable; giving up");
                    return Err(DbError::Unreachable {
                        url: self.url.clone(),
                        source,
                    });
                }
            }
        }
    }

    /// Runs `work` on the connection. When the connection was lost (the
    /// server restarted), connects again and runs `work` again: `work`
    /// must be safe to repeat (one transaction, or idempotent statements).
    pub fn run<T>(
        &mut self,
        mut work: impl FnMut(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, DbError> {
        let deadline = Instant::now() + self.patience;
        loop {
            let client = self.client()?;
            match work(client) {
                Ok(value) => return Ok(value),
                Err(e) if is_connection_error(&e) && Instant::now() < deadline => {
                    tracing::warn!(db = %self.url, error = %e, "database call failed; reconnecting and trying again");
                    self.client = None;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => {
                    if is_connection_error(&e) {
                        self.client = None;
                    }
                    return Err(e.into());
                }
            }
        }
    }

    /// Applies the migrations not applied yet, one server-wide lock held so
    /// that workers starting together do not race.
    pub fn migrate(&mut self) -> Result<(), DbError> {
        self.run(|client| {
            let mut tx = client.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock(7411)", &[])?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS culprit_migrations (
                     name TEXT PRIMARY KEY,
                     applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )?;
            for (name, sql) in MIGRATIONS {
                let done =
                    tx.query_opt("SELECT 1 FROM culprit_migrations WHERE name = $1", &[name])?;
                if done.is_none() {
                    tx.batch_execute(sql)?;
                    tx.execute("INSERT INTO culprit_migrations (name) VALUES ($1)", &[name])?;
                }
            }
            tx.commit()
        })
    }
}

/// Whether `e` means the connection is gone (the server restarted or is
/// starting), as opposed to an error in the statement.
pub fn is_connection_error(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        // Errors the client made itself: only those of the connection count.
        None => {
            let text = e.to_string();
            text.starts_with("error communicating with the server")
                || text.starts_with("error connecting to server")
                || text.starts_with("connection closed")
        }
        Some(code) => [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::CONNECTION_FAILURE,
            SqlState::CONNECTION_EXCEPTION,
            SqlState::CONNECTION_DOES_NOT_EXIST,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
        ]
        .contains(code),
    }
}

/// `url` with any password replaced by `***`.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            without_password("postgres://me:secret@db:5432/x"),
            "postgres://me:***@db:5432/x"
        );
        assert_eq!(without_password("postgres://me@db/x"), "postgres://me@db/x");
        assert_eq!(without_password("host=db"), "host=db");
    }
}
