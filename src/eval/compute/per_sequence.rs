//! The figures of each generated sequence that need no other generated sequence (`eval --shard`):
//! its length and GC, its bound under a model, its nearest training sequence, and for molecules
//! its canonical form. A shard of a large generated set computes them for its part; the parts,
//! concatenated in shard order, are the table of one run (docs/design.md, §17 "Shards").

use std::fmt::Write as _;

use rand::{rngs::ChaCha8Rng, SeedableRng};
use serde::Serialize;

use super::{chemistry::smiles_of, sets::at_most, ModelCheck};
use crate::{
    alphabet::{Alphabet, TokenId, TokenizerKind},
    data::{encode_record, encode_records, grow_vocabulary, UnknownPolicy},
    eval::similarity::{gc_fraction, novelty},
    io::{csv_field, SequenceFile},
    shard::{item_stream, Shard},
    Error, Result,
};

/// One generated sequence's own figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequenceFigures {
    /// Its place in the generated file, from 1.
    pub index: usize,
    /// Its record id.
    pub id: String,
    /// Tokens.
    pub length: usize,
    /// Nucleotide alphabets: the GC fraction (none without bases that count).
    pub gc: Option<f64>,
    /// With a model: the ELBO bound in bits/token and its standard error.
    pub bits_per_token: Option<(f64, f64)>,
    /// With training sequences: whether it is one of them, and its highest identity to one of
    /// the neighbours (docs/design.md, eq. (59)).
    pub training: Option<(bool, f64)>,
    /// Molecules: the canonical SMILES, `Some(None)` for an invalid one.
    pub canonical_smiles: Option<Option<String>>,
}

/// What [`per_sequence`] computes besides lengths and GC.
pub struct PerSequenceOptions<'a> {
    /// The part of the generated set to do.
    pub shard: Shard,
    /// Seed of the model's times and noise (each sequence its own stream of it) and of the
    /// training neighbours' draw.
    pub seed: u64,
    /// Symbols outside the alphabet in the training sequences (the generated ones must
    /// have none: every record is a row).
    pub on_unknown: UnknownPolicy,
    /// Training sequences: copies and the identity to the nearest one.
    pub train: Option<&'a SequenceFile>,
    /// A model to score each sequence under (every sequence of the shard, however many).
    pub model: Option<ModelCheck<'a>>,
}

/// The rows of [`per_sequence`] and which of the optional columns they fill (the same for
/// every shard, an empty one included, so that every shard's CSV has the same header).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerSequence {
    /// One row per generated sequence of the shard, in file order.
    pub rows: Vec<SequenceFigures>,
    /// Nucleotide alphabets: `gc`.
    pub has_gc: bool,
    /// A model was given: `bits_per_token`.
    pub has_bits: bool,
    /// Training sequences were given: `training`.
    pub has_training: bool,
    /// Molecules: `canonical_smiles`.
    pub has_molecules: bool,
}

/// The figures of the generated sequences in `options.shard`: each computed from the sequence
/// alone (the model's times and noise from the sequence's own stream, the training neighbours
/// drawn from the seed for the whole file), so every shard finds for a sequence what one run
/// over the whole file finds.
pub fn per_sequence(
    mut alphabet: Alphabet,
    generated_file: &SequenceFile,
    options: PerSequenceOptions<'_>,
) -> Result<PerSequence> {
    let all: Vec<_> = std::iter::once(generated_file)
        .chain(options.train)
        .flat_map(|f| f.records.iter().cloned())
        .collect();
    grow_vocabulary(&mut alphabet, &all);
    // One record, one row: the index of a row is its record's place in the file.
    let (records, _) = encode_records(&alphabet, generated_file, UnknownPolicy::Error)?;
    if records.is_empty() {
        return Err(Error::TooFewSequences);
    }
    let items = options.shard.range(records.len());
    let tokens: Vec<Vec<TokenId>> = records[items.clone()]
        .iter()
        .map(|r| r.tokens.clone())
        .collect();
    let is_nucleotide =
        alphabet.tokenizer() == TokenizerKind::Char && alphabet.complements().is_some();
    let gc_ids: Vec<TokenId> = ["G", "C"].iter().filter_map(|s| alphabet.id(s)).collect();
    let training = match options.train {
        Some(file) => {
            let (train, _) = encode_records(&alphabet, file, options.on_unknown)?;
            let train: Vec<Vec<TokenId>> = train.into_iter().map(|r| r.tokens).collect();
            // The neighbours as one run over the whole file draws them: the count from the
            // file's size, the draw from the seed alone.
            let wanted = super::sets::neighbours_for(records.len());
            let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
            let neighbours = at_most(&train, wanted, &mut rng);
            let found = novelty(&tokens, &train, &neighbours);
            Some(
                found
                    .copied
                    .into_iter()
                    .zip(found.nearest_identity)
                    .collect::<Vec<_>>(),
            )
        }
        None => None,
    };
    let bits = match options.model {
        Some(check) => Some(model_bits(
            check,
            generated_file,
            items.clone(),
            options.seed,
        )?),
        None => None,
    };
    let molecules = match alphabet.tokenizer() {
        TokenizerKind::Smiles | TokenizerKind::Selfies => {
            let selfies = alphabet.tokenizer() == TokenizerKind::Selfies;
            let checker = crate::chem::default_checker();
            let smiles = smiles_of(generated_file, selfies);
            Some(
                items
                    .clone()
                    .map(|g| smiles.get(g).and_then(|s| checker.canonical(s)))
                    .collect::<Vec<_>>(),
            )
        }
        _ => None,
    };
    let rows = items
        .enumerate()
        .map(|(j, g)| SequenceFigures {
            index: g + 1,
            id: records[g].id.clone(),
            length: tokens[j].len(),
            gc: is_nucleotide
                .then(|| gc_fraction(&tokens[j], &gc_ids))
                .flatten(),
            bits_per_token: bits.as_ref().and_then(|b| b[j]),
            training: training.as_ref().map(|t| t[j]),
            canonical_smiles: molecules.as_ref().map(|m| m[j].clone()),
        })
        .collect();
    Ok(PerSequence {
        rows,
        has_gc: is_nucleotide,
        has_bits: bits.is_some(),
        has_training: training.is_some(),
        has_molecules: molecules.is_some(),
    })
}

