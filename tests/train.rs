//! `seddbio train` end to end on committed data: exact resume, Ctrl-C, refusals, outputs.

mod common;

use std::{path::Path, process::Command, time::Duration};

use common::{fails, ok, seddbio, stderr};
use seddbio::{model::flat_parameters, model::ComputeDevice, run::RunDir, train::Trainer};

const DNA: &str = "datasets/dna/tiny_ecoli_64x300.fa";

/// `seddbio train` on the committed DNA windows into `out` (100-token windows, batches of 8,
/// no end-of-run report), then `extra`.
fn train_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let options = ["-a", "dna", "--seq-len", "100", "--batch-size", "8"];
    common::train_args(DNA, &options, out, extra)
}

fn train(out: &Path, extra: &[&str]) -> String {
    ok(&train_args(out.to_str().unwrap(), extra))
}

fn weights(run: &Path) -> (u64, Vec<f32>, Vec<f32>) {
    let trainer = Trainer::load(&RunDir::new(run), ComputeDevice::Cpu.device().unwrap()).unwrap();
    (
        trainer.step(),
        flat_parameters(&trainer.model()),
        flat_parameters(trainer.ema()),
    )
}

#[test]
fn n_steps_and_a_resume_to_2n_equal_2n_steps() {
    let dir = common::tempdir().unwrap();
    let (whole, halves) = (dir.path().join("whole"), dir.path().join("halves"));
    let printed = train(&whole, &["--steps", "6", "--seed", "7"]);
    assert!(
        printed.contains("done: 6 steps; validation ELBO bound"),
        "{printed}"
    );
    train(&halves, &["--steps", "3", "--seed", "7"]);
    let (step, model_3, _) = weights(&halves);
    assert_eq!(step, 3);
    // Another seed would draw another split and other batches; none given, the run's is kept.
    let error = fails(&train_args(
        halves.to_str().unwrap(),
        &["--steps", "6", "--resume", "--seed", "3"],
    ));
    assert!(error.contains("--seed 3 (the run uses 7)"), "{error}");
    train(&halves, &["--steps", "6", "--resume"]);
    let (step_a, model_a, ema_a) = weights(&whole);
    let (step_b, model_b, ema_b) = weights(&halves);
    assert_eq!((step_a, step_b), (6, 6));
    assert_ne!(model_3, model_b, "the resumed run trained");
    assert_eq!(
        model_a, model_b,
        "weights after 3 + 3 steps differ from 6 steps"
    );
    assert_eq!(ema_a, ema_b, "EMA after 3 + 3 steps differs from 6 steps");
    assert_ne!(model_a, ema_a, "the EMA is an average, not a copy");

    // The run directory holds everything a user needs.
    for file in [
        "run.toml",
        "alphabet.toml",
        "metrics.csv",
        "loss.svg",
        "checkpoints/LATEST",
    ] {
        assert!(halves.join(file).exists(), "{file} missing");
    }
    // The resolved configuration, graph-dependent defaults included.
    let spec = std::fs::read_to_string(halves.join("run.toml")).unwrap();
    assert!(spec.contains("valid_times = 1"), "{spec}");
    let metrics = std::fs::read_to_string(halves.join("metrics.csv")).unwrap();
    assert_eq!(
        metrics.lines().count(),
        3,
        "header + steps 3 and 6: {metrics}"
    );
}

