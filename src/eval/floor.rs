//! The real-vs-real floor: what a statistic gives between real sets of the sizes being compared.
//!
//! A divergence between two finite samples is never zero, even when both come from one source:
//! k-mer counts carry sampling noise, and the noise grows as the smaller set shrinks (a 6-mer
//! spectrum over 100 promoters spreads 20,000 counts over 4,096 cells). A generated set is
//! therefore judged against real sets *of its own size*: `n` real sequences drawn at random and
//! compared with the reference the generated set is compared with. Two halves of a large
//! reference would set a floor the generated set could never reach (its own finite-sample noise
//! is larger), and a model at the floor would look an order of magnitude off.

use rand::{seq::SliceRandom, Rng};

use crate::alphabet::TokenId;

use super::{KmerSpectrum, SpectrumComparison};

/// A set of token sequences.
type Sequences = Vec<Vec<TokenId>>;

/// Pairs of real sets, each pair sized like (generated set, reference), whose comparisons are
/// averaged into the floor.
///
/// With training sequences, each draw is `n` training sequences against the whole reference
/// (exactly the generated set's situation). Without them, each draw splits the reference: `m =
/// min(n, N / 2)` sequences against the other `N - m`.
///
/// ```
/// use rand::SeedableRng;
/// use seddbio::eval::RealFloor;
///
/// // 400 reference sequences of an i.i.d. source, a generated set of 20 from the same source.
/// let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(1);
/// let draw = |rng: &mut rand::rngs::ChaCha8Rng, count: usize| -> Vec<Vec<u16>> {
///     use rand::RngExt;
///     (0..count).map(|_| (0..50).map(|_| rng.random_range(0..4u16)).collect()).collect()
/// };
/// let reference = draw(&mut rng, 400);
/// let generated = draw(&mut rng, 20);
/// let floor = RealFloor::matched(generated.len(), &reference, None, 8, &mut rng);
/// assert_eq!(floor.description(), "20 reference vs the other 380 (mean of 8 draws)");
/// let k = 3;
/// let spectrum = |set: &[Vec<u16>]| seddbio::eval::KmerSpectrum::count(set, k, 4, None);
/// let model = spectrum(&generated).compare(&spectrum(&reference));
/// let floor = floor.kmer(k, 4, None);
/// // A sample from the source itself sits at its size-matched floor.
/// assert!(model.js_bits / floor.js_bits > 0.5 && model.js_bits / floor.js_bits < 2.0);
/// ```
#[derive(Debug, Clone)]
pub struct RealFloor {
    /// The first set of each draw (as large as the generated set).
    draws: Vec<Sequences>,
    /// What each draw is compared with.
    against: Against,
    setup: FloorSetup,
}

/// What a [`RealFloor`] compares, as numbers: `size` sequences of `drawn_from` against
/// `against` reference sequences, averaged over `draws` draws (docs/design.md, eq. (58)).
/// Displayed as the reports name it, e.g. `100 reference vs the other 3317 (mean of 4 draws)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FloorSetup {
    /// Where the first set of each draw comes from.
    pub drawn_from: FloorSource,
    /// Sequences in the first set of each draw (the generated set's size, or half the
    /// reference when that is smaller).
    pub size: usize,
    /// Sequences each draw is compared with: the whole reference, or the rest of it.
    pub against: usize,
    /// Draws averaged.
    pub draws: usize,
}

/// The set a floor's draws come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FloorSource {
    /// Training subsets, each against the whole reference.
    Training,
    /// Reference subsets, each against the rest of the reference.
    Reference,
}

impl std::fmt::Display for FloorSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let FloorSetup {
            size,
            against,
            draws,
            ..
        } = self;
        match self.drawn_from {
            FloorSource::Training => write!(
                f,
                "{size} training vs the {against} reference (mean of {draws} draws)"
            ),
            FloorSource::Reference => write!(
                f,
                "{size} reference vs the other {against} (mean of {draws} draws)"
            ),
        }
    }
}

/// The second set of the draws.
#[derive(Debug, Clone)]
enum Against {
    /// The whole reference, the same for every draw (training subsets are drawn): kept once,
    /// its spectrum counted once.
    Reference(Sequences),
    /// Each draw's rest of the reference (reference subsets are drawn).
    Rest(Vec<Sequences>),
}

impl RealFloor {
    /// Draws `draws` real pairs matched to a generated set of `generated` sequences compared
    /// with `reference` (see the type's description); at least one draw is made.
    pub fn matched<R: Rng + ?Sized>(
        generated: usize,
        reference: &[Vec<TokenId>],
        train: Option<&[Vec<TokenId>]>,
        draws: usize,
        rng: &mut R,
    ) -> RealFloor {
        let draws = draws.max(1);
        let (subsets, against): (Vec<Sequences>, Against) = match train {
            Some(train) => {
                let subsets = (0..draws)
                    .map(|_| {
                        let mut subset = train.to_vec();
                        subset.shuffle(rng);
                        subset.truncate(generated);
                        subset
                    })
                    .collect();
                (subsets, Against::Reference(reference.to_vec()))
            }
            None => {
                let (subsets, rests) = (0..draws)
                    .map(|_| {
                        let mut shuffled = reference.to_vec();
                        shuffled.shuffle(rng);
                        let rest = shuffled.split_off(generated.min(reference.len() / 2));
                        (shuffled, rest)
                    })
                    .unzip();
                (subsets, Against::Rest(rests))
            }
        };
        let size: usize = subsets.first().map_or(0, Vec::len);
        let (drawn_from, against_size) = match &against {
            Against::Reference(r) => (FloorSource::Training, r.len()),
            Against::Rest(rests) => (FloorSource::Reference, rests.first().map_or(0, Vec::len)),
        };
        RealFloor {
            draws: subsets,
            against,
            setup: FloorSetup {
                drawn_from,
                size,
                against: against_size,
                draws,
            },
        }
    }

