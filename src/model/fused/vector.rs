//! Building blocks of the CPU kernels: a vectorisable `exp`, sums and dot products that LLVM
//! turns into SIMD code, the runtime choice of instruction set, and the thread pool plumbing.
//!
//! Rust compiles for the x86-64 baseline (SSE2) unless told otherwise, and a binary built here
//! must run on any x86-64 machine. [`vectorized!`] compiles a kernel three times, for the
//! baseline, with AVX2 + FMA and with AVX-512 (F, VL, BW, DQ) enabled, and runs the widest that
//! [`level`] allows. The kernels are written as plain loops over fixed-width chunks so that the
//! compiler vectorises them; float sums use 32 independent accumulators, because LLVM may not
//! reorder a single running float sum. That fixes the order of every addition in the source,
//! so the three versions give the same bits (docs/design.md, §11). On aarch64 the baseline
//! version is already NEON with fused multiply-add.

use std::sync::OnceLock;

/// Lanes of one AVX2 register of `f32`; the chunk width of the loops below.
pub const LANES: usize = 8;

/// An instruction set the kernels are compiled for, in increasing width.
///
/// ```
/// use seddbio::model::{simd_level, SimdLevel};
///
/// // Never wider than the CPU has.
/// assert!(simd_level() <= SimdLevel::detected());
/// assert_eq!("avx2".parse::<SimdLevel>().unwrap(), SimdLevel::Avx2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SimdLevel {
    /// The target's baseline: SSE2 on x86-64 (fused multiply-adds are library calls, and the
    /// products go through the `gemm` crate), NEON on aarch64.
    Baseline,
    /// AVX2 and FMA (x86-64 CPUs since 2013-2015).
    Avx2,
    /// AVX-512 F, VL, BW and DQ (Intel Xeon since Skylake-SP, AMD Zen 4).
    Avx512,
}

/// The environment variable that lowers the instruction set, for tests and comparisons.
pub const SIMD_VARIABLE: &str = "SEDDBIO_SIMD";

/// A [`SIMD_VARIABLE`] value that names no level, or one this CPU lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimdLevelError {
    /// Not one of the names.
    #[error("{SIMD_VARIABLE}={0}: give baseline, avx2 or avx512")]
    Unknown(String),
    /// Wider than the CPU.
    #[error("{SIMD_VARIABLE}={requested}: this CPU runs at most {detected}")]
    Unsupported {
        /// What was asked for.
        requested: SimdLevel,
        /// What the CPU has.
        detected: SimdLevel,
    },
}

impl SimdLevel {
    /// Every level, narrowest first.
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Baseline, SimdLevel::Avx2, SimdLevel::Avx512];

    /// The widest level this CPU runs.
    pub fn detected() -> SimdLevel {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512vl") && has!("avx512bw") && has!("avx512dq") {
                return SimdLevel::Avx512;
            }
            if has!("avx2") && has!("fma") {
                return SimdLevel::Avx2;
            }
        }
        SimdLevel::Baseline
    }

    /// The name [`SIMD_VARIABLE`] takes.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Baseline => "baseline",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }

    /// The level [`SIMD_VARIABLE`] asks for (the detected one when it is unset or empty).
    pub fn configured() -> Result<SimdLevel, SimdLevelError> {
        let detected = SimdLevel::detected();
        let requested = match std::env::var(SIMD_VARIABLE) {
            Ok(value) if !value.is_empty() => value.parse::<SimdLevel>()?,
            _ => return Ok(detected),
        };
        if requested > detected {
            return Err(SimdLevelError::Unsupported {
                requested,
                detected,
            });
        }
        Ok(requested)
    }
}

impl std::fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SimdLevel {
    type Err = SimdLevelError;

    fn from_str(s: &str) -> Result<SimdLevel, SimdLevelError> {
        SimdLevel::ALL
            .into_iter()
            .find(|level| level.name() == s)
            .ok_or_else(|| SimdLevelError::Unknown(s.to_string()))
    }
}

