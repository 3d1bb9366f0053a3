//! The Linux kernel recipe: `.config` completed with `olddefconfig` at each
//! commit, `make bzImage` (x86_64) with a chosen gcc or clang through
//! ccache, in an environment fixed so that a commit that does not change the
//! code gives the same vmlinux signature.

use crate::run::{self, RunError};
use crate::signature::{self, SignatureError};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Values that the kernel would otherwise take from the clock, the user,
/// the host and the build counter (they land in `init/version.c`).
const FIXED_ENV: [(&str, &str); 6] = [
    ("KBUILD_BUILD_TIMESTAMP", "Thu Jan  1 00:00:00 UTC 1970"),
    ("KBUILD_BUILD_USER", "culprit"),
    ("KBUILD_BUILD_HOST", "culprit"),
    ("KBUILD_BUILD_VERSION", "1"),
    // Set-but-empty stops scripts/setlocalversion from appending "+" on
    // commits after a tag, so the release string does not change.
    ("LOCALVERSION", ""),
    ("SOURCE_DATE_EPOCH", "0"),
];

/// How to build a kernel at a commit.
#[derive(Debug, Clone)]
pub struct KernelRecipe {
    /// The kernel configuration (a full `.config` or a fragment that
    /// `olddefconfig` completes).
    pub config: PathBuf,
    /// The C compiler: a gcc or a clang, by path or by name in `PATH`.
    pub compiler: PathBuf,
    /// The linker; `None` means `ld` (gcc) or `ld.lld` next to clang.
    pub linker: Option<PathBuf>,
    /// ccache to wrap the compiler with.
    pub ccache: Option<PathBuf>,
    /// `make -j`.
    pub jobs: usize,
    /// Time limit for the whole build of one commit.
    pub timeout: Duration,
    /// Run `make distclean` first (syzbot's behaviour; the baseline of the
    /// incremental-build benchmark).
    pub clean: bool,
}

/// A kernel that built.
#[derive(Debug, Clone)]
pub struct KernelBuild {
    /// The directory holding this build's copies (`<out_dir>/<signature>`).
    pub dir: PathBuf,
    /// Copy of `vmlinux` (for symbolizing reports).
    pub vmlinux: PathBuf,
    /// Copy of `arch/x86/boot/bzImage` (what QEMU boots).
    pub bzimage: PathBuf,
    /// The vmlinux signature (syzbot scheme).
    pub signature: String,
    /// `compiler:` line as in syzbot's log: compiler and linker version.
    pub compiler_line: String,
    /// Wall time of the build.
    pub duration: Duration,
    /// Full output of the build.
    pub log: PathBuf,
}

/// A worktree whose `.config` was completed by
/// [`KernelRecipe::configure`]: the only way to a store key, so a key never
/// names a config that `olddefconfig` has not seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configured {
    config_hash: String,
}

impl Configured {
    /// SHA-256 of the `.config` after `olddefconfig`.
    pub fn config_hash(&self) -> &str {
        &self.config_hash
    }
}

/// Why a kernel build gave no kernel.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The kernel does not build at this commit (a skip for bisection).
    #[error("kernel build failed (log: {log}); last output lines:\n{tail}")]
    Failed {
        /// The full output.
        log: PathBuf,
        /// Its last lines.
        tail: String,
    },
    /// The build ran past the time limit and was killed (also a skip).
    #[error("kernel build timed out after {limit:?} (log: {log}); last output lines:\n{tail}")]
    TimedOut {
        /// The full output.
        log: PathBuf,
        /// Its last lines.
        tail: String,
        /// The limit.
        limit: Duration,
    },
    /// The compiler or linker cannot be run.
    #[error("cannot run {0} --version")]
    Toolchain(PathBuf),
    /// Reading the config or copying results failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// vmlinux could not be hashed.
    #[error("vmlinux signature: {0}")]
    Signature(#[from] SignatureError),
    /// make could not be started.
    #[error("{0}")]
    Spawn(RunError),
}

impl BuildError {
    /// True when the error belongs to the commit (failed or timed-out
    /// build: the commit is skipped) rather than to the machine.
    pub fn is_commit_failure(&self) -> bool {
        matches!(
            self,
            BuildError::Failed { .. } | BuildError::TimedOut { .. }
        )
    }

    /// The kept output tail of a failed or timed-out build.
    pub fn output_tail(&self) -> Option<&str> {
        match self {
            BuildError::Failed { tail, .. } | BuildError::TimedOut { tail, .. } => Some(tail),
            _ => None,
        }
    }
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildError {
    let what = what.into();
    move |source| BuildError::Io { what, source }
}

impl KernelRecipe {
    /// A recipe with defaults: no ccache, linker from the compiler, one
    /// job per CPU, one hour limit, incremental.
    pub fn new(config: impl Into<PathBuf>, compiler: impl Into<PathBuf>) -> Self {
        KernelRecipe {
            config: config.into(),
            compiler: compiler.into(),
            linker: None,
            ccache: None,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            timeout: Duration::from_secs(3600),
            clean: false,
        }
    }

