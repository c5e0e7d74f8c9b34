//! `seddbio baseline markov`: the K-th order Markov chain every model must beat.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use rand::{rngs::ChaCha8Rng, SeedableRng};
use seddbio::{
    baseline::{best_order, markov_scan},
    io::{write_sequences, OutputRecord},
};

use super::{load, print_stdout, print_summary, DataArgs};

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// K-th order Markov chain with add-0.5 smoothing, fitted on the training examples exactly
    /// as a diffusion model sees them (windows, or padded records with their pad tokens);
    /// prints held-out bits/token and samples sequences.
    Markov(MarkovArgs),
}

#[derive(Debug, Args)]
pub struct MarkovArgs {
    /// Training sequences (FASTA, CSV, TSV or SMILES; gzip allowed).
    pub file: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Markov order K (each token is predicted from the K before it), or a range A..B to
    /// scan orders A to B and name the best on the held-out examples.
    #[arg(long, default_value = "3", value_parser = parse_orders)]
    pub order: std::ops::RangeInclusive<usize>,
    /// Sequences to sample (of the examples' length; pads stripped).
    #[arg(short = 'n', long, default_value_t = 0)]
    pub num: usize,
    /// Output for samples: .fasta, .csv, .tsv or .parquet, or - for standard output (FASTA).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Print the figures as one JSON object (for pipelines) instead of the text report.
    #[arg(long)]
    pub json: bool,
}

/// `K` or `A..B` (`A..=B` too), orders from 0 to 16.
fn parse_orders(text: &str) -> std::result::Result<std::ops::RangeInclusive<usize>, String> {
    let number = |t: &str| {
        t.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{text}' is not an order K or a range A..B"))
    };
    let range = match text.split_once("..") {
        Some((a, b)) => number(a)?..=number(b.trim_start_matches('='))?,
        None => number(text)?..=number(text)?,
    };
    if range.is_empty() || *range.end() > 16 {
        return Err(format!(
            "'{text}': orders must run from low to high, at most 16"
        ));
    }
    Ok(range)
}

pub fn run(command: BaselineCommand) -> Result<()> {
    match command {
        BaselineCommand::Markov(args) => markov(args),
    }
}

fn markov(args: MarkovArgs) -> Result<()> {
    if args.num > 0 && args.out.is_none() {
        anyhow::bail!("-n {} needs --out FILE for the samples", args.num);
    }
    if let Some(out) = &args.out {
        seddbio::io::refuse_overwriting_inputs(out, &args.data.inputs(&args.file))?;
    }
    if args.json && args.out.as_deref().is_some_and(seddbio::io::is_stdio) {
        anyhow::bail!(
            "--json and -o - would both write to standard output; write the samples to a file"
        );
    }
    if args.num > 0 && args.order.start() != args.order.end() {
        anyhow::bail!("-n samples from one chain: give one --order, not a range");
    }
    let prepared = load(&args.file, &args.data)?;
    let alphabet = &prepared.alphabet;
    let train = &prepared.train;
    let fits = markov_scan(
        args.order.clone(),
        alphabet.len(),
        train,
        prepared.valid.as_ref(),
    )?;
    let best = best_order(&fits).map(|fit| fit.chain.order());

    let mut report = format!(
        "{}\nMarkov chain       add-0.5 smoothing, {} tokens\n",
        prepared.summary,
        alphabet.len()
    );
    for fit in &fits {
        let (order, train_bits) = (fit.chain.order(), fit.train_bits);
        let held_out = match (fit.valid_bits, &prepared.valid) {
            (Some(v), Some(valid)) => format!(
                "held-out {v:.4} bits/token over {} examples, {} real tokens (uniform guessing: {:.4}){}",
                valid.len(),
                valid.num_tokens(),
                (alphabet.len() as f64).log2(),
                if fits.len() > 1 && best == Some(order) { "  <- best" } else { "" }
            ),
            _ => "held-out none (give --valid FILE or --valid-fraction)".to_string(),
        };
        report.push_str(&format!(
            "order {order:<2}           train {train_bits:.4} bits/token, {held_out}\n"
        ));
    }

    if let (Some(out), true) = (&args.out, args.num > 0) {
        let (order, chain) = (fits[0].chain.order(), &fits[0].chain);
        let mut rng = ChaCha8Rng::seed_from_u64(args.data.seed);
        let records: Vec<OutputRecord> = (0..args.num)
            .map(|i| {
                let mut tokens = chain.sample(train.seq_len(), &mut rng);
                // Pads end a padded record: cut at the first one.
                if let Some(pad) = alphabet.pad_id() {
                    if let Some(end) = tokens.iter().position(|&t| t == pad) {
                        tokens.truncate(end);
                    }
                }
                OutputRecord {
                    id: format!("markov{order}_{}", i + 1),
                    sequence: alphabet.decode(&tokens),
                    metadata: vec![
                        ("model".into(), format!("markov-order-{order}")),
                        ("seed".into(), args.data.seed.to_string()),
                    ],
                }
            })
            .collect();
        write_sequences(out, None, &records)?;
        report.push_str(&format!(
            "samples            {} sequences written to {}\n",
            records.len(),
            out.display()
        ));
    }
    if args.json {
        let orders: Vec<serde_json::Value> = fits
            .iter()
            .map(|fit| {
                serde_json::json!({
                    "order": fit.chain.order(),
                    "train_bits_per_token": fit.train_bits,
                    "valid_bits_per_token": fit.valid_bits,
                })
            })
            .collect();
        let json = serde_json::json!({
            "file": args.file.display().to_string(),
            "alphabet": alphabet.name(),
            "tokens": alphabet.len(),
            "train_examples": train.len(),
            "train_tokens": train.num_tokens(),
            "valid_examples": prepared.valid.as_ref().map(|v| v.len()),
            "valid_tokens": prepared.valid.as_ref().map(|v| v.num_tokens()),
            "orders": orders,
            "best_order": best,
        });
        return print_stdout(&format!("{json:#}\n"));
    }
    match &args.out {
        Some(out) => print_summary(out, &report),
        None => print_stdout(&report),
    }
}
