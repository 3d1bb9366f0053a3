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
