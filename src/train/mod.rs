//! Training a score model: presets, batches, the optimiser loop, checkpoints and metrics
//! (docs/design.md, eq. (22) and §12; the run directory: docs/guide.md, "The run directory").
//!
//! Every random choice of a run is a function of its seed and the step it belongs to
//! ([`stream_seed`]), so `N` steps, a checkpoint and a resume to `2N` reproduce the weights of
//! `2N` uninterrupted steps.

mod auto;
mod batch;
mod interrupt;
mod metrics;
mod report;
mod request;
mod session;
mod trainer;

pub use self::{
    auto::{
        choose_preset, AutoBatch, AutoChoice, PresetProbe, AUTO_PRESETS, LARGE_BATCH_LR_SCALE,
        MIN_STEPS_PER_EPOCH, TOKENS_PER_PARAMETER, TOKENS_PER_STEP,
    },
    batch::{stream_rng, stream_seed, BatchOrder, Stream},
    interrupt::{Interrupt, INTERRUPT_GRACE},
    metrics::{MetricsLog, MetricsRow},
    report::{
        compare_held_out, end_of_run_report, run_description, write_model_card, HeldOutComparison,
        ReportProgress, ReportRequest, RunReport, HELD_OUT_TIMES,
    },
    request::{OpenedRun, TrainRequest, TrainingOverrides, REPORT_STEPS},
    session::{train, FinishedRun, TrainingOutcome, TrainingProgress},
    trainer::{run, Observer, Outcome, StepStats, Trainer, ValidationSet},
};
