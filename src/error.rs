//! The library's error type.
//!
//! Every variant carries what a user needs to fix the problem: the file, the record (number and
//! id) or line, the position inside the sequence, and what was wrong.

use std::{fmt, io, path::PathBuf};

/// Where a record came from, for error messages: `data.fa: record 3 (chr1)` or
/// `data.csv: line 7 (record 6, row_6)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLocation {
    /// The file the record was read from.
    pub path: PathBuf,
    /// 1-based record number within the file.
    pub number: usize,
    /// 1-based line number, for one-record-per-line formats (CSV, TSV, SMILES).
    pub line: Option<usize>,
    /// The record's id (FASTA name, id column, or a generated `record_N`).
    pub id: String,
}

impl fmt::Display for RecordLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(
                f,
                "{}: line {} (record {}, {})",
                self.path.display(),
                line,
                self.number,
                self.id
            ),
            None => write!(
                f,
                "{}: record {} ({})",
                self.path.display(),
                self.number,
                self.id
            ),
        }
    }
}

/// Errors from reading, tokenising and preparing sequence data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused a read or write.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A gzip stream ended early or is corrupt.
    #[error("{}: truncated or corrupt gzip data{context}: {source}", path.display())]
    Gzip {
        /// The file concerned.
        path: PathBuf,
        /// Where in the file reading stopped (e.g. " after record 12").
        context: String,
        /// The decoder's error.
        source: io::Error,
    },
    /// The file's content does not follow its format.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// What was wrong, with the line or record.
        message: String,
    },
    /// A file's format cannot be told from its name (or it is standard input).
    #[error("{}", unknown_format(path))]
    UnknownFormat {
        /// The file (`-` for standard input).
        path: PathBuf,
    },
    /// A table has no column of the requested name.
    #[error("{}: no column named '{column}' (columns: {})", path.display(), available.join(", "))]
    MissingColumn {
        /// The file concerned.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The columns the file has.
        available: Vec<String>,
    },
    /// A sequence holds a symbol outside the alphabet and the policy is `error`.
    #[error("{location}: position {position}: {symbol} is {what}")]
    UnknownSymbol {
        /// The record.
        location: Box<RecordLocation>,
        /// 1-based position in the sequence (characters).
        position: usize,
        /// The offending symbol, quoted.
        symbol: String,
        /// What the symbol is (an ambiguity code, a gap, or not in the alphabet).
        what: String,
    },
    /// A SMILES string cannot be split into tokens.
    #[error("{location}: position {position}: {message}")]
    Smiles {
        /// The record.
        location: Box<RecordLocation>,
        /// 1-based character position.
        position: usize,
        /// What was wrong.
        message: String,
    },
    /// A record does not fit the requested layout.
    #[error("{location}: {message}")]
    Record {
        /// The record.
        location: Box<RecordLocation>,
        /// What was wrong.
        message: String,
    },
    /// An alphabet file is malformed or inconsistent.
    #[error("alphabet {origin}: {message}")]
    Alphabet {
        /// The built-in name or file path.
        origin: String,
        /// What was wrong.
        message: String,
    },
    /// A run directory or one of its checkpoints cannot be used as it is (missing, altered,
    /// locked by another process, or not the run it claims to be).
    #[error("{}: {message}", run.display())]
    Run {
        /// The run directory.
        run: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// A run was trained on another alphabet than the one asked for (resuming it, or
    /// fine-tuning from it).
    #[error("{}", run_alphabet(run, trained, asked, *resume))]
    RunAlphabet {
        /// The run directory.
        run: PathBuf,
        /// The alphabet the run was trained on.
        trained: String,
        /// The alphabet asked for.
        asked: String,
        /// Resuming the run (otherwise fine-tuning from it).
        resume: bool,
    },
    /// A new run was asked for in a directory that holds one.
    #[error("{} already holds a run; pass --resume to continue it, or choose another --out", run.display())]
    RunExists {
        /// The run directory.
        run: PathBuf,
    },
    /// Options given to resume a run that disagree with the run.
    #[error("{}: cannot resume with {}; leave them out to continue the run as it was", run.display(), conflicts.join(", "))]
    ResumeConflicts {
        /// The run directory.
        run: PathBuf,
        /// Each option and what the run uses instead.
        conflicts: Vec<String>,
    },
    /// A record's label is missing or not one of the model's labels.
    #[error("{}record {record} ({id}): {message}", file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default())]
    Label {
        /// The file (and split) the record is in, when known.
        file: Option<PathBuf>,
        /// 1-based record number among the prepared records.
        record: usize,
        /// The record's id.
        id: String,
        /// What was wrong.
        message: String,
    },
    /// A checkpoint cannot be written or used: a file missing, weights that do not fit the
    /// model the run describes, or weights that are not finite.
    #[error("{}: {message}", run.display())]
    Checkpoint {
        /// The run directory.
        run: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// A preset or configuration file is not valid.
    #[error("config {origin}: {message}")]
    Config {
        /// The preset name or file path.
        origin: String,
        /// What was wrong, with the table (`[model]`, `[training]`) concerned.
        message: String,
    },
    /// A template cannot be parsed or used.
    #[error("template '{}': {message}", template.escape_debug())]
    Template {
        /// The template as given.
        template: String,
        /// What was wrong, with the 1-based position where there is one.
        message: String,
        /// The template names a motif but no motif file was given.
        needs_motifs: bool,
    },
    /// A setting's value cannot work with this data or model; the front end (the command
    /// line) knows which option sets it and says so.
    #[error("{message}")]
    Setting {
        /// The setting concerned.
        setting: Setting,
        /// What was wrong.
        message: String,
    },
    /// Options that cannot work together, or a value out of range.
    #[error("{0}")]
    Options(String),
}

impl Error {
    /// The error with `file` as the place of a [`Error::Label`] error (other errors are
    /// returned unchanged).
    pub fn in_file(self, file: impl Into<PathBuf>) -> Error {
        match self {
            Error::Label {
                file: None,
                record,
                id,
                message,
            } => Error::Label {
                file: Some(file.into()),
                record,
                id,
                message,
            },
            other => other,
        }
    }
}

/// The message of [`Error::UnknownFormat`].
fn unknown_format(path: &std::path::Path) -> String {
    match crate::io::is_stdio(path) {
        true => "standard input (-) has no file name to tell its format from".into(),
        false => format!(
            "{}: cannot tell the format from the file name",
            path.display()
        ),
    }
}

/// The message of [`Error::RunAlphabet`].
fn run_alphabet(run: &std::path::Path, trained: &str, asked: &str, resume: bool) -> String {
    match resume {
        true => format!(
            "{}: the run was trained on alphabet '{trained}', not '{asked}'; resume with --alphabet {trained} or start a new run with another --out",
            run.display()
        ),
        false => format!(
            "--init-from {}: that run was trained on alphabet '{trained}', not '{asked}'; pass --alphabet {trained}",
            run.display()
        ),
    }
}

/// A setting an [`Error::Setting`] is about, and what a user may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The sequence length or window stride.
    Length,
    /// A record longer than the sequence length in the padded layout.
    TooLong,
    /// Every record shorter than the window.
    ShortRecords,
    /// The held-out fraction.
    ValidFraction,
    /// A split that leaves the training or the validation set empty.
    EmptySplit,
    /// An unknown-symbol policy that cannot work for this alphabet.
    UnknownPolicy,
    /// An unknown-symbol policy that left no training sequence.
    NothingLeft,
    /// Reverse-diffusion steps.
    SamplerSteps,
    /// A sampler that cannot work with the model's graph.
    Sampler,
    /// The sampling temperature.
    Temperature,
    /// The nucleus (top-p) mass.
    TopP,
    /// An unmasking order the sampler cannot follow.
    Order,
    /// The remasking sampler's cap.
    RemaskCap,
    /// A Markov order.
    MarkovOrder,
    /// The peak learning rate (a run diverged).
    LearningRate,
    /// The compute device.
    Device,
    /// The label asked of a model.
    Label,
    /// The model and training preset (`auto`, or one that fine-tuning cannot use).
    Config,
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A message from another library on one line: its lines, trimmed, joined by spaces.
pub(crate) fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Renders a symbol for an error message: printable ASCII in quotes, anything else escaped.
pub(crate) fn quote_symbol(bytes: &[u8]) -> String {
    let mut out = String::from("'");
    for &b in bytes {
        match b {
            b' ' => out.push_str("(space)"),
            0x21..=0x7e => out.push(b as char),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_name_file_record_and_line() {
        let mut location = RecordLocation {
            path: PathBuf::from("x.fa"),
            number: 3,
            line: None,
            id: "chr1".into(),
        };
        assert_eq!(location.to_string(), "x.fa: record 3 (chr1)");
        location.line = Some(7);
        assert_eq!(location.to_string(), "x.fa: line 7 (record 3, chr1)");
    }

    #[test]
    fn symbols_are_quoted_or_escaped() {
        assert_eq!(quote_symbol(b"N"), "'N'");
        assert_eq!(quote_symbol(b"\x00"), "'\\x00'");
        assert_eq!(quote_symbol(b" "), "'(space)'");
    }
}
