//! The journal: an append-only JSON-lines file in the work directory with
//! one record per finished build and per finished run, synced to disk
//! before the next step. Re-running the same bisection replays it instead
//! of building and running again; a torn last line (kill -9 mid-write) is
//! ignored.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
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

/// The journal of one bisection; `None` file for an in-memory journal.
#[derive(Debug, Default)]
pub struct Journal {
    file: Option<(File, PathBuf)>,
    builds: HashMap<String, BuildRecord>,
    runs: HashMap<String, Vec<RunRecord>>,
}

impl Journal {
    /// A journal that is not written anywhere (tests, dry runs).
    pub fn in_memory() -> Self {
        Journal::default()
    }

    /// Opens (or creates) `dir/journal.jsonl` for the bisection described
    /// by `params`, replaying what it holds.
    pub fn open(dir: &Path, params: &str) -> Result<Self, JournalError> {
        let path = dir.join("journal.jsonl");
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let records = read_records(&path).map_err(io)?;
        let fresh = records.is_empty();
        let mut journal = Journal::default();
        match records.first() {
            Some(Record::Header { params: theirs }) if theirs != params => {
                return Err(JournalError::OtherBisection {
                    dir: dir.to_owned(),
                    theirs: theirs.clone(),
                })
            }
            Some(_) => records.into_iter().for_each(|r| journal.remember(r)),
            None => {}
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        truncate_torn_tail(&mut file, &path).map_err(io)?;
        journal.file = Some((file, path));
        if fresh {
            journal.append_raw(&Record::Header {
                params: params.to_owned(),
            })?;
        }
        Ok(journal)
    }

    /// The remembered build of `commit`.
    pub fn build(&self, commit: &str) -> Option<&BuildRecord> {
        self.builds.get(commit)
    }

    /// The remembered runs of `commit`, in index order.
    pub fn runs(&self, commit: &str) -> &[RunRecord] {
        self.runs.get(commit).map_or(&[], |r| r.as_slice())
    }

    /// Number of builds and runs remembered.
    pub fn counts(&self) -> (usize, usize) {
        (self.builds.len(), self.runs.values().map(Vec::len).sum())
    }

    /// Records a finished step durably, then remembers it.
    pub fn append(&mut self, record: Record) -> Result<(), JournalError> {
        self.append_raw(&record)?;
        self.remember(record);
        Ok(())
    }

    fn append_raw(&mut self, record: &Record) -> Result<(), JournalError> {
        let Some((file, path)) = &mut self.file else {
            return Ok(());
        };
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        let mut line = serde_json::to_string(record).map_err(|e| io(e.into()))?;
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)
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
                let runs = self.runs.entry(commit).or_default();
                // Runs are appended in order; a duplicate index cannot happen
                // unless two processes share the directory: keep the first.
                if index as usize == runs.len() {
                    runs.push(RunRecord {
                        outcome,
                        secs,
                        reused_from,
                    });
                }
            }
        }
    }
}

/// Reads every complete, parseable record; stops at the first bad line
/// (only the last line can be torn, and nothing after it was synced).
fn read_records(path: &Path) -> std::io::Result<Vec<Record>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    for line in BufReader::new(file).split(b'\n') {
        match serde_json::from_slice::<Record>(&line?) {
            Ok(r) => records.push(r),
            Err(_) => break,
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
        assert_eq!(j.runs("a").len(), 2);
        j.append(run("a", 2)).unwrap();
        drop(j);
        let j = Journal::open(dir.path(), "p").unwrap();
        assert_eq!(j.runs("a").len(), 3);
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
