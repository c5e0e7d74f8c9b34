//! Samplers against an exact score: an i.i.d. categorical source, whose concrete score is
//! analytic, must come back with its own frequencies from every sampler and both graphs; fixed
//! positions never change and allowed sets always hold, even under an arbitrary score. The
//! sampling controls (docs/sampling.md, "The controls"): temperature 1 and top-p 1 leave the
//! samplers bit for bit as they were, temperature near 0 follows the argmax path, top-p keeps
//! the nucleus, confidence order unmasks the certain position first, remasking remasks.

use rand::{rngs::ChaCha8Rng, RngExt, SeedableRng};
use seddbio::{
    diffusion::{Graph, GraphKind, NoiseSchedule},
    sample::{sample, SamplerKind, SamplerSettings, Slot, UnmaskOrder},
};

const P: [f64; 4] = [0.1, 0.2, 0.3, 0.4];

/// Exact log scores of the i.i.d. source P at total noise sigma_bar (docs/design.md, eqs. (15),
/// (16)): absorbing, a MASK position has ratio p_v / (e^sigma_bar - 1) to token v; uniform,
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
        kinds.extend([SamplerKind::FirstHitting, SamplerKind::Remask]);
    }
    kinds
}

fn plain(kind: SamplerKind, steps: usize) -> SamplerSettings {
    SamplerSettings::new(kind, steps).unwrap()
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
                &plain(kind, 128),
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
                    &plain(kind, steps),
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
        &plain(SamplerKind::FirstHitting, 8),
        &mut rng,
        |x: &[u16], _: usize, _: f64| vec![0.0; x.len() * 4],
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("absorbing"), "{error}");
}

include!("data/sampler_probe.rs");

/// Temperature 1 and top-p 1 draw exactly what the samplers drew before the controls existed:
/// digests of 24 sequences under a context-dependent score, recorded with the samplers of
/// commit 075690d (the same probe through their `sample(graph, schedule, slots, steps, kind,
/// rng, score)`; tests/data/sampler_probe.rs says how).
#[test]
fn neutral_controls_reproduce_the_samplers_bit_for_bit() {
    let mut seen = 0;
    for graph in [Graph::absorbing(4), Graph::uniform(4)] {
        for kind in samplers(&graph)
            .into_iter()
            .filter(|&k| k != SamplerKind::Remask)
        {
            for steps in [5usize, 64] {
                let settings = plain(kind, steps)
                    .with_temperature(1.0)
                    .and_then(|s| s.with_top_p(1.0))
                    .unwrap()
                    .with_order(UnmaskOrder::Random);
                let mut rng = ChaCha8Rng::seed_from_u64(17);
                let out = sample(
                    &graph,
                    &NoiseSchedule::log_linear(),
                    &probe_slots(),
                    &settings,
                    &mut rng,
                    probe_score(&graph, 8),
                )
                .unwrap();
                let key = format!("{:?} {kind} {steps}", graph.kind);
                let (digest, calls) = GOLDEN
                    .iter()
                    .find(|(k, _, _)| *k == key)
                    .map(|&(_, d, c)| (d, c))
                    .unwrap_or_else(|| panic!("no golden digest for {key}"));
                assert_eq!(
                    (fnv(&out.sequences), out.network_calls),
                    (digest, calls),
                    "{key}"
                );
                seen += 1;
            }
        }
    }
    assert_eq!(seen, GOLDEN.len());
}

