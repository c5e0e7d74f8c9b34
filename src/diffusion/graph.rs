//! The forward CTMCs in closed form, and the per-position quantities built on them: DSE loss,
//! Euler reverse rates and analytic (Tweedie) sampling weights (docs/design.md, §3, §5, §7).
//!
//! These are the scalar reference implementation, in f64: the samplers use them directly, and
//! the batched tensor versions in the model are tested against them.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// Which forward process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GraphKind {
    /// Every token jumps to an extra MASK token at rate 1.
    Absorb,
    /// Every token jumps to a uniformly drawn token at rate 1.
    Uniform,
}

crate::choices::named_choices!(GraphKind, "graph", {
    Absorb => "absorb",
    Uniform => "uniform",
});

/// A forward CTMC over `num_symbols` real tokens.
///
/// Token ids `0..num_symbols` are the alphabet's; the absorbing graph adds MASK = `num_symbols`,
/// so its output width is `num_symbols + 1`.
///
/// ```
/// use seddbio::diffusion::Graph;
///
/// let graph = Graph::absorbing(4);
/// assert_eq!((graph.width(), graph.mask()), (5, Some(4)));
/// // p(x_t | x_0 = 2) at sigma_bar = ln 2: kept with probability 1/2, else masked.
/// let p = graph.transition(2, 2f64.ln());
/// assert!((p[2] - 0.5).abs() < 1e-12 && (p[4] - 0.5).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graph {
    /// Absorbing or uniform.
    pub kind: GraphKind,
    /// Real tokens N.
    pub num_symbols: usize,
}

/// `K(a) = a (ln a - 1)`: makes each DSE term >= 0 and exactly 0 at the true ratio.
fn k(a: f64) -> f64 {
    a * (a.ln() - 1.0)
}

impl Graph {
    /// The absorbing (masking) graph.
    pub fn absorbing(num_symbols: usize) -> Graph {
        Graph {
            kind: GraphKind::Absorb,
            num_symbols,
        }
    }

    /// The uniform graph.
    pub fn uniform(num_symbols: usize) -> Graph {
        Graph {
            kind: GraphKind::Uniform,
            num_symbols,
        }
    }

    /// The network's output width: N + 1 (absorb) or N (uniform).
    pub fn width(&self) -> usize {
        match self.kind {
            GraphKind::Absorb => self.num_symbols + 1,
            GraphKind::Uniform => self.num_symbols,
        }
    }

    /// The MASK id of the absorbing graph.
    pub fn mask(&self) -> Option<usize> {
        (self.kind == GraphKind::Absorb).then_some(self.num_symbols)
    }

    /// The rate matrix Q (width x width), columns indexed by the current state, so that
    /// `p_t(x_t | x_0) = exp(sigma_bar Q)[x_t, x_0]`. For tests and documentation: the rest of
    /// this module never forms a matrix exponential.
    pub fn rate_matrix(&self) -> Vec<Vec<f64>> {
        let w = self.width();
        let n = self.num_symbols as f64;
        let mut q = vec![vec![0.0; w]; w];
        for (to, row) in q.iter_mut().enumerate() {
            for (from, entry) in row.iter_mut().enumerate() {
                *entry = match self.kind {
                    GraphKind::Absorb if from == self.num_symbols => 0.0,
                    GraphKind::Absorb if to == from => -1.0,
                    GraphKind::Absorb if to == self.num_symbols => 1.0,
                    GraphKind::Absorb => 0.0,
                    GraphKind::Uniform => 1.0 / n - if to == from { 1.0 } else { 0.0 },
                };
            }
        }
        q
    }

    /// `p(x_t = . | x_0)` at total noise `sigma_bar`, in closed form.
    pub fn transition(&self, x0: usize, sigma_bar: f64) -> Vec<f64> {
        let keep = (-sigma_bar).exp();
        let mut p = vec![0.0; self.width()];
        match self.kind {
            GraphKind::Absorb => {
                if Some(x0) == self.mask() {
                    p[x0] = 1.0;
                } else {
                    p[x0] = keep;
                    p[self.num_symbols] = -(-sigma_bar).exp_m1();
                }
            }
            GraphKind::Uniform => {
                let spread = -(-sigma_bar).exp_m1() / self.num_symbols as f64;
                p.fill(spread);
                p[x0] += keep;
            }
        }
        p
    }

    /// Draws x_t from `p(. | x_0)`: absorb masks with probability `1 - e^-sigma_bar`; uniform
    /// replaces the token by one drawn from all N with that probability.
    pub fn perturb<R: Rng + ?Sized>(&self, x0: usize, sigma_bar: f64, rng: &mut R) -> usize {
        let move_prob = -(-sigma_bar).exp_m1();
        if rng.random::<f64>() >= move_prob {
            return x0;
        }
        match self.kind {
            GraphKind::Absorb => self.num_symbols,
            GraphKind::Uniform => rng.random_range(0..self.num_symbols),
        }
    }

