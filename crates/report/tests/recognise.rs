//! A crash given by syzbot's title, recognised in reports culprit titles
//! differently: reports written in the kernel's formats, and real reports
//! of shared/testdata.

mod common;

use culprit_report::{first, recognise, Identity, Recognition, Report};

fn report(log: &str) -> Report {
    first(log.as_bytes()).unwrap_or_else(|| panic!("no report in:\n{log}"))
}

/// Why `title` is `report`'s crash, as the log would say it, or "no".
fn why(title: &str, report: &Report) -> String {
    recognise(title, report).map_or("no".into(), |r| r.to_string())
}

/// A KASAN use-after-free read in `func` called by `callers` (innermost
/// first), its allocation in `sock_alloc_inode` and its free in `sock_free`.
fn kasan(func: &str, callers: &[&str]) -> String {
    let mut log = format!(
        "==================================================================\n\
         BUG: KASAN: use-after-free in {func}+0x8c/0x120\n\
         Read of size 8 at addr ffff88801d2c4a10 by task syz-executor.3/5120\n\
         \n\
         CPU: 1 PID: 5120 Comm: syz-executor.3 Not tainted 6.1.0 #1\n\
         Call Trace:\n <TASK>\n \
         __dump_stack lib/dump_stack.c:88 [inline]\n \
         dump_stack_lvl+0xd1/0x138\n \
         print_report+0x16e/0x4b0\n \
         kasan_report+0xc4/0x100\n \
         {func}+0x8c/0x120\n \
         ? ip6_guessed_frame+0x10/0x20\n"
    );
    for c in callers {
        log.push_str(&format!(" {c}+0x50/0x90\n"));
    }
    log.push_str(
        " __sys_sendmsg+0x117/0x1e0\n __x64_sys_sendmsg+0x1a/0x20\n do_syscall_64+0x35/0xb0\n </TASK>\n\n\
         Allocated by task 5120:\n kmem_cache_alloc+0x1a/0x30\n sock_alloc_inode+0x44/0x1f0\n\n\
         Freed by task 5121:\n kfree+0x1a/0x30\n sock_free+0x44/0x1f0\n",
    );
    log
}

#[test]
fn a_function_of_the_stack_names_the_same_kind() {
    let r = report(&kasan(
        "ip6_send_skb",
        &["udp_v6_send_skb.isra.0", "udpv6_sendmsg"],
    ));
    assert_eq!(r.title, "KASAN: use-after-free Read in ip6_send_skb");
    assert_eq!(
        recognise("KASAN: use-after-free Read in ip6_send_skb", &r),
        Some(Recognition::SameTitle)
    );
    assert_eq!(
        why("KASAN: use-after-free Read in udpv6_sendmsg", &r),
        "same kind, udpv6_sendmsg in its stack"
    );
    // Compiler suffixes are not part of the name.
    assert_eq!(
        why("KASAN: use-after-free Read in udp_v6_send_skb", &r),
        "same kind, udp_v6_send_skb in its stack"
    );
    // The syscall entry as titles spell it; the dashboard's numbering.
    assert_eq!(
        why("KASAN: use-after-free Read in sys_sendmsg (3)", &r),
        "same kind, sys_sendmsg in its stack"
    );
    // What only tells the access apart, and the newer kernels' name of
    // a slab use-after-free, do not change the kind.
    assert_ne!(
        why("KASAN: use-after-free Write in udpv6_sendmsg", &r),
        "no"
    );
    assert_ne!(
        why("KASAN: slab-use-after-free Read in udpv6_sendmsg", &r),
        "no"
    );
}

#[test]
fn other_kinds_absent_functions_and_prefixes_are_not_the_crash() {
    let r = report(&kasan(
        "ip6_send_skb",
        &["udp_v6_send_skb.isra.0", "udpv6_sendmsg"],
    ));
    for title in [
        // Another kind, the function in the stack.
        "WARNING in udpv6_sendmsg",
        "general protection fault in udpv6_sendmsg",
        "KASAN: slab-out-of-bounds Read in udpv6_sendmsg",
        "INFO: task hung in udpv6_sendmsg",
        // The right kind, the function nowhere in the report.
        "KASAN: use-after-free Read in tcp_sendmsg",
        // Only a prefix, or a longer name, of a frame.
        "KASAN: use-after-free Read in udpv6_send",
        "KASAN: use-after-free Read in udp_v6",
        "KASAN: use-after-free Read in udpv6_sendmsg_locked",
        // Frames the unwinder only guessed, and the allocation and free
        // stacks, which are other events.
        "KASAN: use-after-free Read in ip6_guessed_frame",
        "KASAN: use-after-free Read in sock_alloc_inode",
        "KASAN: use-after-free Read in sock_free",
        // Titles that name no function.
        "KASAN: use-after-free Read in corrupted",
        "BUG: workqueue lockup",
        "",
    ] {
        assert_eq!(why(title, &r), "no", "{title:?}");
    }
}

