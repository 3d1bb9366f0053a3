//! Config minimisation on the real thing: linux-source-6.1 (the
//! tests/kernel scenario at `scenario-bad`), the demo's bug (`WARNING in
//! prctl_scratch_check`, tests/kernel/repro.c) and syzbot's full KASAN
//! config with its baseline. Not part of CI: the builds take tens of
//! minutes on 2 cores, and a full-config build over an hour and 20 GB.
//!
//! `cargo bench -p culprit-build --bench kconfig_minimize -- MODE...`:
//! - `minimize` (default): the minimisation with real builds (one checkout,
//!   its own cold ccache) and QEMU runs; prints each candidate, the
//!   builds, the time, the options kept, and writes the minimised config;
//! - `minimized-clean`: one clean build (`make distclean`, no ccache) of
//!   the minimised config written by `minimize`;
//! - `full-clean`: one clean build of the full config (about 70-90 min and
//!   20 GB of memory: run it alone, at a quiet moment).
//!
//! Wrap it in `flock /work/notes/kernel-build.lock`. Environment:
//! `CULPRIT_SCENARIO` (a scenario repository to reuse), `SYZBOT_CONFIGS`
//! (the directory of syzbot's configs; default `../shared/syzbot-configs`
//! beside the workspace, else /work/shared/syzbot-configs),
//! `CULPRIT_BENCH_DIR` (where the checkout and results stay; default a
//! temporary directory).

#[path = "../tests/support/kernel_host.rs"]
mod kernel_host;

use culprit_build::minimize_driver::{self, CacheKey, CrashFacts, MinimizePlaces};
use culprit_build::reproducer::{self, ReproducerSpec};
use culprit_build::KernelRecipe;
use culprit_vm::{Initramfs, VmConfig};
use kernel_host::KernelHost;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TARBALL: &str = "/usr/src/linux-source-6.1.tar.xz";
const TITLE: &str = "WARNING in prctl_scratch_check";

fn workspace() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn configs_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SYZBOT_CONFIGS") {
        return PathBuf::from(dir);
    }
    let beside = workspace().join("../shared/syzbot-configs");
    match beside.is_dir() {
        true => beside,
        false => PathBuf::from("/work/shared/syzbot-configs"),
    }
}

