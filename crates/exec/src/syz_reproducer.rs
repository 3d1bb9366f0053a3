//! A syz reproducer made ready for the kernel executor, once per
//! bisection: syzkaller built or found ([`culprit_build::syzkaller`]), the
//! program's options read and forced to repeat, execprog's command lines
//! for the binary at hand, and the initramfs that runs basic kernel
//! testing, the syz program and then the C reproducer, if any
//! ([`culprit_vm::Initramfs::syz`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use culprit_build::syzkaller::{
    basic_test_command, execprog_command, OptionsSource, SyzOptions, SyzkallerBinaries,
    SyzkallerBuilder, SyzkallerSource, BASIC_PROGRAM,
};
use culprit_vm::{
    ExecutorFailures, Initramfs, SyzCommands, SyzGuest, VmConfig, GUEST_BASIC_PROGRAM,
    GUEST_EXECUTOR, GUEST_PROGRAM,
};

/// What a job says about its syz reproducer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyzSettings {
    /// The syz program (`[reproducer] syz`).
    pub program: PathBuf,
    /// Its options apart from it (`[reproducer] syz_options`, the
    /// dashboard's `repro-opts`); `None`: the program's own.
    pub options_file: Option<PathBuf>,
    /// The syzkaller to run it with (`[syzkaller]`).
    pub syzkaller: SyzkallerSource,
    /// Where syzkaller builds are cached (shared by all bisections).
    pub cache: PathBuf,
}

/// A syz reproducer ready to boot.
#[derive(Debug, Clone)]
pub struct PreparedSyz {
    /// The initramfs (call `write`, then [`configure_vm`]).
    pub initramfs: Initramfs,
    /// The binaries used.
    pub binaries: SyzkallerBinaries,
    /// The options the program runs with.
    pub options: SyzOptions,
    /// Lines for the bisection's log: `building syzkaller on HASH`, where
    /// the options came from, options this execprog cannot take.
    pub log: Vec<String>,
}

/// Builds or finds syzkaller and makes the initramfs running `settings`'
/// program, then `c_reproducer` (a static binary) when it does not crash;
/// each program with `run_timeout`. One line on error.
pub fn prepare_syz(
    settings: &SyzSettings,
    c_reproducer: Option<&Path>,
    run_timeout: Duration,
) -> Result<PreparedSyz, String> {
    let binaries = SyzkallerBuilder::new(&settings.cache)
        .prepare(&settings.syzkaller)
        .map_err(|e| one_line(&e.to_string()))?;
    let mut log: Vec<String> = binaries.log_line().into_iter().collect();
    let (options, source) = SyzOptions::load(&settings.program, settings.options_file.as_deref())
        .map_err(|e| e.to_string())?;
    let options = options.for_bisection();
    let program = execprog_command(&options, &binaries.flags, GUEST_EXECUTOR, GUEST_PROGRAM);
    let basic = basic_test_command(
        &options,
        &binaries.flags,
        GUEST_EXECUTOR,
        GUEST_BASIC_PROGRAM,
    );
    log.push(format!(
        "syz-execprog {} (options {})",
        program.args.join(" "),
        match source {
            OptionsSource::File(file) => format!("from {}", file.display()),
            OptionsSource::Program => "from the program".into(),
            OptionsSource::Default => "not given: syzkaller's defaults".into(),
        }
    ));
    log.extend(
        program
            .dropped
            .iter()
            .map(|d| format!("syz option left out: {d}")),
    );
    let commands = SyzCommands {
        program_args: program.args,
        basic_args: basic.args,
        basic_program: BASIC_PROGRAM.to_owned(),
    };
    let guest = SyzGuest::read(
        &binaries.execprog,
        &binaries.executor,
        &settings.program,
        commands,
    )
    .map_err(|e| e.to_string())?;
    let c_bytes = match c_reproducer {
        Some(path) => {
            Some(std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?)
        }
        None => None,
    };
    let initramfs = Initramfs::syz(guest, c_bytes).default_time_limit(run_timeout);
    Ok(PreparedSyz {
        initramfs,
        binaries,
        options,
        log,
    })
}

