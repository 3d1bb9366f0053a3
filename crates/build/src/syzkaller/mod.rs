//! syzkaller for syz reproducers: a program's options ([`SyzOptions`]),
//! syz-execprog's command line as syzbot builds it ([`execprog_command`]),
//! and the binaries themselves, built per commit and cached
//! ([`SyzkallerBuilder`]) or ready-built ([`prebuilt`]).
//!
//! Wiring a syz reproducer into a run:
//! 1. `SyzkallerBuilder::new(dir).prepare(&source)` → [`SyzkallerBinaries`]
//!    (log [`SyzkallerBinaries::log_line`]);
//! 2. `SyzOptions::load(program, repro_opts)?.0.for_bisection()`;
//! 3. [`execprog_command`] and [`basic_test_command`] with the binaries'
//!    flags and the guest's paths give the arguments for the guest.

mod builder;
mod execprog;
mod options;

pub use builder::{prebuilt, SyzkallerBinaries, SyzkallerBuilder, SyzkallerError, SyzkallerSource};
pub use execprog::{
    basic_test_command, execprog_command, ExecprogCommand, ExecprogFlags, ProbeError, BASIC_PROGRAM,
};
pub use options::{OptionsError, OptionsSource, ProgramOptionsError, SyzOptions};
