//! What [`evaluate`](super::evaluate) finds, as numbers and plain data: every figure of the
//! report before it is formatted. The renderers of [`super::render`] turn one value into the
//! table `seddbio eval` prints, the files of the report folder and the JSON of `eval --json`,
//! so that each of them shows the same computation, and a library user (the sweep, a notebook)
//! reads the figures without parsing text back.
//!
//! The value serialises with serde; every per-sequence and per-k-mer figure is in it, so a
//! serialised evaluation is as large as the report folder's CSV files.

use std::path::PathBuf;

use serde::Serialize;

use super::{Enrichment, FloorSetup, SpectrumComparison};

/// The evaluation of a generated set against a reference set.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// The generated set's own figures.
    pub generated: SetFigures,
    /// The reference set's own figures, the mark the generated set should reach.
    pub reference: SetFigures,
    /// The real-vs-real pairs the k-mer divergences are judged against (docs/design.md, eq. (58)).
    pub floor: FloorSetup,
    /// The k-mer spectra, one comparison per size.
    pub kmers: KmerFigures,
    /// Protein alphabets: the amino-acid composition of both sets.
    pub composition: Option<Composition>,
    /// With training sequences: copies of them and the identity to the nearest one.
    pub novelty: Option<NoveltyFigures>,
    /// SMILES: validity, uniqueness and novelty of the generated molecules.
    pub chemistry: Option<Chemistry>,
    /// With a trained model: the ELBO bound of both sets under it.
    pub model: Option<ModelBound>,
    /// Labelled sets: the comparison label by label.
    pub labels: Option<LabelComparison>,
    /// With motifs: their hit rates in both sets.
    pub motifs: Option<MotifFigures>,
}

/// Figures of one set (generated or reference) that need no other set.
#[derive(Debug, Clone, Serialize)]
pub struct SetFigures {
    /// The file it was read from.
    pub path: PathBuf,
    /// Each sequence's length in tokens, in file order.
    pub lengths: Vec<usize>,
    /// Shortest length.
    pub min_length: usize,
    /// Longest length.
    pub max_length: usize,
    /// Mean length.
    pub mean_length: f64,
    /// Nucleotide alphabets: each sequence's GC fraction (none for a sequence without bases
    /// that count), in file order.
    pub gc: Option<Vec<Option<f64>>>,
    /// Nucleotide alphabets: the mean of the GC fractions there are.
    pub mean_gc: Option<f64>,
    /// Fraction of distinct sequences (docs/design.md, §13 "Identity, novelty, diversity").
    pub distinct_fraction: f64,
    /// Mean identity of pairs within the set, eq. (59).
    pub mean_pairwise_identity: f64,
}

impl SetFigures {
    /// Sequences in the set.
    pub fn count(&self) -> usize {
        self.lengths.len()
    }
}

/// The k-mer spectra of the generated and the reference set (docs/design.md, eq. (57)).
#[derive(Debug, Clone, Serialize)]
pub struct KmerFigures {
    /// Whether a k-mer and its reverse complement were counted as one.
    pub canonical: bool,
    /// One entry per k-mer size, in the order asked for.
    pub sizes: Vec<KmerSize>,
}

/// The comparison of the two spectra at one k-mer size.
#[derive(Debug, Clone, Serialize)]
pub struct KmerSize {
    /// The size.
    pub k: usize,
    /// Generated against reference.
    pub generated_vs_reference: SpectrumComparison,
    /// The real-vs-real floor: real pairs of the same sizes, averaged over the draws.
    pub floor: SpectrumComparison,
    /// Every k-mer seen in either set with its frequency in each.
    pub frequencies: Vec<KmerFrequency>,
}

/// One k-mer's frequency in both sets.
#[derive(Debug, Clone, Serialize)]
pub struct KmerFrequency {
    /// The k-mer, decoded.
    pub kmer: String,
    /// Its frequency among the generated set's k-mers.
    pub generated: f64,
    /// Its frequency among the reference set's k-mers.
    pub reference: f64,
}

/// Amino-acid composition: each symbol's share of all tokens of a set.
#[derive(Debug, Clone, Serialize)]
pub struct Composition {
    /// The alphabet's symbols, by token id (`?` for an id without one).
    pub symbols: Vec<String>,
    /// Their shares in the generated set.
    pub generated: Vec<f64>,
    /// Their shares in the reference set.
    pub reference: Vec<f64>,
}

