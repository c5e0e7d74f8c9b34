//! `seddbio sample`: whole sequences from a trained model.

use std::{path::PathBuf, time::Instant};

use anyhow::{bail, Result};
use clap::Args;
use rand::{rngs::ChaCha8Rng, RngExt, SeedableRng};
use seddbio::{
    alphabet::{LayoutKind, TokenId},
    io::{write_sequences, OutputFormat, OutputRecord},
    sample::{guided_score, sample, SamplerKind, Slot},
    train::{RunSpec, TrainedModel},
};

use super::{choice, data::print_summary, ConditionArgs, Conditioning, ModelArgs};

#[derive(Debug, Args)]
pub struct SampleArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Number of sequences.
    #[arg(short = 'n', long, default_value_t = 100)]
    pub num: usize,
    /// Reverse-diffusion steps.
    #[arg(long, default_value_t = 128)]
    pub steps: usize,
    /// euler, analytic, or first-hitting (absorbing models only: at most one network call
    /// per position, whatever --steps is) [default: first-hitting for absorbing models,
    /// analytic for uniform ones].
    #[arg(long, value_parser = choice::<SamplerKind>())]
    pub sampler: Option<SamplerKind>,
    /// Sequence length [default: the model's window; padded models: drawn from the training
    /// lengths].
    #[arg(long)]
    pub length: Option<usize>,
    /// Sequences per network call.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output: .fasta, .csv, .tsv, .parquet or .smi (text formats optionally .gz), or - for
    /// standard output (FASTA unless --out-format says otherwise).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// The output format, whatever the name says (needed for - in another format than FASTA).
    #[arg(long, value_parser = choice::<OutputFormat>())]
    pub out_format: Option<OutputFormat>,
    #[command(flatten)]
    pub condition: ConditionArgs,
}

/// Slots of one unconditional sequence: `length` free positions (never the pad token), then
/// pads up to the model's length for padded models.
pub fn unconditional_slots(spec: &RunSpec, pad: Option<TokenId>, length: usize) -> Vec<Slot> {
    let slots = match (spec.layout, pad) {
        (LayoutKind::Padded, Some(pad)) => {
            let pad = usize::from(pad);
            let real: Vec<usize> = (0..spec.num_symbols).filter(|&t| t != pad).collect();
            vec![Slot::OneOf(real); length]
        }
        _ => vec![Slot::Free; length],
    };
    pad_to_model(spec, pad, slots)
}

/// Fixes pad tokens after a sequence's slots, up to the model's length, for padded models.
pub fn pad_to_model(spec: &RunSpec, pad: Option<TokenId>, mut slots: Vec<Slot>) -> Vec<Slot> {
    if let (LayoutKind::Padded, Some(pad)) = (spec.layout, pad) {
        slots.resize(spec.seq_len, Slot::Fixed(usize::from(pad)));
    }
    slots
}

/// A sampled sequence as text, pad tokens stripped, with its length in tokens.
pub fn decode_sampled(trained: &TrainedModel, tokens: Vec<usize>) -> (String, usize) {
    let pad = trained.alphabet.pad_id();
    let ids: Vec<TokenId> = tokens
        .into_iter()
        .map(|t| t as TokenId)
        .filter(|&t| Some(t) != pad)
        .collect();
    (trained.alphabet.decode(&ids), ids.len())
}

/// Draws a length from the training length distribution stored with the run.
pub fn draw_length(spec: &RunSpec, rng: &mut ChaCha8Rng) -> usize {
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
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    (0..num)
        .map(|_| match (length, spec.layout) {
            (Some(l), _) => l,
            (None, LayoutKind::Padded) => draw_length(spec, rng),
            (None, LayoutKind::Windows) => spec.seq_len,
        })
        .collect()
}

