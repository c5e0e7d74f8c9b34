//! `seddbio weights export|import`: a run's weights as one safetensors file, and back.

use std::{io::Write, path::PathBuf};

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use seddbio::{
    io::{is_stdio, refuse_overwriting_inputs, write_atomically},
    run::{export_weights, import_weights, open_model, RunDir, Weights},
};

use super::{choice, print_stdout};

#[derive(Debug, Subcommand)]
pub enum WeightsCommand {
    /// Write a run's weights as a safetensors file (one float32 tensor per parameter, the
    /// run's run.toml and alphabet.toml in the metadata), for NumPy, PyTorch or the Hub.
    Export(ExportArgs),
    /// Make a run directory from a file `weights export` wrote (its tensors checked name for
    /// name and shape against the network its metadata describes), for sample, infill, score
    /// and train --init-from.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Run directory of a trained model, or a bundled model's name.
    #[arg(long)]
    pub model: PathBuf,
    /// Output file (.safetensors).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Which weights of the latest checkpoint: the exponential moving average (what sampling
    /// uses) or the raw trained ones.
    #[arg(long, default_value = "ema", value_parser = choice::<Weights>())]
    pub weights: Weights,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A safetensors file from `seddbio weights export`.
    pub file: PathBuf,
    /// The new run directory (must not hold a run).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

pub fn run(command: WeightsCommand) -> Result<()> {
    match command {
        WeightsCommand::Export(args) => export(args),
        WeightsCommand::Import(args) => import(args),
    }
}

fn export(args: ExportArgs) -> Result<()> {
    if is_stdio(&args.out) {
        bail!("weights export: give an output file with -o (a safetensors file is binary)");
    }
    refuse_overwriting_inputs(&args.out, &[&args.model])?;
    let exported = export_weights(&open_model(&args.model)?, args.weights)?;
    write_atomically(&args.out, |w| Ok(w.write_all(&exported.bytes)?))?;
    print_stdout(&format!(
        "{}: {} weights of {} ({} parameters, step {}), {} bytes\n",
        args.out.display(),
        args.weights,
        args.model.display(),
        exported.parameters,
        exported.step,
        exported.bytes.len()
    ))
}

fn import(args: ImportArgs) -> Result<()> {
    let bytes =
        std::fs::read(&args.file).map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let imported = import_weights(&args.file, bytes, &RunDir::new(&args.out))?;
    print_stdout(&format!(
        "{}: a {} model ({} parameters, step {}) from {}\n",
        args.out.display(),
        imported.alphabet,
        imported.parameters,
        imported.step,
        args.file.display()
    ))
}
