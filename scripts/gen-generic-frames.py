#!/usr/bin/env python3
"""Generates crates/report/data/generic-frames.txt: the kernel functions a
crash title never names, each with the class that makes it generic.

A crash title names the first frame of the code that called a helper (the
caller of memcpy, of mutex_lock, of kmalloc), so the parser must know which
functions are helpers. This script decides that from where a function is
defined in Linux's source (Debian's linux-source-6.1 tarball): a function is
generic when every definition of its name lies in a generic class below
(lib/ string helpers, kernel/locking, the allocators, sanitizer internals,
arch entry code...), drivers' and architectures' own copies of a core
helper's name aside. Definitions are found in C (functions, static inlines
in headers, functions that macros build from their arguments) and in
assembly (SYM_FUNC_START and friends). Classes are chosen from evidence in
syzkaller's console logs (../shared/testdata): what the expected titles
skip, and what they name; where a file holds both, a class says which
names it takes.

Output, sorted, one record per line:
    NAME CLASS        a generic function
    PREFIX* CLASS     a family: names PREFIX or PREFIX_... are generic
    PREFIX* -         a family of non-generic names inside a generic family
    !NAME             a non-generic name inside a generic family, or one
                      that looks like a variant of a generic name
    ~SUFFIX           a suffix that makes variants of a helper
A family is recorded when at least FAMILY_MIN names share the prefix and at
least FAMILY_PURITY of them are generic; it lets the parser judge names from
other kernel versions (kmalloc_node_noprof, __kmalloc_cache_...).

Usage: gen-generic-frames.py [--source TARBALL] [--tree DIR] [-o OUT]
Takes about 70 s on 2 cores, extraction of the tarball included; the
output depends only on the source and this script.
"""

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile

DEFAULT_TARBALL = "/usr/src/linux-source-6.1.tar.xz"
DEFAULT_OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..", "crates", "report", "data", "generic-frames.txt")

# Trees that are not the kernel (user-space and build tools, boot stubs,
# tests' helpers): their definitions neither make nor break a name.
NOT_KERNEL = re.compile(
    r"(?:^|/)(?:tools|samples|scripts|Documentation)/|^usr/|^arch/[^/]+/boot/"
    r"|/selftests?/|^arch/[^/]+/(?:purgatory|realmode|vdso|kernel/vdso)"
    r"|^arch/[^/]+/kvm/hyp/|^lib/vdso/|^arch/um/os-Linux/|^arch/um/include/shared/"
    r"|^drivers/firmware/efi/libstub/|^arch/[^/]+/decompress/|asm-offsets[^/]*\.c$"
    # Programs the build runs on the host to generate tables.
    r"|/(?:mkregtable|mktables|mkcpustr|mkpiggy|mktree|conmakehash|gen_crc(?:32|64)table)\.c$")

# Tests call helpers; their own names (kasan_test_...) say nothing about
# what the kernel's functions are, so their definitions are left out.
TESTS = re.compile(r"(?:^|/|_|-)(?:test|kunit|selftest)[^/]*\.[ch]$|torture[^/]*\.[ch]$"
                   r"|(?:_test|_kunit|-test)\.[ch]$|/kunit/")

A = r"^arch/[^/]+/"
INC = r"^include/linux/"
ASM = r"^(?:arch/[^/]+/include/asm|include/asm-generic)/"

