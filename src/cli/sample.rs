//! `seddbio sample`: whole sequences from a trained model.

use std::{path::PathBuf, time::Instant};

use anyhow::{bail, Result};
use clap::Args;
use rand::{rngs::ChaCha8Rng, SeedableRng};
use seddbio::{
    io::{write_sequences, OutputFormat},
    sample::{generate, sample_lengths, Generated, Generation, SamplerKind},
    train::TrainedModel,
};

use super::{choice, print_summary, ConditionArgs, ModelArgs};

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
    let condition = args.condition.resolve(spec, &args.model.model)?;
    let settings = Generation {
        model_name: args.model.model.display().to_string(),
        steps: args.steps,
        sampler,
        batch_size: args.batch_size,
        seed: args.seed,
        guidance: condition.guidance,
        metadata: condition.metadata,
    };
    let start = Instant::now();
    let Generated {
        records,
        network_calls: calls,
        nfe_total,
    } = generate_with_progress(&trained, &lengths, &settings, &mut rng)?;
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

/// [`generate`] with a progress bar (sequences, rate, ETA and the network calls so far).
pub fn generate_with_progress(
    trained: &TrainedModel,
    lengths: &[usize],
    settings: &Generation,
    rng: &mut ChaCha8Rng,
) -> Result<Generated> {
    let bar = super::progress(
        Some(lengths.len() as u64),
        "{bar:30} {pos}/{len} sequences {per_sec} ETA {eta} | {msg}",
    )?;
    let mut calls = 0;
    let generated = generate(trained, lengths, settings, rng, &mut |done, batch_calls| {
        calls += batch_calls;
        bar.inc(done as u64);
        bar.set_message(format!("{calls} network calls"));
    })?;
    bar.finish_and_clear();
    Ok(generated)
}
