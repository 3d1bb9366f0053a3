//! The job file of a kernel bisection: `culprit bisect JOB.toml`.
//!
//! ```toml
//! repo = "linux"                 # the git repository (never modified)
//! bad = "HEAD"                   # the commit that crashes (cause) / crashed (fix)
//! good = ["v6.1"]                # cause only, optional: known good commits;
//!                                # without it culprit tests releases
//! fix = false                    # true: look for the commit that fixed the crash
//! good_end = "HEAD"              # fix only: a newer commit without the crash
//! crash = "WARNING in foo"       # optional: the crash to bisect; default:
//!                                # the most common crash at `bad`
//! workdir = "culprit-work"       # checkout, builds, consoles, journals (shared
//!                                # by the cause and fix bisections of a tree)
//! json = "result.json"           # optional: the outcome as JSON
//! show_diff = false              # true: print the culprit's patch
//! verify = true                  # revert the culprit to check it (default true)
//! paths = ["kernel", "mm"]       # optional: only commits touching these are suspects
//! strategy = "bayes"             # default bayes; or classic, plain
//! confidence = 0.99              # where bayes stops (default 0.99)
//! min_rate = 0.05                # bayes: lowest reproduction rate worth bisecting
//! runs = 6                       # runs of the reproducer per commit (default 8)
//! vms = 2                        # test machines at once (default 1)
//!
//! [kernel]
//! config = "config"              # a .config or a fragment for olddefconfig
//! compiler = "gcc"               # gcc or clang, by path or name
//! cmdline = "console=ttyS0 ..."  # optional; culprit's default otherwise
//! build_timeout = "30m"          # seconds, or "90s", "30m", "1h" (default 1h)
//! jobs = 2                       # make -j; default: one per CPU
//! ccache = true                  # default true
//! clean = false                  # true: make distclean before every build
//!
//! [reproducer]                   # exactly one of c, binary, script
//! c = "repro.c"
//! run_timeout = "20s"            # the reproducer's limit in the guest (default 60s)
//! boot_timeout = "60s"           # QEMU start to reproducer start (default 120s)
//!
//! [vm]                           # optional
//! memory = 256                   # MiB (default 256)
//! cpus = 1                       # default 1
//! qemu = "qemu-system-x86_64"
//! ```
//!
//! Relative paths are relative to the job file's directory. Unknown keys
//! and bad values are errors that name the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use culprit_build::ReproducerSpec;
use toml::{Table, Value};

use culprit_bisect::strategy::{self, StrategyConfig};
use culprit_bisect::{Direction, Outcome, Setup, SetupError, SetupRequest};

use crate::kernel_executor::{KernelExecutor, KernelSettings};

/// A bisection job, read from a job file.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The job file itself.
    pub file: PathBuf,
    /// The repository.
    pub repo: PathBuf,
    /// Cause or fix.
    pub direction: Direction,
    /// The crashing commit (as written: a revision).
    pub bad: String,
    /// Cause: the known good commits (may be empty). Fix: the newer end
    /// without the crash (one revision).
    pub good: Vec<String>,
    /// The title of the crash to bisect; `None`: the most common one at
    /// the bad end.
    pub crash: Option<String>,
    /// The work directory.
    pub workdir: PathBuf,
    /// Where to write the outcome as JSON.
    pub json: Option<PathBuf>,
    /// Print the culprit's patch after its diff stat.
    pub show_diff: bool,
    /// Check the culprit by its revert before reporting it.
    pub verify: bool,
    /// Only commits touching these paths are suspects.
    pub paths: Vec<String>,
    /// The strategy, its runs per commit and confidence.
    pub strategy: StrategyConfig,
    /// Test machines at once.
    pub vms: usize,
    /// How to build.
    pub kernel: KernelJob,
    /// What to run.
    pub reproducer: ReproducerJob,
    /// The test machine.
    pub vm: VmJob,
}

