//! One build cache for all workers: ccache's remote storage on a real
//! Redis. A fake kernel tree whose Makefile compiles C files with `$(CC)`
//! (so a real compiler goes through culprit's ccache wrapper) and a fake
//! QEMU keep it to seconds. A second worker, with a local ccache of its
//! own that is empty, builds the commits the first built: ccache's
//! statistics in its directory show remote hits. And built kernels are
//! shared through the kernel store: a worker that takes over a killed
//! worker's kernel bisection boots the kernels the first one built,
//! without building them again.

mod svc;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use culprit_service::local::LocalRedis;
use svc::Service;

/// The "kernel": two C files compiled and linked into an ELF `vmlinux`;
/// the boot image is `kernel.txt`, which says whether it has the bug.
const MAKEFILE: &str = "olddefconfig:\n\t@true\n\
bzImage:\n\t$(CC) -O1 -c a.c -o a.o\n\t$(CC) -O1 -c b.c -o b.o\n\t$(CC) a.o b.o -o vmlinux\n\
\tmkdir -p arch/x86/boot\n\tcp kernel.txt arch/x86/boot/bzImage\n";

/// QEMU's stand-in (the kernel-mode tests share it).
const QEMU: &str = include_str!("../../cli/tests/fake/qemu.sh");

fn missing() -> Option<&'static str> {
    if !["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .any(|p| Path::new(p).exists())
    {
        return Some("no static busybox for the initramfs (bash scripts/deps.sh)");
    }
    if Command::new("ccache").arg("--version").output().is_err() {
        return Some("ccache is not installed (bash scripts/deps.sh)");
    }
    if Command::new("gcc").arg("--version").output().is_err() {
        return Some("gcc is not installed");
    }
    None
}

