//! Which config options compile a source file, read from kbuild's
//! Makefiles, and which source files a crash report goes through.
//!
//! A file `DIR/NAME.c` is built when some Makefile lists `NAME.o` (or
//! `SUBDIR/NAME.o` from a parent directory) in a line such as
//! `obj-$(CONFIG_FOO) += NAME.o`, `obj-y += NAME.o`, or as a part of a
//! composite object (`bar-$(CONFIG_BAZ) += NAME.o` with
//! `obj-$(CONFIG_QUX) += bar.o`), and each directory above it is descended
//! into the same way (`obj-$(CONFIG_BAR) += DIR/`, the top-level Makefile's
//! `core-y`/`drivers-y`, `Kbuild`'s `obj-y`). Every `CONFIG_` symbol on the
//! way, in the assignment's name and in enclosing `ifdef CONFIG_X`,
//! `ifeq ($(CONFIG_X),y)` and `ifneq ($(CONFIG_X),)` blocks, is needed.
//! What this does not see (objects chosen by `$(if ...)` on the right-hand
//! side, `#ifdef` inside the C file) only makes the set smaller; the
//! minimisation falls back to the full config when the set is not enough.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The architecture whose `arch/$(SRCARCH)` Makefiles are read.
const SRCARCH: &str = "x86";

/// Stems whose objects are linked into the kernel (`obj-y`, `lib-y`, the
/// top-level Makefile's lists); any other stem names a composite object.
const BUILT_IN_STEMS: [&str; 8] = [
    "obj", "lib", "core", "drivers", "libs", "net", "init", "virt",
];

/// The options that must be on for `file` (tree-relative, e.g.
/// `net/ipv4/tcp.c`) to be compiled into the kernel; `None` when no
/// Makefile builds it (a header, or a file this reading cannot place).
pub fn options_for_file(tree: &Path, file: &str) -> Option<BTreeSet<String>> {
    let (dir, name) = file.rsplit_once('/').unwrap_or(("", file));
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    if name.ends_with(".h") {
        return None;
    }
    let mut needed = BTreeSet::new();
    // The nearest Makefile first, then the parents (which may list the
    // object with its subdirectory).
    let mut parent = dir.to_string();
    loop {
        let relative = relative_to(&parent, &format!("{dir}/{stem}.o"));
        if let Some(options) = object_options(tree, &parent, &relative, &needed, 0) {
            needed.extend(options);
            needed = descent_options(tree, &parent, needed)?;
            return Some(needed);
        }
        if parent.is_empty() {
            return None;
        }
        parent = parent.rsplit_once('/').map_or("", |(p, _)| p).to_string();
    }
}

/// `needed` and the options needed to descend from the top of the tree
/// into `dir`.
fn descent_options(
    tree: &Path,
    dir: &str,
    mut needed: BTreeSet<String>,
) -> Option<BTreeSet<String>> {
    let mut current = dir.to_string();
    while !current.is_empty() {
        let mut parent = current.rsplit_once('/').map_or("", |(p, _)| p).to_string();
        // A directory may be listed from any level above (`drivers-y :=
        // drivers/` at the top, `obj-y += arch/x86/` in Kbuild).
        loop {
            let relative = format!("{}/", relative_to(&parent, &current));
            if let Some(options) = object_options(tree, &parent, &relative, &needed, 0) {
                needed.extend(options);
                break;
            }
            if parent.is_empty() {
                return None;
            }
            parent = parent.rsplit_once('/').map_or("", |(p, _)| p).to_string();
        }
        current = parent;
    }
    Some(needed)
}

fn relative_to(dir: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    match dir.is_empty() {
        true => path.to_string(),
        false => path
            .strip_prefix(&format!("{dir}/"))
            .unwrap_or(path)
            .to_string(),
    }
}

