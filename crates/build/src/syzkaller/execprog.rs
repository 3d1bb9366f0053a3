//! syz-execprog's command line as syzbot builds it, for the execprog at
//! hand: which flags a given binary takes is read once from its `-help`
//! (Go's flag package lists every flag as `  -name`), so old and new
//! syzkaller builds each get the flags they know.
//!
//! ```text
//! syz-execprog -executor=E -arch=amd64 -sandbox=S -procs=P -repeat=R -threaded=T
//!     [-collide=C] [-fault_call=N -fault_nth=M] [-cover=0]
//!     [-optional=slowdown=HEX:sandbox_arg=HEX] PROGRAM
//! ```
//!
//! `-collide` and `-cover=0` go only to an execprog that lists them (old
//! ones collide by default; newer ones dropped collide); fault injection
//! only for options with `Fault` and an execprog that takes it;
//! `-optional` (flags an execprog may ignore, values hex-encoded as
//! syzkaller's tools encode them) only to one that lists `-optional`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::options::SyzOptions;

/// How long `syz-execprog -help` may take.
const PROBE_LIMIT: Duration = Duration::from_secs(30);

/// The trivial program of "basic kernel testing": one call every kernel
/// has, run once before the reproducer.
pub const BASIC_PROGRAM: &str = "getpid()\n";

/// The flags one syz-execprog binary takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecprogFlags {
    names: BTreeSet<String>,
}

/// Why an execprog's flags cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The binary cannot be run.
    #[error("cannot run {} -help: {source}", path.display())]
    Run {
        /// The binary.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It ran but listed no flag of syzbot's command line.
    #[error("{} -help lists no -executor flag: not a syz-execprog?", .0.display())]
    NotExecprog(PathBuf),
    /// It did not finish in time.
    #[error("{} -help did not finish within {limit:?}", path.display())]
    TimedOut {
        /// The binary.
        path: PathBuf,
        /// The limit.
        limit: Duration,
    },
}

impl ExecprogFlags {
    /// The flags named in `-help` output: lines `  -name` or `  -name type`.
    pub fn from_help(text: &str) -> ExecprogFlags {
        let names = text
            .lines()
            .filter_map(|line| line.strip_prefix("  -"))
            .filter_map(|rest| rest.split([' ', '\t', '=']).next())
            .filter(|name| !name.is_empty() && !name.starts_with('-'))
            .map(str::to_owned)
            .collect();
        ExecprogFlags { names }
    }

    /// Runs `execprog -help` (on the host: execprog is a static amd64
    /// binary) and reads its flags.
    pub fn probe(execprog: &Path) -> Result<ExecprogFlags, ProbeError> {
        let text = help_text(execprog)?;
        let flags = ExecprogFlags::from_help(&text);
        match flags.knows("executor") {
            true => Ok(flags),
            false => Err(ProbeError::NotExecprog(execprog.to_owned())),
        }
    }