/// The exact i.i.d. score with the most likely token last: near temperature 0 every sampler
/// of the absorbing graph writes token 3 everywhere; top-p 0.35 keeps only token 3 (0.4 >=
/// 0.35), top-p 0.65 tokens 2 and 3 in their renormalised ratio 3 : 4.
#[test]
fn temperature_near_zero_is_argmax_and_top_p_keeps_the_nucleus() {
    let graph = Graph::absorbing(4);
    let slots = vec![vec![Slot::Free; 4]; 500];
    for kind in samplers(&graph) {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let settings = plain(kind, 32).with_temperature(1e-6).unwrap();
        let out = sample(
            &graph,
            &NoiseSchedule::log_linear(),
            &slots[..20],
            &settings,
            &mut rng,
            |x: &[u16], _: usize, sb: f64| exact_scores(&graph, x, sb),
        )
        .unwrap();
        assert!(
            out.sequences.iter().flatten().all(|&t| t == 3),
            "{kind}: {:?}",
            &out.sequences[..3]
        );
        for (top_p, allowed, share_of_3) in [(0.35, &[3u16][..], 1.0), (0.65, &[2, 3], 4.0 / 7.0)] {
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            let settings = plain(kind, 32).with_top_p(top_p).unwrap();
            let out = sample(
                &graph,
                &NoiseSchedule::log_linear(),
                &slots,
                &settings,
                &mut rng,
                |x: &[u16], _: usize, sb: f64| exact_scores(&graph, x, sb),
            )
            .unwrap();
            let tokens: Vec<u16> = out.sequences.concat();
            assert!(tokens.iter().all(|t| allowed.contains(t)), "{kind} {top_p}");
            let threes = tokens.iter().filter(|&&t| t == 3).count() as f64 / tokens.len() as f64;
            let se = (share_of_3 * (1.0 - share_of_3) / tokens.len() as f64).sqrt();
            assert!(
                (threes - share_of_3).abs() <= 5.0 * se + 1e-9,
                "{kind} top-p {top_p}: share of token 3 {threes:.4}, expected {share_of_3:.4}"
            );
        }
    }
}

/// Near temperature 0 with confidence order the first-hitting sampler is deterministic: every
/// seed gives the greedy path computed here independently (unmask the masked position whose
/// distribution has the largest maximum, ties to the earlier position, with its argmax).
#[test]
fn confidence_order_near_temperature_zero_is_the_greedy_path() {
    let graph = Graph::absorbing(4);
    let len = 8;
    let slots = probe_slots();
    let template = &slots[0];
    // The probe at one noise level for every call: first-hitting reads only the normalised
    // scores, and the same f32 logits here and in the sampler keep exact ties exact.
    let mut probe = probe_score(&graph, len);
    let mut score = move |x: &[u16], batch: usize, _: f64| probe(x, batch, 1.0);
    // The greedy path, one position a call.
    let mut x: Vec<u16> = template
        .iter()
        .map(|s| match s {
            Slot::Fixed(t) => *t,
            _ => 4,
        })
        .collect();
    while x.contains(&4) {
        let scores = score(&x, 1, 1.0);
        let mut best: Option<(f64, usize, u16)> = None;
        for i in (0..len).filter(|&i| x[i] == 4) {
            let allowed: Vec<u16> = match &template[i] {
                Slot::OneOf(set) => set.clone(),
                _ => (0..4).collect(),
            };
            let weights: Vec<f64> = allowed
                .iter()
                .map(|&v| f64::from(scores[i * 5 + usize::from(v)]).exp())
                .collect();
            let total: f64 = weights.iter().sum();
            let (arg, top) =
                weights.iter().enumerate().fold(
                    (0, 0.0),
                    |acc, (j, &w)| if w > acc.1 { (j, w) } else { acc },
                );
            let confidence = top / total;
            if best.is_none_or(|b| confidence > b.0) {
                best = Some((confidence, i, allowed[arg]));
            }
        }
        let (_, i, token) = best.unwrap();
        x[i] = token;
    }
    for seed in [1, 2, 3] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let settings = plain(SamplerKind::FirstHitting, 100_000)
            .with_temperature(1e-6)
            .unwrap()
            .with_order(UnmaskOrder::Confidence);
        let out = sample(
            &graph,
            &NoiseSchedule::log_linear(),
            &slots[..3],
            &settings,
            &mut rng,
            &mut score,
        )
        .unwrap();
        for seq in &out.sequences {
            assert_eq!(seq, &x, "seed {seed}");
        }
    }
}

/// Confidence order unmasks first the position whose distribution is certain (position 5: all
/// mass on one token), then the rest; random order does not single it out.
#[test]
fn confidence_order_unmasks_the_certain_position_first() {
    let graph = Graph::absorbing(4);
    let len = 8;
    let first_unmasked = |order: UnmaskOrder, seed: u64| -> Vec<usize> {
        let mut firsts = Vec::new();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let settings = plain(SamplerKind::FirstHitting, 4096).with_order(order);
        let mut previous: Option<Vec<u16>> = None;
        sample(
            &graph,
            &NoiseSchedule::log_linear(),
            &[vec![Slot::Free; len]],
            &settings,
            &mut rng,
            |x: &[u16], _: usize, _: f64| {
                if previous.as_ref().is_some_and(|p| p.iter().all(|&t| t == 4)) {
                    firsts.extend((0..len).filter(|&i| x[i] != 4));
                }
                previous = Some(x.to_vec());
                (0..len)
                    .flat_map(|i| match i {
                        5 => [8.0, -8.0, -8.0, -8.0, 0.0],
                        _ => [0.1 * i as f32, 0.0, 0.05, 0.0, 0.0],
                    })
                    .collect()
            },
        )
        .unwrap();
        firsts
    };
    for seed in 0..10 {
        assert_eq!(
            first_unmasked(UnmaskOrder::Confidence, seed),
            [5],
            "seed {seed}"
        );
    }
    let random_firsts: Vec<usize> = (0..10)
        .flat_map(|seed| first_unmasked(UnmaskOrder::Random, seed))
        .collect();
    assert!(random_firsts.iter().any(|&i| i != 5), "{random_firsts:?}");
}

