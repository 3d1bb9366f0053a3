//! Boot + run time of the test machine: `cargo bench -p culprit-vm --bench boot`.
//! Needs a kernel: CULPRIT_TEST_KERNEL or target/test-kernel/bzImage.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use culprit_vm::{probe_accelerator, run_many, Initramfs, VmConfig};

fn main() {
    let well_known = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-kernel/bzImage");
    let kernel: PathBuf = std::env::var_os("CULPRIT_TEST_KERNEL").map_or(well_known, Into::into);
    if !kernel.is_file() {
        eprintln!("skipping: no test kernel (CULPRIT_TEST_KERNEL or target/test-kernel/bzImage)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("culprit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let initramfs = dir.join("initramfs.cpio");
    let start = Instant::now();
    Initramfs::new(b"#!/bin/sh\necho reproducer ran\n".to_vec())
        .write(&initramfs)
        .expect("initramfs");
    println!("initramfs written in {:?}", start.elapsed());
    let mut cfg = VmConfig::new(&kernel, &initramfs);
    let start = Instant::now();
    let probe = probe_accelerator(&cfg.qemu, Some(&kernel));
    let probe_time = start.elapsed();
    println!(
        "probe: {} ({}) in {probe_time:?}",
        probe.accelerator.name(),
        probe.reason
    );
    cfg.accelerator = probe.accelerator;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for vms in [1, cores] {
        let runs = 2 * vms;
        let start = Instant::now();
        let mut per_run = Vec::new();
        let results = run_many(
            &cfg,
            0..runs,
            vms,
            &dir.join(format!("vms-{vms}")),
            |_, r| {
                if let Ok(out) = r {
                    per_run.push(out.duration);
                }
                true
            },
        );
        let ok = results
            .iter()
            .filter(|r| r.as_ref().is_ok_and(|o| o.kind == culprit_vm::RunKind::Ok))
            .count();
        let mean =
            per_run.iter().sum::<Duration>() / u32::try_from(per_run.len().max(1)).unwrap_or(1);
        println!(
            "{runs} runs on {vms} VM(s) under {}: {:.2}s wall, {:.2}s per run (boot + run + power off), {ok}/{runs} OK",
            probe.accelerator.name(),
            start.elapsed().as_secs_f64(),
            mean.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
