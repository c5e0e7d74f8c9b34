//! What a training run is asked for, without the command line: the data, the preset and its
//! overrides, the run directory and the end-of-run report. [`TrainRequest`] turns that into the
//! new run's [`RunSpec`] (the `auto` preset included) and checks a resume or a fine-tuning
//! source against what it asks; [`train`](super::train) runs it.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use super::{
    auto::{choose_preset, MIN_STEPS_PER_EPOCH, TOKENS_PER_PARAMETER, TOKENS_PER_STEP},
    Trainer, TrainingProgress,
};
use crate::{
    alphabet::Alphabet,
    data::{prepare, PrepareOptions, PreparedData},
    diffusion::{GraphKind, ScheduleKind},
    model::{ComputeDevice, PositionKind},
    run::{
        default_schedule, LrSchedule, RunDir, RunLock, RunSpec, TimeBudget, TrainConfig,
        TrainingOptions,
    },
    sample::{SamplerControls, SamplerKind, SamplerSettings},
    Error, Result, Setting,
};

/// The `[training]` values a request overrides in its preset; `None` keeps the preset's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainingOverrides {
    /// Sequences per optimiser step.
    pub batch_size: Option<usize>,
    /// Optimiser steps; with a resume, the new total.
    pub steps: Option<usize>,
    /// Train for this long instead of a number of steps.
    pub time_budget: Option<TimeBudget>,
    /// Learning-rate schedule after the warm-up.
    pub lr_schedule: Option<LrSchedule>,
    /// Peak learning rate.
    pub lr: Option<f64>,
    /// Conditional runs: the fraction of examples trained with the null label.
    pub label_dropout: Option<f64>,
}

impl TrainingOverrides {
    /// The `[training]` keys these overrides set.
    pub fn overridden(&self) -> Vec<&'static str> {
        [
            ("batch_size", self.batch_size.is_some()),
            ("steps", self.steps.is_some()),
            ("time_budget", self.time_budget.is_some()),
            ("lr_schedule", self.lr_schedule.is_some()),
            ("lr", self.lr.is_some()),
            ("label_dropout", self.label_dropout.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect()
    }

    /// These overrides applied to a preset's `[training]` values (the time budget always: a
    /// preset has none of its own).
    pub fn apply(&self, training: &mut TrainingOptions) {
        if let Some(b) = self.batch_size {
            training.batch_size = b;
        }
        if let Some(s) = self.steps {
            training.steps = s;
        }
        if let Some(lr) = self.lr {
            training.lr = lr;
        }
        if let Some(schedule) = self.lr_schedule {
            training.lr_schedule = schedule;
        }
        if let Some(p) = self.label_dropout {
            training.label_dropout = p;
        }
        training.time_budget = self.time_budget;
    }
}

/// A training run as asked for: what `seddbio train` parses its command line into.
#[derive(Debug, Clone, Default)]
pub struct TrainRequest {
    /// The (first) training file.
    pub file: PathBuf,
    /// The alphabet's name or TOML file.
    pub alphabet: String,
    /// How the data are read, tokenised, split and laid out (seed and window included).
    pub prepare: PrepareOptions,
    /// Preset name, TOML file or `auto`; `tiny` (or the fine-tuning source's) when `None`.
    pub config: Option<String>,
    /// Forward process; absorbing (or the fine-tuning source's) when `None`.
    pub graph: Option<GraphKind>,
    /// Noise schedule; the graph's default (or the source's) when `None`.
    pub noise: Option<ScheduleKind>,
    /// How the network knows positions; the preset's when `None`.
    pub position: Option<PositionKind>,
    /// The preset's `[training]` values this request changes.
    pub training: TrainingOverrides,
    /// The run directory.
    pub out: PathBuf,
    /// Continue the run in `out` from its last checkpoint instead of starting one.
    pub resume: bool,
    /// Whether `prepare.seed` was asked for; a resume without one takes the run's seed.
    pub seed_given: bool,
    /// Fine-tune: start from the EMA weights of the run in this directory.
    pub init_from: Option<PathBuf>,
    /// Where the network runs.
    pub device: ComputeDevice,
    /// Sequences the end-of-run report samples; 0 skips the report (and the held-out
    /// comparison, which needs the EMA model it loads).
    pub report_samples: usize,
    /// The report's sampler controls (its sampler is the model's default at
    /// [`REPORT_STEPS`] steps).
    pub report_sampler: SamplerControls,
    /// The command that asked for the run, for `MODEL.md` (empty: not known).
    pub command: String,
}

/// Steps of the end-of-run report's sampler.
pub const REPORT_STEPS: usize = 128;

impl TrainRequest {
    /// The alphabet asked for, after checking that the run `source` (a run to resume, or
    /// `--init-from`'s) was trained on it.
    pub fn check_alphabet(&self, source: &Path, spec: &RunSpec, resume: bool) -> Result<()> {
        let asked = Alphabet::resolve(&self.alphabet)?;
        if asked.name() == spec.alphabet {
            return Ok(());
        }
        Err(Error::RunAlphabet {
            run: source.to_path_buf(),
            trained: spec.alphabet.clone(),
            asked: asked.name().to_string(),
            resume,
        })
    }