/// ccache's counters in `dir`.
fn ccache_stats(dir: &Path) -> HashMap<String, u64> {
    let out = Command::new("ccache")
        .arg("--print-stats")
        .env("CCACHE_DIR", dir)
        .output()
        .expect("ccache --print-stats");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once('\t')?;
            Some((name.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn a_second_worker_gets_ccache_remote_hits_for_commits_the_first_built() {
    if let Some(why) = missing() {
        println!("SKIPPED: the shared cache test: {why}");
        return;
    }
    let Some(mut service) = Service::start("the shared cache test") else {
        return;
    };
    let redis = match LocalRedis::start(&service.dir.path().join("redis")) {
        Ok(redis) => redis,
        Err(e) => {
            println!("SKIPPED: the shared cache test: {e}");
            return;
        }
    };
    let dir = service.dir.path().to_owned();
    let repo = dir.join("linux");
    let h = svc::history(&repo, 6, |i| {
        vec![
            ("Makefile".into(), MAKEFILE.into()),
            ("a.c".into(), "int a(void) { return 1; }\n".into()),
            (
                "b.c".into(),
                format!("int a(void);\nint main(void) {{ return a() + {i}; }}\n"),
            ),
            (
                "kernel.txt".into(),
                format!("{} {i}\n", if i >= 4 { "BUG" } else { "OK" }),
            ),
        ]
    });
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(dir.join("qemu-fake"), QEMU).unwrap();
    std::fs::set_permissions(
        dir.join("qemu-fake"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(dir.join("config"), "CONFIG_64BIT=y\n").unwrap();
    std::fs::write(dir.join("repro.sh"), "#!/bin/sh\ntrue\n").unwrap();
    // No store of built kernels: the second worker must compile, so that
    // ccache is what spares it the work.
    let job = format!(
        "repo = {repo:?}\nbad = {bad:?}\ngood = [{good:?}]\nstrategy = \"classic\"\nruns = 2\n\
         [kernel]\nconfig = {config:?}\njobs = 1\nstore = \"none\"\n\
         [reproducer]\nscript = {repro:?}\nrun_timeout = \"10s\"\nboot_timeout = \"10s\"\n\
         [vm]\nqemu = {qemu:?}\n",
        repo = repo.display().to_string(),
        bad = h[5],
        good = h[0],
        config = dir.join("config").display().to_string(),
        repro = dir.join("repro.sh").display().to_string(),
        qemu = dir.join("qemu-fake").display().to_string(),
    );
    let remote = redis.url();
    let run_on = |service: &mut Service, worker: &str| {
        let ccache = dir.join(format!("ccache-{worker}"));
        let ccache_dir = ccache.display().to_string();
        service.worker(
            worker,
            &["--ccache-remote", &remote],
            &[("CCACHE_DIR", &ccache_dir)],
        );
        let id = service.submit_ok(&job);
        let done = service.wait_done(id, Duration::from_secs(300));
        service.kill_worker(worker);
        assert_eq!(
            done["outcome"],
            "culprit",
            "{done}\n{}",
            service.worker_log(worker)
        );
        assert_eq!(done["culprit"].as_str(), Some(h[4].as_str()), "{done}");
        ccache_stats(&ccache)
    };
    let first = run_on(&mut service, "first");
    assert!(
        first["remote_storage_write"] > 0,
        "the first worker stored nothing: {first:?}"
    );
    let second = run_on(&mut service, "second");
    assert!(
        second["remote_storage_hit"] > 0,
        "no remote hits on the second worker: {second:?}"
    );
    // The same commits, the same tree: nothing was compiled again.
    assert_eq!(second["cache_miss"], 0, "{second:?}");
    assert!(first["cache_miss"] > 0, "{first:?}");
}

/// A tree of `n` commits whose "kernel" has the bug from commit `from` on;
/// every build writes a line to `builds`.
fn recording_tree(repo: &Path, builds: &Path, n: usize, from: usize) -> Vec<String> {
    let makefile = MAKEFILE.replace(
        "\tmkdir -p",
        &format!(
            "\techo $$(cat kernel.txt) >> {}\n\tmkdir -p",
            builds.display()
        ),
    );
    svc::history(repo, n, |i| {
        vec![
            ("Makefile".into(), makefile.clone()),
            ("a.c".into(), "int a(void) { return 1; }\n".into()),
            (
                "b.c".into(),
                format!("int a(void);\nint main(void) {{ return a() + {i}; }}\n"),
            ),
            (
                "kernel.txt".into(),
                format!("{} {i}\n", if i >= from { "BUG" } else { "OK" }),
            ),
        ]
    })
}

#[test]
fn a_worker_taking_over_a_kernel_bisection_boots_the_kernels_already_built() {
    if let Some(why) = missing() {
        println!("SKIPPED: the kernel store test: {why}");
        return;
    }
    let Some(mut service) = Service::start("the kernel store test") else {
        return;
    };
    let dir = service.dir.path().to_owned();
    let builds = dir.join("builds.txt");
    let h = recording_tree(&dir.join("linux"), &builds, 12, 7);
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(dir.join("qemu-fake"), QEMU).unwrap();
    std::fs::set_permissions(
        dir.join("qemu-fake"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(dir.join("config"), "CONFIG_64BIT=y\n").unwrap();
    std::fs::write(dir.join("repro.sh"), "#!/bin/sh\ntrue\n").unwrap();
    let job = format!(
        "repo = {repo:?}\nbad = {bad:?}\ngood = [{good:?}]\nstrategy = \"classic\"\nruns = 4\n\
         [kernel]\nconfig = {config:?}\njobs = 1\nccache = false\n\
         [reproducer]\nscript = {repro:?}\nrun_timeout = \"10s\"\nboot_timeout = \"10s\"\n\
         [vm]\nqemu = {qemu:?}\n",
        repo = dir.join("linux").display().to_string(),
        bad = h[11],
        good = h[0],
        config = dir.join("config").display().to_string(),
        repro = dir.join("repro.sh").display().to_string(),
        qemu = dir.join("qemu-fake").display().to_string(),
    );
    let store = dir.join("kernel-store").display().to_string();
    let args = ["--spread", "1", "--kernel-store", &store];
    let slow = [("FAKE_QEMU_SECS", "0.3")];
    let id = service.submit_ok(&job);
    service.worker("first", &args, &slow);
    service.worker("second", &args, &slow);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    // Kill the owner in the middle of a commit's runs (after its build).
    loop {
        let runs = service.journaled_runs(id).len();
        if runs >= 10 && runs % 4 != 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no runs journaled");
        std::thread::sleep(Duration::from_millis(20));
    }
    let owner = service.get_json(&format!("/api/jobs/{id}"))["owner"]
        .as_str()
        .expect("owner")
        .to_owned();
    service.kill_worker(&owner);
    let done = service.wait_done(id, Duration::from_secs(180));
    assert_eq!(done["outcome"], "culprit", "{done}");
    assert_eq!(done["culprit"].as_str(), Some(h[7].as_str()), "{done}");
    assert_eq!(done["attempts"], 2, "{done}");
    let text = std::fs::read_to_string(&builds).unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        assert!(seen.insert(line), "{line:?} built twice:\n{text}");
    }
}
