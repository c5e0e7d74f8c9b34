//! One training run: the score model under AdamW with linear warm-up, global gradient-norm
//! clipping and an EMA of the weights; the validation ELBO; checkpoints that resume exactly.

use std::time::Instant;

use burn::{
    module::Module,
    optim::{AdamWConfig, GradientsParams, ModuleOptimizer},
    store::ModuleRecord,
    tensor::{Bytes, Device},
};

use super::{
    batch::{stream_rng, stream_seed, BatchOrder, Stream},
    interrupt::{Interrupt, LastCompleted},
};
use crate::{
    alphabet::TokenId,
    data::TokenDataset,
    diffusion::{stratified_times, Graph, NoisedBatch},
    model::{
        clip_global_norm, pooled_bits_per_token, sequence_elbos, update_ema, weighted_dse_with,
        Kernels, ScoreModel,
    },
    run::{
        checkpoint_file, record_error, RunDir, RunSpec, TrainedModel, Weights, EMA_FILE,
        MODEL_FILE, OPTIMIZER_FILE,
    },
    Error, Result,
};

/// What one optimiser step measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// The step just done (1-based).
    pub step: u64,
    /// Learning rate used.
    pub lr: f64,
    /// Training loss, `sigma(t)`-weighted DSE per position, in bits (an estimate of the ELBO
    /// bound without its prior term).
    pub loss_bits: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
}

/// Validation sequences and how many of their tokens are real.
#[derive(Debug, Clone, Default)]
pub struct ValidationSet {
    /// Sequences, each `seq_len` tokens.
    pub sequences: Vec<Vec<TokenId>>,
    /// Real (non-pad) tokens of each.
    pub real_tokens: Vec<usize>,
    /// The label of each (conditional data), for the conditional bound.
    pub labels: Option<Vec<usize>>,
}

impl ValidationSet {
    /// The first `limit` examples of `dataset`.
    pub fn from_dataset(dataset: &TokenDataset, limit: usize) -> ValidationSet {
        let n = dataset.len().min(limit);
        ValidationSet {
            sequences: (0..n).map(|i| dataset.example(i)).collect(),
            real_tokens: dataset.examples()[..n]
                .iter()
                .map(|e| e.len as usize)
                .collect(),
            labels: (0..n).map(|i| dataset.example_label(i)).collect(),
        }
    }

    /// Whether there is nothing to validate on.
    pub fn is_empty(&self) -> bool {
        self.sequences.is_empty()
    }
}

/// The model, its EMA and the optimiser of a run, at some step.
#[derive(Clone)]
pub struct Trainer {
    spec: RunSpec,
    graph: Graph,
    device: Device,
    model: ScoreModel,
    ema: ScoreModel,
    optimizer: ModuleOptimizer,
    step: u64,
    kernels: Kernels,
}

impl Trainer {
    /// A fresh run on `device` (the plain device; training uses its autodiff twin). The
    /// initial weights follow `spec.seed`.
    pub fn new(spec: RunSpec, device: Device) -> Trainer {
        let graph = spec.forward_graph();
        let device_kernels = device.clone();
        device.seed(stream_seed(spec.seed, Stream::Dropout, u64::MAX));
        let model = spec.network().init(&device.clone().autodiff());
        let ema = model.valid();
        let optimizer = AdamWConfig::new()
            .with_weight_decay(spec.config.training.weight_decay as f32)
            .with_epsilon(1e-8)
            .init();
        Trainer {
            spec,
            graph,
            device,
            model,
            ema,
            optimizer,
            step: 0,
            kernels: Kernels::for_device(&device_kernels),
        }
    }

    /// The same run computed with other kernels (`seddbio bench --kernels`); the default is
    /// [`Kernels::for_device`].
    pub fn with_kernels(mut self, kernels: Kernels) -> Trainer {
        self.kernels = kernels;
        self
    }

    /// The same run with a new total number of steps (resuming to go further).
    pub fn with_steps(mut self, steps: usize) -> Trainer {
        self.spec.config.training.steps = steps;
        self
    }

    /// Steps done.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The run's specification.
    pub fn spec(&self) -> &RunSpec {
        &self.spec
    }

    /// The EMA weights (what validation and sampling use).
    pub fn ema(&self) -> &ScoreModel {
        &self.ema
    }

    /// The trained weights (inference copy).
    pub fn model(&self) -> ScoreModel {
        self.model.valid()
    }

    /// Trainable parameters.
    pub fn num_params(&self) -> usize {
        self.model.num_params()
    }

