//! The result table as aligned text, and the targets checked
//! against it.

use super::{bound, Row, Scenario};

/// Formats rows as an aligned table with a header line.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<8} {:>12} {:>5} {:>6} {:>6} {:>8} {:>7} {:>9} {:>7} {:>9} {:>7}\n",
        "strategy",
        "commits",
        "rate",
        "build",
        "other",
        "culprit",
        "trials",
        "accuracy",
        "builds",
        "runs",
        "bound"
    );
    for r in rows {
        let s = &r.scenario;
        let bound = r
            .runs_bound
            .map_or_else(|| "-".to_string(), |b| format!("{b:.1}"));
        out.push_str(&format!(
            "{:<8} {:>12} {:>5} {:>5.0}% {:>5.0}% {:>8} {:>7} {:>8.1}% {:>7.1} {:>9.1} {:>7}\n",
            r.strategy,
            format!("{}..{}", s.min_commits, s.max_commits),
            s.rate,
            s.build_failure * 100.0,
            s.unrelated * 100.0,
            match (s.culprit, s.hidden) {
                (true, false) => "yes",
                (true, true) => "hidden",
                (false, _) => "none",
            },
            r.trials,
            r.accuracy * 100.0,
            r.mean_builds,
            r.mean_runs,
            bound,
        ));
    }
    out
}

/// The accuracy bayes must reach at reproduction rate `rate`.
pub fn target_accuracy(rate: f64) -> f64 {
    if rate >= 0.2 {
        0.99
    } else {
        0.95
    }
}

/// One line per cell with a culprit where both classic and bayes ran:
/// bayes's runs against half of classic's, and the fewest runs any
/// strategy knowing the rate could spend there with classic's builds at
/// the target accuracy ([`bound::min_runs`]).
pub fn targets(rows: &[Row]) -> String {
    let find =
        |name: &str, s: &Scenario| rows.iter().find(|r| r.strategy == name && r.scenario == *s);
    let mut out = String::new();
    for bayes in rows
        .iter()
        .filter(|r| r.strategy == "bayes" && r.scenario.culprit)
    {
        let s = &bayes.scenario;
        let Some(classic) = find("classic", s) else {
            continue;
        };
        let accuracy = target_accuracy(s.rate);
        let bits = bound::bits_needed(s.min_commits, s.max_commits, accuracy);
        let least = bound::min_runs(s.rate, classic.mean_builds, bits)
            .map_or_else(|| "none".to_string(), |b| format!("{b:.1}"));
        out.push_str(&format!(
            "rate {:<4} build {:>2.0}% other {:>2.0}%: bayes {:.1}% in {:.1} builds, {:.1} runs; \
             half of classic's runs {:.1}; fewest possible in {:.1} builds at {:.0}%: {}\n",
            s.rate,
            s.build_failure * 100.0,
            s.unrelated * 100.0,
            bayes.accuracy * 100.0,
            bayes.mean_builds,
            bayes.mean_runs,
            classic.mean_runs / 2.0,
            classic.mean_builds,
            accuracy * 100.0,
            least,
        ));
    }
    out
}
