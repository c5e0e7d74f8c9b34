//! The depthwise convolution over positions that a block may apply to q, k and v
//! (docs/design.md, eq. (47a)): `y[b, i, c] = sum_j taps[j, c] x[b, i + j - K/2, c]`, zero
//! outside the sequence, forward and backward.
//!
//! Written with burn's operations it is `K` shifted copies, products and sums of the whole
//! activation, each a pass over memory and a node of the autodiff graph (a 9-tap convolution
//! made a tiny DHS training step 43 % slower); here it is one pass that reads each row `K`
//! times from cache.

use super::{
    rows::{sum_partials, RowShape},
    vector::{vectorized, zeros},
};

/// The taps `j` whose source row `i + j - kernel / 2` lies inside a sequence of `len` rows.
#[inline(always)]
fn taps_inside(i: usize, kernel: usize, len: usize) -> std::ops::Range<usize> {
    let half = kernel / 2;
    half.saturating_sub(i)..kernel.min(len + half - i)
}

vectorized! {
    /// Rows `first..first + out.len() / width` of the convolution of one sequence `x`
    /// (`[len, width]`) with `taps` (`[kernel, width]`), added to `out`.
    fn convolve_rows(x: &[f32], taps: &[f32], width: usize, first: usize, out: &mut [f32]) {
        let len = x.len() / width;
        let kernel = taps.len() / width;
        let half = kernel / 2;
        for (r, out) in out.chunks_exact_mut(width).enumerate() {
            let i = first + r;
            for j in taps_inside(i, kernel, len) {
                let source = &x[(i + j - half) * width..][..width];
                let tap = &taps[j * width..][..width];
                for c in 0..width {
                    out[c] = M::mul_add(tap[c], source[c], out[c]);
                }
            }
        }
    }
}

vectorized! {
    /// Adds `sum_i grad[i, c] * x[i + j - half, c]` over the rows `first..` of one sequence
    /// that `grad` holds to `d_taps[j, c]`.
    fn tap_gradient_rows(x: &[f32], grad: &[f32], width: usize, first: usize, d_taps: &mut [f32]) {
        let len = x.len() / width;
        let kernel = d_taps.len() / width;
        let half = kernel / 2;
        for (r, grad) in grad.chunks_exact(width).enumerate() {
            let i = first + r;
            for j in taps_inside(i, kernel, len) {
                let source = &x[(i + j - half) * width..][..width];
                let d_tap = &mut d_taps[j * width..][..width];
                for c in 0..width {
                    d_tap[c] = M::mul_add(grad[c], source[c], d_tap[c]);
                }
            }
        }
    }
}

/// The convolution of `x` (`shape`) with `taps` (`[kernel, width]`, kernel odd).
pub fn forward(x: &[f32], taps: &[f32], shape: RowShape) -> Vec<f32> {
    let w = shape.width;
    debug_assert_eq!(x.len(), shape.batch * shape.len * w);
    debug_assert!(taps.len().is_multiple_of(w) && !(taps.len() / w).is_multiple_of(2));
    let sequence = shape.len * w;
    shape.fill_tasks(|task, out| {
        let b = task.sequence;
        convolve_rows(
            &x[b * sequence..(b + 1) * sequence],
            taps,
            w,
            task.first - b * shape.len,
            out,
        );
    })
}

/// Gradients of [`forward`] for the incoming `grad`: `(dx, d_taps)`. `dx` is the convolution
/// of `grad` with the taps reversed in position; `d_taps` is reduced over the tasks in task
/// order, so it does not depend on the thread count.
pub fn backward(x: &[f32], taps: &[f32], grad: &[f32], shape: RowShape) -> (Vec<f32>, Vec<f32>) {
    let w = shape.width;
    let kernel = taps.len() / w;
    let reversed: Vec<f32> = taps.chunks_exact(w).rev().flatten().copied().collect();
    let sequence = shape.len * w;
    let mut dx = zeros(x.len());
    let (_, partials) = shape.for_each_task(&mut dx, kernel * w, |task, dx, partial| {
        let b = task.sequence;
        let first = task.first - b * shape.len;
        let span = task.span(w);
        convolve_rows(
            &grad[b * sequence..(b + 1) * sequence],
            &reversed,
            w,
            first,
            dx,
        );
        tap_gradient_rows(
            &x[b * sequence..(b + 1) * sequence],
            &grad[span],
            w,
            first,
            partial,
        );
    });
    (dx, sum_partials(&partials, kernel * w))
}
