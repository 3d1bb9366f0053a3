//! The `/init` of a syz reproducer, run on the host under busybox sh with
//! the stand-in syz-execprog and syz-executor of tests/syz and the command
//! lines culprit-build makes: basic kernel testing first, then the syz
//! program, then the C reproducer; a failed basic test stops there.

use std::path::{Path, PathBuf};
use std::process::Command;

use culprit_build::syzkaller::{
    basic_test_command, execprog_command, ExecprogFlags, SyzOptions, BASIC_PROGRAM,
};
use culprit_vm::{
    syz_init_script, SyzCommands, BASIC_MARKER, BASIC_STATUS_MARKER, C_MARKER, DONE_MARKER,
    GUEST_BASIC_PROGRAM, GUEST_C_REPRODUCER, GUEST_EXECPROG, GUEST_EXECUTOR, GUEST_PROGRAM,
    START_MARKER, STATUS_MARKER, SYZ_MARKER, SYZ_STATUS_MARKER,
};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The stand-in, built with its Makefile into `dir`.
fn build_standin(dir: &Path) {
    let out = Command::new("make")
        .arg("-C")
        .arg(workspace().join("tests/syz"))
        .arg(format!("BIN={}", dir.display()))
        .args(["execprog", "executor"])
        .output()
        .expect("make");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the script's lines from `limit=` to the done marker on the host,
/// the guest's root being `root`; returns what it printed.
fn run_init(script: &str, root: &Path, busybox: &Path) -> String {
    let from = script.find("limit=").unwrap();
    let to = script.find(&format!("echo \"{DONE_MARKER}\"")).unwrap();
    let mut body = script[from..to]
        .replace("$(cat /proc/cmdline)", "quiet")
        .replace("cd /tmp\n", "");
    for guest in [
        GUEST_EXECPROG,
        GUEST_EXECUTOR,
        GUEST_PROGRAM,
        GUEST_BASIC_PROGRAM,
    ] {
        body = body.replace(guest, &format!("{}{guest}", root.display()));
    }
    let c_line = format!(" {GUEST_C_REPRODUCER}\n");
    body = body.replace(
        &c_line,
        &format!(" {}{GUEST_C_REPRODUCER}\n", root.display()),
    );
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let _ = std::os::unix::fs::symlink(busybox, bin.join("timeout"));
    // One file for both streams, as the guest has one console.
    let console = root.join("console");
    let file = std::fs::File::create(&console).unwrap();
    Command::new(busybox)
        .args(["sh", "-c", &body])
        .current_dir(root)
        .env("PATH", &bin)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .unwrap();
    std::fs::read_to_string(console).unwrap()
}

/// A guest root with the stand-in, `program`, the basic program and a C
/// "reproducer" (a script here); the commands for them.
fn guest_root(dir: &Path, program: &str, basic_program: &str) -> SyzCommands {
    build_standin(dir);
    std::fs::write(dir.join("repro.syz"), program).unwrap();
    std::fs::write(dir.join("basic.syz"), basic_program).unwrap();
    let c = dir.join("repro");
    std::fs::write(&c, "#!/bin/sh\necho c reproducer ran\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o755)).unwrap();
    let flags = ExecprogFlags::probe(&dir.join("syz-execprog")).unwrap();
    let (options, _) = SyzOptions::load(&dir.join("repro.syz"), None).unwrap();
    let options = options.for_bisection();
    SyzCommands {
        program_args: execprog_command(&options, &flags, GUEST_EXECUTOR, GUEST_PROGRAM).args,
        basic_args: basic_test_command(&options, &flags, GUEST_EXECUTOR, GUEST_BASIC_PROGRAM).args,
        basic_program: basic_program.to_owned(),
    }
}

fn busybox() -> Option<PathBuf> {
    let found = culprit_vm::find_busybox();
    if found.is_none() {
        eprintln!("skipping: no static busybox (apt-get install busybox-static)");
    }
    found
}

#[test]
fn basic_test_then_syz_program_then_c_reproducer() {
    let Some(busybox) = busybox() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Repeated twice (a count, so that it ends on the host), harmless here.
    let program = "#{\"threaded\":true,\"repeat\":true,\"repeat_times\":2,\"procs\":1,\"sandbox\":\"none\"}\n\
                   r0 = openat(0xffffffffffffff9c, &(0x7f0000000000)='./file0\\x00', 0x42, 0x1ff)\n\
                   close(r0)\n";
    let commands = guest_root(dir.path(), program, BASIC_PROGRAM);
    let script = syz_init_script(std::time::Duration::from_secs(20), &commands, true);
    let out = run_init(&script, dir.path(), &busybox);
    let pos = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing in\n{out}"))
    };
    assert!(pos(START_MARKER) < pos(BASIC_MARKER));
    assert!(pos(BASIC_MARKER) < pos(":\ngetpid()\n"));
    assert!(pos(":\ngetpid()\n") < pos(&format!("{BASIC_STATUS_MARKER}0\n")));
    assert!(pos(&format!("{BASIC_STATUS_MARKER}0\n")) < pos(SYZ_MARKER));
    assert!(pos(SYZ_MARKER) < pos(":\nr0 = openat("));
    assert_eq!(out.matches(":\nr0 = openat(").count(), 2, "{out}");
    assert!(pos(":\nr0 = openat(") < pos(&format!("{SYZ_STATUS_MARKER}0\n")));
    assert!(pos(SYZ_STATUS_MARKER) < pos(C_MARKER));
    assert!(pos(C_MARKER) < pos("c reproducer ran\n"));
    assert!(pos("c reproducer ran\n") < pos(&format!("{STATUS_MARKER}0\n")));
    assert!(
        dir.path().join("file0").is_file(),
        "the program's openat did not run"
    );
}

#[test]
fn failed_basic_test_stops_the_run() {
    let Some(busybox) = busybox() else { return };
    let dir = tempfile::tempdir().unwrap();
    let commands = guest_root(dir.path(), "getpid()\n", "no_such_call()\n");
    let script = syz_init_script(std::time::Duration::from_secs(20), &commands, true);
    let out = run_init(&script, dir.path(), &busybox);
    assert!(out.contains("unknown syscall no_such_call"), "{out}");
    assert!(out.contains(&format!("{BASIC_STATUS_MARKER}1\n")), "{out}");
    assert!(
        !out.contains(SYZ_MARKER) && !out.contains(C_MARKER),
        "{out}"
    );
    assert!(out.ends_with(&format!("{STATUS_MARKER}1\n")), "{out}");
}
