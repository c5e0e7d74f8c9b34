//! `seddbio train`: a score model from a sequence file, into a run directory.

use std::{
    io::IsTerminal,
    path::PathBuf,
    sync::{atomic::AtomicBool, Arc},
    time::Instant,
};

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rand::{rngs::ChaCha8Rng, SeedableRng};
use seddbio::{
    alphabet::Alphabet,
    baseline::{markov_fits, MarkovChain},
    data::{PreparedData, UnknownPolicy},
    diffusion::{GraphKind, ScheduleKind},
    eval::{evaluate, render, ModelCheck, ReportOptions},
    io::{read_sequences, write_atomically, write_sequences, ReadOptions},
    model::{ComputeDevice, PositionKind},
    sample::{sample_lengths, Generation, SamplerKind, SamplerSettings},
    train::{
        choose_preset, default_schedule, model_card, run, CardFacts, LrSchedule, MetricsLog,
        Observer, Outcome, RunDir, RunSpec, StepStats, TimeBudget, TrainConfig, TrainedModel,
        Trainer, TrainingOptions, ValidationSet, Weights, MIN_STEPS_PER_EPOCH,
        TOKENS_PER_PARAMETER, TOKENS_PER_STEP,
    },
};

use super::{
    choice, load_with, print_stdout, sample::generate_with_progress, score::elbo_estimates,
    DataArgs,
};

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training sequences (FASTA, CSV, TSV or SMILES; gzip allowed).
    pub file: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Model and training preset: tiny, small, medium (see configs/), a TOML file, or auto
    /// (with --time-budget: the largest preset the budget trains long enough, measured on
    /// this data and machine in a few steps each before the budget starts) [default: tiny].
    #[arg(long)]
    pub config: Option<String>,
    /// Forward process: absorb (mask) or uniform [default: absorb].
    #[arg(long, value_parser = choice::<GraphKind>())]
    pub graph: Option<GraphKind>,
    /// Noise schedule: loglinear or geometric [default: loglinear for absorb, geometric for
    /// uniform].
    #[arg(long, value_parser = choice::<ScheduleKind>())]
    pub noise: Option<ScheduleKind>,
    /// Sequences per optimiser step [default: the preset's].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Optimiser steps [default: the preset's]; with --resume, the new total.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Train for this long instead of a number of steps (90s, 30m, 1.5h, 1h30m; validations
    /// and checkpoints included, the end-of-run report not): the steps that fit are fixed
    /// after the first minute and recorded in run.toml, and the learning rate decays over
    /// them.
    #[arg(long, value_parser = parse_budget, conflicts_with = "steps")]
    pub time_budget: Option<TimeBudget>,
    /// Learning rate after the warm-up: constant, or a cosine or linear decay to the
    /// preset's lr_floor at the last step [default: the preset's].
    #[arg(long, value_parser = choice::<LrSchedule>())]
    pub lr_schedule: Option<LrSchedule>,
    /// Peak learning rate (AdamW, after linear warm-up) [default: the preset's].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Conditional training (--label-column/--label-key): the fraction of examples whose label
    /// is replaced by the null label, so one network also learns the unconditional score
    /// that guidance needs [default: the preset's, 0.1].
    #[arg(long)]
    pub label_dropout: Option<f64>,
    /// How the network knows positions: rotary (relative only) or rotary+absolute (also a
    /// learned embedding per position, for windows anchored on a landmark such as a TSS)
    /// [default: the preset's, rotary].
    #[arg(long, value_parser = choice::<PositionKind>())]
    pub position: Option<PositionKind>,
    /// Run directory: run.toml, alphabet.toml, checkpoints, metrics.csv, loss.svg.
    #[arg(long, default_value = "runs/latest")]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Fine-tune: start a new run in --out from the EMA weights of the run in this directory
    /// (its latest checkpoint), with a new optimiser. The data are read with that run's
    /// vocabulary; graph, noise and model sizes are its own (a --config must have the same
    /// [model]), the [training] values its own unless --config or the options above say
    /// otherwise.
    #[arg(long, value_name = "RUN", conflicts_with = "resume")]
    pub init_from: Option<PathBuf>,
    /// cpu, or cuda (builds with --features cuda).
    #[arg(long, default_value = "cpu", value_parser = choice::<ComputeDevice>())]
    pub device: ComputeDevice,
    /// At the end, sample this many sequences (the model's default sampler, 128 steps, EMA
    /// weights, the sampler controls below) and write an evaluation against the validation
    /// set into the run's report/ directory; 0 skips it.
    #[arg(long, default_value_t = 100)]
    pub report_samples: usize,
    /// The report's sampler controls.
    #[command(flatten)]
    pub report_sampler: super::SamplerControlArgs,
}

