//! Jobs as submitted to the service: a generic bisection (the fields of
//! `culprit bisect`'s flags) or a kernel bisection (a job file), as TOML or
//! as JSON of the same fields. Everything is checked before a job is
//! stored: a bad job is refused with the field at fault and the reason.

use std::path::{Path, PathBuf};
use std::time::Duration;

use culprit_bisect::input::InputError;
use culprit_bisect::strategy::{self, StrategyConfig};
use culprit_bisect::{Direction, Executor, Setup, SetupRequest};
use culprit_exec::job::{Job, JobError};
use culprit_exec::shell::{ShellConfig, ShellExecutor};
use toml::{Table, Value};

/// A job that cannot be accepted: the field at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SpecError {
    /// The field, dotted for tables (`kernel.config`); empty when the whole
    /// body is at fault.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl SpecError {
    fn new(field: &str, reason: impl Into<String>) -> SpecError {
        SpecError {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A checked job, as stored in the database.
// One per job, read once: the size of a generic job's fields costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum JobSpec {
    /// Shell commands build and test each commit.
    Generic(GenericSpec),
    /// A kernel built and booted in QEMU, as a job file describes.
    Kernel(KernelSpec),
}

/// A generic bisection: the fields of `culprit bisect`'s flags.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GenericSpec {
    /// The repository (a path that every worker sees).
    pub repo: PathBuf,
    /// The crashing commit.
    pub bad: String,
    /// Good commits (cause), or the newer good end (fix).
    #[serde(default)]
    pub good: Vec<String>,
    /// Look for the fix.
    #[serde(default)]
    pub fix: bool,
    /// The crash to bisect, by title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<String>,
    /// The build command.
    pub build: String,
    /// The test command.
    pub test: String,
    /// The artifact whose bytes make the build signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<PathBuf>,
    /// Runs per commit.
    pub runs: u32,
    /// The strategy's name.
    pub strategy: String,
    /// Where bayes stops.
    pub confidence: f64,
    /// Bayes: the lowest reproduction rate worth bisecting.
    #[serde(default = "default_min_rate")]
    pub min_rate: f64,
    /// Check the culprit by its revert.
    #[serde(default = "default_verify")]
    pub verify: bool,
    /// Only commits touching these paths are suspects (`--paths`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Time limit of one build, in seconds.
    pub build_timeout: u64,
    /// Time limit of one run, in seconds.
    pub test_timeout: u64,
}

/// A kernel bisection: the job file's text and the directory its relative
/// paths start from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KernelSpec {
    /// The job file, as TOML.
    pub toml: String,
    /// Where relative paths start.
    pub base: PathBuf,
}

fn default_min_rate() -> f64 {
    strategy::bayes::DEFAULT_MIN_RATE
}

fn default_verify() -> bool {
    true
}

/// Keys a generic job may have.
const GENERIC_KEYS: &[&str] = &[
    "repo",
    "bad",
    "good",
    "fix",
    "crash",
    "build",
    "test",
    "artifact",
    "runs",
    "strategy",
    "confidence",
    "min_rate",
    "verify",
    "paths",
    "build_timeout",
    "test_timeout",
];

/// Defaults, as `culprit bisect` has them.
const DEFAULT_RUNS: u32 = 10;
const DEFAULT_BUILD_TIMEOUT: u64 = 4 * 3600;
const DEFAULT_TEST_TIMEOUT: u64 = 3600;
const MAX_LIMIT_SECS: u64 = 365 * 24 * 3600;

/// Parses and checks a submitted job. `body` is TOML, or JSON when
/// `json` (the request said so, or the body is a JSON object); relative
/// paths start at `base`.
pub fn parse(body: &str, json: bool, base: &Path) -> Result<JobSpec, SpecError> {
    let json = json || body.trim_start().starts_with('{');
    let table = if json {
        json_table(body)?
    } else {
        toml_table(body)?
    };
    let spec = if table.contains_key("kernel") || table.contains_key("reproducer") {
        kernel_spec(table, base)?
    } else {
        JobSpec::Generic(generic_spec(&table, base)?)
    };
    spec.check()?;
    Ok(spec)
}

fn toml_table(body: &str) -> Result<Table, SpecError> {
    body.parse::<Table>().map_err(|e| {
        let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
        SpecError::new("", format!("not valid TOML: {message}"))
    })
}