# (class, path regex, name regex that must match or None, name regex that
# must not match or None). The first rule whose path and names match wins;
# a rule of class None says the function is titled (not generic).
# Why each class is generic is said above it; the evidence is the
# expected titles of ../shared/testdata/linux-reports.
RULES = [
    # Sanitizers find and print the bug; the caller has it. Files on the
    # check and report paths entirely; elsewhere only the names that carry
    # the sanitizer's prefix (KASAN's quarantine and kmemleak's object
    # lookup are allocator caches: a fault there is titled there).
    ("sanitizer", r"^mm/kasan/(?!quarantine)", None, None),
    ("sanitizer", r"^mm/kasan/quarantine\.c$", r"^_*kasan", None),
    ("sanitizer", r"^mm/kmsan/", None, None),
    ("sanitizer", r"^mm/kfence/", None, None),
    ("sanitizer", r"^kernel/kcsan/", None, None),
    ("sanitizer", r"^lib/ubsan\.[ch]$", None, None),
    ("sanitizer", r"^mm/kmemleak\.c$", r"kmemleak|^_*(?:create|delete)_object", None),
    ("sanitizer", r"^lib/debugobjects\.c$", r"debug|_is_static_object", None),
    ("sanitizer", r"^kernel/kcov\.c$", r"kcov|^__sanitizer_cov", None),
    ("sanitizer", r"^(?:lib/stackdepot|lib/ref_tracker|mm/page_owner|lib/fault-inject"
                  r"|lib/fault-inject-usercopy|mm/failslab|mm/debug|lib/smp_processor_id"
                  r"|kernel/stackleak)\.c$", None, None),
    # debugobjects' hooks in the objects' own files (timer_is_static_object).
    ("sanitizer", r".", r"_is_static_object$|_fixup_(?:init|activate|free|assert_init)$", None),
    ("sanitizer", INC + r"(?:kasan|kmsan|kcsan|kfence|kmemleak|kcov|instrumented|stackdepot|ref_tracker"
                  r"|fault-inject|debugobjects|kasan-checks|kmsan-checks|kcsan-checks"
                  r"|kasan-enabled|kasan-tags|page_owner|mmdebug|stackleak)\.h$", None, None),
    ("sanitizer", ASM + r"(?:kasan|kmsan|kfence|kcsan)\.h$", None, None),
    ("sanitizer", A + r"mm/kasan", None, None),

    # Oops, WARN and BUG machinery, panic, printk and stack dumping: they
    # print the crash. console_lock is a lock its callers take and is named.
    ("report", r"^lib/(?:dump_stack|bug|nmi_backtrace|show_mem|hexdump|vsprintf|kasprintf"
               r"|ratelimit|bust_spinlocks|seq_buf|dynamic_debug|errname)\.c$", None, None),
    ("report", r"^kernel/(?:panic|stacktrace|hung_task|watchdog|watchdog_hld)\.c$", None, None),
    ("report", r"^kernel/printk/", None, r"^console_(?:lock|trylock|device)$|register_console"),
    ("report", r"^kernel/rcu/tree_stall\.h$", None, None),
    ("report", INC + r"(?:printk|dev_printk|bug|ratelimit|ratelimit_types|stacktrace|panic"
               r"|debug_locks|nmi|dynamic_debug|once_lite)\.h$", None, None),
    ("report", ASM + r"(?:bug|stacktrace|unwind)\.h$", None, None),
    ("report", A + r"kernel/(?:dumpstack[^/]*|stacktrace|unwind[^/]*|return_address)\.c$",
     None, None),
    ("report", A + r"kernel/(?:process[^/]*|sysrq)\.c$", r"show_|dump_|^__switch_to", None),
    ("report", r"^drivers/base/core\.c$",
     r"printk|^_?dev_(?:emerg|alert|crit|err|warn|notice|info|dbg)", None),

    # Architecture entry, exceptions, traps, page faults and interrupt
    # dispatch run on behalf of the interrupted code. (Handlers of
    # impossible exceptions, bad_mode and the like, panic themselves and are
    # titled.)
    (None, A + r"kernel/traps[^/]*\.c$", r"^bad_", None),
    ("entry", A + r"entry/", None, None),
    ("entry", A + r"kernel/(?:entry[^/]*|traps[^/]*|irq[^/]*|idt|nmi|debug-monitors"
              r"|interrupt|exceptions[^/]*|head[^/]*|vectors|kprobes/core|probes/[^/]+"
              r"|fault|fpu/core|fpsimd|syscall|syscalls/[^/]*)\.[cSh]$",
     None, None),
    ("entry", A + r"mm/(?:fault|extable|abort[^/]*|pfault|fault_32|fault_64)\.[cS]$", None, None),
    ("entry", A + r"kernel/apic/apic\.c$", r"interrupt", None),
    ("entry", r"^kernel/softirq\.c$", r"softirq|irq_exit|local_bh|irq_enter|bh_enable"
              r"|tasklet_action_common", None),
    ("entry", r"^kernel/irq/(?:handle|chip|irqdesc)\.c$", r"^_*(?:generic_)?handle_", None),
    ("entry", INC + r"(?:irqflags|hardirq|interrupt|entry-common|irq_work)\.h$", None, None),
    ("entry", ASM + r"(?:irqflags|idtentry|irq_stack|traps|ptrace|syscall|entry-common"
              r"|exception|processor|paravirt[^/]*|special_insns|fpu/[^/]+)\.h$",
     None, None),

    # String, memory and user-copy helpers, copy-to-iterator helpers and
    # heap-object checks: they copy for the caller.
    ("string", r"^lib/(?:string|string_helpers|usercopy|strncpy_from_user|strnlen_user"
               r"|memcat_p|memweight|ctype|kstrtox|iomap_copy|checksum|ucs2_string)\.c$",
     None, None),
    ("string", r"^lib/iov_iter\.c$", r"copy|csum", None),
    ("string", r"^mm/(?:usercopy|maccess)\.c$|^lib/(?:logic_iomem|logic_pio|iomap)\.c$", None, None),
    ("string", A + r"mm/physaddr\.c$", None, None),
    ("string", r"^mm/util\.c$", r"dup", None),
    ("string", A + r"(?:lib|abiv\d)/", None, None),
    ("string", INC + r"(?:string|fortify-string|uaccess|ctype|kstrtox|highmem[^/]*"
               r"|instrumented|iov_iter)\.h$", None, None),
    ("string", INC + r"uio\.h$", r"copy|csum", None),
    ("string", ASM + r"(?:string[^/]*|uaccess[^/]*|word-at-a-time|checksum[^/]*|asm-uaccess"
               r"|extable|page[^/]*|sync_bitops|smap|io)\.h$", None, None),

    # Allocators: the slab, vmalloc, per-CPU and page allocators' entry
    # points and internals (the page allocator's boot-time setup and its
    # compaction hooks are titled where they fail).
    ("alloc", r"^mm/(?:slab|slub|slob|slab_common|vmalloc|mempool)\.[ch]$", None, None),
    ("alloc", r"^mm/page_alloc\.c$",
     r"alloc_pages|free_pages|get_page_from_freelist|rmqueue|prep_new_page|post_alloc_hook"
     r"|free_the_page|free_unref|free_one_page|free_pcp|pcppages|get_free_page|zeroed_page"
     r"|page_frag|compound_page|large_folio|fail_alloc_page|warn_alloc|check_new_page"
     r"|free_pages_prepare|_slowpath|alloc_flags|^__folio_alloc$|watermark|pfmemalloc"
     r"|fs_reclaim", r"^fs_reclaim_(?:acquire|release)$"),
    ("alloc", r"^mm/mempolicy\.c$", r"alloc_pages|folio_alloc|alloc_page_vma|alloc_page_interleave",
     None),
    ("alloc", r"^mm/percpu[^/]*\.c$", r"alloc|free|pcpu", None),
    ("alloc", r"^mm/util\.c$", r"alloc|free", None),
    ("alloc", r"^mm/nommu\.c$", r"alloc|free|^vmap|^vunmap", None),
    ("alloc", INC + r"(?:slab|slub_def|slab_def|gfp|vmalloc|percpu|mempool|kmemleak)\.h$",
     None, None),

    # Locks, lockdep, RCU read side, preemption and irq state: a lock is
    # taken for the caller.
    ("locking", r"^kernel/locking/", None, None),
    ("locking", r"^lib/(?:lockref|dec_and_lock|debug_locks|bucket_locks)\.c$", None, None),
    ("locking", INC + r"(?:spinlock[^/]*|rwlock[^/]*|mutex[^/]*|rwsem|seqlock|lockdep[^/]*"
                r"|local_lock[^/]*|percpu-rwsem|ww_mutex|bit_spinlock|osq_lock|rtmutex"
                r"|semaphore|lockref|preempt|bottom_half|rcupdate[^/]*|rcutree|rcutiny"
                r"|srcu[^/]*|rcu_sync|rcuwait|rculist[^/]*|seqlock_types)\.h$", None, None),
    ("locking", ASM + r"(?:qspinlock[^/]*|qrwlock[^/]*|spinlock[^/]*|rwlock[^/]*"
                r"|mcs_spinlock|ticket_spinlock|rwonce|preempt)\.h$", None, None),
    ("locking", r"^kernel/rcu/update\.c$", r"lock|lockdep", None),
    # The RCU and SRCU read sides' out-of-line lock and unlock (the bodies
    # of rcu_read_lock and srcu_read_lock).
    ("locking", r"^kernel/rcu/(?:tree_plugin\.h|srcutree\.c|srcutiny\.c)$",
     r"^_*s?rcu_read_(?:un)?lock(?:_nmisafe)?$", None),
    ("locking", r"^kernel/rcu/(?:tree|tiny)\.c$", r"^_*(?:call_rcu|kvfree_call_rcu|kfree_rcu)", None),
    ("locking", r"^net/core/sock\.c$", r"^_*(?:lock_sock|release_sock)", None),
    ("locking", r"^kernel/sched/(?:core\.c|sched\.h)$", r"rq_(?:un)?lock", None),

    # Sleeping, waiting and waking: wake-ups, completions, the scheduler's
    # entry points, sleeping with a timeout. Adding and removing a wait
    # queue entry is the caller's own bookkeeping and is titled.
    ("sched", r"^kernel/sched/(?:wait|wait_bit|swait)\.c$",
     r"wake|woken|prepare_to_wait|finish_wait|wait_on_bit|bit_wait|wait_event", None),
    ("sched", r"^kernel/sched/completion\.c$", None, None),
    ("sched", r"^kernel/sched/core\.c$",
     r"^_*(?:schedule$|schedule_(?:preempt|idle|user|timeout|hrtimeout|debug)|preempt_schedule"
     r"|might_sleep|might_resched|cond_resched|try_to_wake_up"
     r"|wake_up_(?:process|state|q)|default_wake_function|io_schedule|yield|context_switch"
     r"|finish_task_switch|schedule_bug|preempt_count_(?:add|sub))", None),
    ("sched", r"^kernel/time/timer\.c$", r"^(?:schedule_timeout|msleep|usleep_range|process_timeout)",
     None),
    ("sched", r"^kernel/time/hrtimer\.c$", r"^schedule_hrtimeout", None),
    ("sched", r"^mm/memory\.c$", r"might_fault", None),
    ("sched", INC + r"(?:wait|wait_bit|completion|swait|sched)\.h$", None, None),

    # Atomics, bit operations, bitmaps, barriers and compiler helpers.
    ("atomic", INC + r"atomic[^/]*\.h$|" + INC + r"atomic/", None, None),
    ("atomic", ASM + r"(?:atomic[^/]*|cmpxchg[^/]*|bitops[^/]*|bitops/[^/]+|barrier|percpu"
               r"|local[^/]*|rmwcc|bitsperlong|alternative[^/]*|jump_label|static_call"
               r"|xor|archrandom)\.h$", None, None),
    ("atomic", INC + r"(?:bitops|bitmap|find|cpumask|nodemask|compiler[^/]*|bits|count_zeros"
               r"|log2|minmax|overflow|math[^/]*|kernel|build_bug|err|jump_label[^/]*"
               r"|static_call[^/]*|instruction_pointer|percpu-defs|bitfield|refcount|kref"
               r"|percpu-refcount|percpu_counter|jiffies|ktime|time[^/]*|cache|align"
               r"|unaligned/[^/]+)\.h$", None, None),
    ("atomic", r"^lib/(?:find_bit|bitmap|hweight|cpumask|refcount|atomic64|percpu-refcount"
               r"|percpu_counter|div64|math/[^/]+|clz_ctz|muldi3|ashldi3|ashrdi3|lshrdi3"
               r"|cmpdi2|ucmpdi2)\.c$", None, None),

    # Lists, trees, hash tables, ID allocators, arrays and queues: a lookup
    # or an insertion is made for the caller. (The timer queue and the maple
    # tree are titled: they are users of the trees, with state of their own.)
    ("collections", INC + r"(?:list|llist|list_bl|list_nulls|plist|rbtree[^/]*|rhashtable[^/]*"
                    r"|hashtable|hash|jhash|idr|xarray|radix-tree|kfifo|circ_buf|sort|bsearch"
                    r"|klist|min_heap|interval_tree[^/]*|btree[^/]*|llist_api|generic-radix-tree"
                    r"|assoc_array[^/]*|sbitmap|scatterlist|crc[^/]*|siphash|xxhash)\.h$",
     None, None),
    ("collections", r"^lib/(?:list_debug|llist|plist|rbtree|rhashtable|idr|xarray|radix-tree|kfifo"
                    r"|sort|list_sort|bsearch|klist|interval_tree|btree|assoc_array|sbitmap"
                    r"|generic-radix-tree|scatterlist|sg_split|sg_pool|crc[^/]*|libcrc32c"
                    r"|siphash|xxhash|bitrev|hashtable)\.c$", None, None),

    # Work queues, kthreads and timers are driven through an API that only
    # queues, flushes, cancels or destroys; the worker loop that runs the
    # work and the timer softirq that expires timers are titled.
    ("workqueue", r"^kernel/workqueue\.c$", None,
     r"^(?:process_one_work|worker_thread|rescuer_thread|process_scheduled_works)$"),
    ("workqueue", INC + r"(?:workqueue|kthread|timer|hrtimer|completion)\.h$", None, None),
    ("workqueue", r"^kernel/kthread\.c$",
     r"^_*kthread_(?:stop|park|unpark|flush|queue|cancel|destroy|insert|mod_delayed|create"
     r"|should_stop|bind|use_mm|unuse_mm)|^kthread_create", None),
    ("workqueue", r"^kernel/time/timer\.c$",
     r"^_*(?:mod_timer|add_timer|del_timer|try_to_del_timer|init_timer|timer_delete"
     r"|timer_shutdown|timer_reduce|lock_timer_base|destroy_timer_on_stack|detach_if_pending"
     r"|internal_add_timer|detach_timer|debug_timer|debug_(?:activate|deactivate|init|assert_init)"
     r"|do_init_timer|timer_fixup)", None),
    ("workqueue", r"^net/core/sock\.c$", r"^sk_(?:stop|reset)_timer", None),
    ("workqueue", r"^kernel/time/hrtimer\.c$",
     r"^_*hrtimer_(?:start|cancel|try_to_cancel|init|forward|active)|^__hrtimer_start", None),

    # Reference and link counts, page and buffer locks of the VFS and the
    # page cache: they act on the caller's object (the final __fput, which
    # runs the file's release, is titled).
    ("refs", r"^fs/inode\.c$", r"_nlink$|^iput|^ihold$", None),
    ("refs", r"^fs/dcache\.c$", r"^(?:fast_)?dput$|^dget", None),
    ("refs", r"^fs/file_table\.c$", r"^(?:fput|fput_many|__fput_sync)$", None),
    ("refs", r"^fs/buffer\.c$", r"brelse|^mark_buffer_dirty|^_*(?:un)?lock_buffer|^put_bh", None),
    ("refs", r"^mm/filemap\.c$",
     r"^(?:unlock_page|folio_unlock|__folio_lock[^/]*|folio_wait_bit[^/]*|__lock_page[^/]*"
     r"|put_and_wait_on_page_locked|wait_on_page_bit[^/]*|folio_wake_bit|wake_up_page_bit"
     r"|page_endio|folio_end_writeback|end_page_writeback)$", None),
    ("refs", r"^mm/swap\.c$", r"^(?:__folio_put[^/]*|__put_page|put_pages_list|release_pages"
                              r"|folios_put|__put_single_page|__put_compound_page)$", None),
    ("refs", r"^mm/folio-compat\.c$|^mm/truncate\.c$", None, None),
    ("refs", r"^mm/filemap\.c$", r"^find_(?:lock|get)_entries$", None),
    ("refs", r"^(?:net/core/skbuff\.c|include/linux/skbuff\.h)$",
     r"^_*(?:kfree_skb|consume_skb|skb_unref)", None),

    # The bounds-checked edits of a socket buffer panic for the caller that
    # overran it.
    ("refs", r"^(?:net/core/skbuff\.c|include/linux/skbuff\.h)$",
     r"^_*skb_(?:put|push|pull|panic|over_panic|under_panic)$", None),

    # Registering and unregistering devices with the driver core or a
    # subsystem core, kobjects and sysfs files, and the USB core's URB
    # traffic are done for the driver that asked (a lookup such as
    # device_find_child is titled).
    ("driver-core", r"^(?:lib/kobject|lib/kobject_uevent|drivers/base/devres)\.c$|^fs/sysfs/",
     None, None),
    ("driver-core", INC + r"(?:sysfs|kobject|kobject_ns|klist|device|device/[^/]+)\.h$", None, None),
    ("driver-core", r"^drivers/base/",
     r"(?:^|_)(?:un)?register|^_*device_(?:add|del|destroy|release|remove|create|initialize"
     r"|unregister|for_each)|^(?:put|get)_device$|^get_device_parent$|^klist_", None),
    ("driver-core", r"^net/core/dev\.c$", r"unregister|rollback_registered", None),
    ("driver-core", r"^drivers/tty/tty_io\.c$|^drivers/char/hw_random/core\.c$",
     r"(?:^|_)(?:un)?register", None),
    ("driver-core", r"^drivers/usb/core/(?:urb|message|hcd)\.c$", None, None),

    # Ciphers and the crypto API work on the caller's buffers (AF_ALG's
    # sockets are callers).
    ("crypto", r"^crypto/(?!algif_|af_alg|crypto_user|testmgr|tcrypt)", None, None),
    ("crypto", r"^lib/crypto/|" + A + r"crypto/", None, None),
    ("crypto", r"^include/crypto/", None, None),

    # Tracing hooks and tracepoints fire in the middle of the caller.
    ("trace", r"^kernel/trace/", None, None),
    ("trace", r"^kernel/tracepoint\.c$", None, None),
    ("trace", INC + r"(?:trace[^/]*|ftrace[^/]*|tracepoint[^/]*|kprobes|perf_event)\.h$", r"trace",
     None),
]

