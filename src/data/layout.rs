//! Encoded records -> fixed-length training examples: windows or padded records.

use super::encode::EncodedRecord;
use crate::{
    alphabet::{Alphabet, RecordExtent, TokenId, TokenizerKind},
    error::{Error, Result},
    io::OutputRecord,
};

/// How records are laid out into training examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayoutKind {
    /// Fixed-length windows with a stride over long records (genomes).
    #[default]
    Windows,
    /// Whole records, padded with the pad token up to a maximum length.
    Padded,
}

crate::choices::named_choices!(LayoutKind, "layout", {
    Windows => "windows",
    Padded => "padded",
});

impl LayoutKind {
    /// The layout for records of an alphabet when none is asked for: windows over long records,
    /// whole records padded.
    ///
    /// ```
    /// use seddbio::{alphabet::Alphabet, data::LayoutKind};
    ///
    /// let dna = Alphabet::builtin("dna").unwrap();
    /// let protein = Alphabet::builtin("protein").unwrap();
    /// assert_eq!(LayoutKind::default_for(&dna), LayoutKind::Windows);
    /// assert_eq!(LayoutKind::default_for(&protein), LayoutKind::Padded);
    /// ```
    pub fn default_for(alphabet: &Alphabet) -> LayoutKind {
        match alphabet.spec().records {
            RecordExtent::Long => LayoutKind::Windows,
            RecordExtent::Whole => LayoutKind::Padded,
        }
    }
}

/// What to do, in the padded layout, with a record longer than the sequence length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TooLong {
    /// Stop with an error naming the record.
    #[default]
    Error,
    /// Leave the record out (counted in the summary).
    Skip,
    /// Cut the record into windows of the sequence length (the last one padded).
    Window,
}

crate::choices::named_choices!(TooLong, "choice", {
    Error => "error",
    Skip => "skip",
    Window => "window",
});

/// How records become examples of exactly `seq_len` tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Windows or padded records.
    pub kind: LayoutKind,
    /// Tokens per example.
    pub seq_len: usize,
    /// Step between window starts (windows layout, and padded records cut by `TooLong::Window`).
    pub stride: usize,
    /// Padded layout: records longer than `seq_len`.
    pub too_long: TooLong,
}

/// One example: `len` tokens of record `record` from `start`, then padding up to `seq_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    /// Index into the dataset's records.
    pub record: u32,
    /// 0-based start in the record.
    pub start: u32,
    /// Real tokens; the rest of the example is padding.
    pub len: u32,
}

/// What laying out the records did, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayoutReport {
    /// Records that produced no example because they are shorter than a window.
    pub shorter_than_window: usize,
    /// Tokens at record ends that no window covers.
    pub tokens_not_covered: u64,
    /// Records longer than `seq_len` left out (`TooLong::Skip`).
    pub too_long_skipped: usize,
    /// Records longer than `seq_len` cut into windows (`TooLong::Window`).
    pub too_long_windowed: usize,
    /// Pad tokens in all examples.
    pub pad_tokens: u64,
}

/// Encoded records plus the examples cut from them. Examples are materialised on demand, so
/// overlapping windows and long padded lengths cost no memory.
///
/// ```
/// use seddbio::data::{EncodedRecord, Layout, LayoutKind, TokenDataset, TooLong};
///
/// let records = vec![EncodedRecord { id: "g".into(), tokens: vec![0, 1, 2, 3, 0, 1, 2], label: None }];
/// let layout = Layout { kind: LayoutKind::Windows, seq_len: 4, stride: 2, too_long: TooLong::Error };
/// let (data, report) = TokenDataset::new(records, layout, None).unwrap();
/// assert_eq!(data.len(), 2);
/// assert_eq!(data.example(1), [2, 3, 0, 1]);
/// assert_eq!(report.tokens_not_covered, 1);
/// ```
#[derive(Debug, Clone)]
pub struct TokenDataset {
    records: Vec<EncodedRecord>,
    examples: Vec<Example>,
    seq_len: usize,
    pad: Option<TokenId>,
    /// The label set of a conditional dataset (empty otherwise) and each record's index in it.
    labels: Vec<String>,
    record_labels: Vec<u32>,
    /// Homolog weights of the examples, when reweighted (docs/design.md, §16).
    example_weights: Option<Vec<f64>>,
}

