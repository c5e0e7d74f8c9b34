//! Each fused operation against the same computation written with burn's tensor operations
//! (on `Flex`, where autodiff decomposes them into primitive operations), on random inputs of
//! several shapes: odd lengths, widths that are not a multiple of the SIMD width, one head,
//! batch 1. Values must agree to 1e-5 and gradients to 1e-4, relative to the largest entry of
//! the reference; each test also applies a mutation (a small, realistic mistake) to the
//! reference and checks that the comparison catches it.

use burn::tensor::{
    activation::gelu_approximate,
    module::{attention as burn_attention, layer_norm},
    ops::AttentionModuleOptions,
    Bool, Device, Distribution, Tensor, TensorData,
};

use super::*;
use crate::model::score_entropy as burn_score_entropy;

const VALUE_TOLERANCE: f32 = 1e-5;
const GRADIENT_TOLERANCE: f32 = 1e-4;

/// `max |a - b| / max |b|`.
fn relative_gap<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    let (a, b) = (a.inner(), b.inner());
    let scale: f32 = b.clone().abs().max().into_scalar();
    let gap: f32 = (a - b).abs().max().into_scalar();
    gap / scale.max(f32::MIN_POSITIVE)
}

fn random<const D: usize>(shape: [usize; D], std: f64) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, std), &Device::flex())
}

fn tracked<const D: usize>(t: &Tensor<D>) -> Tensor<D> {
    t.clone().autodiff().require_grad()
}

/// Runs `op` on tracked copies of `inputs` twice (fused and reference), backpropagates
/// `sum(out * weights)` through each, and checks values and every input's gradient.
fn check<const D: usize, const I: usize, const N: usize>(
    what: &str,
    inputs: [Tensor<I>; N],
    fused_op: impl Fn(&[Tensor<I>; N]) -> Tensor<D>,
    reference_op: impl Fn(&[Tensor<I>; N]) -> Tensor<D>,
) {
    let ours_in = inputs.each_ref().map(tracked);
    let theirs_in = inputs.each_ref().map(tracked);
    let ours = fused_op(&ours_in);
    let theirs = reference_op(&theirs_in);
    assert_eq!(ours.dims(), theirs.dims(), "{what}: shapes");
    let value_gap = relative_gap(ours.clone(), theirs.clone());
    assert!(
        value_gap < VALUE_TOLERANCE,
        "{what}: values differ by {value_gap}"
    );
    let weights = Tensor::<D>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &Device::flex())
        .autodiff();
    let our_grads = (ours * weights.clone()).sum().backward();
    let their_grads = (theirs * weights).sum().backward();
    for (i, (o, t)) in ours_in.iter().zip(&theirs_in).enumerate() {
        let (o, t) = (o.grad(&our_grads), t.grad(&their_grads));
        let (Some(o), Some(t)) = (o, t) else {
            panic!("{what}: input {i} has no gradient");
        };
        let gap = relative_gap(o, t);
        assert!(
            gap < GRADIENT_TOLERANCE,
            "{what}: gradient of input {i} differs by {gap}"
        );
    }
}

/// The mutated reference must be told apart from the fused result.
fn assert_caught<const D: usize>(what: &str, ours: Tensor<D>, mutated: Tensor<D>) {
    let gap = relative_gap(ours, mutated);
    assert!(
        gap > 10.0 * VALUE_TOLERANCE,
        "{what}: the mutation changed the values by only {gap}"
    );
}

