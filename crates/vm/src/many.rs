//! Many runs of the same configuration, several test machines at a time.
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::error::VmError;
use crate::run::{run_once, RunOutput, VmConfig};

/// The default number of test machines at once: one per host core.
pub fn default_vms() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How many test machines this machine can run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MostVms {
    /// The most at once.
    pub vms: usize,
    /// Each guest's memory in MiB.
    pub guest_mib: u32,
    /// This machine's cores.
    pub cpus: usize,
    /// This machine's memory in MiB.
    pub memory_mib: u64,
}

impl std::fmt::Display for MostVms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} VMs of {} MiB ({} cores, {} MiB of memory: two guests per core, three quarters of the memory)",
            self.vms, self.guest_mib, self.cpus, self.memory_mib
        )
    }
}

/// The most test machines of `guest_mib` MiB this machine runs at once:
/// two per core (a guest waits on its console as often as it computes),
/// and no more than three quarters of the memory.
pub fn most_vms(guest_mib: u32) -> MostVms {
    let cpus = default_vms();
    let memory_mib = total_memory_mib().unwrap_or(1024);
    let by_memory = (memory_mib * 3 / 4) / u64::from(guest_mib.max(1));
    let vms = (cpus * 2).min(by_memory as usize).max(1);
    MostVms {
        vms,
        guest_mib,
        cpus,
        memory_mib,
    }
}

/// `MemTotal` of `/proc/meminfo`, in MiB.
fn total_memory_mib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Where run `index` of a batch saves its console: `console-<index>.log`.
pub fn console_path(console_dir: &Path, index: usize) -> PathBuf {
    console_dir.join(format!("console-{index}.log"))
}

/// Runs the test machine once for every index of `indices`, at most `vms`
/// at once, saving consoles in `console_dir` (created if needed; see
/// [`console_path`]).
///
/// `on_result(index, result)` is called on the caller's thread as each run
/// ends, in completion order, so the caller can record it durably before the
/// next one ends; when it returns `false`, no new run starts. After a host
/// error (e.g. a full disk) no new run starts either; runs never started
/// are `VmError::NotRun`. Results come back in index order.
pub fn run_many(
    cfg: &VmConfig,
    indices: Range<usize>,
    vms: usize,
    console_dir: &Path,
    mut on_result: impl FnMut(usize, &Result<RunOutput, VmError>) -> bool,
) -> Vec<Result<RunOutput, VmError>> {
    let (first, n) = (indices.start, indices.len());
    let mut results: Vec<Option<Result<RunOutput, VmError>>> = (0..n).map(|_| None).collect();
    if let Err(source) = std::fs::create_dir_all(console_dir) {
        let err = VmError::Console {
            path: console_dir.to_owned(),
            source,
        };
        return not_run(results, &err.to_string(), Some(err));
    }
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut first_error = None;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        for worker in 0..vms.clamp(1, n.max(1)) {
            let (tx, next, stop) = (tx.clone(), &next, &stop);
            let work = move || loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= n || stop.load(Ordering::SeqCst) {
                    break;
                }
                let result = run_once(cfg, &console_path(console_dir, first + index));
                if result.is_err() {
                    stop.store(true, Ordering::SeqCst);
                }
                if tx.send((index, result)).is_err() {
                    break;
                }
            };
            let spawned = std::thread::Builder::new()
                .name(format!("vm-{worker}"))
                .spawn_scoped(scope, work);
            if let Err(e) = spawned {
                first_error.get_or_insert(format!("cannot start a VM thread: {e}"));
            }
        }
        drop(tx);
        for (index, result) in rx {
            if !on_result(first + index, &result) {
                stop.store(true, Ordering::SeqCst);
                first_error.get_or_insert("stopped by the caller".to_string());
            }
            if let Err(e) = &result {
                first_error.get_or_insert(e.to_string());
            }
            results[index] = Some(result);
        }
    });
    let why = first_error.unwrap_or_else(|| "no VM could be started".to_string());
    not_run(results, &why, None)
}

/// Fills the runs that never happened with `NotRun` (the first one with
/// `first`, if given).
fn not_run(
    results: Vec<Option<Result<RunOutput, VmError>>>,
    why: &str,
    mut first: Option<VmError>,
) -> Vec<Result<RunOutput, VmError>> {
    results
        .into_iter()
        .map(|r| match r {
            Some(r) => r,
            None => Err(first
                .take()
                .unwrap_or_else(|| VmError::NotRun(why.to_string()))),
        })
        .collect()
}
