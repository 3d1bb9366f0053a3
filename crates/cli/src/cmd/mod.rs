//! Subcommands. Each lives in its own module and returns an exit code.
use clap::{Parser, Subcommand};

mod bisect;
mod cache;
mod doctor;
mod flags;
mod job;
mod report;
mod serve;
mod sim;
mod worker;

/// Finds the commit that broke something, and the commit that fixed it.
#[derive(Parser)]
#[command(name = "culprit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bisect a repository to the commit that introduced (or fixed) a crash.
    Bisect(Box<bisect::Args>),
    /// Parse console output files and name the crashes in them.
    Report(report::Args),
    /// Tell what this machine has and lacks for kernel bisection.
    Doctor(doctor::Args),
    /// Run the bisection strategies on simulated histories.
    Sim(sim::Args),
    /// Show the store of built kernels shared by bisections, or prune it.
    Cache(cache::Args),
    /// Serve the bisection service's API and dashboard (PostgreSQL queue).
    Serve(serve::Args),
    /// Run bisections from the service's queue.
    Worker(worker::Args),
    /// Write the job file of a syzbot bug (its JSON and files).
    Job(job::Args),
}

/// Parses the command line and runs the subcommand; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // Bad input gets one clear line, not clap's usage block.
            let text = e.render().to_string();
            let first: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!("{}", first.join(" "));
            return 2;
        }
        Err(e) => {
            let _ = e.print();
            return 0;
        }
    };
    match cli.command {
        Command::Bisect(args) => bisect::run(*args),
        Command::Report(args) => report::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Sim(args) => sim::run(args),
        Command::Cache(args) => cache::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Worker(args) => worker::run(args),
        Command::Job(args) => job::run(args),
    }
}
