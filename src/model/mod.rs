//! The score network and its loss on tensors (burn, CPU `flex` backend by default).
//!
//! [`ScoreModel`] maps noised tokens and the total noise to log concrete scores;
//! [`score_entropy`] is the batched DSE loss, tested against the scalar reference in
//! [`diffusion`](crate::diffusion).

mod device;
mod dit;
pub(crate) mod fused;
mod likelihood;
mod loss;
mod params;

/// Noise on every parameter of a model, so that zero-initialised layers (and through them the
/// labels) take part in a test.
#[cfg(test)]
pub(crate) fn dit_test_jitter() -> dit::tests::Jitter {
    dit::tests::Jitter
}

pub use self::{
    device::ComputeDevice,
    dit::{DitBlock, Kernels, ModelSize, PositionKind, ScoreModel, ScoreModelConfig},
    fused::{
        available as fused_kernels_available,
        vector::{level as simd_level, SimdLevel, SimdLevelError, SIMD_VARIABLE},
    },
    likelihood::{
        common_noise_integrands, elbo_estimates, pooled_bits_per_token, sequence_elbos,
        token_tensor, weighted_dse, weighted_dse_with,
    },
    loss::score_entropy,
    params::{clip_global_norm, flat_parameters, update_ema},
};
