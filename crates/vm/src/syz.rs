//! A syz reproducer in the guest: syz-execprog, syz-executor, the program
//! and the `/init` that runs them as syzbot does on each boot.
//!
//! `/init` prints [`START_MARKER`], then:
//! 1. "basic kernel testing": [`BASIC_MARKER`], a trivial program run once
//!    by execprog (at most [`BASIC_TEST_LIMIT`]), [`BASIC_STATUS_MARKER`]
//!    and its exit status; when that status is not 0 it stops there;
//! 2. [`SYZ_MARKER`], the syz program under execprog until it crashes the
//!    kernel or its time limit (`culprit.timeout=`) kills it,
//!    [`SYZ_STATUS_MARKER`] and execprog's exit status;
//! 3. with a C reproducer: [`C_MARKER`] and the C program under the same
//!    time limit (the kernel did not crash, or the guest would be gone);
//!
//! then [`STATUS_MARKER`] with the last status and [`DONE_MARKER`].
use std::path::Path;
use std::time::Duration;

use crate::error::InitramfsError;
use crate::markers::{DONE_MARKER, STATUS_MARKER};

/// syz-execprog's path in the guest.
pub const GUEST_EXECPROG: &str = "/syz-execprog";
/// syz-executor's path in the guest (execprog's `-executor=`).
pub const GUEST_EXECUTOR: &str = "/syz-executor";
/// The syz program's path in the guest.
pub const GUEST_PROGRAM: &str = "/repro.syz";
/// The basic test's program's path in the guest.
pub const GUEST_BASIC_PROGRAM: &str = "/basic.syz";
/// The C reproducer's path in the guest (as without a syz program).
pub const GUEST_C_REPRODUCER: &str = "/repro";

pub use crate::markers::{
    BASIC_MARKER, BASIC_STATUS_MARKER, C_MARKER, SYZ_MARKER, SYZ_STATUS_MARKER,
};

/// The basic kernel test's time limit in the guest.
pub const BASIC_TEST_LIMIT: Duration = Duration::from_secs(60);

/// What execprog is run with (arguments after the binary's name, with the
/// guest paths above; see `culprit_build::syzkaller::execprog_command`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyzCommands {
    /// The arguments running the syz program ([`GUEST_PROGRAM`] last).
    pub program_args: Vec<String>,
    /// The arguments of the basic test ([`GUEST_BASIC_PROGRAM`] last).
    pub basic_args: Vec<String>,
    /// The basic test's program text.
    pub basic_program: String,
}

/// The files and commands of a syz reproducer, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyzGuest {
    pub(crate) execprog: Vec<u8>,
    pub(crate) executor: Vec<u8>,
    pub(crate) program: Vec<u8>,
    pub(crate) commands: SyzCommands,
}

impl SyzGuest {
    /// Reads the binaries (which must be static: the guest has no C
    /// library) and the program.
    pub fn read(
        execprog: &Path,
        executor: &Path,
        program: &Path,
        commands: SyzCommands,
    ) -> Result<SyzGuest, InitramfsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| InitramfsError::Read {
                path: path.to_owned(),
                source,
            })
        };
        for binary in [execprog, executor] {
            let bytes = read(binary)?;
            if !crate::tools::elf_is_static(&bytes) {
                return Err(InitramfsError::NotStatic(binary.to_owned()));
            }
        }
        Ok(SyzGuest {
            execprog: read(execprog)?,
            executor: read(executor)?,
            program: read(program)?,
            commands,
        })
    }

    /// How long the guest may work after its start marker when each
    /// program has `run_timeout`: the basic test, the syz program and,
    /// with a C reproducer, the C program (see `VmConfig::guest_time`).
    pub fn guest_time(run_timeout: Duration, with_c: bool) -> Duration {
        let programs = if with_c { 2 } else { 1 };
        BASIC_TEST_LIMIT + run_timeout * programs
    }
}

