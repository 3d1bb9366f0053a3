//! Prints the share of a kernel tree's tracked files that the last build in
//! it depends on (the figures of BENCHMARKS.md), and optionally saves the
//! deps.
//!
//! `cargo run --release -p culprit-build --example deps_share -- TREE [DEPS_FILE]`
//! (TREE: a git checkout where a kernel build finished.)

use culprit_build::{BuildDeps, DepsShare};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [tree, rest @ ..] = args.as_slice() else {
        eprintln!("usage: deps_share TREE [DEPS_FILE]");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let deps = match BuildDeps::from_tree(Path::new(tree)) {
        Ok(deps) => deps,
        Err(error) => {
            eprintln!("deps_share: {error}");
            return ExitCode::FAILURE;
        }
    };
    let read_time = start.elapsed();
    let share = match DepsShare::of_tree(Path::new(tree), &deps) {
        Ok(share) => share,
        Err(error) => {
            eprintln!("deps_share: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "files read by the build: {} (read in {read_time:.2?})",
        deps.len()
    );
    println!("tracked files: {}", share.tracked);
    let line = |what: &str, n: usize| println!("{what}: {n} ({:.1}%)", share.percent(n));
    line("tracked files read", share.read);
    line("tracked build-system files", share.build_system);
    line("tracked files counted relevant", share.relevant);
    if let Some(file) = rest.first() {
        if let Err(error) = deps.save(Path::new(file)) {
            eprintln!("deps_share: {error}");
            return ExitCode::FAILURE;
        }
        let size = std::fs::metadata(file).map_or(0, |m| m.len());
        println!("saved to {file} ({size} bytes)");
    }
    ExitCode::SUCCESS
}
