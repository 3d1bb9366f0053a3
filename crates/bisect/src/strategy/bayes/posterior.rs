//! The joint posterior over (culprit, reproduction rate), kept as
//! sufficient statistics per hypothesis.
//!
//! Hypotheses are the commits of the graph (`0..n`: "this commit is the
//! culprit") and `n`: "no culprit in the range". Under a hypothesis every
//! commit is either crashing (the target crash shows with per-run
//! probability `r`) or clean (it shows with a tiny false-positive rate
//! `eps`). The likelihood of a hypothesis then only depends on how many
//! crashes and clean runs fell on its crashing commits, so each update
//! touches the hypotheses of one ancestor set, and `r` is integrated out
//! over a grid with one table lookup per distinct pair of counts.

use std::collections::HashMap;

/// Marginal log-likelihood and mean rate for one pair of counts.
#[derive(Debug, Clone, Copy)]
struct Marginal {
    log_lik: f64,
    mean_rate: f64,
}

/// `count * ln(x)`, zero when `count` is zero even if `x` is.
fn times_ln(count: u32, x: f64) -> f64 {
    if count == 0 {
        0.0
    } else {
        count as f64 * x.ln()
    }
}

/// Counts and prior of a hypothesis: equal keys give equal posteriors.
type Key = (u32, u32, f64);

/// Posterior state over `n + 1` hypotheses.
#[derive(Debug, Clone)]
pub struct Posterior {
    rates: Vec<f64>,
    log_prior_rate: Vec<f64>,
    log_eps: f64,
    log_not_eps: f64,
    log_prior: Vec<f64>,
    /// Crashes on commits that crash under each hypothesis.
    crashes: Vec<u32>,
    /// Clean runs on commits that crash under each hypothesis.
    cleans: Vec<u32>,
    total_crashes: u32,
    total_cleans: u32,
    cache: HashMap<(u32, u32), Marginal>,
}

/// Normalised posterior masses and the posterior mean of the rate.
#[derive(Debug, Clone, Default)]
pub struct Masses {
    /// Probability of each hypothesis; the last one is "no culprit".
    pub mass: Vec<f64>,
    /// Posterior mean of the reproduction rate.
    pub rate: f64,
}

impl Posterior {
    /// A flat prior over the `n` commits with `no_culprit` on the last
    /// hypothesis; over the rate grid (steps of 0.05 from `min_rate`, the
    /// lowest rate worth bisecting, to 1), `reliable` on a rate of 1 and
    /// the rest spread evenly.
    pub fn new(n: usize, no_culprit: f64, reliable: f64, eps: f64, min_rate: f64) -> Self {
        let mut rates: Vec<f64> = (1..=20)
            .map(|i| i as f64 * 0.05)
            .filter(|r| *r >= min_rate - 1e-9)
            .collect();
        if rates.len() < 2 {
            rates = vec![0.95, 1.0];
        }
        let others = (1.0 - reliable) / (rates.len() - 1) as f64;
        let log_prior_rate = rates
            .iter()
            .map(|&r| if r >= 1.0 { reliable.ln() } else { others.ln() })
            .collect();
        let each = ((1.0 - no_culprit) / n.max(1) as f64).ln();
        let mut log_prior = vec![each; n + 1];
        log_prior[n] = no_culprit.ln();
        Posterior {
            rates,
            log_prior_rate,
            log_eps: eps.ln(),
            log_not_eps: (1.0 - eps).ln(),
            log_prior,
            crashes: vec![0; n + 1],
            cleans: vec![0; n + 1],
            total_crashes: 0,
            total_cleans: 0,
            cache: HashMap::new(),
        }
    }

    /// Weighs the rate grid by `crashes` crashes and `cleans` clean runs
    /// seen before this bisection at commits that had the bug (an earlier
    /// bisection of the same reproducer), as if they had been made here at
    /// a commit known to crash. Only before the first [`Posterior::add`].
    pub fn learn_rate(&mut self, crashes: f64, cleans: f64) {
        let times_ln = |count: f64, x: f64| if count > 0.0 { count * x.ln() } else { 0.0 };
        for (p, &r) in self.log_prior_rate.iter_mut().zip(&self.rates) {
            *p += times_ln(crashes, r) + times_ln(cleans, 1.0 - r);
        }
        self.cache.clear();
    }

    /// Records `crashes` and `cleans` runs at a commit that crashes exactly
    /// under the hypotheses in `crashing` (or, with `complement`, under all
    /// the others).
    pub fn add(&mut self, crashing: &[u32], complement: bool, crashes: u32, cleans: u32) {
        self.total_crashes += crashes;
        self.total_cleans += cleans;
        if complement {
            self.crashes.iter_mut().for_each(|k| *k += crashes);
            self.cleans.iter_mut().for_each(|o| *o += cleans);
            for &h in crashing {
                self.crashes[h as usize] -= crashes;
                self.cleans[h as usize] -= cleans;
            }
        } else {
            for &h in crashing {
                self.crashes[h as usize] += crashes;
                self.cleans[h as usize] += cleans;
            }
        }
    }

