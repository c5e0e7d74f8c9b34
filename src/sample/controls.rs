//! What a sampler run is told (docs/sampling.md, "The controls"): the sampler and its steps, and
//! the controls that trade diversity for samples the model finds more likely: temperature and
//! nucleus (top-p) on the denoising distribution, the unmasking order of absorbing models and
//! the remasking cap of the ReMDM sampler.
//!
//! With temperature 1, top-p 1 and random order the reverse process is the model's own; every
//! other setting is a heuristic that no longer samples the model's distribution, so its worth
//! is measured (`seddbio sweep`), never assumed.

use super::SamplerKind;
use crate::{diffusion::GraphKind, Error, Result, Setting};

/// Which masked positions of an absorbing model unmask at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnmaskOrder {
    /// The positions whose drawn unmasking times fall in the step: the order the reverse
    /// CTMC implies (uniform among the masked positions).
    #[default]
    Random,
    /// As many positions as random order would unmask, but the masked positions whose
    /// denoising distribution has the largest maximum probability (MaskGIT, DPLM, LLaDA's
    /// low-confidence remasking); ties go to the earlier position.
    Confidence,
}

crate::choices::named_choices!(UnmaskOrder, "order", {
    Random => "random",
    Confidence => "confidence",
});

/// The default remasking cap of [`SamplerKind::Remask`] (ReMDM-cap's `eta`): on the
/// chorismate-mutase family at 128 steps, caps 0.02 / 0.05 / 0.1 / 0.2 gave samples' bounds of
/// 3.75 / 3.59 / 3.51 / 3.42 bits (first-hitting 3.87, real members 3.04), and 0.1 the 1-mer
/// spectrum nearest its floor (1.15 times it; docs/sampling.md).
pub const DEFAULT_REMASK_CAP: f64 = 0.1;

/// The controls on their own, as a front end reads them (`--temperature`, `--top-p`,
/// `--order`, `--remask-cap`), before they meet a sampler and its steps.
///
/// ```
/// use seddbio::sample::{SamplerControls, SamplerKind, SamplerSettings};
///
/// let controls = SamplerControls { temperature: 0.8, ..SamplerControls::default() };
/// let settings = controls.apply(SamplerSettings::new(SamplerKind::FirstHitting, 64)?)?;
/// assert_eq!(settings.temperature(), 0.8);
/// assert!(SamplerControls { top_p: 0.0, ..controls }.apply(settings).is_err());
/// # Ok::<(), seddbio::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerControls {
    /// Temperature `T > 0` on the denoising distribution.
    pub temperature: f64,
    /// Nucleus mass in (0, 1].
    pub top_p: f64,
    /// Which masked positions unmask first.
    pub order: UnmaskOrder,
    /// The remasking cap in [0, 1] of [`SamplerKind::Remask`].
    pub remask_cap: f64,
}

impl Default for SamplerControls {
    /// The model's own process: temperature 1, top-p 1, random order, the default cap.
    fn default() -> SamplerControls {
        SamplerControls {
            temperature: 1.0,
            top_p: 1.0,
            order: UnmaskOrder::Random,
            remask_cap: DEFAULT_REMASK_CAP,
        }
    }
}

impl SamplerControls {
    /// `settings` with these controls, each validated.
    pub fn apply(&self, settings: SamplerSettings) -> Result<SamplerSettings> {
        settings
            .with_temperature(self.temperature)?
            .with_top_p(self.top_p)?
            .with_order(self.order)
            .with_remask_cap(self.remask_cap)
    }
}

/// The sampler, its steps and its controls, validated.
///
/// ```
/// use seddbio::sample::{SamplerKind, SamplerSettings, UnmaskOrder};
///
/// let settings = SamplerSettings::new(SamplerKind::FirstHitting, 128)?
///     .with_temperature(0.8)?
///     .with_top_p(0.95)?
///     .with_order(UnmaskOrder::Confidence);
/// assert_eq!(settings.temperature(), 0.8);
/// assert!(!settings.is_model_process());
/// assert!(SamplerSettings::new(SamplerKind::Euler, 64)?.is_model_process());
/// assert!(settings.with_temperature(0.0).is_err());
/// # Ok::<(), seddbio::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerSettings {
    kind: SamplerKind,
    steps: usize,
    temperature: f64,
    top_p: f64,
    order: UnmaskOrder,
    remask_cap: f64,
}

