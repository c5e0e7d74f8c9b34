//! `seddbio eval`: generated versus reference sequences, beside the real-vs-real floor.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use seddbio::{
    alphabet::Alphabet,
    data::UnknownPolicy,
    eval::{
        evaluate, kmer_sizes, per_sequence, per_sequence_csv, render, sweep, Evaluation,
        ModelCheck, MotifSet, PerSequenceOptions, ReportOptions, SweepPoint, SweepProgress,
        SweepRun,
    },
    io::{read_sequences, Format, LabelSource, ReadOptions},
    model::ComputeDevice,
    run::{open_model, TrainedModel, Weights},
};

use super::{choice, print_stdout};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Generated sequences (FASTA, CSV, TSV or SMILES; gzip allowed).
    #[arg(long, required_unless_present_any = ["sweep", "variants"], conflicts_with = "sweep")]
    pub generated: Option<PathBuf>,
    /// Instead of --generated: sample from --model under each of these settings
    /// (`;`-separated; each `key=value,...` of sampler, steps, temperature or t, top-p, order,
    /// remask-cap, label, guidance; `model` is the model's own process) or `standard` (a grid
    /// of temperatures, nucleus sizes, confidence order and remasking), evaluate each, and
    /// write sweep.csv (a row per setting) and sweep.svg (fidelity against diversity).
    #[arg(long, value_delimiter = ';', requires = "model")]
    pub sweep: Vec<String>,
    /// With --sweep: samples per setting.
    #[arg(long, default_value_t = 400)]
    pub sweep_samples: usize,
    /// Reference (held-out real) sequences.
    #[arg(long, required_unless_present_any = ["variants", "shard"])]
    pub reference: Option<PathBuf>,
    /// Training sequences: novelty, and the floor (training subsets as large as the generated
    /// set vs the reference) instead of reference subsets vs the rest of the reference.
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Alphabet: dna, rna, protein, smiles, selfies, or a TOML file.
    #[arg(long, short = 'a', required_unless_present = "variants")]
    pub alphabet: Option<String>,
    /// k-mer sizes: a range such as 1..6, or one k.
    #[arg(long, default_value = "1..6")]
    pub k: String,
    /// Count a k-mer and its reverse complement as one (DNA, RNA).
    #[arg(long)]
    pub canonical: bool,
    /// Motif file (JASPAR .jaspar or MEME) to scan every set with, both strands.
    #[arg(long)]
    pub motifs: Option<PathBuf>,
    /// Relative PWM score (0-1) a site needs to count as a hit.
    #[arg(long, default_value_t = 0.85, value_parser = super::finite)]
    pub motif_threshold: f64,
    /// Instead of --motif-threshold: the p-value a site needs (per site and strand, against
    /// uniform i.i.d. bases), e.g. 1e-4; converted to each motif's own score threshold.
    #[arg(long, value_parser = super::finite)]
    pub motif_p_value: Option<f64>,
    /// Motif whose hits per position are profiled and plotted, e.g. MA0108.3.
    #[arg(long)]
    pub motif_profile: Option<String>,
    /// Sequence column of CSV/TSV inputs [default: sequence, seq or smiles].
    #[arg(long)]
    pub column: Option<String>,
    /// Input format of all files [default: from each extension].
    #[arg(long, value_parser = choice::<Format>())]
    pub format: Option<Format>,
    /// Symbols outside the alphabet: error, skip, split or strip.
    #[arg(long, default_value = "error", value_parser = choice::<UnknownPolicy>())]
    pub on_unknown: UnknownPolicy,
    /// Run directory of a trained model, or a bundled model's name: adds the ELBO bound
    /// (bits/token) of the reference (held-out bits/token) and of the generated set under it.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// With --model: times per sequence of the stratified ELBO estimate.
    #[arg(long, default_value_t = 16)]
    pub num_t: usize,
    /// With --model: score at most this many sequences of each set (the first ones).
    #[arg(long, default_value_t = 500)]
    pub model_sequences: usize,
    /// Labelled sets (conditional models): the label of each FASTA/FASTQ record, from its
    /// KEY=value word (seddbio's samples carry label=...); adds a label-by-label comparison.
    #[arg(long, value_name = "KEY")]
    pub label_key: Option<String>,
    /// Labelled sets: the label of each CSV/TSV row, from this column (e.g. cell_type); may
    /// be given with --label-key, each file then uses what fits its format.
    #[arg(long, value_name = "COLUMN")]
    pub label_column: Option<String>,
    /// Seed of the floor's random subsets and of --model's ELBO estimate.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Report directory: summary.csv, kmer.csv, motifs.csv, sequences.csv and SVG plots
    /// (with --variants: a CSV file, optional; with --shard: the per-sequence CSV file, - for
    /// standard output).
    #[arg(long, short = 'o', required_unless_present = "variants")]
    pub out: Option<PathBuf>,
    /// Instead of the report: the per-sequence figures of shard K of N of --generated
    /// (counted from 0): index, id, length, GC, the bound under --model (every sequence of
    /// the shard), the nearest --train identity, and for molecules validity and canonical
    /// SMILES, as CSV at --out. The N tables concatenated in shard order (one header) are the
    /// table of --shard 0/1; set-level figures need the whole set (run eval without --shard).
    #[arg(long, value_name = "K/N", value_parser = super::parse::shard, conflicts_with_all = ["sweep", "variants"])]
    pub shard: Option<seddbio::shard::Shard>,
    #[command(flatten)]
    pub variants: super::variants::EffectArgs,
    /// Print summary.csv's figures as one JSON object (for pipelines) instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: EvalArgs) -> Result<()> {
    if !args.variants.variants.is_empty() {
        return super::variants::evaluate(&args.variants, args.out.as_deref(), args.seed);
    }
    if let Some(shard) = args.shard {
        return run_per_sequence(&args, shard);
    }
    let (Some(reference), Some(alphabet), Some(out)) = (&args.reference, &args.alphabet, &args.out)
    else {
        bail!("--reference, --alphabet and --out are needed (unless --variants)");
    };
    let paths = Paths {
        reference,
        alphabet,
        out,
    };
    let ks = kmer_sizes(&args.k)?;
    let alphabet = Alphabet::resolve(alphabet)?;
    let options = ReadOptions {
        format: args.format,
        column: args.column.clone(),
        ..ReadOptions::default()
    };
    // Labels by format: KEY=value words in FASTA/FASTQ, a column in CSV/TSV.
    let labelled = args.label_key.is_some() || args.label_column.is_some();
    let read = |path: &Path| {
        let format = args.format.or_else(|| Format::from_path(path));
        let (column, key) = (args.label_column.as_deref(), args.label_key.as_deref());
        let label = LabelSource::for_format(format, column, key);
        let options = ReadOptions {
            label,
            ..options.clone()
        };
        read_sequences(path, &options, None)
    };
    let reference_file = read(paths.reference)?;
    let train_file = args.train.as_deref().map(read).transpose()?;
    if args.canonical && alphabet.complements().is_none() {
        bail!(
            "--canonical needs an alphabet with complements; {} has none",
            alphabet.name()
        );
    }
    if labelled && args.on_unknown != UnknownPolicy::Error {
        bail!("--label-key/--label-column need --on-unknown error (records must stay one to one with their labels)");
    }
    let options = ReportOptions {
        ks,
        canonical: args.canonical,
        motifs: args.motifs.as_deref().map(MotifSet::read).transpose()?,
        motif_threshold: args.motif_threshold,
        motif_p_value: args.motif_p_value,
        motif_profile: args.motif_profile.clone(),
        labelled,
        seed: args.seed,
        on_unknown: args.on_unknown,
    };
    options.check()?;
    let trained = match &args.model {
        Some(model) => {
            if args.num_t == 0 || args.model_sequences == 0 {
                bail!("--num-t and --model-sequences must be at least 1");
            }
            Some(TrainedModel::load(
                &open_model(model)?,
                ComputeDevice::Cpu.device()?,
                Weights::Ema,
            )?)
        }
        None => None,
    };
    if !args.sweep.is_empty() {
        let (Some(trained), Some(model)) = (&trained, &args.model) else {
            bail!("--sweep needs --model");
        };
        return run_sweep(
            (&args, &paths),
            trained,
            model,
            &alphabet,
            &reference_file,
            train_file.as_ref(),
            &options,
        );
    }
    let Some(generated) = &args.generated else {
        bail!("give --generated FILE or --sweep SETTINGS");
    };
    let generated_file = read(generated)?;
    let bar = super::progress(
        None,
        "{spinner} {pos} sequences scored under the model {per_sec}",
    )?;
    let mut check = match (&trained, &args.model) {
        (Some(trained), Some(model)) => Some(ModelCheck {
            trained,
            name: model.display().to_string(),
            num_t: args.num_t,
            max_sequences: args.model_sequences,
            progress: &mut |n| bar.inc(n as u64),
        }),
        _ => None,
    };
    let evaluation = evaluate(
        alphabet,
        &generated_file,
        &reference_file,
        train_file.as_ref(),
        &options,
        check.as_mut(),
    )?;
    drop(check);
    bar.finish_and_clear();
    write_report(&args, &paths, &evaluation)?;
    if args.json {
        return print_stdout(&format!("{:#}\n", render::json(&evaluation, paths.out)));
    }
    print_stdout(&format!(
        "{}\nreport written to {}\n",
        render::table(&evaluation),
        paths.out.display()
    ))
}

