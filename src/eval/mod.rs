//! Evaluation of generated sequences against real ones, computed without external models:
//! k-mer spectra and their divergences against a size-matched real-vs-real floor, GC content,
//! novelty and diversity, and label-by-label motif hit rates and enrichment; and the sweep of
//! sampler settings that measures what each trades between fidelity and diversity. Motif scanning
//! ([`crate::motif`]) and plots ([`crate::plot`]) live below it, since sampling and training
//! use them too.
//!
//! [`evaluate`] computes an [`Evaluation`], numbers and plain data; [`render`] turns it into the
//! printed table, the report folder's files and JSON.

mod compute;
mod evaluation;
mod floor;
mod kmer;
mod labels;
pub mod render;
mod similarity;
mod sweep;
mod variant_effects;

pub use self::{
    compute::{
        evaluate, kmer_sizes, per_sequence, per_sequence_csv, ModelCheck, MotifSet, PerSequence,
        PerSequenceOptions, ReportOptions, SequenceFigures, FLOOR_DRAWS,
    },
    evaluation::*,
    floor::{FloorSetup, FloorSource, RealFloor},
    kmer::{js_divergence, pearson, KmerSpectrum, SpectrumComparison},
    labels::{hit_rate, log2_enrichment, Enrichment},
    render::{Files, Metric},
    similarity::{diversity, gc_fraction, identity, novelty, Novelty},
    sweep::{sweep, Sweep, SweepPoint, SweepProgress, SweepRow, SweepRun, SWEEP_STEPS},
    variant_effects::{
        agreement, agreement_with_differences, auroc, keep_shared_variants, read_measured,
        read_score_columns, spearman, EffectAgreement, Measured,
    },
};
