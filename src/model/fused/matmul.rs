//! Single-precision matrix products for the fused kernels: packed panels and a 6 x 16
//! register-blocked AVX2/FMA micro-kernel, after Goto & van de Geijn, "Anatomy of
//! high-performance matrix multiplication" (ACM TOMS 34, 2008) and BLIS's blocking for AMD Zen
//! (MR 6, NR 16, KC 256, MC 144).
//!
//! Why not the `gemm` crate that burn's CPU backend uses: on this project's machine (AMD EPYC,
//! 2 cores) it ran the network's products at 21-45 GFLOP/s where PyTorch's MKL ran the same
//! shapes at 64-122 (measured 2026-11-30, `examples`-style timing of every layer shape). CPUs
//! without AVX2 and FMA, and other architectures, fall back to the `gemm` crate.
//!
//! Each element of the result is computed by one thread, over k in a fixed order, so the
//! result does not depend on the number of threads.

use std::cell::RefCell;

use rayon::prelude::*;

use super::vector::SendPtr;

/// Rows of the micro-kernel's tile.
const MR: usize = 6;
/// Columns of the micro-kernel's tile (two AVX2 registers).
const NR: usize = 16;
/// Depth of one packed panel (B micro-panel of KC x NR stays in L1).
const KC: usize = 256;
/// Rows of one packed block of A (MC x KC stays in L2).
const MC: usize = 144;

/// A read-only strided matrix: element (i, j) at `ptr + i * row_stride + j * col_stride`.
#[derive(Debug, Clone, Copy)]
pub struct MatrixRef {
    /// First element.
    pub ptr: *const f32,
    /// Elements between rows.
    pub row_stride: usize,
    /// Elements between columns.
    pub col_stride: usize,
}

// SAFETY: only read, from threads that the caller of `matmul` keeps within its lifetime.
unsafe impl Send for MatrixRef {}
// SAFETY: as above.
unsafe impl Sync for MatrixRef {}

impl MatrixRef {
    /// A row-major matrix with `cols` columns.
    pub fn row_major(values: &[f32], cols: usize) -> MatrixRef {
        MatrixRef {
            ptr: values.as_ptr(),
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of the row-major `values` with `cols` columns (no copy).
    pub fn transposed(values: &[f32], cols: usize) -> MatrixRef {
        MatrixRef {
            ptr: values.as_ptr(),
            row_stride: 1,
            col_stride: cols,
        }
    }

    /// # Safety
    /// (i, j) must be inside the matrix.
    #[inline(always)]
    unsafe fn at(self, i: usize, j: usize) -> f32 {
        // SAFETY: per the caller.
        unsafe { *self.ptr.add(i * self.row_stride + j * self.col_stride) }
    }
}

/// Whether the products run on several threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// The calling thread only (inside an already parallel task).
    One,
    /// The rayon pool.
    Pool,
}

/// `C (m x n, row stride c_row_stride, unit column stride) = A (m x k) * B (k x n)`, or
/// `C += A * B` with `accumulate`. Without `accumulate`, C is only written (it may be
/// uninitialised memory).
///
/// # Safety
/// `a`, `b` must be readable over their `m x k` and `k x n` extents, `c` writable over
/// `m x n`, and `c` must overlap neither, nor be touched by another thread meanwhile.
#[allow(clippy::too_many_arguments)]
pub unsafe fn matmul(
    (m, n, k): (usize, usize, usize),
    a: MatrixRef,
    b: MatrixRef,
    c: *mut f32,
    c_row_stride: usize,
    accumulate: bool,
    threads: Threads,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    // SAFETY: (i, j) of C is writable per the contract.
                    unsafe { c.add(i * c_row_stride + j).write(0.0) };
                }
            }
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if super::vector::has_avx2_fma() {
        // SAFETY: forwarded contract; the CPU has AVX2 and FMA.
        unsafe {
            packed::matmul(
                (m, n, k),
                a,
                b,
                SendPtr(c),
                c_row_stride,
                accumulate,
                threads,
            )
        };
        return;
    }
    // SAFETY: forwarded contract.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c,
            1,
            c_row_stride as isize,
            accumulate,
            a.ptr,
            a.col_stride as isize,
            a.row_stride as isize,
            b.ptr,
            b.col_stride as isize,
            b.row_stride as isize,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            match threads {
                Threads::One => gemm::Parallelism::None,
                Threads::Pool => gemm::Parallelism::Rayon(0),
            },
        );
    }
}

