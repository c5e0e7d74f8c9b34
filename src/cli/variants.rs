//! `seddbio score --wild-type SEQ --variants FILE`: variant effects under a trained model.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use seddbio::{
    alphabet::Alphabet,
    baseline::SiteIndependentModel,
    data::thousands,
    io::{csv_field, read_sequences, OutputFormat, ReadOptions},
    run::TrainedModel,
    variant::{self, Estimator, Placement, PreparedVariants, VariantScoring},
};

use super::{choice, print_stdout, print_summary};

/// The wild type and its mutations, for `score` and the baselines.
#[derive(Debug, Args)]
pub struct MutationArgs {
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
    /// (or, for the site-independent model, off the alignment's match columns) instead of
    /// stopping at the first.
    #[arg(long, requires = "variants")]
    pub skip_out_of_range: bool,
    /// With --variants: the alignment of the family the model was trained on (aligned FASTA,
    /// A2M or A3M, gaps stripped for training). The wild type is placed on it (aligned to its
    /// consensus) and only its residues on match columns are scored, as the model saw the
    /// family's sequences; a mutation elsewhere is out of range.
    #[arg(long, value_name = "ALIGNMENT", requires = "variants")]
    pub align_to: Option<PathBuf>,
}

/// The wild type and variants as read and checked.
pub struct ReadMutations<'a> {
    /// The variants file.
    pub path: &'a Path,
    /// Where the wild type came from, for messages.
    pub origin: String,
    /// The wild type's letters.
    pub wild: String,
    /// The variants' number of the wild type's first residue.
    pub offset: i64,
    /// The variants as tokens of the alphabet.
    pub prepared: PreparedVariants,
    /// Where the wild type sits on an alignment, said in the summary.
    pub placement: Option<PlacementNote>,
}

/// A wild type's placement on an alignment, as the summary reports it.
pub struct PlacementNote {
    /// The alignment.
    pub alignment: PathBuf,
    /// Its match columns.
    pub columns: usize,
    /// Its rows, their effective number, and the theta of the homolog weights.
    pub rows: (usize, f64, f64),
    /// The first and last residue on a match column, in the variants' numbering.
    pub span: (i64, i64),
    /// Residues on a match column, and those identical to the consensus.
    pub placed: (usize, usize),
}

impl PlacementNote {
    fn text(&self) -> String {
        format!(
            "\nwild type on the {} match columns of {} ({} rows, {:.1} effective at theta {}): residues {}..{} (the variants' numbering), {} of them on a column, {} identical to the consensus",
            self.columns,
            self.alignment.display(),
            thousands(self.rows.0 as u64),
            self.rows.1,
            self.rows.2,
            self.span.0,
            self.span.1,
            self.placed.0,
            self.placed.1,
        )
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "alignment": self.alignment.display().to_string(),
            "columns": self.columns,
            "rows": self.rows.0,
            "effective_sequences": self.rows.1,
            "theta": self.rows.2,
            "placed_first": self.span.0,
            "placed_last": self.span.1,
            "placed_residues": self.placed.0,
            "identical_to_consensus": self.placed.1,
        })
    }
}

/// Fits the site-independent model of `alignment` (homolog weights at `theta`) and places
/// `read`'s wild type on it, keeping the mutations of residues on its match columns (the
/// others are errors, or counted with `skip`).
pub fn place_on_alignment(
    read: &mut ReadMutations,
    alignment: &Path,
    alphabet: &Alphabet,
    (theta, pseudocount): (f64, f64),
    skip: bool,
) -> Result<(SiteIndependentModel, Placement)> {
    let file = read_sequences(alignment, &ReadOptions::default(), None)?;
    let (model, effective) =
        SiteIndependentModel::from_alignment(&file, alphabet, theta, pseudocount)?;
    let placement = model.place(&read.wild, alphabet);
    let (first, last) = read.prepared.keep_placed(&placement, read.path, skip)?;
    let offset = read.offset;
    read.placement = Some(PlacementNote {
        alignment: alignment.to_path_buf(),
        columns: model.columns(),
        rows: (file.records.len(), effective, theta),
        span: (first as i64 + offset, last as i64 + offset),
        placed: (placement.placed(), placement.identical()),
    });
    Ok((model, placement))
}

impl MutationArgs {
    /// Whether variants are to be scored.
    pub fn given(&self) -> bool {
        self.variants.is_some()
    }

    /// The files read: the variants, the alignment, and the wild type when it is a file.
    pub fn inputs(&self) -> Vec<&Path> {
        let wild = self
            .wild_type
            .as_deref()
            .map(Path::new)
            .filter(|p| p.is_file());
        self.variants
            .as_deref()
            .into_iter()
            .chain(self.align_to.as_deref())
            .chain(wild)
            .collect()
    }

