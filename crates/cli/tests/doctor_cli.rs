//! `culprit doctor` run as a real program.
use std::process::{Command, Output};

const ITEMS: [&str; 15] = [
    "qemu-system-x86_64",
    "kvm",
    "busybox-static",
    "gcc",
    "clang",
    "ccache",
    "make",
    "flex",
    "bison",
    "bc",
    "git",
    "xz",
    "libelf-dev",
    "libssl-dev",
    "linux-source-6.1",
];

fn doctor(path_env: Option<&str>) -> (Output, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_culprit"));
    cmd.arg("doctor");
    if let Some(path) = path_env {
        cmd.env("PATH", path);
    }
    let out = cmd.output().expect("run culprit doctor");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, text)
}

/// The line about `item`: starts with the status, then the item's name.
fn line_for<'a>(text: &'a str, item: &str) -> &'a str {
    text.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(item))
        .unwrap_or_else(|| panic!("no line for {item} in:\n{text}"))
}

#[test]
fn reports_every_item_and_exits_by_what_is_required() {
    let (out, text) = doctor(None);
    for item in ITEMS {
        let line = line_for(&text, item);
        assert!(
            line.starts_with("ok ") || line.starts_with("missing "),
            "{line}"
        );
    }
    let required_missing = text
        .lines()
        .any(|l| l.starts_with("missing ") && !l.contains("(optional)"));
    assert_eq!(
        out.status.code(),
        Some(if required_missing { 1 } else { 0 }),
        "{text}"
    );
    let kvm = line_for(&text, "kvm");
    // KVM is judged by booting a guest, and a failure says what TCG means.
    assert!(kvm.starts_with("ok ") || kvm.contains("TCG"), "{kvm}");
}

#[test]
fn missing_tools_are_named_with_the_command_that_installs_them() {
    let empty = tempfile::tempdir().unwrap();
    let (out, text) = doctor(Some(empty.path().to_str().unwrap()));
    assert_eq!(out.status.code(), Some(1), "{text}");
    for item in ["qemu-system-x86_64", "gcc", "make", "git"] {
        assert!(line_for(&text, item).starts_with("missing "), "{text}");
    }
    assert!(
        text.contains("install: apt-get install -y qemu-system-x86"),
        "{text}"
    );
    assert!(text.contains("install: apt-get install -y gcc"), "{text}");
    assert!(line_for(&text, "kvm").contains("untested"), "{text}");
    let summary = text.lines().last().unwrap();
    assert!(summary.starts_with("  apt-get install -y "), "{summary}");
    for package in ["qemu-system-x86", "gcc", "make", "git"] {
        assert!(
            summary.split_whitespace().any(|w| w == package),
            "{summary}"
        );
    }
}
