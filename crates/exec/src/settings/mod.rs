//! Every setting of a bisection, read the same way from its three doors:
//! the command line's flags, a job file (TOML) and a service job (TOML or
//! JSON). The table ([`table::TABLE`]) defines each setting once; this
//! module reads a document into [`Settings`], with one error shape for
//! every door: the setting, the value, the reason.
//!
//! A document is a generic job (`build`, `test`) or a kernel job (a
//! `[kernel]` table, a reproducer); flags given with a job file override
//! its values, and a flag the job's kind does not have is refused.

mod doors;
mod pathspec;
pub mod table;
mod value;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use culprit_bisect::strategy::StrategyConfig;
use culprit_bisect::{Direction, SetupRequest};
use culprit_build::releases::{Backport, CompilerRule, CompilerTable, ConfigFixup};
use culprit_build::syzkaller::SyzkallerSource;
use culprit_build::ReproducerSpec;
use toml::{Table, Value};

pub use doors::{flag_values, FlagValues};
pub use table::Lit;
pub use table::{Def, Kind, Scope, TABLE};
pub use value::parse_duration;
use value::Checked;

/// Where a document came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Door {
    /// The command line's flags.
    Flags,
    /// A job file.
    File(PathBuf),
    /// A job submitted to the service.
    Service,
}

/// A setting that cannot be used: which, the value given (if any) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// Where it came from.
    pub door: Door,
    /// The setting as the door names it: `--confidence`, `confidence`,
    /// `kernel.config`; empty when the whole document is at fault.
    pub name: String,
    /// The value as given (TOML's way of writing it); `None` when missing.
    pub value: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Door::File(file) = &self.door {
            write!(f, "job file {}: ", file.display())?;
        }
        let sep = if self.door == Door::Flags { " " } else { " = " };
        match (self.name.as_str(), &self.value) {
            ("", _) => write!(f, "{}", self.reason),
            (name, Some(value)) => write!(f, "{name}{sep}{value}: {}", self.reason),
            (name, None) => write!(f, "{name}: {}", self.reason),
        }
    }
}

impl std::error::Error for SettingError {}

/// A bisection's settings, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The repository.
    pub repo: PathBuf,
    /// Cause or fix.
    pub direction: Direction,
    /// The crashing commit (as written).
    pub bad: String,
    /// Cause: the good commits (may be empty). Fix: the newer good end.
    pub good: Vec<String>,
    /// The crash to bisect, by title.
    pub crash: Option<String>,
    /// Only commits touching these are suspects.
    pub paths: Vec<String>,
    /// The strategy and its settings.
    pub strategy: StrategyConfig,
    /// Check the culprit by its revert.
    pub verify: bool,
    /// Time limit of one build.
    pub build_timeout: Duration,
    /// Time limit of one run.
    pub test_timeout: Duration,
    /// The work directory; `None`: one per bisection in the cache.
    pub workdir: Option<PathBuf>,
    /// Where to write the outcome as JSON.
    pub json: Option<PathBuf>,
    /// Where to write the bisection's page.
    pub html: Option<PathBuf>,
    /// Print the culprit's patch.
    pub show_diff: bool,
    /// How commits are built and tested.
    pub recipe: Recipe,
}

/// How commits are built and tested.
#[derive(Debug, Clone, PartialEq)]
pub enum Recipe {
    /// Shell commands.
    Shell(ShellJob),
    /// A kernel booted in QEMU.
    Kernel(Box<KernelJob>),
}

/// A generic job's commands.
#[derive(Debug, Clone, PartialEq)]
pub struct ShellJob {
    /// The build command.
    pub build: String,
    /// The test command.
    pub test: String,
    /// The artifact whose bytes make the signature (in the checkout).
    pub artifact: Option<PathBuf>,
}

