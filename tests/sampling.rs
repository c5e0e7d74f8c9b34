//! Samplers against an exact score: an i.i.d. categorical source, whose concrete score is
//! analytic, must come back with its own frequencies from every sampler and both graphs; fixed
//! positions never change and allowed sets always hold, even under an arbitrary score.

use rand::{rngs::ChaCha8Rng, RngExt, SeedableRng};
use seddbio::{
    diffusion::{Graph, GraphKind, NoiseSchedule},
    sample::{sample, SamplerKind, Slot},
};

const P: [f64; 4] = [0.1, 0.2, 0.3, 0.4];

/// Exact log scores of the i.i.d. source P at total noise sigma_bar (sedd.md, "The concrete
/// score"): absorbing, a MASK position has ratio p_v / (e^sigma_bar - 1) to token v; uniform,
/// the marginal is p_t(y) = e^-sigma_bar p_y + (1 - e^-sigma_bar) / N.
fn exact_scores(graph: &Graph, x: &[u16], sigma_bar: f64) -> Vec<f32> {
    let n = graph.num_symbols;
    let width = graph.width();
    let keep = (-sigma_bar).exp();
    let marginal = |y: usize| keep * P[y] + (1.0 - keep) / n as f64;
    let mut out = Vec::with_capacity(x.len() * width);
    for token in x.iter().map(|&t| usize::from(t)) {
        // y runs over the mask column too (width = N + 1 for absorbing), where P has no entry.
        #[allow(clippy::needless_range_loop)]
        for y in 0..width {
            let s = match graph.kind {
                GraphKind::Absorb if token == n && y < n => P[y].ln() - sigma_bar.exp_m1().ln(),
                GraphKind::Absorb => 0.0,
                GraphKind::Uniform => marginal(y).ln() - marginal(token).ln(),
            };
            out.push(s as f32);
        }
    }
    out
}

fn samplers(graph: &Graph) -> Vec<SamplerKind> {
    let mut kinds = vec![SamplerKind::Euler, SamplerKind::Analytic];
    if graph.kind == GraphKind::Absorb {
        kinds.push(SamplerKind::FirstHitting);
    }
    kinds
}

#[test]
fn every_sampler_recovers_an_iid_distribution_from_its_exact_score() {
    let (batch, len) = (2000, 4);
    for graph in [Graph::absorbing(4), Graph::uniform(4)] {
        let schedule = match graph.kind {
            GraphKind::Absorb => NoiseSchedule::log_linear(),
            GraphKind::Uniform => NoiseSchedule::geometric(),
        };
        for kind in samplers(&graph) {
            let mut rng = ChaCha8Rng::seed_from_u64(11);
            let slots = vec![vec![Slot::Free; len]; batch];
            let out = sample(
                &graph,
                &schedule,
                &slots,
                128,
                kind,
                &mut rng,
                |x: &[u16], _: usize, sb: f64| exact_scores(&graph, x, sb),
            )
            .unwrap();
            let mut counts = [0usize; 4];
            for seq in &out.sequences {
                for &t in seq {
                    counts[usize::from(t)] += 1;
                }
            }
            let total = (batch * len) as f64;
            for (y, &p) in P.iter().enumerate() {
                let freq = counts[y] as f64 / total;
                let se = (p * (1.0 - p) / total).sqrt();
                assert!(
                    (freq - p).abs() < 5.0 * se + 0.01,
                    "{:?} {kind}: token {y} frequency {freq:.4}, expected {p} (SE {se:.4})",
                    graph.kind
                );
            }
            if kind == SamplerKind::FirstHitting {
                assert!(
                    out.nfe.iter().all(|&c| c <= len),
                    "NFE above length: {:?}",
                    &out.nfe[..10]
                );
                assert!(out.network_calls <= 129);
            } else {
                assert_eq!(
                    out.network_calls, 129,
                    "128 steps + the final denoising call"
                );
            }
        }
    }
}

#[test]
fn fixed_positions_and_allowed_sets_hold_under_any_score() {
    let template = vec![
        Slot::Fixed(3),
        Slot::Free,
        Slot::OneOf(vec![0, 2]),
        Slot::Fixed(0),
        Slot::OneOf(vec![1]),
        Slot::Free,
    ];
    let slots = vec![template; 50];
    for graph in [Graph::absorbing(4), Graph::uniform(4)] {
        for kind in samplers(&graph) {
            for steps in [1, 7, 64] {
                let mut noise = ChaCha8Rng::seed_from_u64(5);
                let mut rng = ChaCha8Rng::seed_from_u64(6);
                let width = graph.width();
                let mut seen_fixed = true;
                let out = sample(
                    &graph,
                    &NoiseSchedule::log_linear(),
                    &slots,
                    steps,
                    kind,
                    &mut rng,
                    |x: &[u16], _: usize, _: f64| {
                        // Fixed positions are clamped in every network input too.
                        for row in x.chunks(6) {
                            seen_fixed &= row[0] == 3 && row[3] == 0;
                        }
                        (0..x.len() * width)
                            .map(|_| noise.random_range(-6.0f32..3.0))
                            .collect()
                    },
                )
                .unwrap();
                assert!(seen_fixed, "{kind}: a fixed position changed between calls");
                for seq in &out.sequences {
                    assert_eq!(
                        (seq[0], seq[3], seq[4]),
                        (3, 0, 1),
                        "{:?} {kind} {steps}: {seq:?}",
                        graph.kind
                    );
                    assert!(
                        seq[2] == 0 || seq[2] == 2,
                        "{:?} {kind} {steps}: {seq:?}",
                        graph.kind
                    );
                    assert!(seq.iter().all(|&t| t < 4), "MASK left in {seq:?}");
                }
            }
        }
    }
}

#[test]
fn first_hitting_refuses_uniform_models() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let error = sample(
        &Graph::uniform(4),
        &NoiseSchedule::geometric(),
        &[vec![Slot::Free]],
        8,
        SamplerKind::FirstHitting,
        &mut rng,
        |x: &[u16], _: usize, _: f64| vec![0.0; x.len() * 4],
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("absorbing"), "{error}");
}