#[test]
fn a_warning_is_known_by_its_callers() {
    let log = "------------[ cut here ]------------\n\
        WARNING: CPU: 0 PID: 3811 at kernel/sys.c:2410 prctl_scratch_check+0x2f/0x60\n\
        Modules linked in:\n\
        CPU: 0 PID: 3811 Comm: syz-executor.1 Not tainted 6.1.0-syzkaller #0\n\
        RIP: 0010:prctl_scratch_check+0x2f/0x60\n\
        Code: 0f 0b eb c1 66 90\n\
        RSP: 0018:ffffc9000459fa48 EFLAGS: 00010293\n\
        Call Trace:\n <TASK>\n \
        prctl_set_scratch+0x1b4/0x2f0\n \
        __do_sys_prctl+0x5a1/0x1b30\n \
        do_syscall_64+0x35/0xb0\n \
        entry_SYSCALL_64_after_hwframe+0x63/0xcd\n </TASK>\n";
    let r = report(log);
    assert_eq!(r.title, "WARNING in prctl_scratch_check");
    assert_eq!(why("WARNING in prctl_scratch_check", &r), "same title");
    assert_eq!(
        why("WARNING in prctl_set_scratch", &r),
        "same kind, prctl_set_scratch in its stack"
    );
    assert_eq!(why("WARNING in prctl", &r), "same kind, prctl in its stack");
    assert_eq!(why("WARNING in prctl_scratch", &r), "no");
    assert_eq!(
        why("KASAN: use-after-free Read in prctl_set_scratch", &r),
        "no"
    );
    assert_eq!(why("WARNING: refcount bug in prctl_set_scratch", &r), "no");
}

/// A file of shared/testdata/linux-reports, parsed; `None` when absent.
fn real(name: &str) -> Option<Report> {
    let dir = common::testdata("linux-reports")?;
    let data = std::fs::read(dir.join(name)).expect("read test file");
    let at = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("a header");
    Some(first(&data[at + 2..]).expect("a report"))
}

#[test]
fn real_reports_are_recognised_by_other_titles() {
    // A KASAN report syzbot titles after the waitqueue its lock is in.
    let Some(kasan) = real("147") else { return };
    assert_eq!(
        kasan.title,
        "KASAN: use-after-free Read in remove_wait_queue"
    );
    assert_eq!(
        why(
            "KASAN: use-after-free Read in ep_unregister_pollwait",
            &kasan
        ),
        "same kind, ep_unregister_pollwait in its stack"
    );
    assert_eq!(
        why("bad-access in remove_wait_queue", &kasan),
        "one of its alternative titles"
    );
    assert_eq!(why("WARNING in ep_free", &kasan), "no");
    assert_eq!(why("KASAN: use-after-free Read in ep_fre", &kasan), "no");

    // A hung task: the old name of the RCU wait is an alternative title.
    let Some(hung) = real("179") else { return };
    assert_eq!(hung.title, "INFO: task hung in synchronize_rcu");
    assert_eq!(
        why("INFO: task hung in synchronize_sched", &hung),
        "one of its alternative titles"
    );
    assert_eq!(
        why("INFO: task hung in input_close_device", &hung),
        "same kind, input_close_device in its stack"
    );
    assert_eq!(why("INFO: task hung in mixdev_close", &hung), "no");
    assert_eq!(why("WARNING in input_close_device", &hung), "no");

    // A WARNING of a 4.1 kernel: `? f` frames are guesses, not the stack.
    let Some(warning) = real("249") else { return };
    assert_eq!(warning.title, "WARNING in rfkill_fop_read");
    assert_eq!(
        why("WARNING in do_readv_writev", &warning),
        "same kind, do_readv_writev in its stack"
    );
    assert_eq!(why("WARNING in prepare_to_wait_event", &warning), "no");
    assert_eq!(why("WARNING in rfkill_fop_ioctl", &warning), "no");
}

#[test]
fn every_real_report_is_recognised_by_its_own_titles() {
    let Some(dir) = common::testdata("linux-reports") else {
        return;
    };
    let (mut checked, mut failures) = (0, Vec::new());
    for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
        let data = std::fs::read(entry.path()).expect("read file");
        let Some(at) = data.windows(2).position(|w| w == b"\n\n") else {
            continue;
        };
        let Some(r) = first(&data[at + 2..]) else {
            continue;
        };
        assert_eq!(recognise(&r.title, &r), Some(Recognition::SameTitle));
        for alt in &r.alt_titles {
            assert!(recognise(alt, &r).is_some(), "{:?}: {alt}", entry.path());
        }
        // The title with the caller of its function in place of it: the
        // same kind, and the caller is in the stack.
        let caller = Identity::of(&r).stack.first().cloned();
        let head = r.title.rsplit_once(" in ").map(|(h, _)| h.to_string());
        if let (Some(caller), Some(head)) = (caller, head) {
            let by_caller = format!("{head} in {caller} (2)");
            let got = recognise(&by_caller, &r);
            let ok = matches!(&got, Some(Recognition::SameKindInStack(f)) if *f == [caller.clone()])
                || got == Some(Recognition::AlternativeTitle);
            if !ok {
                failures.push(format!(
                    "{:?}: {by_caller}: {got:?} [{}]",
                    entry.path(),
                    r.kind
                ));
            }
            checked += 1;
        }
    }
    println!("reports recognised by their title's caller: {checked}");
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(checked > 250, "{checked}");
}
