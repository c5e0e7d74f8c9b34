//! Command-line definitions: one file per subcommand.

/// An informational line on stderr (what a command is doing), left out under `--quiet`.
macro_rules! note {
    ($($arg:tt)*) => {
        if !$crate::cli::quiet() {
            eprintln!($($arg)*);
        }
    };
}

mod baseline;
mod bench;
mod data;
mod eval;
mod infill;
mod sample;
mod score;
mod train;

use std::{io::Write as _, path::PathBuf, time::Duration};

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, Parser, Subcommand};
use seddbio::{
    alphabet::Alphabet,
    choices::Choice,
    data::{prepare, LayoutKind, PrepareOptions, PreparedData, SplitMode, TooLong, UnknownPolicy},
    diffusion::GraphKind,
    io::OutputFormat,
    io::{Format, LabelSource, ReadOptions},
    model::ComputeDevice,
    run::{RunDir, RunSpec, TrainedModel, Weights},
    sample::Guidance,
    sample::{Generation, SamplerKind, SamplerSettings, UnmaskOrder, DEFAULT_REMASK_CAP},
    Setting,
};

/// Score Entropy Discrete Diffusion for DNA, RNA, protein and SMILES sequences.
///
/// Trains bidirectional diffusion models on sequence files, samples whole sequences with no
/// left-to-right bias, fills in templates around fixed motifs, and evaluates what it made.
#[derive(Debug, Parser)]
#[command(name = "seddbio", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Worker threads for the computation (one pool for the network, data and evaluation)
    /// [default: one per core].
    #[arg(long, global = true, value_parser = parse_threads)]
    threads: Option<usize>,
    /// No progress bars and no informational lines on stderr; results and errors only.
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
}

/// `--quiet`, set once before the command runs.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `--quiet` was given.
pub(crate) fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// A progress bar of `len` steps (a spinner for `None`) drawn with `template`; hidden under
/// `--quiet` (and by indicatif itself when stderr is not a terminal).
pub(crate) fn progress(len: Option<u64>, template: &str) -> Result<indicatif::ProgressBar> {
    if quiet() {
        return Ok(indicatif::ProgressBar::hidden());
    }
    let bar = match len {
        Some(len) => indicatif::ProgressBar::new(len),
        None => indicatif::ProgressBar::new_spinner(),
    };
    Ok(bar.with_style(
        indicatif::ProgressStyle::with_template(template).context("progress template")?,
    ))
}

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("'{s}' is not a number of threads (1 or more)")),
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read, inspect and export sequence data as the model will see it.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Train a score model on a sequence file: AdamW with warm-up, clipping and EMA, validation
    /// ELBO in bits/token, metrics.csv and loss.svg, checkpoints that resume exactly.
    Train(train::TrainArgs),
    /// Sample whole sequences from a trained model (Euler, analytic or first-hitting sampler).
    Sample(sample::SampleArgs),
    /// Fill in templates around fixed symbols, IUPAC sets and motifs, with no left-to-right
    /// bias.
    Infill(infill::InfillArgs),
    /// Compare generated sequences with real ones: k-mer spectra, GC, lengths, novelty,
    /// diversity and motifs, each beside the real-vs-real floor; table, CSV files and plots.
    Eval(eval::EvalArgs),
    /// ELBO bound of each sequence under a model (nats, bits/token, standard error), to CSV.
    Score(score::ScoreArgs),
    /// Measure tokens/s of training steps and forward passes.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Fit a baseline model, report its held-out bits/token and sample from it.
    #[command(subcommand)]
    Baseline(baseline::BaselineCommand),
    /// Print a shell completion script (e.g. `seddbio completions bash >
    /// ~/.local/share/bash-completion/completions/seddbio`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write man pages: seddbio.1 and one per subcommand (seddbio-train.1, ...), for
    /// `man -l DIR/seddbio-train.1` or a MANPATH folder.
    Man {
        /// The folder to write them into (created if missing).
        #[arg(long, default_value = "man")]
        out: PathBuf,
    },
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    if let Some(threads) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("starting the worker threads")?;
    }
    match cli.command {
        Command::Data(command) => data::run(command),
        Command::Train(args) => train::train(args),
        Command::Sample(args) => sample::run(args),
        Command::Infill(args) => infill::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Score(args) => score::run(args),
        Command::Baseline(command) => baseline::run(command),
        Command::Bench(command) => bench::run(command),
        Command::Completions { shell } => {
            // Into memory first: the generator panics on a write error (`| head`).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "seddbio", &mut script);
            print_stdout(&String::from_utf8_lossy(&script))
        }
        Command::Man { out } => write_man_pages(&out),
    }
}