/// The `/init` of a syz reproducer (see the module docs).
pub fn syz_init_script(
    default_time_limit: Duration,
    commands: &SyzCommands,
    with_c: bool,
) -> String {
    let basic_limit = BASIC_TEST_LIMIT.as_secs();
    let basic = quoted(&commands.basic_args);
    let program = quoted(&commands.program_args);
    let c_part = match with_c {
        true => format!(
            "  echo \"{C_MARKER}\"\n  timeout -s KILL \"$limit\" {GUEST_C_REPRODUCER}\n  status=$?\n"
        ),
        false => String::new(),
    };
    let prelude = crate::markers::init_prelude(default_time_limit);
    format!(
        r#"{prelude}echo "{BASIC_MARKER}"
timeout -s KILL {basic_limit} {GUEST_EXECPROG}{basic}
status=$?
echo "{BASIC_STATUS_MARKER}$status"
if [ "$status" = 0 ]; then
  echo "{SYZ_MARKER}"
  timeout -s KILL "$limit" {GUEST_EXECPROG}{program}
  status=$?
  echo "{SYZ_STATUS_MARKER}$status"
{c_part}fi
echo "{STATUS_MARKER}$status"
echo "{DONE_MARKER}"
reboot -f
"#
    )
}

/// Each argument single-quoted for sh, each after a space.
fn quoted(args: &[String]) -> String {
    args.iter()
        .map(|arg| format!(" '{}'", arg.replace('\'', r"'\''")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markers::START_MARKER;

    fn commands() -> SyzCommands {
        SyzCommands {
            program_args: vec![
                "-executor=/syz-executor".into(),
                "-repeat=0".into(),
                GUEST_PROGRAM.into(),
            ],
            basic_args: vec!["-repeat=1".into(), GUEST_BASIC_PROGRAM.into()],
            basic_program: "getpid()\n".into(),
        }
    }

    #[test]
    fn init_runs_basic_test_then_program_then_c_in_order() {
        let s = syz_init_script(Duration::from_secs(42), &commands(), true);
        let pos = |needle: &str| {
            s.find(needle)
                .unwrap_or_else(|| panic!("{needle} missing in\n{s}"))
        };
        assert!(s.contains("limit=42\n"));
        assert!(pos(START_MARKER) < pos(BASIC_MARKER));
        assert!(
            pos("timeout -s KILL 60 /syz-execprog '-repeat=1' '/basic.syz'")
                < pos(BASIC_STATUS_MARKER)
        );
        assert!(pos(BASIC_STATUS_MARKER) < pos("if [ \"$status\" = 0 ]"));
        assert!(pos(SYZ_MARKER) < pos("'-executor=/syz-executor' '-repeat=0' '/repro.syz'"));
        assert!(pos("'/repro.syz'") < pos(SYZ_STATUS_MARKER));
        assert!(pos(SYZ_STATUS_MARKER) < pos(C_MARKER));
        assert!(pos(C_MARKER) < pos("timeout -s KILL \"$limit\" /repro\n"));
        assert!(pos("\nfi\n") < pos(STATUS_MARKER));
        assert!(pos(STATUS_MARKER) < pos(DONE_MARKER));
        let without_c = syz_init_script(Duration::from_secs(42), &commands(), false);
        assert!(!without_c.contains(C_MARKER) && !without_c.contains(" /repro\n"));
    }

    #[test]
    fn arguments_are_quoted_for_sh() {
        assert_eq!(quoted(&["a b".into(), "it's".into()]), r" 'a b' 'it'\''s'");
    }

    #[test]
    fn guest_time_covers_every_program() {
        let run = Duration::from_secs(100);
        assert_eq!(SyzGuest::guest_time(run, false), BASIC_TEST_LIMIT + run);
        assert_eq!(SyzGuest::guest_time(run, true), BASIC_TEST_LIMIT + run * 2);
    }

    #[test]
    fn dynamic_binaries_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("repro.syz");
        std::fs::write(&program, "getpid()\n").unwrap();
        let sh = crate::tools::find_in_path("sh").unwrap();
        let ls = crate::tools::find_in_path("ls").unwrap();
        let dynamic = [sh, ls]
            .into_iter()
            .find(|p| !crate::tools::is_static_elf(p));
        let dynamic = dynamic.expect("a dynamic binary on the host");
        let err = SyzGuest::read(&dynamic, &dynamic, &program, commands()).unwrap_err();
        assert!(err.to_string().contains("not statically linked"), "{err}");
        let err = SyzGuest::read(Path::new("/nonexistent/x"), &dynamic, &program, commands());
        assert!(err.unwrap_err().to_string().contains("/nonexistent/x"));
    }
}
