//! Label-by-label evaluation of a conditional model's samples: motif hit rates and how the
//! difference between two labels in generated sequences follows the one in real sequences.

use crate::alphabet::TokenId;

use super::pearson;
use crate::motif::PwmScanner;

/// The fraction of `set` with at least one hit of `scanner` at relative score `threshold`.
pub fn hit_rate(scanner: &PwmScanner, threshold: f64, set: &[Vec<TokenId>]) -> f64 {
    if set.is_empty() {
        return 0.0;
    }
    set.iter()
        .filter(|s| !scanner.scan(s, threshold).is_empty())
        .count() as f64
        / set.len() as f64
}

/// `log2` of how much more often a motif hits in set `a` than in set `b`, from hit rates over
/// `n_a` and `n_b` sequences, with half a sequence added to each count so that a motif absent
/// from one set gives a finite ratio.
///
/// ```
/// use seddbio::eval::log2_enrichment;
///
/// // 40% of 100 against 10% of 100: (40.5 / 100.5) / (10.5 / 100.5).
/// assert!((log2_enrichment(0.4, 100, 0.1, 100) - (40.5f64 / 10.5).log2()).abs() < 1e-12);
/// assert!(log2_enrichment(0.0, 50, 0.0, 50).abs() < 1e-12);
/// ```
pub fn log2_enrichment(rate_a: f64, n_a: usize, rate_b: f64, n_b: usize) -> f64 {
    let smoothed = |rate: f64, n: usize| (rate * n as f64 + 0.5) / (n as f64 + 1.0);
    (smoothed(rate_a, n_a) / smoothed(rate_b, n_b)).log2()
}

/// Motif enrichment between two labels, generated against real: per motif the log2 ratio of
/// the hit rates under label A and label B in each, and the correlation of the two over all
/// motifs (1: the model moves every motif between the labels as the data do).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Enrichment {
    /// Generated log2 ratios, one per motif.
    pub generated: Vec<f64>,
    /// Real (reference) log2 ratios, one per motif.
    pub reference: Vec<f64>,
    /// Pearson correlation of the two.
    pub correlation: f64,
}

impl Enrichment {
    /// From per-motif hit rates `(generated A, generated B, reference A, reference B)` and the
    /// sizes of the four sets.
    ///
    /// ```
    /// use seddbio::eval::Enrichment;
    ///
    /// let rates = [(0.4, 0.1, 0.3, 0.05), (0.1, 0.4, 0.05, 0.3), (0.2, 0.2, 0.1, 0.1)];
    /// let e = Enrichment::from_rates(&rates, [100, 100, 200, 200]);
    /// assert!(e.generated[0] > 1.5 && e.reference[0] > 2.0);
    /// assert!(e.correlation > 0.99);
    /// ```
    pub fn from_rates(rates: &[(f64, f64, f64, f64)], sizes: [usize; 4]) -> Enrichment {
        let [ga, gb, ra, rb] = sizes;
        let generated: Vec<f64> = rates
            .iter()
            .map(|&(a, b, _, _)| log2_enrichment(a, ga, b, gb))
            .collect();
        let reference: Vec<f64> = rates
            .iter()
            .map(|&(_, _, a, b)| log2_enrichment(a, ra, b, rb))
            .collect();
        let correlation = pearson(&generated, &reference);
        Enrichment {
            generated,
            reference,
            correlation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{alphabet::Alphabet, motif::read_motifs};

    /// Hit rates counted by hand on sequences built to hold the consensus or not.
    #[test]
    fn hit_rates_count_sequences_with_a_site() {
        let dir = crate::test_dir::tempdir().unwrap();
        let path = dir.path().join("m.jaspar");
        std::fs::write(
            &path,
            ">MA0001.1 TATA\nA [ 0 10 0 10 ]\nC [ 0 0 0 0 ]\nG [ 0 0 0 0 ]\nT [ 10 0 10 0 ]\n",
        )
        .unwrap();
        let motifs = read_motifs(&path).unwrap();
        let alphabet = Alphabet::resolve("dna").unwrap();
        let scanner = PwmScanner::new(&motifs[0], &alphabet).unwrap();
        // DNA ids: A 0, C 1, G 2, T 3.
        let encode = |s: &str| -> Vec<TokenId> {
            s.bytes()
                .map(|b| b"ACGT".iter().position(|&x| x == b).unwrap() as TokenId)
                .collect()
        };
        let set = vec![
            encode("CCTATACC"),
            encode("CCCCCCCC"),
            encode("GGGGTATA"),
            encode("CGCGCGCG"),
        ];
        assert_eq!(hit_rate(&scanner, 1.0, &set), 0.5);
        assert_eq!(hit_rate(&scanner, 1.0, &[]), 0.0);
    }
}
