//! `seddbio score`: the ELBO bound of each sequence under a trained model.

use std::{collections::BTreeMap, path::PathBuf};

use anyhow::{bail, Result};
use clap::Args;
use rand::{rngs::ChaCha8Rng, SeedableRng};
use seddbio::{
    alphabet::{LayoutKind, TokenId},
    data::{encode_records, UnknownPolicy},
    diffusion::ElboEstimate,
    io::{read_sequences, write_atomically, Format, ReadOptions},
    model::{pooled_bits_per_token, sequence_elbos},
    train::{stratified_times, TrainedModel},
};

use super::{
    choice,
    data::{print_stdout, print_summary},
    ModelArgs,
};

#[derive(Debug, Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Sequences to score (FASTA, CSV, TSV or SMILES; gzip allowed; - for standard input).
    pub file: PathBuf,
    /// Output CSV: id, length, ELBO bound (nats), bits/token, standard error; - for standard
    /// output.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Print the summary (sequences, pooled bits/token and its standard error) as one JSON
    /// object instead of a sentence.
    #[arg(long)]
    pub json: bool,
    /// Times per sequence, stratified over [1e-3, 1] (more: lower standard error).
    #[arg(long, default_value_t = 32)]
    pub num_t: usize,
    /// Sequence column of a CSV/TSV file.
    #[arg(long)]
    pub column: Option<String>,
    /// Input format; by default from the extension (needed for - , standard input).
    #[arg(long, value_parser = choice::<Format>())]
    pub format: Option<Format>,
    #[command(flatten)]
    pub quality: super::QualityArgs,
    /// Symbols outside the model's alphabet: error or skip the record.
    #[arg(long, default_value = "error", value_parser = choice::<UnknownPolicy>())]
    pub on_unknown: UnknownPolicy,
    /// (sequence, time) pairs per network call.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Seed of the times and noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn run(args: ScoreArgs) -> Result<()> {
    if args.num_t == 0 {
        bail!("--num-t must be at least 1");
    }
    seddbio::io::refuse_overwriting_inputs(&args.out, &[&args.file])?;
    if matches!(args.on_unknown, UnknownPolicy::Split | UnknownPolicy::Strip) {
        bail!(
            "--on-unknown {}: a changed sequence would get another score; use error or skip",
            args.on_unknown
        );
    }
    let trained = args.model.load()?;
    let spec = &trained.spec;
    let read = ReadOptions {
        format: args.format,
        column: args.column.clone(),
        min_mean_quality: args.quality.min_mean_quality,
        quality_offset: args.quality.quality_offset,
        ..ReadOptions::default()
    };
    let file = read_sequences(&args.file, &read, None)?;
    let (records, _) = encode_records(&trained.alphabet, &file, args.on_unknown)?;
    let tokens: Vec<&[TokenId]> = records.iter().map(|r| r.tokens.as_slice()).collect();
    for (i, (record, t)) in records.iter().zip(&tokens).enumerate() {
        if t.len() > spec.seq_len {
            bail!(
                "{}: record {} ({}): {} tokens, longer than the {} the model at {} was trained on",
                args.file.display(),
                i + 1,
                record.id,
                t.len(),
                spec.seq_len,
                args.model.model.display()
            );
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let estimates = elbo_estimates(&trained, &tokens, args.num_t, args.batch_size, &mut rng)?;
    let ln2 = std::f64::consts::LN_2;
    let mut csv =
        String::from("id,length,elbo_nats,elbo_se_nats,bits_per_token,bits_per_token_se\n");
    for (record, e) in records.iter().zip(&estimates) {
        let id = if record.id.contains([',', '"']) {
            format!("\"{}\"", record.id.replace('"', "\"\""))
        } else {
            record.id.clone()
        };
        csv.push_str(&format!(
            "{id},{},{:.4},{:.4},{:.5},{:.5}\n",
            e.tokens,
            e.nats,
            e.std_error,
            e.bits_per_token(),
            e.std_error / (e.tokens as f64 * ln2)
        ));
    }
    match seddbio::io::is_stdio(&args.out) {
        true => print_stdout(&csv)?,
        false => write_atomically(&args.out, |w| {
            use std::io::Write;
            Ok(w.write_all(csv.as_bytes())?)
        })?,
    }
    let (bits, se) = pooled_bits_per_token(&estimates);
    if args.json {
        let json = serde_json::json!({
            "file": args.file.display().to_string(),
            "model": args.model.model.display().to_string(),
            "sequences": estimates.len(),
            "tokens": estimates.iter().map(|e| e.tokens).sum::<usize>(),
            "num_t": args.num_t,
            "bits_per_token": bits,
            "bits_per_token_se": se,
            "out": args.out.display().to_string(),
        });
        return print_summary(&args.out, &format!("{json:#}\n"));
    }
    print_summary(
        &args.out,
        &format!(
            "{} sequences scored with {} times each: {bits:.4} ± {se:.4} bits/token over all; written to {}\n",
            estimates.len(),
            args.num_t,
            args.out.display()
        ),
    )
}

/// The stratified-t ELBO estimate (sedd.md, ELBO section) of each sequence under a trained model,
/// with a progress bar. Sequences longer than the model's length are an error; padded models see
/// every sequence padded to their length, but only its real tokens count.
pub fn elbo_estimates(
    trained: &TrainedModel,
    sequences: &[&[TokenId]],
    num_t: usize,
    batch_size: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<ElboEstimate>> {
    let spec = &trained.spec;
    let pad = trained.alphabet.pad_id();
    // Sequences of one length are scored together.
    let mut by_length: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut inputs: Vec<Vec<TokenId>> = Vec::with_capacity(sequences.len());
    for (i, sequence) in sequences.iter().enumerate() {
        if sequence.len() > spec.seq_len {
            bail!(
                "sequence {}: {} tokens, longer than the model's {}",
                i + 1,
                sequence.len(),
                spec.seq_len
            );
        }
        let mut tokens = sequence.to_vec();
        if let (LayoutKind::Padded, Some(pad)) = (spec.layout, pad) {
            tokens.resize(spec.seq_len, pad);
        }
        by_length.entry(tokens.len()).or_default().push(i);
        inputs.push(tokens);
    }
    let bar = super::progress(
        Some(sequences.len() as u64),
        "{bar:30} {pos}/{len} sequences scored {per_sec} ETA {eta}",
    )?;
    let mut estimates: Vec<Option<ElboEstimate>> = vec![None; sequences.len()];
    for indices in by_length.values() {
        for chunk in indices.chunks((batch_size / num_t).max(1)) {
            let batch: Vec<Vec<TokenId>> = chunk.iter().map(|&i| inputs[i].clone()).collect();
            let real: Vec<usize> = chunk.iter().map(|&i| sequences[i].len()).collect();
            let times: Vec<Vec<f64>> = chunk.iter().map(|_| stratified_times(num_t, rng)).collect();
            let results = sequence_elbos(
                &trained.model,
                &batch,
                &real,
                &times,
                &trained.graph,
                &spec.noise,
                batch_size,
                rng,
            );
            for (&i, estimate) in chunk.iter().zip(results) {
                estimates[i] = Some(estimate);
            }
            bar.inc(chunk.len() as u64);
        }
    }
    bar.finish_and_clear();
    Ok(estimates.into_iter().flatten().collect())
}