/// A syz reproducer and its syzkaller.
#[derive(Debug, Clone, PartialEq)]
pub struct SyzJob {
    /// The syz program.
    pub program: PathBuf,
    /// Its options apart from it.
    pub options_file: Option<PathBuf>,
    /// Where syz-execprog and syz-executor come from.
    pub syzkaller: SyzkallerSource,
}

/// A kernel job: how to build, boot and test.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelJob {
    /// Test machines at once.
    pub vms: usize,
    /// The kernel configuration file.
    pub config: PathBuf,
    /// The C compiler.
    pub compiler: PathBuf,
    /// The kernel command line; `None` for culprit's default.
    pub cmdline: Option<String>,
    /// `make -j`; `None`: one per CPU.
    pub jobs: Option<usize>,
    /// Compile through ccache.
    pub ccache: bool,
    /// `make distclean` before every build.
    pub clean: bool,
    /// The store of built kernels (`None`: none).
    pub store: Option<PathBuf>,
    /// The store's size cap in bytes.
    pub store_size: Option<u64>,
    /// The reproducer: a C program, a binary or a script; with a syz
    /// program, the one run when the program did not crash (`None`: the
    /// syz program alone).
    pub reproducer: Option<ReproducerSpec>,
    /// A syz program and the syzkaller that runs it.
    pub syz: Option<SyzJob>,
    /// From QEMU's start to the reproducer's start.
    pub boot_timeout: Duration,
    /// Guest memory in MiB.
    pub memory_mb: u32,
    /// Guest CPUs.
    pub cpus: u32,
    /// The QEMU binary.
    pub qemu: PathBuf,
    /// Compilers by release (`None`: Debian 12's table).
    pub compilers: Option<CompilerTable>,
    /// Config fix-ups of the job's own (culprit's defaults come first).
    pub fixups: Vec<ConfigFixup>,
    /// Fixes to cherry-pick where their bug is.
    pub backports: Vec<Backport>,
    /// The config to minimise against.
    pub baseline: Option<PathBuf>,
    /// Minimise the config before bisecting.
    pub minimize: bool,
    /// The most builds the minimisation makes.
    pub minimize_builds: u32,
}

impl Settings {
    /// Reads a job file.
    pub fn from_file(file: &Path) -> Result<Settings, SettingError> {
        let door = Door::File(file.to_owned());
        let text = std::fs::read_to_string(file).map_err(|e| whole(&door, e.to_string()))?;
        Settings::from_toml(&text, door, &directory_of(file))
    }

    /// Reads a document in TOML; relative paths start at `base`.
    pub fn from_toml(text: &str, door: Door, base: &Path) -> Result<Settings, SettingError> {
        Settings::from_table(table_of(text, false, &door)?, door, base)
    }

    /// Reads a document in JSON (the same fields; tables are objects).
    pub fn from_json(text: &str, door: Door, base: &Path) -> Result<Settings, SettingError> {
        Settings::from_table(table_of(text, true, &door)?, door, base)
    }

    /// Reads a document already parsed into a table.
    pub fn from_table(table: Table, door: Door, base: &Path) -> Result<Settings, SettingError> {
        Document::new(table, door, base).read()
    }

    /// Reads the flags, over the job file when one is given: a flag
    /// overrides the file's value; a flag its kind of job lacks is refused.
    pub fn from_flags(flags: &FlagValues, job: Option<&Path>) -> Result<Settings, SettingError> {
        let cwd = current_dir();
        let mut document = match job {
            Some(file) => {
                let door = Door::File(file.to_owned());
                let text =
                    std::fs::read_to_string(file).map_err(|e| whole(&door, e.to_string()))?;
                let table = doors::toml_table(&text).map_err(|reason| whole(&door, reason))?;
                Document::new(table, door, &directory_of(file))
            }
            None => Document::new(Table::new(), Door::Flags, &cwd),
        };
        document.overlay(flags, &cwd);
        document.read()
    }

