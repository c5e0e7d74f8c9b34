//! The wgpu backend (`--features wgpu`) on the adapter wgpu picks: on CI machines Mesa's
//! lavapipe, a Vulkan device that runs on the CPU (`.ci/gpu-smoke` installs it and runs this
//! file). Without the feature nothing here is compiled. Without a usable adapter each test
//! prints why and returns, unless `SEDDBIO_REQUIRE_WGPU=1` (set by `.ci/gpu-smoke` once it
//! has installed lavapipe), which makes that a failure.
#![cfg(feature = "wgpu")]

mod common;

use std::path::Path;

use burn::{
    module::{Module, ModuleMapper, ModuleVisitor, Param},
    tensor::{Device, Distribution, Gradients, Tensor},
};
use common::{ok, stderr};
use rand::{RngExt, SeedableRng};
use seddbio::{
    alphabet::TokenId,
    diffusion::{Graph, GraphKind, NoiseSchedule, NoisedBatch},
    model::{weighted_dse_with, ComputeDevice, Kernels, ModelSize, ScoreModelConfig},
};

/// The first step's loss, relative to its size, may differ from the CPU's by this much: the
/// GPU adds in other orders (tree reductions, fused kernels) in f32.
const LOSS_TOLERANCE: f32 = 1e-4;
/// Each parameter's gradient, relative to its largest entry.
const GRADIENT_TOLERANCE: f32 = 1e-3;

/// The wgpu device, or `None` (with the reason printed) where there is none to test on.
fn wgpu_device(test: &str) -> Option<Device> {
    match ComputeDevice::Wgpu.device() {
        Ok(device) => Some(device),
        Err(error) if std::env::var("SEDDBIO_REQUIRE_WGPU").as_deref() != Ok("1") => {
            eprintln!("{test}: skipped, no wgpu adapter here ({error})");
            None
        }
        Err(error) => panic!("{test}: SEDDBIO_REQUIRE_WGPU=1 but {error}"),
    }
}

/// Adds N(0, 0.3) noise to every parameter, so that the zero-initialised adaLN and output
/// layers (and through them the labels) take part in the comparison.
struct Jitter;

impl ModuleMapper for Jitter {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| {
            let noise = t.random_like(Distribution::Normal(0.0, 0.3));
            (t + noise).detach().require_grad()
        })
    }
}

/// Moves every parameter to `device` as a fresh leaf that records its gradient.
struct MoveTo(Device);

impl ModuleMapper for MoveTo {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| t.to_device(&self.0).detach().require_grad())
    }
}

/// Every parameter's gradient, flattened, in the model's order.
struct Collect<'a> {
    grads: &'a Gradients,
    out: Vec<Vec<f32>>,
}

impl ModuleVisitor for Collect<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let index = self.out.len();
        let grad = param
            .val()
            .grad(self.grads)
            .unwrap_or_else(|| panic!("parameter {index} has no gradient"));
        self.out
            .push(grad.into_data().try_to_vec::<f32>().expect("f32 gradient"));
    }
}

/// Loss and gradients of one training batch on `device`, from the same weights.
fn loss_and_gradients(
    model: &seddbio::model::ScoreModel,
    device: &Device,
    batch: &NoisedBatch,
    graph: &Graph,
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let model = model.clone().map(&mut MoveTo(device.clone().autodiff()));
    let loss = weighted_dse_with(&model, batch, graph, Kernels::Burn);
    let grads = loss.clone().sum().backward();
    let mut collect = Collect {
        grads: &grads,
        out: Vec::new(),
    };
    model.visit(&mut collect);
    let loss = loss
        .inner()
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 loss");
    (loss, collect.out)
}

