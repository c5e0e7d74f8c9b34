//! `train --config auto`: the batch for the run's sequence length and the largest preset that a
//! time budget trains long enough at that batch, from the throughput measured on the run's own
//! data, device and threads.
//!
//! The rules (configs/README.md gives the measurements behind them):
//! - the batch holds about [`TOKENS_PER_STEP`] token positions ([`AutoBatch::for_data`]): short
//!   sequences get more of them per step, which keeps a CPU's cores busy and averages the
//!   gradient over as many tokens as a step of long sequences does; a batch raised above the
//!   preset's trains at [`LARGE_BATCH_LR_SCALE`] times the preset's learning rate;
//! - a preset qualifies when the tokens the budget buys at its measured speed are at least
//!   [`TOKENS_PER_PARAMETER`] times its parameters; the largest qualifying preset is chosen, the
//!   smallest when none does. Presets are measured from the smallest up and the measuring stops
//!   at the first that does not qualify (a larger one is slower and has more parameters).

use crate::run::{TimeBudget, TrainConfig};
use crate::Result;

/// Presets `auto` chooses from, smallest first.
pub const AUTO_PRESETS: [&str; 3] = ["tiny", "small", "medium"];

/// Training tokens per parameter a budget must buy for a preset to qualify: above every ratio at
/// which `small` lost to `tiny` on the same budget and data (4.5 to 72 in the runs of
/// configs/README.md; up to 72 against `tiny` with its convolved q, k and v, which `small` lacks).
pub const TOKENS_PER_PARAMETER: f64 = 80.0;

/// Token positions (sequences x sequence length) `auto` aims for in one training step.
pub const TOKENS_PER_STEP: usize = 16_384;

/// What `auto` multiplies a preset's peak learning rate by when it raises the preset's batch:
/// `tiny`'s 2e-3 becomes the 3e-3 of the large-batch runs in configs/README.md (1e-2 did no
/// better in the one probe that tried it). A factor rather than one rate for every preset:
/// `small` (1e-3) at 3e-3 and a batch of 64 did not leave the unigram plateau in 500 steps on
/// the DHS regions, where 1e-3 and 1.5e-3 learned at once (configs/README.md).
pub const LARGE_BATCH_LR_SCALE: f64 = 1.5;

/// Training steps an epoch must at least last: caps the batch on small data sets.
pub const MIN_STEPS_PER_EPOCH: usize = 8;

/// The batch `auto` gives a run, from its sequence length and number of training examples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoBatch {
    /// Sequences per step.
    pub batch_size: usize,
    /// The peak learning rate for that batch; `None` keeps the preset's.
    pub lr: Option<f64>,
}

impl AutoBatch {
    /// The power of two nearest (in log scale) to [`TOKENS_PER_STEP`] / `seq_len` sequences, never
    /// fewer than the preset's `preset_batch` and, above it, at most the power of two that keeps
    /// an epoch of `examples` at least [`MIN_STEPS_PER_EPOCH`] steps long; a raised batch trains
    /// at [`LARGE_BATCH_LR_SCALE`] times the preset's `preset_lr`.
    ///
    /// ```
    /// use seddbio::train::AutoBatch;
    ///
    /// // SMILES padded to 54 tokens: 16,384 / 54 = 303 sequences, nearest power of two 256.
    /// let smiles = AutoBatch::for_data(54, 1_584_663, 32, 2e-3);
    /// assert_eq!(smiles.batch_size, 256);
    /// assert_eq!(smiles.lr, Some(3e-3));
    /// // 300-bp promoters: 55 sequences, nearest power of two 64.
    /// assert_eq!(AutoBatch::for_data(300, 2_636, 32, 1e-3), AutoBatch { batch_size: 64, lr: Some(1.5e-3) });
    /// // Long windows keep the preset's batch and learning rate.
    /// assert_eq!(AutoBatch::for_data(1_024, 50_000, 32, 2e-3), AutoBatch { batch_size: 32, lr: None });
    /// // 600 short sequences: an epoch of 8 steps allows at most 75 a step, so 64 rather than 256.
    /// assert_eq!(AutoBatch::for_data(64, 600, 32, 2e-3).batch_size, 64);
    /// ```
    pub fn for_data(seq_len: usize, examples: usize, preset_batch: usize, preset_lr: f64) -> Self {
        let wanted = TOKENS_PER_STEP as f64 / seq_len.max(1) as f64;
        let nearest = 1usize << wanted.log2().round().clamp(0.0, 20.0) as u32;
        // The largest power of two that an epoch still divides into enough steps.
        let cap = (examples / MIN_STEPS_PER_EPOCH)
            .checked_ilog2()
            .map_or(1, |bits| 1usize << bits);
        let batch_size = nearest.min(cap).max(preset_batch);
        Self {
            batch_size,
            lr: (batch_size > preset_batch).then_some(preset_lr * LARGE_BATCH_LR_SCALE),
        }
    }