    /// Reads the flags over a job file's text that is not in a file (one
    /// made from a syzbot bug, say) whose relative paths start at `base`.
    pub fn from_flags_over(
        flags: &FlagValues,
        text: &str,
        door: Door,
        base: &Path,
    ) -> Result<Settings, SettingError> {
        let table = doors::toml_table(text).map_err(|reason| whole(&door, reason))?;
        let mut document = Document::new(table, door, base);
        document.overlay(flags, &current_dir());
        document.read()
    }

    /// Which kind of job this is.
    pub fn scope(&self) -> Scope {
        match self.recipe {
            Recipe::Shell(_) => Scope::Generic,
            Recipe::Kernel(_) => Scope::Kernel,
        }
    }

    /// The kernel part, for kernel jobs.
    pub fn kernel(&self) -> Option<&KernelJob> {
        match &self.recipe {
            Recipe::Kernel(k) => Some(k),
            Recipe::Shell(_) => None,
        }
    }

    /// The bisection these settings ask for, in the engine's terms. The
    /// journal's key comes from it: what makes two runs the same bisection
    /// (the executor's build and test settings among them).
    pub fn setup_request(&self) -> SetupRequest {
        let executor_params = match &self.recipe {
            Recipe::Shell(s) => serde_json::json!({
                "build": s.build,
                "test": s.test,
                "artifact": s.artifact,
            }),
            Recipe::Kernel(k) => {
                let mut params = serde_json::json!({
                    "config": k.config,
                    "compiler": k.compiler,
                    "cmdline": k.cmdline,
                    "clean": k.clean,
                    "reproducer": match &k.reproducer {
                        Some(r) => format!("{r:?}"),
                        None => String::new(),
                    },
                });
                // Only when there is one: other jobs keep their keys.
                if let Some(syz) = &k.syz {
                    params["syz"] = format!("{syz:?}").into();
                }
                params
            }
        };
        SetupRequest {
            repo: self.repo.clone(),
            direction: self.direction,
            bad: self.bad.clone(),
            good: self.good.clone(),
            crash: self.crash.clone(),
            strategy: self.strategy.clone(),
            workdir: self.workdir.clone(),
            cache: culprit_build::cache_dir(),
            json: self.json.clone(),
            show_diff: self.show_diff,
            verify: self.verify,
            paths: self.paths.clone(),
            executor_params,
            rate_prior: None,
        }
    }

    /// What identifies this job's reproducer, for runs learned across
    /// bisections: the reproducer files' bytes (kernel jobs) or the test
    /// command and the repository (generic jobs), and the crash asked for.
    /// `None` when a file cannot be read.
    pub fn reproducer_key(&self) -> Option<String> {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        match &self.recipe {
            Recipe::Shell(shell) => {
                hash.update(b"shell\0");
                hash.update(self.repo.as_os_str().as_encoded_bytes());
                hash.update(b"\0");
                hash.update(shell.test.as_bytes());
            }
            Recipe::Kernel(k) => {
                hash.update(b"kernel\0");
                let files = k.reproducer.iter().map(|r| match r {
                    ReproducerSpec::CSource(p)
                    | ReproducerSpec::Binary(p)
                    | ReproducerSpec::Script(p) => p,
                });
                for file in files.chain(k.syz.iter().map(|s| &s.program)) {
                    hash.update(std::fs::read(file).ok()?);
                    hash.update(b"\0");
                }
            }
        }
        hash.update(self.crash.as_deref().unwrap_or_default().as_bytes());
        Some(format!("{:x}", hash.finalize()))
    }
}

/// A document's text (TOML, or JSON when `json`) as a table, unchecked.
pub fn table_of(text: &str, json: bool, door: &Door) -> Result<Table, SettingError> {
    match json {
        true => doors::json_table(text).map_err(|(key, reason)| SettingError {
            door: door.clone(),
            name: key,
            value: None,
            reason,
        }),
        false => doors::toml_table(text).map_err(|reason| whole(door, reason)),
    }
}

