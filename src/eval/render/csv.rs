//! The CSV tables of the report folder, and `summary.csv`'s rows as numbers.

use std::fmt::Write as _;

use serde::Serialize;

use crate::{
    eval::{
        evaluation::{
            Chemistry, Evaluation, KmerFigures, LabelComparison, MotifFigures, MotifProfile,
            MOSES_CHARRNN, UNIQUE_AT,
        },
        Enrichment,
    },
    io::csv_field,
};

/// One row of `summary.csv`: a statistic of the generated set, its real side (the floor for
/// divergences, the reference set otherwise; none where there is nothing to compare with) and,
/// for the molecule rows, a published model's figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// The statistic's name, e.g. `kmer_3_js_bits`.
    pub name: String,
    /// The generated set's value.
    pub generated: Option<f64>,
    /// The real side's value.
    pub real: Option<f64>,
    /// A published model's value on its own benchmark, for comparison (MOSES CharRNN's for
    /// validity, uniqueness and novelty): not real data, so never in the `real` column.
    pub published: Option<f64>,
}

impl Metric {
    fn new(name: impl Into<String>, generated: f64, real: Option<f64>) -> Metric {
        Metric {
            name: name.into(),
            generated: Some(generated),
            real,
            published: None,
        }
    }

    fn beside_published(name: impl Into<String>, generated: f64, published: f64) -> Metric {
        Metric {
            published: Some(published),
            ..Metric::new(name, generated, None)
        }
    }
}