/// Progress bar plus metrics file.
struct Report {
    bar: ProgressBar,
    /// stderr is not a terminal (nohup, a batch scheduler, `2>log`): indicatif draws nothing
    /// there, so evaluations and a progress line every [`PLAIN_PROGRESS_EVERY`] go out as
    /// plain lines.
    plain: bool,
    last_line: Instant,
    /// The run's total steps are known (false while a time budget is being timed).
    steps_known: bool,
    /// The learning rate decays after the warm-up (not `constant`).
    decays: bool,
    metrics: MetricsLog,
    dir: PathBuf,
    title: String,
    last_step: Instant,
    last_lr: f64,
    last_valid: Option<(f64, f64)>,
}

/// The training bar once the total steps are known.
const BAR_TEMPLATE: &str = "{bar:30} {pos}/{len} steps {per_sec} ETA {eta} | {msg}";

/// How often a log that is not a terminal gets a progress line.
const PLAIN_PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl Report {
    /// A line above the bar, or a plain line on stderr when there is no bar.
    fn say(&self, line: String) {
        if self.plain {
            note!("{line}");
        } else {
            self.bar.println(line);
        }
    }
}

impl Observer for Report {
    fn step(&mut self, stats: &StepStats, tokens: u64) {
        let seconds = self.last_step.elapsed().as_secs_f64();
        self.last_step = Instant::now();
        self.metrics
            .add_step(stats.loss_bits, stats.grad_norm, tokens, seconds);
        self.last_lr = stats.lr;
        let rate = tokens as f64 / seconds.max(1e-9);
        let valid = match self.last_valid {
            Some((bits, se)) => format!(" | valid {bits:.4} ± {se:.4} bits/token"),
            None => String::new(),
        };
        self.bar.set_position(stats.step);
        let message = format!(
            "loss {:.3} bits/token | {rate:.0} tokens/s{valid}",
            stats.loss_bits
        );
        if self.plain && self.last_line.elapsed() >= PLAIN_PROGRESS_EVERY {
            self.last_line = Instant::now();
            let of = match self.steps_known {
                true => {
                    let eta = self.bar.eta().as_secs();
                    let total = self.bar.length().unwrap_or_default();
                    format!("/{total} | {message} | ETA {}:{:02}", eta / 60, eta % 60)
                }
                false => format!(" (timing the steps for the budget) | {message}"),
            };
            note!("step {}{of}", stats.step);
        }
        self.bar.set_message(message);
    }

    fn validation(&mut self, step: u64, bits: f64, std_error: f64) -> seddbio::Result<()> {
        self.last_valid = Some((bits, std_error));
        let row = self.metrics.close(step, self.last_lr, bits, std_error);
        self.say(format!(
            "step {step:>6}: train {:.4} bits/token, validation ELBO {bits:.4} ± {std_error:.4} bits/token, {:.0} tokens/s",
            row.train_bits, row.tokens_per_s
        ));
        // The curve files follow the log; rows past the last checkpoint are dropped again by
        // a resume (MetricsLog::read), so writing ahead of the checkpoints is safe.
        self.metrics.write(&self.dir, &self.title)
    }

    fn checkpoint(&mut self, _step: u64) -> seddbio::Result<()> {
        self.metrics.write(&self.dir, &self.title)
    }

    fn steps_fixed(&mut self, steps: u64) {
        self.steps_known = true;
        if let Ok(style) = ProgressStyle::with_template(BAR_TEMPLATE) {
            self.bar.set_style(style);
        }
        self.bar.set_length(steps);
        self.bar.reset_eta();
        let decay = match self.decays {
            true => "; the learning rate decays over them",
            false => "",
        };
        self.say(format!("time budget: {steps} steps fit{decay}"));
    }
}

fn parse_budget(text: &str) -> std::result::Result<TimeBudget, String> {
    TimeBudget::parse(text).map_err(|e| e.to_string())
}

