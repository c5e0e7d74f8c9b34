//! Single-precision matrix products for the fused kernels: packed panels and a
//! register-blocked micro-kernel, after Goto & van de Geijn, "Anatomy of high-performance
//! matrix multiplication" (ACM TOMS 34, 2008) and BLIS's blocking for AMD Zen (KC 256, MC 144):
//! a 6 x 16 tile in AVX2/FMA registers, or an 8 x 32 tile in AVX-512 registers, whichever
//! [`level`] allows.
//!
//! Why not the `gemm` crate that burn's CPU backend uses: on this project's machine (AMD EPYC,
//! 2 cores) it ran the network's products at 21-45 GFLOP/s where PyTorch's MKL ran the same
//! shapes at 64-122 (measured 2026-11-30, `examples`-style timing of every layer shape). CPUs
//! without AVX2 and FMA, and other architectures, fall back to the `gemm` crate (NEON kernels
//! on aarch64).
//!
//! Each element of the result is computed by one thread, over k in a fixed order with one
//! fused multiply-add per depth, so the result depends neither on the number of threads nor on
//! which of the two micro-kernels ran.

#[cfg(target_arch = "x86_64")]
use std::cell::RefCell;

#[cfg(target_arch = "x86_64")]
use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
use super::vector::SendPtr;
use super::vector::{level, SimdLevel};

/// Depth of one packed panel (B micro-panel of KC x NR stays in L1).
const KC: usize = 256;
/// Rows of one packed block of A (MC x KC stays in L2); a multiple of every kernel's rows.
#[cfg(target_arch = "x86_64")]
const MC: usize = 144;
/// The most rows of any micro-kernel's tile.
#[cfg(target_arch = "x86_64")]
const MAX_MR: usize = 8;
/// The most columns of any micro-kernel's tile.
const MAX_NR: usize = 32;

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
    #[cfg(target_arch = "x86_64")]
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
    // SAFETY: forwarded contract; `level` never exceeds what the CPU has.
    unsafe {
        matmul_at(
            level(),
            (m, n, k),
            a,
            b,
            c,
            c_row_stride,
            accumulate,
            threads,
        )
    }
}

