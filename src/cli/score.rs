//! `seddbio score`: the ELBO bound of each sequence under a trained model.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;
use rand::rngs::ChaCha8Rng;
use seddbio::{
    alphabet::TokenId,
    data::{encode_records, EncodedRecord, UnknownPolicy},
    diffusion::ElboEstimate,
    io::{csv_field, read_sequences, write_atomically, Format, ReadOptions},
    model::pooled_bits_per_token,
    run::TrainedModel,
    shard::{item_stream, Shard},
};

use super::{choice, print_stdout, print_summary, ModelArgs};

#[derive(Debug, Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Sequences to score (FASTA, CSV, TSV or SMILES; gzip allowed; - for standard input).
    #[arg(required_unless_present = "variants", conflicts_with = "variants")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub variants: super::variants::VariantArgs,
    /// Output CSV: id, length, ELBO bound (nats), bits/token, standard error; - for standard
    /// output [default: -].
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Print the summary (sequences, pooled bits/token and its standard error) as one JSON
    /// object instead of a sentence; without -o, the object holds the scores too, one entry
    /// per sequence, instead of the CSV (with `-o -`, the CSV goes to standard output and the
    /// JSON to standard error).
    #[arg(long)]
    pub json: bool,
    /// Times per sequence, stratified over [1e-3, 1] (more: lower standard error).
    #[arg(long, default_value_t = 32)]
    pub num_t: usize,
    /// Sequence column of a CSV/TSV file.
    #[arg(long)]
    pub column: Option<String>,
    /// Column of a CSV/TSV file holding record ids [default: record_N].
    #[arg(long)]
    pub id_column: Option<String>,
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
    /// Conditional models: the bound under this label [default: under the null label, the
    /// model's unconditional bound].
    #[arg(long, conflicts_with = "classify")]
    pub label: Option<String>,
    /// Conditional models: score every sequence under every label (the same times and noise
    /// for each) and give it the label with the best bound, with the posterior from the bounds
    /// under a flat prior: a likelihood classifier. CSV columns per label.
    #[arg(long)]
    pub classify: bool,
    /// With --classify: the true labels, from this CSV/TSV column; adds the accuracy.
    #[arg(
        long,
        value_name = "COLUMN",
        conflicts_with = "label_key",
        requires = "classify"
    )]
    pub label_column: Option<String>,
    /// With --classify: the true labels, from KEY=value words in FASTA/FASTQ descriptions;
    /// adds the accuracy.
    #[arg(long, value_name = "KEY", requires = "classify")]
    pub label_key: Option<String>,
    /// Score shard K of N (counted from 0): a contiguous part of the records (or variants),
    /// each scored with its own random stream of --seed, so the N tables concatenated in
    /// shard order (one header) are the table of one run.
    #[arg(long, value_name = "K/N", default_value = "0/1", value_parser = super::parse::shard)]
    pub shard: Shard,
}

/// The scores table: at `out`, atomically, or on standard output for `-`.
pub(super) fn write_csv(out: &std::path::Path, csv: &str) -> Result<()> {
    match seddbio::io::is_stdio(out) {
        true => print_stdout(csv),
        false => Ok(write_atomically(out, |w| {
            use std::io::Write;
            Ok(w.write_all(csv.as_bytes())?)
        })?),
    }
}

impl ScoreArgs {
    /// The output, standard output (`-`) when none is given.
    fn out(&self) -> &Path {
        self.out.as_deref().unwrap_or(Path::new("-"))
    }

    /// The sequences scored (`-` in variant mode, which has none).
    fn input(&self) -> &Path {
        self.file.as_deref().unwrap_or(Path::new("-"))
    }
}

/// `score --wild-type SEQ --variants FILE`: a conditional model's label and the classifier do
/// not apply.
fn score_variants(args: &ScoreArgs) -> Result<()> {
    let variants = &args.variants;
    let mut inputs: Vec<&Path> = vec![&args.model.model];
    inputs.extend(variants.mutations.inputs());
    seddbio::io::refuse_overwriting_inputs(args.out(), &inputs)?;
    if args.classify || args.label.is_some() {
        bail!("--wild-type/--variants score under the model's null label: leave out --label and --classify");
    }
    let trained = args.model.load()?;
    let output = super::variants::VariantOutput {
        out: args.out(),
        json: args.json,
        num_t: args.num_t,
        batch_size: args.batch_size,
        seed: args.seed,
        shard: args.shard,
    };
    super::variants::run(&trained, variants, &output)
}

