//! The score network and its loss on tensors (burn, CPU `flex` backend by default).
//!
//! [`ScoreModel`] maps noised tokens and the total noise to log concrete scores;
//! [`score_entropy`] is the batched DSE loss, tested against the scalar reference in
//! [`diffusion`](crate::diffusion).

mod dit;
mod loss;

pub use self::{
    dit::{DitBlock, ScoreModel, ScoreModelConfig},
    loss::score_entropy,
};
