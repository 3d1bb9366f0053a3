//! `culprit cache`: the store of built kernels that every bisection on the
//! machine shares; shows it, and prunes it to a size (least recently used
//! kernels go first).

use std::path::PathBuf;
use std::time::SystemTime;

use culprit_build::store::{parse_size, KernelStore};

/// Arguments of `culprit cache`.
#[derive(clap::Args)]
pub struct Args {
    /// The store (default: $XDG_CACHE_HOME/culprit/kernels or
    /// ~/.cache/culprit/kernels, as bisections use it).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Remove the least recently used kernels until the store holds at
    /// most SIZE (bytes, or with K, M, G, T).
    #[arg(long, value_name = "SIZE")]
    prune: Option<String>,
}

/// Runs `culprit cache`; returns the exit code.
pub fn run(args: Args) -> i32 {
    let Some(dir) = args.dir.or_else(KernelStore::default_dir) else {
        eprintln!("culprit cache: no cache directory (set HOME or use --dir)");
        return 2;
    };
    let store = KernelStore::new(&dir);
    if let Some(size) = &args.prune {
        let cap = match parse_size(size) {
            Ok(cap) => cap,
            Err(e) => {
                eprintln!("culprit cache: --prune {size}: {e}");
                return 2;
            }
        };
        return match store.prune(cap) {
            Ok(pruned) => {
                println!(
                    "removed {} kernels; {} in use kept; {} left",
                    pruned.removed.len(),
                    pruned.busy,
                    human(pruned.kept_bytes)
                );
                0
            }
            Err(e) => {
                eprintln!("culprit cache: {e}");
                3
            }
        };
    }
    show(&store)
}

/// One line per stored kernel, most recently used first, and the total.
fn show(store: &KernelStore) -> i32 {
    let entries = match store.list() {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("culprit cache: {e}");
            return 3;
        }
    };
    println!("kernel store {}", store.root().display());
    let mut total = 0;
    for entry in &entries {
        total += entry.size;
        let what = match &entry.build {
            Some(b) => match &b.signature {
                Some(sig) => format!("kernel {} (tree {})", short(sig), short(&b.key.tree)),
                None => format!("build failure (tree {})", short(&b.key.tree)),
            },
            None => "unreadable entry".to_owned(),
        };
        println!(
            "{}  {:>9}  last used {}  {what}",
            short(&entry.id),
            human(entry.size),
            ago(entry.last_use)
        );
    }
    println!("{} kernels, {}", entries.len(), human(total));
    0
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// Bytes in the largest unit that keeps a number of at least 1.
fn human(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} B"),
        _ => format!("{value:.1} {}", units[unit]),
    }
}

/// A moment as UTC (`2026-12-01T08:06:32Z`).
fn ago(at: SystemTime) -> String {
    culprit_bisect::clock::utc_timestamp(at)
}
