//! Bidirectional multi-head attention with the rotary embedding applied inside, forward and
//! backward (docs/design.md, eq. (48) and §11: no causal mask, rotary positions,
//! `softmax(q k^T / sqrt(hd)) v`).
//!
//! Input is the packed `[batch, len, 3 d]` output of the q/k/v projection, output the
//! `[batch, len, d]` input of the output projection, so neither side needs a permute or copy.
//! Each (sequence, head) pair is one parallel task. It works in tiles of 96 query rows by 256
//! keys with the online softmax, as FlashAttention does (Dao et al. 2022,
//! <https://arxiv.org/abs/2205.14135>): a thread holds one tile of scores (96 KB) and never the
//! `len x len` matrix, whatever the length; the forward pass keeps one log-sum-exp per row, from
//! which the backward pass recomputes the probabilities. The tiles' products run through
//! [`PackedB`], with each head's keys, values, queries and output gradients packed once.

use rayon::prelude::*;

use super::{
    matmul::{Aligned, MatrixRef, PackedB},
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
            // Zipped, not indexed: LLVM vectorises this form.
            for (((y1, y2), (&x1, &x2)), (&c, &s)) in y1
                .iter_mut()
                .zip(y2.iter_mut())
                .zip(x1.iter().zip(x2))
                .zip(c.iter().zip(s))
            {
                *y1 = M::mul_add(x1, c, -(x2 * s)) * factor;
                *y2 = M::mul_add(x2, c, x1 * s) * factor;
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
                    row.add(j).write(M::mul_add(g1[j], c[j], g2[j] * s[j]) * factor);
                    row.add(half + j).write(M::mul_add(g2[j], c[j], -(g1[j] * s[j])) * factor);
                }
            }
        }
    }
}

