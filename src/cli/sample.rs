//! `seddbio sample`: whole sequences from a trained model.

use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;
use seddbio::{
    io::write_sequences,
    run::TrainedModel,
    sample::{generate, Generated, Generation},
};

use super::{print_summary, ModelArgs, SamplingArgs};

#[derive(Debug, Args)]
pub struct SampleArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Number of sequences.
    #[arg(short = 'n', long, default_value_t = 100)]
    pub num: usize,
    /// Sequence length [default: the model's window; padded models: drawn from the training
    /// lengths].
    #[arg(long)]
    pub length: Option<usize>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

pub fn run(args: SampleArgs) -> Result<()> {
    if args.num == 0 || args.sampling.batch_size == 0 {
        bail!("-n and --batch-size must be at least 1");
    }
    seddbio::io::refuse_overwriting_inputs(&args.sampling.out, &[&args.model.model])?;
    let trained = args.model.load()?;
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
    let settings = args.sampling.generation(&trained, &args.model.model)?;
    let items = args.sampling.shard.range(args.num);
    let start = Instant::now();
    let Generated {
        records,
        network_calls: calls,
        nfe_total,
    } = generate_with_progress(&trained, items, args.length, &settings)?;
    let seconds = start.elapsed().as_secs_f64();
    write_sequences(&args.sampling.out, args.sampling.out_format, &records)?;
    print_summary(&args.sampling.out, &format!(
        "{} sequences written to {} ({}, {} weights of step {}): {:.1} network calls per sequence on average, {} calls in all; {:.1} s, {:.1} sequences/s\n",
        records.len(),
        super::output_name(&args.sampling.out),
        settings.sampler.describe(),
        args.model.weights,
        trained.step,
        nfe_total as f64 / records.len().max(1) as f64,
        calls,
        seconds,
        records.len() as f64 / seconds.max(1e-9)
    ))
}

/// The bar of sequences being sampled, with the network calls so far as its message.
pub const SAMPLING_BAR: &str = "{bar:30} {pos}/{len} sequences {per_sec} ETA {eta} | {msg}";

/// [`generate`] with a progress bar (sequences, rate, ETA and the network calls so far).
pub fn generate_with_progress(
    trained: &TrainedModel,
    items: std::ops::Range<usize>,
    length: Option<usize>,
    settings: &Generation,
) -> Result<Generated> {
    let bar = super::progress(Some(items.len() as u64), SAMPLING_BAR)?;
    let mut calls = 0;
    let generated = generate(
        trained,
        items,
        length,
        settings,
        &mut |done, batch_calls| {
            calls += batch_calls;
            bar.inc(done as u64);
            bar.set_message(format!("{calls} network calls"));
        },
    )?;
    bar.finish_and_clear();
    Ok(generated)
}
