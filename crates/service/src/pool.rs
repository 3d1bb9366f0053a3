//! Database connections for the HTTP server's handlers. The queries are
//! synchronous (the `postgres` client, shared with the workers): each runs
//! on tokio's blocking threads, at most [`CONCURRENT`] at once, on a
//! connection kept for the next.

use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::db::{Db, DbError};

/// Queries running at once; more wait for a turn.
const CONCURRENT: usize = 16;

/// The server's connections.
pub struct Pool {
    /// Where new connections come from.
    first: Mutex<Db>,
    idle: Mutex<Vec<Db>>,
    turns: Semaphore,
}

impl Pool {
    /// A pool making its connections like `first`.
    pub fn new(first: Db) -> Arc<Pool> {
        Arc::new(Pool {
            first: Mutex::new(first),
            idle: Mutex::new(Vec::new()),
            turns: Semaphore::new(CONCURRENT),
        })
    }

    /// Runs `work` on a connection, off the async threads.
    pub async fn run<T, F>(self: &Arc<Self>, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db) -> Result<T, DbError> + Send + 'static,
    {
        let Ok(_turn) = self.turns.acquire().await else {
            return Err(DbError::Internal("the server is stopping".into()));
        };
        let pool = self.clone();
        let done = tokio::task::spawn_blocking(move || pool.run_here(work)).await;
        done.unwrap_or_else(|e| Err(DbError::Internal(format!("a query's thread failed: {e}"))))
    }

    /// Runs `work` on a connection, on this thread.
    pub fn run_here<T>(
        &self,
        work: impl FnOnce(&mut Db) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut db = match idle {
            Some(db) => db,
            None => match self.first.lock() {
                Ok(first) => first.another()?,
                Err(poisoned) => poisoned.into_inner().another()?,
            },
        };
        let result = work(&mut db);
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < CONCURRENT {
                idle.push(db);
            }
        }
        result
    }
}
