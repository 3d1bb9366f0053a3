//! The kernel scenario end to end: a real git history on Debian's
//! linux-source-6.1 (`tests/kernel/make-scenario.sh`), real kernel builds,
//! real QEMU, the real `culprit` binary. A cause bisection, then a fix
//! bisection in another work directory sharing the store of built kernels
//! (and ccache): documentation commits are never built, the culprit is
//! verified by its revert, and the fix is found across a later rename of
//! the crashing function. Then the cause bisection once more with a syz
//! program, run by syz-execprog built at a syzkaller commit (the project's
//! stand-in, in a fake syzkaller repository).
//!
//! Skips, saying why, when the kernel source, QEMU or a static busybox is
//! absent (`bash scripts/deps.sh` installs them). The scenario repository
//! is made once per version of the script and patches, under
//! `target/culprit-scenario/`; ccache lives in `target/culprit-ccache/`.

#[path = "../../../tests/kernel/scenario.rs"]
mod scenario;
use scenario::scenario;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const TARBALL: &str = "/usr/src/linux-source-6.1.tar.xz";
const CAUSE_TITLE: &str = "prctl: factor out scratch value checking";
const FIX_TITLE: &str = "prctl: do not warn on out-of-range scratch values";
/// The crash the culprit adds (the reproducer also hits an unrelated
/// lseek warning in some runs: it must never make a commit bad).
const CRASH: &str = "WARNING in prctl_scratch_check";
/// Its title after the function is renamed (after the bad end).
const RENAMED: &str = "WARNING in prctl_scratch_validate";
/// Documentation commits strictly between v6.1 and the bad end.
const DOCS_INSIDE: [&str; 8] = [
    "docs: sysctl/kernel: say that panic_on_warn is off by default",
    "Documentation: userspace-api: describe the prctl scratch value",
    "docs: sysctl/kernel: mention fuzzers in panic_on_warn",
    "Documentation: userspace-api: document the scratch value limit",
    "Documentation: userspace-api: document EFAULT for PR_GET_SCRATCH",
    "docs: sysctl/kernel: add a note on tainting by warnings",
    "Documentation: userspace-api: give a scratch value example",
    "docs: process: howto: point at the bisection guide",
];

fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn missing_resource() -> Option<String> {
    for path in [TARBALL, "/bin/busybox"] {
        if !Path::new(path).exists() {
            return Some(format!("{path} is absent (bash scripts/deps.sh)"));
        }
    }
    let qemu = Command::new("qemu-system-x86_64").arg("--version").output();
    if !qemu.is_ok_and(|o| o.status.success()) {
        return Some("qemu-system-x86_64 cannot be run (bash scripts/deps.sh)".into());
    }
    None
}

#[test]
fn kernel_cause_and_fix_bisections_find_their_culprits() {
    if let Some(why) = missing_resource() {
        eprintln!("skipping the kernel end-to-end test: {why}");
        return;
    }
    let started = Instant::now();
    let root = root();
    let scenario = scenario(&root).expect("the kernel scenario");
    let work = tempfile::Builder::new()
        .prefix("culprit-e2e-")
        .tempdir_in(root.join("target"))
        .expect("work directory");
    // The cause bisection follows syzbot's rules, whose first pick is the
    // commit that breaks the build; the fix bisection uses the default
    // strategy (bayes), so both run on real kernels.
    let cause = bisect(
        &root,
        &scenario,
        work.path(),
        "cause",
        "strategy = \"classic\"\n",
    );
    check_cause(&scenario, &cause);
    eprintln!("cause bisection done after {:?}", started.elapsed());
    let fix = bisect(
        &root,
        &scenario,
        work.path(),
        "fix",
        "fix = true\ngood_end = \"master\"\n",
    );
    check_fix(&scenario, &fix);
    check_shared_kernels(&cause.log, &fix.log);
    eprintln!("both bisections done after {:?}", started.elapsed());
    check_pruned_commits_build_as_their_parents(&root, &scenario, work.path(), &cause.log);
    eprintln!("pruned commits checked after {:?}", started.elapsed());
    check_syz(&root, &scenario, work.path());
    eprintln!("kernel end-to-end test took {:?}", started.elapsed());
}