    fn is_clang(&self) -> bool {
        self.compiler
            .file_name()
            .is_some_and(|name| name.to_string_lossy().contains("clang"))
    }

    /// The linker used: the configured one, else `ld.lld` next to clang or
    /// `ld` next to gcc when present, else the name looked up in `PATH`.
    pub fn linker(&self) -> PathBuf {
        if let Some(linker) = &self.linker {
            return linker.clone();
        }
        let name = if self.is_clang() { "ld.lld" } else { "ld" };
        match self.compiler.parent() {
            Some(dir) if dir.join(name).is_file() => dir.join(name),
            _ => PathBuf::from(name),
        }
    }

    /// `gcc (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40`:
    /// the first `--version` line of the compiler and of the linker.
    pub fn compiler_line(&self) -> Result<String, BuildError> {
        let compiler = run::first_version_line(&self.compiler)
            .ok_or_else(|| BuildError::Toolchain(self.compiler.clone()))?;
        let linker_path = self.linker();
        let linker =
            run::first_version_line(&linker_path).ok_or(BuildError::Toolchain(linker_path))?;
        Ok(format!("{compiler}, {linker}"))
    }

    /// Changes whenever the same tree would build differently: the config
    /// contents and the toolchain versions (for [`crate::cache::BuildCache`]).
    pub fn fingerprint(&self) -> Result<String, BuildError> {
        let config = std::fs::read(&self.config)
            .map_err(io_error(format!("reading {}", self.config.display())))?;
        let mut text = format!("kernel\0{}\0", self.compiler_line()?).into_bytes();
        text.extend_from_slice(&config);
        Ok(signature::bytes_signature(&text))
    }

    /// Writes the recipe's config into `worktree` and completes it with
    /// `olddefconfig` at the commit checked out, always (Kconfig files
    /// differ between commits); then [`KernelRecipe::build`] finds it
    /// current and does not run it again. The result names the `.config`
    /// the build will use: with it, `StoreKey::of` makes the key of the
    /// kernel store. The output goes to a log in
    /// `out_dir`, kept only when `olddefconfig` fails (a commit failure:
    /// its Kconfig files do not parse).
    pub fn configure(&self, worktree: &Path, out_dir: &Path) -> Result<Configured, BuildError> {
        let deadline = Instant::now() + self.timeout;
        std::fs::create_dir_all(out_dir)
            .map_err(io_error(format!("creating {}", out_dir.display())))?;
        let log = out_dir.join(format!("configuring-{}.log", unique_suffix()));
        let config = self.config_text()?;
        let wanted = format!("{}\n{config}", self.compiler_line()?);
        let target = worktree.join(".config");
        std::fs::write(&target, config)
            .map_err(io_error(format!("writing {}", target.display())))?;
        if let Err(error) = self.make(worktree, &log, deadline, &["olddefconfig"]) {
            let _ = std::fs::remove_file(worktree.join(CONFIG_STAMP));
            return Err(self.failure(error, &log, out_dir));
        }
        let _ = std::fs::remove_file(&log);
        remember_config(worktree, &wanted);
        let bytes =
            std::fs::read(&target).map_err(io_error(format!("reading {}", target.display())))?;
        Ok(Configured {
            config_hash: signature::bytes_signature(&bytes),
        })
    }

    /// The toolchain's identity for store keys: the `compiler:` line and
    /// the SHA-256 of the compiler and linker binaries (a rebuilt package
    /// with the same version line is another toolchain).
    pub fn toolchain_identity(&self) -> Result<String, BuildError> {
        let line = self.compiler_line()?;
        let mut identity = line;
        for tool in [self.compiler.clone(), self.linker()] {
            let path = resolve_program(&tool).ok_or_else(|| BuildError::Toolchain(tool.clone()))?;
            let bytes =
                std::fs::read(&path).map_err(io_error(format!("reading {}", path.display())))?;
            identity.push_str(&format!("\n{}", signature::bytes_signature(&bytes)));
        }
        Ok(identity)
    }

    /// The recipe's identity for store keys: what is passed to `make` and
    /// how, without what does not change the kernel (the ccache wrapper,
    /// `-j`, the time limit).
    pub fn recipe_identity(&self) -> String {
        let mut recipe = Vec::new();
        recipe.push(format!("targets=olddefconfig bzImage clean={}", self.clean));
        recipe.push(format!("clang={}", self.is_clang()));
        recipe.extend(self.make_variables_without_ccache());
        recipe.extend(FIXED_ENV.iter().map(|(k, v)| format!("{k}={v}")));
        recipe.join("\n")
    }

