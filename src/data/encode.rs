//! Text records -> token ids, with the user's policy for symbols outside the alphabet.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::{
    alphabet::{Alphabet, Symbol, TokenId, TokenizerKind},
    error::{quote_symbol, Error, Result},
    io::{SequenceFile, SequenceRecord},
};

/// What to do with a symbol outside the alphabet (DNA `N`, protein `X`, gaps...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownPolicy {
    /// Stop with an error naming the file, record, position and symbol.
    #[default]
    Error,
    /// Leave out every record that holds one.
    Skip,
    /// Cut the record at such symbols into fragments (genomes with runs of `N`).
    Split,
    /// Delete the symbols and keep the rest (alignment gaps).
    Strip,
}

crate::choices::named_choices!(UnknownPolicy, "policy", {
    Error => "error",
    Skip => "skip",
    Split => "split",
    Strip => "strip",
});

/// A record (or a fragment of one) as token ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRecord {
    /// The record id; fragments from `split` get `id:start-end` (1-based, inclusive).
    pub id: String,
    /// Token ids.
    pub tokens: Vec<TokenId>,
    /// The record's label (conditional training), as read.
    pub label: Option<String>,
}

/// What the unknown-symbol policy did, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnknownReport {
    /// Occurrences of each symbol outside the alphabet.
    pub symbols: BTreeMap<String, u64>,
    /// Records holding at least one such symbol.
    pub records_affected: usize,
    /// Records left out (`skip`, or SMILES that could not be tokenised under `skip`).
    pub records_skipped: usize,
    /// Fragments kept from records cut by `split`.
    pub fragments: usize,
    /// Symbols deleted (`split` and `strip`).
    pub symbols_removed: u64,
    /// Lowercase symbols folded to uppercase (soft-masked sequence).
    pub lowercase_folded: u64,
}

impl UnknownReport {
    /// One record skipped whole, for `why` (what the summary lists it under).
    fn skipped(why: &str) -> UnknownReport {
        let mut report = UnknownReport {
            records_affected: 1,
            records_skipped: 1,
            ..UnknownReport::default()
        };
        report.symbols.insert(why.to_string(), 1);
        report
    }

    /// Adds another report's counts to this one.
    pub(crate) fn merge(mut self, other: UnknownReport) -> UnknownReport {
        for (symbol, count) in other.symbols {
            *self.symbols.entry(symbol).or_default() += count;
        }
        self.records_affected += other.records_affected;
        self.records_skipped += other.records_skipped;
        self.fragments += other.fragments;
        self.symbols_removed += other.symbols_removed;
        self.lowercase_folded += other.lowercase_folded;
        self
    }
}

/// Encodes every record of `file` with `alphabet` under `policy`, in parallel.
///
/// ```
/// use seddbio::{alphabet::Alphabet, data::{encode_records, UnknownPolicy}, io::{SequenceFile, SequenceRecord, Format}};
///
/// let record = SequenceRecord { number: 1, line: None, id: "chr".into(), sequence: b"ACnnGT".to_vec(), label: None, split: None, source: None };
/// let file = SequenceFile { path: "g.fa".into(), format: Format::Fasta, records: vec![record], empty: vec![], low_quality: 0 };
/// let dna = Alphabet::builtin("dna").unwrap();
/// let (encoded, report) = encode_records(&dna, &file, UnknownPolicy::Split).unwrap();
/// assert_eq!(encoded[0].id, "chr:1-2");
/// assert_eq!(encoded[1].tokens, [2, 3]);
/// assert_eq!(report.symbols["N"], 2);
/// ```
pub fn encode_records(
    alphabet: &Alphabet,
    file: &SequenceFile,
    policy: UnknownPolicy,
) -> Result<(Vec<EncodedRecord>, UnknownReport)> {
    if matches!(
        alphabet.tokenizer(),
        TokenizerKind::Smiles | TokenizerKind::Selfies
    ) && matches!(policy, UnknownPolicy::Split | UnknownPolicy::Strip)
    {
        return Err(Error::Setting {
            setting: crate::Setting::UnknownPolicy,
            message: format!(
                "the unknown-symbol policy {policy} would cut molecules into invalid SMILES"
            ),
        });
    }
    let results: Vec<Result<(Vec<EncodedRecord>, UnknownReport)>> = file
        .records
        .par_iter()
        .map(|record| encode_record(alphabet, file, record, policy))
        .collect();
    let mut encoded = Vec::with_capacity(file.records.len());
    let mut report = UnknownReport::default();
    for result in results {
        let (records, record_report) = result?;
        encoded.extend(records);
        report = report.merge(record_report);
    }
    Ok((encoded, report))
}

