//! A syzbot bug as the input of a bisection: the dashboard's bug JSON
//! (`?json=1` on a bug page) and the files its links point to, saved by the
//! user beside the JSON, become a job ([`SyzbotJob`], written as job-file
//! TOML by [`SyzbotJob::to_toml`]).
//!
//! Of the bug's crashes the one with the best reproducer is used (syz and
//! C, then C only, then syz only; the first listed among equals). Its
//! kernel commit is the bad end, its title the crash, its config, syz
//! program, options and C program the reproducer, its syzkaller commit the
//! syzkaller to build; the compiler is one this machine has, as close to
//! the crash's as found (and said when it differs). What cannot be had is
//! listed in [`SyzbotJob::missing`].
//!
//! A linked file is looked for beside the JSON under its usual name
//! (`config`, `repro.syz`, `repro.c`, `repro-opts`, `report.txt`), then
//! under the name a download of the link gets (`text?tag=ReproC&x=...`),
//! then under the link's `x=` id.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;

/// The dashboard that serves the links (they may be given without it).
const DASHBOARD: &str = "https://syzkaller.appspot.com";
/// syzbot's time for one reproducer with KVM.
const SYZBOT_RUN_TIMEOUT: Duration = Duration::from_secs(360);

/// The bug JSON, as far as culprit reads it (other fields are ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SyzbotBug {
    /// The bug's title.
    pub title: String,
    /// The bug's id (the `extid` of its reports).
    pub id: String,
    /// Its crashes, as listed.
    pub crashes: Vec<SyzbotCrash>,
}

/// One crash of a bug.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct SyzbotCrash {
    /// The crash's title.
    pub title: String,
    /// The kernel tree (a link).
    pub kernel_source_git: String,
    /// The kernel commit that crashed.
    pub kernel_source_commit: String,
    /// The syzkaller tree (a link).
    pub syzkaller_git: String,
    /// The syzkaller commit that found it.
    pub syzkaller_commit: String,
    /// The compiler and linker that built the kernel.
    pub compiler_description: String,
    /// `amd64`, `arm64`, ...
    pub architecture: String,
    /// Link to the kernel config.
    pub kernel_config: String,
    /// Link to the syz reproducer.
    pub syz_reproducer: String,
    /// Link to the C reproducer.
    pub c_reproducer: String,
    /// Link to the reproducer's options.
    pub repro_opts: String,
    /// Link to the crash report.
    pub crash_report_link: String,
}

/// Where the job's syzkaller comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyzkallerJob {
    /// A checkout to build at `commit`.
    Checkout {
        /// The checkout.
        repo: PathBuf,
        /// The crash's syzkaller commit.
        commit: String,
    },
    /// Ready-built binaries.
    Prebuilt {
        /// Their directory.
        dir: PathBuf,
    },
    /// Not given yet: the commit to build, once a checkout is named.
    Unknown {
        /// The crash's syzkaller commit.
        commit: String,
    },
}

/// Something the job needs that is not at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// What it is, e.g. `kernel config`.
    pub what: String,
    /// What to do about it, e.g. `save LINK as DIR/config`.
    pub how: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.how)
    }
}

/// A bisection job made from a syzbot bug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyzbotJob {
    /// The bug's title.
    pub bug_title: String,
    /// The bug's id.
    pub bug_id: String,
    /// Which crash of the bug (0-based) the job is made from, and how many.
    pub crash_index: (usize, usize),
    /// The user's kernel repository.
    pub repo: PathBuf,
    /// The bad end: the crash's kernel commit.
    pub bad: String,
    /// The crash title to bisect.
    pub crash: String,
    /// The kernel config (where it is, or where it should be saved).
    pub config: PathBuf,
    /// The compiler to build with: a name in `PATH`.
    pub compiler: String,
    /// The crash's compiler, as the dashboard describes it.
    pub crash_compiler: String,
    /// How the chosen compiler differs from the crash's, if it does.
    pub compiler_note: Option<String>,
    /// The syz program.
    pub syz: Option<PathBuf>,
    /// The C program.
    pub c: Option<PathBuf>,
    /// The syz program's options file (`repro-opts`).
    pub syz_options: Option<PathBuf>,
    /// The crash report.
    pub report: Option<PathBuf>,
    /// Each reproducer's time limit.
    pub run_timeout: Duration,
    /// The syzkaller to run the syz program with (`None`: no syz program).
    pub syzkaller: Option<SyzkallerJob>,
    /// What is missing, each with what to do.
    pub missing: Vec<Missing>,
    /// Other things worth saying (architecture, compiler).
    pub notes: Vec<String>,
}