#[test]
fn layer_norm_modulate_matches_burn() {
    // Inputs: x, shift, scale; gamma is rank 1 and checked on its own below.
    let reference = |t: &[Tensor<3>; 3], gamma: &Tensor<1>, epsilon: f64| {
        layer_norm(t[0].clone(), gamma.clone(), None, epsilon) * (t[2].clone() + 1.0) + t[1].clone()
    };
    for [b, l, d] in [[1, 1, 8], [2, 7, 24], [3, 33, 64], [1, 5, 130]] {
        let gamma = random([d], 1.0) + 1.0;
        let inputs = [
            random([b, l, d], 2.0) + 0.5,
            random([b, 1, d], 0.5),
            random([b, 1, d], 0.5),
        ];
        check(
            &format!("layer norm [{b}, {l}, {d}]"),
            inputs.clone(),
            |t| {
                layer_norm_modulate(
                    t[0].clone(),
                    gamma.clone(),
                    t[1].clone(),
                    t[2].clone(),
                    1e-5,
                )
            },
            |t| reference(t, &gamma, 1e-5),
        );
        let (ours_gamma, theirs_gamma) = (tracked(&gamma), tracked(&gamma));
        let weights = random([b, l, d], 1.0).autodiff();
        let plain = inputs.each_ref().map(|t| t.clone().autodiff());
        let ours = layer_norm_modulate(
            plain[0].clone(),
            ours_gamma.clone(),
            plain[1].clone(),
            plain[2].clone(),
            1e-5,
        );
        let theirs = reference(&plain, &theirs_gamma, 1e-5);
        let og = ours_gamma.grad(&(ours.clone() * weights.clone()).sum().backward());
        let tg = theirs_gamma.grad(&(theirs * weights).sum().backward());
        let gap = relative_gap(og.expect("gradient"), tg.expect("gradient"));
        assert!(
            gap < GRADIENT_TOLERANCE,
            "layer norm gamma gradient differs by {gap}"
        );
        // Mutation: the reference with another epsilon.
        assert_caught(
            "layer norm, epsilon 1e-2",
            ours,
            reference(&plain, &gamma.clone().autodiff(), 1e-2),
        );
    }
}

/// The reference's attention: rotary on q and k (`x * cos + rotate_half(x) * sin`), then
/// burn's attention, as `dit.rs` computes it with burn's operations.
fn reference_attention(qkv: Tensor<3>, heads: usize, shift_keys: bool) -> Tensor<3> {
    let [b, l, three_d] = qkv.dims();
    let d = three_d / 3;
    let hd = d / heads;
    let (cos, sin) = attention::rotary_tables(l + 1, hd);
    let device = qkv.device();
    let table = |values: &[f32], shift: bool| {
        let offset = usize::from(shift) * hd / 2;
        let mut full = Vec::with_capacity(l * hd);
        for p in 0..l {
            let row = &values[offset + p * hd / 2..offset + (p + 1) * hd / 2];
            full.extend_from_slice(row);
            full.extend_from_slice(row);
        }
        Tensor::<2>::from_data(TensorData::new(full, [l, hd]), &device).unsqueeze::<4>()
    };
    let rotary = |x: Tensor<4>, shift: bool| {
        let (cos, sin) = (table(&cos, shift), table(&sin, shift));
        let x1 = x.clone().narrow(3, 0, hd / 2);
        let x2 = x.clone().narrow(3, hd / 2, hd / 2);
        x.clone() * cos + Tensor::cat(vec![x2.neg(), x1], 3) * sin
    };
    let qkv = qkv.reshape([b, l, 3, heads, hd]).permute([2, 0, 3, 1, 4]);
    let part = |i: usize| -> Tensor<4> { qkv.clone().narrow(0, i, 1).squeeze_dim(0) };
    let out = burn_attention(
        rotary(part(0), false),
        rotary(part(1), shift_keys),
        part(2),
        None::<Tensor<4, Bool>>,
        None,
        AttentionModuleOptions::default(),
    );
    out.swap_dims(1, 2).reshape([b, l, d])
}

#[test]
fn attention_matches_burn() {
    // Length 600: three key tiles and seven query tiles (see `attention::forward`).
    for (b, l, d, heads) in [
        (1, 1, 8, 1),
        (2, 7, 24, 3),
        (1, 33, 16, 1),
        (3, 40, 64, 4),
        (2, 65, 36, 2),
        (1, 600, 16, 2),
    ] {
        let qkv = random([b, l, 3 * d], 1.5);
        check(
            &format!("attention b {b} l {l} d {d} heads {heads}"),
            [qkv.clone()],
            |t| attention(t[0].clone(), heads),
            |t| reference_attention(t[0].clone(), heads, false),
        );
        if l > 1 {
            // Mutation: the keys' rotary angles one position further than the queries'. (A
            // shift of both would change nothing: rotary attention sees relative positions.)
            assert_caught(
                "attention, key positions shifted",
                attention(qkv.clone(), heads),
                reference_attention(qkv, heads, true),
            );
        }
    }
}

