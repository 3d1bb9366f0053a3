//! A job's live events for its page (server-sent events): `log` (a line),
//! `reset` (the job resumed on another worker: its log starts again),
//! `update` (new journal records or a new state: fetch the page's live
//! part again), `end`. One thread looks at the database for all the jobs
//! being watched, a few times a second, and broadcasts what changed:
//! however many pages are open, the database sees one reader. Each page's
//! stream first catches up on its own (from the line it last saw), then
//! follows the broadcast.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::sse::Event;
use futures_util::Stream;
use tokio::sync::broadcast;

use crate::db::{Db, DbError};
use crate::pool::Pool;
use crate::queue;

/// How often the database is looked at.
const EVERY: Duration = Duration::from_millis(200);
/// How long one stream lasts at most (the browser reconnects).
const STREAM_LIMIT: Duration = Duration::from_secs(3600);
/// Updates a slow page may fall behind by before it catches up again.
const BACKLOG: usize = 256;

/// What changed in a job.
#[derive(Debug, Clone)]
enum Update {
    /// New log lines: sequence number and text.
    Lines(Vec<(i64, String)>),
    /// The job's log starts again (another attempt).
    Reset,
    /// The state, when it or the journal changed.
    Progress(String),
}

/// One watched job.
struct Channel {
    tx: broadcast::Sender<Arc<Update>>,
    /// The last line broadcast and the attempt (log token) it belongs to;
    /// `None` until a page has caught up.
    lines: Option<(i64, i64)>,
    /// The state and the last journal record, as last broadcast.
    progress: Option<(String, i64)>,
}

/// The jobs being watched, and the thread that watches them.
pub struct Hub {
    channels: Mutex<HashMap<i64, Channel>>,
}

impl Hub {
    /// A hub whose thread reads with `db`.
    pub fn start(db: Db) -> Arc<Hub> {
        let hub = Arc::new(Hub {
            channels: Mutex::new(HashMap::new()),
        });
        let watched = Arc::downgrade(&hub);
        std::thread::spawn(move || {
            let mut db = db;
            while let Some(hub) = watched.upgrade() {
                if let Err(e) = hub.look(&mut db) {
                    tracing::warn!(error = %e, "live pages: cannot read the jobs");
                }
                drop(hub);
                std::thread::sleep(EVERY);
            }
        });
        hub
    }

    fn subscribe(&self, job: i64) -> Option<broadcast::Receiver<Arc<Update>>> {
        let mut channels = self.channels.lock().ok()?;
        let channel = channels.entry(job).or_insert_with(|| Channel {
            tx: broadcast::channel(BACKLOG).0,
            lines: None,
            progress: None,
        });
        Some(channel.tx.subscribe())
    }

    /// A page caught up to line `seq` of attempt `token`: the broadcast
    /// starts there unless it started already (it is then earlier, since
    /// the page subscribed before it caught up).
    fn caught_up(&self, job: i64, token: i64, seq: i64) {
        if let Ok(mut channels) = self.channels.lock() {
            if let Some(channel) = channels.get_mut(&job) {
                channel.lines.get_or_insert((seq, token));
            }
        }
    }

    /// One look at every watched job.
    fn look(&self, db: &mut Db) -> Result<(), DbError> {
        let watched: Vec<(i64, Option<(i64, i64)>)> = match self.channels.lock() {
            Ok(mut channels) => {
                channels.retain(|_, c| c.tx.receiver_count() > 0);
                channels.iter().map(|(id, c)| (*id, c.lines)).collect()
            }
            Err(_) => return Ok(()),
        };
        if watched.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = watched.iter().map(|(id, _)| *id).collect();
        let progress = db.run(|c| {
            c.query(
                "SELECT j.id, j.state,
                        coalesce((SELECT max(seq) FROM journal WHERE job_id = j.id), 0),
                        (SELECT max(token) FROM log_lines WHERE job_id = j.id)
                 FROM jobs j WHERE j.id = ANY($1)",
                &[&ids],
            )
        })?;
        let mut states: HashMap<i64, (String, i64, Option<i64>)> = progress
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
            .collect();
        for (job, lines) in watched {
            let (state, marker, token) = states
                .remove(&job)
                .unwrap_or_else(|| ("deleted".into(), 0, None));
            let mut updates = Vec::new();
            let mut lines = lines;
            if let (Some((seq, was)), Some(now)) = (lines, token) {
                // Token 0: no line was written yet, nothing to start again.
                if was != now && was != 0 {
                    updates.push(Update::Reset);
                    lines = Some((0, now));
                } else if was != now {
                    lines = Some((seq, now));
                }
            }
            if let Some((after, token)) = lines {
                let (_, new) = queue::log_of_attempt(db, job, token, after)?;
                if let Some((seq, _)) = new.last() {
                    lines = Some((*seq, token));
                }
                if !new.is_empty() {
                    updates.push(Update::Lines(new));
                }
            }
            self.publish(job, lines, (state, marker), updates);
        }
        Ok(())
    }