/// Sets what a syz run needs of the test machine: time for every program
/// of the guest, and whether tool failures are the bug (`crash`: the title
/// bisected, when known).
pub fn configure_vm(config: &mut VmConfig, initramfs: &Initramfs, crash: Option<&str>) {
    config.guest_time = Some(initramfs.guest_time(config.run_timeout));
    config.executor_failures =
        crash.map_or(ExecutorFailures::default(), ExecutorFailures::for_crash);
}

fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// The stand-in, built into `dir/bin/linux_amd64` as syzkaller lays it out.
    fn prebuilt(dir: &Path) -> PathBuf {
        let out = dir.join("syzkaller/bin/linux_amd64");
        let made = Command::new("make")
            .arg("-C")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/syz"))
            .arg(format!("BIN={}", out.display()))
            .args(["execprog", "executor"])
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        dir.join("syzkaller")
    }

    fn settings(dir: &Path, options_file: Option<PathBuf>) -> SyzSettings {
        SyzSettings {
            program: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/syz/repro.syz"),
            options_file,
            syzkaller: SyzkallerSource::Prebuilt { dir: prebuilt(dir) },
            cache: dir.join("cache"),
        }
    }

    #[test]
    fn a_prebuilt_syzkaller_and_the_demo_program_make_an_initramfs() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("repro");
        std::fs::write(&c, b"\x7fELF c").unwrap();
        let run = Duration::from_secs(30);
        let prepared = prepare_syz(&settings(dir.path(), None), Some(&c), run).unwrap();
        assert!(prepared.options.repeat && prepared.options.threaded);
        assert_eq!(
            prepared.log,
            ["syz-execprog -executor=/syz-executor -arch=amd64 -sandbox=none -procs=1 -repeat=0 \
              -threaded=true -collide=false -cover=0 -optional=slowdown=31:sandbox_arg=30 \
              /repro.syz (options from the program)"]
        );
        let mut config = VmConfig::new(Path::new("bzImage"), Path::new("initramfs"));
        config.run_timeout = run;
        configure_vm(
            &mut config,
            &prepared.initramfs,
            Some("SYZFAIL: wrong response"),
        );
        assert_eq!(
            config.guest_time,
            Some(culprit_vm::BASIC_TEST_LIMIT + run * 2)
        );
        assert_eq!(config.executor_failures, ExecutorFailures::AreTheBug);
        configure_vm(
            &mut config,
            &prepared.initramfs,
            Some("WARNING in prctl_scratch_check"),
        );
        assert_eq!(
            config.executor_failures,
            ExecutorFailures::AreInfrastructure
        );
    }

    #[test]
    fn options_apart_from_the_program_win_and_bad_ones_are_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let opts = dir.path().join("repro-opts");
        std::fs::write(&opts, "{Threaded:false Collide:true Repeat:false Procs:3 Sandbox: Fault:true FaultCall:1 FaultNth:2}\n").unwrap();
        let prepared = prepare_syz(
            &settings(dir.path(), Some(opts.clone())),
            None,
            Duration::from_secs(5),
        )
        .unwrap();
        let line = &prepared.log[0];
        assert!(
            line.contains(
                " -procs=3 -repeat=0 -threaded=false -collide=true -fault_call=1 -fault_nth=2 "
            ),
            "{line}"
        );
        assert!(
            line.ends_with(&format!("(options from {})", opts.display())),
            "{line}"
        );
        std::fs::write(&opts, "{Procs:three}").unwrap();
        let err = prepare_syz(
            &settings(dir.path(), Some(opts)),
            None,
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(
            err.contains("Procs: expected an integer") && !err.contains('\n'),
            "{err}"
        );
        let mut missing = settings(dir.path(), None);
        missing.syzkaller = SyzkallerSource::Prebuilt {
            dir: dir.path().join("nowhere"),
        };
        let err = prepare_syz(&missing, None, Duration::from_secs(5)).unwrap_err();
        assert!(err.starts_with("no syz-execprog in "), "{err}");
    }
}