/// One record of `file` as [`encode_records`] encodes it (none, or several fragments, as the
/// policy has it).
pub(crate) fn encode_record(
    alphabet: &Alphabet,
    file: &SequenceFile,
    record: &SequenceRecord,
    policy: UnknownPolicy,
) -> Result<(Vec<EncodedRecord>, UnknownReport)> {
    let mut report = UnknownReport::default();
    let text = match record_text(alphabet, file, record, policy)? {
        Some(text) => text,
        None => {
            return Ok((
                Vec::new(),
                UnknownReport::skipped("(SMILES with no SELFIES)"),
            ))
        }
    };
    let text: &[u8] = &text;
    if !alphabet.spec().case_sensitive {
        report.lowercase_folded = text.iter().filter(|b| b.is_ascii_lowercase()).count() as u64;
    }
    let symbols = match alphabet.symbols_of(text) {
        Ok(symbols) => symbols,
        Err(_) if policy == UnknownPolicy::Skip => {
            return Ok((Vec::new(), UnknownReport::skipped("(unparseable SMILES)")));
        }
        Err(e) => {
            return Err(Error::Smiles {
                location: file.location(record),
                position: e.offset + 1,
                message: e.message,
            })
        }
    };
    let mut fragments = vec![(0usize, Vec::with_capacity(symbols.len()))];
    for symbol in symbols {
        match symbol {
            Symbol::Known(id) => {
                let (_, tokens) = fragments.last_mut().expect("at least one fragment");
                tokens.push(id);
            }
            Symbol::Unknown { offset, len } => {
                let raw = &text[offset..offset + len];
                // Bytes that are not UTF-8 are counted and shown as bytes (`\xc3`), once per run.
                let (key, what) = match std::str::from_utf8(raw) {
                    Ok(shown) => {
                        let key = match alphabet.spec().case_sensitive {
                            true => shown.to_string(),
                            false => shown.to_ascii_uppercase(),
                        };
                        let what = alphabet.describe_unknown(&key);
                        (key, what)
                    }
                    Err(_) => {
                        let quoted = quote_symbol(raw);
                        let bytes = quoted.trim_matches('\'').to_string();
                        (bytes, "not UTF-8 text".to_string())
                    }
                };
                if policy == UnknownPolicy::Error {
                    return Err(Error::UnknownSymbol {
                        location: file.location(record),
                        position: char_position(text, offset),
                        symbol: quote_symbol(raw),
                        what,
                    });
                }
                *report.symbols.entry(key).or_default() += 1;
                if policy == UnknownPolicy::Split {
                    fragments.push((offset + len, Vec::new()));
                }
            }
        }
    }
    let unknown: u64 = report.symbols.values().sum();
    if unknown == 0 {
        let (_, tokens) = fragments.pop().expect("one fragment");
        let id = record.id.clone();
        let label = record.label.clone();
        return Ok((vec![EncodedRecord { id, tokens, label }], report));
    }
    report.records_affected = 1;
    match policy {
        UnknownPolicy::Error => unreachable!("returned at the first unknown symbol"),
        UnknownPolicy::Skip => {
            report.records_skipped = 1;
            Ok((Vec::new(), report))
        }
        UnknownPolicy::Strip => {
            report.symbols_removed = unknown;
            let (_, tokens) = fragments.pop().expect("one fragment");
            let id = record.id.clone();
            let label = record.label.clone();
            Ok((vec![EncodedRecord { id, tokens, label }], report))
        }
        UnknownPolicy::Split => {
            report.symbols_removed = unknown;
            let kept: Vec<EncodedRecord> = fragments
                .into_iter()
                .filter(|(_, tokens)| !tokens.is_empty())
                .map(|(start, tokens)| EncodedRecord {
                    // Char alphabets: one byte per token, so coordinates are byte offsets.
                    id: format!("{}:{}-{}", record.id, start + 1, start + tokens.len()),
                    tokens,
                    label: record.label.clone(),
                })
                .collect();
            report.fragments = kept.len();
            Ok((kept, report))
        }
    }
}