# Suffixes that make a variant of the same helper: memory-profiling
# wrappers (`_noprof`, newer kernels), older kernels' spellings
# (`__kmalloc_track_caller`, `alloc_pages_current`,
# `refcount_sub_and_test_checked`). The parser strips them from names it
# does not know, and tries other leading underscores (`printk` is `_printk`
# in 6.1); names of 6.1 those rules would misjudge are recorded as !NAME.
VARIANT_SUFFIXES = ["_noprof", "_nodemask", "_noabort", "_nocheck", "_notrace", "_checked",
                    "_current", "_memcg", "_track_caller", "_trace", "_order"]

# Families: at least this many names share the prefix (more for a one-word
# prefix, which says less about what a function does)...
FAMILY_MIN = 6
FAMILY_MIN_ONE_WORD = 8
# ...and at least this share of them is generic.
FAMILY_PURITY = 0.85

COMPILED = [(c, re.compile(p), n and re.compile(n), x and re.compile(x)) for c, p, n, x in RULES]

# --- Reading C -------------------------------------------------------------

STRIP = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
LINE_CONT = re.compile(r"\\\n")
PREPROC = re.compile(r"(?m)^[ \t]*#[^\n]*")
DEFINE = re.compile(r"(?m)^[ \t]*#[ \t]*define[ \t]+(\w+)\(([^)]*)\)(.*)$")
PARENS = r"\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)"
ATTRS = r"(?:\s*(?:__\w+|noinline|notrace|asmlinkage|__attribute__)\s*(?:\(\([^;{}]*?\)\)|" + PARENS + r")?)*"
# A name and its parenthesised group in a declaration head.
NAMED_GROUP = re.compile(r"([A-Za-z_]\w*)\s*(" + PARENS + r")")
BOUNDARY = re.compile(r"[{};]")
# A macro call at the start of a line: a candidate function generator.
CALL = re.compile(r"(?m)^([A-Z_][A-Z0-9_]*)\s*(" + PARENS + r")")
# A function definition in a macro body whose name is built from parameters.
TEMPLATE = re.compile(r"(?:^|[\s*)])(\w+(?:\s*##\s*\w+)*)\s*" + PARENS + ATTRS
                      + r"\s*\{")
