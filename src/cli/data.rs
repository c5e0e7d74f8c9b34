//! `seddbio data inspect` and `seddbio data export`.

use std::{io::Write, path::PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use seddbio::io::{refuse_overwriting_inputs, write_atomically, write_sequences, OutputFormat};

use super::{choice, load, print_stdout, DataArgs};

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Read a sequence file, tokenise, split and lay it out, and print a summary: records,
    /// tokens, length histogram, what the unknown-symbol policy did, examples per split.
    Inspect(InspectArgs),
    /// Prepare a file as `inspect` does and write the examples (one per window or padded
    /// record, pads stripped) with split, source and start columns, and the alphabet they were
    /// encoded with (SMILES: grown from the data) to OUT.alphabet.toml.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The sequence file (FASTA, CSV, TSV or SMILES; gzip allowed; - for standard input).
    pub file: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Print the summary as one JSON object (for pipelines) instead of the table.
    #[arg(long, conflicts_with = "tabular")]
    pub json: bool,
    /// Print one tab-separated row per input file, as `seqkit stats -T` does: file, format,
    /// type (the alphabet), num_seqs, sum_len, min_len, avg_len, max_len (lengths in
    /// characters, empty records included); nothing is tokenised or split.
    #[arg(short = 'T', long)]
    pub tabular: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The sequence file (FASTA, CSV, TSV or SMILES; gzip allowed).
    pub file: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output: .fasta, .csv, .tsv, .parquet or .smi (text formats optionally .gz), or - for
    /// standard output (FASTA unless --out-format says otherwise) [default: -].
    #[arg(long, short = 'o', default_value = "-", hide_default_value = true)]
    pub out: PathBuf,
    /// The output format, whatever the name says (needed for - in another format than FASTA).
    #[arg(long, value_parser = choice::<OutputFormat>())]
    pub out_format: Option<OutputFormat>,
}

/// `data inspect -T`: a row of statistics per input file.
fn file_table(args: &InspectArgs) -> Result<String> {
    let alphabet = seddbio::alphabet::Alphabet::resolve(&args.data.alphabet)?;
    let read = args.data.prepare_options().read;
    let mut table =
        String::from("file\tformat\ttype\tnum_seqs\tsum_len\tmin_len\tavg_len\tmax_len\n");
    for path in std::iter::once(&args.file).chain(&args.data.more_files) {
        let file = seddbio::io::read_sequences(path, &read, None)?;
        let stats = file.stats();
        table.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{:.1}\t{}\n",
            path.display(),
            file.format,
            alphabet.name(),
            stats.records,
            stats.total,
            stats.min,
            stats.mean,
            stats.max
        ));
    }
    Ok(table)
}

pub fn run(command: DataCommand) -> Result<()> {
    match command {
        DataCommand::Inspect(args) if args.tabular => print_stdout(&file_table(&args)?),
        DataCommand::Inspect(args) => {
            let prepared = load(&args.file, &args.data)?;
            match args.json {
                true => print_stdout(&format!("{:#}\n", prepared.summary.to_json())),
                false => print_stdout(&prepared.summary.to_string()),
            }
        }
        DataCommand::Export(args) => {
            refuse_overwriting_inputs(&args.out, &args.data.inputs(&args.file))?;
            let prepared = load(&args.file, &args.data)?;
            let mut records = prepared.train.output_records(&prepared.alphabet, "train");
            if let Some(valid) = &prepared.valid {
                records.extend(valid.output_records(&prepared.alphabet, "valid"));
            }
            write_sequences(&args.out, args.out_format, &records)?;
            if seddbio::io::is_stdio(&args.out) {
                // The examples went to stdout; the summary goes beside them on stderr.
                eprintln!(
                    "{}wrote {} examples to standard output (the alphabet: `data export -o FILE` writes FILE.alphabet.toml)",
                    prepared.summary,
                    records.len()
                );
                return Ok(());
            }
            // The vocabulary the examples were encoded with, grown from the data for SMILES.
            let mut alphabet_path = args.out.clone().into_os_string();
            alphabet_path.push(".alphabet.toml");
            let alphabet_path = PathBuf::from(alphabet_path);
            write_atomically(&alphabet_path, |w| {
                Ok(w.write_all(prepared.alphabet.to_toml().as_bytes())?)
            })?;
            print_stdout(&format!(
                "{}wrote {} examples to {} and their alphabet to {}\n",
                prepared.summary,
                records.len(),
                args.out.display(),
                alphabet_path.display()
            ))
        }
    }
}