fn run(command: &mut Command) -> Result<String, String> {
    let out = command.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{command:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The bench's directory with a checkout of the scenario at scenario-bad.
fn checkout(dir: &Path) -> Result<(PathBuf, String), String> {
    let linux = dir.join("linux");
    if !linux.is_dir() {
        let scenario = match std::env::var_os("CULPRIT_SCENARIO") {
            Some(existing) => PathBuf::from(existing),
            None => {
                let repo = dir.join("scenario");
                let script = workspace().join("tests/kernel/make-scenario.sh");
                run(Command::new(script).arg(&repo))?;
                repo
            }
        };
        run(Command::new("git")
            .args(["clone", "-q", "--shared"])
            .arg(&scenario)
            .arg(&linux))?;
    }
    let git = |args: &[&str]| run(Command::new("git").arg("-C").arg(&linux).args(args));
    let commit = git(&["rev-parse", "scenario-bad^{commit}"])?;
    git(&["checkout", "-q", "--force", "--detach", &commit])?;
    Ok((linux, commit))
}

/// A ccache of the bench's own (cold on the first run).
fn ccache(dir: &Path) -> Result<Option<PathBuf>, String> {
    use std::os::unix::fs::PermissionsExt;
    if culprit_vm::find_in_path("ccache").is_none() {
        return Ok(None);
    }
    let wrapper = dir.join("ccache.sh");
    let text = format!(
        "#!/bin/sh\nexport CCACHE_DIR='{}' CCACHE_DEPEND=1\nexec ccache \"$@\"\n",
        dir.join("ccache").display()
    );
    std::fs::write(&wrapper, text).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    Ok(Some(wrapper))
}

fn machine(dir: &Path) -> Result<VmConfig, String> {
    let spec = ReproducerSpec::CSource(workspace().join("tests/kernel/repro.c"));
    let prepared = reproducer::prepare(&spec, &dir.join("repro"), Path::new("gcc"))
        .map_err(|e| e.to_string())?;
    let initramfs = dir.join("initramfs.cpio");
    Initramfs::from_file(&prepared.path)
        .map(|i| i.default_time_limit(Duration::from_secs(60)))
        .and_then(|i| i.write(&initramfs))
        .map_err(|e| e.to_string())?;
    let mut vm = VmConfig::new(Path::new("bzImage"), &initramfs);
    vm.memory_mb = 2048;
    vm.cpus = 2;
    vm.boot_timeout = Duration::from_secs(300);
    vm.run_timeout = Duration::from_secs(60);
    Ok(vm)
}

fn minimize(dir: &Path) -> Result<(), String> {
    let (linux, commit) = checkout(dir)?;
    let full = configs_dir().join("upstream-apparmor-kasan.config");
    let baseline = configs_dir().join("upstream-apparmor-kasan-base.config");
    let mut recipe = KernelRecipe::new(&full, "gcc");
    recipe.ccache = ccache(dir)?;
    recipe.timeout = Duration::from_secs(3 * 3600);
    let started = Instant::now();
    let crash = CrashFacts {
        kind: None,
        title: TITLE.into(),
        report: None,
    };
    let input = minimize_driver::prepare(
        &linux,
        &full,
        Some(&baseline),
        &crash,
        &recipe.kconfig_variables(),
        &dir.join("configs"),
    )
    .map_err(|e| e.to_string())?;
    println!("prepared in {:.0}s", started.elapsed().as_secs_f64());
    let key = CacheKey::of_files(
        &full,
        Some(&baseline),
        &commit,
        &workspace().join("tests/kernel/repro.c"),
        &recipe.compiler_line().map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let mut host = KernelHost {
        checkout: linux,
        recipe,
        out: dir.join("builds"),
        vm: machine(dir)?,
        vms: 2,
        consoles: dir.join("consoles"),
        same_bug: |title| title.starts_with("WARNING in prctl_scratch_"),
        build_times: Vec::new(),
        probed: false,
    };
    let places = MinimizePlaces {
        work_dir: dir.join("minimize"),
        cache_dir: None,
    };
    let mut log = std::io::stdout();
    let outcome = minimize_driver::minimize(input, &commit, &key, &places, &mut host, &mut log)
        .map_err(|e| e.to_string())?;
    let builds: Vec<String> = host
        .build_times
        .iter()
        .map(|t| format!("{:.0}s", t.as_secs_f64()))
        .collect();
    println!(
        "kconfig_minimize: {} builds ({}) in {:.0}s in all; {} options added to the baseline; config in {}",
        outcome.result.builds,
        builds.join(", "),
        started.elapsed().as_secs_f64(),
        outcome.result.added_options.len(),
        outcome.config_file.display()
    );
    Ok(())
}

fn clean_build(dir: &Path, config: &Path, what: &str) -> Result<(), String> {
    let (linux, _) = checkout(dir)?;
    let mut recipe = KernelRecipe::new(config, "gcc");
    recipe.clean = true;
    recipe.timeout = Duration::from_secs(4 * 3600);
    run(Command::new("git")
        .arg("-C")
        .arg(&linux)
        .args(["clean", "-qfdx"]))?;
    let build = recipe
        .build(&linux, &dir.join("builds"))
        .map_err(|e| e.to_string())?;
    println!(
        "kconfig_minimize: clean build of the {what} config: {:.0}s, bzImage {} MB",
        build.duration.as_secs_f64(),
        std::fs::metadata(&build.bzimage).map_or(0, |m| m.len() >> 20)
    );
    Ok(())
}

fn main() {
    if !Path::new(TARBALL).is_file() {
        println!("kconfig_minimize: skipped: {TARBALL} is absent");
        return;
    }
    let modes: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let temporary = tempfile::tempdir().ok();
    let dir = match (std::env::var_os("CULPRIT_BENCH_DIR"), &temporary) {
        (Some(dir), _) => PathBuf::from(dir),
        (None, Some(temporary)) => temporary.path().to_path_buf(),
        (None, None) => PathBuf::from("kconfig-bench"),
    };
    let _ = std::fs::create_dir_all(&dir);
    let modes = match modes.is_empty() {
        true => vec!["minimize".to_string()],
        false => modes,
    };
    for mode in modes {
        let result = match mode.as_str() {
            "minimize" => minimize(&dir),
            "minimized-clean" => {
                clean_build(&dir, &dir.join("minimize/minimized.config"), "minimized")
            }
            "full-clean" => clean_build(
                &dir,
                &configs_dir().join("upstream-apparmor-kasan.config"),
                "full",
            ),
            other => Err(format!(
                "unknown mode {other} (minimize, minimized-clean, full-clean)"
            )),
        };
        if let Err(error) = result {
            eprintln!("kconfig_minimize: {error}");
            std::process::exit(1);
        }
    }
}
