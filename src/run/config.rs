//! Model and training presets (`configs/*.toml`) and the resolved configuration of a run.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{
    diffusion::{GraphKind, NoiseSchedule},
    model::ModelSize,
    Error, Result,
};

/// Optimiser and bookkeeping (the `[training]` table of a preset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingOptions {
    /// Optimiser steps.
    pub steps: usize,
    /// Sequences per step.
    pub batch_size: usize,
    /// Peak AdamW learning rate.
    pub lr: f64,
    /// Linear warm-up from 0 to `lr` over this many steps.
    pub warmup_steps: usize,
    /// What the learning rate does after the warm-up (see [`LrSchedule`]); runs from before
    /// the field existed kept it constant.
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// The learning rate at the last step of a decaying schedule, as a fraction of `lr`.
    #[serde(default = "default_lr_floor")]
    pub lr_floor: f64,
    /// Train for a wall-clock budget instead of a fixed `steps` (`train --time-budget`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_budget: Option<TimeBudget>,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Clip the global gradient norm to this value (0 turns clipping off).
    pub grad_clip: f64,
    /// Decay of the exponential moving average of the weights, used for validation and
    /// sampling; early steps use `min(decay, (1 + step) / (10 + step))` so the average is not
    /// dominated by the initial weights in short runs.
    pub ema_decay: f64,
    /// Validation ELBO every N steps.
    pub eval_every: usize,
    /// Checkpoint every N steps (and always at the end).
    pub checkpoint_every: usize,
    /// Validation sequences in each ELBO estimate (the first ones of the validation set, so
    /// successive estimates are comparable).
    pub valid_sequences: usize,
    /// Times per validation sequence in each ELBO estimate, stratified within the sequence.
    /// Unset: 1 for the absorbing graph (times then stratified across the sequences; its
    /// integrand is smooth enough) and 8 for the uniform graph, whose one-time estimate has a
    /// standard error near 0.15 bits/token on 256 EPDnew promoters against 0.02 with 8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_times: Option<usize>,
    /// Conditional models: the probability that a training example's label is replaced by
    /// the null label, so that one network also learns the unconditional score that
    /// classifier-free guidance contrasts with (docs/design.md, eqs. (42), (43)).
    /// Left out of run.toml at its default, so that runs from before it existed resume.
    #[serde(
        default = "default_label_dropout",
        skip_serializing_if = "is_default_label_dropout"
    )]
    pub label_dropout: f64,
}

fn default_lr_floor() -> f64 {
    0.1
}

fn default_label_dropout() -> f64 {
    0.1
}

fn is_default_label_dropout(p: &f64) -> bool {
    *p == default_label_dropout()
}

/// The learning rate after the warm-up: `lr` throughout (the SEDD reference's choice), or a
/// decay over the remaining steps to `lr_floor * lr` at the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// `lr` after the warm-up.
    #[default]
    Constant,
    /// Half a cosine period from `lr` down to the floor.
    Cosine,
    /// A straight line from `lr` down to the floor.
    Linear,
}

crate::choices::named_choices!(LrSchedule, "learning-rate schedule", {
    Constant => "constant",
    Cosine => "cosine",
    Linear => "linear",
});

/// A wall-clock budget for training (`train --time-budget 30m`).
///
/// The number of steps is fixed once, early in the run: after the first steps (at least 10,
/// and at least a minute or a twentieth of the budget), one validation and one checkpoint are
/// timed, and `steps` becomes the count that fits the rest of the budget with its validations
/// and checkpoints. Until then the learning rate stays at its peak; from then on the run is
/// an ordinary run of that many steps whose schedule decays from `calibrated_at_step` to
/// `steps`. `run.toml` records both, so a resume finishes the same schedule whatever the
/// clock says, and the weights remain a function of `run.toml` and the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeBudget {
    /// The budget in seconds, validations and checkpoints included (the end-of-run report
    /// is not).
    pub seconds: f64,
    /// The step at which `steps` was fixed; unset until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrated_at_step: Option<u64>,
}

