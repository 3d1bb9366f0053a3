//! `culprit job --from-syzbot BUG.json --repo LINUX`: the job file of a
//! syzbot bug, from the dashboard's bug JSON and the files saved beside it
//! (config, reproducers, report), ready for `culprit bisect JOB.toml`.

use std::path::{Path, PathBuf};

use culprit_exec::syzbot::{self, SyzbotJob};

/// Arguments of `culprit job`.
#[derive(clap::Args)]
pub struct Args {
    /// The syzbot bug's JSON (the dashboard's bug page with ?json=1); its
    /// files (config, repro.syz, repro.c, report.txt) saved beside it.
    #[arg(long, value_name = "BUG.json")]
    from_syzbot: PathBuf,
    /// The kernel repository to bisect the bug in.
    #[arg(long, value_name = "PATH")]
    repo: PathBuf,
    /// A syzkaller checkout (built at the crash's syzkaller commit) or a
    /// directory with built syz-execprog and syz-executor.
    #[arg(long, value_name = "DIR")]
    syzkaller: Option<PathBuf>,
    /// Where to write the job file (default: job.toml beside BUG.json).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

/// Runs `culprit job`; returns the exit code.
pub fn run(args: Args) -> i32 {
    let repo = std::path::absolute(&args.repo).unwrap_or_else(|_| args.repo.clone());
    let job = match syzbot::job_from_bug(&args.from_syzbot, &repo, args.syzkaller.as_deref()) {
        Ok(job) => job,
        Err(e) => {
            eprintln!("culprit job: {e}");
            return 2;
        }
    };
    let dir = args
        .from_syzbot
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let output = args.output.clone().unwrap_or_else(|| dir.join("job.toml"));
    if output.exists() && !args.force {
        eprintln!(
            "culprit job: {} exists (give --force to replace it, or --output)",
            output.display()
        );
        return 2;
    }
    let job_dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Err(e) = std::fs::write(&output, job.to_toml(job_dir)) {
        eprintln!("culprit job: {}: {e}", output.display());
        return 2;
    }
    for line in account(&job) {
        eprintln!("culprit job: {line}");
    }
    println!("{}", output.display());
    if job.missing.is_empty() {
        0
    } else {
        1
    }
}

/// What a job made from a bug says about itself: which crash it took, the
/// compiler, and what is missing.
pub fn account(job: &SyzbotJob) -> Vec<String> {
    let mut lines = vec![format!(
        "syzbot bug {:?}: crash {} of {}, bad end {}, crash {:?}",
        job.bug_title,
        job.crash_index.0 + 1,
        job.crash_index.1,
        job.bad,
        job.crash
    )];
    lines.extend(job.compiler_note.iter().cloned());
    lines.extend(job.notes.iter().cloned());
    lines.extend(job.missing.iter().map(|m| format!("missing: {m}")));
    lines
}