    /// The `make` variables that decide a config (`ARCH=`, `CC=`, `LD=`...,
    /// without ccache), for [`crate::kconfig::olddefconfig`].
    pub fn kconfig_variables(&self) -> Vec<String> {
        self.make_variables_without_ccache()
    }

    fn make_variables_without_ccache(&self) -> Vec<String> {
        let plain = KernelRecipe {
            ccache: None,
            ..self.clone()
        };
        plain.make_variables()
    }

    /// Builds the kernel checked out in `worktree`; copies the results to
    /// `<out_dir>/<signature>/` so they survive the next checkout.
    pub fn build(&self, worktree: &Path, out_dir: &Path) -> Result<KernelBuild, BuildError> {
        let start = Instant::now();
        let deadline = culprit_proc::deadline_after(self.timeout);
        let compiler_line = self.compiler_line()?;
        std::fs::create_dir_all(out_dir)
            .map_err(io_error(format!("creating {}", out_dir.display())))?;
        let log = out_dir.join(format!("building-{}.log", unique_suffix()));
        let made = self.make_all(worktree, &log, deadline);
        if let Err(error) = made {
            return Err(self.failure(error, &log, out_dir));
        }
        let vmlinux = worktree.join("vmlinux");
        let signature = signature::file_signature(&vmlinux)?;
        let dir = out_dir.join(&signature);
        let kept_log = keep_results(worktree, &dir, &log)?;
        Ok(KernelBuild {
            vmlinux: dir.join("vmlinux"),
            bzimage: dir.join("bzImage"),
            dir,
            signature,
            compiler_line,
            duration: start.elapsed(),
            log: kept_log,
        })
    }

    fn make_all(&self, worktree: &Path, log: &Path, deadline: Instant) -> Result<(), BuildError> {
        if self.clean {
            self.make(worktree, log, deadline, &["distclean"])?;
        }
        let config = self.config_text()?;
        let wanted = format!("{}\n{config}", self.compiler_line()?);
        if !config_is_current(worktree, &wanted) {
            let target = worktree.join(".config");
            std::fs::write(&target, config)
                .map_err(io_error(format!("writing {}", target.display())))?;
            self.make(worktree, log, deadline, &["olddefconfig"])?;
            remember_config(worktree, &wanted);
        }
        let jobs = format!("-j{}", self.jobs.max(1));
        self.make(worktree, log, deadline, &[&jobs, "bzImage"])
    }

    /// The config to build with, forcing what the release string depends
    /// on (no `-gHASH` suffix, no local version).
    fn config_text(&self) -> Result<String, BuildError> {
        let config = std::fs::read_to_string(&self.config)
            .map_err(io_error(format!("reading {}", self.config.display())))?;
        let forced = ["CONFIG_LOCALVERSION_AUTO", "CONFIG_LOCALVERSION"];
        let mut text: String = config
            .lines()
            .filter(|line| !forced.iter().any(|name| mentions(line, name)))
            .map(|line| format!("{line}\n"))
            .collect();
        text.push_str("# CONFIG_LOCALVERSION_AUTO is not set\nCONFIG_LOCALVERSION=\"\"\n");
        Ok(text)
    }

    fn make(
        &self,
        worktree: &Path,
        log: &Path,
        deadline: Instant,
        targets: &[&str],
    ) -> Result<(), BuildError> {
        let mut command = Command::new("make");
        command
            .current_dir(worktree)
            .args(self.make_variables())
            .args(targets);
        command.envs(FIXED_ENV).env("LC_ALL", "C");
        run::run_logged(command, log, deadline, self.timeout).map_err(|error| match error {
            RunError::Spawn { .. } => BuildError::Spawn(error),
            RunError::Failed { tail, .. } => BuildError::Failed {
                log: log.to_path_buf(),
                tail,
            },
            RunError::TimedOut { tail, limit, .. } => BuildError::TimedOut {
                log: log.to_path_buf(),
                tail,
                limit,
            },
        })
    }

    /// `make` command-line variables (they override the Makefile's).
    fn make_variables(&self) -> Vec<String> {
        let wrap = |tool: &Path| match &self.ccache {
            Some(ccache) => format!("{} {}", ccache.display(), tool.display()),
            None => tool.display().to_string(),
        };
        let host = PathBuf::from(if self.is_clang() { "clang" } else { "gcc" });
        let host = match self.compiler.parent() {
            Some(dir) if dir.join(&host).is_file() => dir.join(host),
            _ => host,
        };
        let mut vars = vec![
            "ARCH=x86_64".to_string(),
            "CROSS_COMPILE=".to_string(),
            format!("CC={}", wrap(&self.compiler)),
            format!("HOSTCC={}", wrap(&host)),
            format!("LD={}", self.linker().display()),
        ];
        if self.is_clang() {
            vars.push("LLVM_IAS=1".to_string());
        }
        vars
    }