/// A JSON object as the TOML table of the same fields (nulls are refused:
/// TOML has none).
fn json_table(body: &str) -> Result<Table, SpecError> {
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| SpecError::new("", format!("not valid JSON: {e}")))?;
    let serde_json::Value::Object(object) = value else {
        return Err(SpecError::new("", "expected a JSON object"));
    };
    let mut table = Table::new();
    for (key, value) in object {
        table.insert(key.clone(), toml_value(&key, value)?);
    }
    Ok(table)
}

fn toml_value(key: &str, value: serde_json::Value) -> Result<Value, SpecError> {
    use serde_json::Value as J;
    Ok(match value {
        J::Null => {
            return Err(SpecError::new(
                key,
                "null is not a value (leave the field out)",
            ))
        }
        J::Bool(b) => Value::Boolean(b),
        J::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::Integer(i),
            (None, Some(f)) => Value::Float(f),
            _ => return Err(SpecError::new(key, format!("number {n} out of range"))),
        },
        J::String(s) => Value::String(s),
        J::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| toml_value(key, v))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(object) => {
            let mut table = Table::new();
            for (k, v) in object {
                let dotted = format!("{key}.{k}");
                table.insert(k, toml_value(&dotted, v)?);
            }
            Value::Table(table)
        }
    })
}

fn kernel_spec(mut table: Table, base: &Path) -> Result<JobSpec, SpecError> {
    for key in ["workdir", "json"] {
        if table.contains_key(key) {
            return Err(SpecError::new(
                key,
                "set by the service (each worker has its own work directory; results are in the database)",
            ));
        }
    }
    // A work directory the parser would default to: the worker picks its own.
    table.remove("workdir");
    let text = toml::to_string(&table).map_err(|e| SpecError::new("", e.to_string()))?;
    let spec = KernelSpec {
        toml: text,
        base: base.to_owned(),
    };
    spec.job()?;
    Ok(JobSpec::Kernel(spec))
}

impl KernelSpec {
    /// The job file this spec holds, parsed.
    pub fn job(&self) -> Result<Job, SpecError> {
        Job::parse(&self.toml, &self.base.join("job.toml")).map_err(|e| match e {
            JobError::Key { key, message, .. } => SpecError::new(&key, message),
            JobError::Syntax { message, .. } => {
                SpecError::new("", format!("not valid TOML: {message}"))
            }
            JobError::Read { source, .. } => SpecError::new("", source.to_string()),
        })
    }
}

/// Typed fields of a generic job, with errors naming the field.
struct Fields<'a>(&'a Table);

