//! Whole sequences from a trained model: lengths, slots, batches and the records they become
//! (what `sample`, `infill` and the end-of-run report of `train` share).

use std::ops::Range;

use rand::{rngs::ChaCha8Rng, Rng, RngExt};

use super::{guided_score, sampler::sample_streams, Guidance, SamplerSettings, Slot};
use crate::{
    alphabet::{selfies::is_complete, TokenId, TokenizerKind},
    data::LayoutKind,
    io::OutputRecord,
    run::{RunSpec, TrainedModel},
    shard::{item_stream, PickedStreams},
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

impl Drawn {
    /// When SELFIES samples are redrawn: `draws` and whether the sample kept is `complete`
    /// (it is not when every draw lost symbols).
    pub fn add_draws(&self, metadata: &mut Vec<(String, String)>) {
        if let Some(complete) = self.complete {
            metadata.push(("draws".into(), self.draws.to_string()));
            metadata.push(("complete".into(), complete.to_string()));
        }
    }
}

impl Decoded {
    /// `metadata` with the SELFIES, where there is one.
    pub fn add_selfies(&self, metadata: &mut Vec<(String, String)>) {
        if let Some(selfies) = &self.selfies {
            metadata.push(("selfies".into(), selfies.clone()));
        }
    }
}

/// A sampled sequence's symbols as text, pad tokens stripped (a SELFIES model's SELFIES).
fn symbols_of(trained: &TrainedModel, tokens: &[TokenId]) -> String {
    let pad = trained.alphabet.pad_id();
    let ids: Vec<TokenId> = tokens.iter().copied().filter(|&t| Some(t) != pad).collect();
    trained.alphabet.decode(&ids)
}

/// A sampled sequence as text, pad tokens stripped, with its length in tokens.
pub fn decode_sampled(trained: &TrainedModel, tokens: &[TokenId]) -> Decoded {
    let pad = trained.alphabet.pad_id();
    let count = tokens.iter().filter(|&&t| Some(t) != pad).count();
    let text = symbols_of(trained, tokens);
    let (sequence, selfies) = match trained.alphabet.tokenizer() {
        TokenizerKind::Selfies => (
            crate::chem::selfies_smiles(&text).unwrap_or_default(),
            Some(text),
        ),
        _ => (text, None),
    };
    Decoded {
        sequence,
        tokens: count,
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

/// The length of one sequence: `length` when given, else the model's window, or for padded
/// models a draw from the training length distribution.
pub fn sequence_length(
    spec: &RunSpec,
    length: Option<usize>,
    rng: &mut (impl Rng + ?Sized),
) -> usize {
    match (length, spec.layout) {
        (Some(l), _) => l,
        (None, LayoutKind::Padded) => draw_length(spec, rng),
        (None, LayoutKind::Windows) => spec.seq_len,
    }
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
    /// The seed of every item's random stream ([`item_stream`]); written into each record's
    /// `seed` field.
    pub seed: u64,
    /// The label and guidance weight (conditional models).
    pub guidance: Guidance,
    /// More metadata for every record (e.g. `label`, `guidance`).
    pub metadata: Vec<(String, String)>,
    /// Records are named `{id_prefix}_1`, `{id_prefix}_2`, ... (`sample` by default), so
    /// that the samples of two runs can share a file.
    pub id_prefix: String,
    /// SELFIES models: draws per sample until one is complete (every symbol in its molecule,
    /// [`is_complete`]); 1 keeps the first draw. Ignored for other alphabets.
    pub selfies_draws: usize,
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
    /// Draws it took ([`Generation::selfies_draws`]; 1 without redrawing).
    pub draws: usize,
    /// When SELFIES samples are redrawn: whether the draw kept is complete ([`is_complete`]).
    pub complete: Option<bool>,
}

/// The sequences `items` (global indices of the job: a shard's range, or `0..count`) from a
/// trained model, `settings.batch_size` at a time, under `settings.guidance`. Item `g` draws
/// everything from its own stream, `item_stream(settings.seed, g)`: first `slots(g, stream)`
/// gives its slots (a template's motif instances and gap lengths, a drawn length), then the
/// sampler continues on the same stream, so an item comes out the same whichever shard or
/// batch it is drawn in ([`crate::shard`]). `progress` gets the sequences and network calls of
/// each finished batch. Returns the sequences in order and the network calls in all.
pub fn sample_in_batches(
    trained: &TrainedModel,
    items: Range<usize>,
    settings: &Generation,
    slots: &mut dyn FnMut(usize, &mut ChaCha8Rng) -> Vec<Slot>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<Drawn>, usize)> {
    let batch_size = settings.batch_size.max(1);
    let (mut drawn, mut calls) = (Vec::with_capacity(items.len()), 0);
    // A SELFIES sample whose decoding loses symbols is drawn again from where its stream
    // stands, its slots (a drawn length, a template's gaps) included, up to `selfies_draws`
    // draws (docs/design.md, §14): the samples then follow the model restricted to complete
    // strings, as the data are. Keeping the slots instead let the molecules run long.
    let redraw =
        settings.selfies_draws > 1 && trained.alphabet.tokenizer() == TokenizerKind::Selfies;
    let all: Vec<usize> = items.collect();
    for batch_items in all.chunks(batch_size) {
        let batch = batch_items.len();
        let mut streams: Vec<ChaCha8Rng> = batch_items
            .iter()
            .map(|&g| item_stream(settings.seed, g))
            .collect();
        let mut batch_slots: Vec<Vec<Slot>> = batch_items
            .iter()
            .zip(&mut streams)
            .map(|(&g, stream)| slots(g, stream))
            .collect();
        let mut batch_drawn: Vec<Option<Drawn>> = vec![None; batch];
        let mut batch_calls = 0;
        let mut pending: Vec<usize> = (0..batch).collect();
        while !pending.is_empty() {
            let (group, calls) =
                draw_members(trained, settings, &batch_slots, &mut streams, &pending)?;
            batch_calls += calls;
            let mut again = Vec::new();
            for (&i, mut d) in pending.iter().zip(group) {
                if let Some(before) = &batch_drawn[i] {
                    d.nfe += before.nfe;
                    d.draws += before.draws;
                }
                if redraw {
                    let complete = is_complete(&symbols_of(trained, &d.tokens));
                    if !complete && d.draws < settings.selfies_draws {
                        again.push(i);
                    }
                    d.complete = Some(complete);
                }
                batch_drawn[i] = Some(d);
            }
            for &i in &again {
                batch_slots[i] = slots(batch_items[i], &mut streams[i]);
            }
            pending = again;
        }
        calls += batch_calls;
        drawn.extend(batch_drawn.into_iter().flatten());
        progress(batch, batch_calls);
    }
    Ok((drawn, calls))
}

/// One draw of batch members `members` (indices into `slots` and `streams`): sequences of one
/// network call share a length, so members whose lengths differ (a template gap drawn per
/// sample, a windows model) are sampled one length at a time, in the order the lengths first
/// appear. Returns the members' draws in order and the network calls.
fn draw_members(
    trained: &TrainedModel,
    settings: &Generation,
    slots: &[Vec<Slot>],
    streams: &mut [ChaCha8Rng],
    members: &[usize],
) -> Result<(Vec<Drawn>, usize)> {
    let mut lengths: Vec<usize> = Vec::new();
    for &i in members {
        if !lengths.contains(&slots[i].len()) {
            lengths.push(slots[i].len());
        }
    }
    let mut drawn: Vec<Option<Drawn>> = vec![None; slots.len()];
    let mut calls = 0;
    for length in lengths {
        let group: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| slots[i].len() == length)
            .collect();
        let group_slots: Vec<Vec<Slot>> = group.iter().map(|&i| slots[i].clone()).collect();
        let out = sample_streams(
            &trained.graph,
            &trained.spec.noise,
            &group_slots,
            &settings.sampler,
            &mut PickedStreams::new(streams, &group),
            guided_score(&trained.model, settings.guidance),
        )?;
        calls += out.network_calls;
        let mut paths = out.path_nats.into_iter();
        for ((&i, tokens), nfe) in group.iter().zip(out.sequences).zip(out.nfe) {
            drawn[i] = Some(Drawn {
                tokens,
                nfe,
                path_nats: paths.next(),
                draws: 1,
                complete: None,
            });
        }
    }
    Ok((
        members.iter().filter_map(|&i| drawn[i].take()).collect(),
        calls,
    ))
}

/// The sequences `items` of a job (global indices; `0..count` for the whole job) from a
/// trained model, each `length` long or as [`sequence_length`] draws it from the item's
/// stream, `batch_size` at a time; records are named `{id_prefix}_{g + 1}` by their global
/// index, so the outputs of shards concatenate into the output of one run. `progress` is
/// called with the sequences and the network calls of each finished batch.
pub fn generate(
    trained: &TrainedModel,
    items: Range<usize>,
    length: Option<usize>,
    settings: &Generation,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Generated> {
    let spec = &trained.spec;
    let pad = trained.alphabet.pad_id();
    let first = items.start;
    let (drawn, network_calls) = sample_in_batches(
        trained,
        items,
        settings,
        &mut |_, stream| unconditional_slots(spec, pad, sequence_length(spec, length, stream)),
        progress,
    )?;
    let nfe_total = drawn.iter().map(|d| d.nfe).sum();
    let records = drawn
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let decoded = decode_sampled(trained, &d.tokens);
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
            d.add_draws(&mut metadata);
            decoded.add_selfies(&mut metadata);
            if let Some((nats, drawn)) = d.path_nats.filter(|p| p.1 > 0) {
                // Bits per drawn token along the sampler's own path (docs/sampling.md).
                let bits = nats / std::f64::consts::LN_2 / drawn as f64;
                metadata.push(("path_bits".into(), format!("{bits:.4}")));
            }
            metadata.extend(settings.metadata.iter().cloned());
            OutputRecord {
                id: format!("{}_{}", settings.id_prefix, first + i + 1),
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
        let lengths: Vec<usize> = (0..400)
            .map(|_| sequence_length(&trained.spec, None, &mut rng))
            .collect();
        let nines = lengths.iter().filter(|&&l| l == 9).count();
        assert!(lengths.iter().all(|&l| l == 5 || l == 9));
        // 3 in 4 are 9 long: binomial(400, 0.75), standard deviation 8.7.
        assert!((260..=340).contains(&nines), "{nines}");
        assert_eq!(sequence_length(&trained.spec, Some(7), &mut rng), 7);

        let settings = generation(4);
        let mut batches = Vec::new();
        let generated = generate(&trained, 0..10, None, &settings, &mut |n, _| {
            batches.push(n)
        })
        .unwrap();
        assert_eq!(batches, [4, 4, 2]);
        assert_eq!(generated.records.len(), 10);
        for (g, record) in generated.records.iter().enumerate() {
            let length = sequence_length(&trained.spec, None, &mut item_stream(3, g));
            assert_eq!(record.id, format!("toy_{}", g + 1));
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

    fn generation(batch_size: usize) -> Generation {
        Generation {
            model_name: "toy".into(),
            sampler: SamplerSettings::new(crate::sample::SamplerKind::FirstHitting, 8).unwrap(),
            batch_size,
            seed: 3,
            guidance: Guidance::default(),
            metadata: vec![("note".into(), "x".into())],
            id_prefix: "toy".into(),
            selfies_draws: 1,
        }
    }

    /// Each item is drawn from its own stream: any split of the items into ranges, at any
    /// batch size, gives the records of one run, ids included.
    #[test]
    fn ranges_of_items_add_up_to_one_run() {
        let trained = padded_model();
        let whole = generate(&trained, 0..11, None, &generation(4), &mut |_, _| {}).unwrap();
        let mut pieces = Vec::new();
        for (range, batch_size) in [(0..3, 2), (3..3, 4), (3..10, 64), (10..11, 1)] {
            let part = generate(
                &trained,
                range,
                None,
                &generation(batch_size),
                &mut |_, _| {},
            );
            pieces.extend(part.unwrap().records);
        }
        assert_eq!(pieces, whole.records);
    }
}
