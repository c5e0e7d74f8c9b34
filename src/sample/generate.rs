//! Whole sequences from a trained model: lengths, slots, batches and the records they become
//! (what `sample`, `infill` and the end-of-run report of `train` share).

use rand::{Rng, RngExt};

use super::{guided_score, sample, Guidance, SamplerSettings, Slot};
use crate::{
    alphabet::{TokenId, TokenizerKind},
    data::LayoutKind,
    io::OutputRecord,
    run::{RunSpec, TrainedModel},
    Result,
};

/// Slots of one unconditional sequence: `length` free positions (never the pad token), then
/// pads up to the model's length for padded models.
pub fn unconditional_slots(spec: &RunSpec, pad: Option<TokenId>, length: usize) -> Vec<Slot> {
    let slots = match (spec.layout, pad) {
        (LayoutKind::Padded, Some(pad)) => {
            let real: Vec<TokenId> = (0..spec.num_symbols as TokenId)
                .filter(|&t| t != pad)
                .collect();
            vec![Slot::OneOf(real); length]
        }
        _ => vec![Slot::Free; length],
    };
    pad_to_model(spec, pad, slots)
}

/// Fixes pad tokens after a sequence's slots, up to the model's length, for padded models.
pub fn pad_to_model(spec: &RunSpec, pad: Option<TokenId>, mut slots: Vec<Slot>) -> Vec<Slot> {
    if let (LayoutKind::Padded, Some(pad)) = (spec.layout, pad) {
        slots.resize(spec.seq_len, Slot::Fixed(pad));
    }
    slots
}

/// A sampled sequence as users read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The text: the symbols, or for a SELFIES model the SMILES they decode to.
    pub sequence: String,
    /// Tokens, pads left out.
    pub tokens: usize,
    /// A SELFIES model's symbols (written beside the SMILES, as `selfies=`).
    pub selfies: Option<String>,
}

impl Decoded {
    /// `metadata` with the SELFIES, where there is one.
    pub fn add_selfies(&self, metadata: &mut Vec<(String, String)>) {
        if let Some(selfies) = &self.selfies {
            metadata.push(("selfies".into(), selfies.clone()));
        }
    }
}

/// A sampled sequence as text, pad tokens stripped, with its length in tokens.
pub fn decode_sampled(trained: &TrainedModel, tokens: Vec<TokenId>) -> Decoded {
    let pad = trained.alphabet.pad_id();
    let ids: Vec<TokenId> = tokens.into_iter().filter(|&t| Some(t) != pad).collect();
    let text = trained.alphabet.decode(&ids);
    let (sequence, selfies) = match trained.alphabet.tokenizer() {
        TokenizerKind::Selfies => (
            crate::chem::selfies_smiles(&text).unwrap_or_default(),
            Some(text),
        ),
        _ => (text, None),
    };
    Decoded {
        sequence,
        tokens: ids.len(),
        selfies,
    }
}

/// Draws a length from the training length distribution stored with the run.
pub fn draw_length(spec: &RunSpec, rng: &mut (impl Rng + ?Sized)) -> usize {
    let total: u64 = spec.length_counts.iter().map(|[_, c]| c).sum();
    let mut pick = rng.random_range(0..total.max(1));
    for &[length, count] in &spec.length_counts {
        if pick < count {
            return length as usize;
        }
        pick -= count;
    }
    spec.seq_len
}

/// Lengths of `num` sequences: `length` when given, else the model's window, or for padded
/// models draws from the training length distribution.
pub fn sample_lengths(
    spec: &RunSpec,
    length: Option<usize>,
    num: usize,
    rng: &mut (impl Rng + ?Sized),
) -> Vec<usize> {
    (0..num)
        .map(|_| match (length, spec.layout) {
            (Some(l), _) => l,
            (None, LayoutKind::Padded) => draw_length(spec, rng),
            (None, LayoutKind::Windows) => spec.seq_len,
        })
        .collect()
}

/// How [`generate`] samples: the sampler with its steps and controls, the label and guidance,
/// and what goes into each record's metadata.
#[derive(Debug, Clone)]
pub struct Generation {
    /// Written into each record's `model` field.
    pub model_name: String,
    /// The sampler, its steps, temperature, top-p, order and remasking cap.
    pub sampler: SamplerSettings,
    /// Sequences per network call.
    pub batch_size: usize,
    /// Written into each record's `seed` field (the caller seeded `rng` with it).
    pub seed: u64,
    /// The label and guidance weight (conditional models).
    pub guidance: Guidance,
    /// More metadata for every record (e.g. `label`, `guidance`).
    pub metadata: Vec<(String, String)>,
    /// Records are named `{id_prefix}_1`, `{id_prefix}_2`, ... (`sample` by default), so
    /// that the samples of two runs can share a file.
    pub id_prefix: String,
}