/// The level the kernels run at: [`SimdLevel::configured`], read once; a bad
/// [`SIMD_VARIABLE`] falls back to the detected level with one warning (the command line
/// refuses it before any kernel runs).
pub fn level() -> SimdLevel {
    static LEVEL: OnceLock<SimdLevel> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        SimdLevel::configured().unwrap_or_else(|error| {
            eprintln!("warning: {error}; using {}", SimdLevel::detected());
            SimdLevel::detected()
        })
    })
}

/// Defines `fn NAME(args) -> R` whose body is compiled three times: for the baseline target,
/// with AVX2 + FMA and with AVX-512 enabled; [`level`] picks the version. Helpers the body calls
/// must be `#[inline(always)]` so that they are compiled into each version. The body names its
/// multiply-adds `M::mul_add(a, b, c)` and passes `M` to the helpers that have some
/// (`exp::<M>`): [`Fused`] where the version has the instruction, [`Unfused`] on the x86-64
/// baseline.
macro_rules! vectorized {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body<M: $crate::model::fused::vector::MulAdd>($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                use $crate::model::fused::vector::{level, Fused, SimdLevel, Unfused};
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    body::<Fused>($($arg),*)
                }
                #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx512($($arg: $ty),*) $(-> $ret)? {
                    body::<Fused>($($arg),*)
                }
                match level() {
                    // SAFETY: `avx512` and `avx2` only differ from `body` in the instructions
                    // they may use, and `level` never exceeds what the CPU has.
                    SimdLevel::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    SimdLevel::Avx2 => return unsafe { avx2($($arg),*) },
                    SimdLevel::Baseline => return body::<Unfused>($($arg),*),
                }
            }
            // Other targets' baselines have the instruction (aarch64: NEON's `fmla`).
            #[allow(unreachable_code)]
            body::<$crate::model::fused::vector::Fused>($($arg),*)
        }
    };
}
pub(crate) use vectorized;

/// How the kernels' multiply-adds compile (docs/design.md §11, "Instruction sets").
pub trait MulAdd {
    /// `a * b + c`.
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

/// One rounding: `f32::mul_add`, a fused multiply-add instruction where the code is compiled
/// with one (AVX2 + FMA, AVX-512, aarch64).
pub struct Fused;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

/// A multiply and an add, two roundings: the x86-64 baseline (SSE2) has no fused multiply-add,
/// and `f32::mul_add` there is a call to the library's `fmaf` per element, which also keeps the
/// loop around it scalar (37 % of a baseline training step, before).
pub struct Unfused;

impl MulAdd for Unfused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// `e^x` in single precision, branch-free so that loops over it vectorise: Cody-Waite range
/// reduction `x = n ln 2 + r`, |r| <= ln 2 / 2, the Cephes degree-6 polynomial for `e^r`, and
/// `2^n` built in the exponent bits. Relative error below 2e-7 over the clamped range
/// [-87.3, 88.3] (results below e^-87.3 are returned as e^-87.3, about 1.2e-38, a normal
/// number); NaN stays NaN (`tests::exp_is_accurate_over_its_range`).
#[inline(always)]
pub fn exp<M: MulAdd>(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // `clamp` keeps NaN (it is not a max/min pair, which would replace it).
    let x = x.clamp(-87.3, 88.3);
    let shifted = M::mul_add(x, std::f32::consts::LOG2_E, ROUND);
    let n = shifted - ROUND;
    let r = M::mul_add(n, -LN2_LO, M::mul_add(n, -LN2_HI, x));
    let mut p = 1.987_569_1e-4f32;
    p = M::mul_add(p, r, 1.398_199_9e-3);
    p = M::mul_add(p, r, 8.333_452e-3);
    p = M::mul_add(p, r, 4.166_579_6e-2);
    p = M::mul_add(p, r, 1.666_666_5e-1);
    p = M::mul_add(p, r, 0.5);
    let e_r = M::mul_add(p, r * r, r) + 1.0;
    // n sits in the low mantissa bits of `shifted`; n + 127 in the exponent field is 2^n.
    let n_bits = (shifted.to_bits() as i32).wrapping_sub(0x4B40_0000);
    e_r * f32::from_bits((n_bits.wrapping_add(127) << 23) as u32)
}

/// `1 / (1 + e^-x)` through [`exp`].
#[inline(always)]
pub fn sigmoid<M: MulAdd>(x: f32) -> f32 {
    1.0 / (1.0 + exp::<M>(-x))
}

/// Elements per step of the reductions: four AVX2 registers of independent partial results,
/// so that a step does not wait for the previous one's addition (latency 3-4 cycles).
const WIDE: usize = 4 * LANES;

/// Sum of `x`, in 32 lanes.
#[inline(always)]
pub fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; WIDE];
    let chunks = x.chunks_exact(WIDE);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..WIDE {
            acc[i] += c[i];
        }
    }
    reduce(acc, |a, b| a + b) + rest.iter().sum::<f32>()
}

