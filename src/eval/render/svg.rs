//! The plots of the report folder, drawn by [`crate::plot`].

use crate::{
    eval::evaluation::{Evaluation, KmerFigures, MotifProfile, NoveltyFigures},
    plot::{histogram_svg, lines_svg, scatter_log_svg},
};

/// `kmer_scatter_kK.svg` for the last k-mer size: each k-mer's generated frequency against its
/// reference frequency, on log axes.
pub(super) fn kmer_scatter(kmers: &KmerFigures) -> Vec<(String, String)> {
    let Some(last) = kmers.sizes.last().map(|size| size.k) else {
        return Vec::new();
    };
    kmers
        .sizes
        .iter()
        .filter(|size| size.k == last)
        .map(|size| {
            let points: Vec<(f64, f64)> = size
                .frequencies
                .iter()
                .map(|f| (f.reference, f.generated))
                .collect();
            let title = format!(
                "{}-mer frequencies (JS {:.4} bits, floor {:.4})",
                size.k, size.generated_vs_reference.js_bits, size.floor.js_bits
            );
            (
                format!("kmer_scatter_k{}.svg", size.k),
                scatter_log_svg(&points, &title, "reference", "generated"),
            )
        })
        .collect()
}

/// `lengths.svg`: histograms of the two sets' sequence lengths.
pub(super) fn lengths(evaluation: &Evaluation) -> String {
    let as_f64 = |v: &[usize]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let (generated, reference) = (
        as_f64(&evaluation.generated.lengths),
        as_f64(&evaluation.reference.lengths),
    );
    histogram_svg(
        &[("generated", &generated), ("reference", &reference)],
        30,
        "Sequence lengths",
        "tokens",
    )
}

/// `gc.svg` (nucleotide alphabets): histograms of the two sets' GC fractions.
pub(super) fn gc(evaluation: &Evaluation) -> Option<String> {
    let known = |gc: &[Option<f64>]| gc.iter().flatten().copied().collect::<Vec<f64>>();
    let generated = known(evaluation.generated.gc.as_deref()?);
    let reference = known(evaluation.reference.gc.as_deref()?);
    Some(histogram_svg(
        &[("generated", &generated), ("reference", &reference)],
        25,
        "GC content per sequence",
        "GC fraction",
    ))
}

/// `nearest_identity.svg`: histograms of each sequence's identity to its nearest training
/// sequence.
pub(super) fn nearest_identity(novelty: &NoveltyFigures) -> String {
    histogram_svg(
        &[
            ("generated", &novelty.generated.nearest_identity),
            ("reference", &novelty.reference.nearest_identity),
        ],
        25,
        "Identity to the nearest training sequence",
        "identity",
    )
}

/// `motif_profile_ID.svg`: a motif's hits per sequence by start position.
pub(super) fn profile(profile: &MotifProfile) -> String {
    let points = |v: &[f64]| {
        v.iter()
            .enumerate()
            .map(|(i, &y)| (i as f64, y))
            .collect::<Vec<_>>()
    };
    let (generated, reference) = (points(&profile.generated), points(&profile.reference));
    let title = format!(
        "{} {} hits by start position (relative score >= {:.3})",
        profile.motif.id, profile.motif.name, profile.threshold
    );
    lines_svg(
        &[("generated", &generated), ("reference", &reference)],
        &title,
        "0-based start",
        "hits per sequence",
    )
}
