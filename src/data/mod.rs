//! Dataset preparation: read -> split -> vocabulary -> encode -> lay out, with a summary.
//!
//! ```
//! use seddbio::{alphabet::Alphabet, data::{prepare, PrepareOptions}};
//!
//! let path = std::env::temp_dir().join(format!("seddbio-doc-{}-promoters.fa", std::process::id()));
//! let fasta: String = (0..20).map(|i| format!(">p{i}\nACGTTGCAACGT\n")).collect();
//! std::fs::write(&path, fasta).unwrap();
//!
//! let options = PrepareOptions { seq_len: Some(8), stride: Some(4), ..PrepareOptions::default() };
//! let prepared = prepare(&path, Alphabet::builtin("dna").unwrap(), &options, None).unwrap();
//! assert_eq!(prepared.train.len() + prepared.valid.as_ref().unwrap().len(), 40);
//! println!("{}", prepared.summary);
//! # std::fs::remove_file(&path).unwrap();
//! ```

mod encode;
mod homologs;
mod layout;
mod split;
mod summary;

pub(crate) use self::encode::encode_record;
pub use self::{
    encode::{encode_records, EncodedRecord, UnknownPolicy, UnknownReport},
    homologs::{HomologWeights, Insertions},
    layout::{Example, Layout, LayoutKind, LayoutReport, TokenDataset, TooLong},
    split::{split_records, split_records_with_clusters, RecordClusters, SplitColumn, SplitMode},
    summary::{thousands, DataSummary, LengthStats},
};

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::{
    alphabet::{smiles, Alphabet, TokenizerKind},
    error::{Error, Result},
    io::{read_sequence_files, read_sequences, ReadOptions, SequenceFile, SequenceRecord},
};

/// The longest automatic window length; longer records are cut into windows of this size.
pub const MAX_AUTO_WINDOW: usize = 1024;

/// How to turn a sequence file into training and validation examples.
#[derive(Debug, Clone)]
pub struct PrepareOptions {
    /// Format, sequence and id columns.
    pub read: ReadOptions,
    /// Symbols outside the alphabet.
    pub policy: UnknownPolicy,
    /// Windows or padded records; the alphabet's default when `None`.
    pub layout: Option<LayoutKind>,
    /// Tokens per example. When `None`: the longest record for the padded layout, the longest
    /// record up to [`MAX_AUTO_WINDOW`] for windows.
    pub seq_len: Option<usize>,
    /// Step between windows; `seq_len` (no overlap) when `None`.
    pub stride: Option<usize>,
    /// Padded layout: records longer than `seq_len`.
    pub too_long: TooLong,
    /// A separate validation file; when given, `valid_fraction` is not used.
    pub valid: Option<PathBuf>,
    /// Fraction of the input held out for validation.
    pub valid_fraction: f64,
    /// How the held-out fraction is chosen.
    pub split: SplitMode,
    /// The split from a column of a table instead (neither `valid` nor `valid_fraction` is
    /// used then).
    pub split_by: Option<SplitColumn>,
    /// Seed of every random choice.
    pub seed: u64,
    /// More training files, read like the first and appended to it.
    pub more_files: Vec<PathBuf>,
    /// Every file's records get the file's name as their label
    /// ([`file_label`](crate::io::file_label)): a conditional model from a file per class.
    pub label_per_file: bool,
    /// Homolog reweighting of an aligned training file at this theta ([`HomologWeights`]):
    /// training draws examples by weight.
    pub reweight: Option<f64>,
    /// A2M/A3M insertions: kept or dropped when read.
    pub insertions: Insertions,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            read: ReadOptions::default(),
            policy: UnknownPolicy::Error,
            layout: None,
            seq_len: None,
            stride: None,
            too_long: TooLong::Error,
            valid: None,
            valid_fraction: 0.1,
            split: SplitMode::Random,
            split_by: None,
            seed: 0,
            more_files: Vec::new(),
            label_per_file: false,
            reweight: None,
            insertions: Insertions::Keep,
        }
    }
}