/// Largest element of `x` (NaN is passed over; -inf for an empty slice), in 32 lanes
/// reduced pairwise (a fold over the lanes, one comparison after another, cost attention's
/// online softmax as much as its 256 exponentials per row).
#[inline(always)]
pub fn max(x: &[f32]) -> f32 {
    let larger = |a: f32, b: f32| if b > a { b } else { a };
    let mut acc = [f32::NEG_INFINITY; WIDE];
    let chunks = x.chunks_exact(WIDE);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..WIDE {
            acc[i] = larger(acc[i], c[i]);
        }
    }
    for (lane, &v) in acc.iter_mut().zip(rest) {
        *lane = larger(*lane, v);
    }
    reduce(acc, larger)
}

/// Replaces each element `v` of `x` by `exp(v - shift)` and returns their sum (one pass over
/// `x`, where a pass of `exp` and one of [`sum`] read it twice). Sixteen partial sums, not 32:
/// with 32 the AVX2 version (sixteen registers) spilled them to the stack.
#[inline(always)]
pub fn exp_sum<M: MulAdd>(x: &mut [f32], shift: f32) -> f32 {
    const NARROW: usize = 2 * LANES;
    let mut acc = [0f32; WIDE];
    let mut chunks = x.chunks_exact_mut(NARROW);
    for c in &mut chunks {
        for i in 0..NARROW {
            let e = exp::<M>(c[i] - shift);
            c[i] = e;
            acc[i] += e;
        }
    }
    let mut rest = 0f32;
    for v in chunks.into_remainder() {
        *v = exp::<M>(*v - shift);
        rest += *v;
    }
    // The upper lanes stay 0, and adding 0 is exact.
    reduce(acc, |a, b| a + b) + rest
}

/// Dot product of `a` and `b` (equal lengths), in 32 lanes.
#[inline(always)]
pub fn dot<M: MulAdd>(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; WIDE];
    let (ca, cb) = (a.chunks_exact(WIDE), b.chunks_exact(WIDE));
    let rest: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..WIDE {
            acc[i] = M::mul_add(x[i], y[i], acc[i]);
        }
    }
    reduce(acc, |a, b| a + b) + rest
}

/// The 32 lanes combined pairwise by `op`.
#[inline(always)]
fn reduce(acc: [f32; WIDE], op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut half = [0f32; WIDE / 2];
    for i in 0..WIDE / 2 {
        half[i] = op(acc[i], acc[i + WIDE / 2]);
    }
    let mut quarter = [0f32; LANES];
    for i in 0..LANES {
        quarter[i] = op(half[i], half[i + LANES]);
    }
    op(
        op(op(quarter[0], quarter[4]), op(quarter[1], quarter[5])),
        op(op(quarter[2], quarter[6]), op(quarter[3], quarter[7])),
    )
}

/// `len` zeros, written by the thread pool. (A plain `vec![0.0; len]` is a serial memset on
/// the calling thread: a tenth of that thread's time in a training step, while the pool
/// waited.)
pub fn zeros(len: usize) -> Vec<f32> {
    use rayon::iter::ParallelExtend;
    let mut values = Vec::with_capacity(len);
    values.par_extend(rayon::iter::repeat_n(0f32, len));
    values
}

