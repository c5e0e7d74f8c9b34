//! The summary `data inspect` prints: what was read and what preparation did to it.

use std::{fmt, path::PathBuf};

use super::{encode::UnknownPolicy, layout::Layout, LayoutKind, LayoutReport, UnknownReport};
use crate::{
    alphabet::{Alphabet, TokenId},
    io::Format,
};

/// Length statistics with an equal-width histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct LengthStats {
    /// Number of lengths.
    pub count: usize,
    /// Shortest.
    pub min: usize,
    /// Longest.
    pub max: usize,
    /// Mean.
    pub mean: f64,
    /// Median (lower middle for even counts).
    pub median: usize,
    /// `(low, high, count)` for each bin, both bounds inclusive.
    pub histogram: Vec<(usize, usize, usize)>,
}

impl LengthStats {
    /// Statistics of `lengths`, with at most 10 bins.
    ///
    /// ```
    /// use seddbio::data::LengthStats;
    ///
    /// let stats = LengthStats::new(&[10, 20, 20, 30]);
    /// assert_eq!((stats.min, stats.median, stats.max), (10, 20, 30));
    /// assert_eq!(stats.histogram.iter().map(|b| b.2).sum::<usize>(), 4);
    /// ```
    pub fn new(lengths: &[usize]) -> LengthStats {
        let mut sorted = lengths.to_vec();
        sorted.sort_unstable();
        let (min, max) = match (sorted.first(), sorted.last()) {
            (Some(&min), Some(&max)) => (min, max),
            _ => (0, 0),
        };
        let median = sorted
            .get(sorted.len().saturating_sub(1) / 2)
            .copied()
            .unwrap_or(0);
        let mean = if sorted.is_empty() {
            0.0
        } else {
            sorted.iter().sum::<usize>() as f64 / sorted.len() as f64
        };
        let bins = (max - min + 1).min(10);
        let width = (max - min + 1).div_ceil(bins.max(1));
        let mut histogram: Vec<(usize, usize, usize)> = (0..bins)
            .map(|b| (min + b * width, (min + (b + 1) * width - 1).min(max), 0))
            .collect();
        for &length in &sorted {
            histogram[(length - min) / width].2 += 1;
        }
        histogram.retain(|bin| bin.0 <= max);
        LengthStats {
            count: sorted.len(),
            min,
            max,
            mean,
            median,
            histogram,
        }
    }
}

/// Everything `prepare` read and did; `Display` renders the table `data inspect` prints.
#[derive(Debug, Clone)]
pub struct DataSummary {
    /// The input file.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// Records in the file, empty ones included.
    pub records_read: usize,
    /// Ids of records with an empty sequence (not used).
    pub empty_ids: Vec<String>,
    /// FASTQ reads left out for a mean quality below `--min-mean-quality` (not in
    /// `records_read`).
    pub low_quality: usize,
    /// How validation data was chosen.
    pub split: String,
    /// Encoded training records (fragments count separately).
    pub train_records: usize,
    /// Encoded validation records.
    pub valid_records: usize,
    /// The resolved alphabet.
    pub alphabet: Alphabet,
    /// Tokens the training data added to the vocabulary (SMILES).
    pub tokens_added: Vec<String>,
    /// The unknown-symbol policy.
    pub policy: UnknownPolicy,
    /// What it did (training and validation together).
    pub unknown: UnknownReport,
    /// Lengths in tokens of the encoded records (training and validation).
    pub lengths: LengthStats,
    /// The layout.
    pub layout: Layout,
    /// What laying out the training records did.
    pub train_layout: LayoutReport,
    /// What laying out the validation records did.
    pub valid_layout: Option<LayoutReport>,
    /// Training examples.
    pub train_examples: usize,
    /// Validation examples.
    pub valid_examples: usize,
    /// Real tokens in training examples.
    pub train_tokens: u64,
    /// Real tokens in validation examples.
    pub valid_tokens: u64,
    /// Count of each token id in the training records.
    pub composition: Vec<u64>,
    /// Conditional data: each label with its training and validation examples.
    pub labels: Vec<(String, usize, usize)>,
    /// Homolog reweighting: theta, and the effective number of training sequences.
    pub reweighted: Option<(f64, f64)>,
    /// A2M/A3M insertion symbols dropped when read.
    pub insertions_dropped: usize,
}

