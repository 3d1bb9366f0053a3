//! Stack frames: reading them from trace lines, and the generic helpers a
//! title never names.

use regex::Regex;
use std::sync::OnceLock;

/// A function named by one line of a stack trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The function, without compiler suffixes such as `.isra.0`.
    pub func: String,
    /// False for `? func` entries the unwinder only guessed.
    pub reliable: bool,
}

/// Reads a stack frame from a (prefix-stripped) console line, in any of the
/// formats kernels print: `func+0x1/0x2`, `[<addr>] func+0x1/0x2`,
/// `[<pc>] (func) from [<lr>] (...)`, `func file.c:12 [inline]`.
pub fn parse_frame(line: &str) -> Option<Frame> {
    let mut s = line.trim_start();
    // Old kernels print context markers in front of the first frame.
    for marker in ["<IRQ>", "<EOI>", "<NMI>", "<<EOE>>"] {
        if let Some(rest) = s.strip_prefix(marker) {
            s = rest.trim_start();
        }
    }
    let mut had_address = false;
    while let Some(rest) = s.strip_prefix("[<").or_else(|| s.strip_prefix("[c")) {
        let close = rest.find(']')?;
        if !rest[..close]
            .trim_end_matches('>')
            .bytes()
            .all(|c| c.is_ascii_hexdigit())
        {
            return None;
        }
        s = rest[close + 1..].trim_start();
        had_address = true;
    }
    let mut reliable = true;
    if let Some(rest) = s.strip_prefix("? ") {
        reliable = false;
        s = rest.trim_start();
    }
    if let Some(rest) = s
        .strip_prefix('(')
        .filter(|_| had_address || line.contains(") from "))
    {
        // ARM: "(func) from [<lr>] (caller+0x1/0x2)"; "(func+0x1/0x2)" too.
        let close = rest.find(')')?;
        let name = rest[..close].split(['+', ' ']).next()?;
        return frame(name, reliable);
    }
    let (name, after) = split_name(s)?;
    if after.starts_with("+0x") {
        return frame(name, reliable);
    }
    // Symbolized inlined frames: "func path/file.c:12 [inline]".
    let mut words = after.split_whitespace();
    if let (Some(location), Some("[inline]"), None) = (words.next(), words.next(), words.next()) {
        if location.contains(':') {
            return frame(name, reliable);
        }
    }
    None
}

/// Splits a symbol off the start of `s`; Rust symbols like `<T as Trait>::f`
/// contain spaces inside their angle brackets.
fn split_name(s: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            '+' | ' ' | '\t' | '(' if depth <= 0 => {
                return (i > 0).then(|| (&s[..i], &s[i..]));
            }
            _ if depth <= 0 && !(c.is_ascii_alphanumeric() || "_.$:".contains(c)) => return None,
            _ => {}
        }
    }
    None
}

fn frame(name: &str, reliable: bool) -> Option<Frame> {
    if name.ends_with(':') {
        return None;
    }
    let func = clean_func(name);
    if func.is_empty() || func.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(Frame { func, reliable })
}

/// `name` without compiler-generated suffixes (`.isra.0`, `.constprop.3`,
/// `.part.1`, `.cold`, `.llvm.123`), which vary between builds.
pub fn clean_func(name: &str) -> String {
    if let Some(rust) = crate::demangle::rust_v0(name.trim()) {
        return rust;
    }
    let name = demangle_cpp(name.trim());
    if name.starts_with('<') {
        return name.to_string();
    }
    match name.find('.') {
        Some(dot) if dot > 0 => name[..dot].to_string(),
        _ => name.to_string(),
    }
}

