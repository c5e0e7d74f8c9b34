//! Generation: reverse-time samplers over a trained score, unconditional or with templates.

mod sampler;
mod template;

pub use self::{
    sampler::{sample, time_grid, Sampled, SamplerKind, ScoreFn, Slot, SAMPLING_EPS},
    template::{MotifMode, Template},
};

use crate::model::{token_tensor, ScoreModel};

/// The network as a [`ScoreFn`]: one forward pass per call, every sequence at `sigma_bar`.
pub fn network_score(model: &ScoreModel) -> impl FnMut(&[usize], usize, f64) -> Vec<f32> + '_ {
    let device = model.device();
    move |x: &[usize], batch: usize, sigma_bar: f64| {
        let len = x.len() / batch.max(1);
        let ids: Vec<i64> = x.iter().map(|&t| t as i64).collect();
        let scores = model.forward(
            token_tensor(&ids, batch, len, &device),
            &vec![sigma_bar; batch],
        );
        scores.into_data().try_to_vec::<f32>().unwrap_or_default()
    }
}