#[test]
fn bias_gelu_matches_burns_tanh_gelu() {
    for [b, l, f] in [[1, 1, 3], [2, 9, 40], [3, 17, 256]] {
        let inputs = [random([b, l, f], 3.0)];
        let bias = random([f], 1.0);
        check(
            &format!("bias gelu [{b}, {l}, {f}]"),
            inputs.clone(),
            |t| bias_gelu(t[0].clone(), bias.clone()),
            |t| gelu_approximate(t[0].clone() + bias.clone().unsqueeze()),
        );
        let (ours_bias, theirs_bias) = (tracked(&bias), tracked(&bias));
        let u = inputs[0].clone().autodiff();
        let weights = random([b, l, f], 1.0).autodiff();
        let ours = bias_gelu(u.clone(), ours_bias.clone());
        let theirs = gelu_approximate(u.clone() + theirs_bias.clone().unsqueeze());
        let og = ours_bias.grad(&(ours.clone() * weights.clone()).sum().backward());
        let tg = theirs_bias.grad(&(theirs * weights).sum().backward());
        let gap = relative_gap(og.expect("gradient"), tg.expect("gradient"));
        assert!(
            gap < GRADIENT_TOLERANCE,
            "gelu bias gradient differs by {gap}"
        );
        // Mutation: the bias added after the activation instead of before.
        assert_caught(
            "bias gelu, bias after the activation",
            ours,
            gelu_approximate(u) + bias.clone().autodiff().unsqueeze(),
        );
    }
}

#[test]
fn gated_residual_matches_burn() {
    for [b, l, d] in [[1, 1, 8], [2, 7, 24], [3, 33, 130]] {
        let inputs = [
            random([b, l, d], 1.0),
            random([b, l, d], 1.0),
            random([b, 1, d], 1.0),
            random([1, 1, d], 1.0),
        ];
        check(
            &format!("gated residual [{b}, {l}, {d}]"),
            [inputs[0].clone(), inputs[1].clone(), inputs[2].clone()],
            |t| gated_residual(t[0].clone(), t[1].clone(), None, t[2].clone()),
            |t| t[0].clone() + t[2].clone() * t[1].clone(),
        );
        // With a bias: the harness's fourth input, reshaped to [d] on the way in.
        check(
            &format!("gated residual with bias [{b}, {l}, {d}]"),
            inputs.clone(),
            |t| {
                let bias = t[3].clone().reshape([d]);
                gated_residual(t[0].clone(), t[1].clone(), Some(bias), t[2].clone())
            },
            |t| t[0].clone() + t[2].clone() * (t[1].clone() + t[3].clone()),
        );
        // Mutation: the bias left out of the reference.
        let [x, y, gate, bias] = inputs;
        assert_caught(
            "gated residual, bias dropped",
            gated_residual(x.clone(), y.clone(), Some(bias.reshape([d])), gate.clone()),
            x + gate * y,
        );
    }
}

/// Every tap at every shift, sequences shorter than the kernel included, against the shifted
/// sums of `dit.rs`; and against a direct triple loop, so that the reference is itself checked.
#[test]
fn depthwise_conv_matches_burn() {
    use crate::model::dit::depthwise_conv as reference;
    for ([b, l, c], kernel) in [
        ([1, 1, 8], 3),
        ([2, 7, 24], 9),
        ([3, 33, 130], 5),
        ([2, 4, 17], 9),
    ] {
        let (x, taps) = (random([b, l, c], 1.0), random([kernel, c], 1.0));
        check(
            &format!("depthwise conv [{b}, {l}, {c}], {kernel} taps"),
            [x.clone(), taps.clone().reshape([1, kernel, c])],
            |t| depthwise_conv(t[0].clone(), t[1].clone().reshape([kernel, c])),
            |t| reference(t[0].clone(), t[1].clone().reshape([kernel, c])),
        );
        let x_values = x.clone().into_data().try_to_vec::<f32>().expect("f32");
        let tap_values = taps.clone().into_data().try_to_vec::<f32>().expect("f32");
        let mut direct = vec![0f32; b * l * c];
        for s in 0..b {
            for i in 0..l {
                for j in 0..kernel {
                    let Some(source) = (i + j).checked_sub(kernel / 2).filter(|&p| p < l) else {
                        continue;
                    };
                    for f in 0..c {
                        direct[(s * l + i) * c + f] +=
                            tap_values[j * c + f] * x_values[(s * l + source) * c + f];
                    }
                }
            }
        }
        let direct = Tensor::<3>::from_data(TensorData::new(direct, [b, l, c]), &Device::flex());
        let ours = depthwise_conv(x.clone(), taps.clone());
        let gap = relative_gap(ours.clone(), direct);
        assert!(gap < VALUE_TOLERANCE, "direct loop: values differ by {gap}");
        // Mutation: the taps in the opposite order (a correlation read as a convolution);
        // one position sees only the centre tap.
        if l > 1 {
            assert_caught(
                "depthwise conv, taps reversed",
                ours,
                reference(x, taps.flip([0])),
            );
        }
    }
}