impl SamplerSettings {
    /// `kind` with `steps` reverse steps, temperature 1, top-p 1, random order and the
    /// default remasking cap.
    pub fn new(kind: SamplerKind, steps: usize) -> Result<SamplerSettings> {
        if steps == 0 {
            return Err(setting(
                Setting::SamplerSteps,
                "sampling needs at least one step",
            ));
        }
        Ok(SamplerSettings {
            kind,
            steps,
            temperature: 1.0,
            top_p: 1.0,
            order: UnmaskOrder::Random,
            remask_cap: DEFAULT_REMASK_CAP,
        })
    }

    /// Temperature `T > 0` on the denoising distribution: `p(v)^(1/T)`, renormalised.
    pub fn with_temperature(self, temperature: f64) -> Result<SamplerSettings> {
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(setting(
                Setting::Temperature,
                format!("temperature {temperature} must be a finite number > 0"),
            ));
        }
        Ok(SamplerSettings {
            temperature,
            ..self
        })
    }

    /// Nucleus `p` in (0, 1]: the smallest set of tokens with probability mass `>= p`.
    pub fn with_top_p(self, top_p: f64) -> Result<SamplerSettings> {
        if !(top_p > 0.0 && top_p <= 1.0) {
            return Err(setting(
                Setting::TopP,
                format!("top-p {top_p} must be in (0, 1]"),
            ));
        }
        Ok(SamplerSettings { top_p, ..self })
    }

    /// The unmasking order (absorbing models; checked against the graph when sampling).
    pub fn with_order(self, order: UnmaskOrder) -> SamplerSettings {
        SamplerSettings { order, ..self }
    }

    /// The remasking cap `eta` in [0, 1] of [`SamplerKind::Remask`]: an unmasked token goes
    /// back to MASK with probability `min(eta, (1 - alpha_s) / alpha_t)` per step.
    pub fn with_remask_cap(self, remask_cap: f64) -> Result<SamplerSettings> {
        if !(0.0..=1.0).contains(&remask_cap) {
            return Err(setting(
                Setting::RemaskCap,
                format!("remasking cap {remask_cap} must be in [0, 1]"),
            ));
        }
        Ok(SamplerSettings { remask_cap, ..self })
    }

    /// The sampler.
    pub fn kind(&self) -> SamplerKind {
        self.kind
    }

    /// Reverse steps.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The temperature.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// The nucleus mass.
    pub fn top_p(&self) -> f64 {
        self.top_p
    }

    /// The unmasking order.
    pub fn order(&self) -> UnmaskOrder {
        self.order
    }

    /// The remasking cap (used by [`SamplerKind::Remask`] only).
    pub fn remask_cap(&self) -> f64 {
        self.remask_cap
    }

    /// Whether the settings sample the model's own reverse process (temperature 1, top-p 1,
    /// random order; remasking keeps the marginals, so it counts as the model's).
    pub fn is_model_process(&self) -> bool {
        self.temperature == 1.0 && self.top_p == 1.0 && self.order == UnmaskOrder::Random
    }

    /// `name=value` words for a record's metadata: the sampler, steps, temperature and top-p
    /// always, the order and the remasking cap where they apply.
    ///
    /// ```
    /// use seddbio::sample::{SamplerKind, SamplerSettings};
    ///
    /// let settings = SamplerSettings::new(SamplerKind::FirstHitting, 128)?.with_temperature(0.7)?;
    /// let words: Vec<String> = settings.metadata().iter().map(|(k, v)| format!("{k}={v}")).collect();
    /// assert_eq!(words, ["sampler=first-hitting", "steps=128", "temperature=0.7", "top_p=1"]);
    /// # Ok::<(), seddbio::Error>(())
    /// ```
    pub fn metadata(&self) -> Vec<(String, String)> {
        let mut words = vec![
            ("sampler".to_string(), self.kind.to_string()),
            ("steps".to_string(), self.steps.to_string()),
        ];
        words.push(("temperature".into(), self.temperature.to_string()));
        words.push(("top_p".into(), self.top_p.to_string()));
        if self.order != UnmaskOrder::Random {
            words.push(("order".into(), self.order.to_string()));
        }
        if self.kind == SamplerKind::Remask {
            words.push(("remask_cap".into(), self.remask_cap.to_string()));
        }
        words
    }

    /// Refuses settings that cannot sample a model with this graph: first-hitting and
    /// remasking need an absorbing model, confidence order the first-hitting sampler.
    pub fn check_graph(&self, graph: GraphKind) -> Result<()> {
        let kind = self.kind;
        if kind.needs_absorbing() && graph != GraphKind::Absorb {
            return Err(setting(
                Setting::Sampler,
                format!("the {kind} sampler needs an absorbing model"),
            ));
        }
        if self.order == UnmaskOrder::Confidence && kind != SamplerKind::FirstHitting {
            return Err(setting(
                Setting::Order,
                format!("confidence order chooses which positions a first-hitting step unmasks; the {kind} sampler has no such choice"),
            ));
        }
        Ok(())
    }

    /// The command-line flags that ask `seddbio sample` for these controls (empty for the
    /// defaults), e.g. ` --temperature 0.8 --order confidence`.
    pub fn command_flags(&self) -> String {
        let mut flags = String::new();
        if self.temperature != 1.0 {
            flags.push_str(&format!(" --temperature {}", self.temperature));
        }
        if self.top_p != 1.0 {
            flags.push_str(&format!(" --top-p {}", self.top_p));
        }
        if self.order != UnmaskOrder::Random {
            flags.push_str(&format!(" --order {}", self.order));
        }
        if self.kind == SamplerKind::Remask {
            flags.push_str(&format!(
                " --sampler remask --remask-cap {}",
                self.remask_cap
            ));
        }
        flags
    }

    /// The settings in one phrase, e.g. `first-hitting sampler, 128 steps, temperature 0.7`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} sampler, {} steps", self.kind, self.steps);
        if self.temperature != 1.0 {
            text.push_str(&format!(", temperature {}", self.temperature));
        }
        if self.top_p != 1.0 {
            text.push_str(&format!(", top-p {}", self.top_p));
        }
        if self.order != UnmaskOrder::Random {
            text.push_str(&format!(", {} order", self.order));
        }
        if self.kind == SamplerKind::Remask {
            text.push_str(&format!(", remasking cap {}", self.remask_cap));
        }
        text
    }

    /// Applies temperature, then top-p, to the destinations of one position's categorical
    /// `weights` (non-negative, unnormalised; entries <= 0 are impossible and stay 0): every
    /// entry but `stay` (the current token, whose weight is the probability of not moving;
    /// `None` at the final denoising step and when a MASK is resolved). The destinations keep
    /// their total, so the chance of moving is the model's; only where a move goes changes.
    /// With temperature 1 and top-p 1 the weights are untouched, bit for bit.
    pub(crate) fn shape(&self, weights: &mut [f64], stay: Option<usize>) {
        if self.temperature == 1.0 && self.top_p == 1.0 {
            return;
        }
        let moves = |y: usize| Some(y) != stay;
        let total: f64 = (0..weights.len())
            .filter(|&y| moves(y) && weights[y] > 0.0)
            .map(|y| weights[y])
            .sum();
        if total <= 0.0 || !total.is_finite() {
            return;
        }
        // Temperature in log space: w^(1/T) overflows or vanishes for small T.
        let mut shaped = vec![0.0; weights.len()];
        let top = (0..weights.len())
            .filter(|&y| moves(y) && weights[y] > 0.0)
            .map(|y| weights[y].ln() / self.temperature)
            .fold(f64::NEG_INFINITY, f64::max);
        for (y, s) in shaped.iter_mut().enumerate() {
            if moves(y) && weights[y] > 0.0 {
                *s = (weights[y].ln() / self.temperature - top).exp();
            }
        }
        if self.top_p < 1.0 {
            keep_nucleus(&mut shaped, self.top_p);
        }
        let sum: f64 = shaped.iter().sum();
        for (y, w) in weights.iter_mut().enumerate() {
            if moves(y) {
                *w = total * shaped[y] / sum;
            }
        }
    }
}