/// The `[training]` values of a preset that differ from a run's, as `name value (the run
/// uses value)`, leaving out what a resume may change or the run resolved itself: `steps`
/// (`--steps` is the new total), the time budget and `valid_times`.
fn training_differences(wanted: &TrainingOptions, run: &TrainingOptions) -> Vec<String> {
    let table = |options: &TrainingOptions| {
        let mut options = options.clone();
        options.steps = 0;
        options.time_budget = None;
        options.valid_times = None;
        toml::Value::try_from(options)
            .ok()
            .and_then(|v| v.as_table().cloned())
            .unwrap_or_default()
    };
    let (wanted, run) = (table(wanted), table(run));
    wanted
        .iter()
        .filter(|(key, value)| run.get(*key) != Some(value))
        .map(|(key, value)| {
            let theirs = run
                .get(key)
                .map_or("nothing".to_string(), |v| v.to_string());
            format!("{key} {value} (the run uses {theirs})")
        })
        .collect()
}

/// Options given on the command line that disagree with the run being resumed.
fn check_resume(args: &TrainArgs, spec: &RunSpec) -> Result<()> {
    let mut conflicts = Vec::new();
    if let Some(config) = &args.config {
        let wanted = TrainConfig::resolve(config)?;
        if wanted.model != spec.config.model {
            conflicts.push(format!(
                "--config {config} has other model sizes than the run's"
            ));
        }
        // As the run would be started with them: the command line's overrides applied.
        let mut training = wanted.training.clone();
        apply_training_overrides(args, &mut training);
        let differing = training_differences(&training, &spec.config.training);
        if !differing.is_empty() {
            conflicts.push(format!(
                "--config {config}, whose [training] differs: {}",
                differing.join(", ")
            ));
        }
    }
    if let Some(graph) = args.graph.filter(|g| *g != spec.graph) {
        conflicts.push(format!("--graph {graph} (the run uses {})", spec.graph));
    }
    if let Some(noise) = args.noise.filter(|n| *n != spec.noise.kind()) {
        conflicts.push(format!(
            "--noise {noise} (the run uses {})",
            spec.noise.kind()
        ));
    }
    if let Some(seq_len) = args.data.seq_len.filter(|l| *l != spec.seq_len) {
        conflicts.push(format!(
            "--seq-len {seq_len} (the run uses {})",
            spec.seq_len
        ));
    }
    let training = &spec.config.training;
    if let Some(b) = args.batch_size.filter(|b| *b != training.batch_size) {
        conflicts.push(format!(
            "--batch-size {b} (the run uses {})",
            training.batch_size
        ));
    }
    if let Some(lr) = args.lr.filter(|lr| *lr != training.lr) {
        conflicts.push(format!("--lr {lr} (the run uses {})", training.lr));
    }
    if let Some(schedule) = args.lr_schedule.filter(|s| *s != training.lr_schedule) {
        conflicts.push(format!(
            "--lr-schedule {schedule} (the run uses {})",
            training.lr_schedule
        ));
    }
    if args.time_budget.is_some() {
        conflicts.push(
            "--time-budget (a resumed run finishes the steps in run.toml; --steps changes them)"
                .to_string(),
        );
    }
    if args.data.seed != spec.seed {
        conflicts.push(format!(
            "--seed {} (the run uses {})",
            args.data.seed, spec.seed
        ));
    }
    if !conflicts.is_empty() {
        bail!(
            "{}: cannot resume with {}; leave them out to continue the run as it was",
            args.out.display(),
            conflicts.join(", ")
        );
    }
    Ok(())
}