impl TimeBudget {
    /// Parses `90s`, `30m`, `1.5h` or `1h30m`; every number needs its unit.
    ///
    /// ```
    /// use seddbio::run::TimeBudget;
    ///
    /// assert_eq!(TimeBudget::parse("30m").unwrap().seconds, 1800.0);
    /// assert_eq!(TimeBudget::parse("1h30m").unwrap().seconds, 5400.0);
    /// assert!(TimeBudget::parse("45").is_err());
    /// assert!(TimeBudget::parse("soon").is_err());
    /// assert!(TimeBudget::parse("0m").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<TimeBudget> {
        let bad = || Error::Duration {
            text: text.to_string(),
        };
        let trimmed = text.trim();
        let mut seconds = 0.0;
        let mut number = String::new();
        for c in trimmed.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let unit = match c {
                's' => 1.0,
                'm' => 60.0,
                'h' => 3600.0,
                _ => return Err(bad()),
            };
            let value: f64 = number.parse().map_err(|_| bad())?;
            seconds += value * unit;
            number.clear();
        }
        // A number without its unit (`1.5`) is refused: minutes or hours is a guess.
        if !number.is_empty() {
            return Err(bad());
        }
        if !(seconds.is_finite() && seconds > 0.0) {
            return Err(bad());
        }
        Ok(TimeBudget {
            seconds,
            calibrated_at_step: None,
        })
    }
}