/// `n` with commas between groups of three digits, as the summaries print counts.
///
/// ```
/// assert_eq!(seddbio::data::thousands(5028), "5,028");
/// assert_eq!(seddbio::data::thousands(202), "202");
/// ```
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl DataSummary {
    /// The summary as one JSON object (`data inspect --json`), for pipelines: the same figures
    /// as the text, with the composition as fractions per symbol.
    ///
    /// ```
    /// use seddbio::{alphabet::Alphabet, data::{prepare, PrepareOptions}};
    ///
    /// let path = std::env::temp_dir().join(format!("seddbio-doc-{}-json.fa", std::process::id()));
    /// std::fs::write(&path, ">a\nACGTACGT\n>b\nACGT\n").unwrap();
    /// let options = PrepareOptions { valid_fraction: 0.0, ..PrepareOptions::default() };
    /// let data = prepare(&path, Alphabet::builtin("dna").unwrap(), &options, None).unwrap();
    /// let json = data.summary.to_json();
    /// assert_eq!(json["records"], 2);
    /// assert_eq!(json["composition"]["G"], 0.25);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let total: u64 = self.composition.iter().sum();
        let composition: serde_json::Map<String, serde_json::Value> = self
            .composition
            .iter()
            .enumerate()
            .filter_map(|(id, &count)| {
                let symbol = self.alphabet.token(id as TokenId)?;
                Some((
                    symbol.to_string(),
                    (count as f64 / total.max(1) as f64).into(),
                ))
            })
            .collect();
        serde_json::json!({
            "file": self.path.display().to_string(),
            "format": self.format.to_string(),
            "records": self.records_read,
            "empty_records": self.empty_ids.len(),
            "low_quality_reads_left_out": self.low_quality,
            "alphabet": self.alphabet.name(),
            "tokens": self.alphabet.len(),
            "tokens_added": self.tokens_added,
            "unknown_policy": self.policy.to_string(),
            "unknown_symbols": self.unknown.symbols,
            "records_with_unknown_symbols": self.unknown.records_affected,
            "records_skipped": self.unknown.records_skipped,
            "lengths": {
                "count": self.lengths.count,
                "min": self.lengths.min,
                "median": self.lengths.median,
                "mean": self.lengths.mean,
                "max": self.lengths.max,
            },
            "layout": self.layout.kind.to_string(),
            "seq_len": self.layout.seq_len,
            "split": self.split,
            "train": {
                "records": self.train_records,
                "examples": self.train_examples,
                "tokens": self.train_tokens,
            },
            "valid": {
                "records": self.valid_records,
                "examples": self.valid_examples,
                "tokens": self.valid_tokens,
            },
            "composition": composition,
            "labels": self.labels.iter().map(|(label, train, valid)| {
                serde_json::json!({"label": label, "train_examples": train, "valid_examples": valid})
            }).collect::<Vec<_>>(),
            "reweight_theta": self.reweighted.map(|(theta, _)| theta),
            "effective_sequences": self.reweighted.map(|(_, effective)| effective),
            "insertions_dropped": self.insertions_dropped,
        })
    }
}

impl DataSummary {
    /// Records read, with the empty and low-quality ones left out.
    fn records_line(&self) -> String {
        let empty = match self.empty_ids.len() {
            0 => String::new(),
            n => format!(
                "; {n} with an empty sequence, not used: {}{}",
                self.empty_ids
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                if n > 5 { ", ..." } else { "" }
            ),
        };
        let low_quality = match self.low_quality {
            0 => String::new(),
            n => format!(
                "; {} reads below the minimum mean quality left out",
                thousands(n as u64)
            ),
        };
        format!(
            "{}{empty}{low_quality}",
            thousands(self.records_read as u64)
        )
    }

