//! Report kinds and title rules checked on hand-written reports in the
//! kernel's formats: fault headers of other architectures, rarer report
//! kinds, syscall spellings, helpers a title looks past.

use culprit_report::{first, CrashType};

fn title(log: &str) -> String {
    first(log.as_bytes()).map(|r| r.title).unwrap_or_default()
}

/// An x86 WARNING whose PC is `pc` and whose stack (innermost first)
/// follows.
fn warning(file: &str, pc: &str, stack: &[&str]) -> String {
    let mut log = format!(
        "------------[ cut here ]------------\n\
         WARNING: CPU: 1 PID: 4242 at {file}:120 {pc}+0x1c/0x40\n\
         Modules linked in:\n\
         CPU: 1 PID: 4242 Comm: syz-executor.0 Not tainted 6.8.0 #1\n\
         RIP: 0010:{pc}+0x1c/0x40\n\
         RSP: 0018:ffffc90003a7f9b8 EFLAGS: 00010246\n\
         Call Trace:\n <TASK>\n"
    );
    for f in stack {
        log.push_str(&format!(" {f}+0x10/0x80\n"));
    }
    log.push_str(" </TASK>\n---[ end trace 0000000000000000 ]---\n");
    log
}

#[test]
fn helpers_of_newer_kernels_are_looked_past() {
    let log = warning(
        "mm/page_alloc.c",
        "__alloc_pages_noprof",
        &[
            "alloc_pages_mpol_noprof",
            "__kmalloc_cache_noprof",
            "ntfs_fill_super",
            "get_tree_bdev",
        ],
    );
    assert_eq!(title(&log), "WARNING in ntfs_fill_super");
}

#[test]
fn wakeups_id_allocators_and_hash_tables_name_their_caller() {
    for helper in [
        "__wake_up_common",
        "idr_alloc_u32",
        "rhashtable_lookup_fast",
        "_copy_to_iter",
        "drop_nlink",
        "destroy_workqueue",
    ] {
        let log = warning(
            "kernel/foo.c",
            helper,
            &["tipc_named_reinit", "tipc_net_finalize"],
        );
        assert_eq!(title(&log), "WARNING in tipc_named_reinit", "{helper}");
    }
}

#[test]
fn filesystem_assertions_name_the_filesystem_code() {
    let log = warning(
        "fs/btrfs/messages.c",
        "btrfs_assertfail",
        &["btrfs_finish_ordered_io", "btrfs_work_helper"],
    );
    assert_eq!(title(&log), "WARNING in btrfs_finish_ordered_io");
}

#[test]
fn a_function_that_is_not_a_helper_is_named() {
    let log = warning(
        "net/core/dev.c",
        "netdev_core_pick_tx",
        &["__dev_queue_xmit"],
    );
    assert_eq!(title(&log), "WARNING in netdev_core_pick_tx");
}

#[test]
fn syscall_entries_of_old_kernels_are_normalised() {
    let log = "\
general protection fault: 0000 [#1] SMP KASAN
CPU: 0 PID: 1 Comm: syz-executor Not tainted 4.9.0 #1
RIP: 0010:[<ffffffff81234567>]  [<ffffffff81234567>] SyS_mremap+0x1a/0x30
Call Trace:
 [<ffffffff81000001>] entry_SYSCALL_64_fastpath+0x1f/0xc2
";
    let r = first(log.as_bytes()).expect("a report");
    assert_eq!(r.title, "general protection fault in mremap");
    assert!(
        r.alt_titles
            .contains(&"general protection fault in sys_mremap".to_string()),
        "{:?}",
        r.alt_titles
    );
}

#[test]
fn proc_registration_bug() {
    let log = warning(
        "fs/proc/generic.c",
        "proc_register",
        &["proc_create_data", "clusterip_tg_check", "xt_check_target"],
    );
    let r = first(log.as_bytes()).expect("a report");
    assert_eq!(
        r.title,
        "WARNING: proc registration bug in clusterip_tg_check"
    );
    assert_eq!(r.kind, CrashType::Warning);
}

