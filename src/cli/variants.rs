//! `seddbio score --wild-type SEQ --variants FILE`: variant effects under a trained model.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use seddbio::{
    io::{csv_field, OutputFormat},
    run::TrainedModel,
    variant::{self, Estimator, VariantScoring},
};

use super::{choice, print_stdout, print_summary};

/// The variant-effect options of `score`.
#[derive(Debug, Args)]
pub struct VariantArgs {
    /// Score mutations of this wild type (its letters, or a FASTA file with one sequence)
    /// instead of whole sequences; needs --variants.
    #[arg(long, value_name = "SEQ_OR_FILE", requires = "variants")]
    pub wild_type: Option<String>,
    /// The mutations: one per line (`H24A`, multi-mutants `H24A:P25G`, positions 1-based), or
    /// a CSV/TSV table with a `mutant` (or `mutation`, `variant`) column.
    #[arg(long, value_name = "FILE", requires = "wild_type")]
    pub variants: Option<PathBuf>,
    /// With --variants: the table's mutation column.
    #[arg(long, value_name = "COLUMN", requires = "variants")]
    pub variant_column: Option<String>,
    /// With --variants: the number the file gives the wild type's first residue (e.g. 24 when
    /// the wild type starts at residue 24 of the file's numbering).
    #[arg(
        long,
        default_value_t = 1,
        allow_negative_numbers = true,
        requires = "variants"
    )]
    pub offset: i64,
    /// With --variants: leave out (and count) mutations at positions outside the wild type
    /// instead of stopping at the first.
    #[arg(long, requires = "variants")]
    pub skip_out_of_range: bool,
    /// With --variants: masked-marginal (absorbing models; exact, one network call per set of
    /// mutated positions) or elbo-difference (any model; the bounds' difference at common
    /// times and noise, with its standard error) [default: masked-marginal for absorbing
    /// models, elbo-difference for uniform ones].
    #[arg(long, value_parser = choice::<Estimator>(), requires = "variants")]
    pub estimator: Option<Estimator>,
}

/// Where `score` sends variant scores and how.
pub struct VariantOutput<'a> {
    /// The output (`-`: standard output).
    pub out: &'a Path,
    /// One JSON document instead of the table (with the table inside when `out` is `-`).
    pub json: bool,
    /// Times per variant of the ELBO difference.
    pub num_t: usize,
    /// Rows per network call.
    pub batch_size: usize,
    /// Seed of the ELBO difference's times and noise.
    pub seed: u64,
}

/// Reads the wild type and variants, scores them, writes the table and the summary.
pub fn run(trained: &TrainedModel, args: &VariantArgs, output: &VariantOutput) -> Result<()> {
    let (Some(wild_type), Some(path)) = (&args.wild_type, &args.variants) else {
        anyhow::bail!("--wild-type and --variants go together");
    };
    let estimator = args
        .estimator
        .unwrap_or_else(|| Estimator::default_for(trained.graph.kind));
    let read = variant::read_variants(path, args.variant_column.as_deref(), args.offset)?;
    let (origin, wild) = variant::read_wild_type(wild_type)?;
    let prepared = variant::prepare(
        &trained.alphabet,
        (&origin, &wild),
        read,
        path,
        args.skip_out_of_range,
    )?;
    let scoring = VariantScoring {
        estimator,
        num_t: output.num_t,
        batch_size: output.batch_size,
        seed: output.seed,
    };
    let bar = super::progress(None, "{spinner} {pos} network rows {per_sec}")?;
    let scores = variant::score_prepared(trained, &prepared, &scoring, &mut |n| bar.inc(n as u64))?;
    bar.finish_and_clear();
    let rows: Vec<(&str, f64, Option<f64>)> = prepared
        .variants
        .iter()
        .zip(&scores)
        .map(|((read, _), s)| (read.variant.name(), s.nats, s.std_error))
        .collect();
    let scores_in_json = output.json && seddbio::io::is_stdio(output.out);
    if !scores_in_json {
        super::score::write_csv(output.out, &table(&rows, estimator, output.out))?;
    }
    let skipped = match prepared.out_of_range {
        0 => String::new(),
        n => format!("; {n} outside the wild type left out"),
    };
    if output.json {
        let mut json = serde_json::json!({
            "variants_file": path.display().to_string(),
            "wild_type": origin,
            "wild_type_length": prepared.wild.len(),
            "estimator": estimator.to_string(),
            "variants": rows.len(),
            "out_of_range": prepared.out_of_range,
            "num_t": (estimator == Estimator::ElboDifference).then_some(output.num_t),
            "out": output.out.display().to_string(),
        });
        if !scores_in_json {
            return print_summary(output.out, &format!("{json:#}\n"));
        }
        json["scores"] = rows
            .iter()
            .map(|(name, nats, se)| serde_json::json!({"mutation": name, "score_nats": nats, "score_se_nats": se}))
            .collect();
        return print_stdout(&format!("{json:#}\n"));
    }
    print_summary(
        output.out,
        &format!(
            "{} variants of a {}-residue wild type scored by {estimator} (log p(mutant) - log p(wild type), nats){skipped}; written to {}\n",
            rows.len(),
            prepared.wild.len(),
            super::output_name(output.out)
        ),
    )
}

