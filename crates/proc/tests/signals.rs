//! A signal to a process that started groups with `culprit_proc::spawn`
//! kills the groups, then the process itself. The process signalled is a
//! helper: this test binary run again with only the `helper` test, which
//! does nothing unless `HELPER_DIR` is set.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HELPER_DIR: &str = "CULPRIT_PROC_HELPER_DIR";
const HELPER_IGNORES_SIGHUP: &str = "CULPRIT_PROC_HELPER_IGNORES_SIGHUP";
/// Groups the helper starts, from as many threads.
const GROUPS: usize = 3;

/// Not a test by itself: starts groups of two `sleep`s each from several
/// threads, writes their ids to `HELPER_DIR/groupN`, and waits.
#[test]
fn helper() {
    let Some(dir) = std::env::var_os(HELPER_DIR).map(PathBuf::from) else {
        return;
    };
    // The dispositions this test is about, not the ones inherited: a
    // script's background job starts with SIGINT ignored, a nohup'd one
    // with SIGHUP ignored, and either would hang the test that sends it.
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: setting a signal's disposition, before any thread is started.
        unsafe { libc::signal(signal, libc::SIG_DFL) };
    }
    if std::env::var_os(HELPER_IGNORES_SIGHUP).is_some() {
        // SAFETY: ignoring a signal, before any thread is started.
        unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
    }
    let threads: Vec<_> = (0..GROUPS)
        .map(|i| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let mut command = Command::new("sh");
                command.args(["-c", "sleep 600 & exec sleep 600"]);
                let mut group = culprit_proc::spawn(&mut command).unwrap();
                let file = dir.join(format!("group{i}"));
                std::fs::write(file, format!("{}\n", group.id())).unwrap();
                group
                    .wait_until(Instant::now() + Duration::from_secs(600))
                    .unwrap();
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

/// Runs the helper, waits until all its groups have both their sleeps.
fn start_helper(dir: &Path, ignore_sighup: bool) -> (Child, Vec<i32>) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "helper", "--test-threads=1", "--nocapture"])
        .env(HELPER_DIR, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if ignore_sighup {
        command.env(HELPER_IGNORES_SIGHUP, "1");
    }
    let helper = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let groups = (0..GROUPS)
        .map(|i| loop {
            let text = std::fs::read_to_string(dir.join(format!("group{i}"))).unwrap_or_default();
            if text.ends_with('\n') {
                break text.trim().parse().unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "the helper did not start its groups"
            );
            std::thread::sleep(Duration::from_millis(10));
        })
        .collect::<Vec<i32>>();
    for &group in &groups {
        while live_members(group).len() < 2 {
            assert!(Instant::now() < deadline, "group {group} did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    (helper, groups)
}

/// The processes of `group` that have not exited (zombies have).
fn live_members(group: i32) -> Vec<i32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // After the command name: state, ppid, pgrp, ...
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        if let [state, _ppid, pgrp, ..] = fields[..] {
            if pgrp == group.to_string() && state != "Z" && state != "X" {
                members.push(pid);
            }
        }
    }
    members
}

fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: signalling our own child, which has not been waited for.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

/// Kills the groups if the test fails, so that a failure leaves no sleeps.
struct Cleanup<'a>(&'a [i32]);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for &group in self.0 {
                // SAFETY: kill(2) on the groups the failed helper left.
                unsafe { libc::kill(-group, libc::SIGKILL) };
            }
        }
    }
}

fn assert_dies_of(mut helper: Child, signal: libc::c_int, groups: &[i32]) {
    let _cleanup = Cleanup(groups);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = helper.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            helper.kill().unwrap();
            panic!("the helper outlived signal {signal} by 10 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.signal(), Some(signal), "{status}");
    let deadline = Instant::now() + Duration::from_secs(5);
    for &group in groups {
        loop {
            let left = live_members(group);
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "processes {left:?} of group {group} survived"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn sigterm_kills_every_group_then_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let (helper, groups) = start_helper(dir.path(), false);
    signal(&helper, libc::SIGTERM);
    assert_dies_of(helper, libc::SIGTERM, &groups);
}

#[test]
fn sighup_kills_every_group_then_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let (helper, groups) = start_helper(dir.path(), false);
    signal(&helper, libc::SIGHUP);
    assert_dies_of(helper, libc::SIGHUP, &groups);
}

#[test]
fn an_ignored_signal_stays_ignored_and_sigint_still_kills() {
    let dir = tempfile::tempdir().unwrap();
    let (mut helper, groups) = start_helper(dir.path(), true);
    let cleanup = Cleanup(&groups);
    signal(&helper, libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        helper.try_wait().unwrap().is_none(),
        "SIGHUP was not ignored"
    );
    for &group in &groups {
        assert_eq!(live_members(group).len(), 2, "group {group} was killed");
    }
    drop(cleanup);
    signal(&helper, libc::SIGINT);
    assert_dies_of(helper, libc::SIGINT, &groups);
}
