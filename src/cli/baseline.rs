//! `seddbio baseline markov`: the K-th order Markov chain every model must beat.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use rand::{rngs::ChaCha8Rng, SeedableRng};
use seddbio::{
    alphabet::TokenId,
    baseline::MarkovChain,
    data::TokenDataset,
    io::{write_sequences, OutputRecord},
};

use super::{
    data::{load, print_stdout},
    DataArgs,
};

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
    /// Markov order K: each token is predicted from the K before it.
    #[arg(long, default_value_t = 3)]
    pub order: usize,
    /// Sequences to sample (of the examples' length; pads stripped).
    #[arg(short = 'n', long, default_value_t = 0)]
    pub num: usize,
    /// Output for samples: .fasta, .csv, .tsv or .parquet.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

pub fn run(command: BaselineCommand) -> Result<()> {
    match command {
        BaselineCommand::Markov(args) => markov(args),
    }
}

/// Total nats of a dataset's examples under the chain, and their real (not pad) tokens.
///
/// Pads are scored (the first one says where the sequence ends) but not counted, the
/// convention of the diffusion model's ELBO, so the two bits/token figures compare directly.
fn nats_and_tokens(chain: &MarkovChain, data: &TokenDataset) -> (f64, usize) {
    let nats: f64 = (0..data.len())
        .map(|i| -chain.log_prob(&data.example(i)))
        .sum();
    (nats, data.num_tokens() as usize)
}

fn markov(args: MarkovArgs) -> Result<()> {
    if args.num > 0 && args.out.is_none() {
        anyhow::bail!("-n {} needs --out FILE for the samples", args.num);
    }
    if let Some(out) = &args.out {
        seddbio::io::refuse_overwriting_inputs(out, &args.data.inputs(&args.file))?;
    }
    let prepared = load(&args.file, &args.data)?;
    let alphabet = &prepared.alphabet;
    let train = &prepared.train;
    let examples: Vec<Vec<TokenId>> = (0..train.len()).map(|i| train.example(i)).collect();
    let chain = MarkovChain::fit(
        args.order,
        alphabet.len(),
        examples.iter().map(Vec::as_slice),
    )?;

    let bits = |(nats, tokens): (f64, usize)| nats / (tokens as f64 * std::f64::consts::LN_2);
    let mut report = format!(
        "{}\nMarkov chain       order {}, add-0.5 smoothing, {} tokens\n",
        prepared.summary,
        args.order,
        alphabet.len()
    );
    report.push_str(&format!(
        "train              {:.4} bits/token\n",
        bits(nats_and_tokens(&chain, train))
    ));
    match &prepared.valid {
        Some(valid) => {
            let (nats, tokens) = nats_and_tokens(&chain, valid);
            report.push_str(&format!(
                "held-out           {:.4} bits/token over {} examples, {} real tokens (uniform guessing: {:.4})\n",
                bits((nats, tokens)),
                valid.len(),
                tokens,
                (alphabet.len() as f64).log2()
            ));
        }
        None => {
            report.push_str("held-out           none (give --valid FILE or --valid-fraction)\n")
        }
    }

    if let (Some(out), true) = (&args.out, args.num > 0) {
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
                    id: format!("markov{}_{}", args.order, i + 1),
                    sequence: alphabet.decode(&tokens),
                    metadata: vec![
                        ("model".into(), format!("markov-order-{}", args.order)),
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
    print_stdout(&report)
}
