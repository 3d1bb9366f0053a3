//! QEMU virtual machines: accelerator probing, initramfs generation,
//! booting a kernel with a reproducer and capturing its console.
//!
//! A run: [`Initramfs`] writes an archive with a static busybox, the
//! reproducer (`/repro`) and an `/init` that prints [`START_MARKER`], runs the
//! reproducer under a time limit (`culprit.timeout=` on the kernel command
//! line), prints [`STATUS_MARKER`] with its exit status and [`DONE_MARKER`],
//! and reboots, which ends QEMU (`-no-reboot`). [`run_once`] boots a
//! [`VmConfig`], saves the serial console to a file as it arrives, and
//! classifies the run; [`run_many`] runs up to `vms` machines at once.
//! [`probe_accelerator`] picks KVM only if a guest really boots under it.
//!
//! How a run is classified ([`RunKind::describe`] gives the log's words):
//! - a crash report (from `culprit_report::parse_kernel`) before the start marker:
//!   `boot failed: TITLE`; after it: `crashed: TITLE`;
//! - the done marker and no crash: `OK`, also when the reproducer was killed
//!   at its time limit (a hang is OK unless the kernel itself reports it);
//! - no start marker: `no output from test machine` if the console is empty,
//!   else `boot failed: reproducer not started after Ns` (or `...stopped
//!   before the reproducer started` if the guest powered off);
//! - started but neither done nor crashed: `no output from test machine` if
//!   nothing came after the start marker before the deadline, else
//!   `lost connection to test machine`;
//! - QEMU could not start, or exited with an error or by a foreign signal:
//!   `infrastructure problem: ...` (QEMU's own message).
//!
//! A syz reproducer ([`Initramfs::syz`], [`SyzGuest`]) runs as syzbot runs
//! it: basic kernel testing first (a failure there is `basic kernel
//! testing failed: TITLE`, neither good nor bad), then the program under
//! syz-execprog, then the C reproducer if there is one; failures of
//! syzkaller's tools are infrastructure problems unless they are the bug
//! ([`ExecutorFailures`]). See the `syz` and `syz_console` modules.
//!
//! Host problems (console file unwritable, disk full) are [`VmError`]s: the
//! run is not recorded rather than recorded wrongly.
#![deny(missing_docs)]

mod accel;
mod classify;
mod cpio;
mod error;
mod initramfs;
mod many;
mod markers;
mod process;
mod run;
mod run_kind;
mod syz;
mod syz_console;
mod tools;

pub use accel::{probe_accelerator, probe_uncached, Accelerator, Probe, PROBE_TIMEOUT};
pub use classify::RunKind;
pub use error::{InitramfsError, VmError};
pub use initramfs::{
    init_script, Initramfs, DONE_MARKER, START_MARKER, STATUS_MARKER, TIME_LIMIT_PARAM,
};
pub use many::{console_path, default_vms, most_vms, run_many, MostVms};
pub use run::{run_once, RunOutput, VmConfig, DEFAULT_CMDLINE};
pub use syz::{
    syz_init_script, SyzCommands, SyzGuest, BASIC_MARKER, BASIC_STATUS_MARKER, BASIC_TEST_LIMIT,
    C_MARKER, GUEST_BASIC_PROGRAM, GUEST_C_REPRODUCER, GUEST_EXECPROG, GUEST_EXECUTOR,
    GUEST_PROGRAM, SYZ_MARKER, SYZ_STATUS_MARKER,
};
pub use syz_console::ExecutorFailures;
pub use tools::{find_busybox, find_in_path, is_static_elf};
