#!/usr/bin/env python3
"""Regenerates tests/kernel/patches/ (kept for maintenance; the scenario
script only needs git). Usage, from a repository made by make-scenario.sh:

    git -C REPO checkout -q -B master v6.1 && git -C REPO tag -d scenario-bad
    python3 tests/kernel/gen-patches.py REPO
    git -C REPO format-patch -q --no-signature -o tests/kernel/patches v6.1..master

It makes the 29 commits with exact string edits (an edit whose text is not
found stops it) and tags commit 21 scenario-bad."""
import os, subprocess, sys

repo = sys.argv[1]
os.chdir(repo)

P = {
    "jane": ("Jane Developer", "jane.developer@scenario.example.org"),
    "rob": ("Rob Reviewer", "rob.reviewer@scenario.example.org"),
    "mia": ("Mia Maintainer", "mia.maintainer@scenario.example.org"),
    "doc": ("Dora Writer", "dora.writer@scenario.example.org"),
    "fay": ("Fay Filesystems", "fay.filesystems@scenario.example.org"),
    "moe": ("Moe Memory", "moe.memory@scenario.example.org"),
}
n = [0]

def sob(*who):
    return "\n".join(f"Signed-off-by: {P[w][0]} <{P[w][1]}>" for w in who)

def edit(path, old, new, count=1):
    text = open(path).read()
    found = text.count(old)
    assert found == count, f"{path}: {old!r} found {found} times"
    open(path, "w").write(text.replace(old, new))

def append(path, text):
    with open(path, "a") as f:
        f.write(text)

def commit(author, message):
    n[0] += 1
    day, hour = divmod(9 + 3 * n[0], 24)
    date = f"2023-01-{2 + day:02d}T{hour:02d}:00:00Z"
    env = dict(os.environ, GIT_AUTHOR_NAME=P[author][0], GIT_AUTHOR_EMAIL=P[author][1],
               GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date,
               GIT_COMMITTER_NAME="Scenario Committer",
               GIT_COMMITTER_EMAIL="committer@scenario.example.org")
    subprocess.run(["git", "commit", "-q", "-a", "-m", message], env=env, check=True)
    if message.startswith("Documentation"):
        pass

def add(path, text):
    open(path, "w").write(text)
    subprocess.run(["git", "add", path], check=True)

SYSCTL = "Documentation/admin-guide/sysctl/kernel.rst"
SCRATCH_DOC = "Documentation/userspace-api/prctl-scratch.rst"

# 01 docs-only
edit(SYSCTL, "Calls panic() in the WARN() path when set to 1.",
     "Calls panic() in the WARN() path when set to 1.  It is 0 by default.")
commit("doc", "docs: sysctl/kernel: say that panic_on_warn is off by default\n\n"
       "The table below says it, but readers skimming the first sentence\nmiss it.\n\n" + sob("doc"))

# 02 code: the feature
edit("include/uapi/linux/prctl.h", "#endif /* _LINUX_PRCTL_H */",
     "/* A value kept by the kernel for user space, e.g. to test prctl plumbing */\n"
     "#define PR_SET_SCRATCH\t\t0x53435231\n#define PR_GET_SCRATCH\t\t0x53435232\n\n"
     "#endif /* _LINUX_PRCTL_H */")
edit("kernel/sys.c", "SYSCALL_DEFINE5(prctl, int, option,",
     "/* The value set by PR_SET_SCRATCH. */\nstatic unsigned long prctl_scratch;\n\n"
     "SYSCALL_DEFINE5(prctl, int, option,")
edit("kernel/sys.c", "\tcase PR_SET_VMA:\n\t\terror = prctl_set_vma(arg2, arg3, arg4, arg5);\n\t\tbreak;\n",
     "\tcase PR_SET_VMA:\n\t\terror = prctl_set_vma(arg2, arg3, arg4, arg5);\n\t\tbreak;\n"
     "\tcase PR_SET_SCRATCH:\n\t\tif (arg3 || arg4 || arg5)\n\t\t\treturn -EINVAL;\n"
     "\t\tWRITE_ONCE(prctl_scratch, arg2);\n\t\tbreak;\n"
     "\tcase PR_GET_SCRATCH:\n\t\tif (arg3 || arg4 || arg5)\n\t\t\treturn -EINVAL;\n"
     "\t\terror = put_user(READ_ONCE(prctl_scratch),\n\t\t\t\t (unsigned long __user *)arg2);\n\t\tbreak;\n")