#[test]
fn kernel_stack_regs_have_bad_value() {
    let log = "WARNING: kernel stack regs at ffff880019a05f58 in netifd:917 has bad 'bp' value ffffc90000277e18\n";
    assert_eq!(title(log), "WARNING: kernel stack regs has bad value");
    let log = "WARNING: kernel stack frame pointer at 000000002d9ae6ff in a.out:123 has bad value 000000000e9dbdea\n";
    assert_eq!(
        title(log),
        "WARNING: kernel stack frame pointer has bad value"
    );
}

#[test]
fn bad_page_map_and_locks_held_on_old_kernels() {
    let log = "\
BUG: Bad page map in process syz-executor.2  pte:8000000012345067 pmd:12345067
page:ffffea0000123400 refcount:0 mapcount:-1 mapping:0000000000000000 index:0x0
CPU: 0 PID: 9 Comm: syz-executor.2 Not tainted 5.10.0 #1
Call Trace:
 dump_stack+0x10/0x20
 print_bad_pte+0x10/0x20
 zap_pte_range+0x10/0x20
";
    assert_eq!(title(log), "BUG: Bad page map");
    let log = "\
=====================================
[ BUG: syz-executor/4321 still has locks held! ]
4.4.0 #1 Not tainted
-------------------------------------
1 lock held by syz-executor/4321:
 #0:  (&pipe->mutex/1){+.+.+.}, at: [<ffffffff81a0b1c2>] pipe_lock+0x52/0x60
stack backtrace:
Call Trace:
 [<ffffffff81234567>] dump_stack+0x1/0x2
 [<ffffffff81234568>] debug_check_no_locks_held+0x1/0x2
";
    assert_eq!(title(log), "BUG: still has locks held in pipe_lock");
}

#[test]
fn trusty_panics() {
    let log = "trusty: panic (caller 0xffffffffe000fbd0): DEBUG ASSERT FAILED at (trusty/lib/ipc.c:63): list_in_list(&ref->node)\n";
    assert_eq!(
        title(log),
        "trusty: ASSERT FAILED: list_in_list(&ref->node)"
    );
    let log = "trusty: panic (caller 0xffffffffe000fbd0): out of memory in heap\n";
    assert_eq!(title(log), "trusty: panic: out of memory in heap");
}

#[test]
fn go_runtime_errors_are_one_crash() {
    for why in [
        "concurrent map writes",
        "all goroutines are asleep - deadlock!",
        "runtime: out of memory",
    ] {
        let log = format!("fatal error: {why}\n\ngoroutine 1 [running]:\nmain.main()\n");
        assert_eq!(title(&log), "go runtime error", "{why}");
    }
}

#[test]
fn powerpc_data_access_is_named_after_the_nip() {
    let log = "\
BUG: Unable to handle kernel data access on read at 0x00000008
Faulting instruction address: 0xc000000000a1b2c4
Oops: Kernel access of bad area, sig: 11 [#1]
NIP:  c000000000a1b2c4 LR: c000000000a1b2a0 CTR: 0000000000000000
NIP [c000000000a1b2c4] strncpy_from_user+0x44/0x120
LR [c000000000a1b2a0] getname_flags+0x80/0x220
Call Trace:
[c00000000f8cbc30] [c000000000a1b2a0] getname_flags+0x80/0x220 (unreliable)
[c00000000f8cbc90] [c0000000004d7c10] do_sys_openat2+0x60/0x1d0
";
    let r = first(log.as_bytes()).expect("a report");
    assert_eq!(
        r.title,
        "BUG: Unable to handle kernel data access on read in getname_flags"
    );
    assert_eq!(r.kind, CrashType::MemorySafetyBug);
}

#[test]
fn s390_psw_names_the_crashing_function() {
    let log = "\
Unable to handle kernel pointer dereference in virtual kernel address space
Failing address: 0000000000000000 TEID: 0000000000000483
Krnl PSW : 0704c00180000000 000000000084a2f4 (tcp_sendmsg_locked+0x14/0x30)
Call Trace:
 ([<000000000084a2f4>] tcp_sendmsg_locked+0x14/0x30)
 [<000000000084b000>] tcp_sendmsg+0x30/0x50
";
    assert_eq!(
        title(log),
        "BUG: unable to handle kernel paging request in tcp_sendmsg_locked"
    );
}