pub fn run(args: ScoreArgs) -> Result<()> {
    if args.num_t == 0 {
        bail!("--num-t must be at least 1");
    }
    let Some(path) = args.file.clone() else {
        return score_variants(&args);
    };
    seddbio::io::refuse_overwriting_inputs(args.out(), &[&path, &args.model.model])?;
    if matches!(args.on_unknown, UnknownPolicy::Split | UnknownPolicy::Strip) {
        bail!(
            "--on-unknown {}: a changed sequence would get another score; use error or skip",
            args.on_unknown
        );
    }
    let trained = args.model.load()?;
    let spec = &trained.spec;
    let label = args
        .label
        .as_deref()
        .map(|l| {
            spec.label_index(l)
                .map_err(|e| anyhow::anyhow!("--label: {e}"))
        })
        .transpose()?;
    if args.classify && spec.labels.is_empty() {
        bail!(
            "--classify: the model at {} was trained without labels; train with --label-column or --label-key",
            args.model.model.display()
        );
    }
    let read = ReadOptions {
        format: args.format,
        column: args.column.clone(),
        id_column: args.id_column.clone(),
        min_mean_quality: args.quality.min_mean_quality,
        quality_offset: args.quality.quality_offset,
        label: super::label_source(&args.label_column, &args.label_key),
        split_column: None,
    };
    let file = read_sequences(&path, &read, None)?;
    let (records, _) = encode_records(&trained.alphabet, &file, args.on_unknown)?;
    let tokens: Vec<&[TokenId]> = records.iter().map(|r| r.tokens.as_slice()).collect();
    for (i, (record, t)) in records.iter().zip(&tokens).enumerate() {
        if t.len() > spec.seq_len {
            bail!(
                "{}: record {} ({}): {} tokens, longer than the {} the model at {} was trained on",
                path.display(),
                i + 1,
                record.id,
                t.len(),
                spec.seq_len,
                args.model.model.display()
            );
        }
    }
    let items = args.shard.range(records.len());
    let (records, tokens) = (&records[items.clone()], &tokens[items.clone()]);
    if args.classify {
        if args.json && args.out.is_none() {
            bail!("--classify --json: the table of labels needs a file (-o FILE); the JSON summary goes to standard output");
        }
        return classify(&args, &trained, records, tokens, items.start);
    }
    let labels = label.map(|l| vec![l; tokens.len()]);
    let mut streams: Vec<ChaCha8Rng> = items.map(|g| item_stream(args.seed, g)).collect();
    let estimates = elbo_estimates(
        &trained,
        tokens,
        labels.as_deref(),
        args.num_t,
        args.batch_size,
        streams.as_mut_slice(),
    )?;
    write_scores(&args, records, &estimates)
}

/// The scores as CSV (or, for `--json` without `-o`, inside the JSON document) and the
/// summary.
fn write_scores(
    args: &ScoreArgs,
    records: &[EncodedRecord],
    estimates: &[ElboEstimate],
) -> Result<()> {
    let ln2 = std::f64::consts::LN_2;
    let bits_se = |e: &ElboEstimate| e.std_error / (e.tokens as f64 * ln2);
    // `--json` alone: one JSON document on stdout, the scores inside it.
    let scores_in_json = args.json && args.out.is_none();
    if !scores_in_json {
        let mut csv =
            String::from("id,length,elbo_nats,elbo_se_nats,bits_per_token,bits_per_token_se\n");
        for (record, e) in records.iter().zip(estimates) {
            csv.push_str(&format!(
                "{},{},{:.4},{:.4},{:.5},{:.5}\n",
                csv_field(&record.id),
                e.tokens,
                e.nats,
                e.std_error,
                e.bits_per_token(),
                bits_se(e)
            ));
        }
        write_csv(args.out(), &csv)?;
    }
    let (bits, se) = pooled_bits_per_token(estimates);
    if args.json {
        let mut json = serde_json::json!({
            "file": args.input().display().to_string(),
            "model": args.model.model.display().to_string(),
            "sequences": estimates.len(),
            "tokens": estimates.iter().map(|e| e.tokens).sum::<usize>(),
            "num_t": args.num_t,
            "label": args.label,
            "bits_per_token": bits,
            "bits_per_token_se": se,
            "out": args.out().display().to_string(),
        });
        if !scores_in_json {
            return print_summary(args.out(), &format!("{json:#}\n"));
        }
        json["scores"] = records
            .iter()
            .zip(estimates)
            .map(|(record, e)| {
                serde_json::json!({
                    "id": record.id,
                    "length": e.tokens,
                    "elbo_nats": e.nats,
                    "elbo_se_nats": e.std_error,
                    "bits_per_token": e.bits_per_token(),
                    "bits_per_token_se": bits_se(e),
                })
            })
            .collect();
        return print_stdout(&format!("{json:#}\n"));
    }
    let under = match &args.label {
        Some(label) => format!(" under label {label}"),
        None => String::new(),
    };
    print_summary(
        args.out(),
        &format!(
            "{} sequences scored{under} with {} times each: {bits:.4} ± {se:.4} bits/token over all; written to {}\n",
            estimates.len(),
            args.num_t,
            super::output_name(args.out())
        ),
    )
}