    /// Learning rate of the step after `done` steps
    /// ([`TrainingOptions::learning_rate`](super::TrainingOptions::learning_rate)).
    pub fn learning_rate(&self, done: u64) -> f64 {
        self.spec.config.training.learning_rate(done)
    }

    /// One optimiser step on `batch`.
    pub fn train_step(&mut self, batch: &NoisedBatch) -> StepStats {
        let training = self.spec.config.training.clone();
        self.device
            .seed(stream_seed(self.spec.seed, Stream::Dropout, self.step));
        let loss = weighted_dse_with(&self.model, batch, &self.graph, self.kernels).mean();
        let loss_nats = f64::from(loss.clone().into_scalar::<f32>());
        let mut grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let grad_norm = clip_global_norm(&self.model, &mut grads, training.grad_clip);
        let lr = self.learning_rate(self.step);
        self.model = self.optimizer.step(lr, self.model.clone(), grads);
        // EMA warm-up: the average forgets the random initial weights within ~10 steps.
        let decay = training
            .ema_decay
            .min((1.0 + self.step as f64) / (10.0 + self.step as f64));
        self.ema = update_ema(self.ema.clone(), &self.model, decay);
        self.step += 1;
        StepStats {
            step: self.step,
            lr,
            loss_bits: loss_nats / (batch.len as f64 * std::f64::consts::LN_2),
            grad_norm,
        }
    }

    /// ELBO bound of the validation set under the EMA weights, bits per real token and its
    /// standard error. With one time per sequence the times are stratified across the
    /// sequences, with several ([`valid_times_for`](super::TrainingOptions::valid_times_for)) within each sequence;
    /// like the noise they are the same at every call, so successive values differ only by
    /// what the model learned.
    pub fn validate(&self, valid: &ValidationSet, batch_size: usize) -> Result<(f64, f64)> {
        let mut rng = stream_rng(self.spec.seed, Stream::Validation, 0);
        let per_sequence = self.spec.config.training.valid_times_for(self.graph.kind);
        let times: Vec<Vec<f64>> = if per_sequence == 1 {
            stratified_times(valid.sequences.len(), &mut rng)
                .into_iter()
                .map(|t| vec![t])
                .collect()
        } else {
            (0..valid.sequences.len())
                .map(|_| stratified_times(per_sequence, &mut rng))
                .collect()
        };
        let estimates = sequence_elbos(
            &self.ema,
            &valid.sequences,
            &valid.real_tokens,
            valid.labels.as_deref(),
            &times,
            &self.graph,
            &self.spec.noise,
            batch_size,
            &mut crate::shard::SharedStream(&mut rng),
        )?;
        Ok(pooled_bits_per_token(&estimates))
    }

    /// Writes a checkpoint of the current step into `run`; refuses weights that are not all
    /// finite, so a diverged run never overwrites its last good checkpoint.
    pub fn save(&self, run: &RunDir) -> Result<std::path::PathBuf> {
        for (what, weights) in [
            ("weights", self.model.valid()),
            ("EMA weights", self.ema.clone()),
        ] {
            if !crate::model::flat_parameters(&weights)
                .iter()
                .all(|v| v.is_finite())
            {
                return Err(run.checkpoint_error(format!(
                        "step {}: the {what} hold NaN or infinite values (training diverged); not written over the last checkpoint",
                        self.step
                    ),
                ));
            }
        }
        let bytes = |record: std::result::Result<Bytes, burn::store::RecordError>, what: &str| {
            record
                .map(|b| b.to_vec())
                .map_err(|e| run.checkpoint_error(format!("saving the {what}: {e}")))
        };
        let files = [
            (
                MODEL_FILE,
                bytes(self.model.clone().into_record().into_bytes(), "model")?,
            ),
            (
                EMA_FILE,
                bytes(self.ema.clone().into_record().into_bytes(), "EMA weights")?,
            ),
            (
                OPTIMIZER_FILE,
                bytes(self.optimizer.into_bytes(), "optimiser state")?,
            ),
        ];
        run.save_checkpoint(self.step, &files)
    }

