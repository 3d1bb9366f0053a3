//! Prints why each function named on stdin is generic (its class) or
//! `-`: `echo memcpy | cargo run --example classify`.
use std::io::BufRead;

fn main() {
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let func = line.trim();
        if func.is_empty() {
            continue;
        }
        let class = culprit_report::generic_class(func).map_or("-", |c| c.name());
        println!("{func} {class}");
    }
}
