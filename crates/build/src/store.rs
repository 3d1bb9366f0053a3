//! Built kernels kept across bisections: one store per user (by default
//! `$XDG_CACHE_HOME/culprit/kernels`), shared by every process, with a size
//! cap and least-recently-used eviction.
//!
//! # Keys
//! A [`StoreKey`] holds what decides the binary: the commit's tree id, the
//! hash of `.config` *after* `olddefconfig` (so a key exists only once the
//! commit is configured: see [`crate::KernelRecipe::configure`]), the
//! toolchain's identity (version lines and binary hashes) and the recipe's
//! (make variables, fixed environment, targets, clean or not). The work
//! directory, the ccache wrapper and `-j` are not part of it: they do not
//! change the kernel.
//!
//! # Layout and concurrency
//! `entries/ID/` holds `entry.json`, the artifacts (`bzImage`, `vmlinux`),
//! `build.log`, a `lock` file and a `used` file whose mtime is the last
//! use. An entry is written under `tmp/` and renamed into `entries/` in one
//! step, so no reader ever sees half an entry; when two processes publish
//! the same key, the second rename fails and its copy is dropped (both
//! builds made the same kernel).
//!
//! Readers hold a shared `flock` on the entry's `lock` while they use it
//! ([`StoreHit`]); eviction takes it exclusively *without waiting* and
//! skips an entry that is in use. It renames the entry into `trash/` before
//! deleting it, so later readers miss it; a reader that opened the lock
//! just before checks after locking that the lock file is still the one in
//! `entries/`.

use crate::kernel::{BuildError, Configured, KernelBuild, KernelRecipe};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Format version of `entry.json`; entries of another version are misses.
const FORMAT_VERSION: u32 = 1;

/// Leftovers in `tmp/` older than this belong to a process that died.
const STALE_AFTER: Duration = Duration::from_secs(6 * 3600);

/// What decides a kernel binary (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreKey {
    /// The commit's tree id.
    pub tree: String,
    /// SHA-256 of `.config` after `olddefconfig` at this tree.
    pub config: String,
    /// The toolchain: version lines and binary hashes.
    pub toolchain: String,
    /// The recipe: make variables, environment, targets, clean or not.
    pub recipe: String,
}

impl StoreKey {
    /// The key of a commit's kernel: `tree_id` is the commit's tree,
    /// `configured` what [`KernelRecipe::configure`] returned at that
    /// commit.
    pub fn of(
        recipe: &KernelRecipe,
        tree_id: &str,
        configured: &Configured,
    ) -> Result<StoreKey, BuildError> {
        Ok(StoreKey {
            tree: tree_id.to_string(),
            config: configured.config_hash().to_owned(),
            toolchain: recipe.toolchain_identity()?,
            recipe: recipe.recipe_identity(),
        })
    }

    /// The entry's directory name: a hash of all the parts.
    pub fn id(&self) -> String {
        let text = format!(
            "culprit-kernel-store\0{}\0{}\0{}\0{}",
            self.tree, self.config, self.toolchain, self.recipe
        );
        crate::signature::bytes_signature(text.as_bytes())
    }
}