    /// Moves the log of a failed build aside and turns the error into one
    /// that names it.
    fn failure(&self, error: BuildError, log: &Path, out_dir: &Path) -> BuildError {
        let failed = out_dir.join(format!("failed-{}.log", unique_suffix()));
        let kept = match std::fs::rename(log, &failed) {
            Ok(()) => failed,
            Err(_) => log.to_path_buf(),
        };
        match error {
            BuildError::Failed { tail, .. } => BuildError::Failed { log: kept, tail },
            BuildError::TimedOut { tail, limit, .. } => BuildError::TimedOut {
                log: kept,
                tail,
                limit,
            },
            other => other,
        }
    }
}

/// The file a program name runs: itself when it has a directory part,
/// else the first match in `PATH`.
fn resolve_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Worktree file (dot files are git-ignored in the kernel) holding the
/// toolchain and config of the last `olddefconfig`, then its `.config`.
const CONFIG_STAMP: &str = ".culprit-config";

/// True when the worktree's `.config` is what `olddefconfig` made from the
/// same toolchain and config: writing and completing it again would only
/// cost time (Kconfig changes of a checkout are handled by `make` itself,
/// which runs `syncconfig` when a Kconfig file changed).
fn config_is_current(worktree: &Path, wanted: &str) -> bool {
    let stamp = std::fs::read_to_string(worktree.join(CONFIG_STAMP)).unwrap_or_default();
    let current = std::fs::read_to_string(worktree.join(".config")).ok();
    match (stamp.split_once('\0'), current) {
        (Some((input, output)), Some(current)) => input == wanted && output == current,
        _ => false,
    }
}

/// Records the result of `olddefconfig` for [`config_is_current`]; a failure
/// to write only costs a later `olddefconfig`.
fn remember_config(worktree: &Path, wanted: &str) {
    let stamp = worktree.join(CONFIG_STAMP);
    match std::fs::read_to_string(worktree.join(".config")) {
        Ok(output) => {
            let _ = std::fs::write(&stamp, format!("{wanted}\0{output}"));
        }
        Err(_) => {
            let _ = std::fs::remove_file(&stamp);
        }
    }
}

/// True when a `.config` line sets or unsets exactly this symbol.
fn mentions(line: &str, name: &str) -> bool {
    let set = line
        .strip_prefix(name)
        .is_some_and(|rest| rest.starts_with('='));
    set || line == format!("# {name} is not set")
}

/// Copies vmlinux and bzImage to `dir` (kept when already there: the same
/// signature means the same code) and moves the log next to them.
fn keep_results(worktree: &Path, dir: &Path, log: &Path) -> Result<PathBuf, BuildError> {
    std::fs::create_dir_all(dir).map_err(io_error(format!("creating {}", dir.display())))?;
    let outputs = [("vmlinux", "vmlinux"), ("arch/x86/boot/bzImage", "bzImage")];
    for (source, name) in outputs {
        let target = dir.join(name);
        if target.is_file() {
            continue;
        }
        let partial = dir.join(format!(".{name}.{}.partial", unique_suffix()));
        let from = worktree.join(source);
        std::fs::copy(&from, &partial)
            .and_then(|_| std::fs::rename(&partial, &target))
            .map_err(io_error(format!("copying {}", from.display())))?;
    }
    // One log per build: commits with the same signature share `dir`.
    let kept = dir.join(format!("build-{}.log", unique_suffix()));
    std::fs::rename(log, &kept).map_err(io_error(format!("moving {}", log.display())))?;
    Ok(kept)
}

fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_matches_exact_symbols_only() {
        assert!(mentions(
            "CONFIG_LOCALVERSION=\"-x\"",
            "CONFIG_LOCALVERSION"
        ));
        assert!(mentions(
            "# CONFIG_LOCALVERSION_AUTO is not set",
            "CONFIG_LOCALVERSION_AUTO"
        ));
        assert!(!mentions(
            "CONFIG_LOCALVERSION_AUTO=y",
            "CONFIG_LOCALVERSION"
        ));
    }

    #[test]
    fn gcc_compiler_line_names_compiler_and_linker() {
        let recipe = KernelRecipe::new("config", "gcc");
        let line = recipe.compiler_line().unwrap();
        assert!(line.starts_with("gcc "), "{line}");
        assert!(line.contains(", GNU ld "), "{line}");
    }
}
