//! Sequence files in and out: FASTA, CSV/TSV (through polars), `.smi`, Parquet.
//!
//! Reading detects the format from the extension (after an optional `.gz`), which `--format`
//! overrides, and detects gzip from the file's magic bytes, so a gzipped file named `.fa`
//! still reads. Writing is atomic: a temporary file in the target directory, renamed into
//! place once complete, so an interrupted run never leaves half a file under the final name.

mod atomic;
mod digest;
mod open;
mod read;
mod write;

pub(crate) use self::{
    atomic::is_temporary_of,
    open::{open_text, read_error},
};
pub use self::{
    atomic::{refuse_overwriting_inputs, sync_directory, write_atomically, WriteResult},
    digest::Fnv1a,
    read::{
        description_value, file_label, read_sequence_files, read_sequences, FileStats, LabelSource,
        ReadOptions, SequenceFile, SequenceRecord,
    },
    write::{csv_field, write_sequences, OutputFormat, OutputRecord},
};

#[cfg(test)]
pub(crate) use self::read::records_of;

use std::{fmt, path::Path, str::FromStr};

/// Whether `path` is `-`, which stands for standard input where a file is read and for
/// standard output where one is written.
///
/// ```
/// use std::path::Path;
///
/// assert!(seddbio::io::is_stdio(Path::new("-")));
/// assert!(!seddbio::io::is_stdio(Path::new("./-")));
/// ```
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// FASTA (`.fa .fasta .fna .faa .fas .ffn .frn`), multi-line records.
    Fasta,
    /// Comma-separated table with a header line (`.csv`).
    Csv,
    /// Tab-separated table with a header line (`.tsv .tab .txt`).
    Tsv,
    /// One SMILES per line, optionally followed by whitespace and an id (`.smi .smiles`).
    Smi,
    /// FASTQ (`.fastq .fq`), four lines per read; the qualities are only used by the
    /// `--min-mean-quality` filter.
    Fastq,
}

impl Format {
    /// Guesses the format from a file name, ignoring a trailing `.gz`.
    ///
    /// ```
    /// use seddbio::io::Format;
    /// use std::path::Path;
    ///
    /// assert_eq!(Format::from_path(Path::new("x.fa.gz")), Some(Format::Fasta));
    /// assert_eq!(Format::from_path(Path::new("family.a2m")), Some(Format::Fasta));
    /// assert_eq!(Format::from_path(Path::new("train.csv.gz")), Some(Format::Csv));
    /// assert_eq!(Format::from_path(Path::new("notes.docx")), None);
    /// ```
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let extension = name.rsplit_once('.')?.1;
        match extension {
            // A2M and A3M alignments are FASTA whose lowercase letters are insertions.
            "fa" | "fasta" | "fna" | "faa" | "fas" | "ffn" | "frn" | "mpfa" | "a2m" | "a3m" => {
                Some(Format::Fasta)
            }
            "csv" => Some(Format::Csv),
            "tsv" | "tab" | "txt" => Some(Format::Tsv),
            "smi" | "smiles" => Some(Format::Smi),
            "fastq" | "fq" => Some(Format::Fastq),
            _ => None,
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "fasta" | "fa" => Ok(Format::Fasta),
            "csv" => Ok(Format::Csv),
            "tsv" => Ok(Format::Tsv),
            "smi" | "smiles" => Ok(Format::Smi),
            "fastq" | "fq" => Ok(Format::Fastq),
            other => Err(format!(
                "unknown format '{other}' (expected fasta, csv, tsv, smi or fastq)"
            )),
        }
    }
}

impl crate::choices::Choice for Format {
    const NAMES: &'static [&'static str] = &["fasta", "csv", "tsv", "smi", "fastq"];
    const ALIASES: &'static [(&'static str, &'static str)] =
        &[("fa", "fasta"), ("smiles", "smi"), ("fq", "fastq")];
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Fasta => "fasta",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Smi => "smi",
            Format::Fastq => "fastq",
        })
    }
}
