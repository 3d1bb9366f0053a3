//! `culprit report` as a user runs it: the built binary on real files.

use std::process::Command;

const WARNING_LOG: &str = "\
[    1.000000] random: crng init done
[    2.345678] ------------[ cut here ]------------
[    2.345679] WARNING: CPU: 0 PID: 1 at drivers/misc/demo.c:42 demo_probe+0x15/0x30
[    2.345680] Modules linked in:
[    2.345681] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0 #1
[    2.345682] RIP: 0010:demo_probe+0x15/0x30
[    2.345683] Call Trace:
[    2.345684]  <TASK>
[    2.345685]  really_probe+0xdb/0x340
[    2.345686]  driver_probe_device+0x1e/0x90
[    2.345687]  </TASK>
[    2.345688] ---[ end trace 0000000000000000 ]---
";

fn culprit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_culprit"))
        .args(args)
        .output()
        .expect("run culprit")
}

#[test]
fn json_has_one_line_per_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let crash = dir.path().join("crash.log");
    let clean = dir.path().join("clean.log");
    std::fs::write(&crash, WARNING_LOG).expect("write");
    std::fs::write(&clean, "[    1.0] all is well\n\u{ff}\u{fe} binary\n").expect("write");
    let out = culprit(&[
        "report",
        "--json",
        crash.to_str().unwrap(),
        clean.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["crash"], true);
    assert_eq!(lines[0]["title"], "WARNING in demo_probe");
    assert_eq!(lines[0]["type"], "WARNING");
    assert_eq!(lines[0]["frame"], "demo_probe");
    assert_eq!(lines[0]["corrupted"], false);
    assert_eq!(lines[0]["reports"], 1);
    assert_eq!(lines[0]["file"], crash.to_str().unwrap());
    assert_eq!(lines[1]["crash"], false);
    assert!(lines[1]["title"].is_null());
    assert_eq!(lines[1]["reports"], 0);
}

#[test]
fn human_output_shows_title_and_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let crash = dir.path().join("crash.log");
    std::fs::write(&crash, WARNING_LOG).expect("write");
    let out = culprit(&["report", crash.to_str().unwrap()]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("WARNING in demo_probe"), "{stdout}");
    assert!(stdout.contains("really_probe+0xdb/0x340"), "{stdout}");
    assert!(
        !stdout.contains("[    2.345685]"),
        "prefixes should be cut: {stdout}"
    );
}

#[test]
fn missing_file_is_one_clear_error() {
    let out = culprit(&["report", "--json", "/nonexistent/console.log"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/console.log"), "{stderr}");
}

#[test]
fn files_are_required() {
    let out = culprit(&["report"]);
    assert_eq!(out.status.code(), Some(2));
}