/// `entry.json`: what the store remembers about one build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredBuild {
    /// Format version.
    pub version: u32,
    /// The key it was stored under.
    pub key: StoreKey,
    /// The vmlinux signature; `None` for a build that failed.
    pub signature: Option<String>,
    /// The `compiler:` line.
    pub compiler_line: String,
    /// For a failed build: the tail of its output.
    pub failure: Option<String>,
    /// How long the build took, in seconds.
    pub seconds: f64,
    /// When it was stored, in seconds since the epoch.
    pub created: u64,
}

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or directory of the store could not be used.
    #[error("kernel store: {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A stored build to restore has no artifacts (it is a failure record).
    #[error("kernel store: entry {id} holds a failed build, not a kernel")]
    NotBuilt {
        /// The entry id.
        id: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A directory of built kernels shared by all bisections of a user.
#[derive(Debug, Clone)]
pub struct KernelStore {
    root: PathBuf,
    cap: Option<u64>,
}

/// A stored build found by [`KernelStore::get`]. While it lives, the entry
/// cannot be evicted (it holds a shared lock on it): restore or use its
/// files, then drop it.
#[derive(Debug)]
pub struct StoreHit {
    /// What was stored.
    pub build: StoredBuild,
    /// The entry's directory.
    pub dir: PathBuf,
    _lock: File,
}

/// One entry, for `culprit cache`.
#[derive(Debug, Clone)]
pub struct StoreEntry {
    /// The entry id (directory name).
    pub id: String,
    /// What was stored (`None` when `entry.json` is unreadable or of
    /// another version: such an entry is only good for eviction).
    pub build: Option<StoredBuild>,
    /// Bytes on disk.
    pub size: u64,
    /// Last use (a hit or the store itself).
    pub last_use: SystemTime,
}

/// What [`KernelStore::prune`] did.
#[derive(Debug, Clone, Default)]
pub struct Pruned {
    /// Entries removed, oldest use first.
    pub removed: Vec<StoreEntry>,
    /// Entries that should have gone but were in use.
    pub busy: usize,
    /// Bytes left in the store.
    pub kept_bytes: u64,
}

/// What a stored build gives back (see [`StoreHit::restore`]).
#[derive(Debug, Clone)]
pub enum Restored {
    /// The kernel, copied or linked where a fresh build would have put it.
    Built(KernelBuild),
    /// The commit does not build with this key.
    Failed {
        /// The last lines of the build output.
        tail: String,
        /// The stored output, linked or copied into the out directory
        /// (`None` when the record has no log).
        log: Option<PathBuf>,
    },
}

/// What [`build_through`] did.
#[derive(Debug)]
pub struct ThroughStore {
    /// The kernel, or why there is none (a stored failure comes back as
    /// [`BuildError::Failed`]).
    pub result: Result<KernelBuild, BuildError>,
    /// True when the store had it: nothing was built.
    pub from_store: bool,
    /// A store error that cost a rebuild or a store write but nothing
    /// else (for a warning).
    pub store_error: Option<StoreError>,
}

/// The recipe's kernel for the commit checked out in `worktree` (tree id
/// `tree_id`), taken from the store when it has it, else built and stored:
/// configure (`olddefconfig`), key, look up, build, publish. Failed builds
/// are stored as such and given back as failures. A store that cannot be
/// read or written only costs builds: its error is reported beside the
/// result.
pub fn build_through(
    store: &KernelStore,
    recipe: &crate::KernelRecipe,
    tree_id: &str,
    worktree: &Path,
    out_dir: &Path,
) -> ThroughStore {
    let key = match recipe
        .configure(worktree, out_dir)
        .and_then(|configured| StoreKey::of(recipe, tree_id, &configured))
    {
        Ok(key) => key,
        Err(error) => return through(Err(error), false, None),
    };
    let mut store_error = None;
    match store
        .get(&key)
        .and_then(|hit| hit.map(|h| h.restore(out_dir)).transpose())
    {
        Ok(Some(Restored::Built(build))) => return through(Ok(build), true, None),
        Ok(Some(Restored::Failed { tail, log })) => {
            let log = log.unwrap_or_default();
            return through(Err(BuildError::Failed { log, tail }), true, None);
        }
        Ok(None) => {}
        Err(error) => store_error = Some(error),
    }
    let started = std::time::Instant::now();
    let result = recipe.build(worktree, out_dir);
    let stored = match &result {
        Ok(build) => store.put_built(&key, build),
        Err(error) => {
            let line = recipe.compiler_line().unwrap_or_default();
            store.put_failure(&key, &line, error, started.elapsed().as_secs_f64())
        }
    };
    through(result, false, stored.err().or(store_error))
}

fn through(
    result: Result<KernelBuild, BuildError>,
    from_store: bool,
    store_error: Option<StoreError>,
) -> ThroughStore {
    ThroughStore {
        result,
        from_store,
        store_error,
    }
}

impl KernelStore {
    /// A store in `root` (created on the first write), without a cap.
    pub fn new(root: impl Into<PathBuf>) -> KernelStore {
        KernelStore {
            root: root.into(),
            cap: None,
        }
    }

    /// Evicts least recently used entries after every publish so that the
    /// store stays under `bytes` (an entry in use is never evicted, and
    /// neither is the entry just published).
    pub fn with_cap(mut self, bytes: u64) -> KernelStore {
        self.cap = Some(bytes);
        self
    }

    /// `kernels` in culprit's cache directory (see [`cache_dir`]).
    pub fn default_dir() -> Option<PathBuf> {
        Some(cache_dir()?.join("kernels"))
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn entries(&self) -> PathBuf {
        self.root.join("entries")
    }

    fn entry_dir(&self, id: &str) -> PathBuf {
        self.entries().join(id)
    }

    /// The stored build for `key`, locked against eviction, with its last
    /// use set to now; `None` when absent (or unreadable: a miss costs a
    /// build, never a wrong kernel).
    pub fn get(&self, key: &StoreKey) -> Result<Option<StoreHit>, StoreError> {
        let id = key.id();
        // A lock file replaced under us means a new entry: look again.
        let mut locked = self.lock_entry(&id, Lock::Shared)?;
        for _ in 0..3 {
            if !matches!(locked, Locked::Moved) {
                break;
            }
            locked = self.lock_entry(&id, Lock::Shared)?;
        }
        let Locked::Held(lock) = locked else {
            return Ok(None);
        };
        let dir = self.entry_dir(&id);
        let Some(build) = read_entry(&dir).filter(|b| &b.key == key) else {
            return Ok(None);
        };
        if build.signature.is_some() && !artifacts_present(&dir) {
            return Ok(None);
        }
        touch(&dir.join("used"));
        Ok(Some(StoreHit {
            build,
            dir,
            _lock: lock,
        }))
    }

    /// Stores a kernel that built: links or copies its bzImage, vmlinux and
    /// log into the store. Returns false when the key was already stored
    /// (by another process building the same commit at the same time).
    pub fn put_built(&self, key: &StoreKey, build: &KernelBuild) -> Result<bool, StoreError> {
        let record = StoredBuild {
            version: FORMAT_VERSION,
            key: key.clone(),
            signature: Some(build.signature.clone()),
            compiler_line: build.compiler_line.clone(),
            failure: None,
            seconds: build.duration.as_secs_f64(),
            created: now_secs(),
        };
        let files = [
            ("bzImage", build.bzimage.as_path()),
            ("vmlinux", build.vmlinux.as_path()),
            ("build.log", build.log.as_path()),
        ];
        self.publish(&record, &files)
    }

    /// Remembers that the commit does not build with this key. Only a
    /// [`BuildError::Failed`] is stored: a timeout may be the machine's
    /// fault, and other errors are not the commit's. Returns whether
    /// something was stored.
    pub fn put_failure(
        &self,
        key: &StoreKey,
        compiler_line: &str,
        error: &BuildError,
        seconds: f64,
    ) -> Result<bool, StoreError> {
        let BuildError::Failed { tail, log } = error else {
            return Ok(false);
        };
        let record = StoredBuild {
            version: FORMAT_VERSION,
            key: key.clone(),
            signature: None,
            compiler_line: compiler_line.to_string(),
            failure: Some(tail.clone()),
            seconds,
            created: now_secs(),
        };
        let files: Vec<(&str, &Path)> = match log.is_file() {
            true => vec![("build.log", log.as_path())],
            false => Vec::new(),
        };
        self.publish(&record, &files)
    }

    /// Writes an entry under `tmp/` and renames it into `entries/`.
    fn publish(&self, record: &StoredBuild, files: &[(&str, &Path)]) -> Result<bool, StoreError> {
        let id = record.key.id();
        let tmp_root = self.root.join("tmp");
        let entries = self.entries();
        for dir in [&tmp_root, &entries] {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        let tmp = tmp_root.join(format!("{id}.{}", unique_suffix()));
        let written = write_entry(&tmp, record, files);
        if let Err(error) = written {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(error);
        }
        let target = self.entry_dir(&id);
        if let Err(error) = std::fs::rename(&tmp, &target) {
            let _ = std::fs::remove_dir_all(&tmp);
            // Another process published the same key first (it may even
            // have been evicted since): its kernel is the same.
            let exists = matches!(
                error.kind(),
                std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists
            );
            return match exists {
                true => Ok(false),
                false => Err(io_error(&target)(error)),
            };
        }
        sync_dir(&entries);
        if let Some(cap) = self.cap {
            self.prune_keeping(cap, Some(&id))?;
        }
        Ok(true)
    }

    /// Every entry with its size and last use, most recently used first.
    pub fn list(&self) -> Result<Vec<StoreEntry>, StoreError> {
        let entries = self.entries();
        let reader = match std::fs::read_dir(&entries) {
            Ok(reader) => reader,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(&entries)(e)),
        };
        let mut list = Vec::new();
        for item in reader {
            let item = item.map_err(io_error(&entries))?;
            let id = item.file_name().to_string_lossy().into_owned();
            let dir = item.path();
            let last_use = std::fs::metadata(dir.join("used"))
                .or_else(|_| std::fs::metadata(&dir))
                .and_then(|m| m.modified())
                .unwrap_or(UNIX_EPOCH);
            list.push(StoreEntry {
                id,
                build: read_entry(&dir),
                size: dir_size(&dir),
                last_use,
            });
        }
        list.sort_by(|a, b| b.last_use.cmp(&a.last_use).then(a.id.cmp(&b.id)));
        Ok(list)
    }

    /// Total bytes of all entries.
    pub fn size(&self) -> Result<u64, StoreError> {
        Ok(self.list()?.iter().map(|e| e.size).sum())
    }

    /// Evicts least recently used entries until the store holds at most
    /// `cap` bytes, skipping entries in use; also clears what crashed
    /// processes left in `tmp/` and `trash/`.
    pub fn prune(&self, cap: u64) -> Result<Pruned, StoreError> {
        self.prune_keeping(cap, None)
    }

    fn prune_keeping(&self, cap: u64, keep: Option<&str>) -> Result<Pruned, StoreError> {
        // One prune at a time: two would each see the store over its cap
        // and together take it far under, each counting the other's
        // removals as its own.
        std::fs::create_dir_all(&self.root).map_err(io_error(&self.root))?;
        let lock_path = self.root.join("prune.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        lock.lock().map_err(io_error(&lock_path))?;
        self.clear_leftovers();
        let mut list = self.list()?;
        let mut pruned = Pruned {
            kept_bytes: list.iter().map(|e| e.size).sum(),
            ..Pruned::default()
        };
        // Oldest first.
        list.reverse();
        for entry in list {
            if pruned.kept_bytes <= cap {
                break;
            }
            if keep == Some(entry.id.as_str()) {
                continue;
            }
            match self.remove(&entry.id)? {
                Removal::Removed => {
                    pruned.kept_bytes -= entry.size.min(pruned.kept_bytes);
                    pruned.removed.push(entry);
                }
                // Evicted by a bisection publishing a kernel meanwhile.
                Removal::Gone => pruned.kept_bytes -= entry.size.min(pruned.kept_bytes),
                Removal::Busy => pruned.busy += 1,
            }
        }
        Ok(pruned)
    }

    /// Removes one entry unless it is in use.
    fn remove(&self, id: &str) -> Result<Removal, StoreError> {
        let dir = self.entry_dir(id);
        let _lock = match self.lock_entry(id, Lock::ExclusiveNow)? {
            Locked::Held(lock) => Some(lock),
            Locked::Busy | Locked::Moved => return Ok(Removal::Busy),
            // No lock file: gone already, or a directory nobody can lock
            // (not made by this store), which nobody uses either.
            Locked::Absent => None,
        };
        let trash = self.root.join("trash");
        std::fs::create_dir_all(&trash).map_err(io_error(&trash))?;
        let doomed = trash.join(format!("{id}.{}", unique_suffix()));
        match std::fs::rename(&dir, &doomed) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Removal::Gone),
            Err(e) => return Err(io_error(&dir)(e)),
        }
        // Readers blocked on the lock now find it unlinked and miss. The
        // entry is gone from the store already: another process's prune
        // may be clearing `trash/` at this moment (its files vanish under
        // this walk), and what is left there goes with the next prune.
        let _ = std::fs::remove_dir_all(&doomed);
        Ok(Removal::Removed)
    }

    /// Deletes `trash/` (never in use) and stale `tmp/` leftovers; errors
    /// only leave them for the next prune.
    fn clear_leftovers(&self) {
        let trash = self.root.join("trash");
        for dir in read_dir_paths(&trash) {
            let _ = std::fs::remove_dir_all(dir);
        }
        let tmp = self.root.join("tmp");
        for dir in read_dir_paths(&tmp) {
            let age = std::fs::metadata(&dir)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok());
            if age.is_some_and(|age| age > STALE_AFTER) {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    /// Opens and locks `entries/ID/lock`.
    fn lock_entry(&self, id: &str, how: Lock) -> Result<Locked, StoreError> {
        let path = self.entry_dir(id).join("lock");
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Locked::Absent),
            Err(e) => return Err(io_error(&path)(e)),
        };
        match how {
            Lock::Shared => file.lock_shared().map_err(io_error(&path))?,
            Lock::ExclusiveNow => match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Ok(Locked::Busy),
                Err(std::fs::TryLockError::Error(e)) => return Err(io_error(&path)(e)),
            },
        }
        // Evicted between our open and our lock: the path now names
        // another file or none.
        let same = match (file.metadata(), std::fs::metadata(&path)) {
            (Ok(held), Ok(now)) => held.dev() == now.dev() && held.ino() == now.ino(),
            _ => false,
        };
        Ok(if same {
            Locked::Held(file)
        } else {
            Locked::Moved
        })
    }
}

