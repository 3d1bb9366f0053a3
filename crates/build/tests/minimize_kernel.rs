//! The config minimisation on a real kernel: the scenario of tests/kernel
//! at `scenario-bad` (a WARNING reachable through prctl), the scenario's
//! small config as the baseline, and a full config with four more
//! options. The reproducer warns only when `/proc/sysrq-trigger` exists,
//! so it needs CONFIG_MAGIC_SYSRQ and none of the three others. The
//! options each compile a file or two (none changes a structure that
//! every file sees), so after the first build each candidate is a short
//! incremental build of one checkout through ccache: at most six builds
//! in all (the first, a minimal bootable config, has no sysrq). Skipped with a message when linux-source-6.1, QEMU or a static
//! busybox is absent.

#[path = "support/kernel_host.rs"]
mod kernel_host;

use culprit_build::kconfig::KernelConfig;
use culprit_build::minimize::Verdict;
use culprit_build::minimize_driver::{self, CacheKey, CrashFacts, MinimizePlaces};
use culprit_build::reproducer::{self, ReproducerSpec};
use culprit_build::KernelRecipe;
use culprit_vm::{Initramfs, VmConfig};
use kernel_host::KernelHost;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const TARBALL: &str = "/usr/src/linux-source-6.1.tar.xz";
const TITLE: &str = "WARNING in prctl_scratch_check";
const EXTRA: [&str; 4] = ["MAGIC_SYSRQ", "KCMP", "FHANDLE", "SGETMASK_SYSCALL"];
const REPRO: &str = r#"
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>
int main(void)
{
	if (access("/proc/sysrq-trigger", F_OK) != 0) {
		printf("repro: no sysrq, nothing to do\n");
		return 0;
	}
	prctl(0x53435231, 1UL << 33, 0, 0, 0);
	return 0;
}
"#;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn missing() -> Option<String> {
    if !Path::new(TARBALL).is_file() {
        return Some(format!("{TARBALL} is absent (install linux-source-6.1)"));
    }
    if culprit_vm::find_in_path("qemu-system-x86_64").is_none() {
        return Some("qemu-system-x86_64 is absent".into());
    }
    if culprit_vm::find_busybox().is_none() {
        return Some("no static busybox (apt-get install busybox-static)".into());
    }
    None
}

/// The scenario repository: `CULPRIT_SCENARIO` when set, else made here.
fn scenario(scratch: &Path) -> PathBuf {
    if let Some(existing) = std::env::var_os("CULPRIT_SCENARIO") {
        return PathBuf::from(existing);
    }
    let repo = scratch.join("scenario");
    let script = workspace().join("tests/kernel/make-scenario.sh");
    let status = Command::new(script).arg(&repo).status().unwrap();
    assert!(status.success(), "make-scenario.sh failed");
    repo
}

fn machine(scratch: &Path) -> VmConfig {
    let source = scratch.join("repro.c");
    std::fs::write(&source, REPRO).unwrap();
    let spec = ReproducerSpec::CSource(source);
    let prepared = reproducer::prepare(&spec, &scratch.join("repro"), Path::new("gcc")).unwrap();
    let initramfs = scratch.join("initramfs.cpio");
    Initramfs::from_file(&prepared.path)
        .unwrap()
        .default_time_limit(Duration::from_secs(30))
        .write(&initramfs)
        .unwrap();
    let mut vm = VmConfig::new(Path::new("bzImage"), &initramfs);
    vm.boot_timeout = Duration::from_secs(120);
    vm.run_timeout = Duration::from_secs(30);
    vm
}

