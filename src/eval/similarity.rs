//! Per-sequence statistics: GC content, novelty against training data, diversity.

use std::collections::HashSet;

use rayon::prelude::*;

use crate::alphabet::TokenId;

/// Fraction of positions whose token is in `gc` (G or C ids), or `None` for an empty sequence.
pub fn gc_fraction(sequence: &[TokenId], gc: &[TokenId]) -> Option<f64> {
    (!sequence.is_empty())
        .then(|| sequence.iter().filter(|t| gc.contains(t)).count() as f64 / sequence.len() as f64)
}

/// Position-wise identity without gaps: matching positions over the longer length.
///
/// ```
/// use seddbio::eval::identity;
///
/// assert_eq!(identity(&[0, 1, 2, 3], &[0, 1, 3, 3]), 0.75);
/// assert_eq!(identity(&[0, 1], &[0, 1, 2, 3]), 0.5);
/// ```
pub fn identity(a: &[TokenId], b: &[TokenId]) -> f64 {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / longest as f64
}

/// Novelty of generated sequences against the training set.
#[derive(Debug, Clone, PartialEq)]
pub struct Novelty {
    /// Fraction of generated sequences identical to some training sequence.
    pub copied_fraction: f64,
    /// For each generated sequence, its highest identity to any training sequence.
    pub nearest_identity: Vec<f64>,
}

/// Exact copies are found with a hash set over all of `train`; nearest identities compare each
/// generated sequence with every sequence of `neighbours` (a subset of `train` when it is
/// large), in parallel.
pub fn novelty(
    generated: &[Vec<TokenId>],
    train: &[Vec<TokenId>],
    neighbours: &[Vec<TokenId>],
) -> Novelty {
    let known: HashSet<&[TokenId]> = train.iter().map(Vec::as_slice).collect();
    let copied = generated
        .iter()
        .filter(|g| known.contains(g.as_slice()))
        .count();
    let nearest_identity = generated
        .par_iter()
        .map(|g| {
            neighbours
                .iter()
                .map(|t| identity(g, t))
                .fold(0.0, f64::max)
        })
        .collect();
    Novelty {
        copied_fraction: copied as f64 / generated.len().max(1) as f64,
        nearest_identity,
    }
}

/// Diversity within a set: the fraction of distinct sequences and the mean pairwise identity
/// over all pairs (or the first `max_pairs` pairs in a fixed order).
pub fn diversity(sequences: &[Vec<TokenId>], max_pairs: usize) -> (f64, f64) {
    let distinct: HashSet<&[TokenId]> = sequences.iter().map(Vec::as_slice).collect();
    let n = sequences.len();
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .take(max_pairs)
        .collect();
    let mean_identity = if pairs.is_empty() {
        0.0
    } else {
        pairs
            .par_iter()
            .map(|&(i, j)| identity(&sequences[i], &sequences[j]))
            .sum::<f64>()
            / pairs.len() as f64
    };
    (distinct.len() as f64 / n.max(1) as f64, mean_identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn novelty_and_diversity_by_hand() {
        let train = vec![vec![0, 1, 2, 3], vec![3, 3, 3, 3]];
        let generated = vec![vec![0, 1, 2, 3], vec![0, 1, 2, 2], vec![0, 1, 2, 2]];
        let result = novelty(&generated, &train, &train);
        assert!((result.copied_fraction - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(result.nearest_identity, [1.0, 0.75, 0.75]);
        let (distinct, mean_identity) = diversity(&generated, 100);
        assert!((distinct - 2.0 / 3.0).abs() < 1e-15);
        assert!((mean_identity - (0.75 + 0.75 + 1.0) / 3.0).abs() < 1e-15);
        assert_eq!(gc_fraction(&[1, 2, 0, 0], &[1, 2]), Some(0.5));
    }
}