/// The first training step's loss and every parameter's gradient on wgpu against the CPU
/// backend, from the same weights and batch (a conditional absorbing model, so that the label
/// embedding takes part).
#[test]
fn first_step_matches_the_cpu() {
    let Some(wgpu) = wgpu_device("first_step_matches_the_cpu") else {
        return;
    };
    let cpu = Device::flex();
    let graph = Graph {
        kind: GraphKind::Absorb,
        num_symbols: 4,
    };
    let schedule = NoiseSchedule::LogLinear { eps: 1e-3 };
    let config = ScoreModelConfig::new(4, true, ModelSize::new(32, 2, 2, 16)).with_num_labels(2);
    let autodiff = cpu.clone().autodiff();
    autodiff.seed(3);
    let model = config.init(&autodiff).map(&mut Jitter);
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(5);
    let (b, l) = (3, 37);
    let clean: Vec<TokenId> = (0..b * l).map(|_| rng.random_range(0..4)).collect();
    let batch = NoisedBatch::draw(&clean, l, &[0.2, 0.55, 0.9], &graph, &schedule, &mut rng)
        .with_labels(Some(vec![1, 2, 0]));

    let (cpu_loss, cpu_grads) = loss_and_gradients(&model, &cpu, &batch, &graph);
    let (gpu_loss, gpu_grads) = loss_and_gradients(&model, &wgpu, &batch, &graph);
    let scale = cpu_loss.iter().fold(0f32, |m, v| m.max(v.abs()));
    let gap = cpu_loss
        .iter()
        .zip(&gpu_loss)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    eprintln!("first step: losses {cpu_loss:?} (cpu) and {gpu_loss:?} (wgpu)");
    assert!(
        gap <= LOSS_TOLERANCE * scale,
        "losses differ by {gap} (scale {scale})"
    );
    assert_eq!(cpu_grads.len(), gpu_grads.len());
    let mut worst = 0f32;
    for (i, (c, g)) in cpu_grads.iter().zip(&gpu_grads).enumerate() {
        let scale = c.iter().fold(0f32, |m, v| m.max(v.abs()));
        let gap = c.iter().zip(g).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(scale > 0.0, "parameter {i} has a zero gradient on the CPU");
        assert!(
            gap <= GRADIENT_TOLERANCE * scale,
            "gradient of parameter {i} differs by {gap} (scale {scale})"
        );
        worst = worst.max(gap / scale);
    }
    eprintln!(
        "first step: {} gradients, largest relative gap {worst:.2e}",
        cpu_grads.len()
    );
}