    /// Sets the batch (and learning rate) of `config`'s training options.
    pub fn apply(&self, config: &mut TrainConfig) {
        config.training.batch_size = self.batch_size;
        if let Some(lr) = self.lr {
            config.training.lr = lr;
        }
    }
}

/// What measuring one preset found.
#[derive(Debug, Clone, PartialEq)]
pub struct PresetProbe {
    /// Preset name.
    pub preset: &'static str,
    /// Trainable parameters for the run's vocabulary.
    pub parameters: usize,
    /// Measured training throughput, real tokens per second.
    pub tokens_per_s: f64,
    /// Tokens the budget buys at that speed.
    pub budget_tokens: f64,
}

impl PresetProbe {
    /// Whether the budget trains this preset long enough.
    pub fn qualifies(&self) -> bool {
        self.budget_tokens >= TOKENS_PER_PARAMETER * self.parameters as f64
    }
}

/// The preset chosen for a budget and the measurements behind the choice.
#[derive(Debug, Clone)]
pub struct AutoChoice {
    /// The chosen preset's name.
    pub preset: &'static str,
    /// Its configuration, with the batch of [`AutoBatch::for_data`].
    pub config: TrainConfig,
    /// Every preset measured, smallest first.
    pub probes: Vec<PresetProbe>,
}

