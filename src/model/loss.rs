//! The DSE loss on tensors (docs/design.md, eqs. (18), (19)): the batched twin of
//! [`Graph::score_entropy`](crate::diffusion::Graph::score_entropy), tested against it in
//! `tests/model.rs`.

use burn::tensor::{Device, Int, Tensor, TensorData};

/// `K(a) = a (ln a - 1)`.
fn k(a: f64) -> f64 {
    a * (a.ln() - 1.0)
}

fn per_sequence(values: Vec<f64>, device: &Device) -> Tensor<3> {
    let b = values.len();
    let values: Vec<f32> = values.into_iter().map(|v| v as f32).collect();
    Tensor::<1>::from_data(TensorData::new(values, [b]), device).reshape([b, 1, 1])
}

/// Per-position DSE loss [B, L] before the sigma(t) weight, for log scores [B, L, width],
/// noised tokens `x_t` and clean tokens `x0` [B, L], one `sigma_bar` per sequence.
/// `absorbing` selects the graph; `num_symbols` is N.
pub fn score_entropy(
    log_score: Tensor<3>,
    x_t: Tensor<2, Int>,
    x0: Tensor<2, Int>,
    sigma_bar: &[f64],
    absorbing: bool,
    num_symbols: usize,
) -> Tensor<2> {
    let device = log_score.device();
    let [b, l, _] = log_score.dims();
    let e: Vec<f64> = sigma_bar.iter().map(|s| s.exp_m1()).collect();
    let s_x0 = log_score.clone().gather(2, x0.clone().unsqueeze_dim(2));
    let loss = if absorbing {
        let positive = log_score.narrow(2, 0, num_symbols).exp().sum_dim(2);
        let inv_e = per_sequence(e.iter().map(|e| 1.0 / e).collect(), &device);
        let constant = per_sequence(e.iter().map(|e| k(1.0 / e)).collect(), &device);
        let masked = x_t
            .equal_elem(num_symbols as i64)
            .unsqueeze_dim::<3>(2)
            .float();
        (positive - s_x0 * inv_e + constant) * masked
    } else {
        let n = num_symbols as f64;
        let s_xt = log_score.clone().gather(2, x_t.clone().unsqueeze_dim(2));
        let positive = (log_score.clone().exp().sum_dim(2) - s_xt.clone().exp()) / n;
        let mean_score = (log_score.sum_dim(2) - s_xt) / n;
        let r: Vec<f64> = e.iter().map(|e| e / (e + n)).collect();
        let r_t = per_sequence(r.clone(), &device);
        let inv_e = per_sequence(e.iter().map(|e| 1.0 / e).collect(), &device);
        let same_const = per_sequence(r.iter().map(|&r| (n - 1.0) / n * k(r)).collect(), &device);
        let diff_const = per_sequence(
            r.iter().map(|&r| (k(1.0 / r) - (n - 2.0)) / n).collect(),
            &device,
        );
        let same = positive.clone() - r_t * mean_score.clone() + same_const;
        let different = positive - (mean_score + s_x0 * inv_e) + diff_const;
        let unchanged = x_t.equal(x0).unsqueeze_dim::<3>(2);
        different.mask_where(unchanged, same)
    };
    loss.reshape([b, l])
}