/// [`matmul`] with the micro-kernel of `level`.
///
/// # Safety
/// As [`matmul`]; the CPU must have `level`'s instructions.
#[allow(clippy::too_many_arguments)]
// Only x86-64 has micro-kernels of its own; elsewhere every level is the `gemm` crate's.
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
unsafe fn matmul_at(
    level: SimdLevel,
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
    if let Some(kernel) = kernel_at(level) {
        // SAFETY: forwarded contract, which includes the kernel's instructions.
        unsafe {
            packed::matmul(
                kernel,
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

/// The micro-kernel of `level`: none at the baseline, which goes to the `gemm` crate.
#[cfg(target_arch = "x86_64")]
fn kernel_at(level: SimdLevel) -> Option<packed::Kernel> {
    match level {
        SimdLevel::Avx512 => Some(packed::AVX512),
        SimdLevel::Avx2 => Some(packed::AVX2),
        SimdLevel::Baseline => None,
    }
}

/// The B operand of many products over parts of it, packed once into the micro-kernel's
/// panels: attention's tiles multiply each block of keys or values by many blocks of queries,
/// and packing B per product cost as much as the product (docs/design.md, §11).
///
/// B (`k x n`) is cut into depth blocks of `depth_block` (at most the products' own depth
/// block, 256); a product covers whole depth blocks and columns from a multiple of 32.
pub struct PackedB<'a> {
    /// B itself, for the products of CPUs without a micro-kernel (the `gemm` crate packs).
    source: MatrixRef,
    k: usize,
    n: usize,
    depth_block: usize,
    /// The micro-kernel and its panels: depth block `t` at `t * depth_block * panels * nr`,
    /// as [`packed::pack_b`] lays out one depth block.
    #[cfg(target_arch = "x86_64")]
    packed: Option<(packed::Kernel, &'a [f32])>,
    /// (Elsewhere the products go to the `gemm` crate, which packs for itself.)
    #[cfg(not(target_arch = "x86_64"))]
    packed: std::marker::PhantomData<&'a [f32]>,
}

impl<'a> PackedB<'a> {
    /// Packs `b` (`k x n`) into `storage` for the micro-kernel of [`level`].
    ///
    /// # Safety
    /// `b` must be readable over `k x n` and stay unchanged while the result lives.
    pub unsafe fn new(
        storage: &'a mut Aligned,
        b: MatrixRef,
        (k, n): (usize, usize),
        depth_block: usize,
    ) -> PackedB<'a> {
        let depth_block = depth_block.clamp(1, KC);
        #[cfg(target_arch = "x86_64")]
        let packed = kernel_at(level()).map(|kernel| {
            let nr = kernel.nr();
            let panels = n.div_ceil(nr);
            let out = storage.slice(k.div_ceil(depth_block) * depth_block * panels * nr);
            for (t, p0) in (0..k).step_by(depth_block).enumerate() {
                let kc = depth_block.min(k - p0);
                let start = Self::block_start(t, depth_block, panels * nr);
                // SAFETY: depths p0..p0 + kc and the n columns are inside B.
                unsafe {
                    packed::pack_b(
                        b,
                        nr,
                        (p0, kc),
                        (0, n, n),
                        &mut out[start..start + panels * kc * nr],
                    )
                };
            }
            (kernel, &*out)
        });
        #[cfg(not(target_arch = "x86_64"))]
        let packed = {
            let _ = storage;
            std::marker::PhantomData
        };
        PackedB {
            source: b,
            k,
            n,
            depth_block,
            packed,
        }
    }

    /// Where depth block `t` starts in the packed panels: every block but the last holds
    /// `depth_block` depths of `width` (all panels' columns), and the last is laid out as if
    /// it were full.
    #[cfg(target_arch = "x86_64")]
    fn block_start(t: usize, depth_block: usize, width: usize) -> usize {
        t * depth_block * width
    }

    /// `C (m x nc, row stride rs) (+)= A (m x kc) * B[p0..p0 + kc, j0..j0 + nc]` on the
    /// calling thread; A's depth 0 is B's depth `p0`. Without `accumulate`, C is only
    /// written.
    ///
    /// # Safety
    /// `p0` must start a depth block and `p0 + kc` end one (or B), `j0` be a multiple of 32,
    /// and the ranges lie inside B; `a` must be readable over `m x kc`, `c` writable over
    /// `m x nc`, overlapping neither, and touched by no other thread meanwhile.
    pub unsafe fn product(
        &self,
        (m, a): (usize, MatrixRef),
        (p0, kc): (usize, usize),
        (j0, nc): (usize, usize),
        (c, rs): (*mut f32, usize),
        accumulate: bool,
    ) {
        debug_assert!(
            p0 % self.depth_block == 0 && (p0 + kc == self.k || kc % self.depth_block == 0)
        );
        debug_assert!(j0 % MAX_NR == 0 && j0 + nc <= self.n && p0 + kc <= self.k);
        #[cfg(target_arch = "x86_64")]
        if let Some((kernel, panels)) = self.packed {
            let nr = kernel.nr();
            let all_panels = self.n.div_ceil(nr);
            let mut depth = 0;
            while depth < kc {
                let block = (p0 + depth) / self.depth_block;
                let block_kc = self.depth_block.min(self.k - (p0 + depth));
                let start = Self::block_start(block, self.depth_block, all_panels * nr)
                    + (j0 / nr) * block_kc * nr;
                let a_block = MatrixRef {
                    // SAFETY: depth `depth` of A's rows is inside A.
                    ptr: unsafe { a.ptr.add(depth * a.col_stride) },
                    ..a
                };
                // SAFETY: the kernel is the level's; the tile of C is the caller's; the
                // panels from `start` hold this depth block's columns j0.. of B.
                unsafe {
                    packed::block(
                        kernel,
                        a_block,
                        &panels[start..],
                        SendPtr(c),
                        rs,
                        (m, nc),
                        (0, m),
                        (0, nc.div_ceil(nr)),
                        (0, block_kc),
                        accumulate || depth > 0,
                    )
                };
                depth += block_kc;
            }
            return;
        }
        let b = MatrixRef {
            // SAFETY: (p0, j0) is inside B.
            ptr: unsafe {
                self.source
                    .ptr
                    .add(p0 * self.source.row_stride + j0 * self.source.col_stride)
            },
            ..self.source
        };
        // SAFETY: forwarded; without a micro-kernel `matmul_at` calls the `gemm` crate.
        unsafe {
            matmul_at(
                SimdLevel::Baseline,
                (m, nc, kc),
                a,
                b,
                c,
                rs,
                accumulate,
                Threads::One,
            )
        };
    }
}

/// A reusable buffer aligned to 64 bytes (one AVX-512 register). (Only the x86-64
/// micro-kernels fill one; elsewhere it stays empty.)
#[derive(Default)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub struct Aligned {
    storage: Vec<f32>,
}

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
impl Aligned {
    /// A 64-byte aligned slice of `len` floats (contents unspecified).
    fn slice(&mut self, len: usize) -> &mut [f32] {
        if self.storage.len() < len + 16 {
            self.storage = vec![0f32; len + 16];
        }
        let offset = self.storage.as_ptr().align_offset(64).min(15);
        &mut self.storage[offset..offset + len]
    }
}

#[cfg(target_arch = "x86_64")]
thread_local! {
    static PACKED_B: RefCell<Aligned> = RefCell::new(Aligned::default());
}

/// Runs `f` with this thread's buffer `key`, or with a fresh one when the thread already
/// holds it (a rayon worker that, while waiting inside one product, runs a task that starts
/// another).
#[cfg(target_arch = "x86_64")]
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

    /// MR rows of A over one depth block: row `i`, depth `p` at
    /// `ptr + i * row_stride + p * col_stride`; either A itself (read in place) or a packed,
    /// zero-padded copy of the last rows.
    #[derive(Clone, Copy)]
    struct Panel {
        ptr: *const f32,
        row_stride: usize,
        col_stride: usize,
    }

    /// Where a tile goes: a full MR x NR block at `c` with row stride `rs`, added to what is
    /// there when `accumulate`.
    #[derive(Clone, Copy)]
    struct TileOut {
        c: *mut f32,
        rs: usize,
        accumulate: bool,
    }

    /// `C (+)= A_panel * B_panel` over depth `kc` for one tile: the packed B panel holds
    /// `kc * NR` floats aligned to the register width.
    type TileFn = unsafe fn(usize, Panel, *const f32, TileOut);

    /// A micro-kernel: its tile and three versions of it, for A read in place with any
    /// strides, for A read in place along its rows (depth stride 1, a constant the compiler
    /// folds into the addressing: 96 x 32 x 256 products ran at 150 GFLOP/s on one thread
    /// against 120 with the stride read at run time), and for a packed copy of A (depth
    /// stride MR, row stride 1).
    #[derive(Clone, Copy)]
    pub(super) struct Kernel {
        mr: usize,
        nr: usize,
        strided: TileFn,
        rows: TileFn,
        packed: TileFn,
    }

    /// Defines the micro-kernel constant `$name`: a tile of `$mr` rows and two registers of
    /// `$lanes` accumulators per row, built from the given intrinsics, compiled with
    /// `$features`; the packed B panel holds `kc * 2 * $lanes` floats aligned to the register.
    /// Every kernel computes each element with the same fused multiply-adds in the same order.
    macro_rules! kernel {
        ($(#[$meta:meta])* $name:ident, $features:literal, $mr:literal, $lanes:literal,
         $zero:ident, $load:ident, $loadu:ident, $storeu:ident, $broadcast:ident,
         $fmadd:ident, $add:ident) => {
            $(#[$meta])*
            pub(super) const $name: Kernel = {
                /// The tile, A's depth stride `CS` (0: A's own).
                #[inline(always)]
                unsafe fn tile<const CS: usize>(kc: usize, a: Panel, b: *const f32, out: TileOut) {
                    let TileOut { c, rs, accumulate } = out;
                    // SAFETY: a reaches $mr rows x kc depths, b holds kc * 2 * $lanes floats,
                    // aligned to the register width; c is a full tile.
                    unsafe {
                        // Depth stride: the packed panels' constant MR, or A's own. The loop
                        // steps raw pointers with wrapping arithmetic and loads through
                        // intrinsics, so that the dev profile's overflow and alignment checks
                        // stay out of it.
                        let cs = if CS == 0 { a.col_stride } else { CS };
                        let r = a.row_stride;
                        // One pointer and two accumulators per row; the compiler unrolls the
                        // constant-length loops and keeps the arrays in registers (objdump,
                        // AVX2: twelve FMAs per depth, no stack traffic in the loop).
                        let mut rows: [*const f32; $mr] =
                            std::array::from_fn(|i| a.ptr.wrapping_add(i * r));
                        let mut bp = b;
                        let z = $zero();
                        let mut acc = [[z; 2]; $mr];
                        for _ in 0..kc {
                            let b0 = $load(bp);
                            let b1 = $load(bp.wrapping_add($lanes));
                            for (row, sum) in rows.iter_mut().zip(acc.iter_mut()) {
                                let x = $broadcast(_mm_load_ss(*row));
                                sum[0] = $fmadd(x, b0, sum[0]);
                                sum[1] = $fmadd(x, b1, sum[1]);
                                *row = row.wrapping_add(cs);
                            }
                            bp = bp.wrapping_add(2 * $lanes);
                        }
                        let mut dst = c;
                        for [mut lo, mut hi] in acc {
                            if accumulate {
                                lo = $add(lo, $loadu(dst));
                                hi = $add(hi, $loadu(dst.wrapping_add($lanes)));
                            }
                            $storeu(dst, lo);
                            $storeu(dst.wrapping_add($lanes), hi);
                            dst = dst.wrapping_add(rs);
                        }
                    }
                }

                #[target_feature(enable = $features)]
                unsafe fn strided(kc: usize, a: Panel, b: *const f32, out: TileOut) {
                    // SAFETY: forwarded.
                    unsafe { tile::<0>(kc, a, b, out) }
                }

                #[target_feature(enable = $features)]
                unsafe fn rows(kc: usize, a: Panel, b: *const f32, out: TileOut) {
                    // SAFETY: forwarded.
                    unsafe { tile::<1>(kc, a, b, out) }
                }

                #[target_feature(enable = $features)]
                unsafe fn packed(kc: usize, a: Panel, b: *const f32, out: TileOut) {
                    // SAFETY: forwarded.
                    unsafe { tile::<$mr>(kc, a, b, out) }
                }

                Kernel {
                    mr: $mr,
                    nr: 2 * $lanes,
                    strided,
                    rows,
                    packed,
                }
            };
        };
    }

    impl Kernel {
        /// Columns of its tile (and of a packed panel of B).
        pub(super) fn nr(self) -> usize {
            self.nr
        }
    }

    kernel! {
        /// The 6 x 16 AVX2/FMA kernel: six broadcasts of A and two loads of B feed twelve FMAs
        /// per depth.
        AVX2, "avx2,fma", 6, 8, _mm256_setzero_ps, _mm256_load_ps, _mm256_loadu_ps,
        _mm256_storeu_ps, _mm256_broadcastss_ps, _mm256_fmadd_ps, _mm256_add_ps
    }

    kernel! {
        /// The 8 x 32 AVX-512 kernel: eight broadcasts of A and two loads of B feed sixteen
        /// FMAs of sixteen lanes per depth.
        AVX512, "avx512f,avx2,fma", 8, 16, _mm512_setzero_ps, _mm512_load_ps, _mm512_loadu_ps,
        _mm512_storeu_ps, _mm512_broadcastss_ps, _mm512_fmadd_ps, _mm512_add_ps
    }

    /// `out[p * width + j] = at(p, j)` for depths `p < kc` and `j < filled`, zero for
    /// `filled <= j < width`: a panel with its missing rows or columns zero-padded.
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

    /// Packs depths `p0..p0 + kc`, columns `j0..j0 + nc` of B into `nr`-column micro-panels:
    /// panel `q`, depth `p`, column `j` at `q * kc * nr + p * nr + j`, zero columns past `n`.
    ///
    /// # Safety
    /// Those depths and the columns below `n` must be inside B.
    pub(super) unsafe fn pack_b(
        b: MatrixRef,
        nr: usize,
        (p0, kc): (usize, usize),
        (j0, nc, n): (usize, usize, usize),
        out: &mut [f32],
    ) {
        for (q, panel) in out
            .chunks_exact_mut(kc * nr)
            .enumerate()
            .take(nc.div_ceil(nr))
        {
            let first = j0 + q * nr;
            let cols = (n - first).min(nr);
            if cols == nr && b.col_stride == 1 {
                for p in 0..kc {
                    // SAFETY: the nr columns from `first` exist at depth p0 + p.
                    let src = unsafe {
                        std::slice::from_raw_parts(b.ptr.add((p0 + p) * b.row_stride + first), nr)
                    };
                    panel[p * nr..(p + 1) * nr].copy_from_slice(src);
                }
            } else if cols == nr && b.row_stride == 1 {
                // B transposed (a row-major B^T): each column is contiguous in depth.
                for j in 0..nr {
                    // SAFETY: column first + j has the depths p0..p0 + kc.
                    let src = unsafe {
                        std::slice::from_raw_parts(b.ptr.add((first + j) * b.col_stride + p0), kc)
                    };
                    for (p, &v) in src.iter().enumerate() {
                        panel[p * nr + j] = v;
                    }
                }
            } else {
                // SAFETY: the `cols` columns from `first` exist at depths p0..p0 + kc.
                pack_padded(panel, kc, nr, cols, |p, j| unsafe {
                    b.at(p0 + p, first + j)
                });
            }
        }
    }

    /// Rows `i0..i0 + mc` and column panels `q0..q1` of C over depths `p0..p0 + kc`;
    /// `packed_b` holds panels `q0..q1` of this depth block.
    ///
    /// # Safety
    /// The kernel's instructions must be available; the rows, depths and panels inside A, B
    /// and C, and the tile of C owned by the calling task.
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn block(
        kernel: Kernel,
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
        let Kernel { mr, nr, .. } = kernel;
        // The last rows, when fewer than MR: a zero-padded copy, so the kernel reads no
        // further than A ends.
        let full_panels = mc / mr;
        let edge_rows = mc - full_panels * mr;
        let mut edge = [0f32; MAX_MR * KC];
        if edge_rows > 0 {
            let i = i0 + full_panels * mr;
            // SAFETY: rows i..i + edge_rows exist at these depths.
            pack_padded(&mut edge[..mr * kc], kc, mr, edge_rows, |p, r| unsafe {
                a.at(i + r, p0 + p)
            });
        }
        let mut tile = [0f32; MAX_MR * MAX_NR];
        for q in q0..q1 {
            let b_panel = packed_b[(q - q0) * kc * nr..].as_ptr();
            let j = q * nr;
            let cols = (n - j).min(nr);
            for r in 0..mc.div_ceil(mr) {
                let i = i0 + r * mr;
                let rows = (m - i).min(mr);
                let (panel, run) = if r < full_panels {
                    let panel = Panel {
                        // SAFETY: row i, depth p0 is inside A.
                        ptr: unsafe { a.ptr.add(i * a.row_stride + p0 * a.col_stride) },
                        row_stride: a.row_stride,
                        col_stride: a.col_stride,
                    };
                    let packed_layout = a.col_stride == mr && a.row_stride == 1;
                    let run = if packed_layout {
                        kernel.packed
                    } else if a.col_stride == 1 {
                        kernel.rows
                    } else {
                        kernel.strided
                    };
                    (panel, run)
                } else {
                    let panel = Panel {
                        ptr: edge.as_ptr(),
                        row_stride: 1,
                        col_stride: mr,
                    };
                    (panel, kernel.packed)
                };
                // SAFETY: the tile (i.., j..) is inside C and owned by this task; the
                // kernel's instructions are available per the contract.
                unsafe {
                    let dst = c.get().add(i * rs + j);
                    if rows == mr && cols == nr {
                        let out = TileOut {
                            c: dst,
                            rs,
                            accumulate,
                        };
                        run(kc, panel, b_panel, out);
                    } else {
                        let out = TileOut {
                            c: tile.as_mut_ptr(),
                            rs: nr,
                            accumulate: false,
                        };
                        run(kc, panel, b_panel, out);
                        // Element writes through the pointer: without `accumulate`, C
                        // may not hold values yet.
                        for ii in 0..rows {
                            for jj in 0..cols {
                                let t = tile[ii * nr + jj];
                                let out = dst.add(ii * rs + jj);
                                out.write(if accumulate { out.read() + t } else { t });
                            }
                        }
                    }
                }
            }
        }
    }

    /// See [`super::matmul`]; `kernel`'s instructions must be available.
    ///
    /// With several row blocks (tall products: the layers' forward passes and input
    /// gradients), B is packed once per depth block and the row blocks run in parallel. With
    /// one (the weight gradients, whose depth is the batch's positions), groups of column
    /// panels run in parallel, each packing its own part of B, over all depths.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn matmul(
        kernel: Kernel,
        (m, n, k): (usize, usize, usize),
        a: MatrixRef,
        b: MatrixRef,
        c: SendPtr,
        rs: usize,
        accumulate: bool,
        threads: Threads,
    ) {
        let nr = kernel.nr;
        let panels = n.div_ceil(nr);
        let row_blocks = m.div_ceil(MC);
        let parallel = threads == Threads::Pool && rayon::current_num_threads() > 1;
        if row_blocks > 1 || !parallel {
            with_buffer(&PACKED_B, |buffer| {
                let mut p0 = 0;
                while p0 < k {
                    let kc = KC.min(k - p0);
                    let packed_b = buffer.slice(panels * kc * nr);
                    // SAFETY: depths and columns inside B.
                    unsafe { pack_b(b, nr, (p0, kc), (0, n, n), packed_b) };
                    let packed_b: &[f32] = packed_b;
                    let accumulate = accumulate || p0 > 0;
                    let run = |rb: usize| {
                        let i0 = rb * MC;
                        // SAFETY: row blocks are disjoint rows of C; the rest is forwarded.
                        unsafe {
                            block(
                                kernel,
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
                            let packed_b = buffer.slice((q1 - q0) * kc * nr);
                            let j0 = q0 * nr;
                            // SAFETY: depths and columns inside B; the task owns columns
                            // j0.. of C, so the tasks' writes are disjoint.
                            unsafe {
                                pack_b(
                                    b,
                                    nr,
                                    (p0, kc),
                                    (j0, (n - j0).min((q1 - q0) * nr), n),
                                    packed_b,
                                );
                                block(
                                    kernel,
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
    /// transposed operands, accumulation, on one thread and on the pool, with every
    /// micro-kernel this CPU runs; the AVX2 and AVX-512 kernels agree bit for bit.
    #[test]
    fn products_match_a_triple_loop() {
        let levels: Vec<SimdLevel> = SimdLevel::ALL
            .into_iter()
            .filter(|&l| l <= SimdLevel::detected())
            .collect();
        if levels.len() < SimdLevel::ALL.len() {
            eprintln!(
                "products_match_a_triple_loop: this CPU runs at most {}; the wider kernels are not tested here",
                SimdLevel::detected()
            );
        }
        let shapes = [
            (1, 1, 1),
            (6, 16, 4),
            (7, 17, 5),
            (8, 32, 4),
            (9, 33, 5),
            (17, 64, 300),
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
            // A transposed: read by the strided kernel (A's depth stride is not 1).
            let a_t: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
            for (threads, accumulate, transposed, a_transposed) in [
                (Threads::One, false, false, false),
                (Threads::Pool, false, true, false),
                (Threads::Pool, true, false, true),
                (Threads::One, true, true, true),
            ] {
                let a_ref = if a_transposed {
                    MatrixRef::transposed(&a_t, m)
                } else {
                    MatrixRef::row_major(&a, k)
                };
                let b_ref = if transposed {
                    MatrixRef::transposed(&b_t, k)
                } else {
                    MatrixRef::row_major(&b, n)
                };
                let results: Vec<Vec<f32>> = levels
                    .iter()
                    .map(|&level| {
                        let mut c = c0.clone();
                        // SAFETY: the buffers have exactly the sizes the shapes reach; the
                        // CPU has the level's instructions.
                        unsafe {
                            matmul_at(
                                level,
                                (m, n, k),
                                a_ref,
                                b_ref,
                                c.as_mut_ptr(),
                                n,
                                accumulate,
                                threads,
                            );
                        }
                        c
                    })
                    .collect();
                let wide = &results[1.min(results.len() - 1)..];
                for pair in wide.windows(2) {
                    assert!(
                        pair[0] == pair[1],
                        "{m}x{n}x{k}: the AVX2 and AVX-512 kernels differ"
                    );
                }
                for (level, c) in levels.iter().zip(&results) {
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
                            "{m}x{n}x{k} {level} {threads:?} acc {accumulate} t {transposed} {a_transposed}: ({i}, {j}) {got} vs {want}"
                        );
                        }
                    }
                }
            }
        }
    }
}