/// Prepared data: the resolved alphabet (vocabulary grown from the data, pad on for the padded
/// layout), the examples, and a summary of everything that was done.
#[derive(Debug, Clone)]
pub struct PreparedData {
    /// The alphabet to store with a model trained on this data.
    pub alphabet: Alphabet,
    /// The layout used.
    pub layout: Layout,
    /// Training examples.
    pub train: TokenDataset,
    /// Validation examples, if any were asked for.
    pub valid: Option<TokenDataset>,
    /// What was read and done.
    pub summary: DataSummary,
}

impl PreparedData {
    /// The data with its examples' labels numbered in a model's label list `labels`: a
    /// fine-tune of a conditional model keeps that model's labels, and its data may use any of
    /// them (one cell type's new regions for a two-cell-type model). Unlabelled data, data
    /// with exactly those labels, and an unconditional model's empty list leave the data as
    /// it is (the trainer then names a mismatch); a label the model lacks is an error naming
    /// the record.
    pub fn numbered_as(mut self, labels: &[String]) -> Result<PreparedData> {
        let current = self.train.labels();
        if current.is_empty() || labels.is_empty() || current == labels {
            return Ok(self);
        }
        (self.train, self.valid) =
            numbered(self.train, self.valid, labels, &self.summary.path, None)?;
        Ok(self)
    }
}

/// Reads `path` (and the validation file, if any) and prepares examples; see the module docs.
/// `progress`, when given, counts records read.
pub fn prepare(
    path: &Path,
    mut alphabet: Alphabet,
    options: &PrepareOptions,
    progress: Option<&ProgressBar>,
) -> Result<PreparedData> {
    if options.label_per_file && options.valid.is_some() {
        return Err(Error::LabelPerFileWithValid);
    }
    let read = read_and_split(path, options, progress)?;
    let (mut train_file, mut valid_file, split_clusters) = (read.train, read.valid, read.clusters);
    let insertions_dropped: usize = std::iter::once(&mut train_file)
        .chain(valid_file.as_mut())
        .flat_map(|file| file.records.iter_mut())
        .map(|record| options.insertions.apply(&mut record.sequence))
        .sum();
    let split_skipped = read.split_skipped;
    let (records_read, empty_ids) = (read.records_read, read.empty_ids);
    let (file_path, format, low_quality) = (
        train_file.path.clone(),
        train_file.format,
        train_file.low_quality,
    );

    let homologs = options
        .reweight
        .map(|theta| aligned_weights(&train_file, theta))
        .transpose()?;
    let tokens_added = grow_vocabulary(&mut alphabet, &train_file.records);
    let kind = options
        .layout
        .unwrap_or_else(|| LayoutKind::default_for(&alphabet));
    if kind == LayoutKind::Padded {
        alphabet = alphabet.with_pad();
    }

    let (train_encoded, valid_encoded, unknown) = encode_split(
        &alphabet,
        &train_file,
        valid_file.as_ref(),
        options.policy,
        path,
    )?;

    let lengths: Vec<usize> = train_encoded
        .iter()
        .chain(valid_encoded.iter().flatten())
        .map(|r| r.tokens.len())
        .collect();
    let longest = lengths.iter().copied().max().unwrap_or(0);
    let seq_len = options.seq_len.unwrap_or(match kind {
        LayoutKind::Padded => longest,
        LayoutKind::Windows => longest.min(MAX_AUTO_WINDOW),
    });
    let layout = Layout {
        kind,
        seq_len,
        stride: options.stride.unwrap_or(seq_len),
        too_long: options.too_long,
    };
    let mut composition = vec![0u64; alphabet.len()];
    for record in &train_encoded {
        for &t in &record.tokens {
            composition[t as usize] += 1;
        }
    }
    let (train, train_layout) = TokenDataset::new(train_encoded, layout, alphabet.pad_id())?;
    let (valid, valid_layout) = match valid_encoded {
        Some(encoded) => {
            let (data, report) = TokenDataset::new(encoded, layout, alphabet.pad_id())?;
            (Some(data), Some(report))
        }
        None => (None, None),
    };
    // Conditional data: the label set is the training records' labels, sorted.
    let (train, valid, labels) = match options.read.label.is_some() || options.label_per_file {
        true => with_labels(train, valid, path, options.valid.as_deref())?,
        false => (train, valid, Vec::new()),
    };
    if train.is_empty() {
        return Err(Error::Setting {
            setting: crate::Setting::ShortRecords,
            message: format!(
                "{}: no training example: every record is shorter than the window of {seq_len}",
                path.display()
            ),
        });
    }
    let (train, reweighted) = match (&homologs, options.reweight) {
        (Some(weights), Some(theta)) => {
            let effective = train
                .records()
                .iter()
                .filter_map(|r| weights.get(base_id(&r.id)))
                .sum();
            (weigh_examples(train, weights), Some((theta, effective)))
        }
        _ => (train, None),
    };
    let split = split_description(options, valid.is_some(), split_clusters, split_skipped);
    let summary = DataSummary {
        path: file_path,
        format,
        records_read,
        empty_ids,
        low_quality,
        split,
        train_records: train.records().len(),
        valid_records: valid.as_ref().map_or(0, |v| v.records().len()),
        alphabet: alphabet.clone(),
        tokens_added,
        policy: options.policy,
        unknown,
        lengths: LengthStats::new(&lengths),
        layout,
        train_layout,
        valid_layout,
        train_examples: train.len(),
        valid_examples: valid.as_ref().map_or(0, TokenDataset::len),
        train_tokens: train.num_tokens(),
        valid_tokens: valid.as_ref().map_or(0, TokenDataset::num_tokens),
        composition,
        labels,
        reweighted,
        insertions_dropped,
    };
    Ok(PreparedData {
        alphabet,
        layout,
        train,
        valid,
        summary,
    })
}