/// What can be made out of settings that cannot be read, for the JSON of
/// the failure: the ends as given and where the JSON goes.
#[derive(Debug, Clone, Default)]
pub struct Outline {
    /// The `json` setting, if it reads.
    pub json: Option<PathBuf>,
    /// `bad` as given.
    pub bad: String,
    /// `good` as given.
    pub good: Vec<String>,
    /// Whether `fix` was set.
    pub fix: bool,
    /// `strategy` as given, else the default.
    pub strategy: String,
}

impl Outline {
    /// What the flags (over the job file, if any) say, unchecked.
    pub fn of(flags: &FlagValues, job: Option<&Path>) -> Outline {
        let cwd = current_dir();
        let file = job.and_then(|f| {
            let text = std::fs::read_to_string(f).ok()?;
            let table = doors::toml_table(&text).ok()?;
            Some(Document::new(
                table,
                Door::File(f.to_owned()),
                &directory_of(f),
            ))
        });
        let mut document = file.unwrap_or_else(|| Document::new(Table::new(), Door::Flags, &cwd));
        document.overlay(flags, &cwd);
        let raw = |key: &str| document.raw(key);
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        Outline {
            json: text(raw("json")).map(|j| document.base.join(j)),
            bad: text(raw("bad")).unwrap_or_default(),
            good: match raw("good").or_else(|| raw("good_end")) {
                Some(Value::Array(items)) => items.iter().filter_map(|i| text(Some(i))).collect(),
                other => text(other).into_iter().collect(),
            },
            fix: raw("fix").and_then(Value::as_bool).unwrap_or(false),
            strategy: text(raw("strategy"))
                .unwrap_or_else(|| culprit_bisect::strategy::DEFAULT.to_owned()),
        }
    }
}

/// A document being read: its values (flags merged in), where relative
/// paths start, and which settings came from flags.
struct Document {
    table: Table,
    door: Door,
    base: PathBuf,
    from_flags: HashSet<&'static str>,
    /// Where `--paths` were given, when they came from the command line.
    paths_cwd: Option<PathBuf>,
}

