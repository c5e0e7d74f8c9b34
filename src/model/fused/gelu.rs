//! The MLP activation: bias add and the tanh-form GELU of the SEDD reference
//! (`nn.GELU(approximate="tanh")`) in one pass, forward and backward.
//!
//! `gelu(x) = x (1 + tanh(u)) / 2 = x sigmoid(2u)`, `u = sqrt(2/pi) (x + 0.044715 x^3)`: one
//! [`exp`](super::vector::exp) per element and none in the backward pass, which only needs
//! the sigmoid again.

use super::{
    rows::{sum_partials, RowShape},
    vector::{sigmoid, vectorized, zeros},
};

/// `2 sqrt(2 / pi)`.
const TWO_SQRT_2_OVER_PI: f32 =
    (2.0 * core::f64::consts::FRAC_2_SQRT_PI * core::f64::consts::FRAC_1_SQRT_2) as f32;
const CUBIC: f32 = 0.044715;

vectorized! {
    fn forward_rows(u: &[f32], bias: &[f32], out: &mut [f32]) {
        let width = bias.len();
        for (row, out) in u.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
            for j in 0..width {
                let x = row[j] + bias[j];
                let z = TWO_SQRT_2_OVER_PI * x * M::mul_add(x * x, CUBIC, 1.0);
                out[j] = x * sigmoid::<M>(z);
            }
        }
    }
}

/// `gelu(u + bias)` for `u` `[rows, width]`, `bias` `[width]`.
pub fn forward(u: &[f32], bias: &[f32], shape: RowShape) -> Vec<f32> {
    let w = shape.width;
    shape.fill_tasks(|task, out| forward_rows(&u[task.span(w)], bias, out))
}

vectorized! {
    /// Writes the input gradient of one task's rows and adds their sum to `d_bias`.
    fn backward_rows(u: &[f32], bias: &[f32], grad: &[f32], du: &mut [f32], d_bias: &mut [f32]) {
        let width = bias.len();
        for ((row, g), du) in u
            .chunks_exact(width)
            .zip(grad.chunks_exact(width))
            .zip(du.chunks_exact_mut(width))
        {
            for j in 0..width {
                let x = row[j] + bias[j];
                let x2 = x * x;
                let s = sigmoid::<M>(TWO_SQRT_2_OVER_PI * x * M::mul_add(x2, CUBIC, 1.0));
                // d/dx [x s(z)] = s + x s (1 - s) dz/dx, dz/dx = c (1 + 3 a x^2)
                let dz = TWO_SQRT_2_OVER_PI * M::mul_add(x2, 3.0 * CUBIC, 1.0);
                let slope = M::mul_add(x * s * (1.0 - s), dz, s);
                du[j] = g[j] * slope;
                d_bias[j] += du[j];
            }
        }
    }
}

/// Gradients of [`forward`] with respect to `u` and `bias`.
pub fn backward(u: &[f32], bias: &[f32], grad: &[f32], shape: RowShape) -> (Vec<f32>, Vec<f32>) {
    let w = shape.width;
    let mut du = zeros(u.len());
    let (_, partials) = shape.for_each_task(&mut du, w, |task, du, partial| {
        backward_rows(&u[task.span(w)], bias, &grad[task.span(w)], du, partial);
    });
    (du, sum_partials(&partials, w))
}