    /// The vocabulary, with the tokens the training data added.
    fn alphabet_line(&self) -> String {
        let alphabet = &self.alphabet;
        let mut vocabulary = format!(
            "{} ({} tokens: {} symbols{})",
            alphabet.name(),
            alphabet.len(),
            alphabet.num_symbols(),
            if alphabet.pad_id().is_some() {
                " + pad"
            } else {
                ""
            }
        );
        if !self.tokens_added.is_empty() {
            let shown: Vec<&str> = self
                .tokens_added
                .iter()
                .take(20)
                .map(String::as_str)
                .collect();
            vocabulary.push_str(&format!(
                "; {} added from the training data: {}{}",
                self.tokens_added.len(),
                shown.join(" "),
                if self.tokens_added.len() > 20 {
                    " ..."
                } else {
                    ""
                }
            ));
        }
        vocabulary
    }

    /// The symbols outside the alphabet and what the policy did with them.
    fn unknown_line(&self) -> String {
        let u = &self.unknown;
        if u.symbols.is_empty() {
            return format!("none (policy {})", self.policy);
        }
        let symbols: Vec<String> = u
            .symbols
            .iter()
            .map(|(s, n)| format!("{s} x{}", thousands(*n)))
            .collect();
        let action = match self.policy {
            UnknownPolicy::Error => String::new(),
            UnknownPolicy::Skip => format!("{} records skipped", u.records_skipped),
            UnknownPolicy::Split => format!(
                "{} records split into {} fragments, {} symbols removed",
                thousands(u.records_affected as u64),
                thousands(u.fragments as u64),
                thousands(u.symbols_removed)
            ),
            UnknownPolicy::Strip => format!(
                "{} symbols stripped from {} records",
                thousands(u.symbols_removed),
                thousands(u.records_affected as u64)
            ),
        };
        format!("{} (policy {}: {action})", symbols.join(", "), self.policy)
    }

    /// The length statistics and their histogram, a line per bin.
    fn write_lengths(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.lengths;
        writeln!(
            f,
            "{:<18}{} sequences: min {} / median {} / mean {:.1} / max {}",
            "lengths (tokens)",
            thousands(l.count as u64),
            l.min,
            l.median,
            l.mean,
            l.max
        )?;
        let peak = l.histogram.iter().map(|b| b.2).max().unwrap_or(1).max(1);
        for &(low, high, count) in &l.histogram {
            let bar = "#".repeat((count * 40).div_ceil(peak));
            let range = if low == high {
                format!("{low}")
            } else {
                format!("{low}-{high}")
            };
            writeln!(
                f,
                "{:<18}{range:>17} {:>9} {bar}",
                "",
                thousands(count as u64)
            )?;
        }
        Ok(())
    }

    /// The layout, then a line per set: records, examples, tokens and what the layout left.
    fn write_sets(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layout = &self.layout;
        let layout_text = match layout.kind {
            LayoutKind::Windows => format!(
                "windows of {} tokens, stride {}",
                layout.seq_len, layout.stride
            ),
            LayoutKind::Padded => format!(
                "records padded to {} tokens (longer: {})",
                layout.seq_len, layout.too_long
            ),
        };
        writeln!(f, "{:<18}{layout_text}", "layout")?;
        let mut sets = vec![(
            "train",
            self.train_records,
            self.train_examples,
            self.train_tokens,
            &self.train_layout,
        )];
        if let Some(valid_layout) = &self.valid_layout {
            sets.push((
                "validation",
                self.valid_records,
                self.valid_examples,
                self.valid_tokens,
                valid_layout,
            ));
        }
        for (name, records, examples, tokens, report) in sets {
            let notes: Vec<String> = [
                (
                    report.shorter_than_window as u64,
                    "records shorter than a window not used",
                ),
                (report.tokens_not_covered, "tokens past the last window"),
                (report.too_long_skipped as u64, "too-long records skipped"),
                (report.too_long_windowed as u64, "too-long records windowed"),
                (report.pad_tokens, "pad tokens"),
            ]
            .into_iter()
            .filter(|&(count, _)| count > 0)
            .map(|(count, what)| format!("{} {what}", thousands(count)))
            .collect();
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            };
            writeln!(
                f,
                "{name:<18}{} records -> {} examples, {} tokens{notes}",
                thousands(records as u64),
                thousands(examples as u64),
                thousands(tokens)
            )?;
        }
        Ok(())
    }

    /// The 25 most frequent tokens with their share of `total`.
    fn composition_line(&self, total: u64) -> String {
        let mut composition: Vec<(TokenId, u64)> = self
            .composition
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(id, &n)| (id as TokenId, n))
            .collect();
        composition.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        let shown: Vec<String> = composition
            .iter()
            .take(25)
            .map(|&(id, n)| {
                format!(
                    "{} {:.1}%",
                    self.alphabet.token(id).unwrap_or("?"),
                    100.0 * n as f64 / total as f64
                )
            })
            .collect();
        shown.join("  ")
    }
}