impl Document {
    fn new(table: Table, door: Door, base: &Path) -> Document {
        // Absolute, so that paths stay right in the build's directory.
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_owned());
        Document {
            table,
            door,
            base,
            from_flags: HashSet::new(),
            paths_cwd: None,
        }
    }

    /// Puts the flags' values over the document's (paths given on the
    /// command line start at `cwd`).
    fn overlay(&mut self, flags: &FlagValues, cwd: &Path) {
        for (def, texts) in flags.iter() {
            let mut value = value::from_flag(def, texts);
            if let Value::String(text) = &value {
                if from_cwd(def.kind, text) {
                    value = Value::String(cwd.join(text).display().to_string());
                }
            }
            for key in std::iter::once(def.key).chain(def.aliases.iter().copied()) {
                remove(&mut self.table, key);
            }
            insert(&mut self.table, def.key, value);
            self.from_flags.insert(def.key);
            if def.key == "paths" {
                self.paths_cwd = Some(cwd.to_owned());
            }
        }
    }

    /// The error of setting `def` (as given under `key`), in the words of
    /// the door it came through.
    fn error(
        &self,
        def: Option<&Def>,
        key: &str,
        value: Option<&Value>,
        reason: String,
    ) -> SettingError {
        let flag = def
            .filter(|d| self.door == Door::Flags || self.from_flags.contains(d.key))
            .and_then(|d| d.flag_name());
        let (door, name) = match flag {
            Some(flag) => (Door::Flags, flag),
            None => (self.door.clone(), key.to_owned()),
        };
        let value = value.map(|v| match (&door, v) {
            (Door::Flags, Value::String(s)) if s.trim().is_empty() || s.contains(' ') => {
                format!("{s:?}")
            }
            (Door::Flags, Value::String(s)) => s.clone(),
            (Door::Flags, Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(" "),
            _ => value::shown(v),
        });
        SettingError {
            door,
            name,
            value,
            reason,
        }
    }

    /// A value as written, by dotted key.
    fn raw(&self, key: &str) -> Option<&Value> {
        match key.split_once('.') {
            Some((t, k)) => self.table.get(t)?.as_table()?.get(k),
            None => self.table.get(key),
        }
    }

    /// The kind of job. A kernel job has a kernel table; without one, a setting only
    /// generic jobs have (`build`, `test`) makes it generic, so that a
    /// kernel setting beside them is the one refused.
    fn scope(&self, given: &[(String, &Value)]) -> Scope {
        let has = |scope: Scope| {
            given
                .iter()
                .any(|(key, _)| table::find(key).is_some_and(|d| d.scope == scope))
        };
        let kernel_table = given.iter().any(|(key, _)| {
            TABLES_KERNEL
                .iter()
                .any(|t| key.starts_with(&format!("{t}.")))
        });
        match (kernel_table, has(Scope::Generic), has(Scope::Kernel)) {
            (true, _, _) | (false, false, true) => Scope::Kernel,
            _ => Scope::Generic,
        }
    }

    fn read(self) -> Result<Settings, SettingError> {
        let mut given = self.leaves()?;
        // Checked in the table's order, whatever the document's.
        given.sort_by_key(|(key, _)| {
            TABLE
                .iter()
                .position(|d| table::find(key).is_some_and(|f| std::ptr::eq(f, d)))
        });
        let scope = self.scope(&given);
        let mut values = Values::default();
        for (key, value) in &given {
            let Some(def) = table::find(key) else {
                unreachable!("leaves() keeps known keys only")
            };
            if !def.applies_to(scope) {
                let kind = match scope {
                    Scope::Kernel => "kernel jobs (they have a [kernel] table)",
                    _ => "generic jobs (a kernel job has a [kernel] table)",
                };
                return Err(self.error(
                    Some(def),
                    key,
                    Some(value),
                    format!("not a setting of {kind}"),
                ));
            }
            if let Some(other) = values
                .given
                .iter()
                .find(|(k, _)| table::get(k).key == def.key)
            {
                let reason = format!("given twice (also as {})", other.0);
                return Err(self.error(Some(def), key, Some(value), reason));
            }
            let checked = value::check(def, value, &self.base)
                .map_err(|reason| self.error(Some(def), key, Some(value), reason))?;
            values.given.push((key.clone(), checked));
        }
        for def in TABLE.iter().filter(|d| d.applies_to(scope)) {
            if values.has(def.key) {
                continue;
            }
            match def.default {
                table::Default::Required => {
                    return Err(self.error(Some(def), def.key, None, "missing".into()))
                }
                d => {
                    if let Some(lit) = d.value(scope) {
                        let checked = value::check(def, &lit.to_toml(), &self.base)
                            .map_err(|reason| self.error(Some(def), def.key, None, reason))?;
                        values.given.push((def.key.to_owned(), checked));
                    }
                }
            }
        }
        self.settings(scope, values)
    }

    /// Every value of the document with its dotted key; unknown keys and
    /// tables are errors.
    fn leaves(&self) -> Result<Vec<(String, &Value)>, SettingError> {
        let mut out = Vec::new();
        for (key, value) in &self.table {
            match value {
                Value::Table(inner) if table::TABLES.contains(&key.as_str()) => {
                    for (k, v) in inner {
                        let dotted = format!("{key}.{k}");
                        self.known(&dotted, v, Some(key))?;
                        out.push((dotted, v));
                    }
                }
                _ => {
                    self.known(key, value, None)?;
                    out.push((key.clone(), value));
                }
            }
        }
        Ok(out)
    }

    fn known(&self, key: &str, value: &Value, table: Option<&str>) -> Result<(), SettingError> {
        if table::find(key).is_some() {
            return Ok(());
        }
        if table.is_none() && table::TABLES.contains(&key) {
            let reason = "expected a table".to_owned();
            return Err(self.error(None, key, Some(value), reason));
        }
        let prefix = table.map(|t| format!("{t}.")).unwrap_or_default();
        let mut known: Vec<&str> = TABLE
            .iter()
            .flat_map(|d| std::iter::once(d.key).chain(d.aliases.iter().copied()))
            .filter_map(|k| match table {
                Some(_) => k.strip_prefix(prefix.as_str()),
                None => (!k.contains('.')).then_some(k),
            })
            .collect();
        if table.is_none() {
            known.extend(table::TABLES.iter().copied());
        }
        let reason = format!("unknown field (known: {})", known.join(", "));
        Err(self.error(None, key, None, reason))
    }

    fn settings(&self, scope: Scope, v: Values) -> Result<Settings, SettingError> {
        let fix = v.bool("fix");
        let direction = if fix {
            Direction::Fix
        } else {
            Direction::Cause
        };
        let mut good = v.texts("good");
        if fix && good.len() > 1 {
            let def = table::get("good");
            let value = Value::Array(good.iter().cloned().map(Value::String).collect());
            let reason = "a fix bisection has one good end (the newer one)".to_owned();
            return Err(self.error(Some(def), v.key_of("good"), Some(&value), reason));
        }
        if fix && good.is_empty() {
            good.push("HEAD".into());
        }
        let recipe = match scope {
            Scope::Kernel => Recipe::Kernel(Box::new(self.kernel(&v)?)),
            _ => Recipe::Shell(ShellJob {
                build: v.text("build").unwrap_or_default(),
                test: v.text("test").unwrap_or_default(),
                artifact: v.text("artifact").map(PathBuf::from),
            }),
        };
        if let (Some(json), Some(html)) = (v.path("json"), v.path("html")) {
            if json == html {
                let def = table::get("html");
                let value = Value::String(html.display().to_string());
                let reason = "the same file as json: one would overwrite the other".to_owned();
                return Err(self.error(Some(def), v.key_of("html"), Some(&value), reason));
            }
        }
        let workdir = match (v.path("workdir"), scope) {
            (Some(dir), _) => Some(dir),
            (None, Scope::Kernel) => Some(self.base.join("culprit-work")),
            (None, _) => None,
        };
        let repo = v.path("repo").unwrap_or_default();
        let paths = match &self.paths_cwd {
            Some(cwd) => pathspec::from_cwd(v.texts("paths"), cwd, &repo).map_err(|path| {
                let reason = "outside the repository's working tree".to_owned();
                let value = Value::String(path);
                self.error(Some(table::get("paths")), "paths", Some(&value), reason)
            })?,
            None => v.texts("paths"),
        };
        Ok(Settings {
            repo,
            direction,
            bad: v.text("bad").unwrap_or_default(),
            good,
            crash: v.text("crash"),
            paths,
            strategy: StrategyConfig {
                name: v.text("strategy").unwrap_or_default(),
                runs: v.int("runs") as u32,
                confidence: v.float("confidence"),
                min_rate: v.float("min_rate"),
            },
            verify: v.bool("verify"),
            build_timeout: v.duration("build_timeout"),
            test_timeout: v.duration("test_timeout"),
            workdir,
            json: v.path("json"),
            html: v.path("html"),
            show_diff: v.bool("show_diff"),
            recipe,
        })
    }

    fn kernel(&self, v: &Values) -> Result<KernelJob, SettingError> {
        let reproducers = [
            v.path("reproducer.c").map(ReproducerSpec::CSource),
            v.path("reproducer.binary").map(ReproducerSpec::Binary),
            v.path("reproducer.script").map(ReproducerSpec::Script),
        ];
        let mut given = reproducers.into_iter().flatten();
        let (reproducer, None) = (given.next(), given.next()) else {
            let reason = "give one of c, binary, script (a syz program may go with c or binary)";
            return Err(self.error(None, "[reproducer]", None, reason.into()));
        };
        let syz = self.syz(v)?;
        let reason = match (&reproducer, &syz) {
            (None, None) => Some("give exactly one of c, binary, script, or syz"),
            (Some(ReproducerSpec::Script(_)), Some(_)) => {
                Some("a syz program goes with c or binary, not a script")
            }
            _ => None,
        };
        if let Some(reason) = reason {
            return Err(self.error(None, "[reproducer]", None, reason.into()));
        }
        let memory_mb = v.int("vm.memory") as u32;
        let vms = v.int("vms") as usize;
        let most = culprit_vm::most_vms(memory_mb);
        if vms > most.vms {
            let def = table::get("vms");
            let reason = format!("this machine runs at most {most}");
            let value = Value::Integer(vms as i64);
            return Err(self.error(Some(def), v.key_of("vms"), Some(&value), reason));
        }
        Ok(KernelJob {
            vms,
            config: v.path("kernel.config").unwrap_or_default(),
            compiler: v.path("kernel.compiler").unwrap_or_default(),
            cmdline: v.text("kernel.cmdline"),
            jobs: v.maybe_int("kernel.jobs").map(|n| n as usize),
            ccache: v.bool("kernel.ccache"),
            clean: v.bool("kernel.clean"),
            store: match v.get("kernel.store") {
                Some(Checked::Path(dir)) => dir.clone(),
                _ => culprit_build::KernelStore::default_dir(),
            },
            store_size: match v.get("kernel.store_size") {
                Some(Checked::Size(n)) => Some(*n),
                _ => None,
            },
            reproducer,
            syz,
            boot_timeout: v.duration("reproducer.boot_timeout"),
            memory_mb,
            cpus: v.int("vm.cpus") as u32,
            qemu: v.path("vm.qemu").unwrap_or_default(),
            compilers: match v.get("kernel.compilers") {
                Some(_) => Some(CompilerTable {
                    rules: self.rules::<CompilerRule>(v, "kernel.compilers")?,
                }),
                None => None,
            },
            fixups: self.rules(v, "kernel.fixups")?,
            backports: self.rules(v, "kernel.backports")?,
            baseline: v.path("kernel.baseline"),
            minimize: v.bool("kernel.minimize"),
            minimize_builds: v.int("kernel.minimize_builds") as u32,
        })
    }
}