ASM_SYM = re.compile(r"(?m)^\s*(?:SYM_(?:FUNC|CODE|INNER_LABEL|TYPED_FUNC)_START(?:_\w+)?"
                     r"|ENTRY|GLOBAL|_GLOBAL|_GLOBAL_TOC|SYM_FUNC_START_WEAK)\(\s*(\w+)")
KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "typeof", "__typeof__",
            "do", "else", "case", "defined", "__attribute__", "asm", "__asm__", "volatile"}


def split_args(text):
    """The top-level comma-separated arguments of a parenthesised list."""
    inner, depth, cur, args = text[1:-1], 0, [], []
    for ch in inner:
        if ch == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
            continue
        depth += ch in "([{"
        depth -= ch in ")]}"
        cur.append(ch)
    args.append("".join(cur).strip())
    return args


def macro_templates(body, params):
    """Function names a macro body defines, as lists of tokens (a token is a
    parameter index or literal text), when built from the parameters."""
    templates = []
    for m in TEMPLATE.finditer(body):
        tokens = [t.strip() for t in m.group(1).split("##")]
        if len(tokens) == 1 and tokens[0] not in params:
            continue
        if tokens[0] in KEYWORDS:
            continue
        templates.append([params.index(t) if t in params else t for t in tokens])
    # Calls of other macros inside the body: expanded later, if generators.
    calls = [(m.group(1), split_args(m.group(2)))
             for m in re.finditer(r"\b([A-Z_][A-Z0-9_]*)\s*(" + PARENS + r")", body)]
    return templates, calls


