//! `culprit bisect JOB.toml`: a kernel bisection described by a job file
//! (see `culprit_bisect::job` for the keys, `examples/kernel-demo.toml`
//! for an example).

use std::path::Path;

use culprit_bisect::job::{self, Job, RunJobError};
use culprit_bisect::Outcome;

/// Exit status for bad input.
const BAD_INPUT: i32 = 2;
/// Exit status when the outcome cannot be written.
const FAILED: i32 = 3;

/// Runs the job in `file`; returns the exit code.
pub fn run(file: &Path) -> i32 {
    let job = match Job::load(file) {
        Ok(job) => job,
        Err(e) => {
            eprintln!("culprit bisect: {e}");
            return BAD_INPUT;
        }
    };
    let mut stdout = std::io::stdout();
    match job::run(&job, &mut stdout, Box::new(std::io::stdout())) {
        Ok(outcome) => write_json(&job, &outcome, outcome.exit_code()),
        Err(RunJobError::BadInput(message)) => {
            eprintln!("culprit bisect: {}: {message}", file.display());
            let outcome = Outcome::failed(job.direction, &job.strategy, &job.bad, message);
            write_json(&job, &outcome, BAD_INPUT)
        }
    }
}

/// Writes the outcome to the job's `json` file, if any; passes `code` on.
fn write_json(job: &Job, outcome: &Outcome, code: i32) -> i32 {
    let Some(path) = &job.json else { return code };
    let written = serde_json::to_string_pretty(outcome)
        .map_err(|e| e.to_string())
        .and_then(|text| std::fs::write(path, text + "\n").map_err(|e| e.to_string()));
    match written {
        Ok(()) => {
            println!("outcome: {}", path.display());
            code
        }
        Err(e) => {
            eprintln!("culprit bisect: cannot write {}: {e}", path.display());
            if code == 0 {
                FAILED
            } else {
                code
            }
        }
    }
}
