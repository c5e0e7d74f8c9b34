//! The ELBO bound on `-log p(x_0)`: the DSE loss integrated over t, plus the prior term
//! (docs/design.md, eqs. (23), (24)).

use rand::{Rng, RngExt};

use super::{Graph, NoiseSchedule};

/// An ELBO bound estimate for one sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElboEstimate {
    /// Upper bound on `-log p(x_0)`, nats.
    pub nats: f64,
    /// Monte-Carlo standard error of `nats`.
    pub std_error: f64,
    /// Positions the bound covers.
    pub tokens: usize,
}

impl ElboEstimate {
    /// Bits per token.
    pub fn bits_per_token(&self) -> f64 {
        self.nats / (self.tokens as f64 * std::f64::consts::LN_2)
    }
}

/// Estimates the ELBO bound of `x0` with `num_t` stratified times in `[eps_t, 1]`: stratum k
/// draws `t` uniformly from `[eps_t + (1-eps_t) k/K, eps_t + (1-eps_t)(k+1)/K)`, which has the
/// same mean as plain uniform draws and much lower variance. `log_scores(x_t, sigma_bar)` gives
/// one log-score row (graph width) per position. The integral over `[eps_t, 1]` is
/// `(1 - eps_t)` times the mean over t, so that factor is applied (the reference trains with
/// the plain mean).
///
/// ```
/// use seddbio::diffusion::{elbo_bound, Graph, NoiseSchedule};
/// use rand::SeedableRng;
///
/// // A 4-token i.i.d. uniform source has entropy ln 4 per position; with the exact score the
/// // bound is close to it.
/// let graph = Graph::absorbing(4);
/// let schedule = NoiseSchedule::log_linear();
/// let exact = |x_t: &[usize], sigma_bar: f64| -> Vec<Vec<f64>> {
///     let ln_ratio = (0.25f64).ln() - sigma_bar.exp_m1().ln();
///     x_t.iter().map(|_| { let mut row = vec![ln_ratio; 5]; row[4] = 0.0; row }).collect()
/// };
/// let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(0);
/// let x0: Vec<usize> = (0..256).map(|i| i % 4).collect();
/// let bound = elbo_bound(&x0, &graph, &schedule, 128, 1e-3, &mut rng, exact);
/// let bits_error = bound.std_error / (256.0 * std::f64::consts::LN_2);
/// assert!((bound.bits_per_token() - 2.0).abs() < 4.0 * bits_error + 0.01);
/// ```
pub fn elbo_bound<R, F>(
    x0: &[usize],
    graph: &Graph,
    schedule: &NoiseSchedule,
    num_t: usize,
    eps_t: f64,
    rng: &mut R,
    mut log_scores: F,
) -> ElboEstimate
where
    R: Rng + ?Sized,
    F: FnMut(&[usize], f64) -> Vec<Vec<f64>>,
{
    let num_t = num_t.max(1);
    let span = 1.0 - eps_t;
    let mut values = Vec::with_capacity(num_t);
    let mut x_t = vec![0; x0.len()];
    for stratum in 0..num_t {
        let t = eps_t + span * (stratum as f64 + rng.random::<f64>()) / num_t as f64;
        let sigma_bar = schedule.sigma_bar(t);
        for (noised, &clean) in x_t.iter_mut().zip(x0) {
            *noised = graph.perturb(clean, sigma_bar, rng);
        }
        let scores = log_scores(&x_t, sigma_bar);
        let loss: f64 = scores
            .iter()
            .zip(x_t.iter().zip(x0))
            .map(|(row, (&noised, &clean))| graph.score_entropy(row, noised, clean, sigma_bar))
            .sum();
        values.push(span * schedule.sigma(t) * loss);
    }
    let mean = values.iter().sum::<f64>() / num_t as f64;
    let variance = if num_t > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (num_t - 1) as f64
    } else {
        0.0
    };
    let prior: f64 = x0
        .iter()
        .map(|&x| graph.prior_kl(x, schedule.sigma_bar(1.0)))
        .sum();
    ElboEstimate {
        nats: mean + prior,
        // Treating strata as independent draws overstates the error: a safe bound.
        std_error: (variance / num_t as f64).sqrt(),
        tokens: x0.len(),
    }
}
