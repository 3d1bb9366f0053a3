//! Builds the kernel checked out in a worktree with [`KernelRecipe`] and
//! prints what culprit's log would print.
//!
//! `cargo run --release -p culprit-build --example build_kernel -- WORKTREE OUT_DIR CONFIG [--clean]`
//! (ccache is used when found in `PATH`.)

use culprit_build::KernelRecipe;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [worktree, out_dir, config, rest @ ..] = args.as_slice() else {
        eprintln!("usage: build_kernel WORKTREE OUT_DIR CONFIG [--clean]");
        return ExitCode::from(2);
    };
    let mut recipe = KernelRecipe::new(config, "gcc");
    recipe.clean = rest.iter().any(|a| a == "--clean");
    recipe.ccache = which("ccache");
    match recipe.build(
        PathBuf::from(worktree).as_path(),
        PathBuf::from(out_dir).as_path(),
    ) {
        Ok(build) => {
            println!("compiler: {}", build.compiler_line);
            println!("kernel signature: {}", build.signature);
            println!("bzImage: {}", build.bzimage.display());
            println!("build time: {:.1?}", build.duration);
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("build failed: {error}");
            ExitCode::FAILURE
        }
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
