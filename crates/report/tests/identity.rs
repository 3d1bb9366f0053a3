//! Crash identity on pairs of reports written in the kernel's formats, and
//! on real reports of ../shared/testdata edited the way kernels change
//! between commits (a function renamed, a read turned into a write).

use culprit_report::{first, relate, Identity, Relation};
mod common;

fn identity(log: &str) -> Identity {
    let report = first(log.as_bytes()).unwrap_or_else(|| panic!("no report in:\n{log}"));
    Identity::of(&report)
}

/// A WARNING at `file:line` in `func`, called by `callers` (innermost first).
fn warning(location: &str, func: &str, callers: &[&str]) -> String {
    let mut log = format!(
        "------------[ cut here ]------------\n\
         WARNING: CPU: 0 PID: 3811 at {location} {func}+0x2f/0x60\n\
         Modules linked in:\n\
         CPU: 0 PID: 3811 Comm: syz-executor.1 Not tainted 6.1.0-syzkaller #0\n\
         RIP: 0010:{func}+0x2f/0x60\n\
         Code: 0f 0b eb c1 66 90\n\
         RSP: 0018:ffffc9000459fa48 EFLAGS: 00010293\n\
         Call Trace:\n <TASK>\n"
    );
    for c in callers {
        log.push_str(&format!(" {c}+0x1b4/0x2f0\n"));
    }
    log.push_str(" do_syscall_64+0x35/0xb0\n entry_SYSCALL_64_after_hwframe+0x63/0xcd\n </TASK>\n");
    log
}

/// A KASAN report of a `access` ("Read"/"Write") in `func` called by
/// `callers`.
fn kasan(bug: &str, access: &str, func: &str, callers: &[&str]) -> String {
    let mut log = format!(
        "==================================================================\n\
         BUG: KASAN: {bug} in {func}+0x8c/0x120\n\
         {access} of size 8 at addr ffff88801d2c4a10 by task syz-executor.3/5120\n\
         \n\
         CPU: 1 PID: 5120 Comm: syz-executor.3 Not tainted 6.1.0 #1\n\
         Call Trace:\n <TASK>\n \
         __dump_stack lib/dump_stack.c:88 [inline]\n \
         dump_stack_lvl+0xd1/0x138\n \
         print_report+0x16e/0x4b0\n \
         kasan_report+0xc4/0x100\n \
         {func}+0x8c/0x120\n"
    );
    for c in callers {
        log.push_str(&format!(" {c}+0x50/0x90\n"));
    }
    log.push_str(
        " __sys_sendmsg+0x117/0x1e0\n do_syscall_64+0x35/0xb0\n </TASK>\n\n\
         Allocated by task 5120:\n kmem_cache_alloc+0x1a/0x30\n sk_prot_alloc+0x44/0x1f0\n",
    );
    log
}

#[test]
fn a_renamed_function_keeps_its_warning() {
    let before = identity(&warning(
        "net/sched/cls_api.c:1234",
        "tcf_block_put_ext",
        &["tcf_block_put", "fq_codel_destroy", "qdisc_destroy"],
    ));
    let after = identity(&warning(
        "net/sched/cls_api.c:1234",
        "tcf_block_release",
        &["tcf_block_put", "fq_codel_destroy", "qdisc_destroy"],
    ));
    assert_ne!(before.title, after.title);
    assert_eq!(
        relate(&before, &after),
        Some(Relation::SameLocation("net/sched/cls_api.c:1234".into()))
    );
    assert_eq!(
        relate(&before, &after).map(|r| r.to_string()).as_deref(),
        Some("same location net/sched/cls_api.c:1234")
    );
}

#[test]
fn two_warnings_in_one_function_are_two_bugs() {
    let callers = ["tcf_block_put", "fq_codel_destroy", "qdisc_destroy"];
    let one = identity(&warning(
        "net/sched/cls_api.c:1234",
        "tcf_block_put_ext",
        &callers,
    ));
    let two = identity(&warning(
        "net/sched/cls_api.c:1301",
        "tcf_block_put_ext",
        &callers,
    ));
    assert_eq!(one.title, two.title);
    assert_eq!(relate(&one, &two), None);
    assert_eq!(relate(&one, &one), Some(Relation::SameTitle));
}

#[test]
fn inlining_changes_the_top_of_the_stack_only() {
    let callers = [
        "sock_map_update_common",
        "sock_map_update_elem",
        "bpf_map_update_value",
    ];
    let before = identity(&kasan(
        "slab-use-after-free",
        "Read",
        "sk_psock_drop",
        &callers,
    ));
    // sk_psock_drop was inlined into its caller: the title moves up.
    let after = identity(&kasan(
        "slab-use-after-free",
        "Read",
        "sock_map_update_common",
        &callers[1..],
    ));
    assert_eq!(
        after.title,
        "KASAN: slab-use-after-free Read in sock_map_update_common"
    );
    assert!(matches!(
        relate(&before, &after),
        Some(Relation::SameStack(_))
    ));
    assert_eq!(
        relate(&after, &before).map(|r| r.to_string()).as_deref(),
        Some("same call stack")
    );
}