/// 1-based character position of a byte offset (input is ASCII except for garbage bytes).
/// The text a record is tokenised from: for a SELFIES alphabet its SELFIES (SMILES records
/// converted; docs/design.md, §14), else its sequence; `None` when a record with no SELFIES is
/// to be skipped.
fn record_text<'a>(
    alphabet: &Alphabet,
    file: &SequenceFile,
    record: &'a SequenceRecord,
    policy: UnknownPolicy,
) -> Result<Option<std::borrow::Cow<'a, [u8]>>> {
    if alphabet.tokenizer() != TokenizerKind::Selfies {
        return Ok(Some(std::borrow::Cow::Borrowed(&record.sequence)));
    }
    match as_selfies(&record.sequence) {
        Ok(selfies) => Ok(Some(std::borrow::Cow::Owned(selfies.into_bytes()))),
        Err(_) if policy == UnknownPolicy::Skip => Ok(None),
        Err(message) => Err(Error::Selfies {
            location: file.location(record),
            message,
        }),
    }
}

/// A record's text as SELFIES: itself when it is SELFIES, else its SMILES encoded; the
/// error in words.
pub(crate) fn as_selfies(text: &[u8]) -> std::result::Result<String, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not UTF-8 text".to_string())?;
    crate::alphabet::selfies::to_selfies(text)
        .map_err(|e| format!("this SMILES cannot be written as SELFIES: {e}"))
}

fn char_position(text: &[u8], offset: usize) -> usize {
    String::from_utf8_lossy(&text[..offset]).chars().count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::io::records_of as file;

    fn dna() -> Alphabet {
        Alphabet::builtin("dna").unwrap()
    }

    #[test]
    fn error_policy_names_record_position_and_symbol() {
        let err = encode_records(&dna(), &file(&["ACGT", "ACGRT"]), UnknownPolicy::Error)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "in.fa: record 2 (r2): position 4: 'R' is an ambiguity code for A/G"
        );
    }

    #[test]
    fn each_policy_reports_what_it_did() {
        let input = file(&["acgt", "AC--GT", "NNACNGTN"]);
        let (kept, report) = encode_records(&dna(), &input, UnknownPolicy::Skip).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!((report.records_affected, report.records_skipped), (2, 2));
        assert_eq!(report.lowercase_folded, 4);

        let (kept, report) = encode_records(&dna(), &input, UnknownPolicy::Strip).unwrap();
        assert_eq!(kept[1].tokens, [0, 1, 2, 3]);
        assert_eq!(kept[2].tokens, [0, 1, 2, 3]);
        assert_eq!(report.symbols_removed, 6);
        assert_eq!(report.symbols["-"], 2);
        assert_eq!(report.symbols["N"], 4);

        let (kept, report) = encode_records(&dna(), &input, UnknownPolicy::Split).unwrap();
        let ids: Vec<&str> = kept.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["r1", "r2:1-2", "r2:5-6", "r3:3-4", "r3:6-7"]);
        assert_eq!(report.fragments, 4);
        assert_eq!(report.records_affected, 2);
    }

    #[test]
    fn smiles_policies() {
        let smiles = Alphabet::builtin("smiles").unwrap();
        let input = file(&["CCO", "CC[Na+]", "C1CC(C"]);
        let err = encode_records(&smiles, &input, UnknownPolicy::Error).unwrap_err();
        assert!(
            err.to_string()
                .contains("record 2 (r2): position 3: '[Na+]'"),
            "{err}"
        );
        let err = encode_records(&smiles, &input, UnknownPolicy::Split).unwrap_err();
        assert!(err.to_string().contains("invalid SMILES"));
        let (kept, report) = encode_records(&smiles, &input, UnknownPolicy::Skip).unwrap();
        assert_eq!(kept.len(), 2, "an unbalanced branch is lexically fine");
        assert_eq!(report.records_skipped, 1);
        let err = encode_records(&smiles, &file(&["CC[NH3+"]), UnknownPolicy::Error).unwrap_err();
        assert_eq!(
            err.to_string(),
            "in.fa: record 1 (r1): position 3: '[' is never closed by ']'"
        );
    }
}