    /// The run in `run` at its latest checkpoint.
    pub fn load(run: &RunDir, device: Device) -> Result<Trainer> {
        let (spec, _) = run.read_spec()?;
        let mut trainer = Trainer::new(spec, device);
        let (state, files) = run.load_checkpoint()?;
        if !files.iter().any(|(name, _)| name == OPTIMIZER_FILE) {
            // `weights import` writes weights without an optimiser state.
            return Err(run.checkpoint_error(format!(
                "its checkpoint holds weights without an optimiser state ({OPTIMIZER_FILE}; an imported run): it cannot resume, but a new run can start from it with --init-from"
            )));
        }
        let file = |name: &str| checkpoint_file(run, &files, name);
        let record =
            ModuleRecord::from_bytes(file(MODEL_FILE)?).map_err(record_error(run, MODEL_FILE))?;
        trainer.model = trainer
            .model
            .try_load_record(record)
            .map_err(record_error(run, MODEL_FILE))?;
        let record =
            ModuleRecord::from_bytes(file(EMA_FILE)?).map_err(record_error(run, EMA_FILE))?;
        trainer.ema = trainer
            .ema
            .try_load_record(record)
            .map_err(record_error(run, EMA_FILE))?;
        trainer.optimizer = trainer
            .optimizer
            .clone()
            .from_bytes(file(OPTIMIZER_FILE)?)
            .map_err(record_error(run, OPTIMIZER_FILE))?;
        trainer.step = state.step;
        Ok(trainer)
    }

    /// A fresh run of `spec` that starts from the EMA weights of the latest checkpoint of
    /// `source` (fine-tuning, `train --init-from`): a new optimiser and step 0, the source's
    /// weights for both the trained and the averaged model. The source must have the same
    /// graph, vocabulary (`alphabet`, compared token by token) and model sizes.
    pub fn init_from(
        mut spec: RunSpec,
        alphabet: &crate::alphabet::Alphabet,
        device: Device,
        source: &RunDir,
    ) -> Result<Trainer> {
        let model = TrainedModel::load(source, device.clone(), Weights::Ema)?;
        let (source_spec, source_alphabet) = (&model.spec, &model.alphabet);
        let refuse = |what: String| {
            Err(Error::Run {
                run: source.root().to_path_buf(),
                message: format!("cannot start from this run: {what}"),
            })
        };
        if source_alphabet.to_toml() != alphabet.to_toml() {
            return refuse(format!(
                "its vocabulary ({}, {} tokens) is not the new run's ({}, {} tokens)",
                source_alphabet.name(),
                source_alphabet.len(),
                alphabet.name(),
                alphabet.len()
            ));
        }
        if source_spec.graph != spec.graph {
            return refuse(format!(
                "it was trained on the {} graph, the new run uses {}",
                source_spec.graph, spec.graph
            ));
        }
        if !source_spec.config.model.same_weights(&spec.config.model) {
            return refuse(format!(
                "its model sizes ({}) are not the new run's ({})",
                source_spec.config.model, spec.config.model
            ));
        }
        if source_spec.labels != spec.labels {
            return refuse(format!(
                "its labels [{}] are not the new run's [{}]",
                source_spec.labels.join(", "),
                spec.labels.join(", ")
            ));
        }
        spec.init_from = Some(crate::run::InitFrom {
            run: source.name(),
            step: model.step,
        });
        let mut trainer = Trainer::new(spec, device);
        trainer.model = trainer
            .model
            .try_load_record(model.model.clone().into_record())
            .map_err(record_error(source, EMA_FILE))?;
        trainer.ema = trainer
            .ema
            .try_load_record(model.model.into_record())
            .map_err(record_error(source, EMA_FILE))?;
        Ok(trainer)
    }

    /// Trainable parameters and training throughput (real tokens per second) of a fresh run
    /// of `spec` on `train`: one untimed step, then `steps` timed ones on the run's own
    /// batches; the weights are thrown away. For `train --config auto`.
    pub fn measure_throughput(
        spec: RunSpec,
        device: Device,
        train: &TokenDataset,
        steps: usize,
    ) -> (usize, f64) {
        let (seed, noise) = (spec.seed, spec.noise);
        let label_dropout = spec.config.training.label_dropout;
        let mut order = BatchOrder::for_dataset(seed, train, spec.config.training.batch_size);
        let mut trainer = Trainer::new(spec, device);
        let graph = trainer.graph;
        let (mut tokens, mut seconds) = (0, 0.0);
        for step in 0..=steps as u64 {
            let batch =
                NoisedBatch::for_step(train, &mut order, step, seed, &graph, &noise, label_dropout);
            let started = Instant::now();
            trainer.train_step(&batch);
            if step > 0 {
                seconds += started.elapsed().as_secs_f64();
                tokens += real_tokens(train, &mut order, step);
            }
        }
        (trainer.num_params(), tokens as f64 / seconds.max(1e-9))
    }
}