/// `eval --shard K/N`: the per-sequence figures of one shard of the generated set.
fn run_per_sequence(args: &EvalArgs, shard: seddbio::shard::Shard) -> Result<()> {
    let (Some(generated), Some(alphabet), Some(out)) = (&args.generated, &args.alphabet, &args.out)
    else {
        bail!("--shard needs --generated, --alphabet and --out (the per-sequence CSV file)");
    };
    let mut inputs: Vec<&Path> = vec![generated];
    inputs.extend(args.train.as_deref());
    inputs.extend(args.model.as_deref());
    seddbio::io::refuse_overwriting_inputs(out, &inputs)?;
    let alphabet = Alphabet::resolve(alphabet)?;
    let options = ReadOptions {
        format: args.format,
        column: args.column.clone(),
        ..ReadOptions::default()
    };
    let generated_file = read_sequences(generated, &options, None)?;
    let train_file = args
        .train
        .as_deref()
        .map(|path| read_sequences(path, &options, None))
        .transpose()?;
    let trained = match &args.model {
        Some(model) if args.num_t == 0 => {
            bail!("--num-t must be at least 1 (model {})", model.display())
        }
        Some(model) => Some(TrainedModel::load(
            &open_model(model)?,
            ComputeDevice::Cpu.device()?,
            Weights::Ema,
        )?),
        None => None,
    };
    let bar = super::progress(
        None,
        "{spinner} {pos} sequences scored under the model {per_sec}",
    )?;
    let mut progress = |n: usize| bar.inc(n as u64);
    let model = match (&trained, &args.model) {
        (Some(trained), Some(model)) => Some(ModelCheck {
            trained,
            name: model.display().to_string(),
            num_t: args.num_t,
            max_sequences: usize::MAX,
            progress: &mut progress,
        }),
        _ => None,
    };
    let table = per_sequence(
        alphabet,
        &generated_file,
        PerSequenceOptions {
            shard,
            seed: args.seed,
            on_unknown: args.on_unknown,
            train: train_file.as_ref(),
            model,
        },
    )?;
    bar.finish_and_clear();
    super::score::write_csv(out, &per_sequence_csv(&table))?;
    super::print_summary(
        out,
        &format!(
            "{} sequences (shard {} of {}) described; written to {}\n",
            table.rows.len(),
            shard.describe(),
            generated.display(),
            super::output_name(out)
        ),
    )
}