/// The `[kernel]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelJob {
    /// The kernel configuration file.
    pub config: PathBuf,
    /// The C compiler.
    pub compiler: PathBuf,
    /// The kernel command line; `None` for culprit's default.
    pub cmdline: Option<String>,
    /// Time limit of one build.
    pub build_timeout: Duration,
    /// `make -j`; `None`: one per CPU.
    pub jobs: Option<usize>,
    /// Wrap the compiler with ccache.
    pub ccache: bool,
    /// `make distclean` before every build (syzbot's way; slow).
    pub clean: bool,
    /// The store of built kernels shared by every bisection (`None`: none).
    pub store: Option<PathBuf>,
    /// The store's size cap in bytes (least recently used go first).
    pub store_size: Option<u64>,
}

/// The `[reproducer]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct ReproducerJob {
    /// The reproducer.
    pub spec: ReproducerSpec,
    /// Its time limit in the guest.
    pub run_timeout: Duration,
    /// Time from QEMU's start to the reproducer's start.
    pub boot_timeout: Duration,
}

/// The `[vm]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct VmJob {
    /// Guest memory in MiB.
    pub memory_mb: u32,
    /// Guest CPUs.
    pub cpus: u32,
    /// The QEMU binary.
    pub qemu: PathBuf,
}