impl Document {
    /// The tables of a list setting, each read into `T`.
    fn rules<T: serde::de::DeserializeOwned>(
        &self,
        v: &Values,
        key: &str,
    ) -> Result<Vec<T>, SettingError> {
        let Some(Checked::Rules(tables)) = v.get(key) else {
            return Ok(Vec::new());
        };
        tables
            .iter()
            .map(|t| {
                Value::Table(t.clone()).try_into::<T>().map_err(|e| {
                    let reason = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
                    let def = table::get(key);
                    self.error(
                        Some(def),
                        v.key_of(key),
                        Some(&Value::Table(t.clone())),
                        reason,
                    )
                })
            })
            .collect()
    }

    /// The syz program and its syzkaller, when the job has one.
    fn syz(&self, v: &Values) -> Result<Option<SyzJob>, SettingError> {
        let (repo, commit, dir) = (
            v.path("syzkaller.repo"),
            v.text("syzkaller.commit"),
            v.path("syzkaller.dir"),
        );
        let Some(program) = v.path("reproducer.syz") else {
            if repo.is_some() || commit.is_some() || dir.is_some() {
                let reason = "a syzkaller without a syz program ([reproducer] syz)";
                return Err(self.error(None, "[syzkaller]", None, reason.into()));
            }
            return Ok(None);
        };
        let syzkaller = match (repo, commit, dir) {
            (Some(repo), Some(commit), None) => SyzkallerSource::Checkout { repo, commit },
            (None, None, Some(dir)) => SyzkallerSource::Prebuilt { dir },
            _ => {
                let reason = "a syz program needs a syzkaller: repo and commit, or dir";
                return Err(self.error(None, "[syzkaller]", None, reason.into()));
            }
        };
        Ok(Some(SyzJob {
            program,
            options_file: v.path("reproducer.syz_options"),
            syzkaller,
        }))
    }
}