impl TokenDataset {
    /// Lays `records` out; `pad` must be given for the padded layout.
    pub fn new(
        records: Vec<EncodedRecord>,
        layout: Layout,
        pad: Option<TokenId>,
    ) -> Result<(TokenDataset, LayoutReport)> {
        let Layout {
            kind,
            seq_len,
            stride,
            too_long,
        } = layout;
        if seq_len == 0 || stride == 0 {
            return Err(Error::Setting {
                setting: crate::Setting::Length,
                message: "the sequence length and the window stride must be at least 1".into(),
            });
        }
        if kind == LayoutKind::Padded && pad.is_none() {
            return Err(Error::PadMissing);
        }
        let mut report = LayoutReport::default();
        let mut examples = Vec::new();
        for (index, record) in records.iter().enumerate() {
            let n = record.tokens.len();
            let windows = |examples: &mut Vec<Example>, pad_tail: bool| {
                let mut start = 0;
                let mut covered = 0;
                while start + seq_len <= n {
                    examples.push(example(index, start, seq_len));
                    covered = start + seq_len;
                    start += stride;
                }
                if pad_tail && covered < n {
                    // The tokens after the last full window become one last padded example.
                    examples.push(example(index, covered, n - covered));
                    covered = n;
                }
                covered
            };
            match kind {
                LayoutKind::Windows => {
                    if n < seq_len {
                        report.shorter_than_window += 1;
                        report.tokens_not_covered += n as u64;
                        continue;
                    }
                    let covered = windows(&mut examples, false);
                    report.tokens_not_covered += (n - covered) as u64;
                }
                LayoutKind::Padded if n <= seq_len => {
                    examples.push(example(index, 0, n));
                }
                LayoutKind::Padded => match too_long {
                    TooLong::Error => {
                        return Err(Error::Setting {
                            setting: crate::Setting::TooLong,
                            message: format!(
                                "record {} ({}) has {n} tokens, more than the sequence length {seq_len}",
                                index + 1,
                                record.id
                            ),
                        })
                    }
                    TooLong::Skip => report.too_long_skipped += 1,
                    TooLong::Window => {
                        report.too_long_windowed += 1;
                        windows(&mut examples, true);
                    }
                },
            }
        }
        report.pad_tokens = examples
            .iter()
            .map(|e| (seq_len - e.len as usize) as u64)
            .sum();
        Ok((
            TokenDataset {
                records,
                examples,
                seq_len,
                pad,
                labels: Vec::new(),
                record_labels: Vec::new(),
                example_weights: None,
            },
            report,
        ))
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Tokens per example.
    pub fn seq_len(&self) -> usize {
        self.seq_len
    }

    /// The encoded records the examples come from.
    pub fn records(&self) -> &[EncodedRecord] {
        &self.records
    }

    /// Where each example comes from.
    pub fn examples(&self) -> &[Example] {
        &self.examples
    }

    /// Example `i` as exactly `seq_len` token ids (padded at the end).
    pub fn example(&self, i: usize) -> Vec<TokenId> {
        let mut out = Vec::with_capacity(self.seq_len);
        self.extend_with_example(i, &mut out);
        out
    }

    /// Appends example `i` to `out` (for assembling batches without reallocating).
    pub fn extend_with_example(&self, i: usize, out: &mut Vec<TokenId>) {
        let e = self.examples[i];
        let tokens = &self.records[e.record as usize].tokens;
        let start = e.start as usize;
        out.extend_from_slice(&tokens[start..start + e.len as usize]);
        // `pad` is present whenever an example is shorter than seq_len (checked in `new`).
        let pad = self.pad.unwrap_or_default();
        out.extend(std::iter::repeat_n(pad, self.seq_len - e.len as usize));
    }

    /// The dataset with every record's label looked up in `labels` (the label set of a
    /// conditional model, in index order). A record without a label or with one outside the
    /// set is an error naming it.
    ///
    /// ```
    /// use seddbio::data::{EncodedRecord, Layout, LayoutKind, TokenDataset, TooLong};
    ///
    /// let record = |id: &str, label: &str| EncodedRecord { id: id.into(), tokens: vec![0, 1], label: Some(label.into()) };
    /// let layout = Layout { kind: LayoutKind::Windows, seq_len: 2, stride: 2, too_long: TooLong::Error };
    /// let (data, _) = TokenDataset::new(vec![record("a", "K562"), record("b", "HepG2")], layout, None).unwrap();
    /// let labels = vec!["HepG2".to_string(), "K562".to_string()];
    /// let data = data.with_labels(&labels).unwrap();
    /// assert_eq!((data.example_label(0), data.example_label(1)), (Some(1), Some(0)));
    /// let (other, _) = TokenDataset::new(vec![record("c", "GM12878")], layout, None).unwrap();
    /// let error = other.with_labels(&labels).unwrap_err().to_string();
    /// assert!(error.contains("record 1 (c): label 'GM12878' is not one of the model's labels"), "{error}");
    /// ```
    pub fn with_labels(mut self, labels: &[String]) -> Result<TokenDataset> {
        let record_labels = self
            .records
            .iter()
            .enumerate()
            .map(|(i, record)| {
                let error = |message: String| Error::Label {
                    file: None,
                    record: i + 1,
                    id: record.id.clone(),
                    message,
                };
                let Some(label) = &record.label else {
                    return Err(error("no label".into()));
                };
                labels
                    .iter()
                    .position(|l| l == label)
                    .map(|p| p as u32)
                    .ok_or_else(|| {
                        error(format!(
                            "label '{label}' is not one of the model's labels ({})",
                            labels.join(", ")
                        ))
                    })
            })
            .collect::<Result<Vec<u32>>>()?;
        self.labels = labels.to_vec();
        self.record_labels = record_labels;
        Ok(self)
    }

    /// The dataset with a weight per example, by which training draws its batches.
    pub fn with_example_weights(mut self, weights: Vec<f64>) -> TokenDataset {
        debug_assert_eq!(weights.len(), self.examples.len());
        self.example_weights = Some(weights);
        self
    }

    /// The examples' weights, when reweighted.
    pub fn example_weights(&self) -> Option<&[f64]> {
        self.example_weights.as_deref()
    }

    /// The label set (empty for an unconditional dataset).
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The label index of example `i`, if the dataset has labels.
    pub fn example_label(&self, i: usize) -> Option<usize> {
        let record = self.examples[i].record as usize;
        self.record_labels.get(record).map(|&l| l as usize)
    }

    /// The examples as output records, pads stripped: ids `{split}_N`, metadata `split`,
    /// `source` (the record's id), `start` (1-based) and `length` (what `data export` writes).
    pub fn output_records(&self, alphabet: &Alphabet, split: &str) -> Vec<OutputRecord> {
        self.examples
            .iter()
            .enumerate()
            .map(|(i, example)| {
                let source = &self.records[example.record as usize];
                let text = alphabet.decode(&self.example(i));
                let mut metadata = vec![
                    ("split".into(), split.into()),
                    ("source".into(), source.id.clone()),
                    ("start".into(), (example.start + 1).to_string()),
                    ("length".into(), example.len.to_string()),
                ];
                // SELFIES examples are written as the SMILES they decode to, SELFIES beside.
                let sequence = match alphabet.tokenizer() {
                    TokenizerKind::Selfies => {
                        let smiles = crate::chem::selfies_smiles(&text).unwrap_or_default();
                        metadata.push(("selfies".into(), text));
                        smiles
                    }
                    _ => text,
                };
                OutputRecord {
                    id: format!("{split}_{}", i + 1),
                    sequence,
                    metadata,
                }
            })
            .collect()
    }

    /// Real (non-pad) tokens over all examples.
    pub fn num_tokens(&self) -> u64 {
        self.examples.iter().map(|e| e.len as u64).sum()
    }
}

fn example(record: usize, start: usize, len: usize) -> Example {
    Example {
        record: record as u32,
        start: start as u32,
        len: len as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(lengths: &[usize]) -> Vec<EncodedRecord> {
        lengths
            .iter()
            .enumerate()
            .map(|(i, &n)| EncodedRecord {
                id: format!("r{i}"),
                tokens: (0..n).map(|t| (t % 4) as TokenId).collect(),
                label: None,
            })
            .collect()
    }

    fn layout(kind: LayoutKind, seq_len: usize, stride: usize, too_long: TooLong) -> Layout {
        Layout {
            kind,
            seq_len,
            stride,
            too_long,
        }
    }

    #[test]
    fn windows_cover_records_with_stride_and_report_the_rest() {
        let (data, report) = TokenDataset::new(
            records(&[10, 3]),
            layout(LayoutKind::Windows, 4, 3, TooLong::Error),
            None,
        )
        .unwrap();
        let starts: Vec<u32> = data.examples().iter().map(|e| e.start).collect();
        assert_eq!(starts, [0, 3, 6]);
        assert_eq!(report.shorter_than_window, 1);
        assert_eq!(report.tokens_not_covered, 3);
        assert_eq!(data.example(2), [2, 3, 0, 1]);
    }

    #[test]
    fn padded_records_and_each_too_long_choice() {
        let input = records(&[2, 5]);
        let padded = |too_long| {
            TokenDataset::new(
                input.clone(),
                layout(LayoutKind::Padded, 3, 3, too_long),
                Some(9),
            )
        };
        let err = padded(TooLong::Error).unwrap_err().to_string();
        assert!(err.contains("record 2 (r1) has 5 tokens"), "{err}");
        let (data, report) = padded(TooLong::Skip).unwrap();
        assert_eq!((data.len(), report.too_long_skipped), (1, 1));
        assert_eq!(data.example(0), [0, 1, 9]);
        let (data, report) = padded(TooLong::Window).unwrap();
        assert_eq!(data.len(), 3);
        assert_eq!(data.example(2), [3, 0, 9]);
        assert_eq!(report.pad_tokens, 2);
        assert_eq!(data.num_tokens(), 7);
    }

    #[test]
    fn windowed_tails_never_repeat_or_vanish() {
        // Stride larger than the window: the tail starts after the last window.
        let (data, _) = TokenDataset::new(
            records(&[10]),
            layout(LayoutKind::Padded, 3, 5, TooLong::Window),
            Some(9),
        )
        .unwrap();
        let spans: Vec<(u32, u32)> = data.examples().iter().map(|e| (e.start, e.len)).collect();
        assert_eq!(spans, [(0, 3), (5, 3), (8, 2)]);
    }
}
