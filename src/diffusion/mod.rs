//! The diffusion core, with no network in it: noise schedules, the absorbing and uniform
//! forward CTMCs in closed form, the denoising score entropy (DSE) loss, sampler weights and
//! the ELBO bound. The math is docs/design.md, §2-§7; each item cites its equations.
//!
//! Lou, Meng & Ermon, "Discrete Diffusion Modeling by Estimating the Ratios of the Data
//! Distribution", ICML 2024 (<https://arxiv.org/abs/2310.16834>).

mod elbo;
mod graph;
mod noised;
mod schedule;

pub use self::{
    elbo::{elbo_bound, ElboEstimate},
    graph::{sample_categorical, Graph, GraphKind},
    noised::{stratified_times, NoisedBatch, TIME_EPS},
    schedule::{NoiseSchedule, ScheduleKind},
};
