//! Helpers for the `culprit bisect` integration tests: git repositories
//! built in temporary directories with fixed authors and dates (stable
//! hashes), and the real `culprit` binary run in a locked-down environment.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The test script stored in the repositories: crashes with a kernel-style
/// WARNING when `code.c` holds `BUG`, with another crash when it holds
/// `OTHER`, flakily (runs 0 and 5 of every 10) when it holds `FLAKY`, and
/// cannot test (125) when it holds `CANT`.
pub const TEST_SH: &str = r#"
if grep -q OTHER code.c; then
  echo "BUG: KASAN: use-after-free in bar+0x10/0x20"
  echo "Read of size 8 at addr ffff888000000000 by task a.out/1"
  exit 1
fi
if grep -q BUG code.c || { grep -q FLAKY code.c && [ $((CULPRIT_RUN % 5)) -eq 0 ]; }; then
  cat <<'EOR'
------------[ cut here ]------------
WARNING: CPU: 0 PID: 1 at kernel/foo.c:10 foo+0x10/0x20 kernel/foo.c:10
Modules linked in:
CPU: 0 PID: 1 Comm: a.out Not tainted 6.1.0 #1
RIP: 0010:foo+0x10/0x20 kernel/foo.c:10
Call Trace:
 <TASK>
 bar+0x1/0x2 kernel/bar.c:1
 do_syscall_64+0x35/0xb0 arch/x86/entry/common.c:80
 entry_SYSCALL_64_after_hwframe+0x44/0xae
 </TASK>
EOR
  exit 1
fi
if grep -q CANT code.c; then exit 125; fi
exit 0
"#;

/// The build script: fails when `code.c` holds `BROKEN`; the artifact
/// `out.bin` is all `*.c` files without comment lines (so a commit that changes
/// only comments builds the same program). It takes a little longer than a
/// run of the test, as a build does: bayes prices builds measured at under
/// half a run as free, and the tests' bisections must not go one way or the
/// other with the machine's load.
pub const BUILD_SH: &str = r#"
if grep -q BROKEN code.c; then echo "code.c:1: error: broken" >&2; exit 1; fi
cat *.c | grep -v '^//' > out.bin
sleep 0.05
"#;

/// A git repository under construction in a temporary directory.
pub struct TestRepo {
    pub dir: tempfile::TempDir,
    pub home: tempfile::TempDir,
    clock: u64,
}

