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
    /// The operating system refused a read in the middle of a file.
    #[error("{}{context}: {source}", path.display())]
    ReadFailed {
        /// The file concerned.
        path: PathBuf,
        /// Where in the file reading stopped (e.g. " at line 12").
        context: String,
        /// The underlying error.
        source: io::Error,
    },
    /// A row of a split column with a value that names no side of the split.
    #[error("{location}: column '{column}' says '{value}', which is neither the training value '{}' nor the validation value '{}'", sides.0, sides.1)]
    SplitValue {
        /// The row.
        location: Box<RecordLocation>,
        /// The split column.
        column: String,
        /// The value found.
        value: String,
        /// The training and the validation value.
        sides: Box<(String, String)>,
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
    /// A mutation string that is malformed, or does not fit the wild type or the alphabet.
    #[error("{}: line {line}: {variant}: {source}", path.display())]
    Variant {
        /// The variants file.
        path: PathBuf,
        /// Its 1-based line.
        line: usize,
        /// The mutation as written.
        variant: String,
        /// What is wrong.
        source: crate::variant::MutationError,
    },
    /// A wild type that cannot be scored.
    #[error("{origin}: {message}")]
    WildType {
        /// The file and record, or "wild type" for one given as text.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A record a SELFIES alphabet cannot read: SMILES that cannot be encoded as SELFIES.
    #[error("{location}: {message}")]
    Selfies {
        /// The record.
        location: Box<RecordLocation>,
        /// What was wrong, with its position.
        message: String,
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
    /// A path to read is a directory.
    #[error("{}: is a directory, not a sequence file", path.display())]
    IsDirectory {
        /// The path given.
        path: PathBuf,
    },
    /// No input file was given.
    #[error("no input file")]
    NoInput,
    /// Two input files would give their records the same label (a label per file).
    #[error("{} and {}: both would give the label '{label}'; rename one (a file's label is its name without extensions)", first.display(), second.display())]
    DuplicateFileLabel {
        /// The earlier file.
        first: PathBuf,
        /// The later file.
        second: PathBuf,
        /// The label both would give.
        label: String,
    },
    /// An option that needs another input format than the file's.
    #[error("{}: {what}, not {format}", path.display())]
    InputNeeds {
        /// The file.
        path: PathBuf,
        /// The option and the formats it needs, in words.
        what: &'static str,
        /// The file's format.
        format: String,
    },
    /// A FASTQ quality offset other than 33 or 64.
    #[error("quality offset {offset}: FASTQ qualities are Phred+33 or Phred+64")]
    QualityOffset {
        /// The offset given.
        offset: u8,
    },
    /// A label per file together with a separate validation file.
    #[error("a label per file: the validation records come from each file's split; a separate validation file would have no labels")]
    LabelPerFileWithValid,
    /// The padded layout with an alphabet whose pad token is off.
    #[error("the padded layout needs an alphabet with its pad token on")]
    PadMissing,
    /// An output name whose format cannot be told from its extension.
    #[error("{}: cannot tell the output format from the name; use .fasta, .csv, .tsv, .parquet or .smi", path.display())]
    UnknownOutputFormat {
        /// The output path.
        path: PathBuf,
    },
    /// A gzipped Parquet output.
    #[error("{}: Parquet is compressed already; drop the .gz", path.display())]
    CompressedParquet {
        /// The output path.
        path: PathBuf,
    },
    /// An output in a directory that does not exist.
    #[error("{}: the directory {} does not exist", path.display(), dir.display())]
    MissingDirectory {
        /// The output path.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
    },
    /// An output path with no file name (`..`, `/`).
    #[error("{}: not a file name", path.display())]
    NotAFileName {
        /// The output path.
        path: PathBuf,
    },
    /// An output that is one of the inputs.
    #[error("{}: this output is the input {}; writing it would destroy the input, choose another output path", output.display(), input.display())]
    OutputIsInput {
        /// The output path.
        output: PathBuf,
        /// The input it is.
        input: PathBuf,
    },
    /// An output that would replace a file inside a directory the command reads (a model's
    /// run directory).
    #[error("{}: this output is a file of {}, which this command reads; writing it would damage it, choose another output path", output.display(), dir.display())]
    OutputInInputDirectory {
        /// The output path.
        output: PathBuf,
        /// The input directory it lies in.
        dir: PathBuf,
    },
    /// A duration that cannot be read.
    #[error(
        "{text:?}: expected a duration with its unit (s, m, h), such as 90s, 30m, 1.5h or 1h30m"
    )]
    Duration {
        /// The text given.
        text: String,
    },
    /// A sequence longer than a model's window.
    #[error("sequence {sequence}: {tokens} tokens, longer than the model's {model}")]
    SequenceTooLong {
        /// 1-based sequence number.
        sequence: usize,
        /// Its tokens.
        tokens: usize,
        /// The model's window.
        model: usize,
    },
    /// Sequences sampled in one batch with different lengths.
    #[error("sequences sampled together must have the same length")]
    RaggedBatch,
    /// A template position whose allowed tokens are none of the model's.
    #[error("position {position}: the allowed tokens are not in the model's vocabulary")]
    EmptySlot {
        /// 1-based position.
        position: usize,
    },
    /// A motif scanned with an alphabet that has no nucleotides.
    #[error("motif {motif} needs a nucleotide alphabet (A, C, G, T/U); {alphabet} has none")]
    MotifAlphabet {
        /// The motif's id.
        motif: String,
        /// The alphabet's name.
        alphabet: String,
    },
    /// A Markov chain over fewer than two tokens.
    #[error("a Markov chain needs at least 2 tokens")]
    MarkovTokens {
        /// The tokens there are.
        tokens: usize,
    },
    /// A sweep setting that cannot be read.
    #[error("sweep setting '{setting}': {message}")]
    SweepSetting {
        /// The setting as given.
        setting: String,
        /// What was wrong.
        message: String,
    },
    /// A sweep without settings or samples.
    #[error("a sweep needs at least one setting and one sample")]
    EmptySweep,
    /// The network's output could not be read back from its tensor.
    #[error("reading the network's {what}: {detail}")]
    TensorRead {
        /// What was read (loss, scores).
        what: &'static str,
        /// burn's error.
        detail: String,
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
    #[error("{}: checkpoint: {message}", run.display())]
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
    /// A labelled evaluation with an unknown-symbol policy that changes records.
    #[error(
        "labels need unknown symbols to be errors (records must stay one to one with their labels)"
    )]
    LabelsNeedStrictSymbols,
    /// A labelled evaluation whose sets share no label.
    #[error("no label occurs in both the generated and the reference sequences")]
    NoSharedLabel,
    /// Canonical k-mers with an alphabet that has no complements.
    #[error("canonical k-mers need an alphabet with complements; {alphabet} has none")]
    NoComplements {
        /// The alphabet's name.
        alphabet: String,
    },
    /// An evaluation with no generated or fewer than two reference sequences.
    #[error("need at least one generated and two reference sequences")]
    TooFewSequences,
    /// A model check with no time or no sequence to score.
    #[error("the model's bound needs at least one time and one sequence")]
    EmptyModelCheck,
    /// A set that the model's vocabulary cannot encode.
    #[error("encoding the {set} set with the vocabulary of {model}: {cause}")]
    ModelVocabulary {
        /// Which set (generated, reference).
        set: String,
        /// The model's name.
        model: String,
        /// Why it could not be encoded.
        cause: Box<Error>,
    },
    /// A set none of whose sequences fits the model's window.
    #[error("{}: no sequence fits the {positions} positions of the model at {model}", path.display())]
    NothingFitsModel {
        /// The set's file.
        path: PathBuf,
        /// The model's window.
        positions: usize,
        /// The model's name.
        model: String,
    },
    /// A motif to profile that the motif file does not hold.
    #[error("{}: no motif {id} to profile", file.display())]
    MissingMotif {
        /// The motif file.
        file: PathBuf,
        /// The motif id asked for.
        id: String,
    },
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
    // `-`, as `io::is_stdio` tells it (not called: errors sit below io).
    match path.as_os_str() == "-" {
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
    /// The k-mer sizes of an evaluation.
    KmerSizes,
    /// A motif site threshold (relative score or p-value).
    MotifThreshold,
    /// A variant-effect estimator the model's graph cannot use.
    VariantEstimator,
    /// Homolog reweighting (theta, or data that are no alignment).
    Reweight,
    /// A shard of a job (`--shard K/N`).
    Shard,
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

/// Renders a symbol for an error message, in quotes: printable ASCII and characters beyond
/// ASCII as they are, anything else (bytes that are not UTF-8, controls) escaped.
pub(crate) fn quote_symbol(bytes: &[u8]) -> String {
    // A character beyond ASCII is shown as itself; bytes that are not UTF-8, escaped.
    if let Ok(text) = std::str::from_utf8(bytes) {
        if !text.is_ascii() && text.chars().all(|c| !c.is_control() && !c.is_whitespace()) {
            return format!("'{text}'");
        }
    }
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

    /// Every variant's message, as a user reads it: what is wrong and where, on one line.
    #[test]
    fn every_variant_says_what_and_where() {
        let p = PathBuf::from;
        let location = || {
            Box::new(RecordLocation {
                path: p("x.fa"),
                number: 3,
                line: None,
                id: "r3".into(),
            })
        };
        let cases: Vec<(Error, &str)> = vec![
            (
                Error::Io { path: p("x.fa"), source: io::Error::other("denied") },
                "x.fa: denied",
            ),
            (
                Error::Gzip {
                    path: p("x.fa.gz"),
                    context: " after record 12".into(),
                    source: io::Error::other("eof"),
                },
                "x.fa.gz: truncated or corrupt gzip data after record 12: eof",
            ),
            (
                Error::Format { path: p("x.fa"), message: "no FASTA records in the file".into() },
                "x.fa: no FASTA records in the file",
            ),
            (
                Error::UnknownFormat { path: p("x.dat") },
                "x.dat: cannot tell the format from the file name",
            ),
            (
                Error::UnknownFormat { path: p("-") },
                "standard input (-) has no file name to tell its format from",
            ),
            (
                Error::MissingColumn {
                    path: p("x.csv"),
                    column: "seq".into(),
                    available: vec!["id".into(), "dna".into()],
                },
                "x.csv: no column named 'seq' (columns: id, dna)",
            ),
            (
                Error::UnknownSymbol {
                    location: location(),
                    position: 7,
                    symbol: "'N'".into(),
                    what: "an ambiguity code".into(),
                },
                "x.fa: record 3 (r3): position 7: 'N' is an ambiguity code",
            ),
            (
                Error::Smiles { location: location(), position: 2, message: "unclosed [".into() },
                "x.fa: record 3 (r3): position 2: unclosed [",
            ),
            (Error::IsDirectory { path: p("d") }, "d: is a directory, not a sequence file"),
            (Error::NoInput, "no input file"),
            (
                Error::DuplicateFileLabel { first: p("a/x.fa"), second: p("b/x.fa"), label: "x".into() },
                "a/x.fa and b/x.fa: both would give the label 'x'; rename one (a file's label is its name without extensions)",
            ),
            (
                Error::InputNeeds {
                    path: p("x.fa"),
                    what: "a minimum read quality needs FASTQ input",
                    format: "FASTA".into(),
                },
                "x.fa: a minimum read quality needs FASTQ input, not FASTA",
            ),
            (
                Error::QualityOffset { offset: 40 },
                "quality offset 40: FASTQ qualities are Phred+33 or Phred+64",
            ),
            (
                Error::LabelPerFileWithValid,
                "a label per file: the validation records come from each file's split; a separate validation file would have no labels",
            ),
            (Error::PadMissing, "the padded layout needs an alphabet with its pad token on"),
            (
                Error::UnknownOutputFormat { path: p("out.xyz") },
                "out.xyz: cannot tell the output format from the name; use .fasta, .csv, .tsv, .parquet or .smi",
            ),
            (
                Error::CompressedParquet { path: p("o.parquet.gz") },
                "o.parquet.gz: Parquet is compressed already; drop the .gz",
            ),
            (
                Error::MissingDirectory { path: p("no/o.fa"), dir: p("no") },
                "no/o.fa: the directory no does not exist",
            ),
            (Error::NotAFileName { path: p("..") }, "..: not a file name"),
            (
                Error::OutputIsInput { output: p("x.fa"), input: p("./x.fa") },
                "x.fa: this output is the input ./x.fa; writing it would destroy the input, choose another output path",
            ),
            (
                Error::Selfies {
                    location: Box::new(RecordLocation { path: p("m.smi"), number: 2, line: Some(2), id: "m2".into() }),
                    message: "this SMILES cannot be written as SELFIES: position 4: hanging ring number '1'".into(),
                },
                "m.smi: line 2 (record 2, m2): this SMILES cannot be written as SELFIES: position 4: hanging ring number '1'",
            ),
            (
                Error::Variant {
                    path: p("dms.csv"),
                    line: 7,
                    variant: "H24A".into(),
                    source: crate::variant::MutationError::Mismatch { position: 24, named: 'H', found: 'P' },
                },
                "dms.csv: line 7: H24A: position 24 is P in the wild type, not H",
            ),
            (
                Error::WildType { origin: "wt.fa".into(), message: "holds 2 sequences; give a file with one".into() },
                "wt.fa: holds 2 sequences; give a file with one",
            ),
            (
                Error::SplitValue {
                    location: Box::new(RecordLocation { path: p("t.csv"), number: 7, line: Some(8), id: "r7".into() }),
                    column: "set".into(),
                    value: "test".into(),
                    sides: Box::new(("train".into(), "valid".into())),
                },
                "t.csv: line 8 (record 7, r7): column 'set' says 'test', which is neither the training value 'train' nor the validation value 'valid'",
            ),
            (
                Error::ReadFailed {
                    path: p("x.smi"),
                    context: " at line 12".into(),
                    source: io::Error::other("input/output error"),
                },
                "x.smi at line 12: input/output error",
            ),
            (
                Error::OutputInInputDirectory { output: p("m/run.toml"), dir: p("m") },
                "m/run.toml: this output is a file of m, which this command reads; writing it would damage it, choose another output path",
            ),
            (
                Error::Duration { text: "5 parsecs".into() },
                "\"5 parsecs\": expected a duration with its unit (s, m, h), such as 90s, 30m, 1.5h or 1h30m",
            ),
            (
                Error::SequenceTooLong { sequence: 2, tokens: 300, model: 200 },
                "sequence 2: 300 tokens, longer than the model's 200",
            ),
            (Error::RaggedBatch, "sequences sampled together must have the same length"),
            (
                Error::EmptySlot { position: 4 },
                "position 4: the allowed tokens are not in the model's vocabulary",
            ),
            (
                Error::MotifAlphabet { motif: "MA0108.3".into(), alphabet: "protein".into() },
                "motif MA0108.3 needs a nucleotide alphabet (A, C, G, T/U); protein has none",
            ),
            (Error::MarkovTokens { tokens: 1 }, "a Markov chain needs at least 2 tokens"),
            (
                Error::SweepSetting { setting: "t=x".into(), message: "not a number".into() },
                "sweep setting 't=x': not a number",
            ),
            (Error::EmptySweep, "a sweep needs at least one setting and one sample"),
            (
                Error::TensorRead { what: "scores", detail: "dtype".into() },
                "reading the network's scores: dtype",
            ),
            (
                Error::Alphabet { origin: "my.toml".into(), message: "no symbols".into() },
                "alphabet my.toml: no symbols",
            ),
            (
                Error::Run { run: p("runs/a"), message: "locked by process 7".into() },
                "runs/a: locked by process 7",
            ),
            (
                Error::RunAlphabet {
                    run: p("runs/a"),
                    trained: "dna".into(),
                    asked: "protein".into(),
                    resume: true,
                },
                "runs/a: the run was trained on alphabet 'dna', not 'protein'; resume with --alphabet dna or start a new run with another --out",
            ),
            (
                Error::RunAlphabet {
                    run: p("runs/a"),
                    trained: "dna".into(),
                    asked: "protein".into(),
                    resume: false,
                },
                "--init-from runs/a: that run was trained on alphabet 'dna', not 'protein'; pass --alphabet dna",
            ),
            (
                Error::RunExists { run: p("runs/a") },
                "runs/a already holds a run; pass --resume to continue it, or choose another --out",
            ),
            (
                Error::ResumeConflicts {
                    run: p("runs/a"),
                    conflicts: vec!["--lr 0.1 (the run uses 0.003)".into(), "--seed 2 (the run uses 0)".into()],
                },
                "runs/a: cannot resume with --lr 0.1 (the run uses 0.003), --seed 2 (the run uses 0); leave them out to continue the run as it was",
            ),
            (
                Error::Label { file: None, record: 5, id: "r5".into(), message: "no label".into() },
                "record 5 (r5): no label",
            ),
            (
                Error::Label { file: None, record: 5, id: "r5".into(), message: "no label".into() }
                    .in_file("x.fa"),
                "x.fa: record 5 (r5): no label",
            ),
            (
                Error::Checkpoint { run: p("runs/a"), message: "the checkpoint has no ema.bpk".into() },
                "runs/a: checkpoint: the checkpoint has no ema.bpk",
            ),
            (
                Error::Config { origin: "big.toml".into(), message: "[model] d_model 0".into() },
                "config big.toml: [model] d_model 0",
            ),
            (
                Error::Template {
                    template: "AC{MA0108.3}".into(),
                    message: "position 3: no motif file".into(),
                    needs_motifs: true,
                },
                "template 'AC{MA0108.3}': position 3: no motif file",
            ),
            (Error::LabelsNeedStrictSymbols, "labels need unknown symbols to be errors (records must stay one to one with their labels)"),
            (Error::NoSharedLabel, "no label occurs in both the generated and the reference sequences"),
            (
                Error::NoComplements { alphabet: "protein".into() },
                "canonical k-mers need an alphabet with complements; protein has none",
            ),
            (Error::TooFewSequences, "need at least one generated and two reference sequences"),
            (Error::EmptyModelCheck, "the model's bound needs at least one time and one sequence"),
            (
                Error::ModelVocabulary {
                    set: "generated".into(),
                    model: "runs/a".into(),
                    cause: Box::new(Error::NoInput),
                },
                "encoding the generated set with the vocabulary of runs/a: no input file",
            ),
            (
                Error::NothingFitsModel { path: p("g.fa"), positions: 200, model: "runs/a".into() },
                "g.fa: no sequence fits the 200 positions of the model at runs/a",
            ),
            (
                Error::MissingMotif { file: p("m.jaspar"), id: "MA0001.1".into() },
                "m.jaspar: no motif MA0001.1 to profile",
            ),
            (
                Error::Setting { setting: Setting::TopP, message: "--top-p 2: not in (0, 1]".into() },
                "--top-p 2: not in (0, 1]",
            ),
        ];
        let variants: std::collections::HashSet<_> = cases
            .iter()
            .map(|(e, _)| std::mem::discriminant(e))
            .collect();
        assert_eq!(variants.len(), VARIANTS, "a variant has no case");
        for (error, expected) in cases {
            assert_eq!(error.to_string(), expected);
            assert!(!expected.contains('\n'), "{expected}");
        }
    }

    /// The variants of [`Error`], as many as `every_variant_has_a_case` lists.
    const VARIANTS: usize = 52;

    /// Fails to compile when a variant is added: list it here, raise [`VARIANTS`] and give it
    /// a case in `every_variant_says_what_and_where`.
    #[allow(dead_code)]
    fn every_variant_has_a_case(error: &Error) {
        match error {
            Error::Io { .. }
            | Error::Gzip { .. }
            | Error::Format { .. }
            | Error::UnknownFormat { .. }
            | Error::MissingColumn { .. }
            | Error::UnknownSymbol { .. }
            | Error::Smiles { .. }
            | Error::IsDirectory { .. }
            | Error::NoInput
            | Error::DuplicateFileLabel { .. }
            | Error::InputNeeds { .. }
            | Error::QualityOffset { .. }
            | Error::LabelPerFileWithValid
            | Error::PadMissing
            | Error::UnknownOutputFormat { .. }
            | Error::CompressedParquet { .. }
            | Error::MissingDirectory { .. }
            | Error::NotAFileName { .. }
            | Error::OutputIsInput { .. }
            | Error::OutputInInputDirectory { .. }
            | Error::ReadFailed { .. }
            | Error::SplitValue { .. }
            | Error::Selfies { .. }
            | Error::Variant { .. }
            | Error::WildType { .. }
            | Error::Duration { .. }
            | Error::SequenceTooLong { .. }
            | Error::RaggedBatch
            | Error::EmptySlot { .. }
            | Error::MotifAlphabet { .. }
            | Error::MarkovTokens { .. }
            | Error::SweepSetting { .. }
            | Error::EmptySweep
            | Error::TensorRead { .. }
            | Error::Alphabet { .. }
            | Error::Run { .. }
            | Error::RunAlphabet { .. }
            | Error::RunExists { .. }
            | Error::ResumeConflicts { .. }
            | Error::Label { .. }
            | Error::Checkpoint { .. }
            | Error::Config { .. }
            | Error::Template { .. }
            | Error::Setting { .. }
            | Error::LabelsNeedStrictSymbols
            | Error::NoSharedLabel
            | Error::NoComplements { .. }
            | Error::TooFewSequences
            | Error::EmptyModelCheck
            | Error::ModelVocabulary { .. }
            | Error::NothingFitsModel { .. }
            | Error::MissingMotif { .. } => {}
        }
    }
}