/// Homolog weights of the training records by id ([`HomologWeights`]), which must be rows of
/// one alignment (aligned FASTA, or A2M/A3M with their insertions, lowercase letters and `.`,
/// left out of the comparison).
fn aligned_weights(file: &SequenceFile, theta: f64) -> Result<HashMap<String, f64>> {
    HomologWeights::check_theta(theta).map_err(|message| Error::Setting {
        setting: crate::Setting::Reweight,
        message,
    })?;
    let rows = match_columns(file).map_err(|message| Error::Setting {
        setting: crate::Setting::Reweight,
        message: format!("{message} (homolog reweighting needs aligned rows)"),
    })?;
    let refs: Vec<&[u8]> = rows.iter().map(Vec::as_slice).collect();
    let weights = HomologWeights::compute(&refs, theta);
    Ok(file
        .records
        .iter()
        .zip(weights.weights())
        .map(|(r, &w)| (r.id.clone(), w))
        .collect())
}

/// The match columns of each record of an alignment (aligned FASTA, or A2M/A3M with their
/// insertions, lowercase letters and `.`, dropped), in file order. A record whose row differs
/// in length from the first is an error message naming it.
pub fn match_columns(file: &SequenceFile) -> std::result::Result<Vec<Vec<u8>>, String> {
    let rows: Vec<Vec<u8>> = file
        .records
        .iter()
        .map(|r| {
            let mut row = r.sequence.clone();
            Insertions::Drop.apply(&mut row);
            row
        })
        .collect();
    let columns = rows.first().map_or(0, Vec::len);
    match rows.iter().enumerate().find(|(_, r)| r.len() != columns) {
        Some((i, row)) => Err(format!(
            "{}: this row has {} match columns, the first {columns}",
            file.location(&file.records[i]),
            row.len()
        )),
        None => Ok(rows),
    }
}

/// A record's id without the `:start-end` that splitting at unknown symbols appends.
fn base_id(id: &str) -> &str {
    match id.rsplit_once(':') {
        Some((base, range))
            if range.contains('-') && range.bytes().all(|b| b.is_ascii_digit() || b == b'-') =>
        {
            base
        }
        _ => id,
    }
}

/// Each example's weight: its record's, shared among the record's examples.
fn weigh_examples(train: TokenDataset, weights: &HashMap<String, f64>) -> TokenDataset {
    let mut per_record = vec![0usize; train.records().len()];
    for example in train.examples() {
        per_record[example.record as usize] += 1;
    }
    let example_weights = train
        .examples()
        .iter()
        .map(|e| {
            let record = &train.records()[e.record as usize];
            let weight = weights.get(base_id(&record.id)).copied().unwrap_or(1.0);
            weight / per_record[e.record as usize] as f64
        })
        .collect();
    train.with_example_weights(example_weights)
}

