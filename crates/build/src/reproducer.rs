//! The reproducer, prepared once per bisection: a C program compiled
//! statically, a prebuilt binary, or a shell script.

use crate::run::{self, RunError};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long compiling a C reproducer may take.
const COMPILE_LIMIT: Duration = Duration::from_secs(300);

/// What the user gave as reproducer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReproducerSpec {
    /// A C source, compiled with `-static -O1 -pthread`.
    CSource(PathBuf),
    /// A ready executable (static, for the guest).
    Binary(PathBuf),
    /// A shell script, run by the guest's `sh`.
    Script(PathBuf),
}

impl ReproducerSpec {
    /// Guesses the kind from the file name: `.c` is C, `.sh` a script,
    /// anything else a binary.
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        match path.extension().and_then(|e| e.to_str()) {
            Some("c") => ReproducerSpec::CSource(path),
            Some("sh") => ReproducerSpec::Script(path),
            _ => ReproducerSpec::Binary(path),
        }
    }
}

/// The kind of a prepared reproducer, i.e. how the guest runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReproducerKind {
    /// Run directly.
    Executable,
    /// Run with `sh`.
    Script,
}

/// A reproducer ready to copy into the guest.
#[derive(Debug, Clone)]
pub struct PreparedReproducer {
    /// The file to copy into the guest.
    pub path: PathBuf,
    /// How to run it.
    pub kind: ReproducerKind,
    /// First version line of the compiler, for a compiled C source.
    pub compiler_line: Option<String>,
}

impl PreparedReproducer {
    /// The human-log line (syzbot's `building syzkaller on ...`), for a
    /// compiled reproducer only.
    pub fn log_line(&self) -> Option<String> {
        self.compiler_line
            .as_ref()
            .map(|line| format!("building reproducer on {line}"))
    }
}

/// Why the reproducer cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReproducerError {
    /// The file is missing or unreadable.
    #[error("reproducer {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A prebuilt binary without execute permission.
    #[error("reproducer {0} is not executable")]
    NotExecutable(PathBuf),
    /// The C source did not compile (the compiler output is in the error).
    #[error("compiling the reproducer: {0}")]
    Compile(#[from] RunError),
}

/// Prepares `spec` in `out_dir`: compiles a C source with `compiler`,
/// checks a binary, copies a script.
pub fn prepare(
    spec: &ReproducerSpec,
    out_dir: &Path,
    compiler: &Path,
) -> Result<PreparedReproducer, ReproducerError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReproducerError::Io { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    match spec {
        ReproducerSpec::CSource(source) => compile(source, out_dir, compiler),
        ReproducerSpec::Binary(binary) => {
            let mode = std::fs::metadata(binary)
                .map_err(io(binary))?
                .permissions()
                .mode();
            if mode & 0o111 == 0 {
                return Err(ReproducerError::NotExecutable(binary.clone()));
            }
            Ok(PreparedReproducer {
                path: run::absolute(binary),
                kind: ReproducerKind::Executable,
                compiler_line: None,
            })
        }
        ReproducerSpec::Script(script) => {
            let copy = out_dir.join("repro.sh");
            std::fs::copy(script, &copy).map_err(io(script))?;
            let executable = std::fs::Permissions::from_mode(0o755);
            std::fs::set_permissions(&copy, executable).map_err(io(&copy))?;
            Ok(PreparedReproducer {
                path: run::absolute(&copy),
                kind: ReproducerKind::Script,
                compiler_line: None,
            })
        }
    }
}

fn compile(
    source: &Path,
    out_dir: &Path,
    compiler: &Path,
) -> Result<PreparedReproducer, ReproducerError> {
    std::fs::metadata(source).map_err(|e| ReproducerError::Io {
        path: source.to_path_buf(),
        source: e,
    })?;
    let binary = run::absolute(&out_dir.join("repro"));
    let log = out_dir.join("repro-build.log");
    let _ = std::fs::remove_file(&log);
    let mut command = Command::new(compiler);
    command
        .args(["-static", "-O1", "-pthread", "-o"])
        .arg(&binary)
        .arg(run::absolute(source));
    run::run_logged(command, &log, Instant::now() + COMPILE_LIMIT, COMPILE_LIMIT)?;
    Ok(PreparedReproducer {
        path: binary,
        kind: ReproducerKind::Executable,
        compiler_line: run::first_version_line(compiler),
    })
}
