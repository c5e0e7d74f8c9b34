//! `seddbio train`: a score model from a sequence file, into a run directory.

use std::{
    path::PathBuf,
    sync::{atomic::AtomicBool, Arc},
};

use anyhow::{Context, Result};
use clap::Args;
use seddbio::{
    data::PreparedData,
    diffusion::{GraphKind, ScheduleKind},
    eval::render,
    model::{ComputeDevice, PositionKind},
    run::{CardFacts, LrSchedule, RunDir, RunSpec, TimeBudget, TrainedModel, Weights},
    sample::{SamplerKind, SamplerSettings},
    train::{
        compare_held_out, end_of_run_report, run, run_description, write_model_card, MetricsLog,
        Outcome, ReportRequest, TrainRequest, Trainer, TrainingOverrides, ValidationSet,
        HELD_OUT_TIMES,
    },
};

use super::{
    choice, load_prepared, print_stdout,
    train_progress::{Report, ReportBars},
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

fn parse_budget(text: &str) -> std::result::Result<TimeBudget, String> {
    TimeBudget::parse(text).map_err(|e| e.to_string())
}

/// The library's request for this command line.
fn request(args: &TrainArgs) -> TrainRequest {
    TrainRequest {
        file: args.file.clone(),
        alphabet: args.data.alphabet.clone(),
        prepare: args.data.prepare_options(),
        config: args.config.clone(),
        graph: args.graph,
        noise: args.noise,
        position: args.position,
        training: TrainingOverrides {
            batch_size: args.batch_size,
            steps: args.steps,
            time_budget: args.time_budget,
            lr_schedule: args.lr_schedule,
            lr: args.lr,
            label_dropout: args.label_dropout,
        },
    }
}

pub fn train(args: TrainArgs) -> Result<()> {
    let request = request(&args);
    let device = args.device.device()?;
    let opened = request.open(
        &args.out,
        args.resume,
        args.init_from.as_deref(),
        device,
        &mut |options, alphabet| load_prepared(&args.file, options, alphabet),
        &mut |line| note!("{line}"),
    )?;
    // The lock is held until the process ends: one writer per run directory.
    let (dir, _lock, mut trainer, data) = (opened.dir, opened.lock, opened.trainer, opened.data);
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
    print_stdout(&run_description(
        &spec,
        trainer.num_params(),
        valid.sequences.len(),
    ))?;

    let interrupt = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupt))
            .context("installing the Ctrl-C handler")?;
    }
    let mut report = Report::new(&spec, &args.out, &dir, trainer.step())?;
    let outcome = run(
        &mut trainer,
        &data.train,
        &valid,
        &dir,
        &mut report,
        &interrupt,
    )?;
    report.finish();
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
        Outcome::Finished => finished(
            &args,
            &dir,
            &trainer,
            &data,
            &valid,
            report.metrics(),
            report_sampler,
        )?,
    }
    Ok(())
}

/// The end of a finished run: the closing line, the held-out bound against the best Markov
/// chain, `MODEL.md`, and the end-of-run report.
fn finished(
    args: &TrainArgs,
    dir: &RunDir,
    trainer: &Trainer,
    data: &PreparedData,
    valid: &ValidationSet,
    metrics: &MetricsLog,
    report_sampler: SamplerSettings,
) -> Result<()> {
    let last = metrics.rows.last();
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
            dir,
            args.device.device()?,
            Weights::Ema,
        )?),
        false => None,
    };
    if let (Some(_), Some(trained)) = (&data.valid, &trained) {
        let bar = super::score::scoring_bar(valid.sequences.len())?;
        let comparison = compare_held_out(trained, data, valid, &mut |n| bar.inc(n as u64))?;
        bar.finish_and_clear();
        if let Some(comparison) = comparison {
            print_stdout(&format!("{comparison}\n"))?;
            held_out = Some((comparison.bits, comparison.std_error, comparison.sequences));
            held_out_times = HELD_OUT_TIMES;
            markov = Some((comparison.order, comparison.chain_bits, comparison.orders));
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
    write_model_card(dir, trainer.spec(), &facts)?;
    if let Some(trained) = &trained {
        let request = ReportRequest {
            samples: args.report_samples,
            sampler: report_sampler,
            model_name: args.out.display().to_string(),
        };
        let mut progress = ReportBars::default();
        let written = end_of_run_report(dir, trained, data, &request, &mut progress)?;
        print_stdout(&format!(
            "samples: {} ({})\n{}\nreport written to {}\n",
            written.samples,
            request.sampler.describe(),
            render::table(&written.evaluation),
            written.dir.display()
        ))?;
    }
    Ok(())
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