/// The model's path from the last linear layer to the weighted loss, in burn's operations:
/// scale by sigma and the zero current-token entry (`ScoreModel::log_scores`), the batched
/// DSE loss of `loss.rs`, the per-sequence sum and weight (`weighted_dse_with`).
fn reference_dse(z: Tensor<3>, terms: &DseTerms, scale_by_sigma: bool) -> Tensor<1> {
    let [b, l, width] = z.dims();
    let device = z.device();
    let ids = |v: &Vec<crate::alphabet::TokenId>| crate::model::token_tensor(v, b, l, &device);
    let (x_t, x0) = (ids(&terms.x_t), ids(&terms.x0));
    let mut scores = z;
    if terms.absorbing && scale_by_sigma {
        let shift: Vec<f32> = terms
            .sigma_bar
            .iter()
            .map(|&s| (s.exp_m1().ln() + ((width - 1) as f64).ln()) as f32)
            .collect();
        scores = scores
            - Tensor::<1>::from_data(TensorData::new(shift, [b]), &device).reshape([b, 1, 1]);
    }
    let scores = scores.mask_fill(x_t.clone().one_hot::<3>(width).bool(), 0.0);
    let per_position = burn_score_entropy(
        scores,
        x_t,
        x0,
        &terms.sigma_bar,
        terms.absorbing,
        terms.num_symbols,
    );
    let weight: Vec<f32> = terms.weight.iter().map(|&w| w as f32).collect();
    per_position.sum_dim(1).reshape([b])
        * Tensor::<1>::from_data(TensorData::new(weight, [b]), &device)
}

#[test]
fn score_entropy_matches_the_models_loss() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(11);
    for (absorbing, n, b, l) in [
        (true, 4, 1, 1),
        (true, 4, 3, 37),
        (true, 20, 2, 9),
        (false, 4, 3, 37),
        (false, 20, 2, 9),
    ] {
        let width = n + usize::from(absorbing);
        let n_id = n as crate::alphabet::TokenId;
        let x0: Vec<crate::alphabet::TokenId> =
            (0..b * l).map(|_| rng.random_range(0..n_id)).collect();
        let x_t: Vec<crate::alphabet::TokenId> = x0
            .iter()
            .map(|&x| match rng.random_range(0..3) {
                0 => x,
                1 if absorbing => n_id,
                _ if absorbing => n_id,
                _ => rng.random_range(0..n_id),
            })
            .collect();
        let sigma_bar: Vec<f64> = (0..b).map(|_| rng.random_range(0.01..6.0)).collect();
        let terms = DseTerms {
            absorbing,
            num_symbols: n,
            x_t,
            x0,
            weight: sigma_bar.iter().map(|s| 1.0 + s).collect(),
            sigma_bar,
        };
        let z = random([b, l, width], 1.0);
        check(
            &format!("score entropy absorbing {absorbing} n {n} [{b}, {l}]"),
            [z.clone()],
            |t| weighted_score_entropy(t[0].clone(), terms.clone()),
            |t| reference_dse(t[0].clone(), &terms, true),
        );
        if absorbing {
            // Mutation: the scale by sigma forgotten.
            assert_caught(
                "score entropy, no scale by sigma",
                weighted_score_entropy(z.clone(), terms.clone()),
                reference_dse(z, &terms, false),
            );
        }
    }
}

