//! Command-line definitions: one file per subcommand.

mod baseline;
mod bench;
mod data;
mod eval;
mod infill;
mod sample;
mod score;
mod train;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use seddbio::{
    alphabet::LayoutKind,
    data::{PrepareOptions, SplitMode, TooLong, UnknownPolicy},
    io::{Format, ReadOptions},
    model::ComputeDevice,
    train::{RunDir, TrainedModel, Weights},
};

/// Score Entropy Discrete Diffusion for DNA, RNA, protein and SMILES sequences.
///
/// Trains bidirectional diffusion models on sequence files, samples whole sequences with no
/// left-to-right bias, fills in templates around fixed motifs, and evaluates what it made.
#[derive(Debug, Parser)]
#[command(name = "seddbio", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Worker threads for the computation (one pool for the network, data and evaluation)
    /// [default: one per core].
    #[arg(long, global = true, value_parser = parse_threads)]
    threads: Option<usize>,
}

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("'{s}' is not a number of threads (1 or more)")),
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read, inspect and export sequence data as the model will see it.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Train a score model on a sequence file: AdamW with warm-up, clipping and EMA, validation
    /// ELBO in bits/token, metrics.csv and loss.svg, checkpoints that resume exactly.
    Train(train::TrainArgs),
    /// Sample whole sequences from a trained model (Euler, analytic or first-hitting sampler).
    Sample(sample::SampleArgs),
    /// Fill in templates around fixed symbols, IUPAC sets and motifs, with no left-to-right
    /// bias.
    Infill(infill::InfillArgs),
    /// Compare generated sequences with real ones: k-mer spectra, GC, lengths, novelty,
    /// diversity and motifs, each beside the real-vs-real floor; table, CSV files and plots.
    Eval(eval::EvalArgs),
    /// ELBO bound of each sequence under a model (nats, bits/token, standard error), to CSV.
    Score(score::ScoreArgs),
    /// Measure tokens/s of training steps and forward passes.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Fit a baseline model, report its held-out bits/token and sample from it.
    #[command(subcommand)]
    Baseline(baseline::BaselineCommand),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    if let Some(threads) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("starting the worker threads")?;
    }
    match cli.command {
        Command::Data(command) => data::run(command),
        Command::Train(args) => train::train(args),
        Command::Sample(args) => sample::run(args),
        Command::Infill(args) => infill::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Score(args) => score::run(args),
        Command::Baseline(command) => baseline::run(command),
        Command::Bench(command) => bench::run(command),
    }
}

/// Which trained model to load and where to run it; shared by `sample`, `infill` and `score`.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Run directory of a trained model.
    #[arg(long)]
    pub model: PathBuf,
    /// ema (default) or raw trained weights.
    #[arg(long, default_value = "ema", value_parser = parse_with::<Weights>)]
    pub weights: Weights,
    /// cpu, or cuda (builds with --features cuda).
    #[arg(long, default_value = "cpu", value_parser = parse_with::<ComputeDevice>)]
    pub device: ComputeDevice,
}

impl ModelArgs {
    /// The model's latest checkpoint, with the chosen weights, on the chosen device.
    pub fn load(&self) -> Result<TrainedModel> {
        Ok(TrainedModel::load(
            &RunDir::new(&self.model),
            self.device.device()?,
            self.weights,
        )?)
    }
}

/// How sequence files are read and turned into examples; shared by `data` and `train`.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Alphabet: dna, rna, protein, smiles, or the path of your own alphabet TOML file.
    #[arg(long, short = 'a')]
    pub alphabet: String,
    /// Input format; by default from the extension (.fa/.fasta, .csv, .tsv, .smi, each optionally .gz).
    #[arg(long, value_parser = parse_with::<Format>)]
    pub format: Option<Format>,
    /// Sequence column of a CSV/TSV file [default: the one named sequence, seq or smiles].
    #[arg(long)]
    pub column: Option<String>,
    /// Column of a CSV/TSV file holding record ids [default: record_N].
    #[arg(long)]
    pub id_column: Option<String>,
    /// Symbols outside the alphabet (N, X, gaps...): error, skip the record, split the record
    /// at them, or strip them.
    #[arg(long, default_value = "error", value_parser = parse_with::<UnknownPolicy>)]
    pub on_unknown: UnknownPolicy,
    /// Fixed-length windows over records, or whole records padded to --seq-len
    /// [default: the alphabet's: windows for DNA, padded for RNA, protein, SMILES].
    #[arg(long, value_parser = parse_with::<LayoutKind>)]
    pub layout: Option<LayoutKind>,
    /// Tokens per example [default: the longest record; windows: at most 1024].
    #[arg(long)]
    pub seq_len: Option<usize>,
    /// Step between window starts [default: --seq-len, no overlap].
    #[arg(long)]
    pub stride: Option<usize>,
    /// Padded layout: records longer than --seq-len are an error, skipped, or cut into windows.
    #[arg(long, default_value = "error", value_parser = parse_with::<TooLong>)]
    pub too_long: TooLong,
    /// Validation sequences in a separate file (same format options).
    #[arg(long, conflicts_with = "valid_fraction")]
    pub valid: Option<PathBuf>,
    /// Fraction of the input held out for validation.
    #[arg(long, default_value_t = 0.1)]
    pub valid_fraction: f64,
    /// How the held-out fraction is chosen: random records (from --seed), the last records of
    /// the file, or the last part of every record (region; for genomes).
    #[arg(long, default_value = "random", value_parser = parse_with::<SplitMode>)]
    pub split: SplitMode,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl DataArgs {
    /// The files a command reads with these options: `file`, and `--valid` if given; its
    /// outputs must not be one of them (`seddbio::io::refuse_overwriting_inputs`).
    fn inputs<'a>(&'a self, file: &'a std::path::Path) -> Vec<&'a std::path::Path> {
        std::iter::once(file).chain(self.valid.as_deref()).collect()
    }

    /// The library's preparation options.
    pub fn prepare_options(&self) -> PrepareOptions {
        PrepareOptions {
            read: ReadOptions {
                format: self.format,
                column: self.column.clone(),
                id_column: self.id_column.clone(),
            },
            policy: self.on_unknown,
            layout: self.layout,
            seq_len: self.seq_len,
            stride: self.stride,
            too_long: self.too_long,
            valid: self.valid.clone(),
            valid_fraction: if self.valid.is_some() {
                0.0
            } else {
                self.valid_fraction
            },
            split: self.split,
            seed: self.seed,
        }
    }
}

fn parse_with<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, String> {
    s.parse()
}