/// `len` floats that `fill` writes, every one of them, through the pointer it is given;
/// nothing is written beforehand.
///
/// # Safety
/// `fill` must write all `len` elements (and may read only those it wrote).
pub unsafe fn written_by(len: usize, fill: impl FnOnce(*mut f32)) -> Vec<f32> {
    let mut values: Vec<std::mem::MaybeUninit<f32>> = Vec::with_capacity(len);
    // SAFETY: MaybeUninit needs no initialisation.
    unsafe { values.set_len(len) };
    fill(values.as_mut_ptr().cast());
    let mut values = std::mem::ManuallyDrop::new(values);
    // SAFETY: `fill` initialised every element (the caller's promise); MaybeUninit<f32> and
    // f32 have the same layout, and the allocation moves over unchanged.
    unsafe { Vec::from_raw_parts(values.as_mut_ptr().cast(), values.len(), values.capacity()) }
}

/// A raw pointer that crosses threads. Each user documents why the threads write disjoint
/// parts of what it points to.
#[derive(Clone, Copy)]
pub struct SendPtr(pub *mut f32);

impl SendPtr {
    /// The pointer. (A method, so that a closure using it captures the whole `SendPtr`, which
    /// is `Send`, rather than the raw pointer field, which is not.)
    #[inline(always)]
    pub fn get(self) -> *mut f32 {
        self.0
    }
}

// SAFETY: only used to hand disjoint output regions to rayon tasks (see each use).
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}

#[cfg(test)]
mod tests {
    use super::*;

    vectorized! {
        fn exp_all(x: &[f32], out: &mut [f32]) {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = exp::<M>(v);
            }
        }
    }

    /// Against the standard library's `exp` in f64 over the whole clamped range, through the
    /// vectorised path of this CPU's level, and with both kinds of multiply-add directly (the
    /// baseline's unfused one included, whatever the CPU).
    #[test]
    fn exp_is_accurate_over_its_range() {
        let x: Vec<f32> = (0..=350_000).map(|i| -87.0 + i as f32 * 5e-4).collect();
        let worst = |out: &[f32]| {
            x.iter()
                .zip(out)
                .map(|(&v, &e)| ((e as f64 - (v as f64).exp()) / (v as f64).exp()).abs())
                .fold(0f64, f64::max)
        };
        let mut out = vec![0f32; x.len()];
        exp_all(&x, &mut out);
        let fused: Vec<f32> = x.iter().map(|&v| exp::<Fused>(v)).collect();
        let unfused: Vec<f32> = x.iter().map(|&v| exp::<Unfused>(v)).collect();
        for (what, out) in [
            ("vectorised", &out),
            ("fused", &fused),
            ("unfused", &unfused),
        ] {
            let worst = worst(out);
            assert!(worst < 2e-7, "{what}: worst relative error {worst}");
        }
        assert_eq!(exp::<Fused>(0.0), 1.0);
        assert_eq!(exp::<Unfused>(0.0), 1.0);
        assert_eq!(exp::<Fused>(-1000.0), exp::<Fused>(-87.3));
        assert!(exp::<Fused>(1000.0).is_finite());
        assert!(exp::<Fused>(f32::NAN).is_nan());
    }

    #[test]
    fn sums_and_dots_match_sequential_f64() {
        for n in [0usize, 1, 7, 8, 9, 31, 32, 33, 63, 130] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let s: f64 = a.iter().map(|&v| v as f64).sum();
            let d: f64 = a.iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum();
            assert!((sum(&a) as f64 - s).abs() < 1e-5, "sum of {n}");
            assert!((dot::<Fused>(&a, &b) as f64 - d).abs() < 1e-5, "dot of {n}");
            assert!(
                (dot::<Unfused>(&a, &b) as f64 - d).abs() < 1e-5,
                "dot of {n}"
            );
            let m = a.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(max(&a), m, "max of {n}");
        }
    }
}
