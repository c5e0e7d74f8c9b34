// The probe of `neutral_controls_reproduce_the_samplers_bit_for_bit` (tests/sampling.rs): a
// context-dependent stand-in for a network, the slots and the digest. GOLDEN was recorded by
// running this same probe through the samplers of commit 075690d, whose API was
// `sample(&graph, &NoiseSchedule::log_linear(), &probe_slots(), steps, kind, &mut rng,
// probe_score(&graph, 8))` with `ChaCha8Rng::seed_from_u64(17)`, printing
// `(format!("{:?} {kind} {steps}", graph.kind), fnv(&out.sequences), out.network_calls)`.

/// A context-dependent stand-in for a network: log scores from the row's tokens, the position,
/// the target token and the noise level (deterministic, identical on every platform).
fn probe_score(graph: &Graph, len: usize) -> impl FnMut(&[u16], usize, f64) -> Vec<f32> + '_ {
    move |x: &[u16], _batch: usize, sigma_bar: f64| {
        let width = graph.width();
        let mut out = Vec::with_capacity(x.len() * width);
        for (i, &token) in x.iter().enumerate() {
            let row = &x[i / len * len..(i / len + 1) * len];
            let context: u32 = row.iter().enumerate().map(|(j, &t)| (j as u32 + 1) * (t as u32 + 3)).sum();
            for y in 0..width {
                let raw = ((context * 31 + (i % len) as u32 * 7 + y as u32 * 13) % 97) as f32 / 97.0;
                let s = match graph.kind {
                    GraphKind::Absorb if usize::from(token) == graph.num_symbols && y < graph.num_symbols => {
                        3.0 * raw - 1.5 - sigma_bar.exp_m1().ln() as f32
                    }
                    GraphKind::Absorb => 0.0,
                    GraphKind::Uniform if y == usize::from(token) => 0.0,
                    GraphKind::Uniform => 2.0 * raw - 1.0,
                };
                out.push(s);
            }
        }
        out
    }
}

fn fnv(seqs: &[Vec<u16>]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for s in seqs {
        for &t in s.iter().chain(std::iter::once(&u16::MAX)) {
            for b in t.to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x100000001b3);
            }
        }
    }
    h
}

fn probe_slots() -> Vec<Vec<Slot>> {
    let template = vec![Slot::Free, Slot::OneOf(vec![0, 2]), Slot::Free, Slot::Fixed(1), Slot::Free, Slot::Free, Slot::OneOf(vec![1, 2, 3]), Slot::Free];
    vec![template; 24]
}

/// `(graph kind, sampler, steps)`, the digest of the 24 sequences, the network calls.
const GOLDEN: [(&str, u64, usize); 10] = [
    ("Absorb euler 5", 0xbe5c8160b44e6cad, 6),
    ("Absorb euler 64", 0xb4cfb4750f24d2a9, 65),
    ("Absorb analytic 5", 0xbe5c8160b44e6cad, 6),
    ("Absorb analytic 64", 0xb4cfb4750f24d2a9, 65),
    ("Absorb first-hitting 5", 0x9223b9313d01f380, 5),
    ("Absorb first-hitting 64", 0xa0de384c8f0d4195, 58),
    ("Uniform euler 5", 0xfc75c2b5efad3572, 6),
    ("Uniform euler 64", 0x5feee7df670f2ae9, 65),
    ("Uniform analytic 5", 0x8eac5b972d03836e, 6),
    ("Uniform analytic 64", 0xf6c842415d5f6e8e, 65),
];
