//! `culprit sim` end to end: arguments, JSON rows, errors.

use std::process::Command;

fn culprit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_culprit"))
        .args(args)
        .output()
        .expect("run culprit")
}

#[test]
fn json_rows_cover_the_grid() {
    let out = culprit(&["sim", "--trials", "20", "--commits", "1000..1000", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // 4 rates x 2 build failure rates x 2 unrelated crash rates x
    // culprit or not, for 3 strategies.
    assert_eq!(rows.len(), 96);
    for row in &rows {
        assert_eq!(row["trials"], 20);
        assert_eq!(row["min_commits"], 1000);
        let accuracy = row["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&accuracy), "{row}");
        assert!(row["mean_runs"].as_f64().unwrap() >= 0.0);
        // The bound exists only with a culprit, and never exceeds what
        // the strategy spent.
        match row["runs_bound"].as_f64() {
            Some(bound) => {
                assert_eq!(row["culprit"], true, "{row}");
                assert!(bound <= row["mean_runs"].as_f64().unwrap() + 1e-9, "{row}");
            }
            None => assert!(row["runs_bound"].is_null(), "{row}"),
        }
    }
    let plain_reliable = rows.iter().find(|r| {
        r["strategy"] == "plain"
            && r["rate"] == 1.0
            && r["build_failure"] == 0.0
            && r["unrelated"] == 0.0
            && r["culprit"] == true
    });
    assert_eq!(plain_reliable.unwrap()["accuracy"], 1.0);
    let strategies: std::collections::BTreeSet<_> = rows
        .iter()
        .map(|r| r["strategy"].as_str().unwrap())
        .collect();
    assert_eq!(
        strategies.into_iter().collect::<Vec<_>>(),
        ["bayes", "classic", "plain"]
    );
}

#[test]
fn the_table_is_the_default_output() {
    let out = culprit(&[
        "sim",
        "--trials",
        "2",
        "--commits",
        "100..200",
        "--rates",
        "1",
        "--strategies",
        "plain",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1 + 8);
    assert!(text.starts_with("strategy"));
}

#[test]
fn targets_compare_bayes_with_classic_and_the_bound() {
    let out = culprit(&[
        "sim",
        "--trials",
        "10",
        "--commits",
        "500..500",
        "--rates",
        "0.5",
        "--strategies",
        "classic,bayes",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let (table, targets) = text
        .split_once("targets (bayes against classic):")
        .expect("a targets section");
    assert!(table.lines().next().unwrap_or("").ends_with("bound"));
    // One line per cell with a culprit: 2 build failure x 2 unrelated rates.
    let lines: Vec<&str> = targets.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "{targets}");
    for line in lines {
        assert!(line.starts_with("rate 0.5"), "{line}");
        assert!(line.contains("half of classic's runs"), "{line}");
        // log2(500) bits at 99%, at least a run per bit.
        let least: f64 = line
            .rsplit(": ")
            .next()
            .and_then(|x| x.trim().parse().ok())
            .unwrap_or_else(|| panic!("no bound in {line}"));
        assert!(least > 8.0 && least < 200.0, "{line}");
    }
}

#[test]
fn bad_arguments_are_refused() {
    for args in [
        &["sim", "--commits", "10..5"][..],
        &["sim", "--rates", "1.5"],
        &["sim", "--strategies", "magic", "--trials", "1"],
    ] {
        let out = culprit(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}
