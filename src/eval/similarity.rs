//! Per-sequence statistics: GC content, novelty against training data, diversity.

use std::collections::HashSet;

use rayon::prelude::*;

use crate::alphabet::TokenId;

/// Fraction of positions whose token is in `gc` (G or C ids), or `None` for an empty sequence.
pub fn gc_fraction(sequence: &[TokenId], gc: &[TokenId]) -> Option<f64> {
    (!sequence.is_empty())
        .then(|| sequence.iter().filter(|t| gc.contains(t)).count() as f64 / sequence.len() as f64)
}

/// Alignment identity: `1 - d / max(|a|, |b|)` with `d` the edit (Levenshtein) distance, so
/// one insertion costs one position, not the rest of the sequence as it does position by
/// position. SIMD through `triple_accel` when every token fits a byte (DNA, protein, SMILES
/// vocabularies), a plain dynamic programme otherwise.
///
/// ```
/// use seddbio::eval::identity;
///
/// assert_eq!(identity(&[0, 1, 2, 3], &[0, 1, 3, 3]), 0.75);
/// assert_eq!(identity(&[0, 1], &[0, 1, 2, 3]), 0.5);
/// // One base inserted at the front: 5 of 6 positions still align.
/// assert!((identity(&[0, 1, 2, 3, 0], &[3, 0, 1, 2, 3, 0]) - 5.0 / 6.0).abs() < 1e-12);
/// ```
pub fn identity(a: &[TokenId], b: &[TokenId]) -> f64 {
    identity_above(a, b, -1.0).unwrap_or(0.0)
}

/// [`identity`], or `None` when it is at most `floor` (then the alignment stops early: its
/// band is limited to the edits that could still beat `floor`).
fn identity_above(a: &[TokenId], b: &[TokenId], floor: f64) -> Option<f64> {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return (1.0 > floor).then_some(1.0);
    }
    // Fewer than this many edits beat `floor`; the length difference needs at least that many.
    let allowed = ((1.0 - floor) * longest as f64).ceil() as usize;
    let max_edits = allowed.saturating_sub(1).min(longest);
    if a.len().abs_diff(b.len()) > max_edits {
        return None;
    }
    let distance = match (bytes(a), bytes(b)) {
        (Some(a), Some(b)) => {
            triple_accel::levenshtein::levenshtein_simd_k(&a, &b, max_edits as u32)
                .map(|d| d as usize)
        }
        _ => Some(edit_distance(a, b)).filter(|&d| d <= max_edits),
    }?;
    let identity = 1.0 - distance as f64 / longest as f64;
    (identity > floor).then_some(identity)
}

/// The tokens as bytes, when every id fits one.
fn bytes(tokens: &[TokenId]) -> Option<Vec<u8>> {
    tokens.iter().map(|&t| u8::try_from(t).ok()).collect()
}