pub fn train(args: TrainArgs) -> Result<()> {
    let device = args.device.device()?;
    let dir = RunDir::new(&args.out);
    // Held until the process ends: one writer per run directory.
    let lock = dir.lock()?;
    if !lock.removed().is_empty() {
        note!(
            "{}: removed {} temporary file(s) an interrupted run had left",
            args.out.display(),
            lock.removed().len()
        );
    }
    let (mut trainer, data) = if args.resume {
        let (mut spec, alphabet) = dir.read_spec()?;
        let asked = Alphabet::resolve(&args.data.alphabet)?;
        if asked.name() != spec.alphabet {
            bail!(
                "{}: the run was trained on alphabet '{}', not '{}'; resume with --alphabet {} or start a new run with another --out",
                args.out.display(),
                spec.alphabet,
                asked.name(),
                spec.alphabet
            );
        }
        check_resume(&args, &spec)?;
        // The run's window, not the default (longest record), so resumed batches match.
        let mut data_args = args.data.clone();
        data_args.seq_len = Some(spec.seq_len);
        let data = load_with(&args.file, &data_args, alphabet)?;
        if data.alphabet.len() != spec.num_symbols {
            bail!(
                "{}: {} has tokens the run's vocabulary lacks ({} tokens, the model has {})",
                args.out.display(),
                args.file.display(),
                data.alphabet.len(),
                spec.num_symbols
            );
        }
        if let Some(recorded) = &spec.data_digest {
            if *recorded != RunSpec::digest_data(&data.train, data.valid.as_ref()) {
                bail!(
                    "{}: {} does not give the examples the run was trained on (another file, split or --valid); resume with the run's data ({}) or start a new run with another --out",
                    args.out.display(),
                    args.file.display(),
                    spec.train_file
                );
            }
        }
        if !dir.has_checkpoint() {
            bail!(
                "{}: no checkpoint was ever written (the run stopped before its first); it holds nothing to resume: run the same command without --resume to start it again in place",
                args.out.display()
            );
        }
        let mut trainer = Trainer::load(&dir, device)?;
        if let Some(steps) = args.steps {
            if (steps as u64) < trainer.step() {
                bail!(
                    "{}: --steps {steps} is fewer than the {} steps already done",
                    args.out.display(),
                    trainer.step()
                );
            }
            spec.config.training.steps = steps;
            trainer = trainer.with_steps(steps);
            dir.create(&spec, &data.alphabet)?;
        }
        note!(
            "resuming {} at step {} of {}",
            args.out.display(),
            trainer.step(),
            trainer.spec().config.training.steps
        );
        (trainer, data)
    } else {
        if dir.has_checkpoint() {
            bail!(
                "{} already holds a run; pass --resume to continue it, or choose another --out",
                args.out.display()
            );
        }
        if dir.exists() {
            // Stopped before its first checkpoint: nothing to resume or to lose.
            note!(
                "{}: the run there never wrote a checkpoint; starting it again",
                args.out.display()
            );
        }
        let source = match &args.init_from {
            Some(path) => Some(init_source(&args, path)?),
            None => None,
        };
        let alphabet = match &source {
            Some((_, _, alphabet)) => alphabet.clone(),
            None => Alphabet::resolve(&args.data.alphabet)?,
        };
        let data = load_with(&args.file, &args.data, alphabet)?;
        let base = source.as_ref().map(|(_, spec, _)| spec);
        let spec = new_spec(&args, &data, &device, base)?;
        let trainer = match &source {
            Some((run, _, _)) => {
                let trainer = Trainer::init_from(spec, &data.alphabet, device, run)?;
                dir.create(trainer.spec(), &data.alphabet)?;
                trainer
            }
            None => {
                dir.create(&spec, &data.alphabet)?;
                Trainer::new(spec, device)
            }
        };
        (trainer, data)
    };
    print_stdout(&data.summary.to_string())?;

    let spec = trainer.spec().clone();
    // Refused before training rather than after it.
    let report_sampler = report_settings(&args, &spec)?;
    let training = &spec.config.training;
    let valid = data
        .valid
        .as_ref()
        .map(|v| ValidationSet::from_dataset(v, training.valid_sequences))
        .unwrap_or_default();
    print_stdout(&format!(
        "model: {} parameters ({}), {} graph, {:?} noise, {} tokens\n\
         training: {} of {} x {} tokens, lr {} ({} after a warm-up of {}), clip {}, EMA {}; validation on {} sequences\n",
        trainer.num_params(),
        spec.config.model,
        spec.graph,
        spec.noise,
        spec.num_symbols,
        match training.time_budget {
            Some(b) if b.calibrated_at_step.is_none() =>
                format!("{} s (steps fixed once the first ones are timed)", b.seconds),
            _ => format!("{} steps", training.steps),
        },
        training.batch_size,
        spec.seq_len,
        training.lr,
        training.lr_schedule,
        training.warmup_steps,
        training.grad_clip,
        training.ema_decay,
        valid.sequences.len(),
    ))?;
    if spec.config.model.position == PositionKind::RotaryAbsolute {
        print_stdout(&format!(
            "positions: rotary attention and a learned embedding for each of the {} positions\n",
            spec.seq_len
        ))?;
    }
    if !spec.labels.is_empty() {
        print_stdout(&format!(
            "conditional: {} labels ({}), class embedding into the adaLN conditioning, label dropout {}\n",
            spec.labels.len(),
            spec.labels.join(", "),
            training.label_dropout
        ))?;
    }

    let interrupt = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupt))
            .context("installing the Ctrl-C handler")?;
    }
    let steps_known = training
        .time_budget
        .is_none_or(|b| b.calibrated_at_step.is_some());
    // Without a known total (a budget being timed) the bar shows steps and rate only.
    let template = match steps_known {
        true => BAR_TEMPLATE,
        false => "{spinner} {pos} steps {per_sec} (timing the steps for the budget) | {msg}",
    };
    let bar = super::progress(Some(training.steps as u64), template)?;
    bar.set_position(trainer.step());
    bar.reset_eta();
    let mut report = Report {
        plain: !super::quiet() && !std::io::stderr().is_terminal(),
        last_line: Instant::now(),
        steps_known,
        decays: training.lr_schedule != LrSchedule::Constant,
        bar,
        metrics: MetricsLog::read(&dir.path("metrics.csv"), trainer.step())?,
        dir: args.out.clone(),
        title: format!(
            "{} · {} · {}",
            spec.alphabet,
            spec.graph,
            args.out
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
        last_step: Instant::now(),
        last_lr: 0.0,
        last_valid: None,
    };
    let outcome = run(
        &mut trainer,
        &data.train,
        &valid,
        &dir,
        &mut report,
        &interrupt,
    )?;
    report.bar.finish_and_clear();
    match outcome {
        Outcome::OutOfTime => {
            eprintln!(
                "time budget spent at step {} of {} (the machine ran slower than when the steps were fixed): checkpoint written to {}; finish with --resume",
                trainer.step(),
                trainer.spec().config.training.steps,
                args.out.display()
            );
            std::process::exit(3);
        }
        Outcome::Interrupted => {
            eprintln!(
                "interrupted: checkpoint of step {} written to {}; continue with the same command and --resume",
                trainer.step(),
                args.out.display()
            );
            std::process::exit(130);
        }
        Outcome::Finished => {
            let last = report.metrics.rows.last();
            let valid_text = match last {
                Some(row) if row.valid_bits.is_finite() => format!(
                    "validation ELBO bound {:.4} ± {:.4} bits/token",
                    row.valid_bits, row.valid_se
                ),
                _ => "no validation data".to_string(),
            };
            print_stdout(&format!(
                "done: {} steps; {valid_text}; run in {} (metrics.csv, loss.svg, checkpoints/, MODEL.md)\n",
                trainer.step(),
                args.out.display()
            ))?;
            let mut held_out = last
                .filter(|row| row.valid_bits.is_finite())
                .map(|row| (row.valid_bits, row.valid_se, valid.sequences.len()));
            // The bar the model must clear; part of the report (--report-samples 0 skips it).
            let mut markov = None;
            let mut held_out_times = 1;
            // The EMA model the report samples from and scores with, loaded once.
            let trained = match args.report_samples > 0 {
                true => Some(TrainedModel::load(
                    &dir,
                    args.device.device()?,
                    Weights::Ema,
                )?),
                false => None,
            };
            if let (Some(held), Some(trained)) = (&data.valid, &trained) {
                if let Some((order, chain, orders)) = markov_baseline(&data, held)? {
                    // Model and chain on the same sequences: the validation set's, the model
                    // with 16 times each (a standard error near 0.006 bits on 256 DNA
                    // sequences, against 0.017 for the one time of the curve).
                    let sequences: Vec<&[seddbio::alphabet::TokenId]> = valid
                        .sequences
                        .iter()
                        .zip(&valid.real_tokens)
                        .map(|(s, &n)| &s[..n])
                        .collect();
                    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
                    let labels = valid.labels.as_deref();
                    let estimates = elbo_estimates(trained, &sequences, labels, 16, 64, &mut rng)?;
                    let (bits, se) = seddbio::model::pooled_bits_per_token(&estimates);
                    held_out = Some((bits, se, estimates.len()));
                    held_out_times = 16;
                    let tokens: usize = valid.real_tokens.iter().sum();
                    let chain_bits = chain.bits_per_real_token(&valid.sequences, tokens as u64);
                    let verdict = match bits < chain_bits {
                        true => "beaten",
                        false => "NOT beaten: the model has not learned what the chain knows",
                    };
                    print_stdout(&format!(
                        "held-out bound {bits:.4} ± {se:.4} bits/token (16 times per sequence, {} validation sequences) against {chain_bits:.4} for the best Markov chain on the same sequences (order {order} of {orders}): {verdict}\n",
                        estimates.len()
                    ))?;
                    markov = Some((order, chain_bits, orders));
                }
            }
            let facts = CardFacts {
                run: args.out.display().to_string(),
                parameters: trainer.num_params(),
                steps: trainer.step(),
                held_out,
                held_out_times,
                markov,
                sampler: report_sampler.describe(),
                sampler_flags: report_sampler.command_flags(),
                command: command_line(),
            };
            let card = model_card(trainer.spec(), &facts);
            write_atomically(&dir.path("MODEL.md"), |w| {
                use std::io::Write;
                Ok(w.write_all(card.as_bytes())?)
            })?;
            if let Some(trained) = &trained {
                final_report(&args, &dir, trained, &data, report_sampler)?;
            }
        }
    }
    Ok(())
}