/// Renders the man pages into a temporary folder beside `out`'s files, then renames each
/// into place (atomic per page, as every output).
fn write_man_pages(out: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let staging = out.join(format!(".man.tmp{}", std::process::id()));
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let result = (|| -> Result<usize> {
        clap_mangen::generate_to(Cli::command(), &staging)
            .with_context(|| format!("writing man pages into {}", staging.display()))?;
        let mut pages = 0;
        for entry in std::fs::read_dir(&staging)? {
            let entry = entry?;
            std::fs::rename(entry.path(), out.join(entry.file_name())).with_context(|| {
                format!("moving {} into {}", entry.path().display(), out.display())
            })?;
            pages += 1;
        }
        seddbio::io::sync_directory(out)?;
        Ok(pages)
    })();
    let _ = std::fs::remove_dir_all(&staging);
    let pages = result?;
    print_stdout(&format!(
        "{pages} man pages written to {} (seddbio.1, seddbio-train.1, ...)\n",
        out.display()
    ))
}

/// Labels from `--label-column` (CSV/TSV) or else `--label-key` (FASTA/FASTQ words).
pub fn label_source(column: &Option<String>, key: &Option<String>) -> Option<LabelSource> {
    match (column, key) {
        (Some(column), _) => Some(LabelSource::Column(column.clone())),
        (None, Some(key)) => Some(LabelSource::Key(key.clone())),
        (None, None) => None,
    }
}

/// How `sample` and `infill` draw and where they write.
#[derive(Debug, Clone, Args)]
pub struct SamplingArgs {
    #[command(flatten)]
    pub sampler: SamplerArgs,
    /// Sequences per network call.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output: .fasta, .csv, .tsv, .parquet or .smi (text formats optionally .gz), or - for
    /// standard output (FASTA unless --out-format says otherwise).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// The output format, whatever the name says (needed for - in another format than FASTA).
    #[arg(long, value_parser = choice::<OutputFormat>())]
    pub out_format: Option<OutputFormat>,
    #[command(flatten)]
    pub condition: ConditionArgs,
}

impl SamplingArgs {
    /// The library's generation settings for `trained` (loaded from `model`): the sampler
    /// (the model's default unless given) with its controls, batch size, seed, label and
    /// guidance.
    pub fn generation(
        &self,
        trained: &TrainedModel,
        model: &std::path::Path,
    ) -> Result<Generation> {
        let condition = self.condition.resolve(&trained.spec, model)?;
        Ok(Generation {
            model_name: model.display().to_string(),
            sampler: self.sampler.settings(trained.graph.kind)?,
            batch_size: self.batch_size,
            seed: self.seed,
            guidance: condition.guidance,
            metadata: condition.metadata,
        })
    }
}

/// The sampler and its controls; shared by `sample`, `infill` and `sweep`.
#[derive(Debug, Clone, Args)]
pub struct SamplerArgs {
    /// Reverse-diffusion steps.
    #[arg(long, default_value_t = 128)]
    pub steps: usize,
    /// euler, analytic, first-hitting (absorbing models only: at most one network call per
    /// position, whatever --steps is) or remask (absorbing models only: unmasked tokens may
    /// be masked again, ReMDM) [default: remask for absorbing models, analytic for uniform
    /// ones].
    #[arg(long, value_parser = choice::<SamplerKind>())]
    pub sampler: Option<SamplerKind>,
    #[command(flatten)]
    pub controls: SamplerControlArgs,
}

impl SamplerArgs {
    /// The validated settings for a model with this graph: without --sampler, the graph's
    /// default, or first-hitting when --order confidence asks for the one sampler that has
    /// an order to choose.
    pub fn settings(&self, graph: GraphKind) -> Result<SamplerSettings> {
        let kind = self
            .sampler
            .unwrap_or_else(|| SamplerKind::default_for_order(graph, self.controls.order));
        self.controls.apply(SamplerSettings::new(kind, self.steps)?)
    }
}

/// What a sampler trades diversity with (docs/sampling.md, "The controls"); shared by every
/// command that samples, the end-of-run report of `train` included.
#[derive(Debug, Clone, Args)]
pub struct SamplerControlArgs {
    /// Temperature T > 0 on the denoising distribution (p^(1/T), renormalised): below 1
    /// sharpens toward what the model finds likely, 1 samples the model.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Nucleus sampling: draw from the smallest set of tokens with probability >= P, in (0, 1].
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    /// Which masked positions unmask first (first-hitting, which confidence order chooses
    /// when --sampler is not given): random (the model's process) or confidence (the most
    /// certain positions first).
    #[arg(long, default_value = "random", value_parser = choice::<UnmaskOrder>())]
    pub order: UnmaskOrder,
    /// --sampler remask: an unmasked token goes back to MASK with probability at most this
    /// per step, in [0, 1].
    #[arg(long, default_value_t = DEFAULT_REMASK_CAP)]
    pub remask_cap: f64,
}