    /// Refuses to resume the run `spec` of `dir` with options that disagree with it, naming
    /// every one.
    pub fn check_resume(&self, dir: &Path, spec: &RunSpec) -> Result<()> {
        let mut conflicts = Vec::new();
        if let Some(config) = &self.config {
            let wanted = TrainConfig::resolve(config)?;
            // What the preset itself says: the values an option overrides are that option's
            // to answer for (below), not the preset's.
            let mut differing = table_differences(&wanted.model, &spec.config.model, &[])
                .into_iter()
                .map(|d| format!("[model] {d}"))
                .collect::<Vec<_>>();
            differing.extend(
                table_differences(
                    &wanted.training,
                    &spec.config.training,
                    &self.training.overridden(),
                )
                .into_iter()
                .map(|d| format!("[training] {d}")),
            );
            if !differing.is_empty() {
                conflicts.push(format!(
                    "--config {config} (it sets {})",
                    differing.join(", ")
                ));
            }
        }
        if let Some(graph) = self.graph.filter(|g| *g != spec.graph) {
            conflicts.push(format!("--graph {graph} (the run uses {})", spec.graph));
        }
        if let Some(position) = self.position.filter(|p| *p != spec.config.model.position) {
            conflicts.push(format!(
                "--position {position} (the run uses {})",
                spec.config.model.position
            ));
        }
        if let Some(noise) = self.noise.filter(|n| *n != spec.noise.kind()) {
            conflicts.push(format!(
                "--noise {noise} (the run uses {})",
                spec.noise.kind()
            ));
        }
        if let Some(seq_len) = self.prepare.seq_len.filter(|l| *l != spec.seq_len) {
            conflicts.push(format!(
                "--seq-len {seq_len} (the run uses {})",
                spec.seq_len
            ));
        }
        let training = &spec.config.training;
        let asked = &self.training;
        if let Some(b) = asked.batch_size.filter(|b| *b != training.batch_size) {
            conflicts.push(format!(
                "--batch-size {b} (the run uses {})",
                training.batch_size
            ));
        }
        if let Some(lr) = asked.lr.filter(|lr| *lr != training.lr) {
            conflicts.push(format!("--lr {lr} (the run uses {})", training.lr));
        }
        if let Some(p) = asked.label_dropout.filter(|p| *p != training.label_dropout) {
            conflicts.push(format!(
                "--label-dropout {p} (the run uses {})",
                training.label_dropout
            ));
        }
        if let Some(schedule) = asked.lr_schedule.filter(|s| *s != training.lr_schedule) {
            conflicts.push(format!(
                "--lr-schedule {schedule} (the run uses {})",
                training.lr_schedule
            ));
        }
        if asked.time_budget.is_some() {
            conflicts.push(
                "--time-budget (a resumed run finishes the steps in run.toml; --steps changes them)"
                    .to_string(),
            );
        }
        if self.seed_given && self.prepare.seed != spec.seed {
            conflicts.push(format!(
                "--seed {} (the run uses {})",
                self.prepare.seed, spec.seed
            ));
        }
        match conflicts.is_empty() {
            true => Ok(()),
            false => Err(Error::ResumeConflicts {
                run: dir.to_path_buf(),
                conflicts,
            }),
        }
    }