/// `score --classify`: every sequence under every label, with the same times and noise for
/// each (common random numbers: the bounds' differences carry much less noise than the
/// bounds), the best label and the posterior from the bounds.
fn classify(
    args: &ScoreArgs,
    trained: &TrainedModel,
    records: &[EncodedRecord],
    tokens: &[&[TokenId]],
    first: usize,
) -> Result<()> {
    let names = &trained.spec.labels;
    let bar = scoring_bar(tokens.len() * names.len())?;
    let stream_origin = (args.seed, first);
    let classes = trained.classify(
        tokens,
        args.num_t,
        args.batch_size,
        stream_origin,
        &mut |n| bar.inc(n as u64),
    )?;
    bar.finish_and_clear();
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let truth: Vec<Option<&str>> = records.iter().map(|r| r.label.as_deref()).collect();
    let (csv, predicted_counts, (correct, known)) = classes.csv(&ids, &truth);
    write_csv(args.out(), &csv)?;
    let accuracy = (known > 0).then(|| correct as f64 / known as f64);
    let pooled = classes.pooled();
    if args.json {
        let json = serde_json::json!({
            "file": args.input().display().to_string(),
            "model": args.model.model.display().to_string(),
            "sequences": records.len(),
            "num_t": args.num_t,
            "labels": names.iter().enumerate().map(|(i, name)| serde_json::json!({
                "label": name,
                "predicted": predicted_counts[i],
                "bits_per_token": pooled[i].0,
                "bits_per_token_se": pooled[i].1,
            })).collect::<Vec<_>>(),
            "labelled": known,
            "accuracy": accuracy,
            "out": args.out().display().to_string(),
        });
        return print_summary(args.out(), &format!("{json:#}\n"));
    }
    let counts: Vec<String> = names
        .iter()
        .zip(&predicted_counts)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    let accuracy = match accuracy {
        Some(a) => format!("; accuracy {a:.4} ({correct} of {known} true labels)"),
        None => String::new(),
    };
    print_summary(
        args.out(),
        &format!(
            "{} sequences classified with {} times each under {} labels: {}{accuracy}; written to {}\n",
            records.len(),
            args.num_t,
            names.len(),
            counts.join(", "),
            super::output_name(args.out())
        ),
    )
}

/// [`TrainedModel::elbo_estimates`] with a progress bar, sequence i drawing from `streams[i]`.
pub fn elbo_estimates(
    trained: &TrainedModel,
    sequences: &[&[TokenId]],
    labels: Option<&[usize]>,
    num_t: usize,
    batch_size: usize,
    streams: &mut [ChaCha8Rng],
) -> Result<Vec<ElboEstimate>> {
    let bar = scoring_bar(sequences.len())?;
    let estimates =
        trained.elbo_estimates(sequences, labels, num_t, batch_size, streams, &mut |n| {
            bar.inc(n as u64)
        })?;
    bar.finish_and_clear();
    Ok(estimates)
}

/// The bar of `sequences` being scored under a model.
pub fn scoring_bar(sequences: usize) -> Result<indicatif::ProgressBar> {
    super::progress(
        Some(sequences as u64),
        "{bar:30} {pos}/{len} sequences scored {per_sec} ETA {eta}",
    )
}