/// The tables whose keys make a job a kernel job.
const TABLES_KERNEL: &[&str] = table::TABLES;

/// Checked values by the key they were given under (canonical or alias).
#[derive(Default)]
struct Values {
    given: Vec<(String, Checked)>,
}

impl Values {
    fn get(&self, key: &str) -> Option<&Checked> {
        let def = table::get(key);
        self.given
            .iter()
            .find(|(k, _)| table::get(k).key == def.key)
            .map(|(_, v)| v)
    }

    /// The key a setting was given under.
    fn key_of<'a>(&'a self, key: &'a str) -> &'a str {
        let def = table::get(key);
        self.given
            .iter()
            .find(|(k, _)| table::get(k).key == def.key)
            .map_or(key, |(k, _)| k.as_str())
    }

    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn bool(&self, key: &str) -> bool {
        matches!(self.get(key), Some(Checked::Bool(true)))
    }

    fn maybe_int(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            Some(Checked::Int(n)) => Some(*n),
            _ => None,
        }
    }

    fn int(&self, key: &str) -> i64 {
        self.maybe_int(key).unwrap_or_default()
    }

    fn float(&self, key: &str) -> f64 {
        match self.get(key) {
            Some(Checked::Float(n)) => *n,
            _ => 0.0,
        }
    }

    fn text(&self, key: &str) -> Option<String> {
        match self.get(key) {
            Some(Checked::Text(t)) => Some(t.clone()),
            _ => None,
        }
    }

    fn texts(&self, key: &str) -> Vec<String> {
        match self.get(key) {
            Some(Checked::Texts(t)) => t.clone(),
            _ => Vec::new(),
        }
    }

    fn duration(&self, key: &str) -> Duration {
        match self.get(key) {
            Some(Checked::Duration(d)) => *d,
            _ => Duration::ZERO,
        }
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        match self.get(key) {
            Some(Checked::Path(p)) => p.clone(),
            _ => None,
        }
    }
}

