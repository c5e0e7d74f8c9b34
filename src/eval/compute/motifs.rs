//! Motif hit rates of both sets, their correlation, and the profile by position of one motif.

use super::{MotifSet, ReportOptions};
use crate::{
    alphabet::{Alphabet, TokenId},
    eval::{
        evaluation::{HitRates, MotifFigures, MotifName, MotifProfile, MotifRates, SiteRule},
        hit_rate, pearson,
    },
    motif::{Motif, PwmScanner},
    Result,
};

/// A motif with its scanner and the relative score a site needs.
pub(super) type ScannedMotif<'a> = (&'a Motif, PwmScanner, f64);

/// Every motif of `set` ready to scan: `options.motif_p_value` converted to each motif's own
/// relative threshold, else `options.motif_threshold`.
pub(super) fn motif_scanners<'a>(
    set: &'a MotifSet,
    options: &ReportOptions,
    alphabet: &Alphabet,
) -> Result<Vec<ScannedMotif<'a>>> {
    set.motifs
        .iter()
        .map(|motif| {
            let scanner = PwmScanner::new(motif, alphabet)?;
            let threshold = match options.motif_p_value {
                Some(p) => scanner.relative_threshold_for_p_value(p),
                None => options.motif_threshold,
            };
            Ok((motif, scanner, threshold))
        })
        .collect()
}

/// How reports name a motif.
pub(super) fn motif_name(motif: &Motif) -> MotifName {
    MotifName {
        id: motif.id.clone(),
        name: motif.name.clone(),
    }
}

/// Each motif's hit rate in the generated and the reference set, their correlation over the
/// motifs, and the profile of `options.motif_profile` (one of `set`'s motifs:
/// [`ReportOptions::check`]).
pub(super) fn motif_figures(
    options: &ReportOptions,
    set: &MotifSet,
    scanners: &[ScannedMotif<'_>],
    generated: &[Vec<TokenId>],
    reference: &[Vec<TokenId>],
) -> Result<MotifFigures> {
    let mut motifs = Vec::with_capacity(scanners.len());
    let mut profiles = Vec::new();
    for &(motif, ref scanner, threshold) in scanners {
        motifs.push(MotifRates {
            motif: motif_name(motif),
            consensus: motif.consensus(),
            rates: HitRates {
                generated: hit_rate(scanner, threshold, generated),
                reference: hit_rate(scanner, threshold, reference),
            },
        });
        if options.motif_profile.as_deref() == Some(motif.id.as_str()) {
            profiles.push(profile(motif, scanner, threshold, generated, reference));
        }
    }
    let g: Vec<f64> = motifs.iter().map(|m| m.rates.generated).collect();
    let r: Vec<f64> = motifs.iter().map(|m| m.rates.reference).collect();
    Ok(MotifFigures {
        source: set.source.clone(),
        rule: match options.motif_p_value {
            Some(p) => SiteRule::PValue(p),
            None => SiteRule::RelativeScore(options.motif_threshold),
        },
        correlation: pearson(&g, &r),
        motifs,
        profiles,
    })
}

/// Hits per sequence of `motif` at each start position, in both sets, over the positions of
/// the longest sequence of either.
fn profile(
    motif: &Motif,
    scanner: &PwmScanner,
    threshold: f64,
    generated: &[Vec<TokenId>],
    reference: &[Vec<TokenId>],
) -> MotifProfile {
    let longest = generated
        .iter()
        .chain(reference)
        .map(Vec::len)
        .max()
        .unwrap_or(0);
    let per_position = |set: &[Vec<TokenId>]| {
        let mut counts = vec![0.0; longest];
        for s in set {
            for hit in scanner.scan(s, threshold) {
                counts[hit.start] += 1.0 / set.len() as f64;
            }
        }
        counts
    };
    MotifProfile {
        motif: motif_name(motif),
        threshold,
        generated: per_position(generated),
        reference: per_position(reference),
    }
}
