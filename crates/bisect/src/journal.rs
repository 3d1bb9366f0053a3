//! The journal: an append-only record of one bisection, one record per
//! finished build and per finished run, made durable as each one ends
//! (runs made at once may end out of order). On one machine it is a
//! JSON-lines file in the work directory ([`FileStore`]); the service keeps
//! it in its database through the same [`JournalStore`] seam. Re-running the same bisection replays it instead
//! of building and running again; a torn last line (kill -9 mid-write) is
//! ignored.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::exec::{Built, RunOutcome};

/// A journal that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing the file failed.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// Another culprit process is using the work directory.
    #[error("work directory {} is in use by another culprit process", dir.display())]
    Busy {
        /// The work directory.
        dir: PathBuf,
    },
    /// A store other than a file failed (a database, say).
    #[error("journal: {0}")]
    Store(String),
    /// The work directory holds another bisection.
    #[error(
        "work directory {dir} holds another bisection ({theirs}); use another --workdir or remove it"
    )]
    OtherBisection {
        /// The work directory.
        dir: PathBuf,
        /// What the journal says that one was.
        theirs: String,
    },
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "record", rename_all = "kebab-case")]
pub enum Record {
    /// First line: what bisection this is.
    Header {
        /// The bisection's parameters, as one comparable string.
        params: String,
    },
    /// A finished build.
    Build {
        /// Full hash.
        commit: String,
        /// The build, or `None` when it failed.
        built: Option<Built>,
        /// Why it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failure: Option<String>,
        /// Seconds it took.
        secs: f64,
    },
    /// A finished run.
    Run {
        /// Full hash.
        commit: String,
        /// Run index at that commit.
        index: u32,
        /// How it ended.
        outcome: RunOutcome,
        /// Seconds it took.
        secs: f64,
        /// The commit whose identical build this run was copied from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reused_from: Option<String>,
    },
}

/// A finished build, as remembered.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildRecord {
    /// The build, or `None` when it failed.
    pub built: Option<Built>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Seconds it took.
    pub secs: f64,
}

/// A finished run, as remembered.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// How it ended.
    pub outcome: RunOutcome,
    /// Seconds it took.
    pub secs: f64,
    /// The commit this run was copied from, if reused.
    pub reused_from: Option<String>,
}

/// Where a journal's records are kept.
pub trait JournalStore: Send {
    /// Every record kept so far, in the order they were appended (a torn
    /// last record, from a kill mid-write, left out).
    fn load(&mut self) -> Result<Vec<Record>, JournalError>;
    /// Keeps `record` durably before returning.
    fn append(&mut self, record: &Record) -> Result<(), JournalError>;
    /// Where the records are, for messages (`work directory X holds...`).
    fn place(&self) -> PathBuf;
}

/// The journal of one bisection; no store for an in-memory journal.
#[derive(Default)]
pub struct Journal {
    store: Option<Box<dyn JournalStore>>,
    builds: HashMap<String, BuildRecord>,
    runs: HashMap<String, BTreeMap<u32, RunRecord>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = self.store.as_ref().map(|s| s.place());
        f.debug_struct("Journal")
            .field("place", &place)
            .field("builds", &self.builds.len())
            .finish()
    }
}

impl Journal {
    /// A journal that is not written anywhere (tests, dry runs).
    pub fn in_memory() -> Self {
        Journal::default()
    }

    /// Opens (or creates) `dir/journal.jsonl` for the bisection described
    /// by `params`, replaying what it holds.
    pub fn open(dir: &Path, params: &str) -> Result<Self, JournalError> {
        Journal::with_store(Box::new(FileStore::open(dir)?), params)
    }

    /// The journal kept in `store` for the bisection described by
    /// `params`, replaying what it holds; refused when the store holds
    /// another bisection.
    pub fn with_store(
        mut store: Box<dyn JournalStore>,
        params: &str,
    ) -> Result<Self, JournalError> {
        let records = store.load()?;
        let mut journal = Journal::default();
        match records.first() {
            Some(Record::Header { params: theirs }) if theirs != params => {
                return Err(JournalError::OtherBisection {
                    dir: store.place(),
                    theirs: theirs.clone(),
                });
            }
            Some(_) => records.into_iter().for_each(|r| journal.remember(r)),
            None => store.append(&Record::Header {
                params: params.to_owned(),
            })?,
        }
        journal.store = Some(store);
        Ok(journal)
    }

    /// The remembered build of `commit`.
    pub fn build(&self, commit: &str) -> Option<&BuildRecord> {
        self.builds.get(commit)
    }

    /// The remembered run `index` of `commit`.
    pub fn run(&self, commit: &str, index: u32) -> Option<&RunRecord> {
        self.runs.get(commit)?.get(&index)
    }

    /// How many runs of `commit` are remembered.
    pub fn run_count(&self, commit: &str) -> usize {
        self.runs.get(commit).map_or(0, BTreeMap::len)
    }

    /// Number of builds and runs remembered.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.builds.len(),
            self.runs.values().map(BTreeMap::len).sum(),
        )
    }

    /// Records a finished step durably, then remembers it.
    pub fn append(&mut self, record: Record) -> Result<(), JournalError> {
        self.append_raw(&record)?;
        self.remember(record);
        Ok(())
    }

    fn append_raw(&mut self, record: &Record) -> Result<(), JournalError> {
        match &mut self.store {
            Some(store) => store.append(record),
            None => Ok(()),
        }
    }

    fn remember(&mut self, record: Record) {
        match record {
            Record::Header { .. } => {}
            Record::Build {
                commit,
                built,
                failure,
                secs,
            } => {
                self.builds.insert(
                    commit,
                    BuildRecord {
                        built,
                        failure,
                        secs,
                    },
                );
            }
            Record::Run {
                commit,
                index,
                outcome,
                secs,
                reused_from,
            } => {
                // A duplicate index cannot happen unless two processes
                // share the directory: keep the first.
                let runs = self.runs.entry(commit).or_default();
                runs.entry(index).or_insert(RunRecord {
                    outcome,
                    secs,
                    reused_from,
                });
            }
        }
    }
}