/// The remasking sampler sends unmasked tokens back to MASK (seen in the network's inputs) at
/// a positive cap and never at cap 0, and costs steps + 1 calls.
#[test]
fn remasking_remasks_only_with_a_positive_cap() {
    let graph = Graph::absorbing(4);
    for (cap, remasks_expected) in [(0.0, false), (0.2, true)] {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let settings = plain(SamplerKind::Remask, 64).with_remask_cap(cap).unwrap();
        let mut previous: Option<Vec<u16>> = None;
        let mut remasked = 0;
        let out = sample(
            &graph,
            &NoiseSchedule::log_linear(),
            &vec![vec![Slot::Free; 6]; 50],
            &settings,
            &mut rng,
            |x: &[u16], _: usize, sb: f64| {
                if let Some(p) = &previous {
                    remasked += p.iter().zip(x).filter(|(&a, &b)| a != 4 && b == 4).count();
                }
                previous = Some(x.to_vec());
                exact_scores(&graph, x, sb)
            },
        )
        .unwrap();
        assert_eq!(out.network_calls, 65);
        assert_eq!(
            remasked > 0,
            remasks_expected,
            "cap {cap}: {remasked} remasked"
        );
        assert!(out.sequences.iter().flatten().all(|&t| t < 4));
    }
}

/// First-hitting records each sequence's `-ln` probability of its draws: for the exact score
/// of an i.i.d. source its mean per token is the source's entropy (1.846 bits for P), and at
/// half the temperature it is the entropy of P^2 renormalised, which the draws then follow.
#[test]
fn first_hitting_path_likelihood_is_the_entropy_of_its_draws() {
    let graph = Graph::absorbing(4);
    let entropy = |p: &[f64]| -> f64 {
        let total: f64 = p.iter().sum();
        -p.iter()
            .map(|v| v / total * (v / total).log2())
            .sum::<f64>()
    };
    let squared: Vec<f64> = P.iter().map(|p| p * p).collect();
    for (temperature, expected) in [(1.0, entropy(&P)), (0.5, entropy(&squared))] {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let settings = plain(SamplerKind::FirstHitting, 256)
            .with_temperature(temperature)
            .unwrap();
        let out = sample(
            &graph,
            &NoiseSchedule::log_linear(),
            &vec![vec![Slot::Free; 4]; 3000],
            &settings,
            &mut rng,
            |x: &[u16], _: usize, sb: f64| exact_scores(&graph, x, sb),
        )
        .unwrap();
        assert_eq!(out.path_nats.len(), 3000);
        assert!(out.path_nats.iter().all(|&(_, drawn)| drawn == 4));
        let bits: Vec<f64> = out
            .path_nats
            .iter()
            .map(|&(nats, drawn)| nats / std::f64::consts::LN_2 / drawn as f64)
            .collect();
        let mean = bits.iter().sum::<f64>() / bits.len() as f64;
        let sd = (bits.iter().map(|b| (b - mean).powi(2)).sum::<f64>() / bits.len() as f64).sqrt();
        let se = sd / (bits.len() as f64).sqrt();
        assert!(
            (mean - expected).abs() < 5.0 * se,
            "T {temperature}: {mean:.4} bits per token, expected {expected:.4} (SE {se:.4})"
        );
    }
    // The other samplers leave it empty.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let out = sample(
        &graph,
        &NoiseSchedule::log_linear(),
        &[vec![Slot::Free; 4]],
        &plain(SamplerKind::Analytic, 8),
        &mut rng,
        |x: &[u16], _: usize, sb: f64| exact_scores(&graph, x, sb),
    )
    .unwrap();
    assert!(out.path_nats.is_empty());
}
