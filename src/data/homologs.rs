//! Homolog reweighting of an alignment: a family's sequences are not independent draws (close
//! homologs come in clusters), so each counts as one over the number of its near-identical
//! neighbours, and their sum is the effective number of sequences (docs/design.md, §16).

use rayon::prelude::*;

/// What becomes of the insertions of an A2M/A3M alignment (lowercase letters, and `.` in the
/// insert columns) when the sequences are read for training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Insertions {
    /// Kept: the sequences as the organisms have them (lowercase read as uppercase).
    #[default]
    Keep,
    /// Dropped: the match columns only (uppercase letters and `-`).
    Drop,
}

crate::choices::named_choices!(Insertions, "insertions", {
    Keep => "keep",
    Drop => "drop",
});

impl Insertions {
    /// `sequence` with its insertions dropped when asked; returns how many symbols went.
    ///
    /// ```
    /// use seddbio::data::Insertions;
    ///
    /// let mut row = b"MK-tlA..V".to_vec();
    /// assert_eq!(Insertions::Drop.apply(&mut row), 4);
    /// assert_eq!(row, b"MK-AV");
    /// ```
    pub fn apply(self, sequence: &mut Vec<u8>) -> usize {
        if self == Insertions::Keep {
            return 0;
        }
        let before = sequence.len();
        sequence.retain(|b| !b.is_ascii_lowercase() && *b != b'.');
        before - sequence.len()
    }
}

/// The weight of each aligned sequence and their sum.
///
/// ```
/// use seddbio::data::HomologWeights;
///
/// // Three copies of one sequence and one far from them: 1/3 each, and 1.
/// let rows: Vec<&[u8]> = vec![b"ACDEFGHIKL", b"ACDEFGHIKL", b"ACDEFGHIKL", b"WWWWWWWWWW"];
/// let w = HomologWeights::compute(&rows, 0.2);
/// assert_eq!(w.weights(), [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 1.0]);
/// assert!((w.effective() - 2.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HomologWeights {
    weights: Vec<f64>,
}

impl HomologWeights {
    /// `rows` are aligned sequences of one length (case is ignored; a gap is a symbol like
    /// any other). Sequence i's weight is `1 / n_i`, with `n_i` the number of rows (itself
    /// included) whose identity to it, the share of columns where both hold the same symbol,
    /// is at least `1 - theta`.
    pub fn compute(rows: &[&[u8]], theta: f64) -> HomologWeights {
        let rows: Vec<Vec<u8>> = rows.iter().map(|r| r.to_ascii_uppercase()).collect();
        let len = rows.first().map_or(0, Vec::len);
        // At least this many identical columns make a neighbour (rounded up, with a margin
        // for the floating-point product).
        let needed = ((1.0 - theta) * len as f64 - 1e-9).ceil().max(0.0) as usize;
        // Each pair once (identity is symmetric), counted for both; a count vector per worker,
        // summed at the end.
        let n = rows.len();
        let neighbours = (0..n)
            .into_par_iter()
            .fold(
                || vec![0u32; n],
                |mut counts, i| {
                    counts[i] += 1;
                    for j in i + 1..n {
                        if identical_columns(&rows[i], &rows[j]) >= needed {
                            counts[i] += 1;
                            counts[j] += 1;
                        }
                    }
                    counts
                },
            )
            .reduce(
                || vec![0u32; n],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        let weights = neighbours.iter().map(|&c| 1.0 / f64::from(c)).collect();
        HomologWeights { weights }
    }

    /// Refuses a `theta` outside [0, 1) with the message a user sees.
    pub fn check_theta(theta: f64) -> std::result::Result<(), String> {
        match (0.0..1.0).contains(&theta) {
            true => Ok(()),
            false => Err(format!("homolog reweighting theta {theta}: not in [0, 1)")),
        }
    }

    /// Each row's weight, in input order.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The effective number of sequences: the sum of the weights.
    pub fn effective(&self) -> f64 {
        self.weights.iter().sum()
    }
}

/// Columns where `a` and `b` hold the same byte. Counted in byte-wide lanes over blocks of
/// 255 columns (no lane can overflow), which the compiler turns into SIMD compares and
/// subtractions: a 50,000 x 300 alignment is 10^9 pairs.
fn identical_columns(a: &[u8], b: &[u8]) -> usize {
    a.chunks(255)
        .zip(b.chunks(255))
        .map(|(x, y)| {
            let same = x
                .iter()
                .zip(y)
                .fold(0u8, |count, (p, q)| count.wrapping_add(u8::from(p == q)));
            usize::from(same)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use rand::{rngs::ChaCha8Rng, RngExt, SeedableRng};

    use super::*;

    /// Against a plain count over every pair of a random alignment of related sequences
    /// (copies of a few ancestors with mutations, gaps among the symbols).
    #[test]
    fn weights_match_a_brute_force_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let symbols = b"ACDEFGHIKLMNPQRSTVWY-";
        let ancestors: Vec<Vec<u8>> = (0..5)
            .map(|_| (0..40).map(|_| symbols[rng.random_range(0..21)]).collect())
            .collect();
        let rows: Vec<Vec<u8>> = (0..120)
            .map(|i| {
                let mut row = ancestors[i % 5].clone();
                for _ in 0..rng.random_range(0..14) {
                    row[rng.random_range(0..40)] = symbols[rng.random_range(0..21)];
                }
                if i % 7 == 0 {
                    row.make_ascii_lowercase();
                }
                row
            })
            .collect();
        let refs: Vec<&[u8]> = rows.iter().map(Vec::as_slice).collect();
        for theta in [0.0, 0.2, 0.35] {
            let computed = HomologWeights::compute(&refs, theta);
            for (i, a) in rows.iter().enumerate() {
                let neighbours = rows
                    .iter()
                    .filter(|b| {
                        let same = a
                            .iter()
                            .zip(b.iter())
                            .filter(|(x, y)| x.eq_ignore_ascii_case(y))
                            .count();
                        same as f64 / 40.0 >= 1.0 - theta - 1e-12
                    })
                    .count();
                assert_eq!(
                    computed.weights()[i],
                    1.0 / neighbours as f64,
                    "row {i}, theta {theta}"
                );
            }
        }
        // Clusters make weights below 1, and the effective number falls between the number
        // of ancestors and of rows.
        let effective = HomologWeights::compute(&refs, 0.2).effective();
        assert!(effective > 5.0 && effective < 120.0, "{effective}");
    }
}