/// What [`generate`] made.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The records: pads stripped, ids `sample_1..` ([`Generation::id_prefix`]), metadata `model`, `model_step`, the
    /// sampler's ([`SamplerSettings::metadata`]), `seed`, `nfe`, `length` and
    /// [`Generation::metadata`].
    pub records: Vec<OutputRecord>,
    /// Network calls in all.
    pub network_calls: usize,
    /// The per-sequence NFE, summed.
    pub nfe_total: usize,
}

/// One drawn sequence: its tokens (pads included) and the network calls it took part in.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    /// Token ids, the model's full length.
    pub tokens: Vec<TokenId>,
    /// Network calls in which it had a position to update.
    pub nfe: usize,
    /// First-hitting: `-ln` probability of its drawn tokens and how many were drawn
    /// ([`super::Sampled::path_nats`]).
    pub path_nats: Option<(f64, usize)>,
}

/// `count` sequences from a trained model, `settings.batch_size` at a time (one network call
/// per length in a batch) under
/// `settings.guidance`, with `slots(rng)` giving each sequence's slots just before its batch
/// is sampled (so a template's random motif instances and the sampler share one stream in a
/// fixed order). `progress` gets the sequences and network calls of each finished batch.
/// Returns the sequences in order and the network calls in all.
pub fn sample_in_batches<R: Rng + ?Sized>(
    trained: &TrainedModel,
    count: usize,
    settings: &Generation,
    rng: &mut R,
    slots: &mut dyn FnMut(&mut R) -> Vec<Slot>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<Drawn>, usize)> {
    let batch_size = settings.batch_size.max(1);
    let (mut drawn, mut calls) = (Vec::with_capacity(count), 0);
    while drawn.len() < count {
        let batch = batch_size.min(count - drawn.len());
        let mut batch_slots: Vec<Vec<Slot>> = (0..batch).map(|_| slots(rng)).collect();
        // Sequences of one network call share a length: a batch whose lengths differ (a
        // template gap drawn per sample, a windows model) is sampled one length at a time, in
        // the order the lengths first appear; a batch of one length is one call, as ever.
        let mut lengths: Vec<usize> = Vec::new();
        for slots in &batch_slots {
            if !lengths.contains(&slots.len()) {
                lengths.push(slots.len());
            }
        }
        let mut batch_drawn: Vec<Option<Drawn>> = vec![None; batch];
        let mut batch_calls = 0;
        for length in lengths {
            let members: Vec<usize> = (0..batch)
                .filter(|&i| batch_slots[i].len() == length)
                .collect();
            let group: Vec<Vec<Slot>> = members
                .iter()
                .map(|&i| std::mem::take(&mut batch_slots[i]))
                .collect();
            let out = sample(
                &trained.graph,
                &trained.spec.noise,
                &group,
                &settings.sampler,
                rng,
                guided_score(&trained.model, settings.guidance),
            )?;
            batch_calls += out.network_calls;
            let mut paths = out.path_nats.into_iter();
            for ((&i, tokens), nfe) in members.iter().zip(out.sequences).zip(out.nfe) {
                batch_drawn[i] = Some(Drawn {
                    tokens,
                    nfe,
                    path_nats: paths.next(),
                });
            }
        }
        calls += batch_calls;
        drawn.extend(batch_drawn.into_iter().flatten());
        progress(batch, batch_calls);
    }
    Ok((drawn, calls))
}

