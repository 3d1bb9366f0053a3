//! `BuildDeps` on synthetic kbuild records: parsing, relevance, saving.

use culprit_build::deps::{is_build_system_file, BuildDeps, DepsError, DepsShare};
use std::path::Path;

fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

/// A tree with the shapes kbuild and the tools build leave behind.
fn synthetic_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let abs = std::fs::canonicalize(root).unwrap();
    let abs = abs.display();
    for file in [
        "init/main.c",
        "include/linux/kernel.h",
        "include/linux/types.h",
        "arch/x86/include/generated/asm/foo.h",
        "arch/x86/entry/syscalls/syscall_64.tbl",
        "scripts/syscalltbl.sh",
        "tools/lib/subcmd/run-command.c",
        "tools/include/linux/compiler.h",
        "tools/build/fixdep.c",
        "drivers/unbuilt/unbuilt.c",
        "Documentation/index.rst",
        "init/never.c",
    ] {
        write(root, file, "x\n");
    }
    write(
        root,
        "init/.main.o.cmd",
        &format!(
            "cmd_init/main.o := gcc -Wp,-MMD,init/.main.o.d -I./arch/x86/include -I ./arch/x86/include/generated -I./include -c -o init/main.o init/main.c\n\
             \n\
             source_init/main.o := init/main.c\n\
             \n\
             deps_init/main.o := \\\n\
             \x20   $(wildcard include/config/SMP) \\\n\
             \x20 include/linux/kernel.h \\\n\
             \x20 {abs}/arch/x86/include/../include/generated/asm/foo.h \\\n\
             \x20 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \\\n\
             \x20 include/linux/types.h\n\
             \n\
             init/main.o: $(deps_init/main.o)\n\
             \n\
             $(deps_init/main.o):\n"
        ),
    );
    write(
        root,
        "arch/x86/include/generated/asm/.syscalls_64.h.cmd",
        "cmd_arch/x86/include/generated/asm/syscalls_64.h := sh ./scripts/syscalltbl.sh \
         --abis common,64 arch/x86/entry/syscalls/syscall_64.tbl \
         arch/x86/include/generated/asm/syscalls_64.h\n",
    );
    // The tools build: absolute targets, sources relative to `make -C`.
    write(
        root,
        "tools/objtool/.run-command.o.cmd",
        &format!(
            "cmd_{abs}/tools/objtool/run-command.o := gcc -c -o {abs}/tools/objtool/run-command.o run-command.c\n\
             source_{abs}/tools/objtool/run-command.o := run-command.c\n\
             deps_{abs}/tools/objtool/run-command.o := \\\n\
             \x20 /usr/include/stdc-predef.h \\\n\
             \x20 {abs}/tools/include/linux/compiler.h \\\n"
        ),
    );
    write(
        root,
        "tools/objtool/.fixdep.o.d",
        "fixdep.o: ../build/fixdep.c /usr/include/stdio.h \\\n /usr/include/x.h\n",
    );
    write(root, ".git/HEAD", "ref: refs/heads/master\n");
    write(root, ".git/.junk.cmd", "source_x := init/never.c\n");
    dir
}

fn strings(paths: &[&str]) -> Vec<String> {
    paths.iter().map(|p| p.to_string()).collect()
}

#[test]
fn reads_sources_headers_commands_and_tools_records() {
    let tree = synthetic_tree();
    let deps = BuildDeps::from_tree(tree.path()).unwrap();
    let files: Vec<&str> = deps.files().into_iter().collect();
    assert_eq!(
        files,
        [
            "arch/x86/entry/syscalls/syscall_64.tbl",
            "arch/x86/include/generated/asm/foo.h",
            "include/linux/kernel.h",
            "include/linux/types.h",
            "init/main.c",
            "scripts/syscalltbl.sh",
            "tools/build/fixdep.c",
            "tools/include/linux/compiler.h",
            "tools/lib/subcmd/run-command.c",
        ]
    );
    assert!(!deps.contains("include/config/SMP"));
    assert_eq!(deps.len(), files.len());
}

