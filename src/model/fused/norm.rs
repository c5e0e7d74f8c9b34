//! Layer norm with the adaLN shift and scale in one pass (docs/design.md, eqs. (47), (51):
//! `modulate(LN(x), shift, scale) = LN(x) * (1 + scale) + shift`, one shift and scale
//! per sequence), forward and backward.
//!
//! The backward pass recomputes each row's mean and inverse standard deviation from `x` (one
//! read of the row) instead of keeping them.

use super::{
    rows::RowShape,
    vector::{dot, sum, vectorized, zeros, MulAdd, LANES},
};

/// Mean and `1 / sqrt(var + eps)` of one row (biased variance, as burn's `layer_norm`).
#[inline(always)]
fn moments<M: MulAdd>(x: &[f32], epsilon: f32) -> (f32, f32) {
    let n = x.len() as f32;
    let mean = sum(x) / n;
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let mut rest = 0f32;
    for &v in chunks.remainder() {
        rest += (v - mean) * (v - mean);
    }
    for c in chunks {
        for i in 0..LANES {
            let centred = c[i] - mean;
            acc[i] = M::mul_add(centred, centred, acc[i]);
        }
    }
    let var = (acc.iter().sum::<f32>() + rest) / n;
    (mean, 1.0 / (var + epsilon).sqrt())
}

vectorized! {
    fn forward_rows(
        x: &[f32],
        out: &mut [f32],
        gamma: &[f32],
        shift: &[f32],
        scale: &[f32],
        epsilon: f32,
    ) {
        let width = gamma.len();
        for (row, out_row) in x.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
            let (mean, rstd) = moments::<M>(row, epsilon);
            for j in 0..width {
                let normed = (row[j] - mean) * rstd * gamma[j];
                out_row[j] = M::mul_add(normed, 1.0 + scale[j], shift[j]);
            }
        }
    }
}

/// `LN(x) * gamma * (1 + scale_b) + shift_b` for `x` `[batch, len, width]` (rows contiguous),
/// `gamma` `[width]`, `shift` and `scale` `[batch, width]`.
pub fn forward(
    x: &[f32],
    gamma: &[f32],
    shift: &[f32],
    scale: &[f32],
    shape: RowShape,
    epsilon: f32,
) -> Vec<f32> {
    let w = shape.width;
    debug_assert_eq!(x.len(), shape.batch * shape.len * w);
    shape.fill_tasks(|task, out| {
        let b = task.sequence;
        forward_rows(
            &x[task.span(w)],
            out,
            gamma,
            &shift[b * w..(b + 1) * w],
            &scale[b * w..(b + 1) * w],
            epsilon,
        );
    })
}

/// Gradients of [`forward`]'s inputs.
#[derive(Debug)]
pub struct Gradients {
    /// `[batch, len, width]`.
    pub x: Vec<f32>,
    /// `[width]`.
    pub gamma: Vec<f32>,
    /// `[batch, width]`.
    pub shift: Vec<f32>,
    /// `[batch, width]`.
    pub scale: Vec<f32>,
}

vectorized! {
    /// One task's rows: writes `dx` and adds the task's share of the parameter gradients to
    /// `partial` = `[d gamma | d shift | d scale]`.
    fn backward_rows(
        x: &[f32],
        grad: &[f32],
        dx: &mut [f32],
        partial: &mut [f32],
        gamma: &[f32],
        scale: &[f32],
        epsilon: f32,
    ) {
        let width = gamma.len();
        let (d_gamma, rest) = partial.split_at_mut(width);
        let (d_shift, d_scale) = rest.split_at_mut(width);
        let mut normed = vec![0f32; width];
        let mut d_normed = vec![0f32; width];
        for ((row, g), dx_row) in x
            .chunks_exact(width)
            .zip(grad.chunks_exact(width))
            .zip(dx.chunks_exact_mut(width))
        {
            let (mean, rstd) = moments::<M>(row, epsilon);
            for j in 0..width {
                let xhat = (row[j] - mean) * rstd;
                let s1 = 1.0 + scale[j];
                normed[j] = xhat;
                d_normed[j] = g[j] * gamma[j] * s1;
                d_shift[j] += g[j];
                d_scale[j] = M::mul_add(g[j] * xhat, gamma[j], d_scale[j]);
                d_gamma[j] = M::mul_add(g[j] * xhat, s1, d_gamma[j]);
            }
            let n = width as f32;
            let mean_d = sum(&d_normed) / n;
            let mean_dx = dot::<M>(&d_normed, &normed) / n;
            for j in 0..width {
                dx_row[j] = rstd * (d_normed[j] - mean_d - normed[j] * mean_dx);
            }
        }
    }
}

/// Gradients of [`forward`] for the output gradient `grad` (`[batch, len, width]`).
pub fn backward(
    x: &[f32],
    gamma: &[f32],
    scale: &[f32],
    grad: &[f32],
    shape: RowShape,
    epsilon: f32,
) -> Gradients {
    let w = shape.width;
    let mut dx = zeros(x.len());
    let (tasks, partials) = shape.for_each_task(&mut dx, 3 * w, |task, dx, partial| {
        let b = task.sequence;
        backward_rows(
            &x[task.span(w)],
            &grad[task.span(w)],
            dx,
            partial,
            gamma,
            &scale[b * w..(b + 1) * w],
            epsilon,
        );
    });
    // Reduce the tasks' partial sums in task order, so the result does not depend on which
    // thread ran what.
    let mut grads = Gradients {
        x: dx,
        gamma: vec![0f32; w],
        shift: vec![0f32; shape.batch * w],
        scale: vec![0f32; shape.batch * w],
    };
    for (partial, task) in partials.chunks_exact(3 * w).zip(&tasks) {
        let b = task.sequence;
        for j in 0..w {
            grads.gamma[j] += partial[j];
            grads.shift[b * w + j] += partial[w + j];
            grads.scale[b * w + j] += partial[2 * w + j];
        }
    }
    grads
}