/// Why a job file cannot be used. Each message is one line naming the file
/// and, for bad values, the key.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The file cannot be read.
    #[error("job file {}: {source}", file.display())]
    Read {
        /// The job file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML.
    #[error("job file {}: not valid TOML: {message}", file.display())]
    Syntax {
        /// The job file.
        file: PathBuf,
        /// The parser's message, on one line.
        message: String,
    },
    /// A key is missing, unknown or has a bad value.
    #[error("job file {}: {key}: {message}", file.display())]
    Key {
        /// The job file.
        file: PathBuf,
        /// The key, dotted (`kernel.config`).
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// Default strategy, runs, VMs, timeouts.
const DEFAULT_RUNS: u32 = 8;
const DEFAULT_BUILD_TIMEOUT: Duration = Duration::from_secs(3600);
const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_BOOT_TIMEOUT: Duration = Duration::from_secs(120);

impl Job {
    /// Reads and checks a job file. Files it names must exist (the work
    /// directory and the JSON file need not).
    pub fn load(file: &Path) -> Result<Job, JobError> {
        let text = std::fs::read_to_string(file).map_err(|source| JobError::Read {
            file: file.to_owned(),
            source,
        })?;
        Job::parse(&text, file)
    }

    /// Parses job file text; `file` is used for messages and relative paths.
    pub fn parse(text: &str, file: &Path) -> Result<Job, JobError> {
        let table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| JobError::Syntax {
                file: file.to_owned(),
                message: one_line(e.message()),
            })?;
        // Absolute, so that paths stay right in the build's directory.
        let parent = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = std::path::absolute(parent).unwrap_or_else(|_| parent.to_owned());
        let top = Keys::new(file, &base, &table, "");
        top.only(&[
            "repo",
            "bad",
            "good",
            "fix",
            "good_end",
            "crash",
            "workdir",
            "json",
            "show_diff",
            "verify",
            "paths",
            "strategy",
            "confidence",
            "min_rate",
            "runs",
            "vms",
            "kernel",
            "reproducer",
            "vm",
        ])?;
        let fix = top.bool("fix")?.unwrap_or(false);
        let direction = if fix {
            Direction::Fix
        } else {
            Direction::Cause
        };
        let good = match direction {
            Direction::Cause => {
                top.forbid_with("good_end", "fix")?;
                top.strings("good")?.unwrap_or_default()
            }
            Direction::Fix => {
                top.forbid_with("good", "fix = true (use good_end)")?;
                vec![top.string("good_end")?.unwrap_or_else(|| "HEAD".into())]
            }
        };
        let repo = top
            .existing_path("repo")?
            .ok_or_else(|| top.missing("repo"))?;
        Ok(Job {
            file: file.to_owned(),
            bad: top.string("bad")?.ok_or_else(|| top.missing("bad"))?,
            direction,
            good,
            crash: top.string("crash")?,
            workdir: top
                .path("workdir")?
                .unwrap_or_else(|| base.join("culprit-work")),
            json: top.path("json")?,
            show_diff: top.bool("show_diff")?.unwrap_or(false),
            verify: top.bool("verify")?.unwrap_or(true),
            paths: top.strings("paths")?.unwrap_or_default(),
            strategy: StrategyConfig {
                name: top.strategy()?,
                runs: top.runs()?,
                confidence: top.confidence()?,
                min_rate: top.min_rate()?,
            },
            vms: top.positive("vms")?.unwrap_or(1),
            kernel: kernel_job(&top.table("kernel")?)?,
            reproducer: reproducer_job(&top.table("reproducer")?)?,
            vm: vm_job(&top.table("vm")?)?,
            repo,
        })
    }
}

impl Job {
    /// The kernel executor of this job for a prepared bisection; its own
    /// lines (reproducer, accelerator) go to `log`.
    pub fn executor(&self, setup: &Setup, log: Box<dyn std::io::Write + Send>) -> KernelExecutor {
        let settings = KernelSettings::from_job(self, &setup.bisection_dir);
        KernelExecutor::new(setup.repo.clone(), settings, log)
    }

    /// Prepares and runs the bisection: the engine's log goes to `out`,
    /// the executor's lines to `log`. The JSON is written if asked for.
    pub fn run(
        &self,
        out: &mut dyn std::io::Write,
        log: Box<dyn std::io::Write + Send>,
    ) -> Result<Outcome, SetupError> {
        let setup = self.setup_request().prepare()?;
        let mut exec = self.executor(&setup, log);
        let mut text = culprit_render::TextLog::new(out);
        Ok(setup.run(&mut exec, &mut text, &mut std::io::sink()).0)
    }

    /// The bisection this job asks for, in the form both modes share.
    pub fn setup_request(&self) -> SetupRequest {
        SetupRequest {
            repo: self.repo.clone(),
            direction: self.direction,
            bad: self.bad.clone(),
            good: self.good.clone(),
            crash: self.crash.clone(),
            strategy: self.strategy.clone(),
            workdir: Some(self.workdir.clone()),
            json: self.json.clone(),
            show_diff: self.show_diff,
            verify: self.verify,
            paths: self.paths.clone(),
            executor_params: serde_json::json!({
                "config": self.kernel.config,
                "compiler": self.kernel.compiler,
                "cmdline": self.kernel.cmdline,
                "clean": self.kernel.clean,
                "reproducer": format!("{:?}", self.reproducer.spec),
            }),
        }
    }
}

fn kernel_job(keys: &Keys<'_>) -> Result<KernelJob, JobError> {
    keys.only(&[
        "config",
        "compiler",
        "cmdline",
        "build_timeout",
        "jobs",
        "ccache",
        "clean",
        "store",
        "store_size",
    ])?;
    let config = keys
        .existing_path("config")?
        .ok_or_else(|| keys.missing("config"))?;
    Ok(KernelJob {
        config,
        compiler: keys.program("compiler")?.unwrap_or_else(|| "gcc".into()),
        cmdline: keys.string("cmdline")?,
        build_timeout: keys
            .duration("build_timeout")?
            .unwrap_or(DEFAULT_BUILD_TIMEOUT),
        jobs: keys.positive("jobs")?,
        ccache: keys.bool("ccache")?.unwrap_or(true),
        clean: keys.bool("clean")?.unwrap_or(false),
        store: match keys.string("store")?.as_deref() {
            Some("none") => None,
            Some(dir) => Some(keys.base.join(dir)),
            None => culprit_build::store::KernelStore::default_dir(),
        },
        store_size: keys.size("store_size")?,
    })
}

fn reproducer_job(keys: &Keys<'_>) -> Result<ReproducerJob, JobError> {
    keys.only(&["c", "binary", "script", "run_timeout", "boot_timeout"])?;
    let given = [
        keys.existing_path("c")?.map(ReproducerSpec::CSource),
        keys.existing_path("binary")?.map(ReproducerSpec::Binary),
        keys.existing_path("script")?.map(ReproducerSpec::Script),
    ];
    let mut specs = given.into_iter().flatten();
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        return Err(keys.error("", "give exactly one of c, binary, script"));
    };
    Ok(ReproducerJob {
        spec,
        run_timeout: keys.duration("run_timeout")?.unwrap_or(DEFAULT_RUN_TIMEOUT),
        boot_timeout: keys
            .duration("boot_timeout")?
            .unwrap_or(DEFAULT_BOOT_TIMEOUT),
    })
}

