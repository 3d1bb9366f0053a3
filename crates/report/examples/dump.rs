//! Prints the reports found in a file: `cargo run --example dump FILE`.
fn main() {
    for path in std::env::args().skip(1) {
        let Ok(log) = std::fs::read(&path) else {
            eprintln!("cannot read {path}");
            continue;
        };
        for r in culprit_report::parse(&log) {
            println!(
                "{path}: {} [{}] corrupted={:?} frame={:?} alts={:?}",
                r.title, r.kind, r.corrupted_reason, r.frame, r.alt_titles
            );
            if std::env::var_os("TEXT").is_some() {
                println!("{}", r.text);
            }
        }
    }
}