/// The options under which the Makefiles of `dir` link `object` (an
/// `x.o` or a `sub/` directory) into the kernel. When several lines list
/// it, the one that adds the fewest options to `known` wins (`usb/` is
/// listed under `CONFIG_USB`, `CONFIG_USB_GADGET`, `CONFIG_USB_PHY`...).
fn object_options(
    tree: &Path,
    dir: &str,
    object: &str,
    known: &BTreeSet<String>,
    depth: usize,
) -> Option<BTreeSet<String>> {
    if depth > 4 {
        return None;
    }
    let mut best: Option<BTreeSet<String>> = None;
    for assignment in assignments(tree, dir) {
        if !assignment.objects.iter().any(|o| o == object) {
            continue;
        }
        let mut needed: BTreeSet<String> = assignment.conditions.clone();
        if !BUILT_IN_STEMS.contains(&assignment.stem.as_str()) {
            // A part of a composite object: the composite must be built too.
            let composite = format!("{}.o", assignment.stem);
            match object_options(tree, dir, &composite, known, depth + 1) {
                Some(more) => needed.extend(more),
                None => continue,
            }
        }
        let new = |set: &BTreeSet<String>| set.difference(known).count();
        if best.as_ref().is_none_or(|b| new(&needed) < new(b)) {
            best = Some(needed);
        }
    }
    best
}

/// One `STEM-SUFFIX += objects` line with the options it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Assignment {
    stem: String,
    objects: Vec<String>,
    conditions: BTreeSet<String>,
}

/// The assignments of `dir`'s `Makefile`/`Kbuild` (and, at the top, the
/// architecture's Makefile, which adds `core-y += arch/x86/`).
fn assignments(tree: &Path, dir: &str) -> Vec<Assignment> {
    let mut files = vec!["Makefile".to_string(), "Kbuild".to_string()];
    if dir.is_empty() {
        files.push(format!("arch/{SRCARCH}/Makefile"));
    }
    let base = match dir.is_empty() {
        true => tree.to_path_buf(),
        false => tree.join(dir),
    };
    let mut found = Vec::new();
    for name in files {
        let path = match name.starts_with("arch/") {
            true => tree.join(&name),
            false => base.join(&name),
        };
        if let Ok(text) = std::fs::read_to_string(&path) {
            found.extend(parse_makefile(&text));
        }
    }
    found
}

/// Reads the object lists of a kbuild Makefile.
fn parse_makefile(text: &str) -> Vec<Assignment> {
    let mut found = Vec::new();
    // One entry per open conditional: the option it requires, if any.
    let mut blocks: Vec<Option<String>> = Vec::new();
    for line in joined_lines(text) {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut words = line.split_whitespace();
        match words.next() {
            Some("ifdef") => blocks.push(words.next().and_then(config_name)),
            Some("ifeq" | "ifneq") => blocks.push(conditional_option(line)),
            Some("ifndef") => blocks.push(None),
            Some("else") => {
                if let Some(last) = blocks.last_mut() {
                    *last = None;
                }
            }
            Some("endif") => {
                blocks.pop();
            }
            _ => {
                if let Some(mut assignment) = parse_assignment(line) {
                    assignment
                        .conditions
                        .extend(blocks.iter().flatten().cloned());
                    found.push(assignment);
                }
            }
        }
    }
    found
}

/// Lines with their `\` continuations joined.
fn joined_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                lines.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// `ifeq ($(CONFIG_X),y)` and `ifneq ($(CONFIG_X),)` require X; other
/// comparisons require nothing known.
fn conditional_option(line: &str) -> Option<String> {
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    let requires = compact.starts_with("ifeq(") && compact.ends_with(",y)")
        || compact.starts_with("ifneq(") && compact.ends_with(",)");
    match requires {
        true => config_names(&compact).into_iter().next(),
        false => None,
    }
}