#[test]
fn relevance_rules() {
    let tree = synthetic_tree();
    let deps = BuildDeps::from_tree(tree.path()).unwrap();
    let relevant = |paths: &[&str]| deps.relevant(&strings(paths));
    // Read by the build.
    assert!(relevant(&["include/linux/types.h"]));
    assert!(relevant(&["arch/x86/entry/syscalls/syscall_64.tbl"]));
    // Build system, read or not.
    assert!(relevant(&["drivers/unbuilt/Makefile"]));
    assert!(relevant(&["drivers/unbuilt/Kconfig"]));
    assert!(relevant(&["scripts/unused.sh"]));
    // A new header that would shadow an included one: in an -I directory
    // (`<asm/foo.h>` found in arch/x86/include/generated before), or next
    // to a file the build read (`"types.h"` from init/main.c).
    assert!(relevant(&["arch/x86/include/asm/foo.h"]));
    assert!(relevant(&["init/types.h"]));
    // The same names where nothing searches for them.
    assert!(!relevant(&["drivers/unbuilt/types.h"]));
    assert!(!relevant(&["arch/x86/asm/foo.h"]));
    assert!(!relevant(&["init/asm/other.h"]));
    // Not read, and no build-system file: cannot change the build.
    assert!(!relevant(&["drivers/unbuilt/unbuilt.c"]));
    assert!(!relevant(&[
        "drivers/unbuilt/new.h",
        "Documentation/index.rst"
    ]));
    assert!(!relevant(&["MAINTAINERS"]));
    // A compiled source's name is no include: no shadowing by name.
    assert!(!relevant(&["drivers/other/main.c"]));
    // One relevant path is enough; a commit that changes nothing is not.
    assert!(relevant(&["Documentation/index.rst", "init/main.c"]));
    assert!(!relevant(&[]));
}

#[test]
fn unknown_deps_make_everything_relevant() {
    let deps = BuildDeps::new();
    assert!(deps.is_empty());
    assert!(deps.relevant(&strings(&["Documentation/index.rst"])));
    assert!(deps.relevant(&[]));
}

#[test]
fn merge_adds_files_of_later_builds() {
    let tree = synthetic_tree();
    let mut deps = BuildDeps::from_tree(tree.path()).unwrap();
    let later = tempfile::tempdir().unwrap();
    write(later.path(), "drivers/unbuilt/unbuilt.c", "y\n");
    write(later.path(), "drivers/unbuilt/regs.h", "y\n");
    write(
        later.path(),
        "drivers/unbuilt/.unbuilt.o.cmd",
        "source_drivers/unbuilt/unbuilt.o := drivers/unbuilt/unbuilt.c\n\
         deps_drivers/unbuilt/unbuilt.o := \\\n  drivers/unbuilt/regs.h \\\n",
    );
    assert!(!deps.relevant(&strings(&["drivers/unbuilt/unbuilt.c"])));
    assert!(!deps.relevant(&strings(&["drivers/unbuilt/kernel.h"])));
    deps.merge(&BuildDeps::from_tree(later.path()).unwrap());
    assert!(deps.relevant(&strings(&["drivers/unbuilt/unbuilt.c"])));
    // drivers/unbuilt is searched now: a kernel.h there could shadow.
    assert!(deps.relevant(&strings(&["drivers/unbuilt/kernel.h"])));
    assert!(deps.contains("init/main.c"), "merge lost earlier files");
}

#[test]
fn save_and_load_round_trip_and_refuse_garbage() {
    let tree = synthetic_tree();
    let deps = BuildDeps::from_tree(tree.path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deps.json");
    deps.save(&file).unwrap();
    let loaded = BuildDeps::load(&file).unwrap();
    assert_eq!(loaded, deps);
    // Rule 4 survives the round trip (search data rebuilt on load).
    assert!(loaded.relevant(&strings(&["arch/x86/include/asm/foo.h"])));
    assert!(loaded.relevant(&strings(&["init/types.h"])));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"version\":1"), "{text}");
    std::fs::write(&file, text.replace("\"version\":1", "\"version\":99")).unwrap();
    assert!(matches!(
        BuildDeps::load(&file),
        Err(DepsError::Format { .. })
    ));
    std::fs::write(&file, "[1,2").unwrap();
    assert!(matches!(
        BuildDeps::load(&file),
        Err(DepsError::Format { .. })
    ));
    assert!(matches!(
        BuildDeps::load(&dir.path().join("missing")),
        Err(DepsError::Io { .. })
    ));
}

#[test]
fn share_counts_tracked_files() {
    let tree = synthetic_tree();
    let deps = BuildDeps::from_tree(tree.path()).unwrap();
    let tracked = [
        "Makefile",
        "init/main.c",
        "include/linux/types.h",
        "drivers/unbuilt/unbuilt.c",
        "Documentation/index.rst",
    ];
    let share = DepsShare::of(tracked, &deps);
    assert_eq!(
        (
            share.tracked,
            share.read,
            share.build_system,
            share.relevant
        ),
        (5, 2, 1, 3)
    );
    assert!((share.percent(share.relevant) - 60.0).abs() < 1e-9);
    assert!(is_build_system_file("Makefile"));
}
