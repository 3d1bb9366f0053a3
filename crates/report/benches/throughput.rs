//! Parser throughput: MB/s over the shared test data, and over generated
//! console logs of 10 and 100 MB with one crash at the very end (the cost must
//! grow linearly with the input); and the command line's: `culprit report
//! --json` over the test data folder, in CPU time of the process (startup,
//! reading, parsing, JSON), as a user runs it.
//!
//! Run with `cargo build --release -p culprit && cargo bench -p
//! culprit-report --bench throughput` (`CULPRIT_BIN` names another binary).

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

fn main() {
    let found = common::testdata("linux-reports");
    let dir = found
        .as_deref()
        .unwrap_or(Path::new("shared/testdata/linux-reports"));
    match test_logs(dir) {
        Some(logs) => {
            let bytes: usize = logs.iter().map(Vec::len).sum();
            let (elapsed, reports) = best_of(5, || {
                logs.iter().map(|l| culprit_report::parse(l).len()).sum()
            });
            println!(
                "test data: {} files, {:.1} MB, {} reports: {:.1} MB/s",
                logs.len(),
                mb(bytes),
                reports,
                mb(bytes) / elapsed.as_secs_f64()
            );
        }
        None => println!("SKIPPED test data: {} is absent", dir.display()),
    }
    cli(dir);
    for size in [10usize << 20, 100 << 20] {
        let log = generated_log(size);
        let (elapsed, reports) = best_of(3, || culprit_report::parse(&log).len());
        println!(
            "generated {:.0} MB log, crash at the end: {} report(s), {:.2} s, {:.1} MB/s",
            mb(log.len()),
            reports,
            elapsed.as_secs_f64(),
            mb(log.len()) / elapsed.as_secs_f64()
        );
    }
}

/// `culprit report --json` over every file of `dir`: the best of 5 runs, in
/// the child's CPU time (user + system) and wall time.
fn cli(dir: &Path) {
    let Some(bin) = culprit_bin() else {
        println!("SKIPPED command line: build it first (cargo build --release -p culprit) or set CULPRIT_BIN");
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        println!("SKIPPED command line: {} is absent", dir.display());
        return;
    };
    let files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let (mut best_cpu, mut best_wall) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        let before = children_cpu_time();
        let start = Instant::now();
        let out = std::process::Command::new(&bin)
            .args(["report", "--json"])
            .args(&files)
            .stdout(std::process::Stdio::null())
            .status();
        let wall = start.elapsed();
        if !out.is_ok_and(|s| s.success()) {
            println!("SKIPPED command line: {} report failed", bin.display());
            return;
        }
        best_cpu = best_cpu.min(children_cpu_time().saturating_sub(before));
        best_wall = best_wall.min(wall);
    }
    let mb = bytes as f64 / (1 << 20) as f64;
    println!(
        "command line: culprit report --json over {} files, {:.1} MB: {:.1} ms CPU ({:.1} MB/s), {:.1} ms wall",
        files.len(),
        mb,
        best_cpu.as_secs_f64() * 1e3,
        mb / best_cpu.as_secs_f64().max(1e-9),
        best_wall.as_secs_f64() * 1e3
    );
}

/// The culprit binary: `CULPRIT_BIN`, or the release build next to this bench.
fn culprit_bin() -> Option<std::path::PathBuf> {
    if let Some(bin) = std::env::var_os("CULPRIT_BIN") {
        return Some(bin.into());
    }
    // target/release/deps/throughput-HASH -> target/release/culprit
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("culprit");
    bin.is_file().then_some(bin)
}

/// User and system CPU time of this process's waited-for children so far.
fn children_cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is valid, and getrusage only writes it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let time = |t: libc::timeval| {
        Duration::new(
            t.tv_sec.max(0) as u64,
            (t.tv_usec.clamp(0, 999_999) * 1000) as u32,
        )
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// The fastest of `runs` runs of `work`, and its result. On a shared
/// machine wall time includes waiting for a core, so the thread's CPU time
/// is measured too and the smaller of the two counts.
fn best_of(runs: usize, mut work: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut result = 0;
    for _ in 0..runs {
        let (start, cpu_start) = (Instant::now(), thread_cpu_time());
        result = std::hint::black_box(work());
        let wall = start.elapsed();
        let cpu = thread_cpu_time().saturating_sub(cpu_start);
        let spent = if cpu.is_zero() { wall } else { wall.min(cpu) };
        best = best.min(spent);
    }
    (best, result)
}

/// CPU time used by this thread so far.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// The console logs of the test files (their headers and expected reports cut off).
fn test_logs(dir: &Path) -> Option<Vec<Vec<u8>>> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut logs = Vec::new();
    for entry in entries.flatten() {
        let Ok(data) = std::fs::read(entry.path()) else {
            continue;
        };
        let body = memchr::memmem::find(&data, b"\n\n").map_or(&data[..], |i| &data[i + 2..]);
        let body = memchr::memmem::find(body, b"\n\nREPORT:\n").map_or(body, |i| &body[..i + 1]);
        logs.push(body.to_vec());
    }
    Some(logs)
}

/// A realistic fuzzing console log of about `size` bytes ending in a KASAN report.
fn generated_log(size: usize) -> Vec<u8> {
    const NOISE: [&str; 6] = [
        "audit: type=1400 audit(1700000000.123:42): avc:  denied  { read } for  pid=5012 comm=\"syz-executor.3\" name=\"fuse\" dev=\"devtmpfs\" ino=87 scontext=root:sysadm_r:sysadm_t tclass=chr_file permissive=1",
        "netdevsim netdevsim0 netdevsim1: set [1, 0] type 2 family 0 port 6081 - 0",
        "IPv6: ADDRCONF(NETDEV_CHANGE): veth1_to_bridge: link becomes ready",
        "EXT4-fs (loop2): mounted filesystem without journal. Opts: ,errors=continue",
        "loop3: detected capacity change from 0 to 264192",
        "FAULT_INJECTION: forcing a failure.",
    ];
    const CRASH: &str = "==================================================================\n\
BUG: KASAN: use-after-free in tcp_v4_rcv+0x1a/0x20\n\
Read of size 8 at addr ffff88801c2f3a08 by task syz-executor.0/5071\n\
Call Trace:\n <IRQ>\n dump_stack_lvl+0x48/0x70\n kasan_report+0xb0/0xe0\n tcp_v4_rcv+0x1a/0x20\n ip_local_deliver+0x1/0x2\n</IRQ>\n\
==================================================================\n";
    let mut log = Vec::with_capacity(size + 4096);
    let mut i = 0usize;
    while log.len() < size {
        let line = format!(
            "[{:>5}.{:06}][T{:>5}] {}\n",
            i / 1000,
            i % 1_000_000,
            1000 + i % 5000,
            NOISE[i % NOISE.len()]
        );
        log.extend_from_slice(line.as_bytes());
        if i.is_multiple_of(97) {
            log.extend_from_slice(b"executing program 3:\nr0 = openat$fuse(0xffffffffffffff9c, &(0x7f0000000000), 0x2, 0x0)\n");
        }
        i += 1;
    }
    for line in CRASH.lines() {
        log.extend_from_slice(format!("[ 9999.000000][T 5071] {line}\n").as_bytes());
    }
    log
}