/// The cause bisection again with a syz program run by syzkaller built at
/// a commit (a fake syzkaller repository whose Makefile builds the
/// project's stand-in syz-execprog and syz-executor): the same culprit,
/// kernels from the shared store.
fn check_syz(root: &Path, scenario: &Path, work: &Path) {
    let syzkaller = work.join("syzkaller");
    std::fs::create_dir_all(&syzkaller).expect("syzkaller checkout");
    for file in ["execprog.c", "executor.c", "standin.h", "Makefile"] {
        std::fs::copy(root.join("tests/syz").join(file), syzkaller.join(file)).expect("copy");
    }
    git(&syzkaller, &["init", "-q", "-b", "master"]);
    git(&syzkaller, &["add", "-A"]);
    git(
        &syzkaller,
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.org",
            "commit",
            "-qm",
            "syzkaller",
        ],
    );
    let commit = rev_parse(&syzkaller, "HEAD");
    let extra = format!(
        "test_timeout = \"6s\"\ngood = [\"v6.1\"]\n[syzkaller]\nrepo = {syzkaller:?}\ncommit = {commit:?}\n"
    );
    let run = bisect_with(root, scenario, work, "syz", &extra, Reproducer::Syz);
    let log = &run.log;
    let culprit = commit_titled(scenario, CAUSE_TITLE);
    for line in [
        format!("building syzkaller on {commit}"),
        "syz-execprog -executor=/syz-executor -arch=amd64".to_string(),
        format!("crashed: {CRASH}"),
        format!("{culprit} is the first bad commit"),
    ] {
        assert!(log.contains(&line), "missing {line:?} in:\n{log}");
    }
    assert_eq!(run.json["culprit"]["hash"], culprit.as_str(), "{log}");
}

/// The commits a log says were built (not taken from the store).
fn built_in(log: &str) -> Vec<&str> {
    log.lines()
        .filter_map(|l| l.strip_prefix("kernel for "))
        .filter_map(|l| l.strip_suffix(" built"))
        .collect()
}

/// The fix bisection builds only kernels the cause bisection never built.
fn check_shared_kernels(cause: &str, fix: &str) {
    let before = built_in(cause);
    let again: Vec<&str> = built_in(fix)
        .into_iter()
        .filter(|c| before.contains(c))
        .collect();
    assert!(again.is_empty(), "built again: {again:?}\n{fix}");
    assert!(fix.contains(" from the build store"), "{fix}");
}

/// Every commit skipped as unable to matter builds the same kernel as its
/// parent (or fails the same way): checked by building both anyway.
fn check_pruned_commits_build_as_their_parents(
    root: &Path,
    scenario: &Path,
    work: &Path,
    log: &str,
) {
    let pruned: Vec<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("skipping commit "))
        .filter_map(|l| l.strip_suffix(": changes no file this kernel is built from"))
        .collect();
    let tree = work.join("signatures");
    git(
        work,
        &[
            "clone",
            "-q",
            "--shared",
            "--no-checkout",
            &scenario.display().to_string(),
            &tree.display().to_string(),
        ],
    );
    let wrapper = work.join("ccache.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexport CCACHE_DIR='{}' CCACHE_BASEDIR='{}' CCACHE_NOHASHDIR=1 CCACHE_DEPEND=1 \
             CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime\nexec ccache \"$@\"\n",
            root.join("target/culprit-ccache").display(),
            tree.display()
        ),
    )
    .expect("ccache wrapper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut recipe = culprit_build::KernelRecipe::new(root.join("tests/kernel/config"), "gcc");
    recipe.ccache = Some(wrapper);
    let out = work.join("signature-builds");
    let signature = |commit: &str| {
        git(&tree, &["checkout", "-q", "--force", commit]);
        recipe
            .build(&tree, &out)
            .map(|b| b.signature)
            .map_err(|_| ())
    };
    for commit in &pruned {
        let parent = rev_parse(scenario, &format!("{commit}^"));
        let (theirs, ours) = (signature(&parent), signature(commit));
        assert_eq!(
            ours, theirs,
            "skipped commit {commit} builds another kernel than its parent"
        );
    }
}

/// What one bisection printed and wrote.
struct Run {
    log: String,
    json: serde_json::Value,
}

/// Which reproducer a bisection runs.
enum Reproducer {
    /// The scenario's C program.
    C,
    /// The syz program of tests/syz, through syz-execprog.
    Syz,
}

fn bisect(root: &Path, scenario: &Path, work: &Path, name: &str, extra: &str) -> Run {
    bisect_with(root, scenario, work, name, extra, Reproducer::C)
}