def scan(path_rel):
    """Function names defined in one file, its function-generating macros
    and its top-level macro calls."""
    path, rel = path_rel
    try:
        with open(path, "rb") as f:
            src = f.read().decode("latin-1")
    except OSError:
        return rel, [], [], []
    if rel.endswith(".S"):
        return rel, ASM_SYM.findall(src), [], []
    src = STRIP.sub(" ", src)
    src = LINE_CONT.sub(" ", src)
    macros = []
    for m in DEFINE.finditer(src):
        params = [p.strip() for p in m.group(2).split(",")]
        if "##" in m.group(3) or "{" in m.group(3):
            templates, calls = macro_templates(m.group(3), params)
            if templates or calls:
                macros.append((m.group(1), params, templates, calls))
    code = PREPROC.sub("", src)
    names = list(function_names(code))
    calls = [(m.group(1), split_args(m.group(2))) for m in CALL.finditer(code)]
    return rel, names, macros, calls


def function_names(code):
    """Names of the functions defined in preprocessed C: at brace depth 0, a
    `{` after a head whose parameter list is the last group of the head."""
    depth, head_start = 0, 0
    for m in BOUNDARY.finditer(code):
        ch = m.group(0)
        if depth == 0:
            if ch == "{":
                name = defined_name(code[max(head_start, m.start() - 2000):m.start()])
                if name:
                    yield name
                depth = 1
            else:
                head_start = m.end()
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                head_start = m.end()


