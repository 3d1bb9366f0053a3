//! Errors of the host side: problems that make a run impossible to record.
//!
//! Problems of the test machine itself (QEMU refusing to start, a guest that
//! never boots) are not errors: they are run outcomes, see [`crate::RunKind`].
use std::path::PathBuf;

/// Writing the initramfs failed.
#[derive(Debug, thiserror::Error)]
pub enum InitramfsError {
    /// No statically linked busybox was found.
    #[error("no statically linked busybox found (looked in PATH and /bin/busybox); install busybox-static")]
    NoBusybox,
    /// An input file (busybox, the reproducer) could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A binary for the guest needs a C library (the guest has none).
    #[error("{} is not statically linked: the guest has no C library", .0.display())]
    NotStatic(PathBuf),
    /// The archive could not be written (e.g. the disk is full).
    #[error("cannot write initramfs {path}: {source}")]
    Write {
        /// The archive's path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A run could not be carried out or recorded on the host.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// The console log could not be created or written (unwritable directory,
    /// full disk): the run's evidence would be lost, so the run does not count.
    #[error("cannot save console output to {path}: {source}")]
    Console {
        /// The console log's path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A thread needed to watch QEMU could not be started.
    #[error("cannot watch the test machine: {0}")]
    Watch(std::io::Error),
    /// The run was not started because an earlier run of the same batch failed
    /// with a host error.
    #[error("run not started: an earlier run failed: {0}")]
    NotRun(String),
}