    /// The run `init_from` names (fine-tuning; a run directory or a bundled model, see
    /// [`open_model`](crate::run::open_model)): its directory, specification and vocabulary,
    /// after checking that the alphabet asked for is its own.
    pub fn init_source(&self, init_from: &Path) -> Result<(RunDir, RunSpec, Alphabet)> {
        let run = crate::run::open_model(init_from)?;
        let (spec, alphabet) = run.read_spec()?;
        self.check_alphabet(init_from, &spec, false)?;
        Ok((run, spec, alphabet))
    }

    /// The new run's specification: from the preset (or, fine-tuning, the `base` run's
    /// configuration) and this request. `auto` measures the presets on `data` and `device`
    /// and says what it found through `note`.
    pub fn new_spec(
        &self,
        data: &PreparedData,
        device: &Device,
        base: Option<&RunSpec>,
        note: &mut dyn FnMut(String),
    ) -> Result<RunSpec> {
        let config = match (self.config.as_deref(), base) {
            (Some("auto"), Some(_)) => return Err(Error::Setting {
                setting: Setting::Config,
                message: "--config auto chooses a model size, but --init-from keeps the size of the run it starts from; leave --config out or give a preset with the same [model]".into(),
            }),
            (Some("auto"), None) => self.auto_config(data, device, note)?,
            (Some(name), Some(base)) => {
                let config = TrainConfig::resolve(name)?;
                // A fine-tune on a family's few sequences may add dropout where the source's
                // larger data needed none.
                if !base.config.model.same_weights(&config.model) {
                    return Err(Error::Setting {
                        setting: Setting::Config,
                        message: format!(
                            "--config {name}: its [model] ({}) is not the one of the run --init-from names ({}); fine-tuning keeps the model size (only dropout may change)",
                            config.model, base.config.model
                        ),
                    });
                }
                config
            }
            (Some(name), None) => TrainConfig::resolve(name)?,
            (None, Some(base)) => base.config.clone(),
            (None, None) => TrainConfig::resolve("tiny")?,
        };
        let mut spec = self.spec_with(data, config, base)?;
        // Only the run's own spec records it (not the ones `auto` measures): one pass over
        // the data.
        spec.data_digest = Some(RunSpec::digest_data(&data.train, data.valid.as_ref()));
        Ok(spec)
    }

    /// `auto`: the preset the time budget trains long enough, measured on this data.
    fn auto_config(
        &self,
        data: &PreparedData,
        device: &Device,
        note: &mut dyn FnMut(String),
    ) -> Result<TrainConfig> {
        let Some(budget) = self.training.time_budget else {
            return Err(Error::Setting {
                setting: Setting::Config,
                message: "--config auto chooses the model for a time budget: give --time-budget too (e.g. 30m)".into(),
            });
        };
        note("--config auto: measuring the presets on this data (4 steps each)".into());
        let (seq_len, examples) = (data.train.seq_len(), data.train.len());
        let choice = choose_preset(&budget, seq_len, examples, |config| {
            let spec = self.spec_with(data, config.clone(), None)?;
            Ok(Trainer::measure_throughput(
                spec,
                device.clone(),
                &data.train,
                3,
            ))
        })?;
        for probe in &choice.probes {
            note(format!(
                "  {:<6} {:>9} parameters, {:>7.0} tokens/s: {:.1} tokens per parameter in the budget{}",
                probe.preset,
                probe.parameters,
                probe.tokens_per_s,
                probe.budget_tokens / probe.parameters as f64,
                if probe.qualifies() { "" } else { " (too few)" }
            ));
        }
        note(format!(
            "--config auto: {} (the largest preset with at least {TOKENS_PER_PARAMETER} tokens per parameter; configs/README.md)",
            choice.preset
        ));
        let training = &choice.config.training;
        note(format!(
            "--config auto: batch {} x {seq_len} tokens (about {TOKENS_PER_STEP} a step, at most 1/{MIN_STEPS_PER_EPOCH} of {examples} examples), lr {}{}",
            training.batch_size,
            training.lr,
            match (self.training.batch_size, self.training.lr) {
                (None, None) => "",
                _ => "; --batch-size and --lr on the command line override these",
            }
        ));
        Ok(choice.config)
    }

