//! Bidirectional multi-head attention with the rotary embedding applied inside, forward and
//! backward (docs/design.md, eq. (48) and §11: no causal mask, rotary positions,
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
    vector::{dot, exp, vectorized, written_by, zeros, SendPtr},
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
    /// The unnormalised softmax of each `len`-wide row of `scores` in place:
    /// `exp(s - max)`, in three passes (the maximum, the exponentials, their sum). `lse`
    /// receives each row's log-sum-exp, `inverse` each row's `1 / sum`, by which the product
    /// with v is scaled afterwards (scaling the `len x hd` output instead of the `len x len`
    /// probabilities).
    fn softmax_rows(scores: &mut [f32], lse: &mut [f32], inverse: &mut [f32], len: usize) {
        for ((row, lse), inverse) in scores.chunks_exact_mut(len).zip(lse.iter_mut()).zip(inverse.iter_mut()) {
            let max = super::vector::max(row);
            // Two simple loops, not one: LLVM vectorises `exp` over a plain loop, not over
            // a loop that also carries eight running sums.
            for v in row.iter_mut() {
                *v = exp(*v - max);
            }
            let total = super::vector::sum(row);
            *inverse = 1.0 / total;
            *lse = max + total.ln();
        }
    }
}

vectorized! {
    /// Multiplies row `i` (`hd` values at `out + i * stride`) by `factors[i]`.
    ///
    /// Safety of the writes: the rows must be valid and written by no other thread meanwhile.
    fn scale_rows(out: SendPtr, stride: usize, hd: usize, factors: &[f32]) {
        for (i, &f) in factors.iter().enumerate() {
            // SAFETY: per this function's contract.
            let row = unsafe { std::slice::from_raw_parts_mut(out.get().add(i * stride), hd) };
            for v in row {
                *v *= f;
            }
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

vectorized! {
    /// [`softmax_backward_rows`] from the forward pass's kept exponentials: probabilities
    /// `p = e * inverse` into `probs`, score gradients `p * (dp - row_dot)` into `d_scores`.
    fn softmax_backward_kept_rows(
        exps: &[f32],
        inverse: &[f32],
        probs: &mut [f32],
        d_scores: &mut [f32],
        row_dot: &[f32],
        len: usize,
    ) {
        for ((((e, p), dp), &inv), &r) in exps
            .chunks_exact(len)
            .zip(probs.chunks_exact_mut(len))
            .zip(d_scores.chunks_exact_mut(len))
            .zip(inverse)
            .zip(row_dot)
        {
            for j in 0..len {
                let prob = e[j] * inv;
                p[j] = prob;
                dp[j] = prob * (dp[j] - r);
            }
        }
    }
}

/// Bytes of kept exponentials per attention layer up to which training keeps them for the
/// backward pass instead of recomputing the scores and their exponentials (one product and
/// one `exp` per score, about a seventh of the attention's work): 32 x 256 with 4 heads
/// keeps 34 MB a layer, 8 x 1024 134 MB; the medium preset at 16 x 1024 (537 MB a layer)
/// recomputes.
pub const KEEP_BYTES: usize = 256 << 20;

/// Whether training keeps the exponentials of `shape` (see [`KEEP_BYTES`]).
pub fn keeps(shape: AttentionShape) -> bool {
    shape.batch * shape.heads * shape.len * shape.len * 4 <= KEEP_BYTES
}

/// What the forward pass leaves for the backward pass.
#[derive(Debug, Clone)]
pub struct Saved {
    /// Log-sum-exp of every score row, `[batch, heads, len]`.
    pub lse: Vec<f32>,
    /// `1 / sum_j exp(s_ij - max_i)` of every row, `[batch, heads, len]`.
    pub inverse: Vec<f32>,
    /// `exp(s_ij - max_i)`, `[batch, heads, len, len]`, when kept.
    pub exps: Option<Vec<f32>>,
}

/// Floats of one block of scores (4 MB): longer sequences are processed in blocks of query
/// rows, so that a thread's scratch stays bounded (two blocks in the backward pass) instead of
/// growing with the square of the length. Up to 1,024 positions a head is one block: smaller
/// blocks that fit the L2 cache measured slower here (`bench forward` at 8 x 1024: 17,100-
/// 18,500 tokens/s with 256 KB blocks, 19,000-19,900 with 512 KB, 21,000-21,600 whole), as
/// each block repacks the keys and values.
const BLOCK_FLOATS: usize = 1 << 20;

/// Query rows per block for sequences of `len`.
fn block_rows(len: usize) -> usize {
    // A multiple of the products' tiles (6 rows with AVX2, 8 with AVX-512).
    let rows = (BLOCK_FLOATS / len.max(1)) / 24 * 24;
    rows.max(24).min(len.max(1))
}

/// Per-thread buffers of one (sequence, head) task.
#[derive(Default)]
struct Scratch {
    /// Rotated queries times `1 / sqrt(hd)`, `[len, hd]`.
    q: Vec<f32>,
    /// Rotated keys, `[len, hd]`.
    k: Vec<f32>,
    /// Scores, then probabilities, of one block of query rows, `[rows, len]`.
    scores: Vec<f32>,
    /// Their gradients, `[rows, len]` (backward only).
    d_scores: Vec<f32>,
    /// Gradients of the rotated queries and keys, `[len, hd]` (backward only).
    d_q: Vec<f32>,
    d_k: Vec<f32>,
    /// `dO_i . O_i` of one block's rows (backward only).
    row_dot: Vec<f32>,
    /// `1 / sum_j exp(s_ij - max_i)` of one block's rows (forward only).
    inverse: Vec<f32>,
}

thread_local! {
    /// Each thread's buffers, kept between calls (new ones per call would be allocated and
    /// zeroed for nothing).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

impl Scratch {
    /// Runs `f` with this thread's buffers sized for `shape`.
    fn with<R>(shape: AttentionShape, backward: bool, f: impl FnOnce(&mut Scratch) -> R) -> R {
        let (l, hd) = (shape.len, shape.head_dim());
        let rows = block_rows(l);
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
            fit(&mut scratch.scores, rows * l);
            fit(&mut scratch.inverse, rows);
            if backward {
                fit(&mut scratch.d_scores, rows * l);
                fit(&mut scratch.d_q, l * hd);
                fit(&mut scratch.d_k, l * hd);
                fit(&mut scratch.row_dot, rows);
            }
            f(scratch)
        })
    }

    /// Rotated q (times `1 / sqrt(hd)`) and rotated k of head `h` of sequence `b`.
    fn rotate(
        &mut self,
        qkv: &[f32],
        shape: AttentionShape,
        (b, h): (usize, usize),
        tables: &(Vec<f32>, Vec<f32>),
    ) {
        let (l, d, hd) = (shape.len, shape.width, shape.head_dim());
        let base = b * l * 3 * d;
        let (cos, sin) = tables;
        let scale = (hd as f32).powf(-0.5);
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
    }

    /// Scores `q k^T` of query rows `first..first + rows` into `dst` (row stride `l`).
    ///
    /// # Safety
    /// `dst` must be writable for `rows x l` floats that nothing else touches meanwhile.
    unsafe fn scores_into(&self, dst: *mut f32, l: usize, hd: usize, first: usize, rows: usize) {
        // SAFETY: q and k are [l, hd]; dst per the contract.
        unsafe {
            matmul(
                (rows, l, hd),
                dst,
                l,
                false,
                self.q.as_ptr().add(first * hd),
                (hd, 1),
                self.k.as_ptr(),
                (1, hd),
            );
        }
    }
}

/// Attention output `[batch, len, width]` for the packed projections `qkv`
/// `[batch, len, 3 width]` (q, k, v in thirds, heads in consecutive slices of each), and what
/// the backward pass needs: the rows' log-sum-exps and, with `keep`, the exponentials.
pub fn forward(qkv: &[f32], shape: AttentionShape, keep: bool) -> (Vec<f32>, Saved) {
    let (l, d, hd) = (shape.len, shape.width, shape.head_dim());
    assert_eq!(qkv.len(), shape.batch * l * 3 * d, "attention: qkv size");
    let tables = rotary_tables(l, hd);
    let block = if keep { l } else { block_rows(l) };
    let mut lse = zeros(shape.batch * shape.heads * l);
    let mut inverse = zeros(shape.batch * shape.heads * l);
    let mut run = |out: SendPtr, exps: Option<SendPtr>| {
        lse.par_chunks_mut(l)
            .zip(inverse.par_chunks_mut(l))
            .enumerate()
            .for_each(|(task, (lse, inverse))| {
                Scratch::with(shape, false, |scratch| {
                    let (b, h) = (task / shape.heads, task % shape.heads);
                    scratch.rotate(qkv, shape, (b, h), &tables);
                    let v = &qkv[b * l * 3 * d + 2 * d + h * hd..];
                    for first in (0..l).step_by(block) {
                        let rows = block.min(l - first);
                        let scores = match exps {
                            // SAFETY: task `task` owns the [l, l] slab at task * l * l.
                            Some(exps) => unsafe { exps.get().add(task * l * l + first * l) },
                            None => scratch.scores.as_mut_ptr(),
                        };
                        // SAFETY: `scores` holds rows x l floats owned by this task; they are
                        // written by the product before the slice is made.
                        let scores = unsafe {
                            scratch.scores_into(scores, l, hd, first, rows);
                            std::slice::from_raw_parts_mut(scores, rows * l)
                        };
                        softmax_rows(
                            scores,
                            &mut lse[first..first + rows],
                            &mut inverse[first..first + rows],
                            l,
                        );
                        let rows_out = out.get().wrapping_add((b * l + first) * d + h * hd);
                        // SAFETY: the task writes rows first.. of its own sequence b in the
                        // columns of its own head h of `out` ([batch, len, width]): no other
                        // task writes them. `v` reaches (l - 1) * 3d + hd elements from its
                        // start, inside qkv.
                        unsafe {
                            matmul(
                                (rows, hd, l),
                                rows_out,
                                d,
                                false,
                                scores.as_ptr(),
                                (l, 1),
                                v.as_ptr(),
                                (3 * d, 1),
                            );
                        }
                        scale_rows(SendPtr(rows_out), d, hd, &inverse[first..first + rows]);
                    }
                })
            });
    };
    let mut exps = None;
    // SAFETY: the tasks write every head's columns of every row of `out` (one product per
    // block of rows), and, when kept, every task's [l, l] slab of exponentials.
    let out = unsafe {
        written_by(shape.batch * l * d, |out| {
            if keep {
                exps = Some(written_by(shape.batch * shape.heads * l * l, |e| {
                    run(SendPtr(out), Some(SendPtr(e)))
                }));
            } else {
                run(SendPtr(out), None);
            }
        })
    };
    (out, Saved { lse, inverse, exps })
}

/// Gradient with respect to `qkv` (`[batch, len, 3 width]`) of [`forward`], given its inputs,
/// its output `out`, its `lse` and the output gradient `grad` (`[batch, len, width]`).
pub fn backward(
    qkv: &[f32],
    out: &[f32],
    saved: &Saved,
    grad: &[f32],
    shape: AttentionShape,
) -> Vec<f32> {
    let (l, d, hd) = (shape.len, shape.width, shape.head_dim());
    let tables = rotary_tables(l, hd);
    let scale = (hd as f32).powf(-0.5);
    let block = block_rows(l);
    let (lse, inverse) = (&saved.lse, &saved.inverse);
    let fill = |d_qkv: *mut f32| {
        let d_ptr = SendPtr(d_qkv);
        (0..shape.batch * shape.heads)
            .into_par_iter()
            .for_each(|task| {
                Scratch::with(shape, true, |scratch| {
                    let (b, h) = (task / shape.heads, task % shape.heads);
                    let lse = &lse[task * l..(task + 1) * l];
                    let inverse = &inverse[task * l..(task + 1) * l];
                    let exps = saved
                        .exps
                        .as_ref()
                        .map(|e| &e[task * l * l..(task + 1) * l * l]);
                    let head = b * l * d + h * hd; // row 0 of this head in out and grad
                    let v = &qkv[b * l * 3 * d + 2 * d + h * hd..];
                    let d_base = b * l * 3 * d + h * hd; // row 0, q column of this head in d_qkv
                    scratch.rotate(qkv, shape, (b, h), &tables);
                    for first in (0..l).step_by(block) {
                        let rows = block.min(l - first);
                        let later = first > 0;
                        if exps.is_none() {
                            let dst = scratch.scores.as_mut_ptr();
                            // SAFETY: the scratch holds a block of rows x l scores.
                            unsafe { scratch.scores_into(dst, l, hd, first, rows) };
                        }
                        for i in 0..rows {
                            let row = head + (first + i) * d;
                            scratch.row_dot[i] = dot(&grad[row..row + hd], &out[row..row + hd]);
                        }
                        let d_o = grad[head + first * d..].as_ptr();
                        // SAFETY: reads stay inside grad [b, l, d], v (inside qkv) and the scratch
                        // buffers; the writes go to this block's rows of the v columns of head h
                        // of sequence b in d_qkv, which no other task writes, and to the scratch.
                        unsafe {
                            // dP = dO V^T
                            matmul(
                                (rows, l, hd),
                                scratch.d_scores.as_mut_ptr(),
                                l,
                                false,
                                d_o,
                                (d, 1),
                                v.as_ptr(),
                                (1, 3 * d),
                            );
                            match exps {
                                Some(exps) => softmax_backward_kept_rows(
                                    &exps[first * l..(first + rows) * l],
                                    &inverse[first..first + rows],
                                    &mut scratch.scores[..rows * l],
                                    &mut scratch.d_scores[..rows * l],
                                    &scratch.row_dot[..rows],
                                    l,
                                ),
                                None => softmax_backward_rows(
                                    &mut scratch.scores[..rows * l],
                                    &mut scratch.d_scores[..rows * l],
                                    &lse[first..first + rows],
                                    &scratch.row_dot[..rows],
                                    l,
                                ),
                            }
                            // dV = sum over blocks of P^T dO
                            matmul(
                                (l, hd, rows),
                                d_ptr.get().add(d_base + 2 * d),
                                3 * d,
                                later,
                                scratch.scores.as_ptr(),
                                (1, l),
                                d_o,
                                (d, 1),
                            );
                            // dQ' = dS K' (this block's rows), dK' = sum over blocks of dS^T Q'
                            matmul(
                                (rows, hd, l),
                                scratch.d_q.as_mut_ptr().add(first * hd),
                                hd,
                                false,
                                scratch.d_scores.as_ptr(),
                                (l, 1),
                                scratch.k.as_ptr(),
                                (hd, 1),
                            );
                            matmul(
                                (l, hd, rows),
                                scratch.d_k.as_mut_ptr(),
                                hd,
                                later,
                                scratch.d_scores.as_ptr(),
                                (1, l),
                                scratch.q.as_ptr().add(first * hd),
                                (hd, 1),
                            );
                        }
                    }
                    write_query_key_gradients(scratch, d_ptr, (d_base, d), &tables, hd, scale);
                })
            });
    };
    // SAFETY: the tasks write the q, k and v columns of every head of every row (the v
    // columns by the first block's product, q and k by `unrotate_rows`).
    unsafe { written_by(qkv.len(), fill) }
}

/// Writes one head's `dq` and `dk` into `d_qkv` (`d_ptr`; the head's q column of row 0 at
/// `d_base`, rows `3 width` apart) from the gradients of the rotated, scaled queries and of the
/// rotated keys in `scratch`: `q' = rotate(q) * scale`, so `dq = rotate^T(dQ') * scale`;
/// `k' = rotate(k)`.
fn write_query_key_gradients(
    scratch: &Scratch,
    d_ptr: SendPtr,
    (d_base, width): (usize, usize),
    (cos, sin): &(Vec<f32>, Vec<f32>),
    hd: usize,
    scale: f32,
) {
    unrotate_rows(
        &scratch.d_q,
        SendPtr(d_ptr.get().wrapping_add(d_base)),
        3 * width,
        cos,
        sin,
        hd,
        scale,
    );
    unrotate_rows(
        &scratch.d_k,
        SendPtr(d_ptr.get().wrapping_add(d_base + width)),
        3 * width,
        cos,
        sin,
        hd,
        1.0,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The backward pass from kept exponentials and the one that recomputes them (the path of
    /// long sequences, see [`KEEP_BYTES`]) give the same gradient; the autodiff tests in
    /// `fused::tests` run the first.
    #[test]
    fn kept_and_recomputed_probabilities_give_the_same_gradient() {
        // Length 1100: several blocks of query rows when recomputing (see `block_rows`).
        for (batch, len, width, heads) in [(2, 37, 16, 2), (1, 1100, 8, 1)] {
            let shape = AttentionShape {
                batch,
                len,
                width,
                heads,
            };
            let wave =
                |n: usize, f: f32| -> Vec<f32> { (0..n).map(|i| (i as f32 * f).sin()).collect() };
            let qkv = wave(batch * len * 3 * width, 0.37);
            let grad = wave(batch * len * width, 0.11);
            let (out_kept, kept) = forward(&qkv, shape, true);
            let (out, recomputed) = forward(&qkv, shape, false);
            assert!(kept.exps.is_some() && recomputed.exps.is_none());
            assert_eq!(out_kept, out, "the forward pass does not depend on keeping");
            let a = backward(&qkv, &out, &kept, &grad, shape);
            let b = backward(&qkv, &out, &recomputed, &grad, shape);
            let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
            let gap = a
                .iter()
                .zip(&b)
                .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                gap <= 1e-5 * scale,
                "len {len}: gradients differ by {gap} (scale {scale})"
            );
        }
    }
}
