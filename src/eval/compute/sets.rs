//! The figures of the two sets: k-mer spectra against the floor, each set's lengths, GC content
//! and diversity, the protein composition, and novelty against the training set.

use rand::{rngs::ChaCha8Rng, seq::SliceRandom};

use super::ReportOptions;
use crate::{
    alphabet::{Alphabet, TokenId, TokenizerKind},
    data::LengthStats,
    eval::{
        diversity,
        evaluation::{
            Composition, KmerFigures, KmerFrequency, KmerSize, NoveltyFigures, SetFigures,
            SetNovelty,
        },
        gc_fraction, novelty, KmerSpectrum, RealFloor,
    },
    io::SequenceFile,
};

/// Nearest-neighbour identities compare with at most this many training sequences.
const MAX_NEIGHBOURS: usize = 20_000;

/// The fewest reference sequences whose nearest identities are computed (all when there are
/// fewer).
const MIN_REFERENCE_NOVELTY: usize = 2_000;

/// Alignments per set for nearest identities, at most: 2,000 generated sequences against
/// 20,000 training ones (about a minute of one core for 40-token SMILES).
const MAX_ALIGNMENTS: usize = 40_000_000;

/// The fewest training sequences a nearest identity is sought among (all when there are
/// fewer).
const MIN_NEIGHBOURS: usize = 2_000;
/// Pairs used for the mean pairwise identity within a set.
const MAX_PAIRS: usize = 20_000;

/// The spectra of `[generated, reference]` at every size of `options.ks`, compared with each
/// other and beside the floor's pairs (docs/design.md, eqs. (57)-(58)).
pub(super) fn kmer_figures(
    alphabet: &Alphabet,
    options: &ReportOptions,
    complements: Option<&[TokenId]>,
    [generated, reference]: [&[Vec<TokenId>]; 2],
    floor: &RealFloor,
) -> KmerFigures {
    let n = alphabet.num_symbols();
    let sizes = options
        .ks
        .iter()
        .map(|&k| {
            let spectrum = |set: &[Vec<TokenId>]| KmerSpectrum::count(set, k, n, complements);
            let (g, r) = (spectrum(generated), spectrum(reference));
            let frequencies = g
                .paired_frequencies(&r)
                .into_iter()
                .map(|(code, generated, reference)| KmerFrequency {
                    kmer: alphabet.decode(&g.decode(code)),
                    generated,
                    reference,
                })
                .collect();
            KmerSize {
                k,
                generated_vs_reference: g.compare(&r),
                floor: floor.kmer(k, n, complements),
                frequencies,
            }
        })
        .collect();
    KmerFigures {
        canonical: options.canonical,
        sizes,
    }
}

/// One set's own figures: lengths, GC content (nucleotide alphabets: character tokens with
/// complements) and diversity (pairs drawn from `seed` when there are many).
pub(super) fn set_figures(
    alphabet: &Alphabet,
    file: &SequenceFile,
    set: &[Vec<TokenId>],
    seed: u64,
) -> SetFigures {
    let lengths: Vec<usize> = set.iter().map(Vec::len).collect();
    let stats = LengthStats::new(&lengths);
    let is_nucleotide =
        alphabet.tokenizer() == TokenizerKind::Char && alphabet.complements().is_some();
    let gc = is_nucleotide.then(|| {
        let gc_ids: Vec<TokenId> = ["G", "C"].iter().filter_map(|s| alphabet.id(s)).collect();
        set.iter()
            .map(|s| gc_fraction(s, &gc_ids))
            .collect::<Vec<Option<f64>>>()
    });
    let mean_gc = gc.as_ref().map(|gc| {
        let known: Vec<f64> = gc.iter().flatten().copied().collect();
        known.iter().sum::<f64>() / known.len().max(1) as f64
    });
    let (distinct_fraction, mean_pairwise_identity) = diversity(set, MAX_PAIRS, seed);
    SetFigures {
        path: file.path.clone(),
        lengths,
        min_length: stats.min,
        max_length: stats.max,
        mean_length: stats.mean,
        gc,
        mean_gc,
        distinct_fraction,
        mean_pairwise_identity,
    }
}