commit("mia", "prctl: add PR_SET_SCRATCH and PR_GET_SCRATCH\n\n"
       "Test suites for prctl() wrappers need an option without side effects.\n"
       "PR_SET_SCRATCH stores one value in the kernel and PR_GET_SCRATCH reads\nit back.\n\n"
       + sob("mia"))

# 03 docs-only
add(SCRATCH_DOC, "=======================\nThe prctl scratch value\n=======================\n\n"
    "PR_SET_SCRATCH stores an unsigned long in the kernel; PR_GET_SCRATCH\n"
    "copies it to the address given as second argument.  The other\n"
    "arguments must be zero.\n")
edit("Documentation/userspace-api/index.rst", "   no_new_privs\n", "   no_new_privs\n   prctl-scratch\n")
commit("doc", "Documentation: userspace-api: describe the prctl scratch value\n\n" + sob("doc", "mia"))

# 04 code, unrelated
edit("init/main.c", 'pr_info("Run %s as init process\\n", init_filename);',
     'pr_info("Run %s as init process (pid 1)\\n", init_filename);')
commit("moe", "init: say that the init process runs as pid 1\n\n"
       "People reading boot logs ask which process the message is about.\n\n" + sob("moe"))

# 05 code: the unrelated crash
edit("fs/read_write.c", "static off_t ksys_lseek(unsigned int fd, off_t offset, unsigned int whence)\n",
     "static noinline bool lseek_check_whence(unsigned int whence)\n{\n"
     "\t/* vfs_llseek() implementations only know SEEK_SET..SEEK_MAX. */\n"
     "\treturn !WARN_ON(whence > SEEK_MAX);\n}\n\n"
     "static off_t ksys_lseek(unsigned int fd, off_t offset, unsigned int whence)\n")
edit("fs/read_write.c", "\tretval = -EINVAL;\n\tif (whence <= SEEK_MAX) {\n\t\tloff_t res = vfs_llseek(f.file, offset, whence);",
     "\tretval = -EINVAL;\n\tif (lseek_check_whence(whence)) {\n\t\tloff_t res = vfs_llseek(f.file, offset, whence);")
commit("fay", "fs: read_write: check the lseek whence in a helper\n\n"
       "A helper documents what the file systems' llseek methods expect.\n\n" + sob("fay"))

# 06 docs-only
edit(SYSCTL, "Calls panic() in the WARN() path when set to 1.  It is 0 by default.",
     "Calls panic() in the WARN() path when set to 1.  It is 0 by default,\nand fuzzers usually set it to 1.")
commit("doc", "docs: sysctl/kernel: mention fuzzers in panic_on_warn\n\n" + sob("doc"))

# 07 code, unrelated
edit("mm/mmap.c", "uses deprecated remap_file_pages() syscall. See Documentation/mm/remap_file_pages.rst.\\n",
     "uses the deprecated remap_file_pages() syscall. See Documentation/mm/remap_file_pages.rst.\\n")
commit("moe", "mm: mmap: fix the grammar of the remap_file_pages() warning\n\n" + sob("moe"))

# 08 code: the feature, range check
edit("kernel/sys.c", "/* The value set by PR_SET_SCRATCH. */\n",
     "/* The value set by PR_SET_SCRATCH; it must fit in 32 bits. */\n"
     "#define PRCTL_SCRATCH_LIMIT (1UL << 32)\n")
edit("kernel/sys.c", "\t\tif (arg3 || arg4 || arg5)\n\t\t\treturn -EINVAL;\n\t\tWRITE_ONCE(prctl_scratch, arg2);",
     "\t\tif (arg3 || arg4 || arg5)\n\t\t\treturn -EINVAL;\n"
     "\t\tif (arg2 >= PRCTL_SCRATCH_LIMIT)\n\t\t\treturn -EINVAL;\n\t\tWRITE_ONCE(prctl_scratch, arg2);")
commit("mia", "prctl: reject scratch values with high bits set\n\n"
       "32-bit user space cannot read back a 64-bit value: refuse to store one.\n\n" + sob("mia"))

# 09 docs-only
append(SCRATCH_DOC, "\nValues of 2^32 and above are refused with EINVAL.\n")
commit("doc", "Documentation: userspace-api: document the scratch value limit\n\n" + sob("doc"))