    /// The run's specification from a preset and this request's overrides.
    fn spec_with(
        &self,
        data: &PreparedData,
        mut config: TrainConfig,
        base: Option<&RunSpec>,
    ) -> Result<RunSpec> {
        self.training.apply(&mut config.training);
        config.validate()?;
        if data.train.is_empty() {
            return Err(Error::Format {
                path: self.file.clone(),
                message: "no training examples".into(),
            });
        }
        let graph = self
            .graph
            .or(base.map(|b| b.graph))
            .unwrap_or(GraphKind::Absorb);
        // The run directory records the resolved value, not the graph-dependent default.
        config.training.valid_times = Some(config.training.valid_times_for(graph));
        if let Some(position) = self.position {
            config.model.position = position;
        }
        let noise = match (self.noise, base) {
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
            seed: self.prepare.seed,
            seq_len: data.train.seq_len(),
            layout: data.layout.kind,
            train_file: std::iter::once(&self.file)
                .chain(&self.prepare.more_files)
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" "),
            length_counts: counts.into_iter().map(|(l, c)| [l, c]).collect(),
            config,
            threads: rayon::current_num_threads(),
            data_digest: None,
            init_from: None,
            labels: data.train.labels().to_vec(),
            reweight: data.summary.reweighted.map(|(theta, effective_sequences)| {
                crate::run::Reweighting {
                    theta,
                    effective_sequences,
                }
            }),
        })
    }
}

/// Why a run without a checkpoint cannot be resumed.
const NO_CHECKPOINT: &str = "no checkpoint was ever written (the run stopped before its first); it holds nothing to resume: run the same command without --resume to start it again in place";

/// A run ready to train: its locked directory, the trainer at its first step to take, and
/// the data it trains on.
pub struct OpenedRun {
    /// The run directory.
    pub dir: RunDir,
    /// Its lock, held until this value is dropped: one writer per run directory.
    pub lock: RunLock,
    /// The trainer: fresh, fine-tuned from another run, or resumed from the last checkpoint.
    pub trainer: Trainer,
    /// The prepared training (and validation) data.
    pub data: PreparedData,
}

impl TrainRequest {
    /// The end-of-run report's sampler for the run `spec`: the model's default sampler at
    /// [`REPORT_STEPS`] steps with the request's controls, checked against the run's graph.
    pub fn report_settings(&self, spec: &RunSpec) -> Result<SamplerSettings> {
        let kind = SamplerKind::default_for(spec.graph);
        let settings = self
            .report_sampler
            .apply(SamplerSettings::new(kind, REPORT_STEPS)?)?;
        settings.check_graph(spec.graph)?;
        Ok(settings)
    }

    /// Locks the run directory `out`, then starts a new run in it (from `init_from`'s weights
    /// when given) or, with `resume`, continues the one there after checking that the request
    /// and the data are the run's own. `progress` shows the reading of the data and hears
    /// what is worth saying on the way.
    pub fn open(&self, device: Device, progress: &mut dyn TrainingProgress) -> Result<OpenedRun> {
        let dir = RunDir::new(&self.out);
        let lock = dir.lock()?;
        if !lock.removed().is_empty() {
            progress.note(&format!(
                "{}: removed {} temporary file(s) an interrupted run had left",
                self.out.display(),
                lock.removed().len()
            ));
        }
        let (trainer, data) = match self.resume {
            true => self.resume(&dir, device, progress)?,
            false => self.start(&dir, device, progress)?,
        };
        Ok(OpenedRun {
            dir,
            lock,
            trainer,
            data,
        })
    }