def defined_name(head):
    """The function a declaration head defines, if it is a definition."""
    if "=" in head.replace("==", ""):
        return None
    for m in NAMED_GROUP.finditer(head):
        name, group = m.group(1), m.group(2)[1:-1].strip()
        if name in KEYWORDS or name.isupper():
            continue
        # A parameter list, not an attribute's argument: empty, void, or
        # typed names ("int x", "struct s *p", "...").
        if group == "" or group == "void" or re.search(r"[\s*,.]", group):
            rest = head[m.end():]
            # Only attributes may follow the parameters.
            if re.fullmatch(r"(?:\s*(?:__\w+|noinline|notrace|asmlinkage|__attribute__|"
                            r"const|volatile|throw)\s*(?:" + PARENS + r")?)*\s*", rest):
                return name
    return None


def expand(template, args):
    out = []
    for t in template:
        if isinstance(t, int):
            if t >= len(args) or not re.fullmatch(r"\w+", args[t] or ""):
                return None
            out.append(args[t])
        else:
            out.append(t)
    name = "".join(out)
    return name if re.fullmatch(r"[A-Za-z_]\w*", name) else None


def generated(macro, args, macros, depth=0):
    """Names a call of `macro` with `args` defines, following nested calls."""
    names = []
    for params, templates, calls in macros.get(macro, [])[:4]:
        for t in templates:
            n = expand(t, args)
            if n:
                names.append(n)
        if depth < 3:
            for inner, inner_args in calls:
                if inner not in macros:
                    continue
                bound = [args[params.index(a)] if a in params and params.index(a) < len(args)
                         else a for a in inner_args]
                names.extend(generated(inner, bound, macros, depth + 1))
    return names