    /// Reads the wild type and the variants and checks each against `alphabet`.
    pub fn read(&self, alphabet: &Alphabet) -> Result<ReadMutations<'_>> {
        let (Some(wild_type), Some(path)) = (&self.wild_type, &self.variants) else {
            anyhow::bail!("--wild-type and --variants go together");
        };
        let read = variant::read_variants(path, self.variant_column.as_deref(), self.offset)?;
        let (origin, wild) = variant::read_wild_type(wild_type)?;
        let prepared = variant::prepare(
            alphabet,
            (&origin, &wild),
            read,
            path,
            self.skip_out_of_range,
        )?;
        let mut read = ReadMutations {
            path,
            origin,
            wild,
            prepared,
            offset: self.offset,
            placement: None,
        };
        if let Some(alignment) = &self.align_to {
            let (_, placement) = place_on_alignment(
                &mut read,
                alignment,
                alphabet,
                (0.2, 1.0),
                self.skip_out_of_range,
            )?;
            read.prepared.onto_columns(&placement);
        }
        Ok(read)
    }
}

/// The variant-effect options of `score`.
#[derive(Debug, Args)]
pub struct VariantArgs {
    #[command(flatten)]
    pub mutations: MutationArgs,
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
    /// The part of the variants to score: every variant is scored with the same times and
    /// noise, so a shard's rows are the whole run's rows for its variants.
    pub shard: seddbio::shard::Shard,
}

/// Reads the wild type and variants, scores them, writes the table and the summary.
pub fn run(trained: &TrainedModel, args: &VariantArgs, output: &VariantOutput) -> Result<()> {
    let estimator = args
        .estimator
        .unwrap_or_else(|| Estimator::default_for(trained.graph.kind));
    let mut read = args.mutations.read(&trained.alphabet)?;
    let items = output.shard.range(read.prepared.variants.len());
    read.prepared.variants = read.prepared.variants.drain(items).collect();
    let (length, model_length) = (read.prepared.wild.len(), trained.spec.seq_len);
    if length > model_length {
        anyhow::bail!(
            "{}: the wild type has {length} residues, more than the model's {model_length}: give the segment the model was trained on, or --align-to the family's alignment to score its residues on match columns",
            read.origin
        );
    }
    let scoring = VariantScoring {
        estimator,
        num_t: output.num_t,
        batch_size: output.batch_size,
        seed: output.seed,
    };
    let bar = super::progress(None, "{spinner} {pos} network rows {per_sec}")?;
    let scores = variant::score_prepared(trained, &read.prepared, &scoring, &mut |n| {
        bar.inc(n as u64)
    })?;
    bar.finish_and_clear();
    let scores: Vec<(f64, Option<f64>)> = scores.iter().map(|s| (s.nats, s.std_error)).collect();
    let extra = serde_json::json!({
        "num_t": (estimator == Estimator::ElboDifference).then_some(output.num_t),
    });
    write_scores(
        &read,
        &scores,
        &estimator.to_string(),
        (output.out, output.json),
        (extra, String::new()),
    )
}

/// Writes variant scores (one `(score, standard error)` per prepared variant) as a table to
/// `out` (`-`: standard output), or with `json` a JSON summary (holding the scores when `out`
/// is `-`); then the summary: `notes` adds fields to the JSON and a sentence to the text.
pub fn write_scores(
    read: &ReadMutations,
    scores: &[(f64, Option<f64>)],
    estimator: &str,
    (out, json): (&Path, bool),
    notes: (serde_json::Value, String),
) -> Result<()> {
    let rows: Vec<(&str, f64, Option<f64>)> = read
        .prepared
        .variants
        .iter()
        .zip(scores)
        .map(|((variant, _), &(nats, se))| (variant.variant.name(), nats, se))
        .collect();
    let scores_in_json = json && seddbio::io::is_stdio(out);
    if !scores_in_json {
        super::score::write_csv(out, &table(&rows, estimator, out))?;
    }
    let out_of_range = read.prepared.out_of_range;
    let skipped = match (out_of_range, &read.placement) {
        (0, _) => String::new(),
        (n, None) => format!("; {} outside the wild type left out", thousands(n as u64)),
        (n, Some(_)) => format!(
            "; {} outside the wild type or off the alignment left out",
            thousands(n as u64)
        ),
    };
    let placed = read
        .placement
        .as_ref()
        .map_or_else(String::new, PlacementNote::text);
    if json {
        let mut summary = serde_json::json!({
            "variants_file": read.path.display().to_string(),
            "wild_type": read.origin,
            "wild_type_length": read.prepared.wild.len(),
            "estimator": estimator,
            "variants": rows.len(),
            "out_of_range": out_of_range,
            "out": out.display().to_string(),
        });
        if let Some(placement) = &read.placement {
            summary["placement"] = placement.json();
        }
        if let (Some(summary), serde_json::Value::Object(extra)) =
            (summary.as_object_mut(), notes.0)
        {
            summary.extend(extra);
        }
        if !scores_in_json {
            return print_summary(out, &format!("{summary:#}\n"));
        }
        summary["scores"] = rows
            .iter()
            .map(|(name, nats, se)| serde_json::json!({"mutation": name, "score_nats": nats, "score_se_nats": se}))
            .collect();
        return print_stdout(&format!("{summary:#}\n"));
    }
    print_summary(
        out,
        &format!(
            "{} variants of a {}-residue wild type scored by {estimator} (log p(mutant) - log p(wild type), nats){skipped}; written to {}{}{placed}\n",
            thousands(rows.len() as u64),
            read.prepared.wild.len(),
            super::output_name(out),
            notes.1
        ),
    )
}

