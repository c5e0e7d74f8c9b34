//! The label-by-label comparison of a conditional model's samples with the real sequences.

use std::collections::BTreeSet;

use rand::{rngs::ChaCha8Rng, SeedableRng};

use super::{motifs::motif_name, motifs::ScannedMotif, ReportOptions, FLOOR_DRAWS};
use crate::{
    alphabet::{Alphabet, TokenId},
    data::UnknownPolicy,
    eval::{
        evaluation::{HitRates, LabelComparison, LabelFigures, LabelKmer},
        hit_rate, Enrichment, KmerSpectrum, RealFloor,
    },
    io::SequenceFile,
    Error, Result,
};

/// One set's token sequences with the file they were read from (whose records carry the
/// labels, one to one with the sequences).
type Labelled<'a> = (&'a [Vec<TokenId>], &'a SequenceFile);

/// For every label found in both sets: the k-mer divergence against a floor matched to the
/// label's sizes (docs/design.md, eq. (58)) and each motif's hit rates; with two labels or
/// more and motifs, the enrichment between the first two labels, generated against real
/// (eq. (60)). Labels need unknown symbols to be errors, so that records stay one to one with
/// their labels.
pub(super) fn label_comparison(
    options: &ReportOptions,
    alphabet: &Alphabet,
    motifs: &[ScannedMotif<'_>],
    generated: Labelled<'_>,
    reference: Labelled<'_>,
    complements: Option<&[TokenId]>,
) -> Result<LabelComparison> {
    if options.on_unknown != UnknownPolicy::Error {
        return Err(Error::LabelsNeedStrictSymbols);
    }
    let names = |(_, file): Labelled<'_>| {
        file.records
            .iter()
            .filter_map(|r| r.label.clone())
            .collect::<BTreeSet<String>>()
    };
    let labels: Vec<String> = names(generated)
        .intersection(&names(reference))
        .cloned()
        .collect();
    if labels.is_empty() {
        return Err(Error::NoSharedLabel);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let figures: Vec<LabelFigures> = labels
        .into_iter()
        .map(|label| {
            let (g, r) = (subset(generated, &label), subset(reference, &label));
            let floor = RealFloor::matched(g.len(), &r, None, FLOOR_DRAWS, &mut rng);
            let n = alphabet.num_symbols();
            let kmers = options
                .ks
                .iter()
                .map(|&k| {
                    let spectrum =
                        |set: &[Vec<TokenId>]| KmerSpectrum::count(set, k, n, complements);
                    LabelKmer {
                        k,
                        js_bits: spectrum(&g).compare(&spectrum(&r)).js_bits,
                        floor_js_bits: floor.kmer(k, n, complements).js_bits,
                    }
                })
                .collect();
            let hit_rates = motifs
                .iter()
                .map(|(_, scanner, threshold)| HitRates {
                    generated: hit_rate(scanner, *threshold, &g),
                    reference: hit_rate(scanner, *threshold, &r),
                })
                .collect();
            LabelFigures {
                label,
                generated: g.len(),
                reference: r.len(),
                kmers,
                hit_rates,
            }
        })
        .collect();
    Ok(LabelComparison {
        motifs: motifs
            .iter()
            .map(|(motif, _, _)| motif_name(motif))
            .collect(),
        enrichment: enrichment(&figures, motifs.len()),
        labels: figures,
    })
}

/// The sequences of one label, in file order.
fn subset((set, file): Labelled<'_>, label: &str) -> Vec<Vec<TokenId>> {
    set.iter()
        .zip(&file.records)
        .filter(|(_, record)| record.label.as_deref() == Some(label))
        .map(|(s, _)| s.clone())
        .collect()
}

/// The motif enrichment between the first two labels, generated against real, when there are
/// two labels and at least one motif.
fn enrichment(labels: &[LabelFigures], motifs: usize) -> Option<Enrichment> {
    let [a, b, ..] = labels else { return None };
    if motifs == 0 {
        return None;
    }
    let four: Vec<(f64, f64, f64, f64)> = a
        .hit_rates
        .iter()
        .zip(&b.hit_rates)
        .map(|(a, b)| (a.generated, b.generated, a.reference, b.reference))
        .collect();
    Some(Enrichment::from_rates(
        &four,
        [a.generated, b.generated, a.reference, b.reference],
    ))
}