impl fmt::Display for DataSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row =
            |f: &mut fmt::Formatter<'_>, key: &str, value: String| writeln!(f, "{key:<18}{value}");
        let alphabet = &self.alphabet;
        row(
            f,
            "file",
            format!("{} ({})", self.path.display(), self.format),
        )?;
        row(f, "records", self.records_line())?;
        row(f, "alphabet", self.alphabet_line())?;
        row(f, "unknown symbols", self.unknown_line())?;
        if self.unknown.lowercase_folded > 0 {
            row(
                f,
                "lowercase folded",
                thousands(self.unknown.lowercase_folded),
            )?;
        }
        row(f, "split", self.split.clone())?;
        if self.insertions_dropped > 0 {
            row(
                f,
                "insertions",
                format!(
                    "{} symbols dropped (lowercase letters and '.')",
                    thousands(self.insertions_dropped as u64)
                ),
            )?;
        }
        if let Some((theta, effective)) = self.reweighted {
            row(
                f,
                "reweighted",
                format!(
                    "{effective:.1} effective of {} training sequences (neighbours at identity >= {:.2} share a weight of 1)",
                    thousands(self.train_records as u64),
                    1.0 - theta
                ),
            )?;
        }
        self.write_lengths(f)?;
        self.write_sets(f)?;
        let total: u64 = self.composition.iter().sum::<u64>().max(1);
        row(f, "composition", self.composition_line(total))?;
        if !self.labels.is_empty() {
            let shown: Vec<String> = self
                .labels
                .iter()
                .map(|(label, train, valid)| {
                    format!(
                        "{label} {} / {}",
                        thousands(*train as u64),
                        thousands(*valid as u64)
                    )
                })
                .collect();
            row(
                f,
                "labels",
                format!("{} (train / validation examples)", shown.join(", ")),
            )?;
        }
        if let (Some(g), Some(c)) = (alphabet.id("G"), alphabet.id("C")) {
            if alphabet.tokenizer() == crate::alphabet::TokenizerKind::Char
                && alphabet.num_symbols() == 4
            {
                let gc = self.composition[g as usize] + self.composition[c as usize];
                row(
                    f,
                    "GC content",
                    format!("{:.2}%", 100.0 * gc as f64 / total as f64),
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bins_cover_every_length_once() {
        let lengths: Vec<usize> = (8..=253).collect();
        let stats = LengthStats::new(&lengths);
        assert_eq!(stats.histogram.len(), 10);
        assert_eq!(stats.histogram[0].0, 8);
        assert_eq!(stats.histogram.last().unwrap().1, 253);
        assert_eq!(
            stats.histogram.iter().map(|b| b.2).sum::<usize>(),
            lengths.len()
        );
        let same = LengthStats::new(&[300; 5]);
        assert_eq!(same.histogram, [(300, 300, 5)]);
        assert_eq!(LengthStats::new(&[]).count, 0);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(1_584_663), "1,584,663");
        assert_eq!(thousands(999), "999");
    }
}
