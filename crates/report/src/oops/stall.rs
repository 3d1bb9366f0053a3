//! Naming stalls and stack overflows: the stalled code is what the first
//! "dispatcher" (syscall entry, work queue, timer, softirq) of its stack
//! called, or the syscall itself.

use super::oopses::Part;
use super::trace::{pc_func, trace_frames};
use crate::frames::is_generic;
use crate::generic::matches_any;

/// Functions that only hand work on: a stall is named after what they called.
const DISPATCHERS: &[&str] = &[
    "vfs_ioctl",
    "cpu_startup_entry",
    "do_idle",
    "compat_blkdev_ioctl",
    "*_compat_ioctl",
    "do_vfs_ioctl",
    "sock_sendmsg*",
    "__sock_sendmsg",
    "sock_recvmsg*",
    "__sock_recvmsg",
    "sock_write_iter",
    "sock_read_iter",
    "vfs_write",
    "__vfs_write",
    "vfs_read",
    "__vfs_read",
    "new_sync_write",
    "new_sync_read",
    "do_iter_write",
    "do_iter_read",
    "do_iter_readv_writev",
    "vfs_writev",
    "vfs_readv",
    "vfs_iter_write",
    "vfs_iter_read",
    "call_write_iter",
    "call_read_iter",
    "nfnetlink_rcv_msg",
    "nfnetlink_rcv_batch",
    "rtnetlink_rcv_msg",
    "process_one_work",
    "call_timer_fn",
    "__run_timers",
    "expire_timers",
    "tasklet_action_common",
    "tasklet_action",
    "tasklet_hi_action",
    "__do_softirq",
    "handle_softirqs",
    "net_rx_action",
    "__napi_poll",
    "process_backlog",
    "__netif_receive_skb_core",
    "__netif_receive_skb_one_core",
    "__netif_receive_skb",
    "do_softirq",
    "kthread",
    "worker_thread",
    "ret_from_fork",
    "__sys_setsockopt",
    "sock_common_setsockopt",
    "vfs_fallocate",
    "do_sys_ftruncate",
    "flush_smp_call_function_queue",
    "generic_exec_single",
    "__sys_sendmsg",
    "___sys_sendmsg",
    "____sys_sendmsg",
    "__sys_sendto",
    "__sys_recvmsg",
    "___sys_recvmsg",
    "__sys_recvfrom",
    "compat_sys_ioctl",
    "do_mmap",
    "mmap_region",
    "vm_mmap_pgoff",
    "__mmap_region",
    "__do_fault",
    "__x64_sys_ioctl",
    "__ia32_sys_ioctl",
    "__arm64_sys_ioctl",
    "__se_sys_ioctl",
    "__do_sys_ioctl",
    "ksys_ioctl",
    "__ia32_compat_sys_ioctl",
    "__x64_compat_sys_ioctl",
    "kvm_vm_compat_ioctl_dispatch",
    "blkdev_ioctl",
    "sock_ioctl",
    "do_writev",
    "do_sys_open",
    "do_sys_openat2",
    "do_filp_open",
    "path_openat",
    "__fput",
    "____fput",
    "task_work_run",
    "*netlink_dump*",
    "genl_lock_dumpit",
    "genl_family_rcv_msg_dumpit",
    "run_ksoftirqd",
    "smpboot_thread_fn",
    "__irq_exit_rcu",
    "irq_exit",
    "irq_exit_rcu",
    "sysvec_*",
    "__sysvec_*",
];

/// Syscalls that dispatch to drivers or protocols: named by what they called.
const DISPATCHING_SYSCALLS: &[&str] = &[
    "ioctl",
    "sendmsg",
    "sendmmsg",
    "sendto",
    "send",
    "write",
    "writev",
    "pwrite64",
    "pwritev",
    "read",
    "readv",
    "pread64",
    "recvmsg",
    "recvfrom",
    "setsockopt",
    "getsockopt",
    "compat_ioctl",
    "mmap",
    "mmap_pgoff",
    "open",
    "openat",
    "splice",
    "sendfile",
    "sendfile64",
];

/// Functions a stall is named after themselves.
fn is_self_anchor(func: &str) -> bool {
    if let Some(call) = syscall_name(func) {
        return !DISPATCHING_SYSCALLS.contains(&call);
    }
    func.starts_with("smp_call_function")
}

/// The syscall a syscall entry function implements.
fn syscall_name(func: &str) -> Option<&str> {
    use crate::title::{syscall, Syscall};
    // net/socket.c's `__sys_sendmsg` implements sendmsg too.
    if let Some(call) = func.strip_prefix("__sys_") {
        return Some(call);
    }
    match syscall(func)? {
        Syscall::Arch(name) => name
            .strip_prefix("compat_sys_")
            .or_else(|| name.strip_prefix("sys_")),
        Syscall::Body(call) | Syscall::Compat(call) => Some(call),
    }
}

