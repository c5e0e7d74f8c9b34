//! `seddbio train`: a score model from a sequence file, into a run directory.

use std::{
    path::PathBuf,
    sync::{atomic::AtomicBool, Arc},
};

use anyhow::Result;
use clap::Args;
use seddbio::{
    diffusion::{GraphKind, ScheduleKind},
    model::{ComputeDevice, PositionKind},
    run::{LrSchedule, TimeBudget},
    train::{Interrupt, TrainRequest, TrainingOutcome, TrainingOverrides, INTERRUPT_GRACE},
};

use super::{choice, train_progress::TrainingBars, DataArgs};

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training sequences (FASTA, CSV, TSV or SMILES; gzip allowed).
    pub file: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Model and training preset: tiny, small, medium, tiny-plain, tiny-dropout, small-dropout
    /// (see configs/), a TOML file, or auto
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
    #[arg(long, value_parser = super::finite)]
    pub lr: Option<f64>,
    /// Conditional training (--label-column/--label-key): the fraction of examples whose label
    /// is replaced by the null label, so one network also learns the unconditional score
    /// that guidance needs [default: the preset's, 0.1].
    #[arg(long, value_parser = super::finite)]
    pub label_dropout: Option<f64>,
    /// How the network knows positions: rotary (relative only) or rotary+absolute (also a
    /// learned embedding per position, for windows anchored on a landmark such as a TSS)
    /// [default: the preset's, rotary].
    #[arg(long, value_parser = choice::<PositionKind>())]
    pub position: Option<PositionKind>,
    /// Run directory: run.toml, alphabet.toml, checkpoints, metrics.csv, loss.svg.
    #[arg(long, default_value = "runs/latest")]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint (with its own seed unless --seed is
    /// given, which must then be the run's).
    #[arg(long)]
    pub resume: bool,
    /// Fine-tune: start a new run in --out from the EMA weights of the run in this directory
    /// (its latest checkpoint) or of the bundled model of this name (`seddbio models`), with a
    /// new optimiser. The data are read with that run's vocabulary; graph, noise and model
    /// sizes are its own (a --config must have the same [model]), the [training] values its
    /// own unless --config or the options above say otherwise.
    #[arg(long, value_name = "RUN", conflicts_with = "resume")]
    pub init_from: Option<PathBuf>,
    /// cpu, cuda (builds with --features cuda) or wgpu (Vulkan, Metal, DirectX 12; builds with
    /// --features wgpu).
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
fn request(args: TrainArgs) -> TrainRequest {
    TrainRequest {
        alphabet: args.data.alphabet.clone(),
        prepare: args.data.prepare_options(),
        file: args.file,
        config: args.config,
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
        out: args.out,
        resume: args.resume,
        seed_given: args.data.seed.is_some(),
        init_from: args.init_from,
        device: args.device,
        report_samples: args.report_samples,
        report_sampler: args.report_sampler.controls(),
        command: command_line(),
    }
}

pub fn train(args: TrainArgs) -> Result<()> {
    let request = request(args);
    // Ctrl-C and SIGTERM end a run with a checkpoint once training starts (TrainingBars arms
    // them there); while the data are read or the report is made they stop the process.
    let interrupt = Arc::new(AtomicBool::new(false));
    let mut bars = TrainingBars::new(Arc::clone(&interrupt));
    let out = request.out.display();
    // A step or validation that outlasts the grace after Ctrl-C: the last completed step is
    // checkpointed from the watcher thread, and the process ends there.
    let mid_step = |saved: seddbio::Result<u64>| {
        match saved {
            Ok(step) => eprintln!(
                "interrupted during a step: checkpoint of step {step} written to {out}; continue with the same command and --resume"
            ),
            Err(e) => eprintln!("error: interrupted during a step; the checkpoint failed: {e}"),
        }
        std::process::exit(130);
    };
    let interrupt = Interrupt {
        flag: &interrupt,
        grace: INTERRUPT_GRACE,
        mid_step: Some(&mid_step),
    };
    match seddbio::train::train(&request, interrupt, &mut bars)? {
        TrainingOutcome::Finished(_) => Ok(()),
        TrainingOutcome::OutOfTime { step, steps } => {
            eprintln!(
                "time budget spent at step {step} of {steps} (the machine ran slower than when the steps were fixed): checkpoint written to {out}; finish with --resume"
            );
            std::process::exit(3);
        }
        TrainingOutcome::Interrupted { step } => {
            eprintln!(
                "interrupted: checkpoint of step {step} written to {out}; continue with the same command and --resume"
            );
            std::process::exit(130);
        }
    }
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