fn bisect_with(
    root: &Path,
    scenario: &Path,
    work: &Path,
    name: &str,
    extra: &str,
    reproducer: Reproducer,
) -> Run {
    let json = work.join(format!("{name}.json"));
    let reproducer = match reproducer {
        Reproducer::C => format!(
            "c = {:?}\nrun_timeout = \"10s\"\n",
            root.join("tests/kernel/repro.c")
        ),
        Reproducer::Syz => format!("syz = {:?}\n", root.join("tests/syz/repro.syz")),
    };
    // The job's own tables come last: the top-level keys first.
    let (top, tables) = match extra.find("\n[") {
        Some(at) => extra.split_at(at + 1),
        None => (extra, ""),
    };
    let job = format!(
        "{top}repo = {scenario:?}\nbad = \"scenario-bad\"\ncrash = {crash:?}\nworkdir = {workdir:?}\n\
         json = {json:?}\nruns = 6\nvms = 2\n\
         [kernel]\nconfig = {config:?}\nbuild_timeout = \"20m\"\nstore = {store:?}\n\
         [reproducer]\n{reproducer}boot_timeout = \"60s\"\n{tables}",
        workdir = work.join(format!("work-{name}")),
        store = work.join("store"),
        config = root.join("tests/kernel/config"),
        crash = CRASH,
    );
    let file = work.join(format!("{name}.toml"));
    std::fs::write(&file, job).expect("job file");
    let out = Command::new(env!("CARGO_BIN_EXE_culprit"))
        .arg("bisect")
        .arg(&file)
        .env("CCACHE_DIR", root.join("target/culprit-ccache"))
        // syzkaller's builds are cached in culprit's cache directory.
        .env("XDG_CACHE_HOME", work.join("cache"))
        .output()
        .expect("run culprit");
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    std::fs::write(work.join(format!("{name}.log")), &log).expect("keep the log");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name} bisection failed:\n{log}\n{stderr}"
    );
    let text = std::fs::read_to_string(&json).expect("JSON outcome");
    let json = serde_json::from_str(&text).expect("JSON outcome parses");
    Run { log, json }
}

