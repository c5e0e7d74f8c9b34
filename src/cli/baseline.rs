//! `seddbio baseline markov`: the K-th order Markov chain every model must beat;
//! `seddbio baseline site-independent`: a family alignment's column profile, the variant-effect
//! baseline.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use rand::{rngs::ChaCha8Rng, SeedableRng};
use seddbio::{
    alphabet::Alphabet,
    baseline::{best_order, markov_scan},
    io::{write_sequences, OutputRecord},
};

use super::{
    load,
    parse::finite,
    print_stdout, print_summary,
    variants::{place_on_alignment, write_scores, MutationArgs},
    DataArgs,
};

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// K-th order Markov chain with add-0.5 smoothing, fitted on the training examples exactly
    /// as a diffusion model sees them (windows, or padded records with their pad tokens);
    /// prints held-out bits/token and samples sequences.
    Markov(Box<MarkovArgs>),
    /// The site-independent model of a family alignment (aligned FASTA, A2M or A3M): each match
    /// column's letter frequencies, homolog-weighted, with a pseudocount; scores the mutations
    /// of a wild type (placed on the alignment by a pairwise alignment to its consensus) as
    /// the sum of log p(mutant letter) - log p(wild-type letter) over their columns.
    SiteIndependent(SiteIndependentArgs),
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
    /// Score mutations under the best chain (or the one --order) instead of sampling:
    /// log p(mutant) - log p(wild type), the wild type laid out as the examples are; to
    /// --out, or standard output.
    #[command(flatten)]
    pub mutations: MutationArgs,
}

#[derive(Debug, Args)]
pub struct SiteIndependentArgs {
    /// The family's alignment: aligned FASTA, A2M or A3M (insertions left out); gzip allowed.
    pub alignment: PathBuf,
    /// The alignment's alphabet: a built-in name or a TOML file.
    #[arg(long, short = 'a', default_value = "protein")]
    pub alphabet: String,
    #[command(flatten)]
    pub mutations: MutationArgs,
    /// Homolog reweighting: each row weighs 1 / the number of rows within identity
    /// >= 1 - THETA of it.
    #[arg(long, value_name = "THETA", default_value_t = 0.2, value_parser = finite)]
    pub reweight: f64,
    /// Added to each letter's weighted count in every column.
    #[arg(long, default_value_t = 1.0, value_parser = finite)]
    pub pseudocount: f64,
    /// Output of the scores: CSV (TSV by the name), or - for standard output [default: -].
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Print the summary as one JSON object (with the scores when they go to standard output).
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
        BaselineCommand::Markov(args) => markov(*args),
        BaselineCommand::SiteIndependent(args) => site_independent(args),
    }
}

fn site_independent(args: SiteIndependentArgs) -> Result<()> {
    let out = args.out.as_deref().unwrap_or(Path::new("-"));
    let mut inputs = vec![args.alignment.as_path()];
    inputs.extend(args.mutations.inputs());
    seddbio::io::refuse_overwriting_inputs(out, &inputs)?;
    if !args.mutations.given() {
        anyhow::bail!(
            "give the wild type and its mutations: --wild-type SEQ_OR_FILE --variants FILE"
        );
    }
    if args.mutations.align_to.is_some() {
        anyhow::bail!("the site-independent model places the wild type on its own alignment: leave out --align-to");
    }
    let alphabet = Alphabet::resolve(&args.alphabet)?;
    let mut read = args.mutations.read(&alphabet)?;
    let (model, placement) = place_on_alignment(
        &mut read,
        &args.alignment,
        &alphabet,
        (args.reweight, args.pseudocount),
        args.mutations.skip_out_of_range,
    )?;
    let scores: Vec<(f64, Option<f64>)> = model
        .score(&placement, &read.prepared)
        .into_iter()
        .map(|s| (s, None))
        .collect();
    let extra = serde_json::json!({"pseudocount": args.pseudocount});
    write_scores(
        &read,
        &scores,
        "site-independent",
        (out, args.json),
        (extra, String::new()),
    )
}

fn markov(args: MarkovArgs) -> Result<()> {
    if args.num > 0 && args.out.is_none() {
        anyhow::bail!("-n {} needs --out FILE for the samples", args.num);
    }
    if let Some(out) = &args.out {
        let mut inputs = args.data.inputs(&args.file);
        inputs.extend(args.mutations.inputs());
        seddbio::io::refuse_overwriting_inputs(out, &inputs)?;
    }
    if args.mutations.given() && args.num > 0 {
        anyhow::bail!("--variants scores mutations and -n samples: give one of them");
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
    let best_fit = best_order(&fits);
    let best = best_fit.map(|fit| fit.chain.order());
    if args.mutations.given() {
        let read = args.mutations.read(alphabet)?;
        let fit = best_fit.unwrap_or(&fits[0]);
        let scores: Vec<(f64, Option<f64>)> = fit
            .chain
            .variant_scores(&read.prepared, alphabet.pad_id(), train.seq_len())
            .into_iter()
            .map(|s| (s, None))
            .collect();
        let order = fit.chain.order();
        let chosen = match (fits.len(), fit.valid_bits) {
            (1, _) => String::new(),
            (_, Some(bits)) => format!(
                " (the best held-out order of {}..{}, {bits:.4} bits/token)",
                args.order.start(),
                args.order.end()
            ),
            (_, None) => " (no held-out data to choose by: the lowest order)".into(),
        };
        let extra = serde_json::json!({"file": args.file.display().to_string(), "order": order});
        return write_scores(
            &read,
            &scores,
            &format!("markov-order-{order}"),
            (args.out.as_deref().unwrap_or(Path::new("-")), args.json),
            (extra, chosen),
        );
    }

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
        let mut rng = ChaCha8Rng::seed_from_u64(args.data.seed());
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
                        ("seed".into(), args.data.seed().to_string()),
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