    fn publish(
        &self,
        job: i64,
        lines: Option<(i64, i64)>,
        progress: (String, i64),
        mut updates: Vec<Update>,
    ) {
        let Ok(mut channels) = self.channels.lock() else {
            return;
        };
        let Some(channel) = channels.get_mut(&job) else {
            return;
        };
        // Without lines read, a page that caught up meanwhile set where
        // they start.
        if lines.is_some() {
            channel.lines = lines;
        }
        if channel.progress.as_ref() != Some(&progress) {
            updates.push(Update::Progress(progress.0.clone()));
            channel.progress = Some(progress);
        }
        for update in updates {
            let _ = channel.tx.send(Arc::new(update));
        }
    }
}

/// A page's stream of events for job `id`, from log line `after` on.
pub fn stream(
    hub: Arc<Hub>,
    pool: Arc<Pool>,
    id: i64,
    after: i64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let follower = Follower {
        hub,
        pool,
        id,
        after,
        token: None,
        rx: None,
        pending: VecDeque::new(),
        started: Instant::now(),
        ended: false,
    };
    futures_util::stream::unfold(follower, |mut f| async move {
        let event = f.next().await?;
        Some((Ok(event), f))
    })
}

/// One page's place in a job's events.
struct Follower {
    hub: Arc<Hub>,
    pool: Arc<Pool>,
    id: i64,
    /// The last line sent.
    after: i64,
    /// The attempt whose log is sent.
    token: Option<i64>,
    rx: Option<broadcast::Receiver<Arc<Update>>>,
    pending: VecDeque<Event>,
    started: Instant,
    ended: bool,
}

impl Follower {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.ended || self.started.elapsed() > STREAM_LIMIT {
                return None;
            }
            match self.rx.as_mut() {
                None => {
                    self.rx = Some(self.hub.subscribe(self.id)?);
                    self.catch_up().await;
                }
                Some(rx) => match rx.recv().await {
                    Ok(update) => self.take(&update),
                    Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up().await,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    }

    /// Reads what the page has not seen from the database.
    async fn catch_up(&mut self) {
        let (id, after) = (self.id, self.after);
        let read = self
            .pool
            .run(move |db| Ok((queue::log_since(db, id, after)?, queue::job(db, id)?)))
            .await;
        let Ok(((token, lines), job)) = read else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            return;
        };
        if self.token.is_some_and(|t| t != token && t != 0) && token != 0 {
            self.pending
                .push_back(Event::default().event("reset").data(""));
        }
        self.token = Some(token);
        self.send_lines(&lines);
        self.hub.caught_up(id, token, self.after);
        let state = job.map_or_else(|| "deleted".to_owned(), |j| j.state);
        self.progress(&state);
    }

    fn take(&mut self, update: &Update) {
        match update {
            Update::Lines(lines) => self.send_lines(lines),
            Update::Reset => {
                self.pending
                    .push_back(Event::default().event("reset").data(""));
                self.after = 0;
            }
            Update::Progress(state) => self.progress(state),
        }
    }

    fn send_lines(&mut self, lines: &[(i64, String)]) {
        let after = self.after;
        for (seq, line) in lines.iter().filter(|(seq, _)| *seq > after) {
            let mut event = Event::default().event("log").id(seq.to_string());
            // One `data:` field per line: a line never holds a break.
            event = event.data(line.replace(['\r', '\n'], " "));
            self.pending.push_back(event);
            self.after = *seq;
        }
    }

    fn progress(&mut self, state: &str) {
        self.pending
            .push_back(Event::default().event("update").data(state));
        if !matches!(state, "queued" | "running") {
            self.pending
                .push_back(Event::default().event("end").data(state));
            self.ended = true;
        }
    }
}
