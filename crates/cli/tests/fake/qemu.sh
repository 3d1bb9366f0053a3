#!/bin/sh
# QEMU's stand-in for the kernel-mode tests: refuses KVM (so the
# accelerator probe falls back to TCG), notes which kernel it ran in
# runs.txt beside itself, and prints a console with the markers of
# culprit's initramfs and, for a kernel that has the bug, a WARNING.
kernel=
for a in "$@"; do
  case "$prev" in -kernel) kernel=$a ;; esac
  case "$a" in kvm) exit 1 ;; esac
  prev=$a
done
cat "$kernel" >> "$(dirname "$0")/runs.txt"
echo "Linux version 6.1.0 (fake)"
echo "culprit: running reproducer (time limit 10s)"
sleep "${FAKE_QEMU_SECS:-0}"
if grep -q BUG "$kernel"; then
  cat <<'EOR'
------------[ cut here ]------------
WARNING: CPU: 0 PID: 1 at kernel/foo.c:10 foo+0x10/0x20 kernel/foo.c:10
Modules linked in:
CPU: 0 PID: 1 Comm: repro Not tainted 6.1.0 #1
RIP: 0010:foo+0x10/0x20 kernel/foo.c:10
Call Trace:
 <TASK>
 bar+0x1/0x2 kernel/bar.c:1
 do_syscall_64+0x35/0xb0 arch/x86/entry/common.c:80
 entry_SYSCALL_64_after_hwframe+0x44/0xae
 </TASK>
Kernel panic - not syncing: panic_on_warn set ...
EOR
  exit 0
fi
echo "culprit: reproducer exited status=0"
echo "culprit: done"
exit 0
