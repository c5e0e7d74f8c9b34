//! Training a score model: presets, batches, the optimiser loop, checkpoints and metrics
//! (docs/design.md, eq. (22) and §12; the run directory: docs/guide.md, "The run directory").
//!
//! Every random choice of a run is a function of its seed and the step it belongs to
//! ([`stream_seed`]), so `N` steps, a checkpoint and a resume to `2N` reproduce the weights of
//! `2N` uninterrupted steps.

mod auto;
mod batch;
mod card;
mod checkpoint;
mod config;
mod metrics;
mod params;
mod trainer;

pub use self::{
    auto::{
        choose_preset, AutoBatch, AutoChoice, PresetProbe, AUTO_PRESETS, LARGE_BATCH_LR,
        MIN_STEPS_PER_EPOCH, TOKENS_PER_PARAMETER, TOKENS_PER_STEP,
    },
    batch::{stream_rng, stream_seed, BatchOrder, Stream},
    card::{model_card, CardFacts},
    checkpoint::{CheckpointState, FileDigest, InitFrom, RunDir, RunLock, RunSpec},
    config::{default_schedule, LrSchedule, TimeBudget, TrainConfig, TrainingOptions},
    metrics::{MetricsLog, MetricsRow},
    params::{clip_global_norm, flat_parameters, update_ema},
    trainer::{run, Observer, Outcome, StepStats, TrainedModel, Trainer, ValidationSet, Weights},
};
