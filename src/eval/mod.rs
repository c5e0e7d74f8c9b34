//! Evaluation of generated sequences against real ones, computed without external models:
//! k-mer spectra and their divergences, GC content, novelty and diversity, motif scans, and
//! SVG plots for the report.

mod floor;
mod kmer;
mod labels;
mod motif;
mod plot;
mod similarity;

pub use self::{
    floor::RealFloor,
    kmer::{js_divergence, pearson, KmerSpectrum, SpectrumComparison},
    labels::{hit_rate, log2_enrichment, Enrichment},
    motif::{read_motifs, Motif, MotifHit, PwmScanner, PSEUDOCOUNT, PVALUE_RESOLUTION},
    plot::{curves_svg, histogram_svg, lines_svg, scatter_log_svg},
    similarity::{diversity, gc_fraction, identity, novelty, Novelty},
};