/// `obj-$(CONFIG_FOO) += a.o b/`, `foo-y := x.o`, `foo-objs = ...`.
fn parse_assignment(line: &str) -> Option<Assignment> {
    let equals = line.find('=')?;
    let left = line[..equals].trim_end_matches(['+', ':', '?']).trim();
    let right = &line[equals + 1..];
    let stem_end = left
        .find("-$(")
        .or_else(|| left.strip_suffix("-y").map(str::len))
        .or_else(|| left.strip_suffix("-objs").map(str::len))?;
    let stem = &left[..stem_end];
    if stem.is_empty() || stem.contains(['$', '(', ' ']) {
        return None;
    }
    let objects = right
        .split_whitespace()
        .map(|w| w.replace("$(SRCARCH)", SRCARCH))
        .filter(|w| w.ends_with(".o") || w.ends_with('/'))
        .collect();
    Some(Assignment {
        stem: stem.to_string(),
        objects,
        conditions: config_names(&left[stem_end..]).into_iter().collect(),
    })
}

fn config_name(word: &str) -> Option<String> {
    word.strip_prefix("CONFIG_").map(str::to_string)
}

/// Every `CONFIG_NAME` in a text, without the prefix.
fn config_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("CONFIG_") {
        let tail = &rest[at + "CONFIG_".len()..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if end > 0 {
            names.push(tail[..end].to_string());
        }
        rest = &tail[end..];
    }
    names
}

/// The tree-relative source files a crash report names (`kernel/sys.c:2345`
/// in a `WARNING: ... at` line or a symbolized frame), in order, without
/// duplicates.
pub fn files_in_report(report: &str) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for word in report.split(|c: char| c.is_whitespace() || "()[]".contains(c)) {
        let Some((path, line)) = word.rsplit_once(':') else {
            continue;
        };
        let numbered = line
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse::<u32>()
            .is_ok();
        let source = [".c", ".h", ".S", ".rs"].iter().any(|e| path.ends_with(e));
        let path = path.trim_start_matches("./");
        let plausible = path.contains('/') && !path.starts_with('/');
        if numbered && source && plausible && !files.iter().any(|f| f == path) {
            files.push(path.to_string());
        }
    }
    files
}

/// The functions of the first stack trace of a report, in order, from
/// frames such as `prctl_scratch_check+0x1b/0x30` (`? f+...` guesses and
/// compiler suffixes such as `.isra.0` left out), at most `limit`.
pub fn functions_in_report(report: &str, limit: usize) -> Vec<String> {
    let mut functions: Vec<String> = Vec::new();
    for line in report.lines() {
        let line = line.trim_start();
        let line = line.strip_prefix("RIP: 0010:").unwrap_or(line);
        if line.starts_with('?') || functions.len() >= limit {
            continue;
        }
        let Some(word) = line.split_whitespace().find(|w| w.contains("+0x")) else {
            continue;
        };
        let (name, offsets) = word.split_once("+0x").unwrap_or((word, ""));
        let name = name.split('.').next().unwrap_or(name);
        let named = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if named && offsets.contains("/0x") && !functions.iter().any(|f| f == name) {
            functions.push(name.to_string());
        }
    }
    functions
}