/// The scores as CSV, or TSV when the output's name says so: mutation, score, its standard
/// error (empty for exact estimators), the estimator.
fn table(rows: &[(&str, f64, Option<f64>)], estimator: &str, out: &Path) -> String {
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
        let cells = [field(name), format!("{nats:.6}"), se, field(estimator)];
        table.push_str(&cells.join(separator));
        table.push('\n');
    }
    table
}

/// The options of `eval --variants`: variant scores against measured effects.
#[derive(Debug, Args)]
pub struct EffectArgs {
    /// Instead of --generated: variant scores to judge (`score --variants` or `baseline`
    /// output, or any CSV/TSV with a mutation column and one or more columns of scores),
    /// against --labels. Several files (repeat the option) are compared on the variants they
    /// all score, each column named after its file.
    #[arg(long, value_name = "SCORES", requires = "labels", conflicts_with_all = ["generated", "sweep"])]
    pub variants: Vec<PathBuf>,
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
    let Some(labels) = &args.labels else {
        anyhow::bail!("--variants and --labels go together");
    };
    let Some(column) = &args.effect_column else {
        anyhow::bail!("--variants: name the measured column of --labels with --effect-column");
    };
    if let Some(out) = out {
        let mut inputs: Vec<&Path> = args.variants.iter().map(PathBuf::as_path).collect();
        inputs.push(labels);
        seddbio::io::refuse_overwriting_inputs(out, &inputs)?;
    }
    let mut columns = Vec::new();
    for scores in &args.variants {
        let read = seddbio::eval::read_score_columns(scores)?;
        let single = read.len() == 1;
        for (name, values) in read {
            let name = match (args.variants.len(), single) {
                (1, _) => name,
                (_, true) => file_stem(scores),
                (_, false) => format!("{}:{name}", file_stem(scores)),
            };
            columns.push((name, values));
        }
    }
    let shared = match columns.len() {
        1 => None,
        _ => Some(seddbio::eval::keep_shared_variants(&mut columns)),
    };
    let measured = seddbio::eval::read_measured(labels, column, args.positive.as_deref())?;
    let rows = seddbio::eval::agreement_with_differences(&columns, &measured, args.bootstrap, seed);
    let mut csv = String::from("score_column,variants,statistic,value,ci_low,ci_high\n");
    let mut text = format!(
        "{:<24}{:>10}{:>10}{:>10}   95 % interval ({} resamples)\n",
        "scores", "variants", "", "value", args.bootstrap
    );
    // The difference rows follow one row per column.
    let first_difference = columns.len();
    for (i, row) in rows.iter().enumerate() {
        let (low, high) = row.interval;
        csv.push_str(&format!(
            "{},{},{},{:.6},{low:.6},{high:.6}\n",
            csv_field(&row.column),
            row.variants,
            row.kind,
            row.statistic
        ));
        if i == first_difference {
            text.push_str("paired differences, the first column minus each other (each resample draws the same variants for both):\n");
        }
        let kind = row.kind.strip_suffix("_difference").unwrap_or(row.kind);
        text.push_str(&format!(
            "{:<24}{:>10}{:>10}{:>10.4}   [{low:.4}, {high:.4}]\n",
            row.column, row.variants, kind, row.statistic
        ));
    }
    if let Some(shared) = shared {
        text.push_str(&format!(
            "compared on the {shared} variants every score column has\n"
        ));
    }
    if let Some(out) = out {
        super::score::write_csv(out, &csv)?;
        text.push_str(&format!("written to {}\n", super::output_name(out)));
    }
    print_stdout(&text)
}

/// A score file's name without its extensions (`tem1.site.csv` -> `tem1.site`), naming its
/// column when several files are compared.
fn file_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    name.strip_suffix(".gz")
        .unwrap_or(&name)
        .rsplit_once('.')
        .map_or(name.as_str(), |(stem, _)| stem)
        .to_string()
}