impl SamplerControlArgs {
    /// `settings` with these controls, validated.
    pub fn apply(&self, settings: SamplerSettings) -> Result<SamplerSettings> {
        Ok(settings
            .with_temperature(self.temperature)?
            .with_top_p(self.top_p)?
            .with_order(self.order)
            .with_remask_cap(self.remask_cap)?)
    }
}

/// The label and guidance `sample` and `infill` draw under (conditional models).
#[derive(Debug, Clone, Args)]
pub struct ConditionArgs {
    /// Conditional models: sample under this label [default: the null label, i.e. the
    /// model's unconditional distribution].
    #[arg(long)]
    pub label: Option<String>,
    /// Classifier-free guidance weight w (with --label): 0 is plain conditional sampling,
    /// larger values push the samples toward what tells the label apart (and cost a second
    /// network pass per step).
    #[arg(long, default_value_t = 0.0, requires = "label")]
    pub guidance: f64,
}

impl ConditionArgs {
    /// The guidance for the library and the metadata words for every output record of a
    /// conditional model (`label=`, `guidance=`; `label=null` without `--label`); a model
    /// without labels refuses `--label`.
    pub fn resolve(&self, spec: &RunSpec, model: &std::path::Path) -> Result<Conditioning> {
        if !(self.guidance.is_finite() && self.guidance >= 0.0) {
            anyhow::bail!("--guidance {}: must be a number >= 0", self.guidance);
        }
        let Some(label) = &self.label else {
            // A conditional model sampled without a label: its null label, said in the records.
            let metadata = match spec.labels.is_empty() {
                true => Vec::new(),
                false => vec![
                    ("label".into(), "null".into()),
                    ("guidance".into(), "0".into()),
                ],
            };
            return Ok(Conditioning {
                guidance: Guidance::default(),
                metadata,
            });
        };
        let index = spec
            .label_index(label)
            .with_context(|| format!("--label for the model at {}", model.display()))?;
        Ok(Conditioning {
            guidance: Guidance {
                label: Some(index),
                weight: self.guidance,
            },
            metadata: vec![
                ("label".into(), label.clone()),
                ("guidance".into(), self.guidance.to_string()),
            ],
        })
    }
}

/// A resolved [`ConditionArgs`].
#[derive(Debug, Clone, Default)]
pub struct Conditioning {
    /// What the sampler's score is computed under.
    pub guidance: Guidance,
    /// `label` and `guidance` for each output record (empty when unconditional).
    pub metadata: Vec<(String, String)>,
}

/// Which trained model to load and where to run it; shared by `sample`, `infill` and `score`.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Run directory of a trained model.
    #[arg(long)]
    pub model: PathBuf,
    /// ema (default) or raw trained weights.
    #[arg(long, default_value = "ema", value_parser = choice::<Weights>())]
    pub weights: Weights,
    /// cpu, or cuda (builds with --features cuda).
    #[arg(long, default_value = "cpu", value_parser = choice::<ComputeDevice>())]
    pub device: ComputeDevice,
}

impl ModelArgs {
    /// The model's latest checkpoint, with the chosen weights, on the chosen device.
    pub fn load(&self) -> Result<TrainedModel> {
        Ok(TrainedModel::load(
            &RunDir::new(&self.model),
            self.device.device()?,
            self.weights,
        )?)
    }
}

