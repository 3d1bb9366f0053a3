//! How much one run at a commit would teach about the culprit.

fn entropy(p: f64) -> f64 {
    let h = |x: f64| if x > 0.0 { -x * x.ln() } else { 0.0 };
    h(p) + h(1.0 - p)
}

/// Expected information about the culprit from one run at a commit that
/// crashes with probability `q`, given the reproduction rate.
pub struct Gain {
    rate: f64,
    eps: f64,
    constant: [f64; 2],
}

impl Gain {
    pub fn new(rate: f64, eps: f64) -> Self {
        let rate = rate.clamp(0.01, 1.0);
        Gain {
            rate,
            eps,
            constant: [entropy(rate), entropy(eps)],
        }
    }

    pub fn at(&self, q: f64) -> f64 {
        entropy(q * self.rate + (1.0 - q) * self.eps)
            - q * self.constant[0]
            - (1.0 - q) * self.constant[1]
    }

    /// The `q` with the largest gain (the gain is concave in `q`).
    pub fn best_q(&self) -> f64 {
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..60 {
            let (a, b) = (lo + (hi - lo) / 3.0, hi - (hi - lo) / 3.0);
            if self.at(a) < self.at(b) {
                lo = a;
            } else {
                hi = b;
            }
        }
        (lo + hi) / 2.0
    }
}