/// What became of an entry a prune took out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    /// This prune removed it.
    Removed,
    /// Someone else removed it first.
    Gone,
    /// In use: kept.
    Busy,
}

/// The result of [`KernelStore::lock_entry`].
#[derive(Debug)]
enum Locked {
    /// Locked as asked; the lock lasts as long as the file.
    Held(File),
    /// No lock file in `entries/` (no entry, or one being evicted).
    Absent,
    /// Someone uses the entry ([`Lock::ExclusiveNow`] only).
    Busy,
    /// The entry was evicted (and maybe published again) while we locked.
    Moved,
}

/// How [`KernelStore::lock_entry`] locks.
#[derive(Debug, Clone, Copy)]
enum Lock {
    /// Readers: wait for an eviction in progress.
    Shared,
    /// Eviction: give up at once when a reader holds it.
    ExclusiveNow,
}

impl StoreHit {
    /// The stored file `name` (`bzImage`, `vmlinux`, `build.log`).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Puts the stored kernel where [`crate::KernelRecipe::build`] would
    /// have: `<out_dir>/<signature>/{bzImage,vmlinux,build-*.log}` (hard
    /// links when the store is on the same file system, else copies), so
    /// the caller goes on as after a build. A failure record gives its tail.
    pub fn restore(&self, out_dir: &Path) -> Result<Restored, StoreError> {
        let Some(signature) = &self.build.signature else {
            return self.restore_failure(out_dir);
        };
        let dir = out_dir.join(signature);
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let log = dir.join(format!("build-{}.log", unique_suffix()));
        for (name, target) in [
            ("bzImage", dir.join("bzImage")),
            ("vmlinux", dir.join("vmlinux")),
            ("build.log", log.clone()),
        ] {
            if !target.is_file() {
                link_or_copy(&self.file(name), &target)?;
            }
        }
        Ok(Restored::Built(KernelBuild {
            vmlinux: dir.join("vmlinux"),
            bzimage: dir.join("bzImage"),
            dir,
            signature: signature.clone(),
            compiler_line: self.build.compiler_line.clone(),
            duration: Duration::from_secs_f64(self.build.seconds.max(0.0)),
            log,
        }))
    }
}