/// Each symbol's share of all tokens of each set.
pub(super) fn composition(
    alphabet: &Alphabet,
    generated: &[Vec<TokenId>],
    reference: &[Vec<TokenId>],
) -> Composition {
    let n = alphabet.num_symbols();
    let shares = |set: &[Vec<TokenId>]| {
        let mut counts = vec![0.0; n];
        let mut total = 0.0;
        for &t in set.iter().flatten() {
            counts[t as usize] += 1.0;
            total += 1.0;
        }
        counts
            .into_iter()
            .map(|c| c / f64::max(total, 1.0))
            .collect::<Vec<f64>>()
    };
    Composition {
        symbols: (0..n)
            .map(|id| alphabet.token(id as TokenId).unwrap_or("?").to_string())
            .collect(),
        generated: shares(generated),
        reference: shares(reference),
    }
}

/// Training sequences a generated set of `generated` compares with: at most MAX_ALIGNMENTS
/// alignments per set, so large sets compare with fewer (never fewer than MIN_NEIGHBOURS).
pub(super) fn neighbours_for(generated: usize) -> usize {
    (MAX_ALIGNMENTS / generated.max(1)).clamp(MIN_NEIGHBOURS, MAX_NEIGHBOURS)
}

/// `set`, or `k` of its sequences drawn with `rng` when it has more: the sequences a shuffle
/// of the whole set would put first, copied alone (the MOSES training split is 1.58 M).
pub(super) fn at_most<'a>(
    set: &'a [Vec<TokenId>],
    k: usize,
    rng: &mut ChaCha8Rng,
) -> std::borrow::Cow<'a, [Vec<TokenId>]> {
    if set.len() <= k {
        return std::borrow::Cow::Borrowed(set);
    }
    let mut order: Vec<usize> = (0..set.len()).collect();
    order.shuffle(rng);
    std::borrow::Cow::Owned(order[..k].iter().map(|&i| set[i].clone()).collect())
}

/// Copies of training sequences and the identity to the nearest one, of the generated set and
/// of the reference set (docs/design.md, §13 "Identity, novelty, diversity"). Nearest
/// identities compare with at most [`MAX_NEIGHBOURS`] training sequences, drawn with `rng`,
/// fewer for a generated set so large that the alignments would pass [`MAX_ALIGNMENTS`];
/// the reference side, the mark to reach, uses at most as many reference sequences as there
/// are generated ones (at least [`MIN_REFERENCE_NOVELTY`]), drawn with `rng`: the 176,074
/// MOSES test molecules against 20,000 neighbours were an hour of alignments.
pub(super) fn novelty_figures(
    generated: &[Vec<TokenId>],
    reference: &[Vec<TokenId>],
    train: &[Vec<TokenId>],
    rng: &mut ChaCha8Rng,
) -> NoveltyFigures {
    let neighbours = at_most(train, neighbours_for(generated.len()), rng);
    let reference = at_most(reference, generated.len().max(MIN_REFERENCE_NOVELTY), rng);
    let figures = |set: &[Vec<TokenId>]| {
        let found = novelty(set, train, &neighbours);
        let copied_fraction = found.copied_fraction();
        let nearest_identity = found.nearest_identity;
        let mut sorted = nearest_identity.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted
            .get(sorted.len().saturating_sub(1) / 2)
            .copied()
            .unwrap_or(0.0);
        SetNovelty {
            copied_fraction,
            nearest_identity,
            median_nearest_identity: median,
        }
    };
    NoveltyFigures {
        neighbours: neighbours.len(),
        generated: figures(generated),
        reference: figures(&reference),
    }
}
