//! Bidirectional multi-head attention with the rotary embedding applied inside, forward and
//! backward (sedd.md, "The concrete score and the network": no causal mask, rotary positions,
//! `softmax(q k^T / sqrt(hd)) v`).
//!
//! Input is the packed `[batch, len, 3 d]` output of the q/k/v projection, output the
//! `[batch, len, d]` input of the output projection, so neither side needs a permute or copy.
//! Each (sequence, head) pair is one parallel task with its own `len x len` scratch matrix: the
//! `[batch, heads, len, len]` probabilities are never stored. The forward pass keeps one
//! log-sum-exp per row; the backward pass recomputes the probabilities from it (one extra
//! `len x len x hd` product), as FlashAttention does (Dao et al. 2022,
//! <https://arxiv.org/abs/2205.14135>). The products run through [`super::matmul`], one
//! thread each.

use rayon::prelude::*;

use super::{
    matmul::{matmul as product, MatrixRef, Threads},
    vector::{dot, exp, vectorized, written_by, zeros, SendPtr, LANES},
};

/// Sizes of one attention call.
#[derive(Debug, Clone, Copy)]
pub struct AttentionShape {
    /// Sequences.
    pub batch: usize,
    /// Positions per sequence.
    pub len: usize,
    /// Model width d (all heads).
    pub width: usize,
    /// Heads; `width` divides by it and the head width is even.
    pub heads: usize,
}

impl AttentionShape {
    fn head_dim(self) -> usize {
        self.width / self.heads
    }
}

/// cos and sin of the rotary angles, `[len, head_dim / 2]` each: position `p`, pair `j` turns
/// by `p * 10000^(-2j / head_dim)` (computed in f64, as the reference path in `dit.rs`).
pub fn rotary_tables(len: usize, head_dim: usize) -> (Vec<f32>, Vec<f32>) {
    let half = head_dim / 2;
    let mut cos = Vec::with_capacity(len * half);
    let mut sin = Vec::with_capacity(len * half);
    for position in 0..len {
        for j in 0..half {
            let inv = 10000f64.powf(-2.0 * j as f64 / head_dim as f64);
            cos.push((position as f64 * inv).cos() as f32);
            sin.push((position as f64 * inv).sin() as f32);
        }
    }
    (cos, sin)
}

/// `dst (m x n, row stride dst_rs) (+)= lhs (m x k) * rhs (k x n)`, strides in elements,
/// on the calling thread (each task is one head).
///
/// # Safety
/// Every pointer must be valid for the elements its strides and sizes reach, and `dst` must
/// not overlap `lhs` or `rhs` or be written by another thread meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: *mut f32,
    dst_rs: usize,
    accumulate: bool,
    lhs: *const f32,
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: *const f32,
    (rhs_rs, rhs_cs): (usize, usize),
) {
    let strided = |ptr, row_stride, col_stride| MatrixRef {
        ptr,
        row_stride,
        col_stride,
    };
    // SAFETY: forwarded from the caller.
    unsafe {
        product(
            (m, n, k),
            strided(lhs, lhs_rs, lhs_cs),
            strided(rhs, rhs_rs, rhs_cs),
            dst,
            dst_rs,
            accumulate,
            Threads::One,
        );
    }
}

vectorized! {
    /// Rotates the `len` rows of one head (row `p` at `src[p * src_rs..]`) into the
    /// contiguous `dst` `[len, hd]`, times `factor`: `(x1 cos - x2 sin, x2 cos + x1 sin)` on
    /// the two halves, the reference's `x * cos + rotate_half(x) * sin`.
    fn rotate_rows(src: &[f32], src_rs: usize, dst: &mut [f32], cos: &[f32], sin: &[f32], hd: usize, factor: f32) {
        let half = hd / 2;
        for (p, row) in dst.chunks_exact_mut(hd).enumerate() {
            let x = &src[p * src_rs..p * src_rs + hd];
            let (x1, x2) = x.split_at(half);
            let (c, s) = (&cos[p * half..(p + 1) * half], &sin[p * half..(p + 1) * half]);
            let (y1, y2) = row.split_at_mut(half);
            for j in 0..half {
                y1[j] = x1[j].mul_add(c[j], -(x2[j] * s[j])) * factor;
                y2[j] = x2[j].mul_add(c[j], x1[j] * s[j]) * factor;
            }
        }
    }
}