fn check_cause(scenario: &Path, run: &Run) {
    let culprit = commit_titled(scenario, CAUSE_TITLE);
    let log = &run.log;
    let bad = rev_parse(scenario, "scenario-bad");
    for line in [
        format!("bisecting cause commit starting from {bad}"),
        format!("testing commit {bad}"),
        "building reproducer ".to_string(),
        "accelerator: ".to_string(),
        "compiler: gcc".to_string(),
        "kernel signature: ".to_string(),
        "testing release v6.1".to_string(),
        // `all runs: crashed: ...` or `run #i: crashed: ...`.
        format!("crashed: {CRASH}"),
        "all runs: OK".to_string(),
        "# git bisect start ".to_string(),
        "# git bisect skip ".to_string(),
        format!("{culprit} is the first bad commit"),
        format!("first bad commit: {culprit} {CAUSE_TITLE} (confidence "),
        "culprit signature: ".to_string(),
        "parent  signature: ".to_string(),
        "revisions tested: ".to_string(),
        format!("crash: {CRASH}"),
    ] {
        assert!(log.contains(&line), "missing {line:?} in:\n{log}");
    }
    assert!(
        has_line_like(log, "Bisecting: ", " (roughly ", " steps)"),
        "{log}"
    );
    check_common(log);
    check_noop(log);
    check_unrelated_crash_not_bad(log);
    // The documentation commits between the ends are never built.
    for title in DOCS_INSIDE {
        let docs = commit_titled(scenario, title);
        let line = format!("skipping commit {docs}: changes no file this kernel is built from");
        assert!(log.contains(&line), "{title} not skipped:\n{log}");
    }
    // The culprit's revert on the bad end makes the WARNING go.
    assert!(log.contains("\nverifying culprit\n"), "{log}");
    assert!(
        log.contains("removes the crash: culprit confirmed"),
        "{log}"
    );
    assert_eq!(run.json["verification"]["verdict"], "fixes");
    let json = &run.json;
    assert_eq!(json["outcome"], "culprit", "{json}");
    assert_eq!(json["direction"], "cause");
    assert_eq!(json["strategy"], "classic");
    assert_eq!(json["culprit"]["hash"], culprit.as_str());
    assert_eq!(json["culprit"]["title"], CAUSE_TITLE);
    assert_eq!(json["crash"]["title"], CRASH);
    let skipped = json["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .any(|s| s["verdict"] == "skip");
    assert!(skipped, "no skipped step in {json}");
    // Trailers: the author and her reviewer; never the Cc: or stable@.
    let to = json["recipients"]["to"].to_string();
    assert!(
        to.contains("jane.developer@") && to.contains("rob.reviewer@"),
        "{to}"
    );
    assert!(
        !to.contains("mia.maintainer@") && !to.contains("stable@"),
        "{to}"
    );
    // get_maintainer.pl ran: kernel/sys.c goes to the kernel's list.
    let cc = json["recipients"]["cc"].to_string();
    assert!(cc.contains("linux-kernel@vger.kernel.org"), "{cc}");
}

fn check_fix(scenario: &Path, run: &Run) {
    let culprit = commit_titled(scenario, FIX_TITLE);
    let log = &run.log;
    let bad = rev_parse(scenario, "scenario-bad");
    for line in [
        format!("bisecting fixing commit starting from {bad}"),
        "# git bisect start --term-old=crashing --term-new=fixed ".to_string(),
        format!("{culprit} is the first fixed commit"),
        format!("first fixed commit: {culprit} {FIX_TITLE} (confidence "),
        "culprit signature: ".to_string(),
        "parent  signature: ".to_string(),
        "revisions tested: ".to_string(),
    ] {
        assert!(log.contains(&line), "missing {line:?} in:\n{log}");
    }
    check_common(log);
    check_noop(log);
    // After the rename, the crash has another title: the same bug.
    assert!(
        log.contains(&format!("crashed: {RENAMED} (same bug as {CRASH}: same ")),
        "{log}"
    );
    // Reverting the fix on the good end brings the crash back.
    assert!(
        log.contains("brings the crash back: fix confirmed"),
        "{log}"
    );
    let json = &run.json;
    assert_eq!(json["verification"]["verdict"], "crashes");
    assert_eq!(json["outcome"], "culprit", "{json}");
    assert_eq!(json["direction"], "fix");
    assert_eq!(json["strategy"], "bayes");
    assert_eq!(json["culprit"]["hash"], culprit.as_str());
}

/// Lines both bisections print.
fn check_common(log: &str) {
    assert!(log.contains("is the first"), "{log}");
    let recipients = log.lines().find(|l| l.starts_with("recipients (to): [\""));
    assert!(recipients.is_some(), "no recipients line in:\n{log}");
    assert!(
        has_line_like(log, "revisions tested: ", ", total time: ", ")"),
        "{log}"
    );
}

/// The culprit changes code: its kernel differs from its parent's.
fn check_noop(log: &str) {
    let signature = |prefix: &str| {
        log.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{log}"))
    };
    let culprit = signature("culprit signature: ");
    let parent = signature("parent  signature: ");
    assert_eq!(culprit.len(), 64, "{culprit}");
    assert_ne!(culprit, parent, "the culprit was flagged a no-op:\n{log}");
}

/// No commit was marked bad on the strength of the unrelated crash alone:
/// every `# git bisect bad` follows a test where the bisected crash showed.
fn check_unrelated_crash_not_bad(log: &str) {
    let mut block = String::new();
    for line in log.lines() {
        if line.starts_with("testing commit ") {
            block.clear();
        }
        block.push_str(line);
        block.push('\n');
        if line.starts_with("# git bisect bad ") {
            assert!(
                block.contains(CRASH),
                "marked bad without {CRASH}:\n{block}"
            );
        }
    }
}

fn has_line_like(log: &str, start: &str, middle: &str, end: &str) -> bool {
    log.lines()
        .any(|l| l.starts_with(start) && l.contains(middle) && l.ends_with(end))
}

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(repo)
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn rev_parse(repo: &Path, rev: &str) -> String {
    git(repo, &["rev-parse", &format!("{rev}^{{commit}}")])
}

/// The one commit with this subject.
fn commit_titled(repo: &Path, title: &str) -> String {
    let found = git(repo, &["log", "--format=%H %s", "master"]);
    let hashes: Vec<&str> = found
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .filter(|(_, s)| *s == title)
                .map(|(h, _)| h)
        })
        .collect();
    assert_eq!(hashes.len(), 1, "commits titled {title:?}: {hashes:?}");
    hashes[0].to_owned()
}
