//! Variant effects: mutations of a wild type (`H24A`, `H24A:P25G`) read from a list or a
//! deep-mutational-scan table, checked against the wild type, and scored under a trained
//! model by masked marginals or ELBO differences (docs/design.md, §16).
//!
//! ```
//! use seddbio::variant::Variant;
//!
//! let variant = Variant::parse("K2R", 1).unwrap();
//! assert_eq!(variant.apply("MKTAYIA").unwrap(), "MRTAYIA");
//! ```

mod estimate;
mod mutation;
mod placement;
mod table;

use std::{io::BufRead, path::Path};

pub(crate) use self::table::MutationTable;
pub use self::{
    estimate::{score_mutants, Estimator, VariantScore, VariantScoring},
    mutation::{MutationError, Substitution, Variant},
    placement::Placement,
    table::VARIANT_COLUMNS,
};
use crate::{
    alphabet::{Alphabet, TokenId},
    io::{read_sequences, ReadOptions},
    run::TrainedModel,
    Error, Result,
};

/// A variant as read: the line it was on, and the variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadVariant {
    /// The 1-based line of the file.
    pub line: usize,
    /// The variant.
    pub variant: Variant,
}

/// Reads variants from `path`: one mutation per line (blank lines and `#` comments skipped),
/// or a CSV/TSV table with a header, the mutations in `column` (by default the first of
/// [`VARIANT_COLUMNS`] it has). Positions are numbered so that `offset` is the wild type's
/// first residue. A string that is no mutation is an error naming its line.
pub fn read_variants(path: &Path, column: Option<&str>, offset: i64) -> Result<Vec<ReadVariant>> {
    let lines: Vec<(usize, String)> = crate::io::open_text(path)?
        .lines()
        .enumerate()
        .map(|(i, line)| {
            line.map(|l| (i + 1, l))
                .map_err(|e| crate::io::read_error(path, e, format!(" at line {}", i + 1)))
        })
        .collect::<Result<_>>()?;
    let content = |l: &&(usize, String)| {
        let t = l.1.trim();
        !t.is_empty() && !t.starts_with('#')
    };
    let first = lines.iter().find(content);
    let is_list = column.is_none()
        && first
            .is_some_and(|(_, l)| !l.contains([',', '\t']) && Variant::parse(l, offset).is_ok());
    let texts: Vec<(usize, String)> = match is_list {
        true => lines.iter().filter(content).cloned().collect(),
        false => MutationTable::open(path, column)?
            .rows(None)?
            .into_iter()
            .map(|row| (row.line, row.mutation))
            .collect(),
    };
    texts
        .into_iter()
        .map(|(line, text)| {
            Variant::parse(&text, offset)
                .map(|variant| ReadVariant { line, variant })
                .map_err(|source| Error::Variant {
                    path: path.to_path_buf(),
                    line,
                    variant: text.trim().to_string(),
                    source,
                })
        })
        .collect()
}

/// The wild type: the only record of a sequence file, or the sequence itself when `text` is
/// no file. Returns its name and letters.
pub fn read_wild_type(text: &str) -> Result<(String, String)> {
    let path = Path::new(text);
    if !path.is_file() {
        return Ok(("wild type".to_string(), text.trim().to_string()));
    }
    let file = read_sequences(path, &ReadOptions::default(), None)?;
    match file.records.as_slice() {
        [record] => Ok((
            format!("{}: record 1 ({})", path.display(), record.id),
            String::from_utf8_lossy(&record.sequence).into_owned(),
        )),
        records => Err(Error::WildType {
            origin: path.display().to_string(),
            message: format!("holds {} sequences; give a file with one", records.len()),
        }),
    }
}

/// The wild type and the variants to score, as tokens of a model's alphabet.
#[derive(Debug, Clone)]
pub struct PreparedVariants {
    /// The wild type's tokens.
    pub wild: Vec<TokenId>,
    /// The variants kept, with their mutant's tokens.
    pub variants: Vec<(ReadVariant, Vec<TokenId>)>,
    /// Variants left out because a position lies outside the wild type (only when asked).
    pub out_of_range: usize,
}