/// How a call to [`run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// All steps done; the final checkpoint is written.
    Finished,
    /// `interrupt` was raised; a checkpoint of the last completed step is written.
    Interrupted,
    /// The time budget ran out before the steps fixed for it (the machine slowed down after
    /// the calibration); a checkpoint of the last completed step is written, and a resume
    /// finishes the schedule.
    OutOfTime,
}

/// Observes a run: called after each step and each validation.
pub trait Observer {
    /// After every step, with the real tokens it trained on.
    fn step(&mut self, stats: &StepStats, tokens: u64);
    /// After every validation: bits/token and its standard error (NaN without validation
    /// data). An error (e.g. writing the metrics) ends the run.
    fn validation(&mut self, step: u64, bits: f64, std_error: f64) -> Result<()>;
    /// After every checkpoint.
    fn checkpoint(&mut self, step: u64) -> Result<()>;
    /// When a time budget has been turned into a number of steps.
    fn steps_fixed(&mut self, _steps: u64) {}
}

/// How far past its time budget a run may go to finish the steps fixed for it, in seconds:
/// a tenth of the budget, at least a minute (short budgets vary most).
fn budget_grace(budget: f64) -> f64 {
    (0.1 * budget).max(60.0)
}

/// Timing of the steps, validations and checkpoints of this call to [`run`], for turning a
/// time budget into steps.
#[derive(Debug, Default)]
struct Clock {
    steps: u64,
    step_seconds: f64,
}

/// Trains until `spec.config.training.steps`, validating every `eval_every` steps and writing
/// a checkpoint every `checkpoint_every` steps, at the end, and when `interrupt` is raised
/// (at the next step boundary, or, with [`Interrupt::mid_step`], within
/// [`INTERRUPT_GRACE`](super::INTERRUPT_GRACE) from another thread).
///
/// Under a time budget not yet turned into steps ([`TimeBudget`](super::TimeBudget)), the
/// steps are fixed once the first ones are timed, and `run.toml` in `dir` is rewritten with
/// them.
pub fn run(
    trainer: &mut Trainer,
    train: &TokenDataset,
    valid: &ValidationSet,
    dir: &RunDir,
    observer: &mut dyn Observer,
    interrupt: Interrupt<'_>,
) -> Result<Outcome> {
    let last = LastCompleted::new(interrupt.mid_step.is_some());
    last.record(trainer);
    let saver = Saver { dir, last: &last };
    std::thread::scope(|scope| {
        scope.spawn(|| last.watch(interrupt, dir));
        let outcome = run_steps(trainer, train, valid, &saver, observer, interrupt);
        last.finish();
        outcome
    })
}

/// Writes the run's checkpoints, never at the same time as the interrupt watcher.
struct Saver<'a> {
    dir: &'a RunDir,
    last: &'a LastCompleted,
}

impl Saver<'_> {
    fn save(&self, trainer: &Trainer) -> Result<std::path::PathBuf> {
        self.last.exclusive(|| trainer.save(self.dir))
    }
}