/// Why a bug file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SyzbotError {
    /// The file cannot be read.
    #[error("syzbot bug {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not the dashboard's bug JSON.
    #[error("syzbot bug {}: not a bug's JSON: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The bug lists no crash.
    #[error("syzbot bug {}: no crashes listed", .0.display())]
    NoCrashes(PathBuf),
}

/// Reads the dashboard's bug JSON.
pub fn read_bug(path: &Path) -> Result<SyzbotBug, SyzbotError> {
    let text = std::fs::read_to_string(path).map_err(|source| SyzbotError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| SyzbotError::Json {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// The job for the bug in `bug_file`, bisected in the kernel repository
/// `linux`, with the syzkaller checkout or ready-built directory
/// `syzkaller` (if given).
pub fn job_from_bug(
    bug_file: &Path,
    linux: &Path,
    syzkaller: Option<&Path>,
) -> Result<SyzbotJob, SyzbotError> {
    let bug = read_bug(bug_file)?;
    let dir = bug_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    job_from(&bug, bug_file, &dir, linux, syzkaller, &compiler_in_path)
}

/// The job, with `available` telling which compilers this machine has
/// (a name → its version line).
fn job_from(
    bug: &SyzbotBug,
    bug_file: &Path,
    dir: &Path,
    linux: &Path,
    syzkaller: Option<&Path>,
    available: &dyn Fn(&str) -> Option<String>,
) -> Result<SyzbotJob, SyzbotError> {
    let index = best_crash(&bug.crashes).ok_or_else(|| SyzbotError::NoCrashes(bug_file.into()))?;
    let crash = &bug.crashes[index];
    let mut missing = Vec::new();
    let mut notes = Vec::new();
    let mut file = |what: &str, link: &str, names: &[&str], required: bool| {
        linked_file(dir, what, link, names, required, &mut missing)
    };
    let config = file(
        "kernel config",
        &crash.kernel_config,
        &["config", ".config"],
        true,
    );
    let syz = file(
        "syz reproducer",
        &crash.syz_reproducer,
        &["repro.syz"],
        false,
    );
    let c = file("C reproducer", &crash.c_reproducer, &["repro.c"], false);
    let syz_options = match syz {
        Some(_) => file(
            "reproducer options",
            &crash.repro_opts,
            &["repro-opts", "repro.opts"],
            false,
        ),
        None => None,
    };
    let report = file(
        "crash report",
        &crash.crash_report_link,
        &["report.txt"],
        false,
    );
    let config = config.unwrap_or_else(|| dir.join("config"));
    if crash.syz_reproducer.is_empty() && crash.c_reproducer.is_empty() {
        missing.push(Missing {
            what: "reproducer".into(),
            how: "no crash of this bug has one: nothing to bisect with".into(),
        });
    }
    let bad = crash.kernel_source_commit.trim().to_owned();
    check_commit(linux, &bad, &crash.kernel_source_git, &mut missing);
    if !matches!(crash.architecture.as_str(), "" | "amd64") {
        notes.push(format!(
            "the crash is on {}: culprit runs amd64 guests",
            crash.architecture
        ));
    }
    let (compiler, compiler_note) = choose_compiler(&crash.compiler_description, available);
    let compiler = compiler.unwrap_or_else(|| {
        missing.push(Missing {
            what: "compiler".into(),
            how: "neither gcc nor clang is in PATH".into(),
        });
        "gcc".into()
    });
    notes.extend(compiler_note.clone());
    let syzkaller = syz
        .as_ref()
        .map(|_| syzkaller_job(syzkaller, &crash.syzkaller_commit, &mut missing));
    Ok(SyzbotJob {
        bug_title: bug.title.clone(),
        bug_id: bug.id.clone(),
        crash_index: (index, bug.crashes.len()),
        repo: std::path::absolute(linux).unwrap_or_else(|_| linux.to_owned()),
        bad,
        crash: match crash.title.trim() {
            "" => bug.title.clone(),
            title => title.to_owned(),
        },
        config,
        compiler,
        crash_compiler: crash.compiler_description.clone(),
        compiler_note,
        syz,
        c,
        syz_options,
        report,
        run_timeout: SYZBOT_RUN_TIMEOUT,
        syzkaller,
        missing,
        notes,
    })
}

/// The crash with the best reproducer: syz and C, then C, then syz.
fn best_crash(crashes: &[SyzbotCrash]) -> Option<usize> {
    let rank = |c: &SyzbotCrash| match (!c.syz_reproducer.is_empty(), !c.c_reproducer.is_empty()) {
        (true, true) => 0,
        (false, true) => 1,
        (true, false) => 2,
        (false, false) => 3,
    };
    (0..crashes.len()).min_by_key(|&i| (rank(&crashes[i]), i))
}

/// The file a link points to, saved in `dir`; a missing one is listed
/// (a missing optional one only if the crash links it).
fn linked_file(
    dir: &Path,
    what: &str,
    link: &str,
    names: &[&str],
    required: bool,
    missing: &mut Vec<Missing>,
) -> Option<PathBuf> {
    let link = link.trim();
    if link.is_empty() && !required {
        return None;
    }
    let mut candidates: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    candidates.extend(link_names(link));
    if let Some(found) = candidates.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
        return Some(found);
    }
    let usual = dir.join(names[0]);
    let how = match link.is_empty() {
        true => format!("the crash has none; give one at {}", usual.display()),
        false => format!("save {} as {}", full_link(link), usual.display()),
    };
    missing.push(Missing {
        what: what.to_owned(),
        how,
    });
    // Required ones are named in the job anyway, for the user to fill in.
    required.then_some(usual)
}

/// Names a download of `link` may have: its last path segment with the
/// query (`text?tag=ReproC&x=123`), and the `x=` id alone.
fn link_names(link: &str) -> Vec<String> {
    let last = link.rsplit('/').next().unwrap_or("");
    let mut names = Vec::new();
    if !last.is_empty() {
        names.push(last.to_owned());
    }
    let query = link.split_once('?').map_or("", |(_, q)| q);
    if let Some(x) = query.split('&').find_map(|kv| kv.strip_prefix("x=")) {
        names.push(x.to_owned());
    }
    names.retain(|n| !n.contains('/') && n != "." && n != "..");
    names
}

fn full_link(link: &str) -> String {
    match link.starts_with('/') {
        true => format!("{DASHBOARD}{link}"),
        false => link.to_owned(),
    }
}

/// Lists the bad commit as missing when `linux` does not have it.
fn check_commit(linux: &Path, commit: &str, tree: &str, missing: &mut Vec<Missing>) {
    if commit.is_empty() {
        missing.push(Missing {
            what: "kernel commit".into(),
            how: "the crash names none".into(),
        });
        return;
    }
    let known = !commit.starts_with('-')
        && Command::new("git")
            .arg("-C")
            .arg(linux)
            .args(["cat-file", "-e", &format!("{commit}^{{commit}}")])
            .output()
            .is_ok_and(|o| o.status.success());
    if !known {
        let from = match tree.trim() {
            "" => String::new(),
            tree => format!(" (its tree: {tree})"),
        };
        missing.push(Missing {
            what: "kernel commit".into(),
            how: format!("{commit} is not in {}: fetch it{from}", linux.display()),
        });
    }
}

/// Where the syz program's syzkaller comes from: `given` is a checkout
/// (built at the crash's commit) or a directory of built binaries.
fn syzkaller_job(given: Option<&Path>, commit: &str, missing: &mut Vec<Missing>) -> SyzkallerJob {
    let commit = commit.trim().to_owned();
    let Some(dir) = given else {
        missing.push(Missing {
            what: "syzkaller".into(),
            how: format!("give a syzkaller checkout to build {commit} (or a directory with built syz-execprog and syz-executor)"),
        });
        return SyzkallerJob::Unknown { commit };
    };
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    if dir.join(".git").exists() {
        if commit.is_empty() {
            missing.push(Missing {
                what: "syzkaller commit".into(),
                how: "the crash names none: set [syzkaller] commit".into(),
            });
        }
        return SyzkallerJob::Checkout { repo: dir, commit };
    }
    let built = ["bin/linux_amd64", "bin", "."]
        .iter()
        .any(|sub| dir.join(sub).join("syz-execprog").is_file());
    if !built {
        missing.push(Missing {
            what: "syzkaller".into(),
            how: format!(
                "{} is neither a git checkout nor a directory with syz-execprog",
                dir.display()
            ),
        });
    }
    SyzkallerJob::Prebuilt { dir }
}

/// The compiler family and version of a dashboard description, e.g.
/// `gcc (GCC) 10.2.1 20210217, GNU ld ...` → (`gcc`, `10.2.1`).
fn described_compiler(description: &str) -> (&'static str, Option<String>) {
    let compiler = description.split(',').next().unwrap_or("");
    let family = match compiler.contains("clang") {
        true => "clang",
        false => "gcc",
    };
    let version = compiler
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .find(|w| {
            let mut parts = w.split('.');
            parts.clone().count() >= 2
                && parts.all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        })
        .map(str::to_owned);
    (family, version)
}

/// The compiler to use for `description`: the crash's major version if
/// this machine has it (`gcc-10`), else the family's default, with a note
/// when the version differs; `None` when neither family is found.
fn choose_compiler(
    description: &str,
    available: &dyn Fn(&str) -> Option<String>,
) -> (Option<String>, Option<String>) {
    let (family, version) = described_compiler(description);
    let major = version.as_deref().and_then(|v| v.split('.').next());
    let mut candidates: Vec<String> = major.map(|m| format!("{family}-{m}")).into_iter().collect();
    candidates.push(family.to_owned());
    let other = if family == "gcc" { "clang" } else { "gcc" };
    candidates.push(other.to_owned());
    let Some((name, line)) = candidates
        .into_iter()
        .find_map(|name| available(&name).map(|line| (name, line)))
    else {
        return (None, None);
    };
    let same_version = version.as_deref().is_some_and(|v| line.contains(v));
    let note = match (description.trim().is_empty(), same_version) {
        (true, _) => Some(format!(
            "the crash does not say which compiler built it; using {name} ({line})"
        )),
        (false, true) => None,
        (false, false) => Some(format!(
            "compiler: using {name} ({line}); the crash's kernel was built with {}",
            description.split(',').next().unwrap_or(description).trim()
        )),
    };
    (Some(name), note)
}

/// A compiler in `PATH` and the first line of its `--version`.
fn compiler_in_path(name: &str) -> Option<String> {
    let path = culprit_vm::find_in_path(name)?;
    culprit_build::run::first_version_line(&path).or_else(|| Some(name.to_owned()))
}

impl SyzbotJob {
    /// The job file's text; paths under `job_dir` (where the file goes) are
    /// written relative to it. Missing files are still named (where they
    /// should be), so the job loads once the user saves them; the header
    /// comments list what is missing.
    pub fn to_toml(&self, job_dir: &Path) -> String {
        let path = |p: &Path| quote(&relative(p, job_dir));
        let mut out = String::new();
        out.push_str(&format!(
            "# syzbot bug {:?} (id {}), crash {} of {}\n",
            self.bug_title,
            self.bug_id,
            self.crash_index.0 + 1,
            self.crash_index.1
        ));
        for note in &self.notes {
            out.push_str(&format!("# note: {note}\n"));
        }
        if !self.missing.is_empty() {
            out.push_str("# missing:\n");
            for missing in &self.missing {
                out.push_str(&format!("#   - {missing}\n"));
            }
        }
        out.push_str(&format!("repo = {}\n", path(&self.repo)));
        out.push_str(&format!("bad = {}\n", quote(&self.bad)));
        out.push_str(&format!("crash = {}\n", quote(&self.crash)));
        let minutes = self.run_timeout.as_secs() / 60;
        out.push_str(&format!("test_timeout = \"{minutes}m\"\n"));
        out.push_str("\n[kernel]\n");
        out.push_str(&format!("config = {}\n", path(&self.config)));
        out.push_str(&format!("compiler = {}\n", quote(&self.compiler)));
        out.push_str("\n[reproducer]\n");
        for (key, file) in [
            ("syz", &self.syz),
            ("c", &self.c),
            ("syz_options", &self.syz_options),
        ] {
            if let Some(file) = file {
                out.push_str(&format!("{key} = {}\n", path(file)));
            }
        }
        match &self.syzkaller {
            None => {}
            Some(SyzkallerJob::Checkout { repo, commit }) => out.push_str(&format!(
                "\n[syzkaller]\nrepo = {}\ncommit = {}\n",
                path(repo),
                quote(commit)
            )),
            Some(SyzkallerJob::Prebuilt { dir }) => {
                out.push_str(&format!("\n[syzkaller]\ndir = {}\n", path(dir)))
            }
            Some(SyzkallerJob::Unknown { commit }) => out.push_str(&format!(
                "\n[syzkaller]\n# repo = \"...\"  (missing: a syzkaller checkout)\ncommit = {}\n",
                quote(commit)
            )),
        }
        out
    }
}

/// A TOML string.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// `path` relative to `base` when it is under it, else as it is.
fn relative(path: &Path, base: &Path) -> String {
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_owned());
    let shown = path.strip_prefix(&base).unwrap_or(path);
    match shown.as_os_str().is_empty() {
        true => ".".into(),
        false => shown.to_string_lossy().into_owned(),
    }
}

#[cfg(test)]
#[path = "syzbot_tests.rs"]
mod tests;