/// Both sets' records as tokens under the unknown-symbol `policy`, and what it did; an error
/// when no training record is left.
#[allow(clippy::type_complexity)]
fn encode_split(
    alphabet: &Alphabet,
    train_file: &SequenceFile,
    valid_file: Option<&SequenceFile>,
    policy: UnknownPolicy,
    path: &Path,
) -> Result<(
    Vec<EncodedRecord>,
    Option<Vec<EncodedRecord>>,
    UnknownReport,
)> {
    let (train_encoded, mut unknown) = encode_records(alphabet, train_file, policy)?;
    let (valid_encoded, valid_unknown) = match valid_file {
        Some(valid) => {
            let (encoded, report) = encode_records(alphabet, valid, policy)?;
            (Some(encoded), Some(report))
        }
        None => (None, None),
    };
    if let Some(valid_unknown) = &valid_unknown {
        unknown = unknown.merge(valid_unknown.clone());
    }
    if train_encoded.is_empty() {
        return Err(Error::Setting {
            setting: crate::Setting::NothingLeft,
            message: format!(
                "{}: no training sequence is left after the unknown-symbol policy {}",
                path.display(),
                policy
            ),
        });
    }
    Ok((train_encoded, valid_encoded, unknown))
}

/// The records read from the training files, split into training and validation ones.
struct ReadSplit {
    train: SequenceFile,
    valid: Option<SequenceFile>,
    clusters: Option<RecordClusters>,
    records_read: usize,
    empty_ids: Vec<String>,
    /// Rows a split column left out.
    split_skipped: usize,
}

/// Reads the training files (and the validation file, if any) and holds out the validation
/// records where there is no validation file.
fn read_and_split(
    path: &Path,
    options: &PrepareOptions,
    progress: Option<&ProgressBar>,
) -> Result<ReadSplit> {
    let paths: Vec<&Path> = std::iter::once(path)
        .chain(options.more_files.iter().map(PathBuf::as_path))
        .collect();
    let read_options = ReadOptions {
        split_column: options.split_by.as_ref().map(|by| by.column.clone()),
        ..options.read.clone()
    };
    let file = read_sequence_files(&paths, &read_options, options.label_per_file, progress)?;
    let records_read = file.records.len() + file.empty.len();
    let empty_ids: Vec<String> = file.empty.iter().map(|r| r.id.clone()).collect();
    let SequenceFile {
        path: file_path,
        format,
        records,
        empty,
        low_quality,
    } = file;
    let mut split_clusters = None;
    let mut split_skipped = 0;
    let (train_records, valid_file) = match (&options.valid, &options.split_by) {
        (_, Some(by)) => {
            let (train, valid, skipped) = by.split(&file_path, records)?;
            split_skipped = skipped;
            let valid = SequenceFile {
                path: file_path.clone(),
                format,
                records: valid,
                empty: Vec::new(),
                low_quality: 0,
            };
            (train, Some(valid))
        }
        (Some(valid_path), None) => {
            let valid = read_sequences(valid_path, &options.read, progress)?;
            (records, Some(valid))
        }
        (None, None) => {
            let (train, valid, clusters) = split_records_with_clusters(
                records,
                options.valid_fraction,
                options.split,
                options.seed,
            )?;
            split_clusters = clusters;
            let valid = (!valid.is_empty()).then(|| SequenceFile {
                path: file_path.clone(),
                format,
                records: valid,
                empty: Vec::new(),
                low_quality: 0,
            });
            (train, valid)
        }
    };
    let train = SequenceFile {
        path: file_path.clone(),
        format,
        records: train_records,
        empty,
        low_quality,
    };
    Ok(ReadSplit {
        train,
        valid: valid_file,
        clusters: split_clusters,
        records_read,
        empty_ids,
        split_skipped,
    })
}