/// `--threads` sets the worker pool, is recorded in run.toml, and does not change the result:
/// the fused kernels cut work into fixed tasks and sum in a fixed order.
#[test]
fn thread_count_is_recorded_and_does_not_change_the_weights() {
    let dir = common::tempdir().unwrap();
    let (one, three) = (dir.path().join("one"), dir.path().join("three"));
    train(&one, &["--steps", "4", "--threads", "1"]);
    train(&three, &["--steps", "4", "--threads", "3"]);
    let spec = std::fs::read_to_string(one.join("run.toml")).unwrap();
    assert!(spec.contains("threads = 1"), "{spec}");
    let spec = std::fs::read_to_string(three.join("run.toml")).unwrap();
    assert!(spec.contains("threads = 3"), "{spec}");
    assert_eq!(
        weights(&one),
        weights(&three),
        "1 and 3 threads trained different weights"
    );
    // A usage error, from clap: exit status 2.
    let output = seddbio(&["--threads", "0", "bench", "forward"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("'0' is not a number of threads"));
}

/// The AVX2 and AVX-512 kernels add in the same order (docs/design.md, §11), so a run trains
/// the same weights at either level; a SEDDBIO_SIMD the CPU cannot run, or that names no level,
/// stops the command with one line.
#[test]
fn every_simd_level_trains_the_same_weights() {
    use seddbio::model::{SimdLevel, SIMD_VARIABLE};
    let dir = common::tempdir().unwrap();
    let detected = SimdLevel::detected();
    let levels: Vec<SimdLevel> = [SimdLevel::Avx2, SimdLevel::Avx512]
        .into_iter()
        .filter(|&l| l <= detected)
        .collect();
    if levels.len() < 2 {
        eprintln!("every_simd_level_trains_the_same_weights: this CPU runs at most {detected}; nothing to compare");
    }
    let trained: Vec<_> = levels
        .iter()
        .map(|level| {
            let out = dir.path().join(level.name());
            let output = common::seddbio_with_env(
                &train_args(out.to_str().unwrap(), &["--steps", "3"]),
                &[(SIMD_VARIABLE, level.name())],
            );
            assert!(output.status.success(), "{level}: {}", stderr(&output));
            weights(&out)
        })
        .collect();
    for pair in trained.windows(2) {
        assert!(pair[0] == pair[1], "{levels:?} trained different weights");
    }
    let refuse = |value: &str| {
        let output = common::seddbio_with_env(
            &["bench", "forward", "--steps", "1"],
            &[(SIMD_VARIABLE, value)],
        );
        assert_eq!(output.status.code(), Some(1), "{value}");
        stderr(&output)
    };
    assert!(refuse("sse4").contains("SEDDBIO_SIMD=sse4: give baseline, avx2 or avx512"));
    if detected < SimdLevel::Avx512 {
        assert!(refuse("avx512").contains("this CPU runs at most"));
    }
}

#[test]
fn resuming_refuses_what_does_not_fit() {
    let dir = common::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&run, &["--steps", "2"]);
    let out = run.to_str().unwrap();
    // Starting over a run would lose it.
    let error = fails(&["train", DNA, "-a", "dna", "--out", out]);
    assert!(
        error.contains("already holds a run") && error.contains("--resume"),
        "{error}"
    );
    // Another alphabet.
    let error = fails(&[
        "train",
        DNA,
        "-a",
        "rna",
        "--out",
        out,
        "--resume",
        "--on-unknown",
        "skip",
    ]);
    assert!(error.contains("alphabet 'dna'"), "{error}");
    // Other training data (once accepted, changing the validation set mid-curve).
    let error = fails(&[
        "train",
        "datasets/dna/ecoli_k12_256x1kb.fa",
        "-a",
        "dna",
        "--out",
        out,
        "--resume",
    ]);
    assert!(
        error.contains("does not give the examples the run was trained on"),
        "{error}"
    );
    // Another model size.
    let error = fails(&[
        "train", DNA, "-a", "dna", "--out", out, "--resume", "--config", "small",
    ]);
    assert!(
        error.contains("--config small (it sets [model] d_model 128 (the run uses 64)"),
        "{error}"
    );
    // An edited run.toml is refused as edited, not blamed on the options that agree with it.
    let run_toml = run.join("run.toml");
    let original = std::fs::read_to_string(&run_toml).unwrap();
    std::fs::write(&run_toml, original.replace("d_model = 64", "d_model = 32")).unwrap();
    let error = fails(&[
        "train", DNA, "-a", "dna", "--out", out, "--resume", "--config", "tiny",
    ]);
    assert!(
        error.contains("run.toml was changed after checkpoint")
            && error.contains("d_model: was 64, now 32")
            && !error.contains("--config"),
        "{error}"
    );
    std::fs::write(&run_toml, original).unwrap();
    // The same preset with other [training] values is named field by field (once ignored);
    // the preset the run started from, with the same overrides, resumes.
    let changed = include_str!("../configs/tiny.toml")
        .replace("ema_decay = 0.99 ", "ema_decay = 0.999 ")
        .replace("checkpoint_every = 200 ", "checkpoint_every = 50 ");
    let changed_path = dir.path().join("changed.toml");
    std::fs::write(&changed_path, changed).unwrap();
    let error = fails(&[
        "train",
        DNA,
        "-a",
        "dna",
        "--out",
        out,
        "--resume",
        "--batch-size",
        "8",
        "--config",
        changed_path.to_str().unwrap(),
    ]);
    assert!(
        error.contains("ema_decay 0.999 (the run uses 0.99)")
            && error.contains("checkpoint_every 50 (the run uses 200)")
            && !error.contains("batch_size"),
        "{error}"
    );
    ok(&[
        "train",
        DNA,
        "-a",
        "dna",
        "--out",
        out,
        "--resume",
        "--config",
        "tiny",
        "--batch-size",
        "8",
        "--steps",
        "3",
        "--report-samples",
        "0",
    ]);
    // A damaged checkpoint.
    let latest = std::fs::read_to_string(run.join("checkpoints/LATEST")).unwrap();
    let model = run
        .join("checkpoints")
        .join(latest.trim())
        .join("model.bpk");
    let mut bytes = std::fs::read(&model).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&model, bytes).unwrap();
    let error = fails(&[
        "train",
        DNA,
        "-a",
        "dna",
        "--out",
        out,
        "--resume",
        "--seq-len",
        "100",
    ]);
    assert!(
        error.contains("model.bpk") && error.contains("altered"),
        "{error}"
    );
}

/// Starts a training of 100,000 steps into `run` and returns once it has started (run.toml
/// is written just before the first step).
fn start_long_training(run: &Path, stderr: std::process::Stdio) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_seddbio"))
        .args(train_args(run.to_str().unwrap(), &["--steps", "100000"]))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if run.join("run.toml").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