#[test]
fn minimisation_keeps_the_option_the_reproducer_needs_and_drops_the_others() {
    if let Some(why) = missing() {
        println!("skipped: {why}");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let scratch = scratch.path();
    let checkout = scratch.join("linux");
    let status = Command::new("git")
        .args(["clone", "-q", "--shared"])
        .arg(scenario(scratch))
        .arg(&checkout)
        .status()
        .unwrap();
    assert!(status.success());
    let commit = git(&checkout, &["rev-parse", "scenario-bad^{commit}"]);
    git(&checkout, &["checkout", "-q", "--detach", &commit]);

    let baseline = workspace().join("tests/kernel/config");
    let mut full = KernelConfig::read(&baseline).unwrap();
    for option in EXTRA {
        full.set(option, "y");
    }
    let full_file = scratch.join("full.config");
    full.write(&full_file).unwrap();

    let mut recipe = KernelRecipe::new(&baseline, "gcc");
    recipe.ccache = culprit_vm::find_in_path("ccache");
    recipe.timeout = Duration::from_secs(1800);
    let crash = CrashFacts {
        kind: None,
        title: TITLE.into(),
        report: None,
    };
    let vars = recipe.kconfig_variables();
    let mut input = minimize_driver::prepare(
        &checkout,
        &full_file,
        Some(&baseline),
        &crash,
        &vars,
        &scratch.join("configs"),
    )
    .unwrap();
    assert!(input.file_options.contains_key("kernel/sys.c"));
    input.reference_rate = Some(1.0);
    input.settings.runs = 1;
    let leaves = {
        let base = input.baseline.clone().unwrap().enabled();
        let candidates = input.full.enabled().difference(&base).cloned().collect();
        input.graph.leaves(&candidates).len()
    };
    println!("{leaves} leaves");

    let mut host = KernelHost {
        checkout: checkout.clone(),
        recipe,
        out: scratch.join("builds"),
        vm: machine(scratch),
        vms: 1,
        consoles: scratch.join("consoles"),
        same_bug: |title| title == TITLE,
        build_times: Vec::new(),
        probed: false,
    };
    let key = CacheKey {
        config: full.hash(),
        baseline: String::new(),
        commit: commit.clone(),
        reproducer: "repro".into(),
        compiler: "gcc".into(),
    };
    let places = MinimizePlaces {
        work_dir: scratch.join("minimize"),
        cache_dir: None,
    };
    let mut log = Vec::new();
    let outcome =
        minimize_driver::minimize(input, &commit, &key, &places, &mut host, &mut log).unwrap();
    let log = String::from_utf8(log).unwrap();
    println!("{log}");
    let result = outcome.result;

    // Checked on the config as the kernel's olddefconfig completes it.
    let vars = host.recipe.kconfig_variables();
    let built = culprit_build::kconfig::olddefconfig(
        &checkout,
        &result.config,
        &vars,
        &scratch.join("final.config"),
    )
    .unwrap();
    assert!(result.verified, "{log}");
    assert!(built.is_enabled("MAGIC_SYSRQ"), "{log}");
    for option in &EXTRA[1..] {
        assert!(!built.is_enabled(option), "{option} kept:\n{log}");
    }
    let dropped = result
        .decisions
        .iter()
        .filter(|d| d.verdict == Verdict::Dropped)
        .flat_map(|d| d.subject.iter());
    assert!(dropped.clone().any(|o| o == "KCMP"), "{log}");
    // The minimal bootable config (no sysrq: it does not reproduce), the
    // baseline, then at most two builds per halving of the leaves.
    let halvings = usize::BITS - (leaves.max(1) - 1).leading_zeros();
    let bound = 1 + 1 + 2 * halvings + 1;
    assert!(
        result.builds <= bound,
        "{} builds > {bound}:\n{log}",
        result.builds
    );
    assert_eq!(host.build_times.len() as u32, result.builds);
    assert!(
        log.contains("config candidate 1: a minimal bootable config"),
        "{log}"
    );
    assert!(
        log.contains("config candidate 2: the baseline: building"),
        "{log}"
    );
    // The minimal config boots and runs the reproducer (its decompressor's
    // early output is not taken for a reboot): its runs count.
    let minimal = log
        .lines()
        .find(|l| l.starts_with("config candidate 1: crashed in "))
        .unwrap_or_default();
    assert!(
        minimal.starts_with("config candidate 1: crashed in 0 of ")
            && !minimal.contains(" 0 of 0 runs"),
        "{log}"
    );
}
