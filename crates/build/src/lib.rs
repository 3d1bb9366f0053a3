//! Build recipes (a shell command, a Linux kernel), build signatures and
//! the caches that keep culprit from rebuilding what it has built.
//!
//! - [`signature`]: syzbot's ELF signature and whole-file hashes.
//! - [`ShellRecipe`]: generic mode, `sh -c COMMAND` plus an artifact.
//! - [`KernelRecipe`]: `.config` + `olddefconfig` + `make bzImage`,
//!   reproducible, through ccache, with a time limit.
//! - [`reproducer`]: the reproducer, compiled or checked once.
//! - [`BuildCache`]: one remembered build per (tree, recipe).
//! - [`KernelStore`]: built kernels shared by all bisections of a user,
//!   keyed by tree, configured `.config`, toolchain and recipe.
//! - [`BuildDeps`]: the files a kernel build read, and whether a commit's
//!   changes can change the kernel.
//! - [`syzkaller`]: syz programs' options, syz-execprog's command line, and
//!   syzkaller built per commit.
//! - [`kconfig`], [`kbuild`]: `.config` values, `olddefconfig`, Kconfig's
//!   dependencies, the options that compile a file.
//! - [`minimize`], [`minimize_driver`], [`instrumentation`]: config
//!   minimisation before a bisection.
//! - [`releases`]: a compiler per release, config fix-ups and backports.
#![deny(missing_docs)]

pub mod cache;
pub mod deps;
pub mod instrumentation;
pub mod kbuild;
pub mod kconfig;
pub mod kernel;
pub mod minimize;
pub mod minimize_driver;
pub mod releases;
pub mod reproducer;
pub mod run;
pub mod shell;
pub mod signature;
pub mod store;
pub mod syzkaller;

pub use cache::{BuildCache, CachedBuild};
pub use deps::{BuildDeps, DepsError, DepsShare};
pub use kernel::{BuildError, Configured, KernelBuild, KernelRecipe};
pub use reproducer::{PreparedReproducer, ReproducerKind, ReproducerSpec};
pub use shell::{ShellBuild, ShellBuildError, ShellRecipe};
pub use signature::{elf_signature, file_signature, SignatureError};
pub use store::{
    build_through, cache_dir, KernelStore, Restored, StoreError, StoreHit, StoreKey, ThroughStore,
};