# --- Classifying -----------------------------------------------------------

def classify(rel, name):
    for cls, path_re, name_re, not_re in COMPILED:
        if path_re.search(rel) and (name_re is None or name_re.search(name)) \
                and (not_re is None or not not_re.search(name)):
            return cls
    return None


def source_files(root):
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for fn in sorted(files):
            if fn.endswith((".c", ".h", ".S")):
                path = os.path.join(dirpath, fn)
                rel = os.path.relpath(path, root)
                if not NOT_KERNEL.search(rel) and not TESTS.search(rel):
                    yield path, rel


def definitions(root, jobs):
    """(name, file) for every function definition in the tree."""
    files = list(source_files(root))
    with multiprocessing.Pool(jobs) as pool:
        results = pool.map(scan, files, chunksize=64)
    macros, defs, calls = {}, [], []
    for rel, names, file_macros, file_calls in results:
        defs.extend((n, rel) for n in names)
        for name, params, templates, inner in file_macros:
            macros.setdefault(name, []).append((params, templates, inner))
        calls.extend((rel, m, a) for m, a in file_calls)
    for rel, macro, args in calls:
        if macro in macros:
            defs.extend((n, rel) for n in generated(macro, args, macros))
    return defs


def prefixes(name):
    """`__alloc_pages_bulk` -> `__alloc`, `__alloc_pages`."""
    lead = len(name) - len(name.lstrip("_"))
    parts = name[lead:].split("_")
    out = []
    for i in range(1, len(parts)):
        p = name[:lead] + "_".join(parts[:i])
        if parts[i - 1] and parts[i] and sum(c.isalpha() for c in p) >= 3:
            out.append(p)
    return out