impl TestRepo {
    /// An empty repository on branch `main` with the scripts committed.
    pub fn new() -> TestRepo {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = tempfile::tempdir().expect("temp home");
        let mut repo = TestRepo {
            dir,
            home,
            clock: 1_700_000_000,
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git in the repository with a fixed identity and date.
    pub fn git(&mut self, args: &[&str]) -> String {
        self.clock += 60;
        let date = format!("@{} +0000", self.clock);
        let out = locked(Command::new("git"), self.home.path())
            .args(args)
            .current_dir(self.path())
            .env("GIT_AUTHOR_NAME", "Ann Author")
            .env("GIT_AUTHOR_EMAIL", "ann@example.com")
            .env("GIT_COMMITTER_NAME", "Cid Committer")
            .env("GIT_COMMITTER_EMAIL", "cid@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn write(&self, path: &str, content: &str) {
        let full = self.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(full, content).expect("write");
    }

    /// Commits `code.c` with `content` (and the scripts), returns the hash.
    pub fn commit_code(&mut self, message: &str, content: &str) -> String {
        self.write("code.c", content);
        self.commit(message)
    }

    /// Commits everything in the working tree, returns the hash.
    pub fn commit(&mut self, message: &str) -> String {
        self.write("test.sh", TEST_SH);
        self.write("build.sh", BUILD_SH);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// A linear history: commit `i` has `code.c` = lines 0..=i, plus
    /// `marker` from commit `from` on. Returns the hashes.
    pub fn linear(&mut self, n: usize, from: usize, marker: &str) -> Vec<String> {
        let mut code = String::new();
        (0..n)
            .map(|i| {
                code.push_str(&format!("int f{i};\n"));
                if i == from {
                    code.push_str(&format!("{marker}\n"));
                }
                self.commit_code(&format!("commit {i}"), &code)
            })
            .collect()
    }

    /// A history where every commit adds a file of its own and commit
    /// `from` adds `marker` to `code.c`: reverting any commit applies
    /// cleanly on top of the later ones. Returns the hashes.
    pub fn separate(&mut self, n: usize, from: usize, marker: &str) -> Vec<String> {
        (0..n)
            .map(|i| {
                self.write(&format!("f{i}.c"), &format!("int f{i};\n"));
                if i == 0 {
                    self.write("code.c", "int main;\n");
                }
                if i == from {
                    self.write("code.c", &format!("int main;\n{marker}\n"));
                }
                self.commit(&format!("commit {i}"))
            })
            .collect()
    }

    /// A snapshot of everything the user could see of their checkout.
    pub fn checkout_state(&mut self) -> String {
        let status = self.git(&[
            "status",
            "--porcelain=v2",
            "--branch",
            "--untracked-files=all",
            "--ignored",
        ]);
        let head = self.git(&["rev-parse", "HEAD"]);
        let index = std::fs::read(self.path().join(".git/index")).expect("index");
        let refs = self.git(&["for-each-ref"]);
        let worktrees = self.git(&["worktree", "list", "--porcelain"]);
        let mut files: Vec<String> = walk(self.path())
            .into_iter()
            .filter(|p| !p.starts_with(self.path().join(".git")))
            .map(|p| format!("{}={:?}", p.display(), std::fs::read(&p).ok()))
            .collect();
        files.sort();
        format!(
            "{status}\n{head}\n{index:?}\n{refs}\n{worktrees}\n{}",
            files.join("\n")
        )
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A command with a clean environment: PATH, HOME and git isolation only.
pub fn locked(mut command: Command, home: &Path) -> Command {
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("LANG", "C");
    command
}

/// What one `culprit` invocation did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub json: Option<serde_json::Value>,
}

impl Run {
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    pub fn json(&self) -> &serde_json::Value {
        self.json.as_ref().expect("JSON written")
    }

    pub fn culprit_hash(&self) -> &str {
        self.json()["culprit"]["hash"].as_str().unwrap_or("(none)")
    }
}

/// Runs `culprit ARGS` with `--json` into a fresh file; the work directory
/// is passed by the caller (or defaults under the locked HOME).
pub fn culprit(home: &Path, args: &[&str]) -> Run {
    culprit_in(home, None, args)
}

/// [`culprit`] started in `dir` (the test's own directory when `None`).
pub fn culprit_in(home: &Path, dir: Option<&Path>, args: &[&str]) -> Run {
    let json = tempfile::NamedTempFile::new().expect("temp file");
    let mut command = locked(Command::new(env!("CARGO_BIN_EXE_culprit")), home);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output: Output = command
        .args(args)
        .arg("--json")
        .arg(json.path())
        .output()
        .expect("culprit runs");
    let text = std::fs::read_to_string(json.path()).unwrap_or_default();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        json: serde_json::from_str(&text).ok(),
    }
}

/// The usual generic-mode arguments for a repository.
pub fn bisect_args<'a>(repo: &'a str, workdir: &'a str, bad: &'a str) -> Vec<&'a str> {
    vec![
        "bisect",
        "--repo",
        repo,
        "--bad",
        bad,
        "--build",
        "sh build.sh",
        "--test",
        "sh test.sh",
        "--artifact",
        "out.bin",
        "--workdir",
        workdir,
        // The expectations here follow syzbot's rules; bayes has its own tests.
        "--strategy",
        "classic",
        // Verification by revert has its own tests.
        "--no-verify",
    ]
}

/// Whether process `pid` runs (a zombie has stopped running).
pub fn alive(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .next();
    matches!(state, Some(s) if s != "Z" && s != "X")
}