/// The bound of each generated record in `items` under the model, in bits/token with its
/// standard error; `None` for a record the model's vocabulary cannot encode or that is longer
/// than the model (a SELFIES model meets SMILES it cannot write).
fn model_bits(
    check: ModelCheck<'_>,
    file: &SequenceFile,
    items: std::ops::Range<usize>,
    seed: u64,
) -> Result<Vec<Option<(f64, f64)>>> {
    let trained = check.trained;
    if check.num_t == 0 {
        return Err(Error::EmptyModelCheck);
    }
    let mut scored: Vec<(usize, Vec<TokenId>)> = Vec::new();
    for g in items.clone() {
        let encoded = encode_record(
            &trained.alphabet,
            file,
            &file.records[g],
            UnknownPolicy::Error,
        );
        if let Some(record) = encoded.ok().and_then(|(mut r, _)| r.pop()) {
            if record.tokens.len() <= trained.spec.seq_len {
                scored.push((g, record.tokens));
            }
        }
    }
    let sequences: Vec<&[TokenId]> = scored.iter().map(|(_, t)| t.as_slice()).collect();
    let mut streams: Vec<ChaCha8Rng> = scored.iter().map(|&(g, _)| item_stream(seed, g)).collect();
    let estimates = trained.elbo_estimates(
        &sequences,
        None,
        check.num_t,
        64,
        streams.as_mut_slice(),
        check.progress,
    )?;
    let mut bits = vec![None; items.len()];
    let ln2 = std::f64::consts::LN_2;
    for ((g, _), e) in scored.iter().zip(estimates) {
        let per_token = e.tokens.max(1) as f64 * ln2;
        bits[g - items.start] = Some((e.nats / per_token, e.std_error / per_token));
    }
    Ok(bits)
}

/// The figures as CSV: `index,id,length`, then `gc`, `bits_per_token,bits_per_token_se`,
/// `in_training,nearest_training_identity` and `valid,canonical_smiles` where they were
/// computed. Every shard writes the header, so each file stands alone; the rows of shards
/// 0..N after one header are the table of one run.
pub fn per_sequence_csv(table: &PerSequence) -> String {
    let mut csv = String::from("index,id,length");
    for (on, names) in [
        (table.has_gc, "gc"),
        (table.has_bits, "bits_per_token,bits_per_token_se"),
        (table.has_training, "in_training,nearest_training_identity"),
        (table.has_molecules, "valid,canonical_smiles"),
    ] {
        if on {
            csv.push(',');
            csv.push_str(names);
        }
    }
    csv.push('\n');
    for row in &table.rows {
        let _ = write!(csv, "{},{},{}", row.index, csv_field(&row.id), row.length);
        if table.has_gc {
            let _ = write!(
                csv,
                ",{}",
                row.gc.map_or(String::new(), |v| format!("{v:.6}"))
            );
        }
        if table.has_bits {
            match row.bits_per_token {
                Some((b, se)) => {
                    let _ = write!(csv, ",{b:.6},{se:.6}");
                }
                None => csv.push_str(",,"),
            }
        }
        if let Some((copy, identity)) = row.training.filter(|_| table.has_training) {
            let _ = write!(csv, ",{copy},{identity:.6}");
        }
        if table.has_molecules {
            let canonical = row.canonical_smiles.clone().flatten();
            let _ = write!(
                csv,
                ",{},{}",
                canonical.is_some(),
                csv_field(canonical.as_deref().unwrap_or(""))
            );
        }
        csv.push('\n');
    }
    csv
}