impl StoreHit {
    fn restore_failure(&self, out_dir: &Path) -> Result<Restored, StoreError> {
        let stored_log = self.file("build.log");
        let log = match stored_log.is_file() {
            true => {
                std::fs::create_dir_all(out_dir).map_err(io_error(out_dir))?;
                let log = out_dir.join(format!("failed-{}.log", unique_suffix()));
                link_or_copy(&stored_log, &log)?;
                Some(log)
            }
            false => None,
        };
        Ok(Restored::Failed {
            tail: self.build.failure.clone().unwrap_or_default(),
            log,
        })
    }
}

/// Writes a complete entry into the fresh directory `dir`.
fn write_entry(
    dir: &Path,
    record: &StoredBuild,
    files: &[(&str, &Path)],
) -> Result<(), StoreError> {
    std::fs::create_dir(dir).map_err(io_error(dir))?;
    for (name, source) in files {
        let target = dir.join(name);
        link_or_copy(source, &target)?;
        sync_file(&target)?;
    }
    let text = serde_json::to_vec_pretty(record).map_err(|e| io_error(dir)(e.into()))?;
    let json = dir.join("entry.json");
    std::fs::write(&json, text).map_err(io_error(&json))?;
    sync_file(&json)?;
    for name in ["lock", "used"] {
        let path = dir.join(name);
        File::create(&path).map_err(io_error(&path))?;
    }
    sync_dir(dir);
    Ok(())
}