/// The `.c` file of the tree at `HEAD` that defines `function` (a line
/// starting a definition: `type name(`, or `SYSCALL_DEFINEn(name` for
/// `__do_sys_name`/`__x64_sys_name`), found with `git grep`; `None` when
/// no file or several do (a static name defined in many drivers says
/// nothing). For unsymbolized reports, whose frames name functions but no
/// files.
pub fn file_defining(tree: &Path, function: &str) -> Option<String> {
    let name: String = function
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if name.len() < 4 {
        return None;
    }
    let syscall = ["__do_sys_", "__x64_sys_", "__se_sys_", "__ia32_sys_"]
        .iter()
        .find_map(|p| name.strip_prefix(p));
    let pattern = match syscall {
        Some(call) => format!("^(COMPAT_)?SYSCALL_DEFINE[0-6]\\({call},"),
        None => format!("^[a-zA-Z_][a-zA-Z0-9_ \\*]*[ \\*]{name}\\([^;]*$"),
    };
    let output = Command::new("git")
        .arg("-C")
        .arg(tree)
        .args(["grep", "-l", "-E", "-e", &pattern, "--", "*.c"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let files: Vec<&str> = text.lines().collect();
    match files[..] {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_read_names_conditions_and_objects() {
        let text = "obj-y = a.o \\\n  b.o\nobj-$(CONFIG_FOO) += c.o sub/\n\
                    ifdef CONFIG_BAR\nobj-y += d.o\nelse\nobj-y += e.o\nendif\n\
                    ifeq ($(CONFIG_BAZ),y)\nmix-y := f.o\nendif\nobj-$(CONFIG_MIX) += mix.o\n";
        let found = parse_makefile(text);
        let find = |object: &str| {
            found
                .iter()
                .find(|a| a.objects.iter().any(|o| o == object))
                .map(|a| {
                    (
                        a.stem.clone(),
                        a.conditions.iter().cloned().collect::<Vec<_>>(),
                    )
                })
        };
        assert_eq!(find("b.o"), Some(("obj".into(), vec![])));
        assert_eq!(find("sub/"), Some(("obj".into(), vec!["FOO".into()])));
        assert_eq!(find("d.o"), Some(("obj".into(), vec!["BAR".into()])));
        assert_eq!(find("e.o"), Some(("obj".into(), vec![])));
        assert_eq!(find("f.o"), Some(("mix".into(), vec!["BAZ".into()])));
    }

    #[test]
    fn a_file_needs_its_line_its_composite_and_its_directories() {
        let tree = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = tree.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("Makefile", "drivers-y := drivers/\n");
        write("Kbuild", "obj-y += kernel/\n");
        write("arch/x86/Makefile", "core-y += arch/x86/\n");
        write("drivers/Makefile", "obj-$(CONFIG_NET) += net/\n");
        write(
            "drivers/net/Makefile",
            "obj-$(CONFIG_TUN) += tun.o\nveth-y := veth_main.o\nobj-$(CONFIG_VETH) += veth.o\n",
        );
        write("kernel/Makefile", "obj-y = sys.o\n");
        let options = |file: &str| {
            options_for_file(tree.path(), file).map(|s| s.into_iter().collect::<Vec<_>>())
        };
        assert_eq!(
            options("drivers/net/tun.c"),
            Some(vec!["NET".into(), "TUN".into()])
        );
        assert_eq!(
            options("drivers/net/veth_main.c"),
            Some(vec!["NET".into(), "VETH".into()])
        );
        assert_eq!(options("kernel/sys.c"), Some(vec![]));
        assert_eq!(options("drivers/net/absent.c"), None);
        assert_eq!(options("include/linux/list.h"), None);
    }

    #[test]
    fn report_functions_come_from_reliable_frames() {
        let report = "RIP: 0010:prctl_scratch_check+0x1b/0x30\nCall Trace:\n <TASK>\n \
                      ? __warn+0x7d/0x130\n __do_sys_prctl.isra.0+0x10/0x20\n \
                      do_syscall_64+0x3d/0x90\n entry_SYSCALL_64_after_hwframe+0x63/0xcd\n";
        assert_eq!(
            functions_in_report(report, 3),
            ["prctl_scratch_check", "__do_sys_prctl", "do_syscall_64"]
        );
    }

    #[test]
    fn report_files_come_from_warning_lines_and_frames() {
        let report = "WARNING: CPU: 0 PID: 1 at kernel/sys.c:2345 prctl_scratch_check+0x1b/0x30\n\
                      Call Trace:\n __do_sys_prctl+0x10/0x20 kernel/sys.c:2400 [inline]\n \
                      do_syscall_64+0x3d/0x90 arch/x86/entry/common.c:50\n \
                      list_add include/linux/list.h:69\n";
        assert_eq!(
            files_in_report(report),
            [
                "kernel/sys.c",
                "arch/x86/entry/common.c",
                "include/linux/list.h"
            ]
        );
    }
}
