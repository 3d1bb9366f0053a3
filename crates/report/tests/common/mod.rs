//! Where the shared test data lives, for the tests and benchmarks that read it.

use std::path::{Path, PathBuf};

/// `shared/testdata/<dir>` in the nearest ancestor of this crate that has
/// one (the main checkout's `/work/shared` from a worktree too), or the
/// directory `$CULPRIT_TESTDATA/<dir>`. `None`, with the reason printed,
/// when it is absent.
#[allow(dead_code)] // Each test binary uses its own subset.
pub fn testdata(dir: &str) -> Option<PathBuf> {
    let found = match std::env::var_os("CULPRIT_TESTDATA") {
        Some(root) => Some(Path::new(&root).join(dir)),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|a| a.join("shared/testdata").join(dir))
            .find(|p| p.is_dir()),
    };
    match found.filter(|p| p.is_dir()) {
        Some(path) => Some(path),
        None => {
            println!(
                "SKIPPED: shared/testdata/{dir} is absent above {} (or set CULPRIT_TESTDATA); \
                 the shared test data cases do not run",
                env!("CARGO_MANIFEST_DIR")
            );
            None
        }
    }
}

/// Which half of a held-out split a test file falls in: a fixed hash of
/// its name (FNV-1a, then splitmix64's finalizer so that every bit depends
/// on every byte), so the halves never change with the data's order or the
/// machine.
#[allow(dead_code)]
pub fn half(name: &str) -> usize {
    let mut x = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (x & 1) as usize
}