/// The entry's record, if readable and of this version.
fn read_entry(dir: &Path) -> Option<StoredBuild> {
    let text = std::fs::read(dir.join("entry.json")).ok()?;
    let build: StoredBuild = serde_json::from_slice(&text).ok()?;
    (build.version == FORMAT_VERSION).then_some(build)
}

fn artifacts_present(dir: &Path) -> bool {
    ["bzImage", "vmlinux"]
        .iter()
        .all(|name| dir.join(name).is_file())
}

/// A hard link (instant, and it survives eviction of the source), else a
/// copy through a temporary name.
fn link_or_copy(source: &Path, target: &Path) -> Result<(), StoreError> {
    if std::fs::hard_link(source, target).is_ok() {
        return Ok(());
    }
    let partial = target.with_extension(format!("partial.{}", unique_suffix()));
    std::fs::copy(source, &partial)
        .and_then(|_| std::fs::rename(&partial, target))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            io_error(source)(e)
        })
}

fn sync_file(path: &Path) -> Result<(), StoreError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_error(path))
}

/// Makes a rename durable; failing only weakens crash safety.
fn sync_dir(dir: &Path) {
    let _ = File::open(dir).and_then(|f| f.sync_all());
}

/// Sets a file's mtime to now (last use); a failure only ages the entry.
fn touch(path: &Path) {
    let _ = File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()));
}

fn dir_size(dir: &Path) -> u64 {
    read_dir_paths(dir)
        .iter()
        .filter_map(|p| std::fs::symlink_metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

fn read_dir_paths(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{nanos}-{n}", std::process::id())
}

/// Where culprit keeps what it may rebuild: `$XDG_CACHE_HOME/culprit`, else
/// `~/.cache/culprit` (`None` with neither set). Work directories, the
/// kernel store and workers' directories default to places in it.
pub fn cache_dir() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| Path::new(&home).join(".cache"))
        })?;
    Some(cache.join("culprit"))
}

/// Parses a size for `--prune SIZE`: bytes, or with a suffix `K`, `M`,
/// `G`, `T` (powers of 1024; `KiB`, `MB`... read the same).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("not a size: {text:?} (expected e.g. 20G, 500M, 1048576)"))?;
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit.trim_end_matches("IB").trim_end_matches('B');
    let shift = match unit {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("unknown size unit in {text:?} (use K, M, G or T)")),
    };
    Ok((number * (1u64 << shift) as f64) as u64)
}
