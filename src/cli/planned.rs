//! Subcommands whose argument lists are fixed but whose work lands in later releases:
//! they parse and document their options, and say plainly that they cannot run yet.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use super::DataArgs;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training sequences (FASTA, CSV, TSV or SMILES; gzip allowed).
    pub file: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Model and training preset: tiny, small, medium, or a TOML file.
    #[arg(long, default_value = "tiny")]
    pub config: String,
    /// Forward process: absorb (mask) or uniform.
    #[arg(long, default_value = "absorb")]
    pub graph: String,
    /// Noise schedule: loglinear or geometric.
    #[arg(long, default_value = "loglinear")]
    pub noise: String,
    /// Sequences per optimiser step.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Optimiser steps.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Peak learning rate (AdamW, after linear warm-up).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Run directory: checkpoints, metrics, plots, samples.
    #[arg(long, default_value = "runs/latest")]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// cpu, or cuda (builds with --features cuda).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Run directory of a trained model.
    #[arg(long)]
    pub model: PathBuf,
    /// Number of sequences.
    #[arg(short = 'n', long, default_value_t = 100)]
    pub num: usize,
    /// Reverse-diffusion steps.
    #[arg(long, default_value_t = 128)]
    pub steps: usize,
    /// euler, analytic, or cached (absorb models).
    #[arg(long, default_value = "analytic")]
    pub sampler: String,
    /// Sequence length [default: the model's].
    #[arg(long)]
    pub length: Option<usize>,
    /// Sequences per network call.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output: .fasta, .csv or .parquet.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct InfillArgs {
    /// Run directory of a trained model.
    #[arg(long)]
    pub model: PathBuf,
    /// Template: literal symbols are fixed, [MASK] is one free position, [MASK:20] twenty,
    /// IUPAC codes such as N or R allow a set, {motif:MA0108.3} places a motif.
    #[arg(long, required_unless_present = "template_file")]
    pub template: Option<String>,
    /// Many templates: a FASTA file whose sequences are templates.
    #[arg(long)]
    pub template_file: Option<PathBuf>,
    /// Motif file (JASPAR .jaspar or MEME) for {motif:ID}.
    #[arg(long)]
    pub motifs: Option<PathBuf>,
    /// Samples per template.
    #[arg(short = 'n', long, default_value_t = 1)]
    pub num: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output: .fasta, .csv or .parquet.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Run directory of a trained model.
    #[arg(long)]
    pub model: PathBuf,
    /// Sequences to score.
    pub file: PathBuf,
    /// Output CSV: id, ELBO bound (nats), bits/token, standard error.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

fn not_yet(command: &str) -> Result<()> {
    bail!("`seddbio {command}` is not available in this version yet; `seddbio data inspect` and `seddbio data export` are")
}

pub fn train(_args: TrainArgs) -> Result<()> {
    not_yet("train")
}

pub fn sample(_args: SampleArgs) -> Result<()> {
    not_yet("sample")
}

pub fn infill(_args: InfillArgs) -> Result<()> {
    not_yet("infill")
}

pub fn score(_args: ScoreArgs) -> Result<()> {
    not_yet("score")
}
