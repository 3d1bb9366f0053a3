//! Build side of the kernel benchmark: the kernels a cause bisection of the
//! tests/kernel scenario builds, incrementally in one worktree (culprit's
//! way) against `make distclean` before every build (syzbot's way), both
//! through the same ccache. Prints per-step and total times and the ratio.
//!
//! The bisection is `git bisect` between v6.1 and scenario-bad, answering
//! good/bad from whether the commit contains the culprit, and skip when the
//! build really fails. `cargo bench -p culprit-build --bench kernel_steps`
//! (needs linux-source-6.1; set CULPRIT_SCENARIO to reuse a scenario repo).

use culprit_build::KernelRecipe;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TARBALL: &str = "/usr/src/linux-source-6.1.tar.xz";
const CULPRIT: &str = "prctl: factor out scratch value checking";

fn git(repo: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scenario(scratch: &Path) -> Result<PathBuf, String> {
    if let Some(existing) = std::env::var_os("CULPRIT_SCENARIO") {
        return Ok(PathBuf::from(existing));
    }
    let repo = scratch.join("linux");
    let script = workspace().join("tests/kernel/make-scenario.sh");
    let status = Command::new(script)
        .arg(&repo)
        .status()
        .map_err(|e| e.to_string())?;
    status
        .success()
        .then_some(repo)
        .ok_or("make-scenario.sh failed".into())
}

/// One bisection: returns the build time of each step.
fn bisect(
    repo: &Path,
    worktree: &Path,
    recipe: &KernelRecipe,
    out: &Path,
) -> Result<Vec<(String, Duration, bool)>, String> {
    let culprit = git(
        repo,
        &[
            "log",
            "--format=%H",
            "--grep",
            &format!("^{CULPRIT}$"),
            "master",
        ],
    )?;
    let mut steps = Vec::new();
    let mut build = |rev: &str| -> Result<bool, String> {
        git(worktree, &["checkout", "-q", "--detach", rev])?;
        let title = git(worktree, &["log", "-1", "--format=%s"])?;
        let start = Instant::now();
        let built = recipe.build(worktree, out);
        let took = start.elapsed();
        let status = if built.is_ok() { "ok  " } else { "FAIL" };
        println!("  {:>6.1}s {status} {title}", took.as_secs_f64());
        steps.push((title, took, built.is_ok()));
        match built {
            Ok(_) => Ok(true),
            Err(e) if e.is_commit_failure() => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    };
    build("scenario-bad")?;
    build("v6.1")?;
    git(worktree, &["bisect", "start", "scenario-bad", "v6.1"])?;
    loop {
        let head = git(worktree, &["rev-parse", "HEAD"])?;
        let verdict = if !build(&head)? {
            "skip"
        } else if git(worktree, &["merge-base", "--is-ancestor", &culprit, &head]).is_ok() {
            "bad"
        } else {
            "good"
        };
        let said = git(worktree, &["bisect", verdict])?;
        if said.contains("is the first bad commit") || said.contains("only 'skip'ped") {
            break;
        }
    }
    git(worktree, &["bisect", "reset"])?;
    Ok(steps)
}

fn run() -> Result<(), String> {
    if !Path::new(TARBALL).is_file() {
        println!("skipped: {TARBALL} is absent");
        return Ok(());
    }
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let repo = scenario(scratch.path())?;
    let mut totals = Vec::new();
    for clean in [false, true] {
        let worktree = scratch
            .path()
            .join(if clean { "wt-clean" } else { "wt-incremental" });
        let wt = worktree.to_string_lossy().to_string();
        git(&repo, &["worktree", "add", "-q", "--detach", &wt, "v6.1"])?;
        let mut recipe = KernelRecipe::new(workspace().join("tests/kernel/config"), "gcc");
        recipe.ccache = Some(PathBuf::from("ccache"));
        recipe.clean = clean;
        println!("{} builds:", if clean { "clean" } else { "incremental" });
        let steps = bisect(&repo, &worktree, &recipe, &scratch.path().join("out"))?;
        let total: Duration = steps.iter().map(|s| s.1).sum();
        println!(
            "  total {:.1}s over {} steps",
            total.as_secs_f64(),
            steps.len()
        );
        totals.push(total);
        git(&repo, &["worktree", "remove", "--force", &wt])?;
    }
    println!(
        "incremental/clean build time: {:.2}",
        totals[0].as_secs_f64() / totals[1].as_secs_f64()
    );
    Ok(())
}

fn main() {
    if let Err(error) = run() {
        eprintln!("kernel_steps: {error}");
        std::process::exit(1);
    }
}
