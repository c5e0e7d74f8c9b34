//! The table `seddbio eval` prints: every statistic of the generated set beside the floor or
//! the reference set, a section per part of the evaluation.

use std::fmt::Write as _;

use crate::eval::evaluation::{
    Chemistry, Composition, Evaluation, LabelComparison, ModelBound, MotifFigures, NoveltyFigures,
    SiteRule, MOSES_CHARRNN, UNIQUE_AT,
};

/// The whole table, ending with a newline.
pub fn table(evaluation: &Evaluation) -> String {
    let mut table = String::new();
    kmers(&mut table, evaluation);
    sets(&mut table, evaluation);
    if let Some(novelty) = &evaluation.novelty {
        self::novelty(&mut table, novelty);
    }
    if let Some(chemistry) = &evaluation.chemistry {
        self::chemistry(&mut table, chemistry);
    }
    if let Some(model) = &evaluation.model {
        self::model(&mut table, model);
    }
    if let Some(labels) = &evaluation.labels {
        self::labels(&mut table, labels);
    }
    if let Some(motifs) = &evaluation.motifs {
        self::motifs(&mut table, motifs);
    }
    table
}

/// The sets and the floor, then a row per k-mer size: divergences beside their floors.
fn kmers(table: &mut String, evaluation: &Evaluation) {
    let (generated, reference) = (&evaluation.generated, &evaluation.reference);
    let _ = writeln!(
        table,
        "generated {} sequences ({}), reference {} ({}), floor: {}",
        generated.count(),
        generated.path.display(),
        reference.count(),
        reference.path.display(),
        evaluation.floor
    );
    let _ = writeln!(
        table,
        "\n{:<8}{:>12}{:>12}{:>10}{:>10}{:>9}{:>9}",
        "k-mers", "JS bits", "floor", "L1", "floor", "r", "floor"
    );
    for size in &evaluation.kmers.sizes {
        let (model, floor) = (&size.generated_vs_reference, &size.floor);
        let _ = writeln!(
            table,
            "k={:<6}{:>12.5}{:>12.5}{:>10.4}{:>10.4}{:>9.4}{:>9.4}",
            size.k, model.js_bits, floor.js_bits, model.l1, floor.l1, model.pearson, floor.pearson
        );
    }
}

/// One statistic of the generated and the reference set.
fn side_by_side(table: &mut String, label: &str, generated: f64, reference: f64) {
    let _ = writeln!(table, "{label:<44}{generated:>12.4}{reference:>12.4}");
}

/// The sets' own figures: lengths, GC, composition and diversity.
fn sets(table: &mut String, evaluation: &Evaluation) {
    let (g, r) = (&evaluation.generated, &evaluation.reference);
    let _ = writeln!(table, "\n{:<44}{:>12}{:>12}", "", "generated", "reference");
    side_by_side(table, "mean length", g.mean_length, r.mean_length);
    let _ = writeln!(
        table,
        "{:<44}{:>12}{:>12}",
        "length min-max",
        format!("{}-{}", g.min_length, g.max_length),
        format!("{}-{}", r.min_length, r.max_length)
    );
    if let (Some(g), Some(r)) = (g.mean_gc, r.mean_gc) {
        side_by_side(table, "mean GC fraction", g, r);
    }
    if let Some(composition) = &evaluation.composition {
        self::composition(table, composition);
    }
    side_by_side(
        table,
        "distinct fraction",
        g.distinct_fraction,
        r.distinct_fraction,
    );
    side_by_side(
        table,
        "mean pairwise identity",
        g.mean_pairwise_identity,
        r.mean_pairwise_identity,
    );
}

/// Each amino acid's share, generated minus reference, in percentage points.
fn composition(table: &mut String, composition: &Composition) {
    let mut row = String::new();
    for ((symbol, g), r) in composition
        .symbols
        .iter()
        .zip(&composition.generated)
        .zip(&composition.reference)
    {
        let _ = write!(row, " {symbol}{:+.1}", 100.0 * (g - r));
    }
    let _ = writeln!(
        table,
        "amino-acid composition, generated - reference (percentage points):\n {row}"
    );
}

/// Copies of training sequences and the median nearest identity.
fn novelty(table: &mut String, novelty: &NoveltyFigures) {
    let (g, r) = (&novelty.generated, &novelty.reference);
    side_by_side(
        table,
        "copies of training seqs",
        g.copied_fraction,
        r.copied_fraction,
    );
    let label = format!(
        "median nearest identity ({} training seqs)",
        novelty.neighbours
    );
    side_by_side(
        table,
        &label,
        g.median_nearest_identity,
        r.median_nearest_identity,
    );
}

