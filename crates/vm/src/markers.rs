//! What the guest's `/init` prints on the console, line by line, so that
//! the host can tell how a run went: the markers are shared by the scripts
//! that print them (and the start every script shares) and the classifier
//! that reads them.

use std::time::Duration;

/// Printed by `/init` just before it starts the reproducer: the kernel booted.
pub const START_MARKER: &str = "culprit: running reproducer";
/// Printed by `/init` with the reproducer's exit status, e.g. `...status=0`.
pub const STATUS_MARKER: &str = "culprit: reproducer exited status=";
/// Printed by `/init` after the reproducer ended, just before powering off.
pub const DONE_MARKER: &str = "culprit: done";
/// Kernel command line parameter read by `/init`: the reproducer's time limit
/// in seconds. Unknown to the kernel, it is only passed on to user space.
pub const TIME_LIMIT_PARAM: &str = "culprit.timeout";

/// Printed before the basic kernel test.
pub const BASIC_MARKER: &str = "culprit: basic kernel testing";
/// Printed with the basic test's exit status, e.g. `...status=0`.
pub const BASIC_STATUS_MARKER: &str = "culprit: basic kernel testing exited status=";
/// Printed before the syz program.
pub const SYZ_MARKER: &str = "culprit: running syz program";
/// Printed with execprog's exit status after the syz program.
pub const SYZ_STATUS_MARKER: &str = "culprit: syz program exited status=";
/// Printed before the C reproducer that follows the syz program.
pub const C_MARKER: &str = "culprit: running C reproducer";
/// syzbot's words for a run whose basic kernel test failed.
pub(crate) const BASIC_FAILED: &str = "basic kernel testing failed: ";

/// The start of every `/init`: busybox's commands, the file systems, the
/// time limit from the kernel command line, and the start marker.
pub(crate) fn init_prelude(default_time_limit: Duration) -> String {
    let limit = default_time_limit.as_secs().max(1);
    format!(
        r#"#!/bin/sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
limit={limit}
for arg in $(cat /proc/cmdline); do
  case "$arg" in {TIME_LIMIT_PARAM}=*) limit="${{arg#{TIME_LIMIT_PARAM}=}}" ;; esac
done
cd /tmp
echo "{START_MARKER} (time limit ${{limit}}s)"
"#
    )
}