/// Whether a flag's text names a path relative to the current directory
/// (a program's bare name is looked up in `PATH`; `none` is no store).
fn from_cwd(kind: Kind, text: &str) -> bool {
    if text.trim().is_empty() {
        return false;
    }
    match kind {
        Kind::Path | Kind::Dir | Kind::File => true,
        Kind::Program => text.contains('/'),
        Kind::DirOrNone => text != "none",
        _ => false,
    }
}

/// An error of the whole document (it cannot be read, it is not TOML).
fn whole(door: &Door, reason: String) -> SettingError {
    SettingError {
        door: door.clone(),
        name: String::new(),
        value: None,
        reason,
    }
}

/// The directory a job file's relative paths start at.
fn directory_of(file: &Path) -> PathBuf {
    file.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned()
}

fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// Removes a dotted key from a table.
fn remove(table: &mut Table, key: &str) {
    match key.split_once('.') {
        Some((t, k)) => {
            if let Some(Value::Table(inner)) = table.get_mut(t) {
                inner.remove(k);
                if inner.is_empty() {
                    table.remove(t);
                }
            }
        }
        None => {
            table.remove(key);
        }
    }
}

/// Sets a dotted key in a table.
fn insert(table: &mut Table, key: &str, value: Value) {
    match key.split_once('.') {
        Some((t, k)) => {
            let inner = table
                .entry(t.to_owned())
                .or_insert_with(|| Value::Table(Table::new()));
            if let Value::Table(inner) = inner {
                inner.insert(k.to_owned(), value);
            }
        }
        None => {
            table.insert(key.to_owned(), value);
        }
    }
}
