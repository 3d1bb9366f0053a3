//! The fewest test runs any strategy could spend, on average, to name the
//! culprit with a given accuracy and a given number of builds: what the
//! measured rows are compared against.
//!
//! The model is kinder than the simulation, so the result is a lower
//! bound: the reproduction rate `r` is known, every commit builds, no run
//! shows an unrelated crash, and a build may go to a commit with any
//! probability `q` of holding the bug.
//!
//! - Naming one of `n` commits with accuracy `a` takes at least
//!   `log2 n - h(1 - a) - (1 - a) log2 n` bits about the culprit (Fano's
//!   inequality, `h` the binary entropy), averaged over the commit counts.
//! - A run only tells whether the commit it ran on holds the bug, so all
//!   the runs at one commit teach at most the entropy of that one yes/no
//!   question, at most one bit per build.
//! - At one commit, the cheapest way to learn is to run until the crash
//!   shows or until `m` clean runs; with prior `q` that costs
//!   `q (1 - (1-r)^m) / r + (1 - q) m` runs and teaches
//!   `h(q) - P(clean) h(P(bug | m clean))` bits.
//!
//! Spreading a budget of runs over `B` builds, the most a strategy can
//! learn is `B f(R / B)`, where `f` is the upper concave hull of those
//! (runs, bits) points over all `q` and `m`; the bound is the least `R`
//! for which that reaches the bits needed.

/// Binary entropy in bits.
fn entropy(p: f64) -> f64 {
    let h = |x: f64| if x > 0.0 { -x * x.log2() } else { 0.0 };
    h(p) + h(1.0 - p)
}

/// Bits about the culprit a strategy must learn to name it with accuracy
/// `accuracy` when the range holds `min..=max` commits, each count equally
/// likely and the culprit uniform among them.
pub fn bits_needed(min: usize, max: usize, accuracy: f64) -> f64 {
    let miss = (1.0 - accuracy).clamp(0.0, 1.0);
    let (min, max) = (min.max(1), max.max(min.max(1)));
    // Average over at most 1000 evenly spaced counts: log2 varies slowly.
    let step = ((max - min) / 1000).max(1);
    let counts: Vec<f64> = (min..=max).step_by(step).map(|n| n as f64).collect();
    let per = |n: f64| (n.log2() - entropy(miss) - miss * n.log2()).max(0.0);
    counts.iter().map(|&n| per(n)).sum::<f64>() / counts.len() as f64
}

/// Mean runs and bits of running one commit with prior `q` until it
/// crashes or ran clean `m` times, at rate `rate`.
fn one_commit(rate: f64, q: f64, m: u32) -> (f64, f64) {
    let miss = (1.0 - rate).powi(m as i32);
    let clean = 1.0 - q + q * miss;
    let after = if clean > 0.0 { q * miss / clean } else { 0.0 };
    let bits = entropy(q) - clean * entropy(after);
    let runs = q * (1.0 - miss) / rate + (1.0 - q) * m as f64;
    (runs, bits)
}

/// The upper concave hull of every (runs, bits) point of one commit, from
/// (0, 0) up to its most informative point, by increasing runs.
fn hull(rate: f64) -> Vec<(f64, f64)> {
    let mut points = vec![(0.0, 0.0)];
    for qi in 1..100 {
        for m in 1..=400 {
            points.push(one_commit(rate, qi as f64 / 100.0, m));
        }
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut hull: Vec<(f64, f64)> = Vec::new();
    for p in points {
        // Past the best point, more runs teach nothing more.
        if hull.last().is_some_and(|l| p.1 <= l.1) {
            continue;
        }
        while hull.len() >= 2 {
            let (a, b) = (hull[hull.len() - 2], hull[hull.len() - 1]);
            // Drop b when it lies on or below the line from a to p.
            if (b.1 - a.1) * (p.0 - a.0) <= (p.1 - a.1) * (b.0 - a.0) {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(p);
    }
    hull
}

/// The fewest mean runs that can teach `bits` bits with `builds` builds at
/// reproduction rate `rate`; `None` when even unlimited runs cannot (each
/// build teaches at most one bit).
pub fn min_runs(rate: f64, builds: f64, bits: f64) -> Option<f64> {
    if bits <= 0.0 {
        return Some(0.0);
    }
    if builds <= 0.0 || !(rate > 0.0 && rate <= 1.0) {
        return None;
    }
    let per_build = bits / builds;
    let hull = hull(rate);
    hull.windows(2).find_map(|w| {
        let ((r0, b0), (r1, b1)) = (w[0], w[1]);
        (per_build <= b1).then(|| builds * (r0 + (r1 - r0) * (per_build - b0) / (b1 - b0)))
    })
}

/// The fewest mean runs at rate `rate` with unlimited builds: the bits
/// over the capacity of one run (a crash only shows on a commit with the
/// bug, with chance `rate`).
pub fn min_runs_unlimited(rate: f64, bits: f64) -> f64 {
    let capacity = (1..1000)
        .map(|qi| one_commit(rate, qi as f64 / 1000.0, 1).1)
        .fold(0.0, f64::max);
    bits / capacity
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reliable_reproducer_needs_one_run_per_bit() {
        let bits = bits_needed(1024, 1024, 1.0);
        assert!((bits - 10.0).abs() < 1e-9, "{bits}");
        let runs = min_runs(1.0, 10.0, bits).unwrap_or(f64::NAN);
        assert!((runs - 10.0).abs() < 1e-6, "{runs}");
        assert!(min_runs(1.0, 9.0, bits).is_none());
    }

    #[test]
    fn fano_lowers_the_bits_with_the_accuracy() {
        let exact = bits_needed(1000, 15000, 1.0);
        let most = bits_needed(1000, 15000, 0.95);
        assert!(exact > 12.5 && exact < 13.0, "{exact}");
        assert!(most < exact - 0.5, "{most} vs {exact}");
    }

    #[test]
    fn the_one_sided_channel_capacity_is_known() {
        // Capacity of the Z channel with crossover 0.9: log2(1 + 0.1 * 0.9^9).
        let expected = (1.0 + 0.1 * 0.9f64.powi(9)).log2();
        let runs = min_runs_unlimited(0.1, 1.0);
        assert!(
            (1.0 / runs - expected).abs() < 1e-4,
            "{} {expected}",
            1.0 / runs
        );
    }

    #[test]
    fn fewer_builds_or_a_lower_rate_cost_more_runs() {
        let bits = bits_needed(1000, 15000, 0.99);
        let at = |rate, builds| min_runs(rate, builds, bits).unwrap_or(f64::INFINITY);
        assert!(at(0.2, 14.0) > at(0.2, 20.0));
        assert!(at(0.1, 20.0) > at(0.2, 20.0));
        assert!(at(0.2, 20.0) > min_runs_unlimited(0.2, bits));
    }
}