    /// A draw from the limit distribution at t = 1: MASK, or a uniform token.
    pub fn sample_limit<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        match self.kind {
            GraphKind::Absorb => self.num_symbols,
            GraphKind::Uniform => rng.random_range(0..self.num_symbols),
        }
    }

    /// The DSE loss of one position before the `sigma(t)` weight (docs/design.md, eqs. (18)
    /// and (19)): `log_score` is the network's output row (width entries), `x_t` the noised
    /// token, `x0` the clean one. Always >= 0; 0 exactly when the scores are the true ratios.
    pub fn score_entropy(&self, log_score: &[f64], x_t: usize, x0: usize, sigma_bar: f64) -> f64 {
        let e = sigma_bar.exp_m1();
        let n = self.num_symbols;
        match self.kind {
            GraphKind::Absorb => {
                if x_t != n {
                    return 0.0; // unmasked positions carry no loss
                }
                let positive: f64 = log_score[..n].iter().map(|s| s.exp()).sum();
                positive - log_score[x0] / e + k(1.0 / e)
            }
            GraphKind::Uniform => {
                let nf = n as f64;
                let r = e / (e + nf);
                let others = || (0..n).filter(|&y| y != x_t).map(|y| log_score[y]);
                let positive = others().map(f64::exp).sum::<f64>() / nf;
                let mean_score = others().sum::<f64>() / nf;
                if x_t == x0 {
                    positive - r * mean_score + (nf - 1.0) / nf * k(r)
                } else {
                    positive - (mean_score + log_score[x0] / e) + (k(1.0 / r) - (nf - 2.0)) / nf
                }
            }
        }
    }

    /// Euler reverse rates out of `x_t` before the `dt * sigma(t)` factor: the rate to each
    /// `y != x_t`, and minus their sum on the diagonal (docs/design.md, eq. (30)).
    pub fn reverse_rates(&self, log_score: &[f64], x_t: usize) -> Vec<f64> {
        let mut rates = vec![0.0; self.width()];
        match self.kind {
            GraphKind::Absorb => {
                if x_t == self.num_symbols {
                    for (rate, s) in rates.iter_mut().zip(&log_score[..self.num_symbols]) {
                        *rate = s.exp();
                    }
                }
            }
            GraphKind::Uniform => {
                let n = self.num_symbols as f64;
                for (y, rate) in rates.iter_mut().enumerate() {
                    if y != x_t {
                        *rate = log_score[y].exp() / n;
                    }
                }
            }
        }
        let total: f64 = rates.iter().sum();
        rates[x_t] = -total;
        rates
    }

    /// Unnormalised categorical weights of one analytic ("Tweedie tau-leaping") step that
    /// lowers the total noise by `delta_sigma` (docs/design.md, eqs. (31)-(33)). Entries may be
    /// slightly negative with an imperfect score; [`sample_categorical`] treats them as 0.
    pub fn analytic_weights(&self, log_score: &[f64], x_t: usize, delta_sigma: f64) -> Vec<f64> {
        let w = self.width();
        let ratio = |y: usize| if y == x_t { 1.0 } else { log_score[y].exp() };
        match self.kind {
            GraphKind::Absorb => {
                let mut weights = vec![0.0; w];
                if x_t != self.num_symbols {
                    weights[x_t] = 1.0; // an unmasked position never changes
                    return weights;
                }
                let jump = delta_sigma.exp_m1();
                let mut total = 0.0;
                for (y, weight) in weights[..self.num_symbols].iter_mut().enumerate() {
                    *weight = jump * ratio(y);
                    total += *weight;
                }
                weights[self.num_symbols] = 1.0 - total;
                weights
            }
            GraphKind::Uniform => {
                let n = self.num_symbols as f64;
                let keep = (-delta_sigma).exp();
                let sum: f64 = (0..w).map(ratio).sum();
                (0..w)
                    .map(|y| {
                        let staggered = ratio(y) / keep + (keep - 1.0) / (n * keep) * sum;
                        let back = (1.0 - keep) / n + if y == x_t { keep } else { 0.0 };
                        staggered * back
                    })
                    .collect()
            }
        }
    }

    /// The prior term of the ELBO: `KL(p_1(. | x_0) || limit)` in nats. Zero-width for
    /// uniform with a large `sigma_bar(1)`; for absorb the limit is a point mass on MASK and
    /// the term is left out, as in the reference (its mass `e^-sigma_bar(1)` is 1e-3 or less).
    pub fn prior_kl(&self, x0: usize, sigma_bar_1: f64) -> f64 {
        match self.kind {
            GraphKind::Absorb => 0.0,
            GraphKind::Uniform => {
                let n = self.num_symbols as f64;
                self.transition(x0, sigma_bar_1)
                    .iter()
                    .filter(|&&p| p > 0.0)
                    .map(|&p| p * (p * n).ln())
                    .sum()
            }
        }
    }
}

/// Draws an index from non-negative unnormalised weights by Gumbel-max in f64 (argmax of
/// `w / Exp(1)`; docs/design.md, eq. (29): f32 noise lowers the effective temperature).
/// Negative weights count as 0. Returns `None` when every weight is 0.
pub fn sample_categorical<R: Rng + ?Sized>(weights: &[f64], rng: &mut R) -> Option<usize> {
    let mut best = None;
    let mut best_value = 0.0;
    for (i, &w) in weights.iter().enumerate() {
        if w > 0.0 {
            // Exp(1) = -ln(U), U in (0, 1].
            let u: f64 = 1.0 - rng.random::<f64>();
            let value = w / -u.ln();
            if value > best_value {
                best_value = value;
                best = Some(i);
            }
        }
    }
    best
}
