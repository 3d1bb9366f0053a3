//! `culprit bisect`: a bisection described by flags, by a job file
//! (`culprit bisect JOB.toml`), or by both (a flag overrides the file's
//! value). The flags come from the settings table; the run is the one run
//! path every way in shares.
//!
//! Exit status: 0 culprit found; 1 no culprit (inconclusive, always-bad);
//! 2 bad input; 3 the bisection failed (does not reproduce, infrastructure).

use std::path::{Path, PathBuf};

use clap::{Arg, ArgMatches, Command};
use culprit_bisect::setup::EXIT_BAD_INPUT;
use culprit_bisect::{Direction, Outcome};
use culprit_exec::progress::Progress;
use culprit_exec::run::{self, RunPlace};
use culprit_exec::settings::{Door, FlagValues, Outline, SettingError, Settings};
use culprit_exec::syzbot;

use super::flags;

/// Arguments of `culprit bisect`: a job file (or a syzbot bug) and the
/// flags given.
pub struct Args {
    job: Option<PathBuf>,
    syzbot: Option<PathBuf>,
    syzkaller: Option<PathBuf>,
    flags: FlagValues,
}

impl clap::FromArgMatches for Args {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Args {
            job: matches.get_one::<PathBuf>("job").cloned(),
            syzbot: matches.get_one::<PathBuf>("syzbot").cloned(),
            syzkaller: matches.get_one::<PathBuf>("syzkaller").cloned(),
            flags: flags::values(matches),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Args::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for Args {
    fn augment_args(cmd: Command) -> Command {
        let job = Arg::new("job")
            .value_name("JOB.toml")
            .value_parser(clap::value_parser!(PathBuf))
            .help("A job file (TOML): the settings below as keys; flags override its values");
        let syzbot = Arg::new("syzbot")
            .long("syzbot")
            .value_name("BUG.json")
            .value_parser(clap::value_parser!(PathBuf))
            .conflicts_with("job")
            .help("A syzbot bug's JSON (its files saved beside it): the job is made from it, in the kernel repository --repo (see culprit job --from-syzbot)");
        let syzkaller = Arg::new("syzkaller")
            .long("syzkaller")
            .value_name("DIR")
            .value_parser(clap::value_parser!(PathBuf))
            .requires("syzbot")
            .help("With --syzbot: a syzkaller checkout (built at the crash's commit) or a directory of built binaries");
        flags::augment(cmd.arg(job).arg(syzbot).arg(syzkaller))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Args::augment_args(cmd)
    }
}

/// Runs `culprit bisect`; returns the exit code.
pub fn run(args: Args) -> i32 {
    let read = match &args.syzbot {
        Some(bug) => from_syzbot(bug, args.syzkaller.as_deref(), &args.flags),
        None => Settings::from_flags(&args.flags, args.job.as_deref()),
    };
    let settings = match read {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("culprit bisect: {e}");
            write_failure(
                &Outline::of(&args.flags, args.job.as_deref()),
                &e.to_string(),
            );
            return EXIT_BAD_INPUT;
        }
    };
    let place = RunPlace {
        log: Box::new(|| Box::new(std::io::stdout())),
        errors: Box::new(std::io::stderr()),
        journal: None,
        wrap: Some(Box::new(|_, exec| Box::new(Progress::new(exec)))),
        rate_prior: None,
    };
    run::bisect(&settings, place).code
}

/// The settings of a job made from a syzbot bug (what is missing is said
/// on standard error), with the flags over them.
fn from_syzbot(
    bug: &Path,
    syzkaller: Option<&Path>,
    flags: &FlagValues,
) -> Result<Settings, SettingError> {
    let door = Door::File(bug.to_owned());
    let Some(linux) = flags.get("repo") else {
        return Err(SettingError {
            door: Door::Flags,
            name: "--repo".into(),
            value: None,
            reason: "missing: the kernel repository to bisect the bug in".into(),
        });
    };
    let linux = std::path::absolute(linux).unwrap_or_else(|_| PathBuf::from(linux));
    let job = syzbot::job_from_bug(bug, &linux, syzkaller).map_err(|e| SettingError {
        door: door.clone(),
        name: String::new(),
        value: None,
        reason: e.to_string(),
    })?;
    let base = bug
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    for line in super::job::account(&job) {
        eprintln!("culprit bisect: {line}");
    }
    Settings::from_flags_over(flags, &job.to_toml(base), door, base)
}

/// The JSON of a bisection whose settings could not be read, when the
/// `json` setting itself can be.
fn write_failure(outline: &Outline, message: &str) {
    let Some(path) = &outline.json else { return };
    let direction = match outline.fix {
        true => Direction::Fix,
        false => Direction::Cause,
    };
    let mut outcome = Outcome::failed(direction, &outline.strategy, &outline.bad, message.into());
    outcome.good = outline.good.clone();
    if let Ok(text) = serde_json::to_string_pretty(&outcome) {
        let _ = std::fs::write(path, text + "\n");
    }
}