/// `train`, `sample`, `infill`, `score` and `bench` with `--device wgpu`: a small model
/// trained for 60 steps lowers its training loss, then samples, infills a template and scores
/// sequences on the same device, and `bench` times a forward pass there. The training set is four repeated patterns, which a model learns within
/// tens of steps (a real genome's windows need hundreds before the loss leaves 2 bits/base).
#[test]
fn trains_samples_infills_and_scores() {
    if wgpu_device("trains_samples_infills_and_scores").is_none() {
        return;
    }
    let dir = common::tempdir().unwrap();
    let config = dir.path().join("check.toml");
    std::fs::write(
        &config,
        "[model]\nd_model = 32\nnum_blocks = 2\nnum_heads = 2\ncond_dim = 32\ndropout = 0.0\n\n\
         [training]\nsteps = 60\nbatch_size = 16\nlr = 3e-3\nwarmup_steps = 5\n\
         weight_decay = 0.0\ngrad_clip = 1.0\nema_decay = 0.99\neval_every = 10\n\
         checkpoint_every = 60\nvalid_sequences = 16\n",
    )
    .unwrap();
    let patterns = ["ACGT", "AACCGGTT", "AAAAATTTTT", "GATTACA"];
    let fasta: String = (0..256)
        .map(|i| {
            let unit = patterns[i % patterns.len()];
            format!(">pattern_{i}\n{}\n", unit.repeat(64 / unit.len() + 1))
        })
        .collect();
    let data = dir.path().join("patterns.fa");
    std::fs::write(&data, fasta).unwrap();
    let run = dir.path().join("run");
    let run = run.to_str().unwrap();
    ok(&[
        "train",
        data.to_str().unwrap(),
        "-a",
        "dna",
        "--seq-len",
        "64",
        "--config",
        config.to_str().unwrap(),
        "--device",
        "wgpu",
        "--report-samples",
        "0",
        "--out",
        run,
    ]);
    let metrics = std::fs::read_to_string(Path::new(run).join("metrics.csv")).unwrap();
    let mut lines = metrics.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|&h| h == "train_bits_per_token")
        .expect("a train_bits_per_token column");
    let losses: Vec<f64> = lines
        .map(|line| line.split(',').nth(column).unwrap().parse().unwrap())
        .collect();
    eprintln!("training loss on wgpu, every 10 steps: {losses:?}");
    assert!(losses.len() >= 5, "{metrics}");
    assert!(
        losses.iter().all(|l| l.is_finite()) && losses[losses.len() - 1] < losses[0],
        "the training loss did not fall: {losses:?}"
    );

    let samples = dir.path().join("samples.fa");
    let printed = ok(&[
        "sample",
        "--model",
        run,
        "--device",
        "wgpu",
        "-n",
        "4",
        "--steps",
        "16",
        "--seed",
        "3",
        "-o",
        samples.to_str().unwrap(),
    ]);
    assert!(printed.contains("4 sequences written"), "{printed}");
    let written = std::fs::read_to_string(&samples).unwrap();
    let sequences: Vec<&str> = written.lines().filter(|l| !l.starts_with('>')).collect();
    assert_eq!(sequences.len(), 4, "{written}");
    assert!(
        sequences
            .iter()
            .all(|s| s.len() == 64 && s.bytes().all(|b| b"ACGT".contains(&b))),
        "{written}"
    );

    let infilled = dir.path().join("infilled.fa");
    ok(&[
        "infill",
        "--model",
        run,
        "--device",
        "wgpu",
        "--template",
        "ACGTACGT[MASK:50]TTGACA",
        "-n",
        "3",
        "--steps",
        "16",
        "-o",
        infilled.to_str().unwrap(),
    ]);
    let written = std::fs::read_to_string(&infilled).unwrap();
    let sequences: Vec<&str> = written.lines().filter(|l| !l.starts_with('>')).collect();
    assert_eq!(sequences.len(), 3, "{written}");
    for s in &sequences {
        assert!(
            s.len() == 64 && s.starts_with("ACGTACGT") && s.ends_with("TTGACA"),
            "{written}"
        );
    }

    let scores = dir.path().join("scores.csv");
    let output = common::seddbio(&[
        "score",
        "--model",
        run,
        "--device",
        "wgpu",
        samples.to_str().unwrap(),
        "--num-t",
        "4",
        "-o",
        scores.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = std::fs::read_to_string(&scores).unwrap();
    assert_eq!(table.lines().count(), 5, "{table}");

    let printed = ok(&[
        "bench",
        "forward",
        "--device",
        "wgpu",
        "--config",
        "tiny",
        "--batch-size",
        "2",
        "--seq-len",
        "32",
        "--steps",
        "2",
        "--warmup",
        "1",
    ]);
    assert!(
        printed.contains("device wgpu, burn kernels") && printed.contains("tokens/s"),
        "{printed}"
    );
}

/// An adapter that is not there (`CUBECL_WGPU_DEFAULT_DEVICE` naming the 4,243rd discrete GPU)
/// stops the command with one error line, as `--device cuda` does without a GPU.
#[test]
fn a_missing_adapter_is_one_error_line() {
    let output = common::seddbio_with_env(
        &["bench", "forward", "--device", "wgpu", "--steps", "1"],
        &[("CUBECL_WGPU_DEFAULT_DEVICE", "DiscreteGpu(4242)")],
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    // wgpu's Wayland probe complains on stderr when XDG_RUNTIME_DIR is not set (the smoke
    // script sets it); that line is not seddbio's.
    let lines: Vec<&str> = message
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("XDG_RUNTIME_DIR"))
        .collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("error: wgpu: no usable wgpu device"),
        "{message}"
    );
}