/// How sequence files are read and turned into examples; shared by `data` and `train`.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Alphabet: dna, rna, protein, smiles, or the path of your own alphabet TOML file.
    #[arg(long, short = 'a')]
    pub alphabet: String,
    /// Input format; by default from the extension (.fa/.fasta, .csv, .tsv, .smi, .fq/.fastq,
    /// each optionally .gz); needed for - (standard input).
    #[arg(long, value_parser = choice::<Format>())]
    pub format: Option<Format>,
    #[command(flatten)]
    pub quality: QualityArgs,
    /// Sequence column of a CSV/TSV file [default: the one named sequence, seq or smiles].
    #[arg(long)]
    pub column: Option<String>,
    /// Column of a CSV/TSV file holding record ids [default: record_N].
    #[arg(long)]
    pub id_column: Option<String>,
    /// Conditional training: the CSV/TSV column holding each record's label (class), e.g.
    /// cell_type; every record needs one.
    #[arg(long, value_name = "COLUMN", conflicts_with = "label_key")]
    pub label_column: Option<String>,
    /// Conditional training: labels from KEY=value words in FASTA/FASTQ descriptions (the form
    /// seddbio writes its own metadata in, e.g. >seq1 cell_type=HepG2).
    #[arg(long, value_name = "KEY")]
    pub label_key: Option<String>,
    /// Conditional training from a file per class: each file's records get the file's name
    /// without extensions as their label (HepG2.fa.gz -> HepG2); give the files one after
    /// the other.
    #[arg(long, conflicts_with_all = ["label_column", "label_key", "valid"])]
    pub label_per_file: bool,
    /// More input files after the first, read the same way and appended to it.
    #[arg(value_name = "MORE_FILES")]
    pub more_files: Vec<PathBuf>,
    /// Symbols outside the alphabet (N, X, gaps...): error, skip the record, split the record
    /// at them, or strip them.
    #[arg(long, default_value = "error", value_parser = choice::<UnknownPolicy>())]
    pub on_unknown: UnknownPolicy,
    /// Fixed-length windows over records, or whole records padded to --seq-len
    /// [default: the alphabet's: windows for DNA, padded for RNA, protein, SMILES].
    #[arg(long, value_parser = choice::<LayoutKind>())]
    pub layout: Option<LayoutKind>,
    /// Tokens per example [default: the longest record; windows: at most 1024].
    #[arg(long)]
    pub seq_len: Option<usize>,
    /// Step between window starts [default: --seq-len, no overlap].
    #[arg(long)]
    pub stride: Option<usize>,
    /// Padded layout: records longer than --seq-len are an error, skipped, or cut into windows.
    #[arg(long, default_value = "error", value_parser = choice::<TooLong>())]
    pub too_long: TooLong,
    /// Validation sequences in a separate file (same format options).
    #[arg(long, conflicts_with = "valid_fraction")]
    pub valid: Option<PathBuf>,
    /// Fraction of the input held out for validation.
    #[arg(long, default_value_t = 0.1)]
    pub valid_fraction: f64,
    /// How the held-out fraction is chosen: random records (from --seed), the last records of
    /// the file, the last part of every record (region; for genomes), or random whole clusters
    /// of records that share an exact k-mer (cluster; homologs stay on one side).
    #[arg(long, default_value = "random", value_parser = choice::<SplitMode>())]
    pub split: SplitMode,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl DataArgs {
    /// The files a command reads with these options: `file`, and `--valid` if given; its
    /// outputs must not be one of them (`seddbio::io::refuse_overwriting_inputs`).
    fn inputs<'a>(&'a self, file: &'a std::path::Path) -> Vec<&'a std::path::Path> {
        std::iter::once(file)
            .chain(self.more_files.iter().map(PathBuf::as_path))
            .chain(self.valid.as_deref())
            .collect()
    }

    /// Where labels come from, if the command line asks for them.
    pub fn label_source(&self) -> Option<LabelSource> {
        label_source(&self.label_column, &self.label_key)
    }

    /// The library's preparation options.
    pub fn prepare_options(&self) -> PrepareOptions {
        PrepareOptions {
            read: ReadOptions {
                format: self.format,
                column: self.column.clone(),
                id_column: self.id_column.clone(),
                min_mean_quality: self.quality.min_mean_quality,
                quality_offset: self.quality.quality_offset,
                label: self.label_source(),
            },
            policy: self.on_unknown,
            layout: self.layout,
            seq_len: self.seq_len,
            stride: self.stride,
            too_long: self.too_long,
            valid: self.valid.clone(),
            valid_fraction: if self.valid.is_some() {
                0.0
            } else {
                self.valid_fraction
            },
            split: self.split,
            seed: self.seed,
            more_files: self.more_files.clone(),
            label_per_file: self.label_per_file,
        }
    }
}

/// FASTQ quality options; shared by the commands that read sequences (`DataArgs`, `score`).
#[derive(Debug, Clone, Args)]
pub struct QualityArgs {
    /// FASTQ: leave out reads whose mean Phred quality is below this (counted in the summary).
    #[arg(long, value_name = "Q")]
    pub min_mean_quality: Option<f64>,
    /// FASTQ quality encoding: 33 (Sanger, Illumina 1.8+) or 64 (Illumina 1.3-1.7).
    #[arg(long, default_value_t = 33, value_parser = quality_offset())]
    pub quality_offset: u8,
}

/// `--quality-offset`: 33 or 64.
fn quality_offset() -> clap::builder::ValueParser {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["33", "64"])
        .try_map(|text| text.parse::<u8>())
        .into()
}

