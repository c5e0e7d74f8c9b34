//! k-mer spectra and the divergences between them.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::alphabet::TokenId;

/// Counts of every k-mer in a set of sequences (token ids `0..num_symbols`).
///
/// ```
/// use seddbio::eval::KmerSpectrum;
///
/// // ACGT with the DNA ids A=0 C=1 G=2 T=3: 2-mers AC, CG, GT.
/// let spectrum = KmerSpectrum::count(&[vec![0, 1, 2, 3]], 2, 4, None);
/// assert_eq!(spectrum.total(), 3);
/// assert_eq!(spectrum.get(&[1, 2]), 1);
/// // Canonical: CG is its own reverse complement; AC and GT are each other's.
/// let canonical = KmerSpectrum::count(&[vec![0, 1, 2, 3]], 2, 4, Some(&[3, 2, 1, 0]));
/// assert_eq!(canonical.get(&[0, 1]), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmerSpectrum {
    k: usize,
    num_symbols: usize,
    counts: HashMap<u64, u64>,
    canonical: Option<Vec<TokenId>>,
}

impl KmerSpectrum {
    /// Counts k-mers over `sequences`, in parallel. With `complements` (DNA/RNA), a k-mer and
    /// its reverse complement count as one (the smaller code stands for both).
    pub fn count(
        sequences: &[Vec<TokenId>],
        k: usize,
        num_symbols: usize,
        complements: Option<&[TokenId]>,
    ) -> KmerSpectrum {
        let n = num_symbols as u64;
        let counts = sequences
            .par_iter()
            .fold(HashMap::new, |mut counts: HashMap<u64, u64>, sequence| {
                if sequence.len() >= k && k > 0 {
                    for window in sequence.windows(k) {
                        let code = canonical_code(window, n, complements);
                        *counts.entry(code).or_default() += 1;
                    }
                }
                counts
            })
            .reduce(HashMap::new, |mut a, b| {
                for (code, count) in b {
                    *a.entry(code).or_default() += count;
                }
                a
            });
        KmerSpectrum {
            k,
            num_symbols,
            counts,
            canonical: complements.map(<[TokenId]>::to_vec),
        }
    }

    /// k.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Total k-mers counted.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Distinct k-mers seen.
    pub fn distinct(&self) -> usize {
        self.counts.len()
    }

    /// Count of one k-mer (its canonical form, for canonical spectra).
    pub fn get(&self, kmer: &[TokenId]) -> u64 {
        let code = canonical_code(kmer, self.num_symbols as u64, self.canonical.as_deref());
        self.counts.get(&code).copied().unwrap_or(0)
    }

    /// The k-mer of a code, as token ids.
    pub fn decode(&self, mut code: u64) -> Vec<TokenId> {
        let n = self.num_symbols as u64;
        let mut kmer = vec![0; self.k];
        for slot in kmer.iter_mut().rev() {
            *slot = (code % n) as TokenId;
            code /= n;
        }
        kmer
    }

    /// `(code, frequency in self, frequency in other)` over the union of k-mers seen in
    /// either, sorted by code.
    pub fn paired_frequencies(&self, other: &KmerSpectrum) -> Vec<(u64, f64, f64)> {
        let (ta, tb) = (self.total().max(1) as f64, other.total().max(1) as f64);
        let mut codes: Vec<u64> = self
            .counts
            .keys()
            .chain(other.counts.keys())
            .copied()
            .collect();
        codes.sort_unstable();
        codes.dedup();
        codes
            .into_iter()
            .map(|c| {
                let a = self.counts.get(&c).copied().unwrap_or(0) as f64 / ta;
                let b = other.counts.get(&c).copied().unwrap_or(0) as f64 / tb;
                (c, a, b)
            })
            .collect()
    }

    /// Jensen-Shannon divergence (bits), L1 distance and Pearson correlation between the two
    /// normalised spectra.
    pub fn compare(&self, other: &KmerSpectrum) -> SpectrumComparison {
        let pairs = self.paired_frequencies(other);
        let p: Vec<f64> = pairs.iter().map(|x| x.1).collect();
        let q: Vec<f64> = pairs.iter().map(|x| x.2).collect();
        SpectrumComparison {
            js_bits: js_divergence(&p, &q),
            l1: p.iter().zip(&q).map(|(a, b)| (a - b).abs()).sum(),
            pearson: pearson(&p, &q),
        }
    }
}

