//! `train --config auto`: the largest preset that a time budget trains long enough, from the
//! throughput measured on the run's own data, device and threads.
//!
//! The rule (configs/README.md gives the measurements behind it): a preset qualifies when the
//! tokens the budget buys at its measured speed are at least [`TOKENS_PER_PARAMETER`] times its
//! parameters; the largest qualifying preset is chosen, the smallest when none does. Presets
//! are measured from the smallest up and the measuring stops at the first that does not
//! qualify (a larger one is slower and has more parameters).

use super::{TimeBudget, TrainConfig};
use crate::Result;

/// Presets `auto` chooses from, smallest first.
pub const AUTO_PRESETS: [&str; 3] = ["tiny", "small", "medium"];

/// Training tokens per parameter a budget must buy for a preset to qualify.
pub const TOKENS_PER_PARAMETER: f64 = 20.0;

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
    /// Its configuration.
    pub config: TrainConfig,
    /// Every preset measured, smallest first.
    pub probes: Vec<PresetProbe>,
}

/// Chooses the preset for `budget` (see the module docs). `measure` returns the trainable
/// parameters and the training tokens per second of a configuration on the run's data.
///
/// ```
/// use seddbio::train::{choose_preset, TimeBudget};
///
/// // A machine on which every preset trains 10,000 tokens/s: a minute buys 600 k tokens, 20
/// // per parameter up to 30 k parameters (tiny, small, medium: d_model 64, 128, 256).
/// let budget = TimeBudget::parse("1m").unwrap();
/// let choice = choose_preset(&budget, |config| Ok((config.model.d_model * 100, 10_000.0))).unwrap();
/// assert_eq!(choice.preset, "medium");
/// let choice = choose_preset(&budget, |config| Ok((config.model.d_model * 200, 10_000.0))).unwrap();
/// assert_eq!(choice.preset, "small");
/// assert_eq!(choice.probes.len(), 3);
/// ```
pub fn choose_preset(
    budget: &TimeBudget,
    mut measure: impl FnMut(&TrainConfig) -> Result<(usize, f64)>,
) -> Result<AutoChoice> {
    let mut probes = Vec::new();
    let mut chosen = None;
    for preset in AUTO_PRESETS {
        let config = TrainConfig::resolve(preset)?;
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
        let choice = choose_preset(&budget, |config| {
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
        // 10 s x 1,000 tokens/s = 10 k tokens: 20 per parameter up to 500 parameters.
        let choice = choose_preset(&budget, |config| {
            Ok((if config.model.d_model == 64 { 500 } else { 501 }, 1_000.0))
        })
        .unwrap();
        assert_eq!(choice.preset, "tiny");
        assert!(choice.probes[0].qualifies() && !choice.probes[1].qualifies());
        assert_eq!(choice.config, TrainConfig::resolve("tiny").unwrap());
    }
}