/// The stalled function of an RCU stall or soft lockup report: in the stack
/// of the interrupted code, what the first dispatcher called, or the
/// syscall itself.
///
/// RCU stalls are printed from the timer interrupt (or an NMI) that caught
/// the stalled code, so the code is below the interrupt entry; a soft
/// lockup shows the stuck code itself on top (`top_first`).
pub fn stall_frame(text: &[String], mode: Part) -> Option<String> {
    for block in trace_blocks(text) {
        // Split the stack at interrupt entries: what runs above the first
        // entry is the interrupt handler, what follows each entry is the
        // code that interrupt caught (a softirq may itself be interrupted).
        let mut segments: Vec<&[String]> = block.split(|f| is_interrupt_entry(f)).collect();
        let caught = segments.split_off(1.min(segments.len()));
        let order: Vec<&[String]> = match mode {
            // A CPU stall is caught by an interrupt; tasks merely listed as
            // blocking the grace period do not show what stalled.
            Part::Stall => caught,
            Part::Lockup => segments.into_iter().chain(caught).collect(),
            _ => vec![&block[..]],
        };
        if let Some(found) = order.into_iter().find_map(anchored) {
            return Some(found);
        }
    }
    None
}

/// The reliable frames of every stack trace in the report, except the RCU
/// grace-period kthread's own.
fn trace_blocks(text: &[String]) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut i = 1;
    while i < text.len() {
        if !is_frame_line(&text[i]) {
            i += 1;
            continue;
        }
        let frames = trace_frames(text, i);
        let len = frames.len().max(1);
        let kthread = text[i.saturating_sub(3)..i]
            .iter()
            .any(|l| l.contains("kthread stack dump") || l.trim_start().starts_with("rcu_"))
            || frames.iter().any(|f| {
                f.func.starts_with("rcu_gp_kthread") || f.func.starts_with("rcu_tasks_kthread")
            });
        if !kthread {
            blocks.push(
                frames
                    .into_iter()
                    .filter(|f| f.reliable)
                    .map(|f| f.func)
                    .collect(),
            );
        }
        // Skip the block: frames, plus whatever non-frame lines sat inside it.
        let mut seen = 0;
        while i < text.len() && seen < len {
            if is_frame_line(&text[i]) {
                seen += 1;
            }
            i += 1;
        }
    }
    blocks
}

fn is_frame_line(line: &str) -> bool {
    crate::frames::is_frame(line) || pc_func(line).is_some()
}

/// The frame a stack (innermost first) is named after, if it has an anchor.
fn anchored(frames: &[String]) -> Option<String> {
    let anchor = frames
        .iter()
        .position(|f| is_self_anchor(f) || matches_any(f, DISPATCHERS) || is_syscall_entry(f))?;
    if is_self_anchor(&frames[anchor]) {
        return Some(frames[anchor].clone());
    }
    let callee = frames[..anchor]
        .iter()
        .rev()
        .find(|f| !is_generic(f) && !is_boring_in_stall(f))
        .cloned();
    // Nothing but plumbing above the dispatcher: the dispatcher itself.
    callee.or_else(|| {
        Some(frames[anchor].clone())
            .filter(|f| !is_syscall_entry(f) && f != "ret_from_fork" && f != "kthread")
    })
}

fn is_syscall_entry(func: &str) -> bool {
    syscall_name(func).is_some()
        || func.starts_with("entry_SYSCALL")
        || func.starts_with("do_syscall")
}

/// Scheduler and interrupt plumbing at the top of a stalled stack.
fn is_boring_in_stall(func: &str) -> bool {
    func == "run_timer_softirq"
        || func.starts_with("finish_task_switch")
        || func.contains("irq") && func.contains("restore")
        || func.starts_with("__sysvec")
}

fn is_interrupt_entry(func: &str) -> bool {
    use crate::generic::{generic_class, GenericClass};
    let listed = func.contains("apic_timer_interrupt")
        || func.ends_with("call_function_single_interrupt")
        || [
            "__irq_svc",
            "__irq_usr",
            "el1_irq",
            "el1h_64_irq",
            "el1_interrupt",
            "asm_sysvec_call_function_single",
            "irq_exit_rcu",
            "irq_exit",
            "gic_handle_irq",
            "do_IRQ",
            "handle_arch_irq",
            "call_on_irq_stack",
        ]
        .contains(&func);
    // Any architecture's interrupt entry: entry code named after interrupts
    // or NMIs (`asm_common_interrupt`, `el1h_64_irq_handler`, `do_irq`,
    // `exc_nmi`), not a softirq (dispatchers of their own).
    let named_so = !func.contains("softirq")
        && (func.contains("interrupt")
            || func.contains("_irq")
            || func.starts_with("do_irq")
            || func.contains("nmi"));
    listed || (named_so && generic_class(func) == Some(GenericClass::Entry))
}