#[test]
fn a_read_and_a_write_of_one_object_are_one_bug() {
    let callers = ["tipc_node_xmit", "tipc_sendmsg", "sock_sendmsg"];
    let read = identity(&kasan(
        "slab-use-after-free",
        "Read",
        "tipc_link_xmit",
        &callers,
    ));
    let write = identity(&kasan(
        "slab-use-after-free",
        "Write",
        "tipc_link_xmit",
        &callers,
    ));
    assert_ne!(read.kind, write.kind);
    assert!(matches!(
        relate(&read, &write),
        Some(Relation::SameStack(_))
    ));
}

#[test]
fn another_kind_of_bug_in_the_same_place_is_another_bug() {
    let callers = ["tipc_node_xmit", "tipc_sendmsg", "sock_sendmsg"];
    let uaf = identity(&kasan(
        "slab-use-after-free",
        "Read",
        "tipc_link_xmit",
        &callers,
    ));
    let oob = identity(&kasan(
        "slab-out-of-bounds",
        "Read",
        "tipc_link_xmit",
        &callers,
    ));
    assert_eq!(relate(&uaf, &oob), None);
}

#[test]
fn the_same_function_reached_from_unrelated_code_is_another_bug() {
    let a = identity(&kasan(
        "slab-use-after-free",
        "Read",
        "tipc_link_xmit",
        &["tipc_node_xmit", "tipc_sendmsg", "sock_sendmsg"],
    ));
    let b = identity(&kasan(
        "slab-use-after-free",
        "Read",
        "tipc_link_xmit",
        &["tipc_bcast_xmit", "tipc_mcast_xmit", "tipc_sendmcast"],
    ));
    assert_eq!(a.title, b.title);
    assert_eq!(relate(&a, &b), None);
}

#[test]
fn alternative_titles_join_a_stall_and_a_lockup() {
    let stall = Identity {
        title: "INFO: rcu detected stall in tcp_sendmsg".into(),
        alt_titles: vec!["stall in tcp_sendmsg".into()],
        kind: culprit_report::CrashType::Hang,
        location: None,
        frame: Some("tcp_sendmsg".into()),
        stack: vec![],
    };
    let lockup = Identity {
        title: "BUG: soft lockup in tcp_sendmsg".into(),
        alt_titles: vec!["stall in tcp_sendmsg".into()],
        ..stall.clone()
    };
    assert_eq!(
        relate(&stall, &lockup),
        Some(Relation::KnownAlternative("stall in tcp_sendmsg".into()))
    );
}

#[test]
fn identities_survive_the_journal() {
    let id = identity(&warning(
        "net/sched/cls_api.c:1234",
        "tcf_block_put_ext",
        &["tcf_block_put", "fq_codel_destroy", "qdisc_destroy"],
    ));
    assert_eq!(id.location.as_deref(), Some("net/sched/cls_api.c:1234"));
    assert_eq!(id.frame.as_deref(), Some("tcf_block_put_ext"));
    assert_eq!(
        id.stack,
        ["tcf_block_put", "fq_codel_destroy", "qdisc_destroy"],
        "syscall entry frames are generic"
    );
    let json = serde_json::to_string(&id).expect("serialize");
    let back: Identity = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, id);
}

/// Real reports, edited as a kernel changes between commits.
#[test]
fn real_reports_keep_their_identity_across_edits() {
    let Some(dir) = common::testdata("linux-reports") else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("SKIPPED: {} is unreadable", dir.display());
        return;
    };
    let (mut renamed, mut rewritten) = (0, 0);
    for entry in entries.flatten() {
        let Ok(data) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let log = data.split_once("\n\n").map_or("", |(_, l)| l);
        let Some(report) = first(log.as_bytes()) else {
            continue;
        };
        let id = Identity::of(&report);
        assert_eq!(
            relate(&id, &id),
            Some(Relation::SameTitle),
            "{:?}",
            entry.path()
        );
        let Some(frame) = id.frame.clone().filter(|f| f.len() > 4) else {
            continue;
        };
        // The function holding a WARNING renamed everywhere in the log.
        if id.location.is_some() && report.title.starts_with("WARNING in ") {
            let edited = log.replace(&frame, "culprit_renamed_fn");
            if let Some(other) = first(edited.as_bytes()).map(|r| Identity::of(&r)) {
                if other.title != id.title && other.location == id.location {
                    assert!(
                        matches!(relate(&id, &other), Some(Relation::SameLocation(_))),
                        "{:?}: {id:?} / {other:?}",
                        entry.path()
                    );
                    renamed += 1;
                }
            }
        }
        // A KASAN read turned into a write of the same object.
        if report.title.starts_with("KASAN: ") && report.title.contains(" Read in ") {
            let edited = log.replacen("Read of size", "Write of size", 1);
            if let Some(other) = first(edited.as_bytes()).map(|r| Identity::of(&r)) {
                if other.title.contains(" Write in ") && id.stack.len() >= 2 {
                    assert!(
                        relate(&id, &other).is_some(),
                        "{:?}: {id:?} / {other:?}",
                        entry.path()
                    );
                    rewritten += 1;
                }
            }
        }
    }
    println!("renamed WARNINGs: {renamed}, KASAN reads made writes: {rewritten}");
    assert!(renamed >= 5 && rewritten >= 5, "{renamed} {rewritten}");
}
