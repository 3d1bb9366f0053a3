//! A worker's work directory: `jobs/ID` for each job it owns and
//! `help/ID` for each job it helps with (checkouts, build trees, run
//! logs). A job's directories go when the job ends: what the job needs
//! afterwards is in the database (or the kernel store, whose job
//! directories go when the job is deleted); so the disk a worker uses is
//! that of the job it runs and the few it helps with, and it is measured
//! for the dashboard.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::db::{Db, DbError};
use crate::shared::WorkerConfig;

/// The directory of a job this worker owns.
pub fn job_dir(config: &WorkerConfig, job: i64) -> PathBuf {
    config.workdir.join("jobs").join(job.to_string())
}

/// The directory of a job this worker helps with.
pub fn help_dir(config: &WorkerConfig, job: i64) -> PathBuf {
    config.workdir.join("help").join(job.to_string())
}

/// Removes a job's directories (owned and helped).
pub fn remove_job(config: &WorkerConfig, job: i64) {
    for dir in [job_dir(config, job), help_dir(config, job)] {
        remove(&dir);
    }
}

fn remove(dir: &Path) {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => tracing::debug!(dir = %dir.display(), "removed"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "cannot remove"),
    }
}

/// Removes the directories of jobs that need none here any more: those
/// this worker does not own (`jobs/`), those not running (`help/`), and
/// in the kernel store those of jobs deleted from the database (old
/// ones). Returns the jobs whose helper directories are kept.
pub fn sweep(config: &WorkerConfig, db: &mut Db) -> Result<HashSet<i64>, DbError> {
    let owned = numbered_dirs(&config.workdir.join("jobs"));
    let helped = numbered_dirs(&config.workdir.join("help"));
    let store = config.kernel_store.as_ref().map(|s| s.join("jobs"));
    let stored = store.as_deref().map(numbered_dirs).unwrap_or_default();
    let all: Vec<i64> = owned
        .iter()
        .chain(&helped)
        .chain(&stored)
        .copied()
        .collect();
    let me = config.id.clone();
    let rows = db.run(|c| {
        c.query(
            "SELECT id, state = 'running' AND owner = $2, state = 'running'
             FROM jobs WHERE id = ANY($1)",
            &[&all, &me],
        )
    })?;
    let known: HashSet<i64> = rows.iter().map(|r| r.get(0)).collect();
    if let Some(store) = &store {
        for job in stored.iter().filter(|j| !known.contains(j)) {
            remove(&store.join(job.to_string()));
        }
    }
    let mine: HashSet<i64> = rows.iter().filter(|r| r.get(1)).map(|r| r.get(0)).collect();
    let running: HashSet<i64> = rows.iter().filter(|r| r.get(2)).map(|r| r.get(0)).collect();
    for job in owned.iter().filter(|j| !mine.contains(j)) {
        remove(&job_dir(config, *job));
    }
    for job in helped.iter().filter(|j| !running.contains(j)) {
        remove(&help_dir(config, *job));
    }
    Ok(helped.into_iter().filter(|j| running.contains(j)).collect())
}

/// The jobs that have a directory in `dir`.
fn numbered_dirs(dir: &Path) -> Vec<i64> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// The disk `dir` uses: the blocks of everything under it, files with
/// several links counted once, symbolic links not followed (the kernel
/// store is shared, not this worker's).
pub fn disk_usage(dir: &Path) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.nlink() > 1 && !meta.is_dir() && !seen.insert((meta.dev(), meta.ino())) {
            continue;
        }
        total += meta.blocks() * 512;
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                todo.extend(entries.flatten().map(|e| e.path()));
            }
        }
    }
    total
}

/// Puts a kernel job's built kernels in the shared kernel store: the
/// job's `builds` directory (the executor's cache of built kernels, keyed
/// by tree and recipe) is `STORE/jobs/ID` for every worker, as owner and as
/// helper. A cache entry names its files by the path of the worker that
/// wrote it: workers on other hosts find them when their work directories
/// have the same path (and STORE is on a file system they share).
pub fn link_kernel_store(config: &WorkerConfig, job: i64) -> std::io::Result<()> {
    let Some(store) = &config.kernel_store else {
        return Ok(());
    };
    let shared = store.join("jobs").join(job.to_string());
    std::fs::create_dir_all(&shared)?;
    for dir in [job_dir(config, job), help_dir(config, job)] {
        std::fs::create_dir_all(&dir)?;
        let link = dir.join("builds");
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(&shared, &link)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_usage_counts_hard_links_once_and_skips_symlinks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![1u8; 1 << 20]).expect("write");
        let once = disk_usage(dir.path());
        assert!(once >= 1 << 20, "{once}");
        std::fs::hard_link(&big, dir.path().join("again")).expect("link");
        let outside = tempfile::tempdir().expect("temp dir");
        std::fs::write(outside.path().join("f"), vec![1u8; 1 << 20]).expect("write");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("store")).expect("symlink");
        let after = disk_usage(dir.path());
        assert!(after < once + 64 * 1024, "{once} then {after}");
    }

    #[test]
    fn only_numbered_directories_are_jobs() {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["12", "7", "notes", "3x"] {
            std::fs::create_dir(dir.path().join(name)).expect("dir");
        }
        let mut jobs = numbered_dirs(dir.path());
        jobs.sort();
        assert_eq!(jobs, vec![7, 12]);
    }
}