/// The paths an evaluation of generated sequences needs (`--variants` needs none of them).
struct Paths<'a> {
    reference: &'a Path,
    alphabet: &'a str,
    out: &'a Path,
}

/// The inputs of the evaluation, which no output may replace.
fn inputs<'a>(args: &'a EvalArgs, paths: &Paths<'a>) -> Vec<&'a Path> {
    let mut inputs: Vec<&Path> = args.generated.iter().map(PathBuf::as_path).collect();
    inputs.push(paths.reference);
    inputs.extend(args.train.as_deref());
    inputs.extend(args.motifs.as_deref());
    inputs.push(Path::new(paths.alphabet));
    inputs.extend(args.model.as_deref());
    inputs
}

/// The report folder, refusing to write over any input of the evaluation.
fn write_report(args: &EvalArgs, paths: &Paths, evaluation: &Evaluation) -> Result<()> {
    Ok(render::files(evaluation).write(paths.out, &inputs(args, paths))?)
}

/// `--sweep`: every setting's samples and report in `OUT/NN_setting/`, then `OUT/sweep.csv`
/// and `OUT/sweep.svg`, and the table's key columns printed.
fn run_sweep(
    (args, paths): (&EvalArgs, &Paths),
    trained: &TrainedModel,
    model: &Path,
    alphabet: &Alphabet,
    reference: &seddbio::io::SequenceFile,
    train: Option<&seddbio::io::SequenceFile>,
    options: &ReportOptions,
) -> Result<()> {
    let graph = trained.graph.kind;
    let mut points = Vec::new();
    for text in &args.sweep {
        match text.trim() {
            "standard" => points.extend(SweepPoint::standard(graph)?),
            text => points.push(
                SweepPoint::parse(text, graph)
                    .with_context(|| format!("--sweep for the model at {}", model.display()))?,
            ),
        }
    }
    if args.sweep_samples == 0 {
        bail!("--sweep-samples must be at least 1");
    }
    let run = SweepRun {
        trained,
        alphabet,
        reference,
        train,
        options,
        model_name: model.display().to_string(),
        samples: args.sweep_samples,
        batch_size: 64,
        seed: args.seed,
        num_t: args.num_t,
        max_scored: args.model_sequences,
    };
    let bar = super::progress(
        None,
        "{spinner} {pos} sequences sampled and scored {per_sec} | {msg}",
    )?;
    let result = sweep(
        &run,
        &points,
        paths.out,
        &inputs(args, paths),
        &mut |event| match event {
            SweepProgress::Point {
                index,
                total,
                description,
            } => {
                note!("setting {}/{total}: {description}", index + 1);
                bar.set_message(description.to_string());
            }
            SweepProgress::Sequences(n) => bar.inc(n as u64),
        },
    )?;
    bar.finish_and_clear();
    result.files().write(paths.out, &inputs(args, paths))?;
    print_stdout(&format!(
        "{}\nsweep of {} settings written to {} (sweep.csv, sweep.svg, a report per setting)\n",
        sweep_table(&result),
        result.rows.len(),
        paths.out.display()
    ))
}

