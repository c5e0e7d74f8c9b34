//! `seddbio bench train|forward`: tokens/s of a full training step and of an inference forward
//! pass, for the reference configuration by default (small preset: d_model 128,
//! 4 blocks, 4 heads, cond 64; batch 32 x 256; DNA, absorbing).

use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use rand::{RngExt, SeedableRng};
use seddbio::{
    alphabet::TokenId,
    data::LayoutKind,
    diffusion::{stratified_times, Graph, GraphKind, NoisedBatch},
    model::{weighted_dse_with, ComputeDevice, Kernels},
    run::{default_schedule, RunSpec, TrainConfig},
    train::Trainer,
};

use super::{choice, print_stdout};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Full training steps: forward, DSE loss, backward, global-norm clip, AdamW, EMA.
    Train(BenchArgs),
    /// Inference forward passes of the score network (no gradients).
    Forward(BenchArgs),
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Model preset or TOML file.
    #[arg(long, default_value = "small")]
    pub config: String,
    /// Sequences per step.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Tokens per sequence.
    #[arg(long, default_value_t = 256)]
    pub seq_len: usize,
    /// Real tokens in the vocabulary (4 for DNA).
    #[arg(long, default_value_t = 4)]
    pub num_symbols: usize,
    /// absorb or uniform.
    #[arg(long, default_value = "absorb", value_parser = choice::<GraphKind>())]
    pub graph: GraphKind,
    /// Timed steps.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Untimed steps first (allocations, caches).
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// cpu, cuda or wgpu (each GPU backend builds with its feature).
    #[arg(long, default_value = "cpu", value_parser = choice::<ComputeDevice>())]
    pub device: ComputeDevice,
    /// fused: the CPU kernels of seddbio::model::fused (cpu only); burn: burn's own tensor
    /// operations, the reference they are tested against [default: fused on cpu].
    #[arg(long, value_parser = choice::<Kernels>())]
    pub kernels: Option<Kernels>,
}

pub fn run(command: BenchCommand) -> Result<()> {
    let (args, training) = match command {
        BenchCommand::Train(args) => (args, true),
        BenchCommand::Forward(args) => (args, false),
    };
    let mut config = TrainConfig::resolve(&args.config)?;
    config.training.batch_size = args.batch_size;
    config.training.steps = args.steps + args.warmup;
    config.training.warmup_steps = 1;
    let spec = RunSpec {
        seddbio_version: env!("CARGO_PKG_VERSION").to_string(),
        alphabet: "bench".into(),
        num_symbols: args.num_symbols,
        graph: args.graph,
        noise: default_schedule(args.graph),
        seed: 0,
        seq_len: args.seq_len,
        layout: LayoutKind::Windows,
        train_file: String::new(),
        length_counts: vec![[args.seq_len as u64, 1]],
        config,
        threads: rayon::current_num_threads(),
        data_digest: None,
        init_from: None,
        labels: Vec::new(),
        reweight: None,
    };
    let graph = Graph {
        kind: args.graph,
        num_symbols: args.num_symbols,
    };
    let device = args.device.device()?;
    let kernels = args.kernels.unwrap_or_else(|| Kernels::for_device(&device));
    if kernels == Kernels::Fused && !seddbio::model::fused_kernels_available(&device) {
        anyhow::bail!("--kernels fused runs on --device cpu only");
    }
    let mut trainer = Trainer::new(spec.clone(), device).with_kernels(kernels);
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(0);
    let mut batch = || {
        let clean: Vec<TokenId> = (0..args.batch_size * args.seq_len)
            .map(|_| rng.random_range(0..args.num_symbols) as TokenId)
            .collect();
        let times = stratified_times(args.batch_size, &mut rng);
        NoisedBatch::draw(&clean, args.seq_len, &times, &graph, &spec.noise, &mut rng)
    };
    let what = if training {
        "training step"
    } else {
        "forward pass"
    };
    print_stdout(&format!(
        "bench {what}: {} parameters ({}), batch {} x {} tokens, {} graph, {} threads, device {}, {kernels} kernels ({})\n",
        trainer.num_params(),
        spec.config.model,
        args.batch_size,
        args.seq_len,
        args.graph,
        rayon::current_num_threads(),
        args.device,
        seddbio::model::simd_level(),
    ))?;
    let bar = super::progress(
        Some((args.warmup + args.steps) as u64),
        "{bar:30} {pos}/{len} {per_sec} ETA {eta}",
    )?;
    let mut timings = Vec::with_capacity(args.steps);
    let model = trainer.ema().clone();
    for i in 0..args.warmup + args.steps {
        let b = batch();
        let start = Instant::now();
        if training {
            trainer.train_step(&b);
        } else {
            // Reading the result back forces the computation to finish.
            let _ = weighted_dse_with(&model, &b, &graph, kernels).into_data();
        }
        if i >= args.warmup {
            timings.push(start.elapsed().as_secs_f64());
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let total: f64 = timings.iter().sum();
    let tokens = (args.batch_size * args.seq_len * timings.len()) as f64;
    let mut sorted = timings.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
    let peak = match peak_resident_bytes() {
        Some(bytes) => format!(", peak resident memory {} MB", bytes / 1_000_000),
        None => String::new(),
    };
    print_stdout(&format!(
        "{:.0} tokens/s, {:.1} sequences/s ({} timed steps, median {:.1} ms/step, min {:.1}, max {:.1}){peak}\n",
        tokens / total,
        (args.batch_size * timings.len()) as f64 / total,
        timings.len(),
        median * 1e3,
        sorted.first().copied().unwrap_or(f64::NAN) * 1e3,
        sorted.last().copied().unwrap_or(f64::NAN) * 1e3,
    ))?;
    Ok(())
}

/// The most memory this process has held resident (`VmHWM` in `/proc/self/status`); `None`
/// where the kernel does not say (not Linux).
fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kilobytes * 1024)
}
