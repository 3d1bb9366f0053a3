//! Jobs as submitted to the service: the same documents `culprit bisect
//! JOB.toml` reads (a generic job, or a kernel job with a `[kernel]`
//! table), as TOML or as JSON of the same fields, read by the same
//! settings. Everything is checked before a job is stored: a bad job is
//! refused with the field at fault, the value and the reason.

use std::path::{Path, PathBuf};

use culprit_bisect::input::InputError;
use culprit_exec::settings::{table_of, Door, SettingError, Settings};

/// Fields the service sets itself.
const SET_BY_THE_SERVICE: &[&str] = &["workdir", "json", "html"];

/// A job that cannot be accepted: the field at fault, the value given and
/// why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SpecError {
    /// The field, dotted for tables (`kernel.config`); empty when the whole
    /// body is at fault.
    pub field: String,
    /// The value given, as TOML writes it.
    pub value: Option<String>,
    /// What is wrong with it.
    pub reason: String,
}

impl SpecError {
    fn new(field: &str, reason: impl Into<String>) -> SpecError {
        SpecError {
            field: field.to_owned(),
            value: None,
            reason: reason.into(),
        }
    }
}

impl From<SettingError> for SpecError {
    fn from(e: SettingError) -> SpecError {
        SpecError {
            field: e.name,
            value: e.value,
            reason: e.reason,
        }
    }
}

/// A checked job, as stored in the database: the document as TOML and the
/// directory its relative paths start from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobSpec {
    /// The job's settings, as a job file has them.
    pub toml: String,
    /// Where relative paths start.
    pub base: PathBuf,
}

/// Parses and checks a submitted job. `body` is TOML, or JSON when `json`
/// (the request said so, or the body is a JSON object); relative paths
/// start at `base`.
pub fn parse(body: &str, json: bool, base: &Path) -> Result<JobSpec, SpecError> {
    let json = json || body.trim_start().starts_with('{');
    let table = table_of(body, json, &Door::Service)?;
    if let Some(key) = SET_BY_THE_SERVICE.iter().find(|k| table.contains_key(**k)) {
        return Err(SpecError::new(
            key,
            "set by the service (each worker has its own work directory; results are in the database)",
        ));
    }
    let toml = toml::to_string(&table).map_err(|e| SpecError::new("", e.to_string()))?;
    let settings = Settings::from_table(table, Door::Service, base)?;
    let spec = JobSpec {
        toml,
        base: base.to_owned(),
    };
    check(&settings)?;
    Ok(spec)
}

/// Checks what can be checked before a worker takes the job: the
/// repository opens, the revisions name commits in the right order.
fn check(settings: &Settings) -> Result<(), SpecError> {
    let repo = culprit_git::Repo::open(&settings.repo)
        .map_err(|e| SpecError::new("repo", e.to_string()))?;
    culprit_bisect::input::check(&repo, settings.direction, &settings.bad, &settings.good)
        .map_err(input_error)?;
    Ok(())
}

impl JobSpec {
    /// The job's settings.
    pub fn settings(&self) -> Result<Settings, SpecError> {
        Ok(Settings::from_toml(&self.toml, Door::Service, &self.base)?)
    }

    /// A short description for the queue: the repository and the bad end.
    /// Read from the document as written: a job whose files went away
    /// still has its title.
    pub fn title(&self) -> String {
        let doc: toml::Table = self.toml.parse().unwrap_or_default();
        let text = |key: &str| doc.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let repo = PathBuf::from(text("repo").unwrap_or_default());
        let name = repo.file_name().map_or_else(
            || repo.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let what = match doc.get("fix").and_then(|v| v.as_bool()) {
            Some(true) => "fix",
            _ => "cause",
        };
        // A full hash is long for a title: its first 12 digits name it.
        let short =
            |rev: String| match rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
                true => rev[..12].to_owned(),
                false => rev,
            };
        let bad = short(text("bad").unwrap_or_default());
        let good: Vec<String> = match doc.get("good").or_else(|| doc.get("good_end")) {
            Some(toml::Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(|s| short(s.to_owned())))
                .collect(),
            Some(toml::Value::String(one)) => vec![short(one.clone())],
            _ => Vec::new(),
        };
        let range = match (what, good.as_slice()) {
            ("fix", []) => format!("after {bad} (up to HEAD)"),
            ("fix", good) => format!("after {bad} (up to {})", good.join(", ")),
            (_, []) => format!("before {bad} (from a release)"),
            (_, good) => format!("between {} and {bad}", good.join(", ")),
        };
        match text("crash") {
            Some(crash) => format!("{what} of {crash:?} in {name} {range}"),
            None => format!("{what} in {name} {range}"),
        }
    }

    /// The kind, as the database stores it: a kernel job has a `[kernel]`
    /// or `[reproducer]` table.
    pub fn kind(&self) -> &'static str {
        let doc: toml::Table = self.toml.parse().unwrap_or_default();
        match doc.contains_key("kernel") || doc.contains_key("reproducer") {
            true => "kernel",
            false => "generic",
        }
    }

    /// The job's settings on a worker: its work directory at `workdir`,
    /// and no JSON or page file (results are stored).
    pub fn settings_at(&self, workdir: &Path) -> Result<Settings, SpecError> {
        let mut settings = self.settings()?;
        settings.workdir = Some(workdir.to_owned());
        settings.json = None;
        settings.html = None;
        Ok(settings)
    }

    /// The repository, for pages and mails.
    pub fn repo(&self) -> PathBuf {
        self.settings()
            .map_or_else(|_| self.base.clone(), |s| s.repo)
    }
}

/// An input error of the engine, with the job's field named.
fn input_error(e: InputError) -> SpecError {
    let field = match &e {
        InputError::Revision { flag: "--bad", .. } | InputError::BadNotAncestor { .. } => "bad",
        _ => "good",
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
    fn a_generic_job_in_toml_or_json_gives_the_same_settings() {
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
        let (t, j) = (from_toml.settings().unwrap(), from_json.settings().unwrap());
        assert_eq!(t, j);
        assert_eq!((t.strategy.runs, t.strategy.name.as_str()), (3, "bayes"));
        assert_eq!(from_toml.kind(), "generic");
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
            (
                generic(d, &h, "workdir = \"w\"\n"),
                "workdir",
                "set by the service",
            ),
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
    fn kernel_jobs_are_read_by_the_same_settings() {
        let (dir, h) = repo();
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
