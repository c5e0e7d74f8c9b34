//! Command-line definitions: one file per subcommand.

/// An informational line on stderr (what a command is doing), left out under `--quiet`.
macro_rules! note {
    ($($arg:tt)*) => {
        if !$crate::cli::quiet() {
            eprintln!($($arg)*);
        }
    };
}

mod args;
mod baseline;
mod bench;
mod data;
mod eval;
mod infill;
mod models;
mod parse;
mod sample;
mod score;
mod train;
mod train_progress;
mod variants;
mod weights;

use self::parse::parse_threads;
pub use self::parse::{choice, finite};

pub use self::args::{
    label_source, DataArgs, ModelArgs, QualityArgs, SamplerControlArgs, SamplingArgs,
};

use std::{io::Write as _, path::PathBuf, time::Duration};

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use seddbio::{
    alphabet::Alphabet,
    data::{prepare, PrepareOptions, PreparedData},
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
    /// [default: one per core; at most 8 per core].
    #[arg(long, global = true, value_parser = parse_threads)]
    threads: Option<usize>,
    /// No progress bars and no informational lines on stderr; results and errors only.
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
}

impl Cli {
    /// Whether the command spends its time in the score network (training, sampling,
    /// scoring, benchmarks, sweeps), for which the binary tunes the allocator.
    pub fn runs_the_network(&self) -> bool {
        match &self.command {
            Command::Train(_)
            | Command::Sample(_)
            | Command::Infill(_)
            | Command::Score(_)
            | Command::Bench(_) => true,
            Command::Eval(args) => !args.sweep.is_empty(),
            _ => false,
        }
    }
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
    /// Export a run's weights as a safetensors file (for NumPy, PyTorch, the Hugging Face Hub),
    /// or import one as a new run directory.
    #[command(subcommand)]
    Weights(weights::WeightsCommand),
    /// List the bundled models (name, alphabet, size, data, held-out figures), or print one's
    /// model card; `--model NAME` and `train --init-from NAME` use them.
    Models(models::ModelsArgs),
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
    // A bad SEDDBIO_SIMD stops the command before any kernel runs.
    seddbio::model::SimdLevel::configured()?;
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
        Command::Weights(command) => weights::run(command),
        Command::Models(args) => models::run(args),
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

/// Reads and prepares a file with a spinner showing records read, rate and elapsed time.
pub fn load(file: &std::path::Path, args: &DataArgs) -> Result<PreparedData> {
    let alphabet = Alphabet::resolve(&args.alphabet)?;
    Ok(load_prepared(file, &args.prepare_options(), alphabet)?)
}

/// [`prepare`] with a spinner on stderr.
pub fn load_prepared(
    file: &std::path::Path,
    options: &PrepareOptions,
    alphabet: Alphabet,
) -> seddbio::Result<PreparedData> {
    let spinner = reading_spinner(file);
    let prepared = prepare(file, alphabet, options, Some(&spinner));
    spinner.finish_and_clear();
    prepared
}

/// The spinner shown while `file` is read and prepared.
pub fn reading_spinner(file: &std::path::Path) -> indicatif::ProgressBar {
    // A fixed template cannot fail to parse; were it to, reading goes on without a spinner.
    let spinner = progress(
        None,
        "{spinner} {msg}: {human_pos} records ({per_sec}) {elapsed}",
    )
    .unwrap_or_else(|_| indicatif::ProgressBar::hidden());
    spinner.set_message(format!("reading {}", file.display()));
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

/// An output path as a closing summary names it: `standard output` for `-`.
pub fn output_name(out: &std::path::Path) -> String {
    match seddbio::io::is_stdio(out) {
        true => "standard output".to_string(),
        false => out.display().to_string(),
    }
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
    Ok(write_stdout(text)?)
}

/// [`print_stdout`] with the operating system's error.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// An error and its causes on one line, each cause once: a library error that already says
/// its cause (`FILE: No such file or directory (os error 2)`) is not followed by it again.
pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string().replace('\n', " ");
        if line.is_empty() {
            line = text;
        } else if !line.contains(&text) {
            line = format!("{line}: {text}");
        }
    }
    line
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
            Some("name the column with --column (sequences), --id-column, --label-column or --split-column")
        }
        seddbio::Error::SplitValue { .. } => Some(
            "name the values with --train-value and --valid-value, or leave rows out with --skip-value VALUE",
        ),
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
            Setting::VariantEstimator => "use --estimator elbo-difference",
            Setting::Reweight => "give --reweight a number in [0, 1) and an aligned file (aligned FASTA, A2M or A3M)",
            Setting::Shard => "give --shard K/N with 0 <= K < N, e.g. 0/4 to 3/4",
            // Its messages name the options already.
            Setting::Config | Setting::KmerSizes | Setting::MotifThreshold => return None,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_line_says_each_cause_once() {
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        let library = seddbio::Error::Io {
            path: "in.fa".into(),
            source: missing,
        };
        let text = library.to_string();
        assert_eq!(text.matches("not found").count(), 1, "{text}");
        let error = anyhow::Error::new(library).context("reading the training data");
        assert_eq!(
            error_line(&error),
            format!("reading the training data: {text}")
        );
        // A cause the message does not say is kept.
        let error = anyhow::anyhow!("disk full").context("writing out.fa");
        assert_eq!(error_line(&error), "writing out.fa: disk full");
    }
}