fn vm_job(keys: &Keys<'_>) -> Result<VmJob, JobError> {
    keys.only(&["memory", "cpus", "qemu"])?;
    let small = |key: &str, default: u32| -> Result<u32, JobError> {
        let value = keys.positive(key)?.unwrap_or(default as usize);
        u32::try_from(value).map_err(|_| keys.error(key, "too large"))
    };
    Ok(VmJob {
        memory_mb: small("memory", 256)?,
        cpus: small("cpus", 1)?,
        qemu: keys
            .program("qemu")?
            .unwrap_or_else(|| "qemu-system-x86_64".into()),
    })
}

/// The text of a TOML parser message on one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Typed access to one table of the job file, with errors naming the key.
struct Keys<'a> {
    file: &'a Path,
    base: &'a Path,
    table: &'a Table,
    prefix: &'a str,
}

impl<'a> Keys<'a> {
    fn new(file: &'a Path, base: &'a Path, table: &'a Table, prefix: &'a str) -> Self {
        Keys {
            file,
            base,
            table,
            prefix,
        }
    }

    fn error(&self, key: &str, message: impl Into<String>) -> JobError {
        let key = match (self.prefix, key) {
            ("", key) => key.to_owned(),
            (prefix, "") => format!("[{prefix}]"),
            (prefix, key) => format!("{prefix}.{key}"),
        };
        JobError::Key {
            file: self.file.to_owned(),
            key,
            message: message.into(),
        }
    }

    fn missing(&self, key: &str) -> JobError {
        self.error(key, "missing")
    }