/// Levenshtein distance by the textbook dynamic programme (two rows).
fn edit_distance(a: &[TokenId], b: &[TokenId]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(x != y);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// Novelty of generated sequences against the training set.
#[derive(Debug, Clone, PartialEq)]
pub struct Novelty {
    /// For each generated sequence, whether it is identical to some training sequence.
    pub copied: Vec<bool>,
    /// For each generated sequence, its highest identity to any training sequence.
    pub nearest_identity: Vec<f64>,
}

impl Novelty {
    /// Fraction of generated sequences identical to some training sequence.
    pub fn copied_fraction(&self) -> f64 {
        let copies = self.copied.iter().filter(|&&c| c).count();
        copies as f64 / self.copied.len().max(1) as f64
    }
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
        .map(|g| known.contains(g.as_slice()))
        .collect();
    // Each comparison only has to beat the best so far, which bounds its alignment band.
    let nearest_identity = generated
        .par_iter()
        .map(|g| {
            neighbours.iter().fold(0.0, |best, t| {
                identity_above(g, t, best).map_or(best, |i| i.max(best))
            })
        })
        .collect();
    Novelty {
        copied,
        nearest_identity,
    }
}

/// Diversity within a set: the fraction of distinct sequences and the mean pairwise
/// [`identity`] over all pairs, or over `max_pairs` pairs drawn at random (from `seed`, with
/// replacement) when there are more.
pub fn diversity(sequences: &[Vec<TokenId>], max_pairs: usize, seed: u64) -> (f64, f64) {
    use rand::{rngs::ChaCha8Rng, RngExt, SeedableRng};
    let distinct: HashSet<&[TokenId]> = sequences.iter().map(Vec::as_slice).collect();
    let n = sequences.len();
    let all_pairs = n * n.saturating_sub(1) / 2;
    let pairs: Vec<(usize, usize)> = if all_pairs <= max_pairs {
        (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .collect()
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..max_pairs)
            .map(|_| {
                let i = rng.random_range(0..n);
                let j = (i + rng.random_range(1..n)) % n;
                (i.min(j), i.max(j))
            })
            .collect()
    };
    let mean_identity = if pairs.is_empty() {
        0.0
    } else {
        // Identities in parallel, summed in pair order: a parallel sum's order (and so its
        // last bits) would follow the thread scheduling.
        let identities: Vec<f64> = pairs
            .par_iter()
            .map(|&(i, j)| identity(&sequences[i], &sequences[j]))
            .collect();
        identities.iter().sum::<f64>() / pairs.len() as f64
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
        assert!((result.copied_fraction() - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(result.nearest_identity, [1.0, 0.75, 0.75]);
        let (distinct, mean_identity) = diversity(&generated, 100, 0);
        assert!((distinct - 2.0 / 3.0).abs() < 1e-15);
        assert!((mean_identity - (0.75 + 0.75 + 1.0) / 3.0).abs() < 1e-15);
        assert_eq!(gc_fraction(&[1, 2, 0, 0], &[1, 2]), Some(0.5));
    }

    /// Every pair of short sequences over three tokens: the SIMD and the plain alignment
    /// agree with an independent recursion, and the banded version with the unbanded one.
    #[test]
    fn identity_matches_a_brute_force_edit_distance() {
        fn distance(a: &[TokenId], b: &[TokenId]) -> usize {
            match (a.split_first(), b.split_first()) {
                (None, _) => b.len(),
                (_, None) => a.len(),
                (Some((x, ra)), Some((y, rb))) => (distance(ra, rb) + usize::from(x != y))
                    .min(distance(ra, b) + 1)
                    .min(distance(a, rb) + 1),
            }
        }
        let all: Vec<Vec<TokenId>> = (0..=5)
            .flat_map(|len| {
                (0..3usize.pow(len)).map(move |code| {
                    (0..len)
                        .map(|p| (code / 3usize.pow(p) % 3) as TokenId)
                        .collect()
                })
            })
            .collect();
        for a in all.iter().step_by(3) {
            for b in all.iter().step_by(5) {
                let d = distance(a, b);
                assert_eq!(edit_distance(a, b), d);
                let longest = a.len().max(b.len()).max(1);
                let expected = if a.is_empty() && b.is_empty() {
                    1.0
                } else {
                    1.0 - d as f64 / longest as f64
                };
                assert!((identity(a, b) - expected).abs() < 1e-12, "{a:?} {b:?}");
                // Tokens beyond a byte take the plain path.
                let wide = |s: &[TokenId]| s.iter().map(|t| t + 300).collect::<Vec<_>>();
                assert!((identity(&wide(a), &wide(b)) - expected).abs() < 1e-12);
                for floor in [0.0, 0.3, 0.5, 0.8] {
                    let banded = identity_above(a, b, floor);
                    assert_eq!(
                        banded,
                        (expected > floor).then_some(expected),
                        "{a:?} {b:?} {floor}"
                    );
                }
            }
        }
    }
}