/// Samples of the given lengths from a trained model, `batch_size` at a time; `progress` is
/// called with the sequences and the network calls of each finished batch.
pub fn generate<R: Rng + ?Sized>(
    trained: &TrainedModel,
    lengths: &[usize],
    settings: &Generation,
    rng: &mut R,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Generated> {
    let spec = &trained.spec;
    let pad = trained.alphabet.pad_id();
    let mut next = lengths.iter();
    let (drawn, network_calls) = sample_in_batches(
        trained,
        lengths.len(),
        settings,
        rng,
        &mut |_| unconditional_slots(spec, pad, next.next().copied().unwrap_or(spec.seq_len)),
        progress,
    )?;
    let nfe_total = drawn.iter().map(|d| d.nfe).sum();
    let records = drawn
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let decoded = decode_sampled(trained, d.tokens);
            let (sequence, length) = (decoded.sequence.clone(), decoded.tokens);
            let mut metadata = vec![
                ("model".into(), settings.model_name.clone()),
                ("model_step".into(), trained.step.to_string()),
            ];
            metadata.extend(settings.sampler.metadata());
            metadata.extend([
                ("seed".into(), settings.seed.to_string()),
                ("nfe".into(), d.nfe.to_string()),
                ("length".into(), length.to_string()),
            ]);
            decoded.add_selfies(&mut metadata);
            if let Some((nats, drawn)) = d.path_nats.filter(|p| p.1 > 0) {
                // Bits per drawn token along the sampler's own path (docs/sampling.md).
                let bits = nats / std::f64::consts::LN_2 / drawn as f64;
                metadata.push(("path_bits".into(), format!("{bits:.4}")));
            }
            metadata.extend(settings.metadata.iter().cloned());
            OutputRecord {
                id: format!("{}_{}", settings.id_prefix, i + 1),
                sequence,
                metadata,
            }
        })
        .collect();
    Ok(Generated {
        records,
        network_calls,
        nfe_total,
    })
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;
    use rand::{rngs::ChaCha8Rng, SeedableRng};

    use super::*;
    use crate::{
        alphabet::Alphabet,
        diffusion::{GraphKind, NoiseSchedule},
        run::TrainConfig,
    };

    /// A padded protein-like run of 12 positions whose training lengths were 5 (once) and 9
    /// (three times), with a fresh (untrained) tiny network.
    fn padded_model() -> TrainedModel {
        let alphabet = Alphabet::builtin("dna").unwrap().with_pad();
        let spec = RunSpec {
            seddbio_version: "0.1.0".into(),
            alphabet: "dna".into(),
            num_symbols: alphabet.len(),
            graph: GraphKind::Absorb,
            noise: NoiseSchedule::log_linear(),
            seed: 1,
            seq_len: 12,
            layout: LayoutKind::Padded,
            train_file: "x.fa".into(),
            length_counts: vec![[5, 1], [9, 3]],
            config: TrainConfig::resolve("tiny").unwrap(),
            threads: 1,
            data_digest: None,
            init_from: None,
            labels: Vec::new(),
            reweight: None,
        };
        let device = Device::flex();
        TrainedModel {
            model: spec.network().init(&device),
            graph: spec.forward_graph(),
            spec,
            alphabet,
            step: 0,
        }
    }

    /// Padded models draw lengths from the training lengths, never sample the pad inside a
    /// sequence and strip the pads after it; records carry their length and the metadata.
    #[test]
    fn padded_samples_follow_the_training_lengths() {
        let trained = padded_model();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let lengths = sample_lengths(&trained.spec, None, 400, &mut rng);
        let nines = lengths.iter().filter(|&&l| l == 9).count();
        assert!(lengths.iter().all(|&l| l == 5 || l == 9));
        // 3 in 4 are 9 long: binomial(400, 0.75), standard deviation 8.7.
        assert!((260..=340).contains(&nines), "{nines}");
        assert_eq!(
            sample_lengths(&trained.spec, Some(7), 3, &mut rng),
            [7, 7, 7]
        );

        let settings = Generation {
            model_name: "toy".into(),
            sampler: SamplerSettings::new(crate::sample::SamplerKind::FirstHitting, 8).unwrap(),
            batch_size: 4,
            seed: 3,
            guidance: Guidance::default(),
            metadata: vec![("note".into(), "x".into())],
            id_prefix: "toy".into(),
        };
        let mut batches = Vec::new();
        let generated = generate(
            &trained,
            &lengths[..10],
            &settings,
            &mut rng,
            &mut |n, _| batches.push(n),
        )
        .unwrap();
        assert_eq!(batches, [4, 4, 2]);
        assert_eq!(generated.records.len(), 10);
        for (record, &length) in generated.records.iter().zip(&lengths[..10]) {
            assert_eq!(record.sequence.len(), length, "{record:?}");
            assert!(record.sequence.bytes().all(|b| b"ACGT".contains(&b)));
            assert!(record
                .metadata
                .contains(&("length".into(), length.to_string())));
            assert_eq!(
                record.metadata.last().unwrap(),
                &("note".into(), "x".into())
            );
        }
        assert!(generated.nfe_total <= 10 * 12);
    }
}