/// The value parser of a [`Choice`]: its names (and their aliases) become the possible values
/// that `--help` lists and shell completions offer.
fn choice<T: Choice>() -> clap::builder::ValueParser {
    use clap::builder::TypedValueParser;
    let values = T::NAMES.iter().map(|name| {
        let aliases = T::ALIASES
            .iter()
            .filter(|(_, of)| of == name)
            .map(|(alias, _)| *alias);
        clap::builder::PossibleValue::new(*name).aliases(aliases)
    });
    clap::builder::PossibleValuesParser::new(values)
        .try_map(|text| text.parse::<T>())
        .into()
}

/// Reads and prepares a file with a spinner showing records read, rate and elapsed time.
pub fn load(file: &std::path::Path, args: &DataArgs) -> Result<PreparedData> {
    load_with(file, args, Alphabet::resolve(&args.alphabet)?)
}

/// [`load`] with an alphabet already resolved (a run's own, when it resumes).
pub fn load_with(
    file: &std::path::Path,
    args: &DataArgs,
    alphabet: Alphabet,
) -> Result<PreparedData> {
    Ok(load_prepared(file, &args.prepare_options(), alphabet)?)
}

/// [`prepare`] with a spinner on stderr.
pub fn load_prepared(
    file: &std::path::Path,
    options: &PrepareOptions,
    alphabet: Alphabet,
) -> seddbio::Result<PreparedData> {
    // A fixed template cannot fail to parse; were it to, reading goes on without a spinner.
    let spinner = progress(
        None,
        "{spinner} {msg}: {human_pos} records ({per_sec}) {elapsed}",
    )
    .unwrap_or_else(|_| indicatif::ProgressBar::hidden());
    spinner.set_message(format!("reading {}", file.display()));
    spinner.enable_steady_tick(Duration::from_millis(120));
    let prepared = prepare(file, alphabet, options, Some(&spinner));
    spinner.finish_and_clear();
    prepared
}

/// A command's closing summary: on stdout, or on stderr when stdout carries its output
/// (`-o -`).
pub fn print_summary(out: &std::path::Path, text: &str) -> Result<()> {
    if seddbio::io::is_stdio(out) {
        eprint!("{text}");
        return Ok(());
    }
    print_stdout(text)
}

/// Prints to stdout; a closed pipe (`| head`) is not an error.
pub fn print_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// What to do about a library error on this command line: the flag that handles it. The
/// library names what is wrong; the flags are the command line's.
pub fn flag_hint(error: &anyhow::Error) -> Option<&'static str> {
    let error = error
        .chain()
        .find_map(|e| e.downcast_ref::<seddbio::Error>())?;
    match error {
        seddbio::Error::UnknownSymbol { .. } => {
            Some("choose --on-unknown skip|split|strip to handle such symbols")
        }
        seddbio::Error::MissingColumn { .. } => {
            Some("name the column with --column (sequences), --id-column or --label-column")
        }
        seddbio::Error::UnknownFormat { .. } => Some("use --format fasta|csv|tsv|smi|fastq"),
        seddbio::Error::Template {
            needs_motifs: true, ..
        } => Some("give the motif file with --motifs FILE"),
        seddbio::Error::Setting { setting, .. } => Some(match setting {
            Setting::Length => "set --seq-len and --stride to at least 1",
            Setting::TooLong => "raise --seq-len or choose --too-long skip|window",
            Setting::ShortRecords => "lower --seq-len or use --layout padded",
            Setting::ValidFraction => "choose --valid-fraction in [0, 1)",
            Setting::EmptySplit => {
                "use --split region (hold out the end of every record) or --valid FILE"
            }
            Setting::UnknownPolicy => "use --on-unknown error or skip",
            Setting::NothingLeft => "choose another --on-unknown policy",
            Setting::SamplerSteps => "give --steps 1 or more",
            Setting::Sampler => "use --sampler euler or analytic",
            Setting::Temperature => "give --temperature a number > 0 (1 samples the model)",
            Setting::TopP => "give --top-p a number in (0, 1] (1 keeps every token)",
            Setting::Order => "use --order confidence with --sampler first-hitting",
            Setting::RemaskCap => "give --remask-cap a number in [0, 1]",
            Setting::MarkovOrder => "lower --order",
            Setting::LearningRate => "a lower peak --lr may help",
            Setting::Device => "or run with --device cpu",
            Setting::Label => "choose --label among the model's labels, or leave it out",
            // Its messages name the options already.
            Setting::Config => return None,
        }),
        _ => None,
    }
}