def verdict(defs):
    """The class of a name from all its (file, class) definitions: generic
    when every definition is, or when the others are drivers',
    architectures' or decompressors' own copies (a static vsnprintf in
    ACPICA, crc16 in a driver, memmove in lib/decompress_unxz.c) of a
    helper the core really defines (not only a header stub)."""
    classes = [c for _, c in defs if c]
    if len(classes) == len(defs):
        return classes[0]
    # The decompressors carry their own memmove and friends too.
    copies = all(c or re.match(r"(?:drivers|sound|arch)/|lib/decompress_", rel) for rel, c in defs)
    real = any(c and not rel.startswith("include/") for rel, c in defs)
    return classes[0] if copies and real else None


def variant_generic(name, generic, depth=0):
    """Whether the parser's rules for unknown names would find `name` a
    variant of a generic helper (see VARIANT_SUFFIXES)."""
    for suffix in VARIANT_SUFFIXES:
        base = name[:-len(suffix)] if name.endswith(suffix) else ""
        if base and (base in generic or (depth < 3 and variant_generic(base, generic, depth + 1))):
            return True
    bare = name.lstrip("_")
    return any("_" * n + bare in generic for n in range(4) if "_" * n + bare != name)


def records(defs):
    """The output records for all (name, file) definitions."""
    classes = {}
    for name, rel in sorted(set(defs)):
        classes.setdefault(name, []).append((rel, classify(rel, name)))
    generic = {n: c for n, c in ((n, verdict(d)) for n, d in classes.items()) if c}
    members = {}
    for name in classes:
        for p in prefixes(name):
            members.setdefault(p, []).append(name)
    families = {}
    for p, names in members.items():
        gen = sorted(generic[n] for n in names if n in generic)
        least = FAMILY_MIN if "_" in p.strip("_") else FAMILY_MIN_ONE_WORD
        if len(gen) >= least and len(gen) >= FAMILY_PURITY * len(names):
            # The most common class; ties go to the first in name order.
            families[p] = max(sorted(set(gen)), key=gen.count)
    # Outermost families only: inner ones with the same verdict add nothing.
    outer = {p: c for p, c in families.items() if not any(q in families for q in prefixes(p))}
    # Inside a generic family, sub-families without a generic name are
    # recorded as not generic (outermost first), so that new names there
    # are not taken for helpers.
    negative = set()
    for p in sorted(members, key=len):
        names = members[p]
        inside = any(q in outer for q in prefixes(p))
        if (inside and len(names) >= FAMILY_MIN and not any(n in generic for n in names)
                and not any(q in negative for q in prefixes(p))):
            negative.add(p)
    lines = [f"{p}* {c}" for p, c in outer.items()] + [f"{p}* -" for p in negative]
    lines += [f"~{s}" for s in VARIANT_SUFFIXES]
    for name in classes:
        pre = prefixes(name)
        in_family = any(q in outer for q in pre) and not any(q in negative for q in pre)
        if name in generic and not in_family:
            lines.append(f"{name} {generic[name]}")
        elif name not in generic and (in_family or variant_generic(name, generic)):
            lines.append(f"!{name}")
    return sorted(set(lines), key=lambda l: (l.lstrip("!"), l))


def extract(tarball, into):
    # Only sources, and not the trees NOT_KERNEL leaves out anyway.
    excluded = [f"--exclude=*/{d}/*" for d in ("Documentation", "tools", "samples", "scripts")]
    subprocess.run(["tar", "-xJf", tarball, "-C", into, "--wildcards", *excluded,
                    "*.c", "*.h", "*.S"], check=True)
    tops = [d for d in os.listdir(into) if os.path.isdir(os.path.join(into, d))]
    return os.path.join(into, tops[0]) if len(tops) == 1 else into


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", default=DEFAULT_TARBALL, help="Linux source tarball")
    ap.add_argument("--tree", help="an already extracted source tree (skips extraction)")
    ap.add_argument("-o", "--out", default=DEFAULT_OUT)
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="generic-frames-") as tmp:
        if args.tree:
            root = args.tree
        else:
            if not os.path.exists(args.source):
                sys.exit(f"{args.source} is missing: install linux-source-6.1 (scripts/deps.sh)")
            root = extract(args.source, tmp)
        lines = records(definitions(root, args.jobs))
    header = [
        "# Kernel functions a crash title never names, and why (their class).",
        "# Generated by scripts/gen-generic-frames.py from " + os.path.basename(args.source)
        + "; do not edit. Check: scripts/check-generic-frames.sh",
        "# NAME CLASS | PREFIX* CLASS (family) | PREFIX* - (non-generic family) | !NAME (not generic)",
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(header + lines) + "\n")
    print(f"{args.out}: {len(lines)} records", file=sys.stderr)


if __name__ == "__main__":
    main()