impl TrainingOptions {
    /// Learning rate of the step after `done` steps: a linear warm-up over `warmup_steps`,
    /// then [`lr_schedule`](Self::lr_schedule) over the rest of `steps`. Under a time budget
    /// the rate stays at `lr` until the step count is fixed and decays from that step on.
    ///
    /// ```
    /// use seddbio::run::{LrSchedule, TimeBudget, TrainConfig};
    ///
    /// let mut t = TrainConfig::resolve("tiny").unwrap().training;
    /// (t.steps, t.warmup_steps, t.lr, t.lr_floor) = (110, 10, 1.0, 0.1);
    /// t.lr_schedule = LrSchedule::Cosine;
    /// assert_eq!(t.learning_rate(4), 0.5);
    /// assert_eq!(t.learning_rate(9), 1.0);
    /// assert!((t.learning_rate(59) - 0.55).abs() < 1e-12);
    /// assert!((t.learning_rate(109) - 0.1).abs() < 1e-12);
    /// t.lr_schedule = LrSchedule::Linear;
    /// assert!((t.learning_rate(59) - 0.55).abs() < 1e-12);
    /// t.lr_schedule = LrSchedule::Constant;
    /// assert_eq!(t.learning_rate(109), 1.0);
    /// // A budget not yet turned into steps keeps the peak; once fixed, the decay starts there.
    /// t.lr_schedule = LrSchedule::Linear;
    /// t.time_budget = Some(TimeBudget::parse("10m").unwrap());
    /// assert_eq!(t.learning_rate(59), 1.0);
    /// t.time_budget.as_mut().unwrap().calibrated_at_step = Some(60);
    /// assert_eq!(t.learning_rate(59), 1.0);
    /// assert!((t.learning_rate(84) - 0.55).abs() < 1e-12);
    /// ```
    pub fn learning_rate(&self, done: u64) -> f64 {
        let step = (done + 1) as f64;
        let warmup = self.warmup_steps as f64;
        if step < warmup {
            return self.lr * step / warmup;
        }
        let decay_from = match self.time_budget {
            Some(TimeBudget {
                calibrated_at_step: None,
                ..
            }) => return self.lr,
            Some(TimeBudget {
                calibrated_at_step: Some(at),
                ..
            }) => warmup.max(at as f64),
            None => warmup,
        }
        .max(1.0);
        // Progress through the decay: 0 at its first step, 1 at the last step of the run.
        let span = (self.steps as f64 - decay_from).max(1.0);
        let progress = ((step - decay_from) / span).clamp(0.0, 1.0);
        let floor = self.lr_floor;
        let fraction = match self.lr_schedule {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => {
                floor + (1.0 - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
            LrSchedule::Linear => floor + (1.0 - floor) * (1.0 - progress),
        };
        self.lr * fraction
    }

    /// Times per validation sequence for `graph` (see [`TrainingOptions::valid_times`]).
    ///
    /// ```
    /// use seddbio::{diffusion::GraphKind, run::TrainConfig};
    ///
    /// let mut tiny = TrainConfig::resolve("tiny").unwrap().training;
    /// assert_eq!(tiny.valid_times_for(GraphKind::Absorb), 1);
    /// assert_eq!(tiny.valid_times_for(GraphKind::Uniform), 8);
    /// tiny.valid_times = Some(4);
    /// assert_eq!(tiny.valid_times_for(GraphKind::Uniform), 4);
    /// ```
    pub fn valid_times_for(&self, graph: GraphKind) -> usize {
        self.valid_times.unwrap_or(match graph {
            GraphKind::Absorb => 1,
            GraphKind::Uniform => 8,
        })
    }

    fn validate(&self) -> Result<()> {
        let bad = |why: &str| {
            Err(Error::Config {
                origin: "[training]".into(),
                message: why.into(),
            })
        };
        if self.steps == 0 || self.batch_size == 0 {
            return bad("steps and batch_size must be at least 1");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr must be a positive number");
        }
        if !(0.0..1.0).contains(&self.ema_decay) {
            return bad("ema_decay must be in [0, 1)");
        }
        if self.grad_clip < 0.0 || self.weight_decay < 0.0 {
            return bad("grad_clip and weight_decay must not be negative");
        }
        if self.eval_every == 0 || self.checkpoint_every == 0 || self.valid_sequences == 0 {
            return bad("eval_every, checkpoint_every and valid_sequences must be at least 1");
        }
        if self.valid_times == Some(0) {
            return bad("valid_times must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.lr_floor) {
            return bad("lr_floor must be in [0, 1] (a fraction of lr)");
        }
        if !(0.0..1.0).contains(&self.label_dropout) {
            return bad("label_dropout must be in [0, 1)");
        }
        Ok(())
    }
}

/// A preset: `[model]` and `[training]`.
///
/// ```
/// use seddbio::run::TrainConfig;
///
/// let tiny = TrainConfig::resolve("tiny").unwrap();
/// assert_eq!(tiny.model.d_model, 64);
/// assert!(TrainConfig::resolve("huge").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Network sizes.
    pub model: ModelSize,
    /// Optimiser and bookkeeping.
    pub training: TrainingOptions,
}

/// The presets by name: every file of configs/, built in so that a name works from any folder.
const PRESETS: [(&str, &str); 6] = [
    ("tiny", include_str!("../../configs/tiny.toml")),
    ("small", include_str!("../../configs/small.toml")),
    ("medium", include_str!("../../configs/medium.toml")),
    ("tiny-plain", include_str!("../../configs/tiny-plain.toml")),
    (
        "tiny-dropout",
        include_str!("../../configs/tiny-dropout.toml"),
    ),
    (
        "small-dropout",
        include_str!("../../configs/small-dropout.toml"),
    ),
];

impl TrainConfig {
    /// A built-in preset by name (`tiny`, `small`, `medium`, `tiny-plain`, `tiny-dropout`,
    /// `small-dropout`: the files of configs/) or a TOML file.
    pub fn resolve(name_or_path: &str) -> Result<TrainConfig> {
        if let Some((_, text)) = PRESETS.iter().find(|(name, _)| *name == name_or_path) {
            return TrainConfig::parse(text, name_or_path);
        }
        let path = Path::new(name_or_path);
        if !path.exists() {
            return Err(Error::Config {
                origin: name_or_path.into(),
                message: format!(
                    "neither a preset ({}) nor an existing file",
                    PRESETS.map(|(name, _)| name).join(", ")
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        TrainConfig::parse(&text, name_or_path)
    }

    /// Parses and validates preset text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<TrainConfig> {
        let config: TrainConfig = toml::from_str(text).map_err(|e| Error::Config {
            origin: origin.into(),
            message: e.message().to_string(),
        })?;
        config.validate().map_err(|e| Error::Config {
            origin: origin.into(),
            message: e.to_string(),
        })?;
        Ok(config)
    }

    /// Checks sizes and options.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        self.training.validate()
    }
}

/// The default noise schedule of a graph (docs/design.md, eqs. (3), (4): log-linear for
/// absorbing, geometric for uniform).
pub fn default_schedule(graph: GraphKind) -> NoiseSchedule {
    match graph {
        GraphKind::Absorb => NoiseSchedule::log_linear(),
        GraphKind::Uniform => NoiseSchedule::geometric(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_configs_is_a_preset_by_its_name() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        let mut files = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .collect::<Vec<_>>();
        files.sort();
        assert_eq!(files.len(), PRESETS.len());
        for path in files {
            let name = path.file_stem().unwrap().to_str().unwrap();
            let from_file = TrainConfig::resolve(path.to_str().unwrap()).unwrap();
            assert_eq!(TrainConfig::resolve(name).unwrap(), from_file, "{name}");
        }
        let error = TrainConfig::resolve("tiny-drop").unwrap_err().to_string();
        assert!(
            error.contains("tiny-plain, tiny-dropout, small-dropout"),
            "{error}"
        );
    }

    #[test]
    fn every_preset_parses_and_validates() {
        for (name, _) in PRESETS {
            let config = TrainConfig::resolve(name).unwrap();
            assert!(
                config.model.d_model.is_multiple_of(config.model.num_heads),
                "{name}"
            );
        }
    }

    #[test]
    fn bad_presets_are_refused_with_the_reason() {
        let tiny = include_str!("../../configs/tiny.toml");
        let odd = tiny.replace("num_heads = 4", "num_heads = 3");
        let error = TrainConfig::parse(&odd, "odd.toml")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("odd.toml") && error.contains("num_heads 3"),
            "{error}"
        );
        let typo = tiny.replace("lr = 2e-3", "learning_rate = 2e-3");
        let error = TrainConfig::parse(&typo, "typo.toml")
            .unwrap_err()
            .to_string();
        assert!(error.contains("learning_rate"), "{error}");
    }

    #[test]
    fn valid_times_is_optional_positive_and_round_trips() {
        let tiny = include_str!("../../configs/tiny.toml");
        // Run directories written before the field existed still parse.
        assert_eq!(
            TrainConfig::parse(tiny, "tiny")
                .unwrap()
                .training
                .valid_times,
            None
        );
        let with = tiny.replace(
            "valid_sequences = 256",
            "valid_sequences = 256\nvalid_times = 4",
        );
        let config = TrainConfig::parse(&with, "four.toml").unwrap();
        assert_eq!(config.training.valid_times_for(GraphKind::Absorb), 4);
        let written = toml::to_string(&config).unwrap();
        assert_eq!(TrainConfig::parse(&written, "again").unwrap(), config);
        let zero = tiny.replace(
            "valid_sequences = 256",
            "valid_sequences = 256\nvalid_times = 0",
        );
        let error = TrainConfig::parse(&zero, "zero.toml")
            .unwrap_err()
            .to_string();
        assert!(error.contains("valid_times"), "{error}");
    }

    #[test]
    fn random_and_mutated_configs_never_panic_and_round_trip() {
        let mut inputs = crate::fuzz::Inputs::new(71);
        let mut parsed = 0;
        for case in 0..2000 {
            let input = inputs.mutate(PRESETS[case % PRESETS.len()].1.as_bytes());
            let text = String::from_utf8_lossy(&input);
            let result = crate::fuzz::must_return("TrainConfig::parse", &input, || {
                TrainConfig::parse(&text, "fuzz.toml")
            });
            if let Ok(config) = result {
                parsed += 1;
                let again = TrainConfig::parse(&toml::to_string(&config).unwrap(), "again");
                assert_eq!(again.unwrap(), config, "{text}");
            }
        }
        assert!(parsed > 200, "{parsed} of 2000 parsed");
    }
}