fn canonical_code(kmer: &[TokenId], n: u64, complements: Option<&[TokenId]>) -> u64 {
    let forward = kmer.iter().fold(0u64, |acc, &t| acc * n + t as u64);
    match complements {
        Some(complement) => {
            let reverse = kmer
                .iter()
                .rev()
                .fold(0u64, |acc, &t| acc * n + complement[t as usize] as u64);
            forward.min(reverse)
        }
        None => forward,
    }
}

/// How close two spectra are.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SpectrumComparison {
    /// Jensen-Shannon divergence, base 2 (0 = identical, 1 = disjoint).
    pub js_bits: f64,
    /// Sum of absolute frequency differences (0..2).
    pub l1: f64,
    /// Pearson correlation of the frequencies.
    pub pearson: f64,
}

/// Jensen-Shannon divergence in bits of two distributions given on the same support.
///
/// ```
/// use seddbio::eval::js_divergence;
///
/// assert_eq!(js_divergence(&[1.0, 0.0], &[0.0, 1.0]), 1.0);
/// assert_eq!(js_divergence(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
/// ```
pub fn js_divergence(p: &[f64], q: &[f64]) -> f64 {
    let kl_to_mixture = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .filter(|(x, _)| **x > 0.0)
            .map(|(x, y)| x * (2.0 * x / (x + y)).log2())
            .sum()
    };
    (0.5 * kl_to_mixture(p, q) + 0.5 * kl_to_mixture(q, p)).max(0.0)
}

/// Pearson correlation; 0 when either side is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    if a.len() < 2 {
        return 0.0;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let mut cov = 0.0;
    let (mut va, mut vb) = (0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - ma) * (y - mb);
        va += (x - ma).powi(2);
        vb += (y - mb).powi(2);
    }
    if va == 0.0 || vb == 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_a_short_sequence_by_hand() {
        // AACGTTA: 3-mers AAC ACG CGT GTT TTA.
        let seq = vec![0, 0, 1, 2, 3, 3, 0];
        let plain = KmerSpectrum::count(std::slice::from_ref(&seq), 3, 4, None);
        assert_eq!((plain.total(), plain.distinct()), (5, 5));
        assert_eq!(plain.get(&[0, 0, 1]), 1);
        // Canonical: ACG<->CGT and AAC<->GTT pair up; TTA<->TAA stays single.
        let canonical = KmerSpectrum::count(&[seq], 3, 4, Some(&[3, 2, 1, 0]));
        assert_eq!((canonical.total(), canonical.distinct()), (5, 3));
        assert_eq!(canonical.get(&[2, 3, 3]), 2);
        assert_eq!(canonical.get(&[0, 1, 2]), 2);
        assert_eq!(canonical.get(&[3, 3, 0]), 1);
        // ACG = 0 * 16 + 1 * 4 + 2 in base 4.
        assert_eq!(plain.decode(6), vec![0, 1, 2]);
    }

    #[test]
    fn js_divergence_of_known_distributions() {
        // p = (1/2, 1/2, 0), q = (0, 1/2, 1/2): m = (1/4, 1/2, 1/4);
        // KL(p||m) = 1/2 log2 2 + 1/2 log2 1 = 1/2, the same for q: JS = 1/2.
        let js = js_divergence(&[0.5, 0.5, 0.0], &[0.0, 0.5, 0.5]);
        assert!((js - 0.5).abs() < 1e-15);
        let a = KmerSpectrum::count(&[vec![0, 1]], 1, 2, None);
        let b = KmerSpectrum::count(&[vec![1, 1]], 1, 2, None);
        // p = (1/2, 1/2), q = (0, 1): m = (1/4, 3/4).
        let expected =
            0.5 * (0.5 * 2f64.log2() + 0.5 * (0.5f64 / 0.75).log2()) + 0.5 * (1.0f64 / 0.75).log2();
        let comparison = a.compare(&b);
        assert!((comparison.js_bits - expected).abs() < 1e-15);
        assert!((comparison.l1 - 1.0).abs() < 1e-15);
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-15);
    }
}
