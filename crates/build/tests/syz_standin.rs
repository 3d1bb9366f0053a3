//! The stand-in syz-execprog and syz-executor of tests/syz, run on the
//! host: the command lines culprit builds work with them, they execute
//! real syscalls, and their flags, console lines and exit statuses are
//! those of syzkaller's (Go flag errors exit 2, fatal errors 1, an executor
//! failure `SYZFAIL:` and 67, an executor that keeps dying `SYZFATAL:`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use culprit_build::syzkaller::{execprog_command, ExecprogFlags, SyzOptions};

/// The stand-in, built once per test process.
fn standin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // make rebuilds it only when the sources change.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("build-syz-standin");
        let out = Command::new("make")
            .arg("-C")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/syz"))
            .arg(format!("BIN={}", dir.display()))
            .args(["execprog", "executor"])
            .output()
            .expect("make");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

fn execprog() -> PathBuf {
    standin().join("syz-execprog")
}

fn executor() -> String {
    standin().join("syz-executor").display().to_string()
}

/// Runs execprog with `args` in `dir`; returns its exit code and all it printed.
fn run(dir: &Path, args: &[String]) -> (Option<i32>, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(execprog())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&stdout).into_owned() + &String::from_utf8_lossy(&stderr);
    (status.code(), text)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

fn program(dir: &Path, text: &str) -> String {
    let path = dir.join("prog.syz");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn culprits_command_line_runs_real_syscalls_the_asked_number_of_times() {
    let dir = tempfile::tempdir().unwrap();
    let prog = program(
        dir.path(),
        "# a comment\n#{\"threaded\":true,\"repeat\":true,\"procs\":2,\"sandbox\":\"none\",\"repeat_times\":3}\n\
         r0 = openat(0xffffffffffffff9c, &(0x7f0000000000)='./file0\\x00', 0x441, 0x1ff)\n\
         write$binfmt(r0, &(0x7f0000000100)=\"68656c6c6f\", 0x5)\n\
         prctl$PR_SET_NAME(0xf, &(0x7f0000000200)='culprit\\x00')\n\
         close(r0)\n",
    );
    let flags = ExecprogFlags::probe(&execprog()).unwrap();
    assert!(flags.takes_optional());
    let (options, _) = SyzOptions::load(Path::new(&prog), None).unwrap();
    let command = execprog_command(&options.for_bisection(), &flags, &executor(), &prog);
    let (code, text) = run(dir.path(), &command.args);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(" parsed 1 programs\n"), "{text}");
    assert!(text.contains(" executed programs: 0\n"), "{text}");
    assert_eq!(text.matches(" executing program ").count(), 3, "{text}");
    assert!(
        text.contains(":\nr0 = openat(0xffffffffffffff9c, &(0x7f0000000000)='./file0\\x00', 0x441, 0x1ff)\nwrite$binfmt("),
        "{text}"
    );
    // openat made the file, write wrote into it through r0 (O_APPEND).
    let written = std::fs::read_to_string(dir.path().join("file0")).unwrap();
    assert_eq!(written, "hello".repeat(3));
}