/// The best Markov chain on the run's split (orders 0 to 8, `baseline markov`, chosen on all
/// held-out examples): its order, the chain and the orders tried. The scan stops once two
/// orders in a row are worse than the best so far (the held-out curve over orders has one
/// minimum), which saves the costly high orders on large data.
fn markov_baseline(
    data: &PreparedData,
    valid: &seddbio::data::TokenDataset,
) -> Result<Option<(usize, MarkovChain, String)>> {
    let mut best: Option<(f64, MarkovChain)> = None;
    let mut last = 0;
    for fit in markov_fits(0..=8, data.alphabet.len(), &data.train, Some(valid)) {
        // Orders the vocabulary cannot index are where the scan ends.
        let Ok(fit) = fit else { break };
        let Some(bits) = fit.valid_bits else { break };
        last = fit.chain.order();
        match &best {
            Some((best_bits, chain)) if bits >= *best_bits => {
                if last >= chain.order() + 2 {
                    break;
                }
            }
            _ => best = Some((bits, fit.chain)),
        }
    }
    Ok(best.map(|(_, chain)| (chain.order(), chain, format!("0..{last}"))))
}

/// The command line as typed, quoted where a word needs it (for MODEL.md).
fn command_line() -> String {
    std::env::args()
        .map(|word| {
            if !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c))
            {
                word
            } else {
                format!("'{}'", word.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The end-of-run report's sampler: the model's default at [`REPORT_STEPS`] steps with the
/// controls given to `train`.
fn report_settings(args: &TrainArgs, spec: &RunSpec) -> Result<SamplerSettings> {
    let kind = SamplerKind::default_for(spec.graph);
    let settings = args
        .report_sampler
        .apply(SamplerSettings::new(kind, REPORT_STEPS)?)?;
    settings.check_graph(spec.graph)?;
    Ok(settings)
}

/// Steps of the end-of-run report's sampler.
const REPORT_STEPS: usize = 128;

/// The end of the main job: samples from the EMA model with `sampler` (the settings checked
/// before training), then `seddbio eval` of them against the validation examples (or the
/// training ones when there is no validation set), with the model's held-out bits/token, into
/// `report/`.
fn final_report(
    args: &TrainArgs,
    dir: &RunDir,
    trained: &TrainedModel,
    data: &PreparedData,
    sampler: SamplerSettings,
) -> Result<()> {
    let spec = &trained.spec;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let lengths = sample_lengths(spec, None, args.report_samples, &mut rng);
    let settings = Generation {
        model_name: args.out.display().to_string(),
        sampler,
        batch_size: 64,
        seed: spec.seed,
        guidance: Default::default(),
        metadata: Vec::new(),
    };
    note!(
        "sampling {} sequences for the report ({})",
        lengths.len(),
        settings.sampler.describe()
    );
    let samples = generate_with_progress(trained, &lengths, &settings, &mut rng)?.records;
    let samples_path = dir.path("samples.fasta");
    write_sequences(&samples_path, None, &samples)?;
    let (reference, split) = match &data.valid {
        Some(valid) if valid.len() >= 2 => (valid, "valid"),
        _ => (&data.train, "train"),
    };
    let reference_path = dir.path(&format!("{split}.fasta"));
    write_sequences(
        &reference_path,
        None,
        &reference.output_records(&data.alphabet, split),
    )?;
    let nucleotide = data.alphabet.complements().is_some();
    let read = |path: &std::path::Path| read_sequences(path, &ReadOptions::default(), None);
    let (generated, reference) = (read(&samples_path)?, read(&reference_path)?);
    let options = ReportOptions {
        ks: match nucleotide {
            true => (1..=6).collect(),
            false => (1..=3).collect(),
        },
        canonical: false,
        motifs: None,
        motif_threshold: 0.85,
        motif_p_value: None,
        motif_profile: None,
        labelled: false,
        seed: spec.seed,
        on_unknown: UnknownPolicy::Error,
    };
    let bar = super::progress(
        None,
        "{spinner} {pos} sequences scored for the report {per_sec}",
    )?;
    let mut check = ModelCheck {
        trained,
        name: args.out.display().to_string(),
        num_t: 16,
        max_sequences: 200,
        progress: &mut |n| bar.inc(n as u64),
    };
    // The run's alphabet as its file holds it, as `seddbio eval -a RUN/alphabet.toml` reads it.
    let alphabet = Alphabet::resolve(&dir.path("alphabet.toml").display().to_string())?;
    let evaluation = evaluate(
        alphabet,
        &generated,
        &reference,
        None,
        &options,
        Some(&mut check),
    )?;
    bar.finish_and_clear();
    let report_dir = dir.path("report");
    render::files(&evaluation).write(&report_dir, &[&samples_path, &reference_path])?;
    print_stdout(&format!(
        "samples: {} ({})\n{}\nreport written to {}\n",
        samples.len(),
        settings.sampler.describe(),
        render::table(&evaluation),
        report_dir.display()
    ))
}

/// The run `--init-from` names: its directory, specification and vocabulary, after checking
/// that the alphabet asked for is its own.
fn init_source(args: &TrainArgs, path: &std::path::Path) -> Result<(RunDir, RunSpec, Alphabet)> {
    let run = RunDir::new(path);
    let (spec, alphabet) = run.read_spec()?;
    let asked = Alphabet::resolve(&args.data.alphabet)?;
    if asked.name() != spec.alphabet {
        bail!(
            "--init-from {}: that run was trained on alphabet '{}', not '{}'; pass --alphabet {}",
            path.display(),
            spec.alphabet,
            asked.name(),
            spec.alphabet
        );
    }
    Ok((run, spec, alphabet))
}

/// The new run's specification: from `--config` (or, fine-tuning, the `base` run's
/// configuration) and the command line.
fn new_spec(
    args: &TrainArgs,
    data: &PreparedData,
    device: &burn::tensor::Device,
    base: Option<&RunSpec>,
) -> Result<RunSpec> {
    let config = match (args.config.as_deref(), base) {
        (Some("auto"), Some(_)) => bail!(
            "--config auto chooses a model size, but --init-from keeps the size of the run it starts from; leave --config out or give a preset with the same [model]"
        ),
        (Some("auto"), None) => auto_config(args, data, device)?,
        (Some(name), Some(base)) => {
            let config = TrainConfig::resolve(name)?;
            if config.model != base.config.model {
                bail!(
                    "--config {name}: its [model] is not the one of the run --init-from names ({:?}); fine-tuning keeps the model size",
                    base.config.model
                );
            }
            config
        }
        (Some(name), None) => TrainConfig::resolve(name)?,
        (None, Some(base)) => base.config.clone(),
        (None, None) => TrainConfig::resolve("tiny")?,
    };
    let mut spec = spec_with(args, data, config, base)?;
    // Only the run's own spec records it (not the ones `auto` measures): one pass over the data.
    spec.data_digest = Some(RunSpec::digest_data(&data.train, data.valid.as_ref()));
    Ok(spec)
}

/// `--config auto`: the preset the budget trains long enough, measured on this data.
fn auto_config(
    args: &TrainArgs,
    data: &PreparedData,
    device: &burn::tensor::Device,
) -> Result<TrainConfig> {
    let Some(budget) = args.time_budget else {
        bail!(
            "--config auto chooses the model for a time budget: give --time-budget too (e.g. 30m)"
        );
    };
    note!("--config auto: measuring the presets on this data (4 steps each)");
    let (seq_len, examples) = (data.train.seq_len(), data.train.len());
    let choice = choose_preset(&budget, seq_len, examples, |config| {
        let spec = spec_with(args, data, config.clone(), None)
            .map_err(|e| seddbio::Error::Options(format!("{e:#}")))?;
        Ok(Trainer::measure_throughput(
            spec,
            device.clone(),
            &data.train,
            3,
        ))
    })?;
    for probe in &choice.probes {
        note!(
            "  {:<6} {:>9} parameters, {:>7.0} tokens/s: {:.1} tokens per parameter in the budget{}",
            probe.preset,
            probe.parameters,
            probe.tokens_per_s,
            probe.budget_tokens / probe.parameters as f64,
            if probe.qualifies() { "" } else { " (too few)" }
        );
    }
    note!(
        "--config auto: {} (the largest preset with at least {TOKENS_PER_PARAMETER} tokens per parameter; configs/README.md)",
        choice.preset
    );
    let training = &choice.config.training;
    note!(
        "--config auto: batch {} x {seq_len} tokens (about {TOKENS_PER_STEP} a step, at most 1/{MIN_STEPS_PER_EPOCH} of {examples} examples), lr {}{}",
        training.batch_size,
        training.lr,
        match (args.batch_size, args.lr) {
            (None, None) => "",
            _ => "; --batch-size and --lr on the command line override these",
        }
    );
    Ok(choice.config)
}

/// The command line's `[training]` overrides (`--batch-size`, `--steps`, `--lr`,
/// `--lr-schedule`, `--time-budget`), applied to a preset's values.
fn apply_training_overrides(args: &TrainArgs, training: &mut TrainingOptions) {
    if let Some(b) = args.batch_size {
        training.batch_size = b;
    }
    if let Some(s) = args.steps {
        training.steps = s;
    }
    if let Some(lr) = args.lr {
        training.lr = lr;
    }
    if let Some(schedule) = args.lr_schedule {
        training.lr_schedule = schedule;
    }
    if let Some(p) = args.label_dropout {
        training.label_dropout = p;
    }
    training.time_budget = args.time_budget;
}

/// The run's specification from a preset and the command line's overrides.
fn spec_with(
    args: &TrainArgs,
    data: &PreparedData,
    mut config: TrainConfig,
    base: Option<&RunSpec>,
) -> Result<RunSpec> {
    apply_training_overrides(args, &mut config.training);
    config.validate()?;
    if data.train.is_empty() {
        bail!("{}: no training examples", args.file.display());
    }
    let graph = args
        .graph
        .or(base.map(|b| b.graph))
        .unwrap_or(GraphKind::Absorb);
    // The run directory records the resolved value, not the graph-dependent default.
    config.training.valid_times = Some(config.training.valid_times_for(graph));
    if let Some(position) = args.position {
        config.model.position = position;
    }
    let noise = match (args.noise, base) {
        (Some(kind), _) => kind.schedule(),
        (None, Some(base)) => base.noise,
        (None, None) => default_schedule(graph),
    };
    let mut counts = std::collections::BTreeMap::<u64, u64>::new();
    for example in data.train.examples() {
        *counts.entry(u64::from(example.len)).or_default() += 1;
    }
    Ok(RunSpec {
        seddbio_version: env!("CARGO_PKG_VERSION").to_string(),
        alphabet: data.alphabet.name().to_string(),
        num_symbols: data.alphabet.len(),
        graph,
        noise,
        seed: args.data.seed,
        seq_len: data.train.seq_len(),
        layout: data.layout.kind,
        train_file: std::iter::once(&args.file)
            .chain(&args.data.more_files)
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        length_counts: counts.into_iter().map(|(l, c)| [l, c]).collect(),
        config,
        threads: rayon::current_num_threads(),
        data_digest: None,
        init_from: None,
        labels: data.train.labels().to_vec(),
    })
}
