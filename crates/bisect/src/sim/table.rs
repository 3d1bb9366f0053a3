//! The result table as aligned text.

use super::Row;

/// Formats rows as an aligned table with a header line.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<8} {:>12} {:>5} {:>6} {:>6} {:>8} {:>7} {:>9} {:>7} {:>9}\n",
        "strategy",
        "commits",
        "rate",
        "build",
        "other",
        "culprit",
        "trials",
        "accuracy",
        "builds",
        "runs"
    );
    for r in rows {
        let s = &r.scenario;
        out.push_str(&format!(
            "{:<8} {:>12} {:>5} {:>5.0}% {:>5.0}% {:>8} {:>7} {:>8.1}% {:>7.1} {:>9.1}\n",
            r.strategy,
            format!("{}..{}", s.min_commits, s.max_commits),
            s.rate,
            s.build_failure * 100.0,
            s.unrelated * 100.0,
            if s.culprit { "yes" } else { "none" },
            r.trials,
            r.accuracy * 100.0,
            r.mean_builds,
            r.mean_runs,
        ));
    }
    out
}