/// Labels for the examples of a conditional data set: the training records' labels, sorted,
/// and how many training and validation examples carry each.
#[allow(clippy::type_complexity)]
fn with_labels(
    train: TokenDataset,
    valid: Option<TokenDataset>,
    path: &Path,
    valid_path: Option<&Path>,
) -> Result<(
    TokenDataset,
    Option<TokenDataset>,
    Vec<(String, usize, usize)>,
)> {
    let set: Vec<String> = train
        .records()
        .iter()
        .filter_map(|r| r.label.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let (train, valid) = numbered(train, valid, &set, path, valid_path)?;
    let count = |data: Option<&TokenDataset>, label: usize| {
        data.map_or(0, |d| {
            (0..d.len())
                .filter(|&i| d.example_label(i) == Some(label))
                .count()
        })
    };
    let labels = set
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), count(Some(&train), i), count(valid.as_ref(), i)))
        .collect();
    Ok((train, valid, labels))
}

/// The training and validation examples with their labels numbered in `labels`; a label
/// outside it is an error naming the record of `path` (or of `valid_path`, the validation
/// file when it is another).
fn numbered(
    train: TokenDataset,
    valid: Option<TokenDataset>,
    labels: &[String],
    path: &Path,
    valid_path: Option<&Path>,
) -> Result<(TokenDataset, Option<TokenDataset>)> {
    let train = train.with_labels(labels).map_err(|e| e.in_file(path))?;
    let valid = valid
        .map(|v| {
            let file = valid_path.unwrap_or(path);
            v.with_labels(labels)
                .map_err(|e| e.in_file(format!("{} (validation)", file.display())))
        })
        .transpose()?;
    Ok((train, valid))
}

/// How the validation examples were chosen, in words, for the summary.
fn split_description(
    options: &PrepareOptions,
    has_valid: bool,
    clusters: Option<RecordClusters>,
    skipped: usize,
) -> String {
    if let Some(by) = &options.split_by {
        let left_out = match skipped {
            0 => String::new(),
            n => format!(
                "; {} rows of {} left out",
                summary::thousands(n as u64),
                by.skip.join(", ")
            ),
        };
        return format!(
            "column {}: {} trains, {} validates{left_out}",
            by.column, by.train, by.valid
        );
    }
    match (&options.valid, has_valid) {
        (Some(valid_path), _) => format!("validation file {}", valid_path.display()),
        (None, false) => "none (all records train)".into(),
        (None, true) => format!(
            "{} {} of {} (seed {}){}",
            options.split,
            options.valid_fraction,
            if options.split == SplitMode::Region {
                "every record's length"
            } else {
                "records"
            },
            options.seed,
            clusters.map_or(String::new(), |c: RecordClusters| format!(
                "; {} clusters of records sharing an exact {}-mer, the largest {} records",
                summary::thousands(c.len() as u64),
                c.k(),
                summary::thousands(c.largest() as u64)
            ))
        ),
    }
}

/// Adds the tokens of the training records that the alphabet lacks (SMILES), most frequent
/// first (ties by text, so the order is deterministic), and freezes the vocabulary. Returns
/// the added tokens.
pub fn grow_vocabulary(alphabet: &mut Alphabet, records: &[SequenceRecord]) -> Vec<String> {
    if !alphabet.grows_vocabulary() {
        return Vec::new();
    }
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut count = |text: &[u8], spans: Vec<std::ops::Range<usize>>| {
        for span in spans {
            *counts
                .entry(String::from_utf8_lossy(&text[span]).into_owned())
                .or_default() += 1;
        }
    };
    // Records that do not tokenise (or convert) are reported when they are encoded.
    match alphabet.tokenizer() {
        TokenizerKind::Char => return Vec::new(),
        TokenizerKind::Smiles => {
            for record in records {
                if let Ok(spans) = smiles::token_spans(&record.sequence) {
                    count(&record.sequence, spans);
                }
            }
        }
        TokenizerKind::Selfies => {
            let converted: Vec<String> = records
                .par_iter()
                .filter_map(|r| encode::as_selfies(&r.sequence).ok())
                .collect();
            for text in &converted {
                if let Ok(spans) = crate::alphabet::selfies::symbol_spans(text) {
                    count(text.as_bytes(), spans);
                }
            }
        }
    }
    let mut new: Vec<(String, u64)> = counts
        .into_iter()
        .filter(|(token, _)| alphabet.id(token).is_none())
        .collect();
    new.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let new: Vec<String> = new.into_iter().map(|(token, _)| token).collect();
    alphabet.extend_and_freeze(new.iter().cloned());
    new
}
