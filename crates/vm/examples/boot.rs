//! Boots a kernel with a reproducer once per VM and prints how each run
//! ended: `cargo run -p culprit-vm --example boot -- BZIMAGE REPRODUCER [RUNS] [VMS]`.
use std::path::Path;
use std::time::Instant;

use culprit_vm::{probe_accelerator, run_many, Initramfs, VmConfig};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(kernel), Some(repro)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: boot BZIMAGE REPRODUCER [RUNS] [VMS]");
        std::process::exit(2);
    };
    let runs = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let vms = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
    let dir = std::env::temp_dir().join(format!("culprit-boot-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }
    let initramfs = dir.join("initramfs.cpio");
    let built = Initramfs::from_file(Path::new(repro)).and_then(|i| i.write(&initramfs));
    if let Err(e) = built {
        eprintln!("{e}");
        std::process::exit(1);
    }
    let mut cfg = VmConfig::new(Path::new(kernel), &initramfs);
    let started = Instant::now();
    let probe = probe_accelerator(&cfg.qemu, Some(Path::new(kernel)));
    println!(
        "accelerator: {} ({}; probe took {:?})",
        probe.accelerator.name(),
        probe.reason,
        started.elapsed()
    );
    cfg.accelerator = probe.accelerator;
    let started = Instant::now();
    run_many(&cfg, 0..runs, vms, &dir.join("consoles"), |i, r| {
        match r {
            Ok(out) => println!(
                "run #{i}: {} ({:.1}s, console {})",
                out.kind.describe(),
                out.duration.as_secs_f64(),
                out.console.display()
            ),
            Err(e) => println!("run #{i}: error: {e}"),
        }
        true
    });
    println!(
        "{runs} runs on {vms} VMs took {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