/// Zeroes every weight outside the nucleus: the smallest set of tokens, taken by decreasing
/// weight (ties: the lower token id first), whose share of the total reaches `top_p` (with a
/// relative slack of 1e-12 for rounding). At least one token is always kept.
fn keep_nucleus(weights: &mut [f64], top_p: f64) {
    let total: f64 = weights.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).filter(|&y| weights[y] > 0.0).collect();
    order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]).then(a.cmp(&b)));
    let mut mass = 0.0;
    let mut kept = order.len();
    for (rank, &y) in order.iter().enumerate() {
        mass += weights[y] / total;
        if mass >= top_p * (1.0 - 1e-12) {
            kept = rank + 1;
            break;
        }
    }
    for &y in &order[kept..] {
        weights[y] = 0.0;
    }
}

fn setting(setting: Setting, message: impl Into<String>) -> Error {
    Error::Setting {
        setting,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(temperature: f64, top_p: f64) -> SamplerSettings {
        SamplerSettings::new(SamplerKind::Analytic, 8)
            .and_then(|s| s.with_temperature(temperature))
            .and_then(|s| s.with_top_p(top_p))
            .unwrap()
    }

    fn normalised(w: &[f64]) -> Vec<f64> {
        let sum: f64 = w.iter().sum();
        w.iter().map(|v| v / sum).collect()
    }

    /// Top-p keeps the smallest set with mass >= p: on (0.5, 0.3, 0.15, 0.05), p = 0.8 keeps
    /// two tokens, p = 0.81 three, p = 0.5 one; ties at the boundary go to the lower id.
    #[test]
    fn top_p_keeps_the_smallest_set_reaching_p() {
        let p = [0.15, 0.5, 0.05, 0.3];
        let kept = |top_p: f64| {
            let mut w = p.to_vec();
            settings(1.0, top_p).shape(&mut w, None);
            w
        };
        let two = kept(0.8);
        assert_eq!(two[0], 0.0);
        assert_eq!(two[2], 0.0);
        assert!((two[1] - 0.625).abs() < 1e-12 && (two[3] - 0.375).abs() < 1e-12);
        let three = kept(0.81);
        assert_eq!((three[2], three[0] > 0.0), (0.0, true));
        let one = kept(0.5);
        assert_eq!(one, [0.0, 1.0, 0.0, 0.0]);
        assert_eq!(kept(1.0), p);
        // A tie at the boundary: of two tokens of 0.25 the lower id stays.
        let mut tie = vec![0.5, 0.25, 0.25];
        settings(1.0, 0.7).shape(&mut tie, None);
        assert_eq!(tie[2], 0.0);
        assert!((tie[0] - 2.0 / 3.0).abs() < 1e-12 && (tie[1] - 1.0 / 3.0).abs() < 1e-12);
    }

    /// Temperature raises the probabilities to 1/T and renormalises; the stay weight and the
    /// destinations' total are kept, and impossible tokens stay impossible.
    #[test]
    fn temperature_reshapes_only_where_a_move_goes() {
        let mut w = vec![0.1, 0.3, 0.0, 0.6];
        // Token 3 is the current token: 0.6 to stay, 0.4 to move.
        settings(0.5, 1.0).shape(&mut w, Some(3));
        assert_eq!(w[3], 0.6);
        assert_eq!(w[2], 0.0);
        let moved = normalised(&w[..2]);
        assert!((moved[0] - 0.01 / 0.10).abs() < 1e-12, "{w:?}");
        assert!((w[0] + w[1] - 0.4).abs() < 1e-12);
        // Near 0 the largest weight takes everything.
        let mut w = vec![0.2, 0.5, 0.3];
        settings(1e-4, 1.0).shape(&mut w, None);
        assert_eq!(w, [0.0, 1.0, 0.0]);
        // High temperature flattens.
        let mut w = vec![0.2, 0.8];
        settings(1e6, 1.0).shape(&mut w, None);
        assert!((w[0] - 0.5).abs() < 1e-5, "{w:?}");
    }

    /// Out-of-range controls are one error naming the setting.
    #[test]
    fn bad_controls_are_refused() {
        let base = SamplerSettings::new(SamplerKind::Euler, 4).unwrap();
        for t in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = base.with_temperature(t).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Setting {
                        setting: Setting::Temperature,
                        ..
                    }
                ),
                "{e}"
            );
        }
        for p in [0.0, -0.5, 1.5, f64::NAN] {
            let e = base.with_top_p(p).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Setting {
                        setting: Setting::TopP,
                        ..
                    }
                ),
                "{e}"
            );
        }
        assert!(base.with_remask_cap(1.5).is_err());
        assert!(base.with_remask_cap(f64::NAN).is_err());
        assert!(SamplerSettings::new(SamplerKind::Euler, 0).is_err());
    }
}