    /// The run in `dir`, at its last checkpoint, with the request's new total of steps.
    fn resume(
        &self,
        dir: &RunDir,
        device: Device,
        progress: &mut dyn TrainingProgress,
    ) -> Result<(Trainer, PreparedData)> {
        let out = dir.root();
        let run_error = |message: String| Error::Run {
            run: out.to_path_buf(),
            message,
        };
        // A run stopped before its first checkpoint may lack any of its files: say that,
        // not which file is missing.
        if dir.exists() && !dir.has_checkpoint() {
            return Err(run_error(NO_CHECKPOINT.into()));
        }
        let (mut spec, alphabet) = dir.read_spec()?;
        // An edited run is refused as edited before the request is compared with it.
        dir.check_unchanged()?;
        self.check_alphabet(out, &spec, true)?;
        self.check_resume(out, &spec)?;
        // The run's window, not the default (longest record), so resumed batches match.
        let mut prepare = self.prepare.clone();
        prepare.seq_len = Some(spec.seq_len);
        prepare.seed = spec.seed;
        // A fine-tune's data may use some of its labels only (`numbered_as`).
        let data = self
            .load(&prepare, alphabet, progress)?
            .numbered_as(&spec.labels)?;
        if data.alphabet.len() != spec.num_symbols {
            return Err(run_error(format!(
                "{} has tokens the run's vocabulary lacks ({} tokens, the model has {})",
                self.file.display(),
                data.alphabet.len(),
                spec.num_symbols
            )));
        }
        if let Some(recorded) = &spec.data_digest {
            if *recorded != RunSpec::digest_data(&data.train, data.valid.as_ref()) {
                return Err(run_error(format!(
                    "{} does not give the examples the run was trained on (another file, split, --valid or --reweight); resume with the run's data ({}) or start a new run with another --out",
                    self.file.display(),
                    spec.train_file
                )));
            }
        }

        let mut trainer = Trainer::load(dir, device)?;
        if let Some(steps) = self.training.steps {
            if (steps as u64) < trainer.step() {
                return Err(run_error(format!(
                    "--steps {steps} is fewer than the {} steps already done",
                    trainer.step()
                )));
            }
            spec.config.training.steps = steps;
            trainer = trainer.with_steps(steps);
            dir.create(&spec, &data.alphabet)?;
        }
        progress.note(&format!(
            "resuming {} at step {} of {}",
            out.display(),
            trainer.step(),
            trainer.spec().config.training.steps
        ));
        Ok((trainer, data))
    }

    /// A new run in `dir` (which holds no checkpoint), fine-tuned from `init_from` when given.
    fn start(
        &self,
        dir: &RunDir,
        device: Device,
        progress: &mut dyn TrainingProgress,
    ) -> Result<(Trainer, PreparedData)> {
        if dir.has_checkpoint() {
            return Err(Error::RunExists {
                run: dir.root().to_path_buf(),
            });
        }
        if dir.exists() {
            // Stopped before its first checkpoint: nothing to resume or to lose.
            progress.note(&format!(
                "{}: the run there never wrote a checkpoint; starting it again",
                dir.root().display()
            ));
        }
        let source = self
            .init_from
            .as_deref()
            .map(|path| self.init_source(path))
            .transpose()?;
        let alphabet = match &source {
            Some((_, _, alphabet)) => alphabet.clone(),
            None => Alphabet::resolve(&self.alphabet)?,
        };
        let data = self.load(&self.prepare, alphabet, progress)?;
        let base = source.as_ref().map(|(_, spec, _)| spec);
        let data = match base {
            Some(base) => data.numbered_as(&base.labels)?,
            None => data,
        };
        let spec = self.new_spec(&data, &device, base, &mut |line| progress.note(&line))?;
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
        Ok((trainer, data))
    }

    /// The request's data read with `options` and `alphabet`, under the front end's spinner.
    fn load(
        &self,
        options: &PrepareOptions,
        alphabet: Alphabet,
        progress: &mut dyn TrainingProgress,
    ) -> Result<PreparedData> {
        let spinner = progress.reading(&self.file);
        let prepared = prepare(&self.file, alphabet, options, Some(&spinner));
        spinner.finish_and_clear();
        prepared
    }
}

/// The values of a preset's table (`[model]` or `[training]`) that differ from a run's, as
/// `name value (the run uses value)`, leaving out the keys in `skip` and what a resume may
/// change or the run resolved itself: `steps` (the new total), `time_budget` and
/// `valid_times`.
fn table_differences<T: serde::Serialize>(wanted: &T, run: &T, skip: &[&str]) -> Vec<String> {
    let table = |options: &T| {
        let mut table = toml::Value::try_from(options)
            .ok()
            .and_then(|v| v.as_table().cloned())
            .unwrap_or_default();
        for key in ["steps", "time_budget", "valid_times"].iter().chain(skip) {
            table.remove(*key);
        }
        table
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
