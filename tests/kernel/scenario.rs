//! The kernel scenario's repository for tests and benchmarks, made once per
//! version of `make-scenario.sh` and its patches under
//! `target/culprit-scenario/KEY/linux`, shared by every test that uses it.
//! Included with `#[path]` (it is no crate's code).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The scenario repository of the workspace at `root`, made first if this
/// version of the scenario was never made.
pub fn scenario(root: &Path) -> Result<PathBuf, String> {
    let kernel = root.join("tests/kernel");
    let mut inputs = std::fs::read(kernel.join("make-scenario.sh")).map_err(|e| e.to_string())?;
    let mut patches: Vec<PathBuf> = std::fs::read_dir(kernel.join("patches"))
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    patches.sort();
    for patch in patches {
        inputs.extend(std::fs::read(&patch).map_err(|e| e.to_string())?);
    }
    let key = culprit_build::signature::bytes_signature(&inputs);
    let dir = root.join("target/culprit-scenario").join(&key[..16]);
    let repo = dir.join("linux");
    if repo.join(".git").is_dir() {
        return Ok(repo);
    }
    let partial = dir.join(format!("linux.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let status = Command::new("bash")
        .arg(kernel.join("make-scenario.sh"))
        .arg(&partial)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("make-scenario.sh failed ({status})"));
    }
    // Another process may have finished first: its copy is as good.
    if std::fs::rename(&partial, &repo).is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    Ok(repo)
}