vectorized! {
    /// The transpose of [`rotate_rows`] (its gradient): rotates the contiguous `src`
    /// `[len, hd]` back by the same angles, times `factor`, into row `p` at `dst + p * dst_rs`.
    ///
    /// Safety of the writes: every row `dst + p * dst_rs .. + hd` must be valid and written by
    /// no other thread meanwhile.
    fn unrotate_rows(src: &[f32], dst: SendPtr, dst_rs: usize, cos: &[f32], sin: &[f32], hd: usize, factor: f32) {
        let half = hd / 2;
        for (p, g) in src.chunks_exact(hd).enumerate() {
            let row = dst.get().wrapping_add(p * dst_rs);
            let (g1, g2) = g.split_at(half);
            let (c, s) = (&cos[p * half..(p + 1) * half], &sin[p * half..(p + 1) * half]);
            for j in 0..half {
                // SAFETY: per this function's contract; plain writes (the row may not hold
                // values yet).
                unsafe {
                    row.add(j).write(g1[j].mul_add(c[j], g2[j] * s[j]) * factor);
                    row.add(half + j).write(g2[j].mul_add(c[j], -(g1[j] * s[j])) * factor);
                }
            }
        }
    }
}

vectorized! {
    /// Softmax of each `len`-wide row of `scores` in place; `lse` receives each row's
    /// log-sum-exp.
    fn softmax_rows(scores: &mut [f32], lse: &mut [f32], len: usize) {
        for (row, lse) in scores.chunks_exact_mut(len).zip(lse.iter_mut()) {
            let mut acc = [f32::NEG_INFINITY; LANES];
            let chunks = row.chunks_exact(LANES);
            let mut max = chunks.remainder().iter().fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
            for c in chunks {
                for i in 0..LANES {
                    acc[i] = if c[i] > acc[i] { c[i] } else { acc[i] };
                }
            }
            for a in acc {
                max = if a > max { a } else { max };
            }
            for v in row.iter_mut() {
                *v = exp(*v - max);
            }
            let total = super::vector::sum(row);
            let inv = 1.0 / total;
            for v in row.iter_mut() {
                *v *= inv;
            }
            *lse = max + total.ln();
        }
    }
}

vectorized! {
    /// Turns the scores `s` back into probabilities `exp(s - lse)` and the probability
    /// gradients `dp` into score gradients `p * (dp - sum_j p_j dp_j)`, row by row; the
    /// row sums `sum_j p_j dp_j = dO_i . O_i` come in `row_dot`.
    fn softmax_backward_rows(scores: &mut [f32], d_scores: &mut [f32], lse: &[f32], row_dot: &[f32], len: usize) {
        for (((p, dp), &lse), &r) in scores
            .chunks_exact_mut(len)
            .zip(d_scores.chunks_exact_mut(len))
            .zip(lse)
            .zip(row_dot)
        {
            for j in 0..len {
                let prob = exp(p[j] - lse);
                p[j] = prob;
                dp[j] = prob * (dp[j] - r);
            }
        }
    }
}

/// Per-thread buffers of one (sequence, head) task.
#[derive(Default)]
struct Scratch {
    q: Vec<f32>,
    k: Vec<f32>,
    scores: Vec<f32>,
    d_scores: Vec<f32>,
    d_q: Vec<f32>,
    d_k: Vec<f32>,
    row_dot: Vec<f32>,
}