/// [`run`]'s loop.
fn run_steps(
    trainer: &mut Trainer,
    train: &TokenDataset,
    valid: &ValidationSet,
    saver: &Saver<'_>,
    observer: &mut dyn Observer,
    interrupt: Interrupt<'_>,
) -> Result<Outcome> {
    let dir = saver.dir;
    let started = Instant::now();
    let mut clock = Clock::default();
    let (seed, graph, schedule) = (trainer.spec.seed, trainer.graph, trainer.spec.noise);
    let batch_size = trainer.spec.config.training.batch_size;
    let mut order = BatchOrder::for_dataset(seed, train, batch_size);
    let eval_batch = batch_size.max(8);
    let validate = |trainer: &Trainer, observer: &mut dyn Observer, done: u64| {
        let (bits, se) = if valid.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            trainer.validate(valid, eval_batch)?
        };
        observer.validation(done, bits, se)
    };
    // Set when this call fixes the steps of a budget: only then does the clock it started
    // measure the budget (a resumed run finishes its steps whatever the time).
    let mut budget_clock = false;
    loop {
        let training = trainer.spec.config.training.clone();
        let budget = training.time_budget;
        let calibrating = budget.is_some_and(|b| b.calibrated_at_step.is_none());
        if !calibrating && trainer.step >= training.steps as u64 {
            return Ok(Outcome::Finished);
        }
        if interrupt.raised() {
            saver.last.take_up();
            trainer.save(dir)?;
            observer.checkpoint(trainer.step)?;
            return Ok(Outcome::Interrupted);
        }
        if let Some(budget) = budget.filter(|_| budget_clock) {
            if started.elapsed().as_secs_f64() > budget.seconds + budget_grace(budget.seconds) {
                saver.save(trainer)?;
                observer.checkpoint(trainer.step)?;
                return Ok(Outcome::OutOfTime);
            }
        }
        let label_dropout = trainer.spec.config.training.label_dropout;
        let batch = NoisedBatch::for_step(
            train,
            &mut order,
            trainer.step,
            seed,
            &graph,
            &schedule,
            label_dropout,
        );
        let tokens = real_tokens(train, &mut order, trainer.step);
        let step_started = Instant::now();
        let stats = trainer.train_step(&batch);
        saver.last.record(trainer);
        if !(stats.loss_bits.is_finite() && stats.grad_norm.is_finite()) {
            // Nothing is saved from here on: the last checkpoint holds the last good weights.
            return Err(Error::Setting {
                setting: crate::Setting::LearningRate,
                message: format!(
                "{}: training diverged at step {}: loss {} bits/token, gradient norm {}; nothing from this step on is saved, the last checkpoint (if any) is kept (learning rate {} at that step)",
                dir.root().display(),
                stats.step,
                stats.loss_bits,
                stats.grad_norm,
                stats.lr
            ),
            });
        }
        clock.step_seconds += step_started.elapsed().as_secs_f64();
        clock.steps += 1;
        observer.step(&stats, tokens);
        let done = trainer.step;
        if let Some(budget) = budget.filter(|_| calibrating) {
            if clock.steps >= 10 && clock.step_seconds >= (budget.seconds / 20.0).min(60.0) {
                let steps = fix_budget_steps(
                    trainer,
                    budget.seconds,
                    &started,
                    &clock,
                    saver,
                    observer,
                    |t, o| validate(t, o, done),
                )?;
                observer.steps_fixed(steps);
                budget_clock = true;
                continue;
            }
        }
        // While calibrating, the total is not known yet: no final validation.
        let last = !calibrating && done == training.steps as u64;
        if done.is_multiple_of(training.eval_every as u64) || last {
            validate(trainer, observer, done)?;
        }
        if done.is_multiple_of(training.checkpoint_every as u64) || last {
            saver.save(trainer)?;
            observer.checkpoint(done)?;
        }
    }
}

/// Times one validation and one checkpoint, fixes the run's steps to what fits the rest of
/// `budget` seconds at the pace of `clock`, and rewrites `run.toml`; returns the steps.
fn fix_budget_steps(
    trainer: &mut Trainer,
    budget: f64,
    started: &Instant,
    clock: &Clock,
    saver: &Saver<'_>,
    observer: &mut dyn Observer,
    validate: impl Fn(&Trainer, &mut dyn Observer) -> Result<()>,
) -> Result<u64> {
    let done = trainer.step;
    let training = &trainer.spec.config.training;
    let timed = Instant::now();
    validate(trainer, observer)?;
    let valid_seconds = timed.elapsed().as_secs_f64();
    let timed = Instant::now();
    saver.save(trainer)?;
    observer.checkpoint(done)?;
    let checkpoint_seconds = timed.elapsed().as_secs_f64();
    let per_step = clock.step_seconds / clock.steps as f64
        + valid_seconds / training.eval_every as f64
        + checkpoint_seconds / training.checkpoint_every as f64;
    // What this call has spent already, and a 4 % margin for the final validation and
    // checkpoint and the machine's drift (with 2 %, an 8-minute EPDnew run took 8 min 13 s:
    // its later steps ran about 10 % slower than the timed first ones).
    let left = 0.96 * budget - started.elapsed().as_secs_f64();
    let steps = done + (left / per_step).floor().max(1.0) as u64;
    let options = &mut trainer.spec.config.training;
    options.steps = steps as usize;
    if let Some(b) = options.time_budget.as_mut() {
        b.calibrated_at_step = Some(done);
    }
    saver.dir.write_spec(&trainer.spec)?;
    Ok(steps)
}

fn real_tokens(train: &TokenDataset, order: &mut BatchOrder, step: u64) -> u64 {
    order
        .indices(step)
        .iter()
        .map(|&i| u64::from(train.examples()[i].len))
        .sum()
}