/// A reusable buffer aligned to 32 bytes (one AVX2 register).
#[derive(Default)]
struct Aligned {
    storage: Vec<f32>,
}

impl Aligned {
    /// A 32-byte aligned slice of `len` floats (contents unspecified).
    fn slice(&mut self, len: usize) -> &mut [f32] {
        if self.storage.len() < len + 8 {
            self.storage = vec![0f32; len + 8];
        }
        let offset = self.storage.as_ptr().align_offset(32).min(7);
        &mut self.storage[offset..offset + len]
    }
}

thread_local! {
    static PACKED_B: RefCell<Aligned> = RefCell::new(Aligned::default());
}

/// Runs `f` with this thread's buffer `key`, or with a fresh one when the thread already
/// holds it (a rayon worker that, while waiting inside one product, runs a task that starts
/// another).
fn with_buffer<R>(
    key: &'static std::thread::LocalKey<RefCell<Aligned>>,
    f: impl FnOnce(&mut Aligned) -> R,
) -> R {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffer) => f(&mut buffer),
        Err(_) => f(&mut Aligned::default()),
    })
}

#[cfg(target_arch = "x86_64")]
mod packed {
    use std::arch::x86_64::*;

    use super::*;

    /// Copies rows `i0..i0 + rows` (fewer than MR), depths `p0..p0 + kc` of A into `out` as
    /// one MR-row panel (depth `p`, row `i` at `p * MR + i`), zeros for the missing rows.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn pack_a(
        a: MatrixRef,
        (i0, rows): (usize, usize),
        (p0, kc): (usize, usize),
        out: &mut [f32],
    ) {
        // SAFETY: rows i0..i0 + rows exist at depths p0..p0 + kc.
        pack_padded(out, kc, MR, rows, |p, i| unsafe { a.at(i0 + i, p0 + p) });
    }

    /// `out[p * width + j] = at(p, j)` for depths `p < kc` and `j < filled`, zero for
    /// `filled <= j < width`: a panel with its missing rows or columns zero-padded.
    #[inline(always)]
    fn pack_padded(
        out: &mut [f32],
        kc: usize,
        width: usize,
        filled: usize,
        at: impl Fn(usize, usize) -> f32,
    ) {
        for (p, depth) in out.chunks_exact_mut(width).take(kc).enumerate() {
            for (j, slot) in depth.iter_mut().enumerate() {
                *slot = if j < filled { at(p, j) } else { 0.0 };
            }
        }
    }

    /// Packs depths `p0..p0 + kc`, columns `j0..j0 + nc` of B into NR-column micro-panels:
    /// panel `q`, depth `p`, column `j` at `q * kc * NR + p * NR + j`, zero columns past `n`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn pack_b(
        b: MatrixRef,
        (p0, kc): (usize, usize),
        (j0, nc, n): (usize, usize, usize),
        out: &mut [f32],
    ) {
        for (q, panel) in out
            .chunks_exact_mut(kc * NR)
            .enumerate()
            .take(nc.div_ceil(NR))
        {
            let first = j0 + q * NR;
            let cols = (n - first).min(NR);
            if cols == NR && b.col_stride == 1 {
                for p in 0..kc {
                    // SAFETY: the NR columns from `first` exist at depth p0 + p.
                    let src = unsafe {
                        std::slice::from_raw_parts(b.ptr.add((p0 + p) * b.row_stride + first), NR)
                    };
                    panel[p * NR..(p + 1) * NR].copy_from_slice(src);
                }
            } else if cols == NR && b.row_stride == 1 {
                // B transposed (a row-major B^T): each column is contiguous in depth.
                for j in 0..NR {
                    // SAFETY: column first + j has the depths p0..p0 + kc.
                    let src = unsafe {
                        std::slice::from_raw_parts(b.ptr.add((first + j) * b.col_stride + p0), kc)
                    };
                    for (p, &v) in src.iter().enumerate() {
                        panel[p * NR + j] = v;
                    }
                }
            } else {
                // SAFETY: the `cols` columns from `first` exist at depths p0..p0 + kc.
                pack_padded(panel, kc, NR, cols, |p, j| unsafe {
                    b.at(p0 + p, first + j)
                });
            }
        }
    }

    /// MR rows of A over one depth block: row `i`, depth `p` at
    /// `ptr + i * row_stride + p * col_stride`; either A itself (read in place) or a packed,
    /// zero-padded copy of the last rows.
    #[derive(Clone, Copy)]
    struct Panel {
        ptr: *const f32,
        row_stride: usize,
        col_stride: usize,
    }

    /// Where a tile goes: a full 6 x 16 block at `c` with row stride `rs`, added to what is
    /// there when `accumulate`.
    #[derive(Clone, Copy)]
    struct TileOut {
        c: *mut f32,
        rs: usize,
        accumulate: bool,
    }

    /// The 6 x 16 tile `C (+)= A_panel * B_panel` over depth `kc`, into `out`. Six broadcasts
    /// of A and two loads of B feed twelve FMAs per depth; the twelve accumulators stay in
    /// registers.
    #[inline(always)]
    unsafe fn tile<const CS: usize>(kc: usize, a: Panel, b: *const f32, out: TileOut) {
        let TileOut { c, rs, accumulate } = out;
        // SAFETY: a reaches MR rows x kc depths, b holds kc * NR floats, 32-byte aligned; c
        // is a full tile.
        unsafe {
            // Depth stride: the packed panels' constant MR, or A's own. The loop steps raw
            // pointers with wrapping arithmetic and loads through intrinsics, so that the dev
            // profile's overflow and alignment checks stay out of it.
            let cs = if CS == 0 { a.col_stride } else { CS };
            let r = a.row_stride;
            // One pointer and two accumulators per row; the compiler unrolls the constant-length
            // loops and keeps the arrays in registers (objdump: twelve FMAs per depth, no
            // stack traffic in the loop).
            let mut rows: [*const f32; MR] = std::array::from_fn(|i| a.ptr.wrapping_add(i * r));
            let mut bp = b;
            let z = _mm256_setzero_ps();
            let mut acc = [[z; 2]; MR];
            for _ in 0..kc {
                let b0 = _mm256_load_ps(bp);
                let b1 = _mm256_load_ps(bp.wrapping_add(8));
                for (row, sum) in rows.iter_mut().zip(acc.iter_mut()) {
                    let x = _mm256_broadcastss_ps(_mm_load_ss(*row));
                    sum[0] = _mm256_fmadd_ps(x, b0, sum[0]);
                    sum[1] = _mm256_fmadd_ps(x, b1, sum[1]);
                    *row = row.wrapping_add(cs);
                }
                bp = bp.wrapping_add(NR);
            }
            let mut dst = c;
            for [mut lo, mut hi] in acc {
                if accumulate {
                    lo = _mm256_add_ps(lo, _mm256_loadu_ps(dst));
                    hi = _mm256_add_ps(hi, _mm256_loadu_ps(dst.wrapping_add(8)));
                }
                _mm256_storeu_ps(dst, lo);
                _mm256_storeu_ps(dst.wrapping_add(8), hi);
                dst = dst.wrapping_add(rs);
            }
        }
    }

    /// [`tile`] on a panel of any strides (A read in place).
    #[target_feature(enable = "avx2,fma")]
    unsafe fn kernel_strided(kc: usize, a: Panel, b: *const f32, out: TileOut) {
        // SAFETY: forwarded.
        unsafe { tile::<0>(kc, a, b, out) }
    }

    /// [`tile`] on a packed panel (depth stride MR, row stride 1).
    #[target_feature(enable = "avx2,fma")]
    unsafe fn kernel_packed(kc: usize, a: Panel, b: *const f32, out: TileOut) {
        // SAFETY: forwarded.
        unsafe { tile::<MR>(kc, a, b, out) }
    }

    /// Rows `i0..i0 + mc` and column panels `q0..q1` of C over depths `p0..p0 + kc`;
    /// `packed_b` holds panels `q0..q1` of this depth block.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block(
        a: MatrixRef,
        packed_b: &[f32],
        c: SendPtr,
        rs: usize,
        (m, n): (usize, usize),
        (i0, mc): (usize, usize),
        (q0, q1): (usize, usize),
        (p0, kc): (usize, usize),
        accumulate: bool,
    ) {
        // The last rows, when fewer than MR: a zero-padded copy, so the kernel reads no
        // further than A ends.
        let full_panels = mc / MR;
        let edge_rows = mc - full_panels * MR;
        let mut edge = [0f32; MR * KC];
        if edge_rows > 0 {
            // SAFETY: rows i0 + full_panels MR .. i0 + mc exist at these depths.
            unsafe {
                pack_a(
                    a,
                    (i0 + full_panels * MR, edge_rows),
                    (p0, kc),
                    &mut edge[..MR * kc],
                )
            };
        }
        let mut tile = [0f32; MR * NR];
        for q in q0..q1 {
            let b_panel = packed_b[(q - q0) * kc * NR..].as_ptr();
            let j = q * NR;
            let cols = (n - j).min(NR);
            for r in 0..mc.div_ceil(MR) {
                let i = i0 + r * MR;
                let rows = (m - i).min(MR);
                let panel = if r < full_panels {
                    Panel {
                        // SAFETY: row i, depth p0 is inside A.
                        ptr: unsafe { a.ptr.add(i * a.row_stride + p0 * a.col_stride) },
                        row_stride: a.row_stride,
                        col_stride: a.col_stride,
                    }
                } else {
                    Panel {
                        ptr: edge.as_ptr(),
                        row_stride: 1,
                        col_stride: MR,
                    }
                };
                // SAFETY: the tile (i.., j..) is inside C and owned by this task.
                unsafe {
                    let dst = c.get().add(i * rs + j);
                    let kernel = if panel.col_stride == MR && panel.row_stride == 1 {
                        kernel_packed
                    } else {
                        kernel_strided
                    };
                    if rows == MR && cols == NR {
                        let out = TileOut {
                            c: dst,
                            rs,
                            accumulate,
                        };
                        kernel(kc, panel, b_panel, out);
                    } else {
                        let out = TileOut {
                            c: tile.as_mut_ptr(),
                            rs: NR,
                            accumulate: false,
                        };
                        kernel(kc, panel, b_panel, out);
                        // Element writes through the pointer: without `accumulate`, C
                        // may not hold values yet.
                        for ii in 0..rows {
                            for jj in 0..cols {
                                let t = tile[ii * NR + jj];
                                let out = dst.add(ii * rs + jj);
                                out.write(if accumulate { out.read() + t } else { t });
                            }
                        }
                    }
                }
            }
        }
    }

    /// See [`super::matmul`]; requires AVX2 and FMA.
    ///
    /// With several row blocks (tall products: the layers' forward passes and input
    /// gradients), B is packed once per depth block and the row blocks run in parallel. With
    /// one (the weight gradients, whose depth is the batch's positions), groups of column
    /// panels run in parallel, each packing its own part of B, over all depths.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn matmul(
        (m, n, k): (usize, usize, usize),
        a: MatrixRef,
        b: MatrixRef,
        c: SendPtr,
        rs: usize,
        accumulate: bool,
        threads: Threads,
    ) {
        let panels = n.div_ceil(NR);
        let row_blocks = m.div_ceil(MC);
        let parallel = threads == Threads::Pool && rayon::current_num_threads() > 1;
        if row_blocks > 1 || !parallel {
            with_buffer(&PACKED_B, |buffer| {
                let mut p0 = 0;
                while p0 < k {
                    let kc = KC.min(k - p0);
                    let packed_b = buffer.slice(panels * kc * NR);
                    // SAFETY: depths and columns inside B.
                    unsafe { pack_b(b, (p0, kc), (0, n, n), packed_b) };
                    let packed_b: &[f32] = packed_b;
                    let accumulate = accumulate || p0 > 0;
                    let run = |rb: usize| {
                        let i0 = rb * MC;
                        // SAFETY: row blocks are disjoint rows of C; the rest is forwarded.
                        unsafe {
                            block(
                                a,
                                packed_b,
                                c,
                                rs,
                                (m, n),
                                (i0, MC.min(m - i0)),
                                (0, panels),
                                (p0, kc),
                                accumulate,
                            )
                        };
                    };
                    if parallel {
                        (0..row_blocks).into_par_iter().for_each(run);
                    } else {
                        (0..row_blocks).for_each(run);
                    }
                    p0 += kc;
                }
            });
        } else {
            let groups = (2 * rayon::current_num_threads()).min(panels);
            let per_group = panels.div_ceil(groups);
            (0..panels)
                .step_by(per_group)
                .collect::<Vec<_>>()
                .into_par_iter()
                .for_each(|q0| {
                    let q1 = (q0 + per_group).min(panels);
                    with_buffer(&PACKED_B, |buffer| {
                        let mut p0 = 0;
                        while p0 < k {
                            let kc = KC.min(k - p0);
                            let packed_b = buffer.slice((q1 - q0) * kc * NR);
                            let j0 = q0 * NR;
                            // SAFETY: depths and columns inside B; the task owns columns
                            // j0.. of C, so the tasks' writes are disjoint.
                            unsafe {
                                pack_b(
                                    b,
                                    (p0, kc),
                                    (j0, (n - j0).min((q1 - q0) * NR), n),
                                    packed_b,
                                );
                                block(
                                    a,
                                    packed_b,
                                    c,
                                    rs,
                                    (m, n),
                                    (0, m),
                                    (q0, q1),
                                    (p0, kc),
                                    accumulate || p0 > 0,
                                );
                            }
                            p0 += kc;
                        }
                    });
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a plain triple loop in f64, for shapes around every blocking edge, strided and
    /// transposed operands, accumulation, on one thread and on the pool.
    #[test]
    fn products_match_a_triple_loop() {
        let shapes = [
            (1, 1, 1),
            (6, 16, 4),
            (7, 17, 5),
            (5, 3, 300),
            (150, 40, 257),
            (13, 530, 33),
            (300, 20, 600),
        ];
        for (m, n, k) in shapes {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 31.0)
                .collect();
            let c0: Vec<f32> = (0..m * n).map(|i| (i % 7) as f32).collect();
            // A as given, B stored transposed (read through strides).
            let b_t: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
            for (threads, accumulate, transposed) in [
                (Threads::One, false, false),
                (Threads::Pool, false, true),
                (Threads::Pool, true, false),
                (Threads::One, true, true),
            ] {
                let mut c = c0.clone();
                let b_ref = if transposed {
                    MatrixRef::transposed(&b_t, k)
                } else {
                    MatrixRef::row_major(&b, n)
                };
                // SAFETY: the buffers have exactly the sizes the shapes reach.
                unsafe {
                    matmul(
                        (m, n, k),
                        MatrixRef::row_major(&a, k),
                        b_ref,
                        c.as_mut_ptr(),
                        n,
                        accumulate,
                        threads,
                    );
                }
                for i in 0..m {
                    for j in 0..n {
                        let mut want: f64 = (0..k)
                            .map(|p| a[i * k + p] as f64 * b[p * n + j] as f64)
                            .sum();
                        if accumulate {
                            want += c0[i * n + j] as f64;
                        }
                        let got = c[i * n + j] as f64;
                        assert!(
                            (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                            "{m}x{n}x{k} {threads:?} acc {accumulate} t {transposed}: ({i}, {j}) {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