    /// The flags of syzbot's basic command line, which every execprog
    /// takes; what to assume when a binary cannot be asked.
    pub fn minimal() -> ExecprogFlags {
        let names = ["executor", "arch", "sandbox", "procs", "repeat", "threaded"];
        ExecprogFlags {
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    /// Whether the binary takes `-name`.
    pub fn knows(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Whether it is a "newer" execprog, one that takes `-optional`.
    pub fn takes_optional(&self) -> bool {
        self.knows("optional")
    }

    /// The flag names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}

/// `execprog -help`'s output (Go prints the usage on stderr; the exit
/// status is 0 or 2 depending on the version, and does not matter).
pub(crate) fn help_text(execprog: &Path) -> Result<String, ProbeError> {
    let run_error = |source| ProbeError::Run {
        path: execprog.to_owned(),
        source,
    };
    let dir = tempfile::tempdir().map_err(run_error)?;
    let out = dir.path().join("help");
    let file = std::fs::File::create(&out).map_err(run_error)?;
    let err = file.try_clone().map_err(run_error)?;
    let mut command = Command::new(execprog);
    command
        .arg("-help")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err);
    let mut child = culprit_proc::spawn(&mut command).map_err(run_error)?;
    let status = child
        .wait_until(Instant::now() + PROBE_LIMIT)
        .map_err(run_error)?;
    if status.is_none() {
        return Err(ProbeError::TimedOut {
            path: execprog.to_owned(),
            limit: PROBE_LIMIT,
        });
    }
    let bytes = std::fs::read(&out).map_err(run_error)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A command line for one execprog, and the options it had to leave out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecprogCommand {
    /// The arguments after the binary's name, the program last.
    pub args: Vec<String>,
    /// Options of the program this execprog cannot take (said in the log).
    pub dropped: Vec<String>,
}

/// The arguments syzbot gives `flags`' execprog to run `program` with
/// `options` (paths as the guest sees them).
pub fn execprog_command(
    options: &SyzOptions,
    flags: &ExecprogFlags,
    executor: &str,
    program: &str,
) -> ExecprogCommand {
    let mut args = vec![
        format!("-executor={executor}"),
        "-arch=amd64".to_string(),
        format!("-sandbox={}", options.sandbox_or_none()),
        format!("-procs={}", options.procs),
        format!("-repeat={}", options.repeat_count()),
        format!("-threaded={}", options.threaded),
    ];
    let mut dropped = Vec::new();
    if flags.knows("collide") {
        args.push(format!("-collide={}", options.collide));
    } else if options.collide {
        dropped.push("collide (this syz-execprog has no -collide)".to_string());
    }
    if options.fault && options.fault_call >= 0 {
        if flags.knows("fault_call") && flags.knows("fault_nth") {
            args.push(format!("-fault_call={}", options.fault_call));
            args.push(format!("-fault_nth={}", options.fault_nth));
        } else {
            dropped.push("fault injection (this syz-execprog has no -fault_call)".to_string());
        }
    }
    if flags.knows("cover") {
        args.push("-cover=0".to_string());
    }
    if flags.takes_optional() {
        args.push(optional_flags(&[
            ("slowdown", options.slowdown.to_string()),
            ("sandbox_arg", options.sandbox_arg.to_string()),
        ]));
    }
    args.push(program.to_string());
    ExecprogCommand { args, dropped }
}

/// The arguments of "basic kernel testing": `program` (see
/// [`BASIC_PROGRAM`]) once, one proc, in the reproducer's sandbox.
pub fn basic_test_command(
    options: &SyzOptions,
    flags: &ExecprogFlags,
    executor: &str,
    program: &str,
) -> ExecprogCommand {
    let once = SyzOptions {
        repeat: false,
        procs: 1,
        collide: false,
        fault: false,
        ..options.clone()
    };
    execprog_command(&once, flags, executor, program)
}

/// `-optional=name=HEX:name=HEX`: each value hex-encoded.
fn optional_flags(flags: &[(&str, String)]) -> String {
    let items: Vec<String> = flags
        .iter()
        .map(|(name, value)| {
            let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
            format!("{name}={hex}")
        })
        .collect();
    format!("-optional={}", items.join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `-help` of an execprog of about 2019: collide and fault flags, no
    /// -optional.
    const OLD_HELP: &str = "usage: execprog [flags] file-with-programs+\n\
        \x20 -arch string\n    \ttarget arch (default \"amd64\")\n\
        \x20 -collide\n    \tcollide syscalls to provoke data races (default true)\n\
        \x20 -executor string\n    \tpath to executor binary (default \"./syz-executor\")\n\
        \x20 -fault_call int\n    \tinject fault into this call (0-based) (default -1)\n\
        \x20 -fault_nth int\n    \tinject fault on n-th operation (0-based)\n\
        \x20 -procs int\n    \tnumber of parallel processes to execute programs (default 4)\n\
        \x20 -repeat int\n    \trepeat execution that many times (0 for infinite loop) (default 1)\n\
        \x20 -sandbox string\n    \tsandbox for fuzzing (none/setuid/namespace/android) (default \"none\")\n\
        \x20 -threaded\n    \tuse threaded mode in executor (default true)\n";
    /// A newer one: -optional, -cover, no -collide nor fault flags.
    const NEW_HELP: &str = "  -arch string\n  -cover\n  -executor string\n  -optional string\n\
        \x20 -procs int\n  -repeat int\n  -sandbox string\n  -sandbox_arg int\n  -slowdown int\n  -threaded\n";

    fn json(text: &str) -> SyzOptions {
        SyzOptions::parse(text).unwrap()
    }

    fn line(options: &SyzOptions, help: &str) -> String {
        let flags = ExecprogFlags::from_help(help);
        execprog_command(options, &flags, "/syz-executor", "/repro.syz")
            .args
            .join(" ")
    }

    #[test]
    fn help_lists_the_flags() {
        let old = ExecprogFlags::from_help(OLD_HELP);
        assert!(old.knows("collide") && old.knows("fault_nth") && old.knows("threaded"));
        assert!(!old.takes_optional() && !old.knows("usage:") && !old.knows("target"));
        assert_eq!(old.names().count(), 9);
        assert!(ExecprogFlags::from_help(NEW_HELP).takes_optional());
    }

    #[test]
    fn json_options_on_a_newer_execprog() {
        let options = json(
            r#"{"threaded":true,"repeat":true,"procs":6,"slowdown":1,"sandbox":"namespace","sandbox_arg":3,"tun":true}"#,
        );
        assert_eq!(
            line(&options, NEW_HELP),
            "-executor=/syz-executor -arch=amd64 -sandbox=namespace -procs=6 -repeat=0 \
             -threaded=true -cover=0 -optional=slowdown=31:sandbox_arg=33 /repro.syz"
        );
    }

    #[test]
    fn repeat_times_and_no_repeat() {
        let counted = json(r#"{"repeat":true,"repeat_times":20,"procs":1,"sandbox":"none"}"#);
        assert!(line(&counted, NEW_HELP).contains(" -repeat=20 "));
        let once = json(r#"{"threaded":false,"procs":1,"sandbox":"none"}"#);
        let text = line(&once, NEW_HELP);
        assert!(text.contains(" -repeat=1 -threaded=false "), "{text}");
        assert!(line(&once.for_bisection(), NEW_HELP).contains(" -repeat=0 "));
    }

    #[test]
    fn go_struct_options_with_fault_injection_on_an_old_execprog() {
        let old = json("{Threaded:false Collide:true Repeat:true Procs:8 Sandbox: Fault:true FaultCall:2 FaultNth:13 EnableTun:false}");
        assert_eq!(
            line(&old, OLD_HELP),
            "-executor=/syz-executor -arch=amd64 -sandbox=none -procs=8 -repeat=0 \
             -threaded=false -collide=true -fault_call=2 -fault_nth=13 /repro.syz"
        );
    }

    #[test]
    fn go_struct_options_without_fault_on_a_minimal_execprog() {
        let options = json("{Threaded:true Collide:false Repeat:false RepeatTimes:0 Procs:2 Slowdown:1 Sandbox:setuid Fault:false FaultCall:-1 FaultNth:0}");
        let command = execprog_command(&options, &ExecprogFlags::minimal(), "/e", "/p");
        assert_eq!(
            command.args.join(" "),
            "-executor=/e -arch=amd64 -sandbox=setuid -procs=2 -repeat=1 -threaded=true /p"
        );
        assert!(command.dropped.is_empty());
    }

    #[test]
    fn options_an_execprog_cannot_take_are_dropped_and_said() {
        let old = json("{Threaded:true Collide:true Repeat:true Procs:1 Sandbox:none Fault:true FaultCall:0 FaultNth:1}");
        let command = execprog_command(&old, &ExecprogFlags::from_help(NEW_HELP), "/e", "/p");
        assert!(!command
            .args
            .iter()
            .any(|a| a.contains("collide") || a.contains("fault")));
        assert_eq!(command.dropped.len(), 2, "{:?}", command.dropped);
    }

    #[test]
    fn basic_testing_runs_once_with_one_proc() {
        let options =
            json(r#"{"threaded":true,"repeat":true,"procs":6,"sandbox":"setuid","collide":true}"#);
        let flags = ExecprogFlags::from_help(OLD_HELP);
        let basic = basic_test_command(&options, &flags, "/e", "/basic.syz")
            .args
            .join(" ");
        assert_eq!(
            basic,
            "-executor=/e -arch=amd64 -sandbox=setuid -procs=1 -repeat=1 -threaded=true -collide=false /basic.syz"
        );
    }

    #[test]
    fn probing_something_that_is_not_execprog_fails_clearly() {
        let err = ExecprogFlags::probe(Path::new("/bin/true")).unwrap_err();
        assert!(err.to_string().contains("not a syz-execprog"), "{err}");
        let err = ExecprogFlags::probe(Path::new("/nonexistent/syz-execprog")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot run /nonexistent/syz-execprog -help"),
            "{err}"
        );
    }
}