/// A cell of a CSV table: the shortest text that reads back as the same number, empty for
/// none.
pub(crate) fn cell(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The rows of `summary.csv`, in its order: k-mer divergences with their floors, the sets'
/// own figures, novelty, molecules (MOSES CharRNN's as published), the model's bound, the label by
/// label divergences and enrichment, and the motifs' hit-rate correlation.
pub fn summary(evaluation: &Evaluation) -> Vec<Metric> {
    let mut rows = Vec::new();
    for size in &evaluation.kmers.sizes {
        let (k, g, f) = (size.k, &size.generated_vs_reference, &size.floor);
        rows.push(Metric::new(
            format!("kmer_{k}_js_bits"),
            g.js_bits,
            Some(f.js_bits),
        ));
        rows.push(Metric::new(format!("kmer_{k}_l1"), g.l1, Some(f.l1)));
        rows.push(Metric::new(
            format!("kmer_{k}_pearson"),
            g.pearson,
            Some(f.pearson),
        ));
    }
    let (generated, reference) = (&evaluation.generated, &evaluation.reference);
    let side_by_side = |name: &str, g: f64, r: f64| Metric::new(name, g, Some(r));
    rows.push(side_by_side(
        "mean_length",
        generated.mean_length,
        reference.mean_length,
    ));
    if let (Some(g), Some(r)) = (generated.mean_gc, reference.mean_gc) {
        rows.push(side_by_side("mean_gc", g, r));
    }
    rows.push(side_by_side(
        "distinct_fraction",
        generated.distinct_fraction,
        reference.distinct_fraction,
    ));
    rows.push(side_by_side(
        "mean_pairwise_identity",
        generated.mean_pairwise_identity,
        reference.mean_pairwise_identity,
    ));
    if let Some(novelty) = &evaluation.novelty {
        let (g, r) = (&novelty.generated, &novelty.reference);
        rows.push(side_by_side(
            "copied_fraction",
            g.copied_fraction,
            r.copied_fraction,
        ));
        rows.push(side_by_side(
            "median_nearest_train_identity",
            g.median_nearest_identity,
            r.median_nearest_identity,
        ));
    }
    if let Some(chemistry) = &evaluation.chemistry {
        rows.extend(chemistry_rows(chemistry));
    }
    if let Some(model) = &evaluation.model {
        let (g, r) = (&model.generated, &model.reference);
        rows.push(side_by_side(
            "model_elbo_bits_per_token",
            g.bits_per_token,
            r.bits_per_token,
        ));
        rows.push(side_by_side(
            "model_elbo_bits_per_token_se",
            g.standard_error,
            r.standard_error,
        ));
    }
    if let Some(labels) = &evaluation.labels {
        for label in &labels.labels {
            for kmer in &label.kmers {
                let name = format!("label_{}_kmer_{}_js_bits", csv_field(&label.label), kmer.k);
                rows.push(Metric::new(name, kmer.js_bits, Some(kmer.floor_js_bits)));
            }
        }
        if let Some(enrichment) = &labels.enrichment {
            rows.push(Metric::new(
                "label_enrichment_correlation",
                enrichment.correlation,
                None,
            ));
        }
    }
    if let Some(motifs) = &evaluation.motifs {
        rows.push(Metric::new(
            "motif_hit_rate_correlation",
            motifs.correlation,
            None,
        ));
    }
    rows
}

/// Validity, uniqueness and (with training molecules) novelty beside MOSES CharRNN's, named
/// `molecule_*` when a chemistry toolkit checked them and `smiles_syntax_*` otherwise.
fn chemistry_rows(chemistry: &Chemistry) -> Vec<Metric> {
    let ours = [
        Some(chemistry.validity),
        Some(chemistry.uniqueness),
        chemistry.novelty,
    ];
    let prefix = match chemistry.is_chemistry {
        true => "molecule",
        false => "smiles_syntax",
    };
    let mut rows: Vec<Metric> = MOSES_CHARRNN
        .iter()
        .zip(ours)
        .filter_map(|(&(name, charrnn), value)| {
            let value = value.filter(|v| !v.is_nan())?;
            Some(Metric::beside_published(
                format!("{prefix}_{name}"),
                value,
                charrnn,
            ))
        })
        .collect();
    for (&(k, fraction), (_, charrnn)) in chemistry.unique_at.iter().zip(UNIQUE_AT) {
        rows.push(Metric::beside_published(
            format!("{prefix}_unique_at_{k}"),
            fraction,
            charrnn,
        ));
    }
    if let Some(s) = &chemistry.similarity {
        let ours = [s.int_div1, s.int_div2, s.snn, s.scaffold];
        let names = ["intdiv1", "intdiv2", "snn", "scaffold"];
        for (k, (name, value)) in names.iter().zip(ours).enumerate() {
            rows.push(Metric::new(
                format!("similarity_{name}"),
                value,
                s.floor.map(|f| f[k]),
            ));
        }
    }
    // Property distances beside their real-vs-real floor, e.g. `property_w1_rotatable_bonds`.
    rows.extend(chemistry.properties.iter().map(|p| {
        let slug = p.name.to_lowercase().replace(' ', "_");
        Metric::new(format!("property_w1_{slug}"), p.distance, p.floor)
    }));
    rows
}

/// `summary.csv`: `metric,generated_vs_reference,real_vs_real_floor,published`, a row per
/// [`summary`] metric.
pub(super) fn summary_csv(evaluation: &Evaluation) -> String {
    let mut csv = String::from("metric,generated_vs_reference,real_vs_real_floor,published\n");
    for metric in summary(evaluation) {
        let _ = writeln!(
            csv,
            "{},{},{},{}",
            metric.name,
            cell(metric.generated),
            cell(metric.real),
            cell(metric.published)
        );
    }
    csv
}

/// `kmer.csv`: every k-mer of every size with its frequency in each set.
pub(super) fn kmers(kmers: &KmerFigures) -> String {
    let mut csv = String::from("k,canonical,kmer,generated_frequency,reference_frequency\n");
    for size in &kmers.sizes {
        for f in &size.frequencies {
            let _ = writeln!(
                csv,
                "{},{},{},{},{}",
                size.k,
                kmers.canonical,
                csv_field(&f.kmer),
                f.generated,
                f.reference
            );
        }
    }
    csv
}

/// `sequences.csv`: each sequence's length and (nucleotide alphabets) GC fraction.
pub(super) fn sequences(evaluation: &Evaluation) -> String {
    let mut csv = String::from("set,index,length,gc\n");
    for (name, set) in [
        ("generated", &evaluation.generated),
        ("reference", &evaluation.reference),
    ] {
        for (i, &length) in set.lengths.iter().enumerate() {
            let gc = set.gc.as_ref().and_then(|gc| gc.get(i).copied().flatten());
            let _ = writeln!(csv, "{name},{},{length},{}", i + 1, cell(gc));
        }
    }
    csv
}

/// `molecules.csv`: each generated string, whether it is valid, and its canonical form.
pub(super) fn molecules(chemistry: &Chemistry) -> String {
    let mut csv = String::from("index,smiles,valid,canonical_smiles\n");
    for (i, molecule) in chemistry.molecules.iter().enumerate() {
        let _ = writeln!(
            csv,
            "{},{},{},{}",
            i + 1,
            csv_field(&molecule.smiles),
            molecule.canonical.is_some(),
            csv_field(molecule.canonical.as_deref().unwrap_or(""))
        );
    }
    csv
}

/// `labels.csv`: per label, each k-mer size's divergence beside its floor, then each motif's
/// hit rates.
pub(super) fn labels(labels: &LabelComparison) -> String {
    let mut csv = String::from("label,statistic,generated,reference,floor\n");
    for label in &labels.labels {
        let name = csv_field(&label.label);
        for kmer in &label.kmers {
            let _ = writeln!(
                csv,
                "{name},kmer_{}_js_bits,{},,{}",
                kmer.k, kmer.js_bits, kmer.floor_js_bits
            );
        }
        for (motif, rates) in labels.motifs.iter().zip(&label.hit_rates) {
            let _ = writeln!(
                csv,
                "{name},hit_rate_{},{},{},",
                motif.id, rates.generated, rates.reference
            );
        }
    }
    csv
}

/// `enrichment.csv`: each motif's log2 hit-rate ratio between the first two labels, generated
/// and real.
pub(super) fn enrichment(labels: &LabelComparison, enrichment: &Enrichment) -> String {
    let mut csv = String::from("motif,name,generated_log2_ratio,reference_log2_ratio\n");
    for (motif, (g, r)) in labels
        .motifs
        .iter()
        .zip(enrichment.generated.iter().zip(&enrichment.reference))
    {
        let _ = writeln!(csv, "{},{},{g},{r}", motif.id, csv_field(&motif.name));
    }
    csv
}

/// `motifs.csv`: each motif's consensus and hit rates.
pub(super) fn motifs(motifs: &MotifFigures) -> String {
    let mut csv = String::from("motif,name,consensus,generated_hit_rate,reference_hit_rate\n");
    for m in &motifs.motifs {
        let _ = writeln!(
            csv,
            "{},{},{},{},{}",
            m.motif.id,
            csv_field(&m.motif.name),
            m.consensus,
            m.rates.generated,
            m.rates.reference
        );
    }
    csv
}

/// `motif_profile_ID.csv`: a motif's hits per sequence by start position.
pub(super) fn profile(profile: &MotifProfile) -> String {
    let mut csv =
        String::from("position,generated_hits_per_sequence,reference_hits_per_sequence\n");
    for (i, (a, b)) in profile.generated.iter().zip(&profile.reference).enumerate() {
        let _ = writeln!(csv, "{i},{a},{b}");
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MOSES CharRNN's figures sit in the `published` column; the floor column of the
    /// molecule rows stays empty, as no real-vs-real figure was computed for them.
    #[test]
    fn molecule_rows_give_charrnn_as_published_not_as_the_floor() {
        let chemistry = Chemistry {
            checker: "RDKit".into(),
            is_chemistry: true,
            validity: 0.5,
            uniqueness: 0.9,
            novelty: Some(0.8),
            molecules: Vec::new(),
            properties: Vec::new(),
            similarity: None,
            unique_at: vec![(1_000, 0.95)],
        };
        let rows = chemistry_rows(&chemistry);
        let cells: Vec<_> = rows
            .iter()
            .map(|m| (m.name.as_str(), m.generated, m.real, m.published))
            .collect();
        assert_eq!(
            cells,
            [
                ("molecule_validity", Some(0.5), None, Some(0.975)),
                ("molecule_uniqueness", Some(0.9), None, Some(0.999)),
                ("molecule_novelty", Some(0.8), None, Some(0.842)),
                ("molecule_unique_at_1000", Some(0.95), None, Some(1.0)),
            ]
        );
    }
}