/// The columns a user reads first: the samples' bits against the held-out sequences', the
/// k-mer divergences over their floor, diversity, novelty and, for SMILES, validity.
fn sweep_table(result: &seddbio::eval::Sweep) -> String {
    let width = result
        .rows
        .iter()
        .map(|row| row.point.len() + 2)
        .fold(28, usize::max);
    let mut text = format!(
        "{:<width$}{:>8}{:>16}{:>22}{:>10}{:>10}{:>10}",
        "setting", "NFE", "bits (real)", "JS/floor by k", "distinct", "identity", "valid"
    );
    for row in &result.rows {
        let value = |name: &str| (row.value(name, false), row.value(name, true));
        let bits = match value("model_elbo_bits_per_token") {
            (Some(g), Some(r)) => format!("{g:.3} ({r:.3})"),
            _ => "-".into(),
        };
        let ratios: Vec<String> = (1..=6)
            .filter_map(|k| match value(&format!("kmer_{k}_js_bits")) {
                (Some(g), Some(f)) if f > 0.0 => Some(format!("{:.1}", g / f)),
                _ => None,
            })
            .collect();
        let single = |name: &str| value(name).0.map_or("-".to_string(), |v| format!("{v:.3}"));
        let valid = value("molecule_validity")
            .0
            .or(value("smiles_syntax_validity").0)
            .map_or("-".to_string(), |v| format!("{v:.3}"));
        text.push_str(&format!(
            "\n{:<width$}{:>8.1}{:>16}{:>22}{:>10}{:>10}{:>10}",
            row.point,
            row.nfe_per_sequence,
            bits,
            ratios.join(" "),
            single("distinct_fraction"),
            single("mean_pairwise_identity"),
            valid
        ));
    }
    text
}