/// Novelty against the training set, of the generated set and (as the mark to reach) of the
/// reference set (docs/design.md, §13 "Identity, novelty, diversity").
#[derive(Debug, Clone, Serialize)]
pub struct NoveltyFigures {
    /// Training sequences the nearest identities compare with (all of them, or a random
    /// subset when there are many).
    pub neighbours: usize,
    /// The generated set's novelty.
    pub generated: SetNovelty,
    /// The reference set's novelty.
    pub reference: SetNovelty,
}

/// One set's novelty against the training set.
#[derive(Debug, Clone, Serialize)]
pub struct SetNovelty {
    /// Fraction of sequences identical to some training sequence.
    pub copied_fraction: f64,
    /// Each sequence's highest identity to a training sequence, eq. (59).
    pub nearest_identity: Vec<f64>,
    /// The median of `nearest_identity` (the lower middle for even counts).
    pub median_nearest_identity: f64,
}

/// MOSES CharRNN on its test split (Polykovskiy et al. 2020, Table 2): validity, uniqueness
/// and novelty, the published figures reports print beside their own.
pub const MOSES_CHARRNN: [(&str, f64); 3] = [
    ("validity", 0.975),
    ("uniqueness", 0.999),
    ("novelty", 0.842),
];

/// The generated SMILES checked as molecules (RDKit when built with it, else a syntax check).
#[derive(Debug, Clone, Serialize)]
pub struct Chemistry {
    /// What checked them, in words: a syntax check must not pass for chemistry.
    pub checker: String,
    /// Whether the checker is a chemistry toolkit (its figures are about molecules, not
    /// strings).
    pub is_chemistry: bool,
    /// Fraction of generated strings the checker accepts.
    pub validity: f64,
    /// Fraction of valid molecules that are distinct.
    pub uniqueness: f64,
    /// With training molecules: the fraction of unique molecules not among them.
    pub novelty: Option<f64>,
    /// Each generated string and its canonical form (none when invalid), in file order.
    pub molecules: Vec<Molecule>,
    /// How far the valid molecules' property distributions are from the reference's
    /// (RDKit builds only; empty otherwise).
    pub properties: Vec<PropertyDistance>,
    /// Fingerprint similarity: internal diversity and nearest neighbours in the reference
    /// (RDKit builds only).
    pub similarity: Option<Similarity>,
    /// MOSES's unique@k: the fraction of distinct molecules among the first `k` valid ones, for
    /// each `k` of [`UNIQUE_AT`] the valid molecules reach.
    pub unique_at: Vec<(usize, f64)>,
}

/// The `k` of unique@k, with MOSES CharRNN's figure for each (Polykovskiy et al. 2020,
/// Table 2).
pub const UNIQUE_AT: [(usize, f64); 2] = [(1_000, 1.0), (10_000, 0.999)];

/// MOSES's similarity figures on fingerprints and scaffolds of the valid molecules, each beside the same
/// figure for a size-matched draw of the reference (against the rest of it for SNN).
#[derive(Debug, Clone, Serialize)]
pub struct Similarity {
    /// The fingerprint, in words.
    pub fingerprint: String,
    /// IntDiv1 of the generated molecules.
    pub int_div1: f64,
    /// IntDiv2.
    pub int_div2: f64,
    /// Mean similarity to the nearest reference molecule.
    pub snn: f64,
    /// Scaf: cosine similarity of the Bemis-Murcko scaffold counts (scaffolds of two rings or
    /// more) to the reference's.
    pub scaffold: f64,
    /// The four for the reference draws, in that order (mean of 4; `None` with too few
    /// reference molecules).
    pub floor: Option<[f64; 4]>,
    /// Reference molecules the nearest neighbours were sought among (the first ones, at most
    /// 10,000).
    pub reference_used: usize,
    /// Reference molecules whose scaffolds were counted (all that RDKit accepts).
    pub scaffold_reference: usize,
}

/// One property's distribution, generated against reference (`chem::PROPERTIES`).
#[derive(Debug, Clone, Serialize)]
pub struct PropertyDistance {
    /// The property (MW, logP, TPSA, rotatable bonds, rings).
    pub name: String,
    /// 1-Wasserstein distance between the valid generated and the reference molecules.
    pub distance: f64,
    /// The same between size-matched halves of the reference: the real-vs-real floor (mean of
    /// 4 draws; `None` with fewer than 4 reference molecules).
    pub floor: Option<f64>,
}