/// The scores as CSV, or TSV when the output's name says so: mutation, score, its standard
/// error (empty for exact estimators), the estimator.
fn table(rows: &[(&str, f64, Option<f64>)], estimator: Estimator, out: &Path) -> String {
    let tsv = OutputFormat::from_path(out) == Some(OutputFormat::Tsv);
    let separator = if tsv { "\t" } else { "," };
    let field = |text: &str| match tsv {
        true => text.to_string(),
        false => csv_field(text),
    };
    let mut table = ["mutation", "score_nats", "score_se_nats", "estimator"].join(separator);
    table.push('\n');
    for (name, nats, se) in rows {
        let se = se.map_or(String::new(), |se| format!("{se:.6}"));
        let cells = [field(name), format!("{nats:.6}"), se, estimator.to_string()];
        table.push_str(&cells.join(separator));
        table.push('\n');
    }
    table
}

/// The options of `eval --variants`: variant scores against measured effects.
#[derive(Debug, Args)]
pub struct EffectArgs {
    /// Instead of --generated: variant scores to judge (`score --variants` output, or any
    /// CSV/TSV with a mutation column and one or more columns of scores), against --labels.
    #[arg(long, value_name = "SCORES", requires = "labels", conflicts_with_all = ["generated", "sweep"])]
    pub variants: Option<PathBuf>,
    /// With --variants: the measurements (a scan table with a `mutant` column).
    #[arg(long, value_name = "FILE", requires = "variants")]
    pub labels: Option<PathBuf>,
    /// With --variants: the measured column of --labels (e.g. 2500 for TEM-1 under 2,500 µg/ml
    /// ampicillin): Spearman's rho against it.
    #[arg(long, value_name = "COLUMN", requires = "variants")]
    pub effect_column: Option<String>,
    /// With --variants: the column holds classes; the AUROC of each score for this class (the
    /// chance that one of its variants scores above one of the others).
    #[arg(long, value_name = "VALUE", requires = "effect_column")]
    pub positive: Option<String>,
    /// With --variants: bootstrap resamples of the variants for the 95 % intervals.
    #[arg(long, default_value_t = 1000, requires = "variants")]
    pub bootstrap: usize,
}

/// `eval --variants SCORES --labels FILE --effect-column COLUMN`: a row per score column,
/// printed and, with `out`, written as CSV.
pub fn evaluate(args: &EffectArgs, out: Option<&Path>, seed: u64) -> Result<()> {
    let (Some(scores), Some(labels)) = (&args.variants, &args.labels) else {
        anyhow::bail!("--variants and --labels go together");
    };
    let Some(column) = &args.effect_column else {
        anyhow::bail!("--variants: name the measured column of --labels with --effect-column");
    };
    if let Some(out) = out {
        seddbio::io::refuse_overwriting_inputs(out, &[scores, labels])?;
    }
    let columns = seddbio::eval::read_score_columns(scores)?;
    let measured = seddbio::eval::read_measured(labels, column, args.positive.as_deref())?;
    let rows = seddbio::eval::agreement(&columns, &measured, args.bootstrap, seed);
    let mut csv = String::from("score_column,variants,statistic,value,ci_low,ci_high\n");
    let mut text = format!(
        "{:<24}{:>10}{:>10}{:>10}   95 % interval ({} resamples)\n",
        "scores", "variants", "", "value", args.bootstrap
    );
    for row in &rows {
        let (low, high) = row.interval;
        csv.push_str(&format!(
            "{},{},{},{:.6},{low:.6},{high:.6}\n",
            csv_field(&row.column),
            row.variants,
            row.kind,
            row.statistic
        ));
        text.push_str(&format!(
            "{:<24}{:>10}{:>10}{:>10.4}   [{low:.4}, {high:.4}]\n",
            row.column, row.variants, row.kind, row.statistic
        ));
    }
    if let Some(out) = out {
        super::score::write_csv(out, &csv)?;
        text.push_str(&format!("written to {}\n", super::output_name(out)));
    }
    print_stdout(&text)
}
