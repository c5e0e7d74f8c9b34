//! Generation: reverse-time samplers over a trained score, unconditional or with templates.

mod controls;
mod generate;
mod sampler;
mod template;

pub use self::{
    controls::{SamplerControls, SamplerSettings, UnmaskOrder, DEFAULT_REMASK_CAP},
    generate::{
        decode_sampled, draw_length, generate, pad_to_model, sample_in_batches, sequence_length,
        unconditional_slots, Decoded, Drawn, Generated, Generation,
    },
    sampler::{
        sample, sample_streams, time_grid, Sampled, SamplerKind, ScoreFn, Slot, SAMPLING_EPS,
    },
    template::{MotifMode, Template},
};

use crate::{
    alphabet::TokenId,
    model::{token_tensor, ScoreModel},
    Error, Result,
};

/// What a conditional model samples under: a label (`None`: the null label, i.e. the model's
/// unconditional score) and the classifier-free guidance weight `w`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Guidance {
    /// The label index, `0..num_labels`.
    pub label: Option<usize>,
    /// `w`: 0 is plain conditional sampling; larger values sharpen toward the label.
    pub weight: f64,
}

/// The network as a [`ScoreFn`]: one forward pass per call, every sequence at `sigma_bar`,
/// under the null label for a conditional model.
pub fn network_score(model: &ScoreModel) -> GuidedScore<'_> {
    guided_score(model, Guidance::default())
}

/// The network's log scores under a label and guidance weight: see [`guided_score`].
pub struct GuidedScore<'a> {
    model: &'a ScoreModel,
    guidance: Guidance,
}

impl ScoreFn for GuidedScore<'_> {
    fn log_scores(&mut self, x: &[TokenId], batch: usize, sigma_bar: f64) -> Result<Vec<f32>> {
        let (model, guidance) = (self.model, self.guidance);
        let len = x.len() / batch.max(1);
        let tokens = token_tensor(x, batch, len, &model.device());
        let sigma_bar = vec![sigma_bar; batch];
        let labels = guidance.label.map(|label| vec![label; batch]);
        let conditional = model.forward_labelled(tokens.clone(), &sigma_bar, labels.as_deref());
        let scores = match (guidance.label, guidance.weight) {
            (Some(_), w) if w != 0.0 => {
                let unconditional = model.forward_labelled(tokens, &sigma_bar, None);
                conditional * (1.0 + w) - unconditional * w
            }
            _ => conditional,
        };
        scores
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| Error::TensorRead {
                what: "scores",
                detail: format!("{e:?}"),
            })
    }
}

/// The network as a [`ScoreFn`] under a label with classifier-free guidance (docs/design.md,
/// eq. (43); Nisonoff et al. 2024): the guided rates are `R(y)^(1+w) R(null)^(-w)`, so every
/// log ratio is `(1 + w) log s(x | y) - w log s(x | null)`. The current token's entry is 0 in
/// both, and stays 0. With `w = 0` (or no label) it is one conditional pass, bit for bit.
pub fn guided_score(model: &ScoreModel, guidance: Guidance) -> GuidedScore<'_> {
    GuidedScore { model, guidance }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use burn::module::Module;

    use super::*;
    use crate::model::{dit_test_jitter, ModelSize, ScoreModelConfig};

    /// Guidance 0 is the conditional pass bit for bit; guidance w is `(1 + w)` times the
    /// conditional log scores minus `w` times the null label's, computed here from two plain
    /// forward passes.
    #[test]
    fn guided_scores_combine_the_conditional_and_null_passes() {
        let device = Device::flex().autodiff();
        device.seed(2);
        let model = ScoreModelConfig::new(4, true, ModelSize::new(16, 1, 2, 8))
            .with_num_labels(2)
            .init(&device)
            .map(&mut dit_test_jitter());
        let x = [0, 4, 2, 4, 1, 4, 4, 3, 4, 4];
        let pass = |labels: Option<&[usize]>| -> Vec<f32> {
            model
                .forward_labelled(token_tensor(&x, 2, 5, &device), &[1.3, 1.3], labels)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        let (conditional, null) = (pass(Some(&[1, 1])), pass(None));
        let guided = |w: f64| {
            guided_score(
                &model,
                Guidance {
                    label: Some(1),
                    weight: w,
                },
            )
            .log_scores(&x, 2, 1.3)
            .unwrap()
        };
        assert_eq!(guided(0.0), conditional);
        for (g, (c, u)) in guided(2.0).iter().zip(conditional.iter().zip(&null)) {
            assert!((g - (3.0 * c - 2.0 * u)).abs() <= 1e-4 * (1.0 + c.abs() + u.abs()));
        }
        assert_ne!(guided(2.0), conditional);
        // No label: the null label's pass whatever the weight.
        let unlabelled = guided_score(
            &model,
            Guidance {
                label: None,
                weight: 2.0,
            },
        )
        .log_scores(&x, 2, 1.3)
        .unwrap();
        assert_eq!(unlabelled, null);
    }
}
