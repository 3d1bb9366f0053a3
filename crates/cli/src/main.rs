//! The `culprit` command line: a thin layer over the library crates.
mod cmd;

fn main() {
    std::process::exit(cmd::main());
}