/// Chooses the batch and the preset for `budget` (see the module docs) for training examples of
/// `seq_len` tokens, `examples` of them. `measure` returns the trainable parameters and the
/// training tokens per second of a configuration on the run's data.
///
/// ```
/// use seddbio::{run::TimeBudget, train::choose_preset};
///
/// // A machine on which every preset trains 10,000 tokens/s: a minute buys 600 k tokens, 80
/// // per parameter up to 7,500 parameters (tiny, small, medium: d_model 64, 128, 256).
/// let budget = TimeBudget::parse("1m").unwrap();
/// let measure = |per_width| {
///     move |config: &seddbio::run::TrainConfig| Ok((config.model.d_model * per_width, 10_000.0))
/// };
/// let choice = choose_preset(&budget, 256, 10_000, measure(25)).unwrap();
/// assert_eq!(choice.preset, "medium");
/// assert_eq!(choice.config.training.batch_size, 64);
/// let choice = choose_preset(&budget, 256, 10_000, measure(50)).unwrap();
/// assert_eq!(choice.preset, "small");
/// assert_eq!(choice.probes.len(), 3);
/// ```
pub fn choose_preset(
    budget: &TimeBudget,
    seq_len: usize,
    examples: usize,
    mut measure: impl FnMut(&TrainConfig) -> Result<(usize, f64)>,
) -> Result<AutoChoice> {
    let mut probes = Vec::new();
    let mut chosen = None;
    for preset in AUTO_PRESETS {
        let mut config = TrainConfig::resolve(preset)?;
        let training = &config.training;
        AutoBatch::for_data(seq_len, examples, training.batch_size, training.lr).apply(&mut config);
        let (parameters, tokens_per_s) = measure(&config)?;
        let probe = PresetProbe {
            preset,
            parameters,
            tokens_per_s,
            budget_tokens: tokens_per_s * budget.seconds,
        };
        let qualifies = probe.qualifies();
        probes.push(probe);
        if qualifies || chosen.is_none() {
            chosen = Some((preset, config));
        }
        if !qualifies {
            break;
        }
    }
    let (preset, config) = chosen.expect("AUTO_PRESETS is not empty");
    Ok(AutoChoice {
        preset,
        config,
        probes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_preset_is_the_fallback_and_measuring_stops_at_the_first_failure() {
        let budget = TimeBudget::parse("1s").unwrap();
        let mut measured = Vec::new();
        let choice = choose_preset(&budget, 100, 1_000, |config| {
            measured.push(config.model.d_model);
            Ok((1_000_000, 1.0))
        })
        .unwrap();
        assert_eq!(choice.preset, "tiny");
        assert_eq!(measured, vec![64], "small and medium need not be measured");
        assert!(!choice.probes[0].qualifies());
    }

    #[test]
    fn a_qualifying_preset_is_kept_when_the_next_fails() {
        let budget = TimeBudget::parse("10s").unwrap();
        // 10 s x 1,000 tokens/s = 10 k tokens: 80 per parameter up to 125 parameters.
        let choice = choose_preset(&budget, 512, 100_000, |config| {
            Ok((if config.model.d_model == 64 { 125 } else { 126 }, 1_000.0))
        })
        .unwrap();
        assert_eq!(choice.preset, "tiny");
        assert!(choice.probes[0].qualifies() && !choice.probes[1].qualifies());
        // 512-token sequences: 32 of them fill a step, the presets' own batch.
        assert_eq!(choice.config, TrainConfig::resolve("tiny").unwrap());
    }

    #[test]
    fn every_preset_is_measured_with_the_batch_the_run_gets() {
        let budget = TimeBudget::parse("1h").unwrap();
        let mut batches = Vec::new();
        let choice = choose_preset(&budget, 54, 1_000_000, |config| {
            batches.push((config.training.batch_size, config.training.lr));
            Ok((1, 1.0))
        })
        .unwrap();
        assert_eq!(choice.preset, "medium");
        // Each preset's own rate, scaled: tiny 2e-3, small 1e-3, medium 3e-4.
        assert_eq!(batches, vec![(256, 3e-3), (256, 1.5e-3), (256, 4.5e-4)]);
        assert_eq!(choice.config.training.batch_size, 256);
    }

    /// The batch against a brute-force search over powers of two.
    #[test]
    fn the_batch_is_the_nearest_power_of_two_within_the_epoch_cap() {
        for seq_len in [1, 2, 3, 7, 20, 54, 64, 100, 200, 300, 700, 2_000, 100_000] {
            for examples in [0, 1, 7, 8, 100, 255, 256, 2_048, 100_000, 10_000_000] {
                let wanted = (TOKENS_PER_STEP as f64 / seq_len as f64).log2();
                let nearest = (0..=20)
                    .min_by(|a, b| {
                        let (da, db) = ((*a as f64 - wanted).abs(), (*b as f64 - wanted).abs());
                        da.partial_cmp(&db).unwrap()
                    })
                    .map(|k| 1usize << k)
                    .unwrap();
                let cap = (0..=30)
                    .map(|k| 1usize << k)
                    .filter(|b| b * MIN_STEPS_PER_EPOCH <= examples)
                    .max()
                    .unwrap_or(1);
                let expected = nearest.min(cap).max(32);
                let got = AutoBatch::for_data(seq_len, examples, 32, 2e-3);
                assert_eq!(
                    got.batch_size, expected,
                    "{seq_len} tokens, {examples} examples"
                );
                assert_eq!(got.lr.is_some(), expected > 32);
            }
        }
    }
}
