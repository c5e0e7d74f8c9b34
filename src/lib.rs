//! seddbio: Score Entropy Discrete Diffusion (SEDD) for DNA, RNA, protein and SMILES sequences.
//!
//! Data flows one way: text -> tokens -> model -> tokens -> text.
//! - [`io`]: read FASTA / CSV / TSV / SMILES files (gzip transparently), write FASTA / CSV /
//!   Parquet atomically.
//! - [`alphabet`]: one [`Alphabet`](alphabet::Alphabet) type for every kind of sequence, loaded
//!   from `alphabets/*.toml` or a user's file; the SMILES tokenizer.
//! - [`diffusion`]: noise schedules, absorbing/uniform CTMCs in closed form, DSE loss, sampler
//!   weights, ELBO bound.
//! - [`baseline`]: the K-th order Markov chain every model must beat.
//! - [`chem`]: SMILES validity, uniqueness, novelty and the MOSES metrics (RDKit with the
//!   `rdkit` feature).
//! - [`eval`]: k-mer spectra, Jensen-Shannon divergence against a size-matched floor, GC,
//!   novelty, diversity, per-label motif rates and enrichment.
//! - [`motif`]: JASPAR/MEME position weight matrices and scanning (evaluation, templates).
//! - [`plot`]: small SVG plots (reports, loss curves).
//! - [`model`]: the bidirectional DiT score network and the batched DSE loss (burn).
//! - [`sample`]: Euler, analytic and first-hitting samplers with fixed and constrained positions.
//! - [`train`]: presets, batches, the AdamW loop with EMA, checkpoints that resume exactly.
//! - [`shard`]: one part of a job, and the per-item random streams that make the parts add
//!   up to one run.
//! - [`variant`]: mutations of a wild type scored by masked marginals or ELBO differences.
//! - [`data`]: unknown-symbol policies, train/validation splits, windows or padded records, and
//!   the summary `seddbio data inspect` prints.
//!
//! The diffusion math it implements is Lou, Meng & Ermon, "Discrete Diffusion Modeling by
//! Estimating the Ratios of the Data Distribution", ICML 2024 (<https://arxiv.org/abs/2310.16834>).

pub mod alphabet;
pub mod baseline;
pub mod chem;
pub mod choices;
pub mod data;
pub mod diffusion;
pub mod error;
pub mod eval;
#[cfg(test)]
mod fuzz;
pub mod io;
pub mod model;
pub mod motif;
pub mod plot;
pub mod run;
pub mod sample;
pub mod shard;
#[cfg(test)]
mod test_dir;
pub mod train;
pub mod variant;

pub use error::{Error, Result, Setting};
