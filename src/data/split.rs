//! Deterministic train/validation splits.

use rand::{rngs::ChaCha8Rng, seq::SliceRandom, SeedableRng};

use crate::{
    error::{Error, Result},
    io::SequenceRecord,
};

/// How records are divided between training and validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SplitMode {
    /// A random subset of records, drawn from the seed.
    #[default]
    Random,
    /// The last records of the file, in file order.
    Last,
    /// The last part of every record (a contiguous held-out region; for genomes).
    Region,
}

crate::choices::named_choices!(SplitMode, "split", {
    Random => "random",
    Last => "last",
    Region => "region",
});

/// Splits records into (train, validation): `fraction` of the records (or, for
/// [`SplitMode::Region`], of every record's length) goes to validation. The same seed, fraction
/// and input always give the same split.
///
/// ```
/// use seddbio::{data::{split_records, SplitMode}, io::SequenceRecord};
///
/// let records: Vec<SequenceRecord> = (1..=10)
///     .map(|n| SequenceRecord { number: n, line: None, id: format!("r{n}"), sequence: b"ACGT".to_vec(), label: None, source: None })
///     .collect();
/// let (train, valid) = split_records(records.clone(), 0.2, SplitMode::Last, 0).unwrap();
/// assert_eq!((train.len(), valid[0].id.as_str()), (8, "r9"));
/// let (a, _) = split_records(records.clone(), 0.2, SplitMode::Random, 7).unwrap();
/// let (b, _) = split_records(records, 0.2, SplitMode::Random, 7).unwrap();
/// assert_eq!(a, b);
/// ```
pub fn split_records(
    records: Vec<SequenceRecord>,
    fraction: f64,
    mode: SplitMode,
    seed: u64,
) -> Result<(Vec<SequenceRecord>, Vec<SequenceRecord>)> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(Error::Setting {
            setting: crate::Setting::ValidFraction,
            message: format!("the validation fraction must be in [0, 1), got {fraction}"),
        });
    }
    if fraction == 0.0 {
        return Ok((records, Vec::new()));
    }
    let n = records.len();
    let n_valid = (fraction * n as f64).round() as usize;
    match mode {
        SplitMode::Region => Ok(split_regions(records, fraction)),
        _ if n_valid == 0 || n_valid == n => Err(Error::Setting {
            setting: crate::Setting::EmptySplit,
            message: format!(
                "a validation fraction of {fraction} of {n} record(s) leaves {} set empty",
                if n_valid == 0 {
                    "the validation"
                } else {
                    "the training"
                }
            ),
        }),
        SplitMode::Last => {
            let mut train = records;
            let valid = train.split_off(n - n_valid);
            Ok((train, valid))
        }
        SplitMode::Random => {
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
            let mut is_valid = vec![false; n];
            for &i in &order[..n_valid] {
                is_valid[i] = true;
            }
            // Both sets keep file order.
            let (valid, train): (Vec<_>, Vec<_>) =
                records.into_iter().zip(is_valid).partition(|(_, v)| *v);
            Ok((
                train.into_iter().map(|(r, _)| r).collect(),
                valid.into_iter().map(|(r, _)| r).collect(),
            ))
        }
    }
}

/// Cuts every record at `(1 - fraction)` of its length: head for training, tail for validation,
/// with `id:start-end` coordinates (1-based, inclusive).
fn split_regions(
    records: Vec<SequenceRecord>,
    fraction: f64,
) -> (Vec<SequenceRecord>, Vec<SequenceRecord>) {
    let mut train = Vec::with_capacity(records.len());
    let mut valid = Vec::with_capacity(records.len());
    for mut record in records {
        let n = record.sequence.len();
        let cut = ((1.0 - fraction) * n as f64).round() as usize;
        let tail = record.sequence.split_off(cut);
        let id = record.id.clone();
        if !tail.is_empty() {
            valid.push(SequenceRecord {
                id: format!("{id}:{}-{n}", cut + 1),
                sequence: tail,
                ..record.clone()
            });
        }
        if cut > 0 {
            record.id = format!("{id}:1-{cut}");
            train.push(record);
        }
    }
    (train, valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> Vec<SequenceRecord> {
        (1..=n)
            .map(|i| SequenceRecord {
                number: i,
                line: None,
                id: format!("r{i}"),
                sequence: b"ACGTACGTAC".to_vec(),
                label: None,
                source: None,
            })
            .collect()
    }

    #[test]
    fn random_split_depends_on_the_seed_only() {
        let ids = |seed| {
            let (_, valid) = split_records(records(100), 0.1, SplitMode::Random, seed).unwrap();
            valid.into_iter().map(|r| r.number).collect::<Vec<_>>()
        };
        assert_eq!(ids(1).len(), 10);
        assert_eq!(ids(1), ids(1));
        assert_ne!(ids(1), ids(2));
        assert!(ids(1).windows(2).all(|w| w[0] < w[1]), "file order kept");
    }

    #[test]
    fn region_split_keeps_coordinates() {
        let (train, valid) = split_records(records(1), 0.3, SplitMode::Region, 0).unwrap();
        assert_eq!(train[0].id, "r1:1-7");
        assert_eq!(valid[0].id, "r1:8-10");
        assert_eq!(valid[0].sequence, b"TAC");
    }

    #[test]
    fn empty_sides_are_refused_with_a_way_out() {
        let err = split_records(records(1), 0.1, SplitMode::Random, 0).unwrap_err();
        // The way out (another split or a validation file) is the front end's to name.
        assert!(
            matches!(
                err,
                Error::Setting {
                    setting: crate::Setting::EmptySplit,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("leaves the validation set empty"),
            "{err}"
        );
        assert!(split_records(records(3), 1.0, SplitMode::Last, 0).is_err());
    }
}