/// Validity, uniqueness and novelty beside MOSES CharRNN, and what checked the molecules.
fn chemistry(table: &mut String, chemistry: &Chemistry) {
    let _ = writeln!(
        table,
        "\nmolecules, checked by {}:\n{:<40}{:>12}{:>16}",
        chemistry.checker, "", "generated", "MOSES CharRNN"
    );
    let ours = [
        chemistry.validity,
        chemistry.uniqueness,
        chemistry.novelty.unwrap_or(f64::NAN),
    ];
    for ((name, charrnn), value) in MOSES_CHARRNN.iter().zip(ours) {
        match value.is_nan() {
            true => {
                let _ = writeln!(table, "{name:<40}{:>12}{charrnn:>16.3}", "(training set)");
            }
            false => {
                let _ = writeln!(table, "{name:<40}{value:>12.4}{charrnn:>16.3}");
            }
        }
    }
    for (&(k, fraction), (_, charrnn)) in chemistry.unique_at.iter().zip(UNIQUE_AT) {
        let name = format!("unique@{k}");
        let _ = writeln!(table, "{name:<40}{fraction:>12.4}{charrnn:>16.3}");
    }
    if let Some(similarity) = &chemistry.similarity {
        let _ = writeln!(
            table,
            "\nsimilarity, {} (SNN: to {} reference molecules; Scaf: Murcko scaffolds of {}):\n{:<40}{:>12}{:>16}",
            similarity.fingerprint,
            similarity.reference_used,
            similarity.scaffold_reference,
            "",
            "generated",
            "floor"
        );
        let ours = [
            similarity.int_div1,
            similarity.int_div2,
            similarity.snn,
            similarity.scaffold,
        ];
        let names = ["IntDiv1", "IntDiv2", "SNN", "Scaf"];
        for (k, (name, value)) in names.iter().zip(ours).enumerate() {
            let floor = similarity
                .floor
                .map_or("-".to_string(), |f| format!("{:.4}", f[k]));
            let _ = writeln!(table, "{name:<40}{value:>12.4}{floor:>16}");
        }
    }
    if chemistry.properties.is_empty() {
        return;
    }
    let _ = writeln!(
        table,
        "
property distributions, 1-Wasserstein to the reference:
{:<40}{:>12}{:>16}",
        "", "generated", "floor"
    );
    for property in &chemistry.properties {
        let floor = property
            .floor
            .map_or("-".to_string(), |f| format!("{f:.4}"));
        let _ = writeln!(
            table,
            "{:<40}{:>12.4}{floor:>16}",
            property.name, property.distance
        );
    }
}

/// The bound of both sets under the model, with its standard error.
fn model(table: &mut String, model: &ModelBound) {
    let (g, r) = (&model.generated, &model.reference);
    let _ = writeln!(
        table,
        "\nmodel {} (step {}), ELBO bound, {} times/sequence:\n{:<32}{:>18}{:>18}\n{:<32}{:>18}{:>18}",
        model.name,
        model.step,
        model.num_t,
        "",
        format!("generated ({})", g.sequences),
        format!("reference ({})", r.sequences),
        "bits/token",
        format!("{:.4}±{:.4}", g.bits_per_token, g.standard_error),
        format!("{:.4}±{:.4}", r.bits_per_token, r.standard_error)
    );
}

/// Each label's sizes and k-mer divergences; the motifs that tell the labels apart most in the
/// real sequences, with their rates per label; the enrichment's correlation.
fn labels(table: &mut String, labels: &LabelComparison) {
    let _ = writeln!(table, "\nby label:");
    for label in &labels.labels {
        let mut line = format!(
            "{:<12} {} generated, {} reference;",
            label.label, label.generated, label.reference
        );
        for kmer in &label.kmers {
            let _ = write!(
                line,
                " {}-mer JS {:.5} (floor {:.5})",
                kmer.k, kmer.js_bits, kmer.floor_js_bits
            );
        }
        let _ = writeln!(table, "{line}");
    }
    if !labels.motifs.is_empty() {
        let _ = writeln!(
            table,
            "{:<12}{:<14}{}",
            "motif",
            "name",
            labels
                .labels
                .iter()
                .map(|l| format!("{:>22}", format!("{} gen / real", l.label)))
                .collect::<String>()
        );
        // The spread of a motif's real rates across the labels.
        let spread = |m: usize| {
            let real: Vec<f64> = labels
                .labels
                .iter()
                .map(|l| l.hit_rates[m].reference)
                .collect();
            real.iter().copied().fold(f64::MIN, f64::max)
                - real.iter().copied().fold(f64::MAX, f64::min)
        };
        let mut order: Vec<usize> = (0..labels.motifs.len()).collect();
        order.sort_by(|&a, &b| spread(b).total_cmp(&spread(a)));
        for &m in order.iter().take(10) {
            let cells: String = labels
                .labels
                .iter()
                .map(|l| {
                    let rates = l.hit_rates[m];
                    let cell = format!(
                        "{:.1}% / {:.1}%",
                        100.0 * rates.generated,
                        100.0 * rates.reference
                    );
                    format!("{cell:>22}")
                })
                .collect();
            let motif = &labels.motifs[m];
            let _ = writeln!(table, "{:<12}{:<14}{cells}", motif.id, motif.name);
        }
    }
    if let (Some(enrichment), [a, b, ..]) = (&labels.enrichment, labels.labels.as_slice()) {
        let _ = writeln!(
            table,
            "motif enrichment {} vs {} (log2 hit-rate ratio), generated against real over {} motifs: r = {:.4}",
            a.label,
            b.label,
            labels.motifs.len(),
            enrichment.correlation
        );
    }
}

/// The motifs' rule and correlation, and the twelve most frequent in the reference.
fn motifs(table: &mut String, motifs: &MotifFigures) {
    let rule = match motifs.rule {
        SiteRule::PValue(p) => format!("p <= {p} per site and strand"),
        SiteRule::RelativeScore(score) => format!("relative score >= {score}"),
    };
    let _ = writeln!(
        table,
        "\nmotifs: {} from {}, {rule}; hit-rate correlation generated vs reference r = {:.4}",
        motifs.motifs.len(),
        motifs.source.display(),
        motifs.correlation
    );
    let mut by_reference: Vec<_> = motifs.motifs.iter().collect();
    by_reference.sort_by(|a, b| b.rates.reference.total_cmp(&a.rates.reference));
    let _ = writeln!(
        table,
        "{:<12}{:<12}{:>16}{:>16}",
        "motif", "name", "generated hits", "reference hits"
    );
    for m in by_reference.iter().take(12) {
        let _ = writeln!(
            table,
            "{:<12}{:<12}{:>15.1}%{:>15.1}%",
            m.motif.id,
            m.motif.name,
            100.0 * m.rates.generated,
            100.0 * m.rates.reference
        );
    }
}