impl Fields<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    fn string(&self, key: &str) -> Result<Option<String>, SpecError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
            Some(other) => Err(SpecError::new(
                key,
                format!("expected a non-empty string, got {other}"),
            )),
        }
    }

    fn required(&self, key: &str) -> Result<String, SpecError> {
        self.string(key)?
            .ok_or_else(|| SpecError::new(key, "missing"))
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, SpecError> {
        let bad = |v: &Value| SpecError::new(key, format!("expected a list of revisions, got {v}"));
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(vec![s.clone()]),
            Some(v @ Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .filter(|s| !s.trim().is_empty())
                        .map(str::to_owned)
                        .ok_or_else(|| bad(v))
                })
                .collect(),
            Some(v) => Err(bad(v)),
        }
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, SpecError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Boolean(b)) => Ok(*b),
            Some(v) => Err(SpecError::new(
                key,
                format!("expected true or false, got {v}"),
            )),
        }
    }

    fn number(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Option<u64>, SpecError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Integer(n)) if u64::try_from(*n).is_ok_and(|n| range.contains(&n)) => {
                Ok(u64::try_from(*n).ok())
            }
            Some(v) => Err(SpecError::new(
                key,
                format!(
                    "expected a whole number from {} to {}, got {v}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    fn min_rate(&self) -> Result<f64, SpecError> {
        let bad = |v: &dyn std::fmt::Display| {
            SpecError::new("min_rate", format!("expected a rate in (0, 1], got {v}"))
        };
        let value = match self.get("min_rate") {
            None => return Ok(default_min_rate()),
            Some(Value::Float(f)) => *f,
            Some(Value::Integer(i)) => *i as f64,
            Some(v) => return Err(bad(v)),
        };
        match value > 0.0 && value <= 1.0 {
            true => Ok(value),
            false => Err(bad(&value)),
        }
    }

    fn confidence(&self) -> Result<f64, SpecError> {
        let value = match self.get("confidence") {
            None => return Ok(strategy::DEFAULT_CONFIDENCE),
            Some(Value::Float(f)) => *f,
            Some(Value::Integer(i)) => *i as f64,
            Some(v) => {
                return Err(SpecError::new(
                    "confidence",
                    format!("expected a probability in [0.5, 1), got {v}"),
                ))
            }
        };
        if (0.5..1.0).contains(&value) {
            Ok(value)
        } else {
            Err(SpecError::new(
                "confidence",
                format!("expected a probability in [0.5, 1), got {value}"),
            ))
        }
    }
}

fn generic_spec(table: &Table, base: &Path) -> Result<GenericSpec, SpecError> {
    if let Some(unknown) = table.keys().find(|k| !GENERIC_KEYS.contains(&k.as_str())) {
        return Err(SpecError::new(
            unknown,
            format!(
                "unknown field (a generic job has: {}; a kernel job has a [kernel] table)",
                GENERIC_KEYS.join(", ")
            ),
        ));
    }
    let f = Fields(table);
    let runs = f.number("runs", 1..=u32::MAX as u64)?;
    let strategy = f
        .string("strategy")?
        .unwrap_or_else(|| strategy::DEFAULT.to_owned());
    if !strategy::NAMES.contains(&strategy.as_str()) {
        return Err(SpecError::new(
            "strategy",
            format!(
                "unknown strategy {strategy:?} (known: {})",
                strategy::NAMES.join(", ")
            ),
        ));
    }
    Ok(GenericSpec {
        repo: base.join(f.required("repo")?),
        bad: f.required("bad")?,
        good: f.strings("good")?,
        fix: f.bool("fix", false)?,
        crash: f.string("crash")?,
        build: f.required("build")?,
        test: f.required("test")?,
        artifact: f.string("artifact")?.map(PathBuf::from),
        runs: runs.map_or(DEFAULT_RUNS, |n| n as u32),
        strategy,
        confidence: f.confidence()?,
        min_rate: f.min_rate()?,
        verify: f.bool("verify", true)?,
        paths: f.strings("paths")?,
        build_timeout: f
            .number("build_timeout", 1..=MAX_LIMIT_SECS)?
            .unwrap_or(DEFAULT_BUILD_TIMEOUT),
        test_timeout: f
            .number("test_timeout", 1..=MAX_LIMIT_SECS)?
            .unwrap_or(DEFAULT_TEST_TIMEOUT),
    })
}

impl JobSpec {
    /// Checks what can be checked before a worker takes the job: the
    /// repository opens, the revisions name commits in the right order.
    pub fn check(&self) -> Result<(), SpecError> {
        let request = self.setup_request(Path::new("/nonexistent"))?;
        let repo = culprit_git::Repo::open(&request.repo)
            .map_err(|e| SpecError::new("repo", e.to_string()))?;
        culprit_bisect::input::check(&repo, request.direction, &request.bad, &request.good)
            .map_err(|e| input_error(self, request.direction, e))?;
        Ok(())
    }

    /// A short description for the queue: the repository and the bad end.
    pub fn title(&self) -> String {
        let (repo, bad, direction, crash) = match self {
            JobSpec::Generic(g) => (g.repo.clone(), g.bad.clone(), g.fix, g.crash.clone()),
            JobSpec::Kernel(k) => match k.job() {
                Ok(job) => (
                    job.repo,
                    job.bad,
                    job.direction == Direction::Fix,
                    job.crash,
                ),
                Err(_) => (k.base.clone(), String::new(), false, None),
            },
        };
        let name = repo.file_name().map_or_else(
            || repo.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let what = if direction { "fix" } else { "cause" };
        // A full hash is long for a title: its first 12 digits name it.
        let bad = match bad.len() == 40 && bad.bytes().all(|b| b.is_ascii_hexdigit()) {
            true => bad[..12].to_owned(),
            false => bad,
        };
        match crash {
            Some(crash) => format!("{what} of {crash:?} in {name} from {bad}"),
            None => format!("{what} in {name} from {bad}"),
        }
    }

    /// The kind, as the database stores it.
    pub fn kind(&self) -> &'static str {
        match self {
            JobSpec::Generic(_) => "generic",
            JobSpec::Kernel(_) => "kernel",
        }
    }

    /// The bisection this job asks for, with its work directory at
    /// `workdir` (the worker's) and no JSON file (results are stored).
    pub fn setup_request(&self, workdir: &Path) -> Result<SetupRequest, SpecError> {
        let mut request = match self {
            JobSpec::Generic(g) => g.setup_request(),
            JobSpec::Kernel(k) => k.job()?.setup_request(),
        };
        request.workdir = Some(workdir.to_owned());
        request.json = None;
        Ok(request)
    }

    /// The executor of this job on this worker, for a prepared bisection;
    /// the executor's own lines go to `log`.
    pub fn executor(
        &self,
        setup: &Setup,
        log: Box<dyn std::io::Write + Send>,
    ) -> Result<Box<dyn Executor + Send>, String> {
        self.executor_at(&setup.repo, &setup.workdir, &setup.bisection_dir, log)
    }

    /// The executor of this job with its checkout and builds in `workdir`
    /// and run logs in `runs_dir` (a worker helping another's bisection
    /// has no setup of its own).
    pub fn executor_at(
        &self,
        repo: &culprit_git::Repo,
        workdir: &Path,
        runs_dir: &Path,
        log: Box<dyn std::io::Write + Send>,
    ) -> Result<Box<dyn Executor + Send>, String> {
        match self {
            JobSpec::Generic(g) => {
                let exec = ShellExecutor::new(repo, workdir, runs_dir, g.shell_config())
                    .map_err(|e| e.to_string())?;
                Ok(Box::new(exec))
            }
            JobSpec::Kernel(k) => {
                let mut job = k.job().map_err(|e| e.to_string())?;
                job.workdir = workdir.to_owned();
                job.json = None;
                let settings =
                    culprit_exec::kernel_executor::KernelSettings::from_job(&job, runs_dir);
                Ok(Box::new(
                    culprit_exec::kernel_executor::KernelExecutor::new(repo.clone(), settings, log),
                ))
            }
        }
    }

    /// The repository, for pages and mails.
    pub fn repo(&self) -> PathBuf {
        match self {
            JobSpec::Generic(g) => g.repo.clone(),
            JobSpec::Kernel(k) => k.job().map_or_else(|_| k.base.clone(), |j| j.repo),
        }
    }
}

impl GenericSpec {
    fn shell_config(&self) -> ShellConfig {
        ShellConfig {
            build: self.build.clone(),
            test: self.test.clone(),
            artifact: self.artifact.clone(),
            build_timeout: Duration::from_secs(self.build_timeout),
            test_timeout: Duration::from_secs(self.test_timeout),
        }
    }

    /// The same request `culprit bisect` makes from the same flags (so the
    /// journal's parameters are the same too).
    fn setup_request(&self) -> SetupRequest {
        SetupRequest {
            repo: self.repo.clone(),
            direction: if self.fix {
                Direction::Fix
            } else {
                Direction::Cause
            },
            bad: self.bad.clone(),
            good: self.good.clone(),
            crash: self.crash.clone(),
            strategy: StrategyConfig {
                name: self.strategy.clone(),
                runs: self.runs,
                confidence: self.confidence,
                min_rate: self.min_rate,
            },
            workdir: None,
            json: None,
            show_diff: false,
            verify: self.verify,
            paths: self.paths.clone(),
            executor_params: serde_json::json!({
                "build": self.build,
                "test": self.test,
                "artifact": self.artifact,
            }),
        }
    }
}

/// An input error of the engine, with the job's field named.
fn input_error(spec: &JobSpec, direction: Direction, e: InputError) -> SpecError {
    // A kernel fix job names its newer good end `good_end`.
    let good = match (spec, direction) {
        (JobSpec::Kernel(_), Direction::Fix) => "good_end",
        _ => "good",
    };
    let field = match &e {
        InputError::Revision { flag: "--bad", .. } | InputError::BadNotAncestor { .. } => "bad",
        _ => good,
    };
    // The engine's messages speak of flags; a job has fields.
    let reason = e
        .to_string()
        .replace("--good", "good")
        .replace("--bad", "bad")
        .replace("--fix", "fix");
    let reason = reason
        .strip_prefix("good: ")
        .or_else(|| reason.strip_prefix("bad: "))
        .or_else(|| reason.strip_prefix("HEAD: "))
        .unwrap_or(&reason)
        .to_owned();
    SpecError::new(field, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .env("GIT_AUTHOR_NAME", "A")
                .env("GIT_AUTHOR_EMAIL", "a@example.com")
                .env("GIT_COMMITTER_NAME", "A")
                .env("GIT_COMMITTER_EMAIL", "a@example.com")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        git(&["init", "-q", "-b", "main"]);
        let hashes = (0..3)
            .map(|i| {
                git(&["commit", "-q", "--allow-empty", "-m", &format!("c{i}")]);
                git(&["rev-parse", "HEAD"])
            })
            .collect();
        (dir, hashes)
    }

    fn generic(dir: &Path, h: &[String], extra: &str) -> String {
        format!(
            "repo = {:?}\nbad = {:?}\ngood = [{:?}]\nbuild = \"true\"\ntest = \"true\"\n{extra}",
            dir, h[2], h[0]
        )
    }

    #[test]
    fn a_generic_job_in_toml_or_json_gives_the_same_spec() {
        let (dir, h) = repo();
        let from_toml = parse(
            &generic(dir.path(), &h, "runs = 3\n"),
            false,
            Path::new("/"),
        )
        .unwrap();
        let json = serde_json::json!({
            "repo": dir.path(), "bad": h[2], "good": [h[0]],
            "build": "true", "test": "true", "runs": 3
        });
        let from_json = parse(&json.to_string(), true, Path::new("/")).unwrap();
        assert_eq!(from_toml, from_json);
        let JobSpec::Generic(g) = from_toml else {
            panic!("not generic")
        };
        assert_eq!((g.runs, g.strategy.as_str()), (3, "bayes"));
    }

    #[test]
    fn bad_jobs_name_the_field_and_the_reason() {
        let (dir, h) = repo();
        let d = dir.path();
        let cases = [
            (
                generic(d, &h, "runs = 0\n"),
                "runs",
                "expected a whole number",
            ),
            (generic(d, &h, "colour = 1\n"), "colour", "unknown field"),
            (
                generic(d, &h, "strategy = \"magic\"\n"),
                "strategy",
                "unknown strategy",
            ),
            (
                generic(d, &h, "confidence = 2.0\n"),
                "confidence",
                "probability",
            ),
            (
                generic(d, &h, "").replace(&format!("bad = {:?}", h[2]), "bad = \"nope\""),
                "bad",
                "nope",
            ),
            (
                generic(d, &h, "").replace(
                    &format!("good = [{:?}]", h[0]),
                    &format!("good = [{:?}]", h[2]),
                ),
                "good",
                "same commit",
            ),
            (
                generic(d, &h, "").replace("build = \"true\"\n", ""),
                "build",
                "missing",
            ),
            ("repo = [".into(), "", "not valid TOML"),
            (generic(Path::new("/nonexistent"), &h, ""), "repo", ""),
        ];
        for (text, field, reason) in cases {
            let e = parse(&text, false, Path::new("/")).unwrap_err();
            assert_eq!(e.field, field, "{e}");
            assert!(e.reason.contains(reason), "{reason:?} not in {e}");
        }
        let e = parse("{\"repo\": null}", true, Path::new("/")).unwrap_err();
        assert_eq!(e.field, "repo");
        let e = parse("[1, 2]", true, Path::new("/")).unwrap_err();
        assert!(e.reason.contains("JSON object"), "{e}");
    }

    #[test]
    fn kernel_jobs_are_checked_by_the_job_file_parser() {
        let (dir, h) = repo();
        std::fs::write(dir.path().join("../config-x"), "").ok();
        let base = tempfile::tempdir().unwrap();
        std::fs::write(base.path().join("config"), "CONFIG_64BIT=y\n").unwrap();
        std::fs::write(base.path().join("repro.c"), "int main(){}\n").unwrap();
        let text = format!(
            "repo = {:?}\nbad = {:?}\ngood = [{:?}]\n[kernel]\nconfig = \"config\"\n[reproducer]\nc = \"repro.c\"\n",
            dir.path(), h[2], h[0]
        );
        let spec = parse(&text, false, base.path()).unwrap();
        assert_eq!(spec.kind(), "kernel");
        let e = parse(&text.replace("\"config\"", "\"nope\""), false, base.path()).unwrap_err();
        assert_eq!(e.field, "kernel.config", "{e}");
        let e = parse(&format!("workdir = \"w\"\n{text}"), false, base.path()).unwrap_err();
        assert_eq!(e.field, "workdir", "{e}");
    }
}