vectorized! {
    /// One key tile of the online softmax (docs/design.md, §11): each `keys`-wide row of
    /// `scores` becomes `exp(s - m)` against its new running maximum `m`, the larger of `max`
    /// and the row's own; `total` (the running sum of the row's exponentials) and, through
    /// `rescale`, the caller's running output shrink by `exp(old m - new m)`, and the row's sum
    /// is added. Starting from `max = -inf` and `total = 0`, the last tile leaves each row's
    /// maximum and sum over all keys, whatever the tiling.
    fn online_softmax_rows(scores: &mut [f32], keys: usize, max: &mut [f32], total: &mut [f32], rescale: &mut [f32]) {
        for (((row, max), total), rescale) in scores
            .chunks_exact_mut(keys)
            .zip(max.iter_mut())
            .zip(total.iter_mut())
            .zip(rescale.iter_mut())
        {
            let row_max = super::vector::max(row);
            let new_max = if row_max > *max { row_max } else { *max };
            let row_sum = super::vector::exp_sum::<M>(row, new_max);
            // exp(-inf) is clamped to 1e-38 (see `exp`), harmless against a total of 0.
            let factor = exp::<M>(*max - new_max);
            *total = M::mul_add(*total, factor, row_sum);
            *rescale = factor;
            *max = new_max;
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
    /// `dots[i] = a_i . b_i` for the rows `a_i`, `b_i` of `hd` values, `stride` apart, of `a`
    /// and `b`.
    fn row_dots(a: &[f32], b: &[f32], stride: usize, hd: usize, dots: &mut [f32]) {
        for (i, dot_i) in dots.iter_mut().enumerate() {
            let row = i * stride;
            *dot_i = dot::<M>(&a[row..row + hd], &b[row..row + hd]);
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
                let prob = exp::<M>(p[j] - lse);
                p[j] = prob;
                dp[j] = prob * (dp[j] - r);
            }
        }
    }
}

/// Query rows per tile: a multiple of both micro-kernels' rows (6 and 8).
const QUERY_TILE: usize = 96;

/// Keys per tile: a multiple of both micro-kernels' columns (16 and 32), and at most one
/// depth block of a packed product (256), so that a tile of values or keys is one block.
const KEY_TILE: usize = 256;

/// What the forward pass leaves for the backward pass: the log-sum-exp of every score row,
/// `[batch, heads, len]`, from which the backward pass recomputes the probabilities.
#[derive(Debug, Clone)]
pub struct Saved {
    lse: Vec<f32>,
}

/// Per-thread buffers of one (sequence, head) task: the rotated queries and keys, one tile of
/// scores, and the packed operands of the tiles' products. Nothing grows with the square of
/// the length.
#[derive(Default)]
struct Scratch {
    /// Rotated queries times `1 / sqrt(hd)`, `[len, hd]`.
    q: Vec<f32>,
    /// Rotated keys, `[len, hd]`.
    k: Vec<f32>,
    /// Scores, then probabilities, of one tile, `[rows, keys]`.
    scores: Vec<f32>,
    /// Their gradients (backward only).
    d_scores: Vec<f32>,
    /// Gradients of the rotated queries and keys, `[len, hd]` (backward only).
    d_q: Vec<f32>,
    d_k: Vec<f32>,
    /// `dO_i . O_i` of every row (backward only).
    row_dot: Vec<f32>,
    /// The online softmax's running maximum, sum and rescaling of one tile's rows (forward
    /// only).
    max: Vec<f32>,
    total: Vec<f32>,
    rescale: Vec<f32>,
    /// Storage of the packed operands (two forward, five backward).
    packs: [Aligned; 5],
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
            fit(&mut scratch.scores, QUERY_TILE * KEY_TILE);
            if backward {
                fit(&mut scratch.d_scores, QUERY_TILE * KEY_TILE);
                fit(&mut scratch.d_q, l * hd);
                fit(&mut scratch.d_k, l * hd);
                fit(&mut scratch.row_dot, l);
            } else {
                fit(&mut scratch.max, QUERY_TILE);
                fit(&mut scratch.total, QUERY_TILE);
                fit(&mut scratch.rescale, QUERY_TILE);
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
}

/// Rows `first..` of the row-major `[len, hd]` matrix `values`, as the A of a product.
fn rows_from(values: &[f32], first: usize, hd: usize) -> MatrixRef {
    MatrixRef::row_major(&values[first * hd..], hd)
}

/// The tiles of `0..len`: `(start, size)`.
fn tiles(len: usize, tile: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..len)
        .step_by(tile)
        .map(move |start| (start, tile.min(len - start)))
}

/// Attention output `[batch, len, width]` for the packed projections `qkv`
/// `[batch, len, 3 width]` (q, k, v in thirds, heads in consecutive slices of each), and the
/// rows' log-sum-exps for the backward pass.
///
/// Tiled with the online softmax (docs/design.md, §11): for each tile of query rows, the
/// output accumulates over tiles of keys, rescaled whenever a row's running maximum grows.
pub fn forward(qkv: &[f32], shape: AttentionShape) -> (Vec<f32>, Saved) {
    let (l, d, hd) = (shape.len, shape.width, shape.head_dim());
    assert_eq!(qkv.len(), shape.batch * l * 3 * d, "attention: qkv size");
    let tables = rotary_tables(l, hd);
    let mut lse = zeros(shape.batch * shape.heads * l);
    let run = |out: SendPtr, lse: &mut [f32]| {
        lse.par_chunks_mut(l).enumerate().for_each(|(task, lse)| {
            Scratch::with(shape, false, |scratch| {
                let (b, h) = (task / shape.heads, task % shape.heads);
                scratch.rotate(qkv, shape, (b, h), &tables);
                let Scratch {
                    q,
                    k,
                    scores,
                    max,
                    total,
                    rescale,
                    packs: [keys_storage, values_storage, ..],
                    ..
                } = scratch;
                let v = &qkv[b * l * 3 * d + 2 * d + h * hd..];
                // SAFETY: k ([l, hd]) and qkv are not written while the packed copies live;
                // V's l rows of hd reach (l - 1) * 3d + hd elements from `v`'s start.
                let (keys_t, values) = unsafe {
                    (
                        PackedB::new(keys_storage, MatrixRef::transposed(k, hd), (hd, l), hd),
                        PackedB::new(
                            values_storage,
                            MatrixRef::row_major(v, 3 * d),
                            (l, hd),
                            KEY_TILE,
                        ),
                    )
                };
                for (first, rows) in tiles(l, QUERY_TILE) {
                    max[..rows].fill(f32::NEG_INFINITY);
                    total[..rows].fill(0.0);
                    let rows_out = out.get().wrapping_add((b * l + first) * d + h * hd);
                    for (key0, keys) in tiles(l, KEY_TILE) {
                        let tile = &mut scores[..rows * keys];
                        // SAFETY: the tile holds rows x keys floats; q's rows first.. exist.
                        unsafe {
                            keys_t.product(
                                (rows, rows_from(q, first, hd)),
                                (0, hd),
                                (key0, keys),
                                (tile.as_mut_ptr(), keys),
                                false,
                            )
                        };
                        online_softmax_rows(
                            tile,
                            keys,
                            &mut max[..rows],
                            &mut total[..rows],
                            &mut rescale[..rows],
                        );
                        let later = key0 > 0;
                        if later {
                            scale_rows(SendPtr(rows_out), d, hd, &rescale[..rows]);
                        }
                        // SAFETY: the task writes rows first.. of its own sequence b in the
                        // columns of its own head h of `out` ([batch, len, width]): no other
                        // task writes them.
                        unsafe {
                            values.product(
                                (rows, MatrixRef::row_major(tile, keys)),
                                (key0, keys),
                                (0, hd),
                                (rows_out, d),
                                later,
                            )
                        };
                    }
                    // The last rescaling: by each row's 1 / sum, which normalises it.
                    for i in 0..rows {
                        rescale[i] = 1.0 / total[i];
                        lse[first + i] = max[i] + total[i].ln();
                    }
                    scale_rows(SendPtr(rows_out), d, hd, &rescale[..rows]);
                }
            })
        });
    };
    // SAFETY: the tasks write every head's columns of every row of `out` (the first key
    // tile's product writes them, the later ones add to them).
    let out = unsafe { written_by(shape.batch * l * d, |out| run(SendPtr(out), &mut lse)) };
    (out, Saved { lse })
}

/// Gradient with respect to `qkv` (`[batch, len, 3 width]`) of [`forward`], given its inputs,
/// its output `out`, what it saved and the output gradient `grad` (`[batch, len, width]`).
///
/// Tiled as the forward pass (FlashAttention-2's order, Dao 2023,
/// <https://arxiv.org/abs/2307.08691>): for each tile of keys, over the tiles of query rows,
/// the probabilities are recomputed from the saved log-sum-exps; the key and value gradients
/// of the key tile accumulate over the query tiles, the query gradients over the key tiles.
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
    let fill = |d_qkv: *mut f32| {
        let d_ptr = SendPtr(d_qkv);
        (0..shape.batch * shape.heads)
            .into_par_iter()
            .for_each(|task| {
                Scratch::with(shape, true, |scratch| {
                    let (b, h) = (task / shape.heads, task % shape.heads);
                    let lse = &saved.lse[task * l..(task + 1) * l];
                    let head = b * l * d + h * hd; // row 0 of this head in out and grad
                    let v = &qkv[b * l * 3 * d + 2 * d + h * hd..];
                    let d_base = b * l * 3 * d + h * hd; // row 0, q column of this head in d_qkv
                    scratch.rotate(qkv, shape, (b, h), &tables);
                    row_dots(&grad[head..], &out[head..], d, hd, &mut scratch.row_dot);
                    let Scratch {
                        q,
                        k,
                        scores,
                        d_scores,
                        d_q,
                        d_k,
                        row_dot,
                        packs: [s0, s1, s2, s3, s4],
                        ..
                    } = scratch;
                    let d_o = MatrixRef::row_major(&grad[head..], d);
                    // SAFETY: q, k, qkv and grad are not written while the packed copies
                    // live; the rows of v and dO (l rows of hd, 3d and d apart) are inside
                    // qkv and grad.
                    let (keys_t, values_t, keys, queries, d_out) = unsafe {
                        (
                            // S = Q' K'^T
                            PackedB::new(s0, MatrixRef::transposed(k, hd), (hd, l), hd),
                            // dP = dO V^T
                            PackedB::new(s1, MatrixRef::transposed(v, 3 * d), (hd, l), hd),
                            // dQ' = dS K'
                            PackedB::new(s2, MatrixRef::row_major(k, hd), (l, hd), KEY_TILE),
                            // dK' = dS^T Q'
                            PackedB::new(s3, MatrixRef::row_major(q, hd), (l, hd), QUERY_TILE),
                            // dV = P^T dO
                            PackedB::new(s4, d_o, (l, hd), QUERY_TILE),
                        )
                    };
                    for (key0, keys_n) in tiles(l, KEY_TILE) {
                        for (first, rows) in tiles(l, QUERY_TILE) {
                            let p = &mut scores[..rows * keys_n];
                            let dp = &mut d_scores[..rows * keys_n];
                            // SAFETY: the tiles hold rows x keys_n floats; the rows of q and
                            // dO from `first` exist.
                            unsafe {
                                keys_t.product(
                                    (rows, rows_from(q, first, hd)),
                                    (0, hd),
                                    (key0, keys_n),
                                    (p.as_mut_ptr(), keys_n),
                                    false,
                                );
                                values_t.product(
                                    (rows, MatrixRef::row_major(&grad[head + first * d..], d)),
                                    (0, hd),
                                    (key0, keys_n),
                                    (dp.as_mut_ptr(), keys_n),
                                    false,
                                );
                            }
                            softmax_backward_rows(
                                p,
                                dp,
                                &lse[first..first + rows],
                                &row_dot[first..first + rows],
                                keys_n,
                            );
                            let (p, dp): (&[f32], &[f32]) = (p, dp);
                            let later_rows = first > 0;
                            // SAFETY: the writes go to this key tile's rows of the v columns of
                            // head h of sequence b in d_qkv, which no other task writes, and to
                            // this task's d_q and d_k; the reads stay inside the tiles.
                            unsafe {
                                d_out.product(
                                    (keys_n, MatrixRef::transposed(p, keys_n)),
                                    (first, rows),
                                    (0, hd),
                                    (d_ptr.get().add(d_base + 2 * d + key0 * 3 * d), 3 * d),
                                    later_rows,
                                );
                                keys.product(
                                    (rows, MatrixRef::row_major(dp, keys_n)),
                                    (key0, keys_n),
                                    (0, hd),
                                    (d_q.as_mut_ptr().add(first * hd), hd),
                                    key0 > 0,
                                );
                                queries.product(
                                    (keys_n, MatrixRef::transposed(dp, keys_n)),
                                    (first, rows),
                                    (0, hd),
                                    (d_k.as_mut_ptr().add(key0 * hd), hd),
                                    later_rows,
                                );
                            }
                        }
                    }
                    write_query_key_gradients((d_q, d_k), d_ptr, (d_base, d), &tables, hd, scale);
                })
            });
    };
    // SAFETY: the tasks write the q, k and v columns of every head of every row (the v
    // columns by the first query tile's product, q and k by `unrotate_rows`).
    unsafe { written_by(qkv.len(), fill) }
}