/// The plain name of a simple Itanium-mangled C++ symbol (`_Z8fakeNameiii`).
fn demangle_cpp(name: &str) -> &str {
    let Some(rest) = name.strip_prefix("_Z") else {
        return name;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    match rest[..digits].parse::<usize>() {
        Ok(len) if len > 0 && rest.len() >= digits + len => &rest[digits..digits + len],
        _ => name,
    }
}

/// Whether a title should look past `func`: sanitizer runtime, printk,
/// locking, scheduling, allocation, string and copy helpers, syscall entry.
pub fn is_generic(func: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(GENERIC).unwrap_or_else(|_| Regex::new("^$").unwrap_or_else(|_| unreachable!()))
    })
    .is_match(func)
}

/// Helpers that never are the culprit themselves. Anchored alternatives,
/// grouped by subsystem.
const GENERIC: &str = concat!(
    r"^(?:",
    // Sanitizers and debugging machinery.
    r"_*(?:sanitizer|asan|hwasan|kasan|msan|kmsan|kcsan|ubsan|kfence)\w*|check_memory_region\w*|",
    r"check_heap_object|check_object\w*|__check_object_size|check_stack_object|",
    r"print_address_description\w*|print_report|print_track|describe_object|",
    r"instrument_\w+|read_word_at_a_time|__read_once\w*|__write_once\w*|",
    r"_*dump_stack\w*|show_stack|show_trace\w*|sched_show_task|show_regs|",
    r"report_bug|fixup_bug|do_error_trap|do_trap|do_invalid_op|invalid_op|exc_\w+|asm_exc_\w+|",
    r"handle_bug|die|oops_\w+|__die\w*|no_context|__bad_area\w*|bad_area\w*|do_page_fault|",
    r"__do_page_fault|do_user_addr_fault|do_kern_addr_fault|page_fault|handle_page_fault|",
    r"do_general_protection|general_protection|do_divide_error|divide_error|",
    r"__warn\w*|warn_slowpath\w*|warn_alloc\w*|warn_bogus\w*|",
    r"panic|nmi_panic|bug_handler|arm64_\w*bug\w*|brk_handler|do_debug_exception|",
    r"do_mem_abort|dump_backtrace|walk_stackframe|unwind_backtrace|ret_from_exception|handle_exception|__do_kernel_fault|die_kernel_fault|",
    r"debug_object\w*|debug_check_no_\w+|debug_print_object|",
    r"lockdep\w*|__lockdep\w*|lock_acquire\w*|lock_release|__lock_acquire|lock_acquired|",
    r"lock_contended|mark_lock\w*|validate_chain|check_prev\w*|check_noncircular|",
    r"print_\w*lock\w*|print_usage_bug|valid_state|mark_usage|__lock_\w+|",
    r"lock_is_held\w*|lock_sock\w*|release_sock|__release_sock|",
    r"refcount_\w+|kref_\w+|",
    // printk and friends.
    r"_*printk\w*|vprintk\w*|dev_printk\w*|_?dev_(?:info|notice|warn|err|alert|crit|emerg)\w*|",
    r"__dynamic_\w*pr\w*|va_format|vsnprintf|snprintf|scnprintf|vscnprintf|kvasprintf|kasprintf|",
    r"console_unlock|console_flush_all|console_emit_next_record|",
    // Locking.
    r"_*raw_spin\w*|do_raw_\w+|_*raw_read\w*|_*raw_write\w*|spin_\w+|__spin\w*|queued_\w+|",
    r"native_queued\w+|mutex_\w+|__mutex_\w+|_mutex_\w+|rt_mutex\w*|__rt_mutex\w*|",
    r"down|down_\w+|__down\w*|up|up_\w+|__up\w*|rwsem_\w+|__rwsem\w*|",
    r"percpu_down\w+|percpu_up\w+|__percpu_down\w+|ww_mutex\w*|__ww_mutex\w*|",
    r"_*local_bh_enable\w*|local_bh_\w+|__local_bh\w*|",
    // Scheduling and waiting.
    r"_*schedule|__schedule\w*|schedule_(?:timeout|preempt|hrtimeout|idle)\w*|_*preempt_schedule\w*|io_schedule\w*|schedule_timeout\w*|",
    r"_*wait_for_completion\w*|__wait_for_common|wait_for_common\w*|do_wait_for_common|",
    r"_*wait_event\w*|prepare_to_wait\w*|finish_wait|__might_sleep|___might_sleep|",
    r"__might_resched|might_sleep|__might_fault|might_fault|__cond_resched\w*|_cond_resched|",
    // Allocation.
    r"_*kmalloc\w*|_*kzalloc\w*|kcalloc\w*|kvmalloc\w*|__kvmalloc\w*|kvzalloc\w*|kmemdup\w*|",
    r"kstrdup\w*|krealloc\w*|__krealloc|kmem_cache_\w+|__kmem_cache\w*|slab_\w+|__slab\w*|",
    r"___slab_alloc|allocate_slab|new_slab|alloc_pages\w*|__alloc_pages\w*|alloc_page\w*|",
    r"__get_free_pages|get_zeroed_page|folio_alloc\w*|__folio_alloc\w*|",
    r"kfree|kvfree|__kfree\w*|kfree_\w+|kvfree_\w+|__free_pages\w*|free_pages\w*|",
    r"vmalloc\w*|__vmalloc\w*|vzalloc\w*|",
    // String, memory and user copy helpers.
    r"mem(?:cpy|move|set|cmp|chr|dup|_cgroup_charge)\w*|__mem(?:cpy|move|set)\w*|",
    r"str(?:cmp|ncmp|cpy|ncpy|lcpy|scpy|len|nlen|chr|rchr|str|nstr|sep|cat|ncat|lcat)|",
    r"__str\w+|strncpy_from_user|strndup_user|memdup_user\w*|",
    r"_*copy_(?:to|from)_user\w*|_*copy_(?:to|from)_iter\w*|copy_page_(?:to|from)_iter\w*|",
    r"raw_copy_\w+|copy_user_\w+|copyin|copyout|_*get_user\w*|_*put_user\w*|",
    r"__list_\w+|list_\w+|hlist_\w+|__hlist_\w+|",
    r"_indirect_thunk_\w+|__x86_indirect_\w+|__x86_return_thunk|",
    // Work, timers and kthreads that only dispatch.
    r"kthread_stop|__flush_work|flush_work|__cancel_work\w*|cancel_work_sync|",
    r"cancel_delayed_work_sync|__flush_workqueue|flush_workqueue|drain_workqueue|",
    // Device, driver-core, sysfs and debug-object plumbing around the culprit.
    r"device_(?:add|del|unregister|destroy|release|for_each_child)|devres_release_all|hwrng_unregister|",
    r"sysfs_remove_\w+|__sysfs_remove\w*|sysfs_create_\w+|kobject_\w+|__kobject_\w+|",
    r"usb_kill_urb|usb_kill_anchored_urbs|usb_start_wait_urb|usb_\w+_msg|usb_submit_urb|usb_hcd_submit_urb|",
    r"rollback_registered\w*|unregister_netdevice\w*|unregister_netdev|",
    r"\w+_is_static_object|debug_\w+|",
    r"string|hex_string|pointer|number|widen_string|format_decode|",
    r"context_switch|__switch_to\w*|finish_task_switch\w*|osq_lock|",
    r"register_lock_class|look_up_lock_class|find_held_lock|hlock_class|",
    r"pcpu_\w*alloc\w*|__pcpu_\w+|",
    // Fault injection.
    r"should_fail\w*|fail_dump|should_failslab|",
    // Syscall entry and prefixes.
    r"entry_SYSCALL\w*|do_syscall_\w+|do_fast_syscall\w*|__do_fast_syscall\w*|",
    r"syscall_exit\w*|ret_from_fork\w*|",
    // Compiler-inserted calls.
    r"__stack_chk_fail|__fortify_\w+|fortify_\w+|__sanitizer_cov\w*|",
    // Queues, timers, trees, skb and other library helpers.
    r"_*queue_work\w*|queue_delayed_work\w*|__queue_delayed_work|_*call_rcu\w*|init_timer_key|_*del_timer\w*|_*timer_delete\w*|sk_stop_timer\w*|sk_reset_timer|_*timer_shutdown\w*|unlock_page|lock_page\w*|__lock_page\w*|",
    r"try_to_del_timer_sync|_*mod_timer|add_timer|_*rb_\w+|skb_\w*panic|skb_put|__skb_put|skb_push|__skb_push|skb_pull|__skb_pull|",
    r"create_object|kmemleak_\w+|sk_prot_alloc|pcpu_create_chunk|crc\d*\w*|console_trylock|",
    r"get_device_parent|device_remove_file\w*|tty_unregister_device|reacquire_held_locks|logic_\w+|",
    r"\w*vprintk\w*|\w*printk_emit|check_panic_on_warn|__seqprop\w*|ref_tracker_\w+|el1_\w*abort\w*|el1h_\w+|el0t_\w+|do_tag_\w+|",
    r"_*atomic_dec_and\w*|xas_\w+|lock_timer_base|stack_trace_\w+|arch_stack_walk|__phys_addr|folio_unlock|",
    r"dput|fast_dput|iput|iput_final|fput|__fput_sync|mark_buffer_dirty|__brelse|brelse|put_device|klist_\w+|_compound_head|",
    r"__folio_put|find_lock_entries|truncate_inode_pages\w*|_*try_to_del_timer_sync|insert_work|_*dev_printk\w*|el1_\w+|",
    r"_R\w*rust_begin_unwind|rust_begin_unwind|_R\w*panic\w*|\w*_trace_\w*|trace_\w+|\w+_trace|",
    r"\w*aes\w*_(?:en|de)crypt\w*|crypto_\w+|print_tainted|get_taint|add_taint|mark_held_locks|_*do_softirq\w*|handle_softirqs|irq_exit\w*|__irq_exit_rcu|\w*_rq_lock\w*|try_to_grab_pending|task_blocks_on_rt_mutex|ldsem_\w+|kernel_fpu_\w+|",
    r"__x86_indirect_thunk\w*",
    r")$"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn func(line: &str) -> Option<(String, bool)> {
        parse_frame(line).map(|f| (f.func, f.reliable))
    }

    #[test]
    fn reads_frames_in_every_format() {
        let f = |s: &str| Some((s.to_string(), true));
        assert_eq!(func(" kasan_report+0x1a/0x20"), f("kasan_report"));
        assert_eq!(
            func(" ? schedule+0x1a/0x20"),
            Some(("schedule".into(), false))
        );
        assert_eq!(
            func(" [<ffffffff81234567>] tcp_v4_rcv+0x1/0x2 net/ipv4/tcp.c:3"),
            f("tcp_v4_rcv")
        );
        assert_eq!(
            func("[<80b2f268>] (_raw_spin_unlock) from [<8016fb5c>] (x+0x68/0x104)"),
            f("_raw_spin_unlock")
        );
        assert_eq!(func(" ip6_xmit.isra.0+0x1/0x2 [ipv6]"), f("ip6_xmit"));
        assert_eq!(
            func(" do_thing include/linux/x.h:12 [inline]"),
            f("do_thing")
        );
        assert_eq!(func("Call Trace:"), None);
        assert_eq!(func("RIP: 0010:foo+0x1/0x2"), None);
        assert_eq!(func(" <A as B>::f+0x1/0x2"), f("<A as B>::f"));
    }

    #[test]
    fn knows_generic_helpers() {
        for generic in [
            "kasan_report",
            "__asan_load8",
            "_raw_spin_lock",
            "mutex_lock_nested",
            "printk",
            "memcpy",
            "kmalloc_trace",
            "__might_fault",
        ] {
            assert!(is_generic(generic), "{generic}");
        }
        for specific in [
            "tcp_v4_rcv",
            "ext4_evict_inode",
            "sys_futex",
            "synchronize_rcu",
        ] {
            assert!(!is_generic(specific), "{specific}");
        }
    }
}