impl PreparedVariants {
    /// The variants whose every mutated residue sits on a match column of an alignment;
    /// another is an error naming its line of `path`, or, with `skip`, left out and counted
    /// in [`PreparedVariants::out_of_range`]. Returns the first and last placed residues.
    pub fn keep_placed(
        &mut self,
        placement: &Placement,
        path: &Path,
        skip: bool,
    ) -> Result<(usize, usize)> {
        let Some((first, last)) = placement.span() else {
            return Err(Error::WildType {
                origin: path.display().to_string(),
                message: "no residue of the wild type aligns to a match column".into(),
            });
        };
        for (read, mutant) in std::mem::take(&mut self.variants) {
            let offset = read.variant.offset();
            let off = read
                .variant
                .substitutions()
                .iter()
                .find(|s| placement.column(s.position()).is_none());
            match off {
                None => self.variants.push((read, mutant)),
                Some(_) if skip => self.out_of_range += 1,
                Some(s) => {
                    return Err(Error::Variant {
                        path: path.to_path_buf(),
                        line: read.line,
                        variant: read.variant.name().to_string(),
                        source: MutationError::OffAlignment {
                            position: s.position() as i64 + offset,
                            first: first as i64 + offset,
                            last: last as i64 + offset,
                        },
                    })
                }
            }
        }
        Ok((first, last))
    }
}

impl PreparedVariants {
    /// The wild type and every mutant cut down to their residues on match columns, in column
    /// order: the sequences a model trained on the alignment's rows (gaps stripped) saw. Call
    /// after [`PreparedVariants::keep_placed`], which keeps only mutations of such residues.
    pub fn onto_columns(&mut self, placement: &Placement) {
        let placed = |tokens: &[TokenId]| -> Vec<TokenId> {
            tokens
                .iter()
                .enumerate()
                .filter(|(i, _)| placement.column(*i).is_some())
                .map(|(_, &t)| t)
                .collect()
        };
        self.wild = placed(&self.wild);
        for (_, mutant) in &mut self.variants {
            *mutant = placed(mutant);
        }
    }
}

/// Checks every variant against the wild type and the alphabet: a wild-type letter that
/// differs from the one named, a letter the alphabet lacks, or (unless `skip_out_of_range`)
/// a position outside the wild type is an error naming the variant's line of `path`.
pub fn prepare(
    alphabet: &Alphabet,
    (origin, wild): (&str, &str),
    variants: Vec<ReadVariant>,
    path: &Path,
    skip_out_of_range: bool,
) -> Result<PreparedVariants> {
    let tokens_of = |text: &str| -> std::result::Result<Vec<TokenId>, char> {
        text.chars()
            .map(|c| alphabet.id(c.encode_utf8(&mut [0; 4])).ok_or(c))
            .collect()
    };
    let wild_tokens = tokens_of(wild).map_err(|c| Error::WildType {
        origin: origin.to_string(),
        message: format!("'{c}' is not in the model's alphabet ({})", alphabet.name()),
    })?;
    if wild_tokens.is_empty() {
        return Err(Error::WildType {
            origin: origin.to_string(),
            message: "is empty".into(),
        });
    }
    let mut prepared = PreparedVariants {
        wild: wild_tokens,
        variants: Vec::with_capacity(variants.len()),
        out_of_range: 0,
    };
    for read in variants {
        let error = |source| Error::Variant {
            path: path.to_path_buf(),
            line: read.line,
            variant: read.variant.name().to_string(),
            source,
        };
        match read.variant.apply(wild) {
            Ok(mutant) => {
                let tokens = tokens_of(&mutant)
                    .map_err(|letter| error(MutationError::NotInAlphabet { letter }))?;
                prepared.variants.push((read, tokens));
            }
            Err(e) if e.is_out_of_range() && skip_out_of_range => prepared.out_of_range += 1,
            Err(e) => return Err(error(e)),
        }
    }
    Ok(prepared)
}

/// The scores of prepared variants under a trained model, in their order.
pub fn score_prepared(
    trained: &TrainedModel,
    prepared: &PreparedVariants,
    scoring: &VariantScoring,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<VariantScore>> {
    let mutants: Vec<Vec<TokenId>> = prepared.variants.iter().map(|(_, t)| t.clone()).collect();
    score_mutants(trained, &prepared.wild, &mutants, scoring, progress)
}
