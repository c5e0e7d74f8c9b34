//! A saved run: the directory `seddbio train` writes and every other command reads.
//!
//! [`RunSpec`] (`run.toml`) says what the run is, [`TrainConfig`] the model and training
//! presets it resolved, [`RunDir`] where its files are and how checkpoints are written and
//! checked, [`TrainedModel`] loads its weights for inference, and [`model_card`] writes its
//! `MODEL.md`. [`export_weights`] and [`import_weights`] carry a run as one safetensors file,
//! and [`open_model`] opens a run directory or a bundled model by name ([`bundled_models`]).
//! Training lives in [`train`](crate::train); sampling, scoring and evaluation need only this
//! module.

mod bundled;
mod card;
mod classify;
mod config;
mod dir;
mod safetensors;
mod spec;
mod trained;

pub(crate) use self::trained::{
    checkpoint_file, record_error, EMA_FILE, MODEL_FILE, OPTIMIZER_FILE,
};
pub use self::{
    bundled::{
        bundled_models, models_dir, open_model, BundledModel, HeldOutFacts, ModelFacts, CACHE_ENV,
        MODELS_ENV,
    },
    card::{model_card, CardFacts},
    classify::{label_posterior, Classification},
    config::{default_schedule, LrSchedule, TimeBudget, TrainConfig, TrainingOptions},
    dir::{CheckpointState, FileDigest, NamedFiles, RunDir, RunLock},
    safetensors::{export_weights, import_weights, ExportedWeights, ImportedRun, WeightsSummary},
    spec::{InitFrom, Reweighting, RunSpec},
    trained::{TrainedModel, Weights},
};