    fn marginal(&mut self, k: u32, o: u32) -> Marginal {
        if let Some(m) = self.cache.get(&(k, o)) {
            return *m;
        }
        let terms: Vec<(f64, f64)> = self
            .rates
            .iter()
            .zip(&self.log_prior_rate)
            .filter(|(r, _)| o == 0 || **r < 1.0)
            .map(|(&r, &p)| (r, p + times_ln(k, r) + times_ln(o, 1.0 - r)))
            .collect();
        let top = terms.iter().map(|t| t.1).fold(f64::NEG_INFINITY, f64::max);
        let (sum, rsum) = terms.iter().fold((0.0, 0.0), |(s, rs), (r, l)| {
            let w = (l - top).exp();
            (s + w, rs + w * r)
        });
        let m = Marginal {
            log_lik: top + sum.ln(),
            mean_rate: rsum / sum,
        };
        self.cache.insert((k, o), m);
        m
    }

    /// The chance that a commit that crashes shows no crash in `n` runs,
    /// with the rate as hypothesis `h`'s runs have it.
    pub fn clean_streak_chance(&self, h: usize, n: u32) -> f64 {
        let (k, o) = (self.crashes[h], self.cleans[h]);
        let logs: Vec<(f64, f64)> = self
            .rates
            .iter()
            .zip(&self.log_prior_rate)
            .filter(|(r, _)| o == 0 || **r < 1.0)
            .map(|(&r, &p)| (r, p + times_ln(k, r) + times_ln(o, 1.0 - r)))
            .collect();
        let top = logs.iter().map(|l| l.1).fold(f64::NEG_INFINITY, f64::max);
        let (total, streak) = logs.iter().fold((0.0, 0.0), |(t, s), (r, l)| {
            let w = (l - top).exp();
            (t + w, s + w * (1.0 - r).powi(n as i32))
        });
        streak / total
    }

    /// Log posterior (unnormalised) of hypothesis `h`, and its mean rate.
    fn log_post(&mut self, h: usize) -> (f64, f64) {
        let (k, o) = (self.crashes[h], self.cleans[h]);
        let m = self.marginal(k, o);
        let false_pos = (self.total_crashes - k) as f64 * self.log_eps;
        let true_neg = (self.total_cleans - o) as f64 * self.log_not_eps;
        (
            self.log_prior[h] + m.log_lik + false_pos + true_neg,
            m.mean_rate,
        )
    }

    /// Normalised masses of all hypotheses into `out`.
    pub fn masses(&mut self, out: &mut Masses) {
        let n = self.crashes.len();
        out.mass.clear();
        out.mass.reserve(n);
        // Neighbouring hypotheses mostly share their counts and prior.
        let mut last: Option<(Key, (f64, f64))> = None;
        let mut logs = Vec::with_capacity(n);
        for h in 0..n {
            let key = (self.crashes[h], self.cleans[h], self.log_prior[h]);
            let v = match last {
                Some((k, v)) if k == key => v,
                _ => self.log_post(h),
            };
            last = Some((key, v));
            logs.push(v);
        }
        let top = logs.iter().map(|v| v.0).fold(f64::NEG_INFINITY, f64::max);
        let mut last_exp: Option<(f64, f64)> = None;
        let (mut total, mut rate) = (0.0, 0.0);
        for (l, r) in logs {
            let w = match last_exp {
                Some((key, w)) if key == l => w,
                _ => (l - top).exp(),
            };
            last_exp = Some((l, w));
            total += w;
            rate += w * r;
            out.mass.push(w);
        }
        out.mass.iter_mut().for_each(|w| *w /= total);
        out.rate = rate / total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_runs_move_mass_away_from_crashing_hypotheses() {
        // Three commits in a line; hypotheses 0, 1, 2, none.
        let mut p = Posterior::new(3, 0.1, 0.05, 1e-3, 0.05);
        let mut m = Masses::default();
        // Commit 2 (the tip) crashed: crashing under every hypothesis.
        p.add(&[0, 1, 2, 3], false, 1, 0);
        // Commit 1 ran clean ten times: crashing under 0, 1 and none.
        p.add(&[0, 1, 3], false, 0, 10);
        p.masses(&mut m);
        assert!(m.mass[2] > 0.9, "{:?}", m.mass);
        assert!((m.mass.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_learned_rate_weighs_the_grid_like_runs_made_here() {
        let mut learned = Posterior::new(1, 0.01, 0.6, 1e-3, 0.1);
        learned.learn_rate(6.0, 14.0);
        let mut m = Masses::default();
        learned.add(&[0, 1], false, 1, 0);
        learned.masses(&mut m);
        let mut here = Posterior::new(1, 0.01, 0.6, 1e-3, 0.1);
        let mut h = Masses::default();
        here.add(&[0, 1], false, 7, 14);
        here.masses(&mut h);
        assert!((m.rate - h.rate).abs() < 1e-9, "{} vs {}", m.rate, h.rate);
        assert!((m.rate - 0.33).abs() < 0.05, "rate {}", m.rate);
        // A clean run seen before rules out a reproducer that always crashes.
        let mut p = Posterior::new(1, 0.01, 0.6, 1e-3, 0.1);
        p.learn_rate(20.0, 1.0);
        assert_eq!(p.clean_streak_chance(0, 0), 1.0);
        assert!(p.clean_streak_chance(0, 1) > 0.01);
    }

    #[test]
    fn the_rate_is_estimated_from_the_runs() {
        let mut p = Posterior::new(1, 0.01, 0.05, 1e-3, 0.05);
        let mut m = Masses::default();
        p.add(&[0, 1], false, 2, 18);
        p.masses(&mut m);
        assert!((m.rate - 0.13).abs() < 0.05, "rate {}", m.rate);
    }
}
