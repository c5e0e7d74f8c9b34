//! The DSE loss of a whole batch in one pass, from the network's last linear layer to one
//! weighted value per sequence (docs/design.md, eqs. (18)-(20)), forward and backward.
//!
//! It folds in what [`ScoreModel::forward`](crate::model::ScoreModel::forward) does after that
//! layer: the absorbing graph's scale by sigma (subtract `ln(e^sigma_bar - 1) + ln(width - 1)`)
//! and the zero log score of each position's current token. The result is
//! `weight_b * sum_i DSE_i` for sequence `b`, the integrand of
//! [`weighted_dse`](crate::model::weighted_dse). Each position costs one `exp` per vocabulary
//! entry, evaluated in f64 (vocabularies are small: 5 for DNA, about 40 for SMILES).

use rayon::prelude::*;

use crate::alphabet::TokenId;

/// What the loss needs besides the network output.
#[derive(Debug, Clone, PartialEq)]
pub struct DseTerms {
    /// Absorbing graph (output width N + 1, scale by sigma) or uniform (width N).
    pub absorbing: bool,
    /// Real tokens N.
    pub num_symbols: usize,
    /// Noised tokens `[batch * len]`.
    pub x_t: Vec<TokenId>,
    /// Clean tokens `[batch * len]`.
    pub x0: Vec<TokenId>,
    /// Total noise of each sequence `[batch]`.
    pub sigma_bar: Vec<f64>,
    /// Weight of each sequence's sum `[batch]` (the rate sigma(t) in the ELBO integrand).
    pub weight: Vec<f64>,
}

/// `K(a) = a (ln a - 1)`.
fn k(a: f64) -> f64 {
    a * (a.ln() - 1.0)
}

/// Per-sequence constants.
struct Sequence {
    shift: f64,
    inv_e: f64,
    /// Uniform graph: `e / (e + n)`, and the constants of the same / different cases.
    r: f64,
    same_const: f64,
    diff_const: f64,
}

impl DseTerms {
    fn width(&self) -> usize {
        self.num_symbols + usize::from(self.absorbing)
    }

    fn sequence(&self, b: usize) -> Sequence {
        let e = self.sigma_bar[b].exp_m1();
        let n = self.num_symbols as f64;
        let r = e / (e + n);
        Sequence {
            shift: if self.absorbing {
                e.ln() + ((self.width() - 1) as f64).ln()
            } else {
                0.0
            },
            inv_e: 1.0 / e,
            r,
            same_const: (n - 1.0) / n * k(r),
            diff_const: (k(1.0 / r) - (n - 2.0)) / n,
        }
    }

    /// [`Self::position`] at flat position `p` of the batch, whose outputs are row `p` of
    /// `z` (`[batch * len, width]`).
    fn at(&self, z: &[f32], p: usize, seq: &Sequence, grad: Option<(&mut [f32], f64)>) -> f64 {
        let w = self.width();
        self.position(
            &z[p * w..(p + 1) * w],
            usize::from(self.x_t[p]),
            usize::from(self.x0[p]),
            seq,
            grad,
        )
    }

    /// DSE at one position from its network outputs `z` (width entries); with `grad`, also
    /// writes `scale * dDSE/dz` there.
    fn position(
        &self,
        z: &[f32],
        x_t: usize,
        x0: usize,
        seq: &Sequence,
        grad: Option<(&mut [f32], f64)>,
    ) -> f64 {
        let n = self.num_symbols;
        if self.absorbing {
            if x_t != n {
                if let Some((g, _)) = grad {
                    g.fill(0.0);
                }
                return 0.0;
            }
            let s = |y: usize| f64::from(z[y]) - seq.shift;
            let positive: f64 = (0..n).map(|y| s(y).exp()).sum();
            if let Some((g, scale)) = grad {
                for (y, g) in g.iter_mut().enumerate().take(n) {
                    let own = if y == x0 { seq.inv_e } else { 0.0 };
                    *g = (scale * (s(y).exp() - own)) as f32;
                }
                g[n] = 0.0;
            }
            positive - s(x0) * seq.inv_e + k(seq.inv_e)
        } else {
            let nf = n as f64;
            // The current token's log score is 0 (ratio 1) and takes no gradient.
            let s = |y: usize| if y == x_t { 0.0 } else { f64::from(z[y]) };
            let positive: f64 = (0..n)
                .filter(|&y| y != x_t)
                .map(|y| s(y).exp())
                .sum::<f64>()
                / nf;
            let mean: f64 = (0..n).map(s).sum::<f64>() / nf;
            let same = x_t == x0;
            if let Some((g, scale)) = grad {
                for (y, g) in g.iter_mut().enumerate().take(n) {
                    *g = if y == x_t {
                        0.0
                    } else if same {
                        (scale * (s(y).exp() - seq.r) / nf) as f32
                    } else {
                        let own = if y == x0 { seq.inv_e } else { 0.0 };
                        (scale * ((s(y).exp() - 1.0) / nf - own)) as f32
                    };
                }
            }
            if same {
                positive - seq.r * mean + seq.same_const
            } else {
                positive - (mean + s(x0) * seq.inv_e) + seq.diff_const
            }
        }
    }
}

/// `weight_b * sum_i DSE_i` for each of the `batch` sequences of `z` (`[batch, len, width]`).
pub fn forward(z: &[f32], terms: &DseTerms, batch: usize, len: usize) -> Vec<f32> {
    let w = terms.width();
    assert_eq!(
        z.len(),
        batch * len * w,
        "score entropy: network output size"
    );
    (0..batch)
        .into_par_iter()
        .map(|b| {
            let seq = terms.sequence(b);
            let total: f64 = (0..len).map(|i| terms.at(z, b * len + i, &seq, None)).sum();
            (terms.weight[b] * total) as f32
        })
        .collect()
}

/// Gradient of [`forward`] with respect to `z` for the gradient `grad` (`[batch]`) of its
/// output.
pub fn backward(z: &[f32], terms: &DseTerms, grad: &[f32], batch: usize, len: usize) -> Vec<f32> {
    let w = terms.width();
    assert_eq!(
        z.len(),
        batch * len * w,
        "score entropy: network output size"
    );
    let mut dz = super::vector::zeros(z.len());
    dz.par_chunks_mut(len * w).enumerate().for_each(|(b, dz)| {
        let seq = terms.sequence(b);
        let scale = f64::from(grad[b]) * terms.weight[b];
        for (i, g) in dz.chunks_exact_mut(w).enumerate() {
            terms.at(z, b * len + i, &seq, Some((g, scale)));
        }
    });
    dz
}