thread_local! {
    /// Each thread's buffers, kept between calls (a new `len x len` pair per call would be
    /// allocated and zeroed for nothing).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

impl Scratch {
    /// Runs `f` with this thread's buffers sized for `shape`.
    fn with<R>(shape: AttentionShape, backward: bool, f: impl FnOnce(&mut Scratch) -> R) -> R {
        let (l, hd) = (shape.len, shape.head_dim());
        let b = usize::from(backward);
        let fit = |v: &mut Vec<f32>, len: usize| {
            if v.len() != len {
                *v = vec![0f32; len];
            }
        };
        SCRATCH.with(|cell| {
            let mut fresh = Scratch::default();
            let mut borrowed = cell.try_borrow_mut();
            let scratch = match borrowed.as_deref_mut() {
                Ok(scratch) => scratch,
                Err(_) => &mut fresh,
            };
            fit(&mut scratch.q, l * hd);
            fit(&mut scratch.k, l * hd);
            fit(&mut scratch.scores, l * l);
            if backward {
                fit(&mut scratch.d_scores, b * l * l);
                fit(&mut scratch.d_q, b * l * hd);
                fit(&mut scratch.d_k, b * l * hd);
                fit(&mut scratch.row_dot, b * l);
            }
            f(scratch)
        })
    }

    /// Rotated q (times `scale`) and rotated k of head `h` of sequence `b`, and the scores
    /// `q k^T`.
    fn scores(
        &mut self,
        qkv: &[f32],
        shape: AttentionShape,
        (b, h): (usize, usize),
        tables: &(Vec<f32>, Vec<f32>),
    ) {
        let (l, d, hd) = (shape.len, shape.width, shape.head_dim());
        let scale = (hd as f32).powf(-0.5);
        let base = b * l * 3 * d;
        let (cos, sin) = tables;
        rotate_rows(
            &qkv[base + h * hd..],
            3 * d,
            &mut self.q,
            cos,
            sin,
            hd,
            scale,
        );
        rotate_rows(
            &qkv[base + d + h * hd..],
            3 * d,
            &mut self.k,
            cos,
            sin,
            hd,
            1.0,
        );
        // SAFETY: q and k are [l, hd] and scores [l, l], all owned by this scratch.
        unsafe {
            matmul(
                (l, l, hd),
                self.scores.as_mut_ptr(),
                l,
                false,
                self.q.as_ptr(),
                (hd, 1),
                self.k.as_ptr(),
                (1, hd),
            );
        }
    }
}

/// Attention output `[batch, len, width]` and the log-sum-exp of every score row
/// `[batch, heads, len]` for the packed projections `qkv` `[batch, len, 3 width]`
/// (q, k, v in thirds, heads in consecutive slices of each).
pub fn forward(qkv: &[f32], shape: AttentionShape) -> (Vec<f32>, Vec<f32>) {
    let (l, d, hd) = (shape.len, shape.width, shape.head_dim());
    assert_eq!(qkv.len(), shape.batch * l * 3 * d, "attention: qkv size");
    let tables = rotary_tables(l, hd);
    let mut lse = zeros(shape.batch * shape.heads * l);
    let fill = |out: *mut f32| {
        let out_ptr = SendPtr(out);
        lse.par_chunks_mut(l).enumerate().for_each(|(task, lse)| {
            Scratch::with(shape, false, |scratch| {
                let (b, h) = (task / shape.heads, task % shape.heads);
                scratch.scores(qkv, shape, (b, h), &tables);
                softmax_rows(&mut scratch.scores, lse, l);
                let v = &qkv[b * l * 3 * d + 2 * d + h * hd..];
                // SAFETY: the task writes the rows of its own sequence b in the columns of its own
                // head h of `out` ([batch, len, width]): no other task writes them. `v` reaches
                // (l - 1) * 3d + hd elements from its start, inside qkv.
                unsafe {
                    matmul(
                        (l, hd, l),
                        out_ptr.get().add(b * l * d + h * hd),
                        d,
                        false,
                        scratch.scores.as_ptr(),
                        (l, 1),
                        v.as_ptr(),
                        (3 * d, 1),
                    );
                }
            })
        });
    };
    // SAFETY: the tasks write every head's columns of every row of `out` (one product each).
    let out = unsafe { written_by(shape.batch * l * d, fill) };
    (out, lse)
}

/// Gradient with respect to `qkv` (`[batch, len, 3 width]`) of [`forward`], given its inputs,
/// its output `out`, its `lse` and the output gradient `grad` (`[batch, len, width]`).
pub fn backward(
    qkv: &[f32],
    out: &[f32],
    lse: &[f32],
    grad: &[f32],
    shape: AttentionShape,
) -> Vec<f32> {
    let (l, d, hd) = (shape.len, shape.width, shape.head_dim());
    let tables = rotary_tables(l, hd);
    let scale = (hd as f32).powf(-0.5);
    let fill = |d_qkv: *mut f32| {
        let d_ptr = SendPtr(d_qkv);
        (0..shape.batch * shape.heads)
            .into_par_iter()
            .for_each(|task| {
                Scratch::with(shape, true, |scratch| {
                    let (b, h) = (task / shape.heads, task % shape.heads);
                    let lse = &lse[task * l..(task + 1) * l];
                    let head = b * l * d + h * hd; // row 0 of this head in out and grad
                    let v = &qkv[b * l * 3 * d + 2 * d + h * hd..];
                    scratch.scores(qkv, shape, (b, h), &tables);
                    for i in 0..l {
                        let row = head + i * d;
                        scratch.row_dot[i] = dot(&grad[row..row + hd], &out[row..row + hd]);
                    }
                    let d_base = b * l * 3 * d + h * hd;
                    // SAFETY: reads stay inside grad [b, l, d], v (inside qkv) and the scratch
                    // buffers ([l, l] and [l, hd]); the writes go to the rows of sequence b in the
                    // q, k and v columns of head h of d_qkv, which no other task writes.
                    unsafe {
                        // dP = dO V^T
                        matmul(
                            (l, l, hd),
                            scratch.d_scores.as_mut_ptr(),
                            l,
                            false,
                            grad.as_ptr().add(head),
                            (d, 1),
                            v.as_ptr(),
                            (1, 3 * d),
                        );
                        softmax_backward_rows(
                            &mut scratch.scores,
                            &mut scratch.d_scores,
                            lse,
                            &scratch.row_dot,
                            l,
                        );
                        // dV = P^T dO
                        matmul(
                            (l, hd, l),
                            d_ptr.get().add(d_base + 2 * d),
                            3 * d,
                            false,
                            scratch.scores.as_ptr(),
                            (1, l),
                            grad.as_ptr().add(head),
                            (d, 1),
                        );
                        // dQ' = dS K', dK' = dS^T Q'
                        matmul(
                            (l, hd, l),
                            scratch.d_q.as_mut_ptr(),
                            hd,
                            false,
                            scratch.d_scores.as_ptr(),
                            (l, 1),
                            scratch.k.as_ptr(),
                            (hd, 1),
                        );
                        matmul(
                            (l, hd, l),
                            scratch.d_k.as_mut_ptr(),
                            hd,
                            false,
                            scratch.d_scores.as_ptr(),
                            (1, l),
                            scratch.q.as_ptr(),
                            (hd, 1),
                        );
                    }
                    let (cos, sin) = &tables;
                    // q' = rotate(q) * scale, so dq = rotate^T(dQ') * scale; k' = rotate(k).
                    unrotate_rows(
                        &scratch.d_q,
                        SendPtr(d_ptr.get().wrapping_add(d_base)),
                        3 * d,
                        cos,
                        sin,
                        hd,
                        scale,
                    );
                    unrotate_rows(
                        &scratch.d_k,
                        SendPtr(d_ptr.get().wrapping_add(d_base + d)),
                        3 * d,
                        cos,
                        sin,
                        hd,
                        1.0,
                    );
                })
            });
    };
    // SAFETY: the tasks write the q, k and v columns of every head of every row (the v
    // columns by a product, q and k by `unrotate_rows`).
    unsafe { written_by(qkv.len(), fill) }
}