/// The kernels cut work into fixed tasks and reduce partial sums in task order, so the thread
/// count does not change a single bit.
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let qkv = random([3, 45, 3 * 32], 1.0);
    let x = random([3, 45, 32], 1.0);
    let (shift, scale) = (random([3, 1, 32], 0.3), random([3, 1, 32], 0.3));
    let gamma = random([32], 1.0);
    let bias = random([32], 1.0);
    let taps = random([5, 32], 1.0);
    let run = || {
        let (q, xs) = (tracked(&qkv), tracked(&x));
        let h = layer_norm_modulate(
            xs.clone(),
            gamma.clone().autodiff(),
            shift.clone().autodiff(),
            scale.clone().autodiff(),
            1e-5,
        );
        let out = attention(q.clone(), 2)
            + bias_gelu(h, bias.clone().autodiff())
            + depthwise_conv(xs.clone(), taps.clone().autodiff());
        let grads = (out.clone() * out.clone()).sum().backward();
        let grad_q = q.grad(&grads).expect("gradient").into_data();
        let grad_x = xs.grad(&grads).expect("gradient").into_data();
        (out.inner().into_data(), grad_q, grad_x)
    };
    let results: Vec<_> = [1, 2, 3]
        .into_iter()
        .map(|threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool")
                .install(run)
        })
        .collect();
    for r in &results[1..] {
        assert_eq!(r.0, results[0].0, "values");
        assert_eq!(r.1, results[0].1, "gradient of qkv");
        assert_eq!(r.2, results[0].2, "gradient of x");
    }
}

#[test]
fn linear_matches_burns_matmul() {
    for (b, l, k, n) in [
        (1, 1, 1, 1),
        (2, 7, 24, 72),
        (3, 33, 64, 17),
        (1, 5, 130, 300),
    ] {
        let x = random([b, l, k], 1.0);
        let w = random([k, n], 0.3);
        let (ox, ow, tx, tw) = (tracked(&x), tracked(&w), tracked(&x), tracked(&w));
        let ours = linear(ox.clone(), ow.clone());
        let theirs = tx.clone().matmul(tw.clone().unsqueeze());
        let gap = relative_gap(ours.clone(), theirs.clone());
        assert!(gap < VALUE_TOLERANCE, "linear values differ by {gap}");
        let weights = random([b, l, n], 1.0).autodiff();
        let og = (ours.clone() * weights.clone()).sum().backward();
        let tg = (theirs * weights).sum().backward();
        let gx = relative_gap(
            ox.grad(&og).expect("gradient"),
            tx.grad(&tg).expect("gradient"),
        );
        let gw = relative_gap(
            ow.grad(&og).expect("gradient"),
            tw.grad(&tg).expect("gradient"),
        );
        assert!(
            gx < GRADIENT_TOLERANCE && gw < GRADIENT_TOLERANCE,
            "linear gradients differ by {gx}, {gw}"
        );
        // Mutation: the weight scaled by 1.001.
        assert_caught(
            "linear, weight scaled",
            ours,
            x.autodiff().matmul((w * 1.001).autodiff().unsqueeze()),
        );
    }
}

/// The level the kernels run at is the one the environment asks for (in the runs of
/// `every_narrower_simd_level_passes_these_tests`, a forced one).
#[test]
fn the_simd_level_follows_the_environment() {
    let configured = vector::SimdLevel::configured().expect("a valid SEDDBIO_SIMD");
    assert_eq!(vector::level(), configured);
}

/// Every test of the fused kernels again at each instruction set narrower than this CPU's
/// widest (which the ordinary run tests), forced through `SEDDBIO_SIMD` in a child run of this
/// test binary: values and gradients against burn's operations, the products against the
/// triple loop, at each level.
#[test]
fn every_narrower_simd_level_passes_these_tests() {
    use vector::{SimdLevel, SIMD_VARIABLE};
    if std::env::var_os(SIMD_VARIABLE).is_some() {
        // A child run (or a level forced by hand): `the_simd_level_follows_the_environment`
        // covers it.
        return;
    }
    let detected = SimdLevel::detected();
    let narrower: Vec<SimdLevel> = SimdLevel::ALL
        .into_iter()
        .filter(|&l| l < detected)
        .collect();
    if narrower.is_empty() {
        eprintln!("every_narrower_simd_level_passes_these_tests: this CPU runs only {detected}");
        return;
    }
    let binary = std::env::current_exe().expect("the test binary's path");
    for level in narrower {
        let output = std::process::Command::new(&binary)
            .env(SIMD_VARIABLE, level.name())
            .args(["model::fused::", "--skip", "every_narrower_simd_level"])
            .output()
            .expect("running the test binary");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{SIMD_VARIABLE}={level}:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let passed = stdout
            .lines()
            .filter(|line| line.starts_with("test ") && line.ends_with(" ok"))
            .count();
        assert!(
            passed >= 10,
            "{SIMD_VARIABLE}={level}: only {passed} tests ran:\n{stdout}"
        );
    }
}