#[test]
fn ctrl_c_writes_a_checkpoint_that_resumes() {
    let dir = common::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = run.to_str().unwrap();
    let child = start_long_training(&run, std::process::Stdio::piped());
    std::thread::sleep(Duration::from_millis(1500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted: checkpoint of step"), "{err}");
    let (step, _, _) = weights(&run);
    assert!(step > 0 && step < 100000);
    let resumed = seddbio(&[
        "train",
        DNA,
        "-a",
        "dna",
        "--out",
        out,
        "--resume",
        "--steps",
        &(step + 2).to_string(),
    ]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(weights(&run).0, step + 2);
}

/// `--time-budget`: the steps are fixed once the first ones are timed and recorded in
/// run.toml, the learning rate decays to its floor at the last step, and a resume from the
/// checkpoint written when the steps were fixed finishes the same schedule to the same
/// weights.
#[test]
fn a_time_budget_fixes_the_steps_and_a_resume_keeps_its_schedule() {
    let dir = common::tempdir().unwrap();
    // Checkpoints only when the steps are fixed and at the end (two are kept); no warm-up, so
    // that even a loaded machine that fits one step after the timing ends at the floor.
    let preset = include_str!("../configs/tiny.toml")
        .replace("warmup_steps = 50 ", "warmup_steps = 0 ")
        .replace("eval_every = 100 ", "eval_every = 100000 ")
        .replace("checkpoint_every = 200 ", "checkpoint_every = 100000 ");
    for changed in [
        "warmup_steps = 0 ",
        "eval_every = 100000 ",
        "checkpoint_every = 100000 ",
    ] {
        assert!(
            preset.contains(changed),
            "tiny.toml no longer has the line for {changed}"
        );
    }
    let config = dir.path().join("budget.toml");
    std::fs::write(&config, preset).unwrap();
    let whole = dir.path().join("whole");
    let config = config.to_str().unwrap();
    let printed = train(
        &whole,
        &[
            "--config",
            config,
            "--time-budget",
            "3s",
            "--lr-schedule",
            "linear",
        ],
    );
    let spec: seddbio::run::RunSpec =
        toml::from_str(&std::fs::read_to_string(whole.join("run.toml")).unwrap()).unwrap();
    let training = &spec.config.training;
    let fixed_at = training
        .time_budget
        .and_then(|b| b.calibrated_at_step)
        .expect("run.toml records when the steps were fixed");
    let steps = training.steps as u64;
    assert!(fixed_at >= 10 && steps > fixed_at, "{fixed_at} {steps}");
    assert!(
        printed.contains(&format!("done: {steps} steps")),
        "{printed}"
    );
    // The last step ran at the floor: lr 2e-3 x lr_floor 0.1.
    let metrics = std::fs::read_to_string(whole.join("metrics.csv")).unwrap();
    let last: Vec<&str> = metrics.lines().last().unwrap().split(',').collect();
    assert_eq!(last[0], steps.to_string(), "{metrics}");
    let lr: f64 = last[1].parse().unwrap();
    assert!((lr - 2e-4).abs() < 1e-12, "{metrics}");

    // The same run, interrupted right after its steps were fixed, then resumed.
    let resumed = dir.path().join("resumed");
    let fixed_name = format!("step-{fixed_at:08}");
    std::fs::create_dir_all(resumed.join("checkpoints")).unwrap();
    for file in ["run.toml", "alphabet.toml"] {
        std::fs::copy(whole.join(file), resumed.join(file)).unwrap();
    }
    let from = whole.join("checkpoints").join(&fixed_name);
    let to = resumed.join("checkpoints").join(&fixed_name);
    std::fs::create_dir(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    std::fs::write(
        resumed.join("checkpoints/LATEST"),
        format!("{fixed_name}\n"),
    )
    .unwrap();
    train(&resumed, &["--resume"]);
    assert_eq!(
        weights(&whole),
        weights(&resumed),
        "the resumed budget run differs"
    );
    // A resumed run finishes its steps; a new budget would change them.
    let err = fails(&[
        "train",
        DNA,
        "-a",
        "dna",
        "--out",
        resumed.to_str().unwrap(),
        "--resume",
        "--time-budget",
        "1m",
    ]);
    assert!(err.contains("--time-budget"), "{err}");
}

/// `--config auto` measures the presets and states its choice; it needs a budget.
#[test]
fn config_auto_measures_the_presets_for_a_budget() {
    let dir = common::tempdir().unwrap();
    let run = dir.path().join("auto");
    let err = fails(&[
        "train",
        DNA,
        "-a",
        "dna",
        "--config",
        "auto",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(err.contains("--time-budget"), "{err}");
    let output = seddbio(&train_args(
        run.to_str().unwrap(),
        &["--config", "auto", "--time-budget", "2s"],
    ));
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    // Two seconds buy far fewer than 80 tokens per parameter of even the tiny preset: tiny
    // is the fallback, and the larger presets are not measured.
    assert!(err.contains("--config auto: tiny"), "{err}");
    assert!(
        err.contains("(too few)") && !err.contains("small "),
        "{err}"
    );
    // About 190 windows of 100 tokens: 164 would fill a step, but an epoch must last 8 steps,
    // so the batch stays the preset's 32 (lr unchanged); the command line's --batch-size 8 wins.
    assert!(
        err.contains("--config auto: batch 32 x 100 tokens")
            && err.contains("lr 0.002; --batch-size and --lr on the command line override these"),
        "{err}"
    );
    let spec = std::fs::read_to_string(run.join("run.toml")).unwrap();
    assert!(spec.contains("d_model = 64"), "{spec}");
    assert!(spec.contains("batch_size = 8"), "{spec}");
}

/// A diverging run stops with one error line naming the step, and writes no checkpoint of
/// non-finite weights (once: exit 0, NaN checkpoints, "no validation data").
#[test]
fn a_diverging_run_stops_with_an_error_and_saves_nothing_non_finite() {
    let dir = common::tempdir().unwrap();
    let run = dir.path().join("diverged");
    let err = fails(&train_args(
        run.to_str().unwrap(),
        &["--steps", "300", "--lr", "1e10"],
    ));
    assert!(
        err.contains("training diverged at step") && err.contains("--lr"),
        "{err}"
    );
    // Whatever checkpoint exists holds finite weights.
    if run.join("checkpoints/LATEST").exists() {
        let (_, model, ema) = weights(&run);
        assert!(model.iter().chain(&ema).all(|v| v.is_finite()));
    }
}

/// A run stopped before its first checkpoint (killed, disk full) is started again in place by
/// the same command; `--resume` on it says so.
#[test]
fn a_run_without_a_checkpoint_starts_again_in_place() {
    let dir = common::tempdir().unwrap();
    let done = dir.path().join("done");
    train(&done, &["--steps", "2"]);
    let stranded = dir.path().join("stranded");
    std::fs::create_dir_all(stranded.join("checkpoints")).unwrap();
    for file in ["run.toml", "alphabet.toml"] {
        std::fs::copy(done.join(file), stranded.join(file)).unwrap();
    }
    let out = stranded.to_str().unwrap();
    let err = fails(&["train", DNA, "-a", "dna", "--out", out, "--resume"]);
    assert!(err.contains("without --resume"), "{err}");
    let printed = train(&stranded, &["--steps", "2"]);
    assert!(printed.contains("done: 2 steps"), "{printed}");
    assert_eq!(weights(&stranded), weights(&done));
    // With a checkpoint, the same command is refused as before.
    let err = fails(&["train", DNA, "-a", "dna", "--seq-len", "100", "--out", out]);
    assert!(err.contains("already holds a run"), "{err}");
}

/// One writer per run directory: while a training runs, a second `train` on its `--out` is
/// refused with the holder's pid (once both ran and interleaved their files).
#[test]
fn a_second_writer_is_refused_while_a_run_trains() {
    let dir = common::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = run.to_str().unwrap();
    let mut first = start_long_training(&run, std::process::Stdio::null());
    for extra in [&["--resume"][..], &[][..]] {
        let mut args = vec!["train", DNA, "-a", "dna", "--out", out];
        args.extend_from_slice(extra);
        let error = fails(&args);
        assert!(
            error.contains("another process is writing this run")
                && error.contains(&format!("pid {}", first.id())),
            "{error}"
        );
    }
    first.kill().unwrap();
    first.wait().unwrap();
}

/// `--init-from`: a new run (own directory, new optimiser, step 0) that starts from another
/// run's EMA weights, on other data; what cannot carry over is refused.
#[test]
fn fine_tuning_starts_a_new_run_from_another_runs_weights() {
    let dir = common::tempdir().unwrap();
    let source = dir.path().join("source");
    train(&source, &["--steps", "3"]);
    let (_, _, source_ema) = weights(&source);
    // The starting point, through the library: both weight sets are the source's EMA.
    let run = RunDir::new(&source);
    let (spec, alphabet) = run.read_spec().unwrap();
    let device = ComputeDevice::Cpu.device().unwrap();
    let start = Trainer::init_from(spec, &alphabet, device, &run).unwrap();
    assert_eq!(start.step(), 0);
    assert_eq!(flat_parameters(&start.model()), source_ema);
    assert_eq!(flat_parameters(start.ema()), source_ema);
    assert_eq!(start.spec().init_from.as_ref().map(|i| i.step), Some(3));
    // Through the command line, on other data with its own window.
    let tuned = dir.path().join("tuned");
    let from = source.to_str().unwrap();
    let printed = ok(&[
        "train",
        "datasets/dna/ecoli_k12_256x1kb.fa",
        "-a",
        "dna",
        "--seq-len",
        "64",
        "--batch-size",
        "4",
        "--steps",
        "2",
        "--report-samples",
        "0",
        "--init-from",
        from,
        "--out",
        tuned.to_str().unwrap(),
    ]);
    assert!(printed.contains("done: 2 steps"), "{printed}");
    let run_toml = std::fs::read_to_string(tuned.join("run.toml")).unwrap();
    assert!(
        run_toml.contains("[init_from]") && run_toml.contains("step = 3"),
        "{run_toml}"
    );
    assert_eq!(weights(&tuned).0, 2);
    let card = std::fs::read_to_string(tuned.join("MODEL.md")).unwrap();
    assert!(
        card.contains(&format!("\nbase_model: \"{from}\"\n")),
        "{card}"
    );
    // Dropout shapes no weight: a fine-tune may add it (tiny-dropout is tiny with dropout 0.1).
    let with_dropout = dir.path().join("with_dropout");
    ok(&train_args(
        with_dropout.to_str().unwrap(),
        &[
            "--config",
            "configs/tiny-dropout.toml",
            "--steps",
            "1",
            "--init-from",
            from,
        ],
    ));
    let run_toml = std::fs::read_to_string(with_dropout.join("run.toml")).unwrap();
    assert!(
        run_toml.contains("dropout = 0.1") && run_toml.contains("[init_from]"),
        "{run_toml}"
    );
    let tuned_out = dir.path().join("refused");
    let refused = |extra: &[&str]| {
        let mut args = vec![
            "train",
            DNA,
            "--init-from",
            from,
            "--out",
            tuned_out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        fails(&args)
    };
    let error = refused(&["-a", "dna", "--config", "small"]);
    assert!(
        error.contains("fine-tuning keeps the model size"),
        "{error}"
    );
    let error = refused(&["-a", "protein"]);
    assert!(error.contains("trained on alphabet 'dna'"), "{error}");
    let error = refused(&["-a", "dna", "--graph", "uniform"]);
    assert!(error.contains("trained on the absorb graph"), "{error}");
    // A usage error (clap's exit status 2), not a resume of the source.
    let usage = common::seddbio(&["train", DNA, "--init-from", from, "--resume"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(stderr(&usage).contains("cannot be used with '--resume'"));
    let error = refused(&["-a", "dna", "--config", "auto", "--time-budget", "1m"]);
    assert!(error.contains("--init-from keeps the size"), "{error}");
    let missing = dir.path().join("missing");
    let error = fails(&[
        "train",
        DNA,
        "-a",
        "dna",
        "--init-from",
        missing.to_str().unwrap(),
        "--out",
        tuned_out.to_str().unwrap(),
    ]);
    assert!(error.contains("no run here"), "{error}");
}

/// Under a batch scheduler or `2>log` (stderr not a terminal) the validation lines reach the
/// log as plain lines (once the progress bar swallowed them).
#[test]
fn a_log_that_is_not_a_terminal_gets_the_validation_lines() {
    let dir = common::tempdir().unwrap();
    let run = dir.path().join("run");
    let output = seddbio(&train_args(run.to_str().unwrap(), &["--steps", "3"]));
    assert!(output.status.success());
    let log = stderr(&output);
    assert!(
        log.lines()
            .any(|l| l.starts_with("step      3: train") && l.contains("validation ELBO")),
        "{log}"
    );
}

/// FNV-1a 64, as checkpoints record their files' digests (independent copy).
fn fnv1a64(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// A checkpoint whose weights hold a NaN, with digests that match (as a diverged run of an
/// older version wrote them), is refused by every command that loads it.
#[test]
fn a_model_with_non_finite_weights_is_refused() {
    let dir = common::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&run, &["--steps", "2"]);
    let latest = std::fs::read_to_string(run.join("checkpoints/LATEST")).unwrap();
    let checkpoint = run.join("checkpoints").join(latest.trim());
    let ema = checkpoint.join("ema.bpk");
    let mut bytes = std::fs::read(&ema).unwrap();
    // The last tensor's last value (burnpack stores the data after the header, f32 LE).
    let end = bytes.len();
    bytes[end - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    let state_path = checkpoint.join("state.toml");
    let state = std::fs::read_to_string(&state_path).unwrap();
    let old = fnv1a64(&std::fs::read(&ema).unwrap());
    assert!(state.contains(&old));
    std::fs::write(&state_path, state.replace(&old, &fnv1a64(&bytes))).unwrap();
    std::fs::write(&ema, &bytes).unwrap();
    let out = dir.path().join("x.fa");
    let error = fails(&[
        "sample",
        "--model",
        run.to_str().unwrap(),
        "-n",
        "2",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(error.contains("NaN or infinite weights"), "{error}");
    assert!(!out.exists());
}

/// Every finished run gets MODEL.md, a model card whose YAML front matter tools can read; with
/// the end-of-run report it holds the held-out bound beside the best Markov chain, which the
/// run also prints.
#[test]
fn a_finished_run_has_a_model_card_with_its_baseline() {
    let dir = common::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = run.to_str().unwrap();
    // The usual test run, with the end-of-run report on (4 samples).
    let mut args = train_args(out, &["--steps", "3"]);
    let at = args.iter().position(|a| *a == "--report-samples").unwrap();
    args[at + 1] = "4";
    let printed = ok(&args);
    let verdict = printed
        .lines()
        .find(|l| l.starts_with("held-out bound"))
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(
        verdict.contains("(16 times per sequence, ")
            && verdict.contains("for the best Markov chain on the same sequences (order "),
        "{verdict}"
    );
    let card = std::fs::read_to_string(run.join("MODEL.md")).unwrap();
    let (front, prose) = card
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .unwrap_or_else(|| panic!("{card}"));
    let yaml: std::collections::HashMap<&str, &str> =
        front.lines().filter_map(|l| l.split_once(": ")).collect();
    assert_eq!(yaml["library_name"], "seddbio");
    assert_eq!(yaml["alphabet"], "\"dna\"");
    assert_eq!(yaml["steps"], "3");
    assert_eq!(yaml["seq_len"], "100");
    assert!(yaml["training_data_digest"].len() == 18, "{front}");
    let held_out: f64 = yaml["held_out_bits_per_token"].parse().unwrap();
    assert!(
        verdict.contains(&format!("{held_out:.4}")),
        "{verdict} vs {held_out}"
    );
    assert!(yaml["markov_baseline"].starts_with("{order: "), "{front}");
    assert_eq!(yaml["held_out_times_per_sequence"], "16");
    assert!(prose.contains("## Use") && prose.contains(out), "{prose}");
    assert!(
        prose.contains("--report-samples 4 --out"),
        "the command: {prose}"
    );
    // The Hugging Face Hub's card conventions: license, data sets, the held-out figures as
    // model-index metrics, and the sections it expects.
    assert_eq!(yaml["license"], "other");
    assert_eq!(yaml["datasets"], "[\"tiny_ecoli_64x300.fa\"]");
    let metrics: Vec<&str> = front
        .lines()
        .filter_map(|l| l.trim().strip_prefix("value: "))
        .collect();
    assert_eq!(metrics.len(), 2, "{front}");
    assert_eq!(metrics[0], format!("{held_out:.4}"));
    assert!(front.contains("\nmodel-index:\n- name: "), "{front}");
    for section in [
        "## Intended use",
        "## Limitations",
        "## Biosecurity",
        "## Training data",
        "## Training procedure",
        "## Evaluation",
        "## Citation",
    ] {
        assert!(prose.contains(section), "{section}: {prose}");
    }
}

/// `--position rotary+absolute` is recorded in run.toml (the default is left out, so runs from
/// before the option resume), its weights have the position table, and a resume reproduces
/// an uninterrupted run.
#[test]
fn absolute_positions_are_recorded_and_resume_exactly() {
    let dir = common::tempdir().unwrap();
    let (whole, parts) = (dir.path().join("whole"), dir.path().join("parts"));
    train(&whole, &["--steps", "4", "--position", "rotary+absolute"]);
    let printed = train(&parts, &["--steps", "2", "--position", "rotary+absolute"]);
    assert!(
        printed.contains("a learned embedding for each of the 100 positions"),
        "{printed}"
    );
    let spec = std::fs::read_to_string(parts.join("run.toml")).unwrap();
    assert!(spec.contains(r#"position = "rotary+absolute""#), "{spec}");
    // A resume that asks for other positions is refused by name, not run with the old ones.
    let error = fails(&train_args(
        parts.to_str().unwrap(),
        &["--steps", "4", "--resume", "--position", "rotary"],
    ));
    assert!(
        error.contains("--position rotary (the run uses rotary+absolute)"),
        "{error}"
    );
    train(
        &parts,
        &["--steps", "4", "--resume", "--position", "rotary+absolute"],
    );
    let (step, model, ema) = weights(&parts);
    let (_, whole_model, whole_ema) = weights(&whole);
    assert_eq!(step, 4);
    assert_eq!((model, ema), (whole_model, whole_ema));
    let plain = dir.path().join("plain");
    train(&plain, &["--steps", "1"]);
    let spec = std::fs::read_to_string(plain.join("run.toml")).unwrap();
    assert!(
        !spec.contains("position") && !spec.contains("label"),
        "{spec}"
    );
    let (_, plain_model, _) = weights(&plain);
    let (_, absolute_model, _) = weights(&whole);
    assert_eq!(absolute_model.len() - plain_model.len(), 100 * 64);
}

/// What the library's training session told its front end, in order.
#[derive(Default)]
struct Heard {
    events: Vec<String>,
    shown: String,
    rows: Vec<seddbio::train::MetricsRow>,
    scored: usize,
}

impl seddbio::train::ReportProgress for Heard {
    fn sampling(&mut self, sequences: usize, _sampler: &str) {
        self.events.push(format!("sampling {sequences}"));
    }
    fn scored(&mut self, done: usize) {
        self.scored += done;
    }
}

impl seddbio::train::TrainingProgress for Heard {
    fn show(&mut self, text: &str) -> seddbio::Result<()> {
        self.shown.push_str(text);
        Ok(())
    }
    fn training(&mut self, _spec: &seddbio::run::RunSpec, step: u64) {
        self.events.push(format!("training from {step}"));
    }
    fn validation(&mut self, row: &seddbio::train::MetricsRow) {
        self.rows.push(*row);
    }
    fn trained(&mut self) {
        self.events.push("trained".into());
    }
    fn scoring_held_out(&mut self, sequences: usize) {
        self.events.push(format!("held-out {sequences}"));
    }
}

/// `train::train` is the whole of `seddbio train`: the same request gives the command line's
/// weights, metrics and model card, and the outcome carries the closing evaluation.
#[test]
fn the_library_session_is_what_the_command_line_runs() {
    use seddbio::train::{TrainRequest, TrainingOutcome, TrainingOverrides};

    let dir = common::tempdir().unwrap();
    let (by_cli, by_library) = (dir.path().join("cli"), dir.path().join("library"));
    let mut args = train_args(by_cli.to_str().unwrap(), &["--steps", "3"]);
    let at = args.iter().position(|a| *a == "--report-samples").unwrap();
    args[at + 1] = "4";
    let printed = ok(&args);

    let request = TrainRequest {
        file: DNA.into(),
        alphabet: "dna".into(),
        prepare: seddbio::data::PrepareOptions {
            seq_len: Some(100),
            ..Default::default()
        },
        training: TrainingOverrides {
            batch_size: Some(8),
            steps: Some(3),
            ..Default::default()
        },
        out: by_library.clone(),
        report_samples: 4,
        ..TrainRequest::default()
    };
    let mut heard = Heard::default();
    let interrupt = std::sync::atomic::AtomicBool::new(false);
    let outcome = seddbio::train::train(
        &request,
        seddbio::train::Interrupt::at_step_boundaries(&interrupt),
        &mut heard,
    )
    .unwrap();
    let TrainingOutcome::Finished(finished) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(finished.steps, 3);
    assert_eq!(weights(&by_library), weights(&by_cli));
    let metrics = |run: &Path| std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let columns = |text: String| -> Vec<Vec<String>> {
        // Everything but tokens/s, which is timing.
        text.lines()
            .map(|l| {
                let mut cells: Vec<String> = l.split(',').map(String::from).collect();
                cells.remove(4);
                cells
            })
            .collect()
    };
    assert_eq!(columns(metrics(&by_library)), columns(metrics(&by_cli)));
    assert_eq!(heard.rows.len() + 1, metrics(&by_library).lines().count());

    // The closing evaluation: shown as the command line prints it, and returned as values.
    let held_out = finished.held_out.as_ref().expect("a held-out comparison");
    assert!(
        heard.shown.contains(&held_out.to_string()),
        "{}",
        heard.shown
    );
    assert!(printed.contains(&held_out.to_string()), "{printed}");
    let report = finished.report.as_ref().expect("an end-of-run report");
    assert_eq!(report.samples, 4);
    assert_eq!(report.dir, by_library.join("report"));
    assert!(heard.shown.starts_with("file "), "{}", heard.shown);
    for line in ["done: 3 steps; validation ELBO bound ", "samples: 4 ("] {
        assert!(heard.shown.contains(line), "{line}: {}", heard.shown);
        assert!(printed.contains(line), "{line}: {printed}");
    }
    let valid = held_out.sequences;
    assert_eq!(
        heard.events,
        [
            "training from 0".to_string(),
            "trained".into(),
            format!("held-out {valid}"),
            "sampling 4".into(),
        ]
    );
    assert!(heard.scored >= valid, "{} of {valid}", heard.scored);
    // The card says the same as the command line's, but for the run's name and command.
    let card = |run: &Path| std::fs::read_to_string(run.join("MODEL.md")).unwrap();
    let (cli_card, library_card) = (card(&by_cli), card(&by_library));
    let line = |card: &str, key: &str| card.lines().find(|l| l.starts_with(key)).map(String::from);
    for key in [
        "held_out_bits_per_token",
        "markov_baseline",
        "steps",
        "sampler",
    ] {
        assert_eq!(line(&library_card, key), line(&cli_card, key), "{key}");
        assert!(line(&library_card, key).is_some(), "{key}: {library_card}");
    }
}

/// The `## Use` commands of a run's MODEL.md, as written.
fn card_commands(run: &Path) -> Vec<Vec<String>> {
    let card = std::fs::read_to_string(run.join("MODEL.md")).unwrap();
    let usage = card
        .split("## Use\n\n```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("{card}"));
    usage
        .lines()
        .map(|line| {
            let command = line.split("   #").next().unwrap_or(line);
            // The template is the one quoted word; no other word has a space or a quote.
            let mut words = Vec::new();
            for (i, part) in command.split('\'').enumerate() {
                match i % 2 {
                    1 => words.push(part.to_string()),
                    _ => words.extend(part.split_whitespace().map(String::from)),
                }
            }
            words
        })
        .collect()
}

/// MODEL.md's usage examples work for the model they describe, whatever its alphabet, and the
/// noise schedule is written as `--noise` names it.
#[test]
fn a_model_cards_examples_run_for_every_alphabet() {
    let dir = common::tempdir().unwrap();
    let dna = std::fs::read_to_string(DNA).unwrap();
    let rna_file = dir.path().join("rna.fa");
    let rna: String = dna
        .lines()
        .map(|l| match l.starts_with('>') {
            true => format!("{l}\n"),
            false => format!("{}\n", l.replace('T', "U")),
        })
        .collect();
    std::fs::write(&rna_file, &rna).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases = [
        (
            "dna",
            root.join(DNA),
            "sequences.fasta",
            ">a\nACGTTGCAAC\n".to_string(),
            "24",
        ),
        (
            "rna",
            rna_file.clone(),
            "sequences.fasta",
            ">a\nACGUUGCAAC\n".to_string(),
            "24",
        ),
        (
            "protein",
            root.join("datasets/protein/tiny_uniprot_128.fasta"),
            "sequences.fasta",
            ">p\nMKTAYIAKQRQISFVKSHFSRQ\n".to_string(),
            "24",
        ),
        (
            "smiles",
            root.join("datasets/smiles/moses_tiny_train.smi"),
            "sequences.smi",
            "CCO\nc1ccccc1\n".to_string(),
            "64",
        ),
        (
            "selfies",
            root.join("datasets/smiles/moses_tiny_train.smi"),
            "sequences.smi",
            "CCO\nc1ccccc1\n".to_string(),
            "64",
        ),
    ];
    for (alphabet, data, score_file, to_score, seq_len) in cases {
        let work = dir.path().join(alphabet);
        std::fs::create_dir(&work).unwrap();
        let run = work.join("run");
        ok(&[
            "train",
            data.to_str().unwrap(),
            "-a",
            alphabet,
            "--seq-len",
            seq_len,
            "--too-long",
            "window",
            "--batch-size",
            "4",
            "--steps",
            "1",
            "--report-samples",
            "0",
            "--out",
            run.to_str().unwrap(),
        ]);
        let card = std::fs::read_to_string(run.join("MODEL.md")).unwrap();
        assert!(
            card.contains("\nnoise: \"loglinear (eps 0.001)\"\n"),
            "{card}"
        );
        assert!(
            card.contains("loglinear (eps 0.001) noise schedule"),
            "{card}"
        );
        std::fs::write(work.join(score_file), &to_score).unwrap();
        let commands = card_commands(&run);
        // A SELFIES model's card adds the sampler that draws complete strings.
        let expected = match alphabet {
            "selfies" => 5,
            _ => 4,
        };
        assert_eq!(commands.len(), expected, "{alphabet}: {commands:?}");
        for words in commands {
            assert_eq!(words[0], "seddbio", "{words:?}");
            let output = Command::new(env!("CARGO_BIN_EXE_seddbio"))
                .args(&words[1..])
                .current_dir(&work)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{alphabet}: {words:?}: {}",
                stderr(&output)
            );
        }
        let extension = score_file.rsplit('.').next().unwrap();
        for written in [
            format!("samples.{extension}"),
            format!("infilled.{extension}"),
            "scores.csv".into(),
            "model.safetensors".into(),
        ] {
            assert!(work.join(&written).is_file(), "{alphabet}: {written}");
        }
        if alphabet == "selfies" {
            let complete = std::fs::read_to_string(work.join("complete.smi")).unwrap();
            assert_eq!(complete.lines().count(), 100, "{complete}");
        }
    }
}

/// A step that outlasts the grace after an interrupt (here: an observer that blocks inside the
/// step's report) has the last completed step checkpointed from the watcher thread while the
/// step is still in progress; the front end is told which step.
#[test]
fn an_interrupt_during_a_long_step_checkpoints_the_last_completed_step() {
    use std::sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    };

    use seddbio::train::{
        run, Interrupt, Observer, Outcome, StepStats, TrainRequest, TrainingOverrides,
        ValidationSet,
    };

    struct Blocking<'a> {
        flag: &'a AtomicBool,
        block: Duration,
    }
    impl Observer for Blocking<'_> {
        fn step(&mut self, stats: &StepStats, _tokens: u64) {
            if stats.step == 2 {
                // Ctrl-C, then a long "step": the run cannot take the interrupt up in time.
                self.flag.store(true, Ordering::SeqCst);
                std::thread::sleep(self.block);
            }
        }
        fn validation(&mut self, _: u64, _: f64, _: f64) -> seddbio::Result<()> {
            Ok(())
        }
        fn checkpoint(&mut self, _: u64) -> seddbio::Result<()> {
            Ok(())
        }
    }

    let dir = common::tempdir().unwrap();
    let out = dir.path().join("run");
    let request = TrainRequest {
        file: DNA.into(),
        alphabet: "dna".into(),
        prepare: seddbio::data::PrepareOptions {
            seq_len: Some(100),
            valid_fraction: 0.0,
            ..Default::default()
        },
        training: TrainingOverrides {
            batch_size: Some(8),
            steps: Some(50),
            ..Default::default()
        },
        out: out.clone(),
        ..TrainRequest::default()
    };
    let device = ComputeDevice::Cpu.device().unwrap();
    let opened = request.open(device, &mut Heard::default()).unwrap();
    let (mut trainer, run_dir) = (opened.trainer, opened.dir);
    let flag = AtomicBool::new(false);
    let told = Mutex::new(Vec::new());
    let mid_step = |saved: seddbio::Result<u64>| {
        // What the watcher wrote, as the front end would see it before ending the process.
        let latest = std::fs::read_to_string(out.join("checkpoints/LATEST")).unwrap();
        told.lock()
            .unwrap()
            .push((saved.map_err(|e| e.to_string()), latest.trim().to_string()));
    };
    let interrupt = Interrupt {
        flag: &flag,
        grace: Duration::from_millis(100),
        mid_step: Some(&mid_step),
    };
    let mut observer = Blocking {
        flag: &flag,
        block: Duration::from_secs(2),
    };
    let outcome = run(
        &mut trainer,
        &opened.data.train,
        &ValidationSet::default(),
        &run_dir,
        &mut observer,
        interrupt,
    )
    .unwrap();
    // The watcher wrote step 2 during the block; the run then took the interrupt up itself.
    assert_eq!(
        *told.lock().unwrap(),
        [(Ok(2), "step-00000002".to_string())]
    );
    assert_eq!(outcome, Outcome::Interrupted);
    assert_eq!(weights(&out).0, 2);
}
