//! The adaLN-zero gated residual `x + gate * (y + bias)` (docs/design.md, eq. (47) and §11;
//! one gate per sequence and feature, the bias of the projection `y` came from,
//! if any), forward and backward.

use super::{
    rows::RowShape,
    vector::{vectorized, zeros},
};

vectorized! {
    fn forward_rows(x: &[f32], y: &[f32], bias: &[f32], gate: &[f32], out: &mut [f32]) {
        let width = gate.len();
        for ((x, y), out) in x
            .chunks_exact(width)
            .zip(y.chunks_exact(width))
            .zip(out.chunks_exact_mut(width))
        {
            for j in 0..width {
                out[j] = M::mul_add(gate[j], y[j] + bias[j], x[j]);
            }
        }
    }
}

/// `x + gate_b * (y + bias)` for `x`, `y` `[batch, len, width]`, `gate` `[batch, width]` and
/// `bias` `[width]` (zeros when the projection has none).
pub fn forward(x: &[f32], y: &[f32], bias: &[f32], gate: &[f32], shape: RowShape) -> Vec<f32> {
    let w = shape.width;
    debug_assert_eq!(x.len(), shape.batch * shape.len * w);
    shape.fill_tasks(|task, out| {
        let b = task.sequence;
        let span = task.span(w);
        forward_rows(
            &x[span.clone()],
            &y[span],
            bias,
            &gate[b * w..(b + 1) * w],
            out,
        );
    })
}

vectorized! {
    /// `dy = gate * grad` for one task's rows; adds `sum grad * (y + bias)` to `d_gate` and
    /// `sum grad` to `grad_sum` (the bias gradient is `gate * grad_sum` summed over tasks).
    fn backward_rows(
        y: &[f32],
        bias: &[f32],
        gate: &[f32],
        grad: &[f32],
        dy: &mut [f32],
        d_gate: &mut [f32],
        grad_sum: &mut [f32],
    ) {
        let width = gate.len();
        for ((y, g), dy) in y
            .chunks_exact(width)
            .zip(grad.chunks_exact(width))
            .zip(dy.chunks_exact_mut(width))
        {
            for j in 0..width {
                dy[j] = gate[j] * g[j];
                d_gate[j] = M::mul_add(g[j], y[j] + bias[j], d_gate[j]);
                grad_sum[j] += g[j];
            }
        }
    }
}

/// Gradients of [`forward`]: `(dy, d_gate, d_bias)`; `dx` is `grad` itself.
pub fn backward(
    y: &[f32],
    bias: &[f32],
    gate: &[f32],
    grad: &[f32],
    shape: RowShape,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let w = shape.width;
    let mut dy = zeros(y.len());
    let (tasks, partials) = shape.for_each_task(&mut dy, 2 * w, |task, dy, partial| {
        let b = task.sequence;
        let span = task.span(w);
        let (d_gate, grad_sum) = partial.split_at_mut(w);
        backward_rows(
            &y[span.clone()],
            bias,
            &gate[b * w..(b + 1) * w],
            &grad[span],
            dy,
            d_gate,
            grad_sum,
        );
    });
    let mut d_gate = vec![0f32; shape.batch * w];
    let mut d_bias = vec![0f32; w];
    for (partial, task) in partials.chunks_exact(2 * w).zip(&tasks) {
        let b = task.sequence;
        for j in 0..w {
            d_gate[b * w + j] += partial[j];
            d_bias[j] += gate[b * w + j] * partial[w + j];
        }
    }
    (dy, d_gate, d_bias)
}