/// One generated SMILES string as checked.
#[derive(Debug, Clone, Serialize)]
pub struct Molecule {
    /// The string as generated.
    pub smiles: String,
    /// Its canonical form, when valid.
    pub canonical: Option<String>,
}

/// The ELBO bound of both sets under a trained model (docs/design.md, eqs. (23)-(25)).
#[derive(Debug, Clone, Serialize)]
pub struct ModelBound {
    /// How the report names the model (its run directory).
    pub name: String,
    /// The training step of its weights.
    pub step: u64,
    /// Times per sequence of the stratified estimate.
    pub num_t: usize,
    /// The generated set's bound.
    pub generated: Bound,
    /// The reference set's bound (held-out bits per token when it is held out).
    pub reference: Bound,
}

/// One set's bound, pooled over its scored sequences.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Bound {
    /// Bits per token.
    pub bits_per_token: f64,
    /// Its standard error.
    pub standard_error: f64,
    /// Sequences scored.
    pub sequences: usize,
}

/// A motif's identity, as reports name it.
#[derive(Debug, Clone, Serialize)]
pub struct MotifName {
    /// Matrix id, e.g. `MA0108.3`.
    pub id: String,
    /// Factor name, e.g. `TBP`.
    pub name: String,
}

/// A motif's hit rates: the fraction of each set's sequences with at least one site.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct HitRates {
    /// In the generated set.
    pub generated: f64,
    /// In the reference set.
    pub reference: f64,
}

/// The label-by-label comparison: each label's generated sequences against its real ones.
#[derive(Debug, Clone, Serialize)]
pub struct LabelComparison {
    /// The motifs scanned (empty without motifs); each label's `hit_rates` follow this order.
    pub motifs: Vec<MotifName>,
    /// The labels found in both sets, in sorted order.
    pub labels: Vec<LabelFigures>,
    /// Two labels or more, with motifs: the enrichment between the first two labels,
    /// generated against real (docs/design.md, eq. (60)).
    pub enrichment: Option<Enrichment>,
}

/// One label's sets compared.
#[derive(Debug, Clone, Serialize)]
pub struct LabelFigures {
    /// The label.
    pub label: String,
    /// Generated sequences with it.
    pub generated: usize,
    /// Reference sequences with it.
    pub reference: usize,
    /// The k-mer divergence per size, against a floor matched to this label's sizes.
    pub kmers: Vec<LabelKmer>,
    /// Each motif's hit rates among this label's sequences.
    pub hit_rates: Vec<HitRates>,
}

/// One k-mer size of a label's comparison.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LabelKmer {
    /// The size.
    pub k: usize,
    /// Jensen-Shannon divergence in bits, generated against reference (eq. (57)).
    pub js_bits: f64,
    /// The same between real sets of the label's sizes (eq. (58)).
    pub floor_js_bits: f64,
}

/// The motifs' hit rates in both sets.
#[derive(Debug, Clone, Serialize)]
pub struct MotifFigures {
    /// The motif file.
    pub source: PathBuf,
    /// What a site needs to count as a hit.
    pub rule: SiteRule,
    /// Pearson correlation of the generated and the reference hit rates over the motifs.
    pub correlation: f64,
    /// Every motif, in file order.
    pub motifs: Vec<MotifRates>,
    /// The motif `--motif-profile` names (one entry per motif with that id): hits by position.
    pub profiles: Vec<MotifProfile>,
}

/// What a site needs to count as a motif hit.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteRule {
    /// This p-value per site and strand, against uniform i.i.d. bases (converted to each
    /// motif's own relative score).
    PValue(f64),
    /// This relative PWM score (0-1).
    RelativeScore(f64),
}

/// One motif's rates.
#[derive(Debug, Clone, Serialize)]
pub struct MotifRates {
    /// The motif.
    pub motif: MotifName,
    /// Its consensus sequence.
    pub consensus: String,
    /// Its hit rates.
    pub rates: HitRates,
}

/// Where a motif's sites start: hits per sequence at each 0-based start position.
#[derive(Debug, Clone, Serialize)]
pub struct MotifProfile {
    /// The motif.
    pub motif: MotifName,
    /// The relative score its sites needed.
    pub threshold: f64,
    /// Hits per generated sequence by start position (as long as the longest sequence).
    pub generated: Vec<f64>,
    /// Hits per reference sequence by start position.
    pub reference: Vec<f64>,
}
