//! The source file most likely to blame for a symbolized report: the file of
//! the first frame of the crash stack that is neither a generic helper nor in
//! generic code (headers, libraries, core infrastructure).

use crate::frames::{is_generic, parse_frame};
use regex::Regex;
use std::sync::OnceLock;

/// The guilty source file of a symbolized report, skipping generic code.
pub fn guilty_file(report_text: &str) -> Option<String> {
    let start = crate::oops::parse(report_text.as_bytes())
        .first()
        .map_or(0, |r| r.start);
    let text = &report_text[start.min(report_text.len())..];
    let mut stack_started = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if is_stack_end(trimmed) && stack_started {
            break;
        }
        let Some((func, file)) = frame_and_file(trimmed) else {
            continue;
        };
        stack_started = true;
        if !is_generic(&func) && !is_generic_file(&file) {
            return Some(file);
        }
    }
    None
}

/// Sections after the crash stack (allocation/free stacks, lock lists).
fn is_stack_end(line: &str) -> bool {
    [
        "Allocated by",
        "Freed by",
        "The buggy address",
        "Memory state",
        "Uninit was",
        "Modules linked in",
    ]
    .iter()
    .any(|p| line.starts_with(p))
}

/// The function and source file of a symbolized frame or PC line.
fn frame_and_file(line: &str) -> Option<(String, String)> {
    let line = ["RIP: ", "IP: ", "pc : ", "PC is at ", "EIP: ", "epc : "]
        .iter()
        .find_map(|p| line.strip_prefix(p))
        .map_or(line, |rest| {
            rest.split_once(':')
                .filter(|(seg, _)| seg.len() <= 4 && seg.bytes().all(|c| c.is_ascii_hexdigit()))
                .map_or(rest, |(_, r)| r)
        });
    let frame = parse_frame(line)?;
    if !frame.reliable {
        return None;
    }
    let file = line.split_whitespace().find_map(source_path)?;
    Some((frame.func, file))
}

/// `net/core/sock.c:425` -> `net/core/sock.c`.
fn source_path(word: &str) -> Option<String> {
    let (path, line) = word.rsplit_once(':')?;
    let line = line.split(':').next().unwrap_or(line);
    if line.is_empty() || !line.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let path = path.trim_start_matches("./");
    let ext_ok = [".c", ".h", ".S", ".rs"].iter().any(|e| path.ends_with(e));
    (ext_ok && path.contains('/')).then(|| path.to_string())
}

/// Files of code that every crash passes through.
fn is_generic_file(file: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(GENERIC_FILES).unwrap_or_else(|e| panic!("generic files: {e}")))
        .is_match(file)
}

const GENERIC_FILES: &str = concat!(
    r"^(?:",
    r"include/|lib/|mm/(?:kasan|kmsan|kfence|slab|slub|page_alloc|util|vmalloc|usercopy|memory|filemap|percpu|mempool|kmemleak)|",
    r"kernel/(?:locking|sched|time|softirq|workqueue|kthread|irq|rcu|printk|panic|exit|fork|signal|stacktrace|task_work|entry)|",
    r"kernel/(?:locking|trace)/|arch/[^/]+/(?:entry|lib|mm/fault|kernel/(?:entry|irq|apic|traps_|dumpstack|unwind|stacktrace|process|head))|",
    r"arch/[^/]+/include/|net/core/(?:sock|skbuff|dev|datagram|stream|flow_dissector|net_namespace_helpers)\.c|net/socket\.c|",
    r"fs/(?:read_write|open|ioctl|namei|file_table|file|splice|sync|super|namespace|d_path|dcache|inode|fs_context)\.c|",
    r"drivers/base/|block/(?:blk-core|blk-mq)\.c|security/(?:security|selinux/hooks)\.c|ipc/util\.c|crypto/api\.c|",
    r"init/|virt/lib/|drivers/usb/core/|mm/folio-compat\.c|fs/buffer\.c|fs/fs-writeback\.c|arch/[^/]+/kernel/(?:kvm|debug-monitors)\.c",
    r")"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_headers_and_core_code() {
        let report = "kernel BUG at ./include/linux/skbuff.h:2389!\n\
            RIP: 0010:skb_set_owner_r include/linux/skbuff.h:2389 [inline]\n\
            RIP: 0010:__sock_queue_rcv_skb+0x8c0/0xda0 net/core/sock.c:425\n\
            Call Trace:\n \
            sock_queue_rcv_skb+0x3a/0x50 net/core/sock.c:451\n \
            llc_sap_state_process+0x3e3/0x4e0 net/llc/llc_sap.c:220\n";
        assert_eq!(guilty_file(report).as_deref(), Some("net/llc/llc_sap.c"));
        assert_eq!(guilty_file("no report here"), None);
    }
}