    /// What the floor compares, as numbers.
    pub fn setup(&self) -> FloorSetup {
        self.setup
    }

    /// What the floor compares, e.g. `100 reference vs the other 3317 (mean of 4 draws)`.
    pub fn description(&self) -> String {
        self.setup.to_string()
    }

    /// The k-mer comparison of the real pairs, averaged over the draws (each statistic on its
    /// own).
    pub fn kmer(
        &self,
        k: usize,
        num_symbols: usize,
        complements: Option<&[TokenId]>,
    ) -> SpectrumComparison {
        let spectrum = |set: &[Vec<TokenId>]| KmerSpectrum::count(set, k, num_symbols, complements);
        let all: Vec<SpectrumComparison> = match &self.against {
            Against::Reference(reference) => {
                let reference = spectrum(reference);
                self.draws
                    .iter()
                    .map(|a| spectrum(a).compare(&reference))
                    .collect()
            }
            Against::Rest(rests) => self
                .draws
                .iter()
                .zip(rests)
                .map(|(a, b)| spectrum(a).compare(&spectrum(b)))
                .collect(),
        };
        let mean =
            |f: fn(&SpectrumComparison) -> f64| all.iter().map(f).sum::<f64>() / all.len() as f64;
        SpectrumComparison {
            js_bits: mean(|c| c.js_bits),
            l1: mean(|c| c.l1),
            pearson: mean(|c| c.pearson),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{rngs::ChaCha8Rng, RngExt, SeedableRng};

    use super::*;

    /// Sequences from a first-order chain over 4 symbols that strongly prefers repeating.
    fn chain(rng: &mut ChaCha8Rng, count: usize, len: usize) -> Vec<Vec<TokenId>> {
        (0..count)
            .map(|_| {
                let mut x = rng.random_range(0..4u16);
                (0..len)
                    .map(|_| {
                        if rng.random::<f64>() > 0.7 {
                            x = rng.random_range(0..4u16);
                        }
                        x
                    })
                    .collect()
            })
            .collect()
    }

    /// A small sample of the source itself lands at the size-matched floor at every k, while
    /// the two-halves comparison of a large reference sits far below it: the floor must follow
    /// the generated set's size.
    #[test]
    fn a_sample_of_the_source_sits_at_its_size_matched_floor() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let reference = chain(&mut rng, 2000, 60);
        let generated = chain(&mut rng, 40, 60);
        let matched = RealFloor::matched(generated.len(), &reference, None, 6, &mut rng);
        let halves = RealFloor::matched(1000, &reference, None, 1, &mut rng);
        assert!(halves
            .description()
            .starts_with("1000 reference vs the other 1000"));
        for k in 1..=5 {
            let model = KmerSpectrum::count(&generated, k, 4, None)
                .compare(&KmerSpectrum::count(&reference, k, 4, None));
            let floor = matched.kmer(k, 4, None);
            let ratio = model.js_bits / floor.js_bits;
            assert!((0.4..2.5).contains(&ratio), "k={k}: ratio {ratio}");
            // The halves floor would put the same real sample 4x or more above it.
            let halves = halves.kmer(k, 4, None).js_bits;
            assert!(
                model.js_bits > 4.0 * halves,
                "k={k}: {} vs {halves}",
                model.js_bits
            );
        }
        // A different source (no repeats) is far above the floor at k >= 2.
        let other: Vec<Vec<TokenId>> = (0..40)
            .map(|_| (0..60).map(|_| rng.random_range(0..4u16)).collect())
            .collect();
        let wrong = KmerSpectrum::count(&other, 2, 4, None)
            .compare(&KmerSpectrum::count(&reference, 2, 4, None));
        assert!(wrong.js_bits > 5.0 * matched.kmer(2, 4, None).js_bits);
    }

    /// With training sequences every draw is n of them against the whole reference.
    #[test]
    fn training_draws_match_the_generated_size() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let reference = chain(&mut rng, 50, 10);
        let train = chain(&mut rng, 200, 10);
        let floor = RealFloor::matched(30, &reference, Some(&train), 3, &mut rng);
        assert_eq!(
            floor.description(),
            "30 training vs the 50 reference (mean of 3 draws)"
        );
        assert_eq!(floor.draws.len(), 3);
        assert!(floor.draws.iter().all(|a| a.len() == 30));
        assert!(matches!(&floor.against, Against::Reference(r) if r.len() == 50));
        // Large generated sets are capped at half the reference when it is split.
        let split = RealFloor::matched(500, &reference, None, 2, &mut rng);
        assert!(split.draws.iter().all(|a| a.len() == 25));
        assert!(matches!(&split.against, Against::Rest(rests)
            if rests.len() == 2 && rests.iter().all(|b| b.len() == 25)));
    }
}