# 10 code: breaks the build
edit("kernel/sys.c", "\t\terror = put_user(READ_ONCE(prctl_scratch),\n\t\t\t\t (unsigned long __user *)arg2);",
     "\t\terror = prctl_scratch_get((unsigned long __user *)arg2);")
commit("mia", "prctl: read the scratch value in a helper\n\n" + sob("mia"))

# 11 docs-only (build still broken)
append(SCRATCH_DOC, "\nPR_GET_SCRATCH fails with EFAULT when the address is not writable.\n")
commit("doc", "Documentation: userspace-api: document EFAULT for PR_GET_SCRATCH\n\n" + sob("doc"))

# 12 code, unrelated (build still broken)
edit("kernel/reboot.c", 'pr_warn("Failed to start orderly reboot: forcing the issue\\n");',
     'pr_warn("Failed to start orderly reboot: forcing an emergency restart\\n");')
commit("moe", "reboot: say what forcing an orderly reboot does\n\n" + sob("moe"))

# 13 code: repairs the build
edit("kernel/sys.c", "SYSCALL_DEFINE5(prctl, int, option,",
     "static int prctl_scratch_get(unsigned long __user *value)\n{\n"
     "\treturn put_user(READ_ONCE(prctl_scratch), value);\n}\n\n"
     "SYSCALL_DEFINE5(prctl, int, option,")
commit("mia", "prctl: add the missing prctl_scratch_get()\n\n"
       "The previous commit called a helper that was left out of it.\n\n" + sob("mia"))

# 14 THE CULPRIT
edit("kernel/sys.c", "static int prctl_scratch_get(unsigned long __user *value)\n",
     "static noinline int prctl_scratch_check(unsigned long value)\n{\n"
     "\t/* prctl() rejects out-of-range values before calling us. */\n"
     "\tif (WARN_ON(value >= PRCTL_SCRATCH_LIMIT))\n\t\treturn -EINVAL;\n\treturn 0;\n}\n\n"
     "static int prctl_scratch_set(unsigned long value)\n{\n"
     "\tint error = prctl_scratch_check(value);\n\n"
     "\tif (!error)\n\t\tWRITE_ONCE(prctl_scratch, value);\n\treturn error;\n}\n\n"
     "static int prctl_scratch_get(unsigned long __user *value)\n")
edit("kernel/sys.c", "\t\tif (arg2 >= PRCTL_SCRATCH_LIMIT)\n\t\t\treturn -EINVAL;\n\t\tWRITE_ONCE(prctl_scratch, arg2);\n",
     "\t\terror = prctl_scratch_set(arg2);\n")
commit("jane", "prctl: factor out scratch value checking\n\n"
       "Move the range check of PR_SET_SCRATCH to prctl_scratch_check() and the\n"
       "store to prctl_scratch_set(), so that the coming PR_SET_SCRATCH_ONCE can\n"
       "share them.\n\n"
       + sob("jane") + "\nReviewed-by: Rob Reviewer <rob.reviewer@scenario.example.org>\n"
       "Cc: Mia Maintainer <mia.maintainer@scenario.example.org>\nCc: stable@vger.kernel.org\n"
       "Link: https://lore.scenario.example.org/r/20230103-prctl-scratch-v2-1-jane.developer@scenario.example.org\n")