#[test]
fn repeat_zero_runs_until_killed() {
    let dir = tempfile::tempdir().unwrap();
    let prog = program(dir.path(), "getpid()\n");
    let mut child = Command::new(execprog())
        .args([
            format!("-executor={}", executor()),
            "-repeat=0".into(),
            prog,
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "execprog stopped by itself"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn flag_errors_exit_2_with_the_usage_and_help_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = run(dir.path(), &args(&["-bogus=1", "x.syz"]));
    assert_eq!(code, Some(2));
    assert!(
        text.starts_with("flag provided but not defined: -bogus\nusage: "),
        "{text}"
    );
    let (code, text) = run(dir.path(), &args(&["-procs=many", "x.syz"]));
    assert_eq!(code, Some(2));
    assert!(
        text.contains("invalid value \"many\" for flag -procs: parse error"),
        "{text}"
    );
    let (code, text) = run(dir.path(), &args(&["-threaded=maybe", "x.syz"]));
    assert_eq!(code, Some(2));
    assert!(
        text.contains("invalid boolean value \"maybe\" for -threaded"),
        "{text}"
    );
    let (code, text) = run(dir.path(), &args(&["-procs"]));
    assert_eq!(code, Some(2));
    assert!(text.contains("flag needs an argument: -procs"), "{text}");
    let (code, text) = run(dir.path(), &args(&["-help"]));
    assert_eq!(code, Some(0));
    let listed = ExecprogFlags::from_help(&text);
    for flag in [
        "executor", "arch", "sandbox", "procs", "repeat", "threaded", "collide",
    ] {
        assert!(listed.knows(flag), "{flag} not in {text}");
    }
    // No program: the usage and status 1.
    let (code, text) = run(dir.path(), &args(&["-repeat", "2"]));
    assert_eq!(code, Some(1));
    assert!(text.starts_with("usage: "), "{text}");
}

#[test]
fn bad_values_and_programs_are_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let prog = program(dir.path(), "getpid()\n");
    let exe = format!("-executor={}", executor());
    let cases = [
        (vec!["-arch=arm64"], "unknown target: linux/arm64"),
        (
            vec!["-sandbox=jail"],
            "sandbox must contain one of none/setuid/namespace/android",
        ),
        (vec!["-procs=0"], "-procs must be at least 1"),
        (vec!["-repeat=-1"], "-repeat must not be negative"),
        (
            vec!["-optional=slowdown=1"],
            "odd length hex value of slowdown",
        ),
        (vec!["-optional=slowdown"], "no eq"),
        (
            vec!["-executor=/nonexistent/syz-executor"],
            "failed to create execution environment",
        ),
    ];
    for (extra, expected) in cases {
        let mut list = vec![exe.clone()];
        list.extend(extra.iter().map(|s| s.to_string()));
        list.push(prog.clone());
        let (code, text) = run(dir.path(), &list);
        assert_eq!(code, Some(1), "{extra:?}: {text}");
        assert!(text.contains(expected), "{extra:?}: {text}");
    }
    let bad = program(dir.path(), "r0 = frobnicate$x(0x1)\n");
    let (code, text) = run(dir.path(), &[exe.clone(), bad]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("prog.syz:1: unknown syscall frobnicate$x"),
        "{text}"
    );
    let bad = program(dir.path(), "close(r3)\n");
    let (code, text) = run(dir.path(), &[exe, bad]);
    assert_eq!(code, Some(1));
    assert!(text.contains("undefined resource r3"), "{text}");
}

#[test]
fn optional_flags_are_decoded_and_unknown_ones_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let prog = program(dir.path(), "getpid()\n");
    // slowdown "2", sandbox_arg "0", type "qemu".
    let optional = "-optional=slowdown=32:sandbox_arg=30:type=71656d75";
    let (code, text) = run(
        dir.path(),
        &[format!("-executor={}", executor()), optional.into(), prog],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("ignoring optional flag \"type\"=\"qemu\""),
        "{text}"
    );
}

#[test]
fn executor_failures_are_syzfail_and_syzfatal() {
    let dir = tempfile::tempdir().unwrap();
    // The executor alone, sent garbage: SYZFAIL and status 67.
    let out = Command::new(executor())
        .arg("exec")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"garbage\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(out.status.code(), Some(67));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("SYZFAIL: bad message from syz-execprog: garbage\n(errno "),
        "{stderr}"
    );

    // An executor that keeps dying: execprog retries, then gives up.
    let dying = dir.path().join("dying-executor");
    std::fs::write(
        &dying,
        "#!/bin/sh\necho 'SYZFAIL: cannot set up' >&2\nexit 67\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dying, std::fs::Permissions::from_mode(0o755)).unwrap();
    let prog = program(dir.path(), "getpid()\n");
    let started = Instant::now();
    let (code, text) = run(
        dir.path(),
        &[format!("-executor={}", dying.display()), prog],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(" SYZFATAL: executor 0 failed 11 times: executor 0: exit status 67\nSYZFAIL: cannot set up\n"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}