pub fn run(args: SampleArgs) -> Result<()> {
    if args.num == 0 || args.batch_size == 0 {
        bail!("-n and --batch-size must be at least 1");
    }
    let trained = args.model.load()?;
    let sampler = args
        .sampler
        .unwrap_or_else(|| SamplerKind::default_for(trained.graph.kind));
    let spec = &trained.spec;
    if let Some(length) = args.length {
        if length == 0 || length > spec.seq_len {
            bail!(
                "--length {length}: the model at {} was trained on {} positions; choose 1..={}",
                args.model.model.display(),
                spec.seq_len,
                spec.seq_len
            );
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let lengths = sample_lengths(spec, args.length, args.num, &mut rng);
    let settings = Generation {
        model_name: args.model.model.display().to_string(),
        steps: args.steps,
        sampler,
        batch_size: args.batch_size,
        seed: args.seed,
        condition: args.condition.resolve(spec, &args.model.model)?,
    };
    let start = Instant::now();
    let (records, calls, nfe_total) = generate(&trained, &lengths, &settings, &mut rng)?;
    let seconds = start.elapsed().as_secs_f64();
    write_sequences(&args.out, args.out_format, &records)?;
    print_summary(&args.out, &format!(
        "{} sequences written to {} ({} sampler, {} steps, {} weights of step {}): {:.1} network calls per sequence on average, {} calls in all; {:.1} s, {:.1} sequences/s\n",
        records.len(),
        args.out.display(),
        sampler,
        args.steps,
        args.model.weights,
        trained.step,
        nfe_total as f64 / records.len() as f64,
        calls,
        seconds,
        records.len() as f64 / seconds.max(1e-9)
    ))
}

/// How [`generate`] samples: the sampler, its steps and what goes into each record's metadata.
pub struct Generation {
    /// Written into each record's `model` field.
    pub model_name: String,
    pub steps: usize,
    pub sampler: SamplerKind,
    /// Sequences per network call.
    pub batch_size: usize,
    /// Written into each record's `seed` field (the caller seeded `rng` with it).
    pub seed: u64,
    /// Label and guidance (conditional models).
    pub condition: Conditioning,
}

/// Unconditional samples of the given lengths, with a progress bar; returns the records (pads
/// stripped, ids `sample_1..`), the network calls and the summed per-sequence NFE.
pub fn generate(
    trained: &TrainedModel,
    lengths: &[usize],
    settings: &Generation,
    rng: &mut ChaCha8Rng,
) -> Result<(Vec<OutputRecord>, usize, usize)> {
    let spec = &trained.spec;
    let pad = trained.alphabet.pad_id();
    let bar = super::progress(
        Some(lengths.len() as u64),
        "{bar:30} {pos}/{len} sequences {per_sec} ETA {eta} | {msg}",
    )?;
    let mut records = Vec::with_capacity(lengths.len());
    let (mut calls, mut nfe_total) = (0usize, 0usize);
    for chunk in lengths.chunks(settings.batch_size.max(1)) {
        let slots: Vec<Vec<Slot>> = chunk
            .iter()
            .map(|&l| unconditional_slots(spec, pad, l))
            .collect();
        let out = sample(
            &trained.graph,
            &spec.noise,
            &slots,
            settings.steps,
            settings.sampler,
            rng,
            guided_score(&trained.model, settings.condition.guidance),
        )?;
        calls += out.network_calls;
        for (tokens, nfe) in out.sequences.into_iter().zip(out.nfe) {
            nfe_total += nfe;
            let (sequence, length) = decode_sampled(trained, tokens);
            let index = records.len() + 1;
            let mut metadata = vec![
                ("model".into(), settings.model_name.clone()),
                ("model_step".into(), trained.step.to_string()),
                ("sampler".into(), settings.sampler.to_string()),
                ("steps".into(), settings.steps.to_string()),
                ("seed".into(), settings.seed.to_string()),
                ("nfe".into(), nfe.to_string()),
                ("length".into(), length.to_string()),
            ];
            metadata.extend(settings.condition.metadata.iter().cloned());
            records.push(OutputRecord {
                id: format!("sample_{index}"),
                sequence,
                metadata,
            });
        }
        bar.inc(chunk.len() as u64);
        bar.set_message(format!("{calls} network calls"));
    }
    bar.finish_and_clear();
    Ok((records, calls, nfe_total))
}