DOCS = [
    ("Documentation/admin-guide/sysctl/kernel.rst", "docs: sysctl/kernel: add a note on tainting by warnings",
     "\nNote: every WARN() taints the kernel with TAINT_WARN (flag 9).\n"),
    ("Documentation/userspace-api/prctl-scratch.rst", "Documentation: userspace-api: give a scratch value example",
     "\nExample::\n\n    prctl(PR_SET_SCRATCH, 42, 0, 0, 0);\n"),
    ("Documentation/process/howto.rst", "docs: process: howto: point at the bisection guide",
     "\nWhen a regression appears, bisect it before reporting it.\n"),
    ("Documentation/admin-guide/bug-hunting.rst", "docs: bug-hunting: mention reproducers",
     "\nA reproducer makes the bug much easier to fix.\n"),
    ("Documentation/userspace-api/prctl-scratch.rst", "Documentation: userspace-api: scratch value is global",
     "\nThe value is shared by all processes.\n"),
    ("Documentation/admin-guide/sysctl/kernel.rst", "docs: sysctl/kernel: cross-reference oops_limit",
     "\nSee also oops_limit and warn_limit above.\n"),
    ("Documentation/process/howto.rst", "docs: process: howto: recommend reading the stable rules",
     "\nBug fixes for released kernels follow Documentation/process/stable-kernel-rules.rst.\n"),
]
CODE = [
    ("kernel/time/clocksource.c", 'pr_warn("Not enough CPUs to check clocksource \'%s\'.\\n", cs->name);',
     'pr_warn("Not enough CPUs to check clocksource %s.\\n", cs->name);',
     "clocksource: drop the quotes around the name in a warning", "moe"),
    ("init/main.c", 'pr_warn("Kernel memory protection not selected by kernel config.\\n");',
     'pr_warn("Kernel memory protection not enabled by the kernel config.\\n");',
     "init: reword the missing memory protection warning", "moe"),
    ("mm/mmap.c", 'pr_info("vm.user_reserve_kbytes reset to %lu\\n",',
     'pr_info("vm.user_reserve_kbytes was reset to %lu\\n",',
     "mm: mmap: reword the user reserve message", "moe"),
    ("kernel/reboot.c", 'pr_warn("Failed to start orderly shutdown: forcing the issue\\n");',
     'pr_warn("Failed to start orderly shutdown: forcing an emergency power off\\n");',
     "reboot: say what forcing an orderly shutdown does", "moe"),
    ("init/main.c", 'pr_warn("Parameter %s is obsolete, ignored\\n",',
     'pr_warn("Kernel parameter %s is obsolete, ignored\\n",',
     "init: name kernel parameters in the obsolete parameter warning", "mia"),
]

def docs(i):
    path, title, text = DOCS[i]
    append(path, text)
    commit("doc", f"{title}\n\n" + sob("doc"))

def code(i):
    path, old, new, title, who = CODE[i]
    edit(path, old, new)
    commit(who, f"{title}\n\n" + sob(who))

docs(0)      # 15
code(0)      # 16
docs(1)      # 17
code(1)      # 18
docs(2)      # 19
code(2)      # 20
docs(3)      # 21 = scenario-bad
subprocess.run(["git", "tag", "scenario-bad"], check=True)

# 22 code: renames the crashing function in place (same file and line):
# from here on the crash is titled after the new name
edit("kernel/sys.c", "static noinline int prctl_scratch_check(unsigned long value)\n",
     "static noinline int prctl_scratch_validate(unsigned long value)\n")
edit("kernel/sys.c", "\tint error = prctl_scratch_check(value);\n",
     "\tint error = prctl_scratch_validate(value);\n")
commit("jane", "prctl: rename prctl_scratch_check() to prctl_scratch_validate()\n\n"
       "It validates more than it checks; the coming PR_SET_SCRATCH_ONCE\n"
       "will call it too.\n\n" + sob("jane"))
code(3)      # 23
docs(4)      # 24

# 25 THE FIX
edit("kernel/sys.c", "\t/* prctl() rejects out-of-range values before calling us. */\n"
     "\tif (WARN_ON(value >= PRCTL_SCRATCH_LIMIT))\n",
     "\t/* Any value can come from user space: refusing it is not a bug. */\n"
     "\tif (value >= PRCTL_SCRATCH_LIMIT)\n")
commit("rob", "prctl: do not warn on out-of-range scratch values\n\n"
       "prctl_scratch_validate() warns when PR_SET_SCRATCH gets a value of 2^32\n"
       "or more, but since \"prctl: factor out scratch value checking\" nothing\n"
       "rejects such values before: any user can trigger the warning, and with\n"
       "panic_on_warn crash the machine. Return -EINVAL without a warning.\n\n"
       "Reported-by: Scenario Bot <bot@scenario.example.org>\n"
       + sob("rob") + "\nCc: stable@vger.kernel.org\n")
docs(5)      # 26
code(4)      # 27
docs(6)      # 28
# 29 code, unrelated
edit("fs/read_write.c", "\t/* vfs_llseek() implementations only know SEEK_SET..SEEK_MAX. */\n",
     "\t/* The llseek methods only know SEEK_SET..SEEK_MAX. */\n")
edit("init/main.c", 'pr_info("Run %s as init process (pid 1)\\n", init_filename);',
     'pr_info("Run %s as the init process (pid 1)\\n", init_filename);')
commit("fay", "init: fix the grammar of the init process message\n\n" + sob("fay"))
print(n[0], "commits")
