//! Renderers of an [`Evaluation`]: the table `seddbio eval` prints ([`table`]), the files of the
//! report folder ([`files`]: CSV tables and SVG plots, `summary.csv` last), the rows of
//! `summary.csv` as numbers ([`summary`], which the sweep's table and `eval --json` use) and the
//! JSON of `eval --json` ([`json`]). Each reads the value only: what one shows, the others show
//! the same way.

mod csv;
mod files;
mod json;
mod svg;
mod text;

pub(crate) use self::csv::cell;
pub use self::{
    csv::{summary, Metric},
    files::Files,
    json::json,
    text::table,
};
use super::Evaluation;

/// Every file of the report folder, in the order they are written: the k-mer scatter plot and
/// frequencies, lengths, GC, per-sequence figures, novelty, molecules, the label-by-label and
/// motif tables with the profile, and `summary.csv` last.
pub fn files(evaluation: &Evaluation) -> Files {
    let mut files = Files::default();
    files.extend(svg::kmer_scatter(&evaluation.kmers));
    files.push("kmer.csv", csv::kmers(&evaluation.kmers));
    files.push("lengths.svg", svg::lengths(evaluation));
    files.extend(svg::gc(evaluation).map(|svg| ("gc.svg".to_string(), svg)));
    files.push("sequences.csv", csv::sequences(evaluation));
    if let Some(novelty) = &evaluation.novelty {
        files.push("nearest_identity.svg", svg::nearest_identity(novelty));
    }
    if let Some(chemistry) = &evaluation.chemistry {
        files.push("molecules.csv", csv::molecules(chemistry));
    }
    if let Some(labels) = &evaluation.labels {
        if let Some(enrichment) = &labels.enrichment {
            files.push("enrichment.csv", csv::enrichment(labels, enrichment));
        }
        files.push("labels.csv", csv::labels(labels));
    }
    if let Some(motifs) = &evaluation.motifs {
        for profile in &motifs.profiles {
            let id = &profile.motif.id;
            files.push(&format!("motif_profile_{id}.csv"), csv::profile(profile));
            files.push(&format!("motif_profile_{id}.svg"), svg::profile(profile));
        }
        files.push("motifs.csv", csv::motifs(motifs));
    }
    files.push("summary.csv", csv::summary_csv(evaluation));
    files
}