/// Writes one head's `dq` and `dk` into `d_qkv` (`d_ptr`; the head's q column of row 0 at
/// `d_base`, rows `3 width` apart) from the gradients of the rotated, scaled queries and of the
/// rotated keys: `q' = rotate(q) * scale`, so `dq = rotate^T(dQ') * scale`; `k' = rotate(k)`.
fn write_query_key_gradients(
    (d_q, d_k): (&[f32], &[f32]),
    d_ptr: SendPtr,
    (d_base, width): (usize, usize),
    (cos, sin): &(Vec<f32>, Vec<f32>),
    hd: usize,
    scale: f32,
) {
    unrotate_rows(
        d_q,
        SendPtr(d_ptr.get().wrapping_add(d_base)),
        3 * width,
        cos,
        sin,
        hd,
        scale,
    );
    unrotate_rows(
        d_k,
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

    /// Softmax attention in f64 from the definition, one head at a time, and its gradient
    /// through the chain rule on whole matrices: an independent check of the tiling, on
    /// lengths that cut the query and key tiles unevenly (the autodiff tests in `fused::tests`
    /// compare against burn on shorter ones).
    #[test]
    fn tiles_match_whole_matrices_in_f64() {
        for (batch, len, width, heads) in [(1, 300, 16, 2), (2, 97, 8, 1), (1, 530, 64, 1)] {
            let shape = AttentionShape {
                batch,
                len,
                width,
                heads,
            };
            let wave = |n: usize, f: f32| -> Vec<f32> {
                (0..n).map(|i| (i as f32 * f).sin() * 2.0).collect()
            };
            let qkv = wave(batch * len * 3 * width, 0.37);
            let grad = wave(batch * len * width, 0.11);
            let (out, saved) = forward(&qkv, shape);
            let d_qkv = backward(&qkv, &out, &saved, &grad, shape);
            let (want_out, want_d) = whole(&qkv, &grad, shape);
            let gap = |a: &[f32], b: &[f64]| {
                let scale = b.iter().fold(0f64, |m, v| m.max(v.abs()));
                a.iter()
                    .zip(b)
                    .fold(0f64, |m, (&x, &y)| m.max((x as f64 - y).abs()))
                    / scale
            };
            let (value_gap, gradient_gap) = (gap(&out, &want_out), gap(&d_qkv, &want_d));
            assert!(value_gap < 1e-5, "len {len}: outputs differ by {value_gap}");
            assert!(
                gradient_gap < 1e-4,
                "len {len}: gradients differ by {gradient_gap}"
            );
        }
    }

    /// Output and qkv gradient of attention in f64, whole `len x len` matrices per head.
    fn whole(qkv: &[f32], grad: &[f32], shape: AttentionShape) -> (Vec<f64>, Vec<f64>) {
        let (l, d, hd) = (shape.len, shape.width, shape.head_dim());
        let half = hd / 2;
        let (cos, sin) = rotary_tables(l, hd);
        let scale = (hd as f64).powf(-0.5);
        let mut out = vec![0f64; shape.batch * l * d];
        let mut d_qkv = vec![0f64; qkv.len()];
        let at = |b: usize, p: usize, col: usize| qkv[(b * l + p) * 3 * d + col] as f64;
        for b in 0..shape.batch {
            for h in 0..shape.heads {
                // Rotated q (scaled) and k: y1 = x1 c - x2 s, y2 = x2 c + x1 s.
                let rotated = |offset: usize, factor: f64| -> Vec<Vec<f64>> {
                    (0..l)
                        .map(|p| {
                            let mut y = vec![0f64; hd];
                            for j in 0..half {
                                let (c, s) = (cos[p * half + j] as f64, sin[p * half + j] as f64);
                                let (x1, x2) = (at(b, p, offset + j), at(b, p, offset + half + j));
                                y[j] = (x1 * c - x2 * s) * factor;
                                y[half + j] = (x2 * c + x1 * s) * factor;
                            }
                            y
                        })
                        .collect()
                };
                let q = rotated(h * hd, scale);
                let k = rotated(d + h * hd, 1.0);
                let v: Vec<Vec<f64>> = (0..l)
                    .map(|p| (0..hd).map(|j| at(b, p, 2 * d + h * hd + j)).collect())
                    .collect();
                let g: Vec<Vec<f64>> = (0..l)
                    .map(|p| {
                        (0..hd)
                            .map(|j| grad[(b * l + p) * d + h * hd + j] as f64)
                            .collect()
                    })
                    .collect();
                let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
                let probs: Vec<Vec<f64>> = q
                    .iter()
                    .map(|qi| {
                        let s: Vec<f64> = k.iter().map(|kj| dot(qi, kj)).collect();
                        let m = s.iter().cloned().fold(f64::MIN, f64::max);
                        let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
                        let z: f64 = e.iter().sum();
                        e.iter().map(|x| x / z).collect()
                    })
                    .collect();
                let mut d_q = vec![vec![0f64; hd]; l];
                let mut d_k = vec![vec![0f64; hd]; l];
                for i in 0..l {
                    let o: Vec<f64> = (0..hd)
                        .map(|c| (0..l).map(|j| probs[i][j] * v[j][c]).sum())
                        .collect();
                    for c in 0..hd {
                        out[(b * l + i) * d + h * hd + c] = o[c];
                    }
                    // dP_ij = dO_i . v_j; dS = P (dP - rowsum(P dP)).
                    let dp: Vec<f64> = v.iter().map(|vj| dot(&g[i], vj)).collect();
                    let r: f64 = (0..l).map(|j| probs[i][j] * dp[j]).sum();
                    for j in 0..l {
                        let ds = probs[i][j] * (dp[j] - r);
                        for c in 0..hd {
                            d_q[i][c] += ds * k[j][c];
                            d_k[j][c] += ds * q[i][c];
                            d_qkv[(b * l + j) * 3 * d + 2 * d + h * hd + c] +=
                                probs[i][j] * g[i][c];
                        }
                    }
                }
                // Back through the rotation (its transpose) and the scale.
                for p in 0..l {
                    for j in 0..half {
                        let (c, s) = (cos[p * half + j] as f64, sin[p * half + j] as f64);
                        for (offset, grads, factor) in
                            [(h * hd, &d_q, scale), (d + h * hd, &d_k, 1.0)]
                        {
                            let (g1, g2) = (grads[p][j], grads[p][half + j]);
                            let row = (b * l + p) * 3 * d + offset;
                            d_qkv[row + j] = (g1 * c + g2 * s) * factor;
                            d_qkv[row + half + j] = (g2 * c - g1 * s) * factor;
                        }
                    }
                }
            }
        }
        (out, d_qkv)
    }
}