    fn only(&self, known: &[&str]) -> Result<(), JobError> {
        match self.table.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(self.error(
                unknown,
                format!("unknown key (known: {})", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    fn forbid_with(&self, key: &str, because: &str) -> Result<(), JobError> {
        match self.table.contains_key(key) {
            true => Err(self.error(key, format!("not allowed with {because}"))),
            false => Ok(()),
        }
    }

    fn typed<T>(
        &self,
        key: &str,
        expected: &str,
        convert: impl FnOnce(&Value) -> Option<T>,
    ) -> Result<Option<T>, JobError> {
        let Some(value) = self.table.get(key) else {
            return Ok(None);
        };
        match convert(value) {
            Some(v) => Ok(Some(v)),
            None => Err(self.error(key, format!("expected {expected}, got {value}"))),
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>, JobError> {
        self.typed(key, "a non-empty string", |v| {
            v.as_str()
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
        })
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, JobError> {
        self.typed(key, "true or false", Value::as_bool)
    }

    fn positive(&self, key: &str) -> Result<Option<usize>, JobError> {
        self.typed(key, "a positive integer", |v| {
            v.as_integer()
                .filter(|n| *n > 0)
                .and_then(|n| usize::try_from(n).ok())
        })
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, JobError> {
        self.typed(key, "a string or a list of strings", |v| match v {
            Value::String(s) if !s.trim().is_empty() => Some(vec![s.clone()]),
            Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .filter(|s| !s.trim().is_empty())
                        .map(str::to_owned)
                })
                .collect(),
            _ => None,
        })
    }

    fn size(&self, key: &str) -> Result<Option<u64>, JobError> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        culprit_build::store::parse_size(&text)
            .map(Some)
            .map_err(|e| self.error(key, e))
    }

    fn duration(&self, key: &str) -> Result<Option<Duration>, JobError> {
        self.typed(
            key,
            "seconds or a duration like \"90s\", \"30m\", \"1h\"",
            |v| match v {
                Value::Integer(n) if *n > 0 => u64::try_from(*n).ok().map(Duration::from_secs),
                Value::String(s) => parse_duration(s),
                _ => None,
            },
        )
    }

    /// A path, relative to the job file's directory.
    fn path(&self, key: &str) -> Result<Option<PathBuf>, JobError> {
        Ok(self.string(key)?.map(|s| self.base.join(s)))
    }

    /// A path that must exist.
    fn existing_path(&self, key: &str) -> Result<Option<PathBuf>, JobError> {
        let Some(path) = self.path(key)? else {
            return Ok(None);
        };
        match path.exists() {
            true => Ok(Some(path)),
            false => Err(self.error(key, format!("{} does not exist", path.display()))),
        }
    }

    /// A program: a bare name is looked up in `PATH` when run; a name with
    /// a slash is a path relative to the job file.
    fn program(&self, key: &str) -> Result<Option<PathBuf>, JobError> {
        Ok(self.string(key)?.map(|s| match s.contains('/') {
            true => self.base.join(s),
            false => PathBuf::from(s),
        }))
    }

    fn table(&self, key: &'a str) -> Result<Keys<'a>, JobError> {
        static EMPTY: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
        let table = match self.table.get(key) {
            None => EMPTY.get_or_init(Table::new),
            Some(Value::Table(t)) => t,
            Some(other) => return Err(self.error(key, format!("expected a table, got {other}"))),
        };
        Ok(Keys::new(self.file, self.base, table, key))
    }

    fn strategy(&self) -> Result<String, JobError> {
        let name = self
            .string("strategy")?
            .unwrap_or_else(|| strategy::DEFAULT.into());
        match strategy::NAMES.contains(&name.as_str()) {
            true => Ok(name),
            false => Err(self.error(
                "strategy",
                format!(
                    "unknown strategy {name:?} (known: {})",
                    strategy::NAMES.join(", ")
                ),
            )),
        }
    }

    fn runs(&self) -> Result<u32, JobError> {
        let runs = self.positive("runs")?.unwrap_or(DEFAULT_RUNS as usize);
        u32::try_from(runs).map_err(|_| self.error("runs", "too large"))
    }

    fn confidence(&self) -> Result<f64, JobError> {
        let confidence = self.typed("confidence", "a probability in [0.5, 1)", |v| {
            let p = v.as_float().or_else(|| v.as_integer().map(|i| i as f64))?;
            (0.5..1.0).contains(&p).then_some(p)
        })?;
        Ok(confidence.unwrap_or(strategy::DEFAULT_CONFIDENCE))
    }

    fn min_rate(&self) -> Result<f64, JobError> {
        let rate = self.typed("min_rate", "a rate in (0, 1]", |v| {
            let p = v.as_float().or_else(|| v.as_integer().map(|i| i as f64))?;
            (p > 0.0 && p <= 1.0).then_some(p)
        })?;
        Ok(rate.unwrap_or(strategy::bayes::DEFAULT_MIN_RATE))
    }
}

/// `"90s"`, `"30m"`, `"1h"` or `"45"` (seconds).
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok().filter(|n| *n > 0)?;
    let factor = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(factor)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory with a repo dir, a config and a reproducer.
    fn files() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("linux")).unwrap();
        std::fs::write(dir.path().join("config"), "CONFIG_64BIT=y\n").unwrap();
        std::fs::write(dir.path().join("repro.c"), "int main(){}\n").unwrap();
        dir
    }

    const MINIMAL: &str = "repo = \"linux\"\nbad = \"HEAD\"\n\
                           [kernel]\nconfig = \"config\"\n[reproducer]\nc = \"repro.c\"\n";

    fn parse(dir: &tempfile::TempDir, text: &str) -> Result<Job, JobError> {
        Job::parse(text, &dir.path().join("job.toml"))
    }

    fn error(dir: &tempfile::TempDir, text: &str) -> String {
        parse(dir, text).unwrap_err().to_string()
    }

    #[test]
    fn minimal_job_takes_defaults_and_resolves_paths() {
        let dir = files();
        let job = parse(&dir, MINIMAL).unwrap();
        assert_eq!(job.repo, dir.path().join("linux"));
        assert_eq!(job.direction, Direction::Cause);
        assert!(job.good.is_empty());
        assert_eq!(job.workdir, dir.path().join("culprit-work"));
        assert_eq!(job.kernel.compiler, PathBuf::from("gcc"));
        assert!(job.kernel.ccache && !job.kernel.clean);
        assert_eq!(
            job.reproducer.spec,
            ReproducerSpec::CSource(dir.path().join("repro.c"))
        );
        assert_eq!(job.strategy.runs, DEFAULT_RUNS);
        assert_eq!(job.strategy.confidence, strategy::DEFAULT_CONFIDENCE);
        assert_eq!(job.vm.memory_mb, 256);
    }

    #[test]
    fn full_fix_job() {
        let dir = files();
        let text = "fix = true\ngood_end = \"main\"\ncrash = \"WARNING in f\"\nruns = 4\nvms = 2\njson = \"out.json\"\n\
                    repo = \"linux\"\nbad = \"v6.1\"\n\
                    [kernel]\nconfig = \"config\"\nbuild_timeout = \"30m\"\njobs = 3\n\
                    compiler = \"/usr/bin/clang\"\n\
                    [reproducer]\nc = \"repro.c\"\nrun_timeout = 20\nboot_timeout = \"2m\"\n\
                    [vm]\nmemory = 512\n";
        let job = parse(&dir, text).unwrap();
        assert_eq!(job.direction, Direction::Fix);
        assert_eq!(job.bad, "v6.1");
        assert_eq!(job.crash.as_deref(), Some("WARNING in f"));
        assert_eq!(job.good, ["main"]);
        assert_eq!((job.strategy.runs, job.vms), (4, 2));
        assert_eq!(job.json, Some(dir.path().join("out.json")));
        assert_eq!(job.kernel.build_timeout, Duration::from_secs(1800));
        assert_eq!(job.kernel.jobs, Some(3));
        assert_eq!(job.kernel.compiler, PathBuf::from("/usr/bin/clang"));
        assert_eq!(job.reproducer.run_timeout, Duration::from_secs(20));
        assert_eq!(job.reproducer.boot_timeout, Duration::from_secs(120));
        assert_eq!(job.vm.memory_mb, 512);
    }

    #[test]
    fn bad_values_name_their_key_on_one_line() {
        let dir = files();
        let cases = [
            (
                format!("runs = 0\n{MINIMAL}"),
                "runs: expected a positive integer",
            ),
            (
                format!("runs = \"x\"\n{MINIMAL}"),
                "runs: expected a positive integer, got \"x\"",
            ),
            (format!("colour = 1\n{MINIMAL}"), "colour: unknown key"),
            (
                MINIMAL.replace("config\"\n", "config\"\ncc = \"x\"\n"),
                "kernel.cc: unknown key",
            ),
            (MINIMAL.replace("\"config\"", "\"nope\""), "kernel.config: "),
            (MINIMAL.replace("bad = \"HEAD\"\n", ""), "bad: missing"),
            (
                format!("{MINIMAL}script = \"repro.c\"\n"),
                "[reproducer]: give exactly one",
            ),
            (
                format!("{MINIMAL}run_timeout = \"5 days\"\n"),
                "reproducer.run_timeout: expected",
            ),
            (
                format!("good_end = \"x\"\n{MINIMAL}"),
                "good_end: not allowed with fix",
            ),
            (
                format!("fix = true\ngood = \"x\"\n{MINIMAL}"),
                "good: not allowed with fix = true",
            ),
            (
                format!("strategy = \"magic\"\n{MINIMAL}"),
                "strategy: unknown strategy \"magic\"",
            ),
            (
                format!("confidence = 1.5\n{MINIMAL}"),
                "confidence: expected a probability in [0.5, 1), got 1.5",
            ),
            ("repo = [".to_string(), "not valid TOML"),
        ];
        for (text, expected) in cases {
            let message = error(&dir, &text);
            assert!(
                message.contains(expected),
                "{expected:?} not in {message:?}"
            );
            assert!(!message.contains('\n'), "{message:?}");
        }
    }

    #[test]
    fn the_confidence_setting_reaches_the_strategy() {
        let dir = files();
        let job = parse(&dir, &format!("confidence = 0.9\n{MINIMAL}")).unwrap();
        let request = job.setup_request();
        assert_eq!(request.strategy.confidence, 0.9);
        let built = request.strategy.build().unwrap();
        assert_eq!(built.name(), "bayes");
        assert_eq!(built.target_confidence(), Some(0.9));
    }

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("1d"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let err = Job::load(Path::new("/nonexistent/job.toml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("job file /nonexistent/job.toml: "),
            "{err}"
        );
    }
}