/// A journal in `DIR/journal.jsonl`, locked for this process.
pub struct FileStore {
    file: File,
    path: PathBuf,
    dir: PathBuf,
}

impl FileStore {
    /// Opens (or creates) `dir/journal.jsonl` and locks it.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        let path = dir.join("journal.jsonl");
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        lock(&file).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock => JournalError::Busy {
                dir: dir.to_owned(),
            },
            _ => io(e),
        })?;
        Ok(FileStore {
            file,
            path,
            dir: dir.to_owned(),
        })
    }

    fn io(&self) -> impl Fn(std::io::Error) -> JournalError + '_ {
        |source| JournalError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

impl JournalStore for FileStore {
    fn load(&mut self) -> Result<Vec<Record>, JournalError> {
        let records = read_records(&self.path).map_err(self.io())?;
        truncate_torn_tail(&mut self.file, &self.path).map_err(self.io())?;
        Ok(records)
    }

    fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        let mut line = serde_json::to_string(record).map_err(|e| (self.io())(e.into()))?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(self.io())?;
        self.file.sync_data().map_err(self.io())
    }

    fn place(&self) -> PathBuf {
        self.dir.clone()
    }
}

/// The short name of a bisection described by `params`: 16 hex digits of
/// its SHA-256 (its directory in a work directory).
pub fn key(params: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(params.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Locks `file` for this process (released when the file closes, so also
/// when the process is killed): two bisections must not interleave.
pub(crate) fn lock(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // A child being forked by another thread shares our descriptors (and
    // so a lock just released) until it execs: give that a moment before
    // calling the journal busy.
    let mut tries = 0;
    loop {
        // SAFETY: flock(2) on a file descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        tries += 1;
        if error.kind() != std::io::ErrorKind::WouldBlock || tries >= LOCK_TRIES {
            return Err(error);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// How many times (50 ms apart) a held journal lock is tried before the
/// journal is called busy.
const LOCK_TRIES: u32 = 20;

/// Reads every record. Only the last line may be damaged (torn by a kill
/// mid-write; nothing after it was synced): it is ignored. A damaged line
/// before it means the file is not a journal culprit can trust.
fn read_records(path: &Path) -> std::io::Result<Vec<Record>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut records = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_slice::<Record>(line) {
            Ok(r) => records.push(r),
            Err(_) if i + 1 == lines.len() => break,
            Err(e) => {
                let message = format!("line {} is damaged ({e}); remove the work directory", i + 1);
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    message,
                ));
            }
        }
    }
    Ok(records)
}

/// Cuts a torn last line so new records start on a line of their own.
fn truncate_torn_tail(file: &mut File, path: &Path) -> std::io::Result<()> {
    let bytes = std::fs::read(path)?;
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if keep < bytes.len() {
        file.set_len(keep as u64)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(commit: &str, index: u32) -> Record {
        Record::Run {
            commit: commit.into(),
            index,
            outcome: RunOutcome::Ok,
            secs: 0.5,
            reused_from: None,
        }
    }

    #[test]
    fn replays_records_and_ignores_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), "p").unwrap();
        j.append(run("a", 0)).unwrap();
        j.append(run("a", 1)).unwrap();
        drop(j);
        let path = dir.path().join("journal.jsonl");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"record\":\"run\",\"commit\":\"a\",\"ind")
            .unwrap();
        drop(f);
        let mut j = Journal::open(dir.path(), "p").unwrap();
        assert_eq!(j.run_count("a"), 2);
        j.append(run("a", 2)).unwrap();
        drop(j);
        let j = Journal::open(dir.path(), "p").unwrap();
        assert_eq!(j.run_count("a"), 3);
    }

    #[test]
    fn runs_that_ended_out_of_order_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), "p").unwrap();
        j.append(run("a", 1)).unwrap();
        j.append(run("a", 0)).unwrap();
        j.append(run("a", 3)).unwrap();
        drop(j);
        let j = Journal::open(dir.path(), "p").unwrap();
        assert_eq!(j.run_count("a"), 3);
        assert!(j.run("a", 2).is_none());
        assert!(j.run("a", 3).is_some());
    }

    #[test]
    fn refuses_a_damaged_journal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("journal.jsonl"),
            "garbage\n{\"record\":\"header\",\"params\":\"p\"}\n",
        )
        .unwrap();
        let err = Journal::open(dir.path(), "p").unwrap_err();
        assert!(err.to_string().contains("line 1 is damaged"), "{err}");
    }

    #[test]
    fn refuses_a_directory_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Journal::open(dir.path(), "p").unwrap();
        let err = Journal::open(dir.path(), "p").unwrap_err();
        assert!(matches!(err, JournalError::Busy { .. }), "{err}");
    }

    #[test]
    fn refuses_another_bisection() {
        let dir = tempfile::tempdir().unwrap();
        drop(Journal::open(dir.path(), "one").unwrap());
        let err = Journal::open(dir.path(), "two").unwrap_err();
        assert!(
            err.to_string().contains("holds another bisection (one)"),
            "{err}"
        );
    }
}
